"""The annual QMAS quota: allocation and the supervisors' dashboard."""

from flask import Blueprint

bp = Blueprint("quota", __name__, url_prefix="/quota", template_folder="templates")
