"""The documents of a case: each scheme's checklist (policy data in ``cases.schemes``), the
evidence uploaded against it, kept in a store outside any served folder, and the requests
sent to the applicant for what is missing."""

from flask import Blueprint

bp = Blueprint("documents", __name__, url_prefix="/cases", template_folder="templates")
