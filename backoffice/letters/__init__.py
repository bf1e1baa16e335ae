"""Letters to the applicant as PDF, in their language or both: acknowledgement, request for
documents, approval, refusal, extension granted or refused. One template file per letter and
language; each letter sent is kept on its case with the data it was made from."""

from flask import Blueprint

bp = Blueprint("letters", __name__, url_prefix="/cases", template_folder="templates")
