"""Shared pieces every feature uses: database types, security headers, errors, layout."""

from flask import Blueprint

bp = Blueprint("core", __name__, template_folder="templates", static_folder="static",
               static_url_path="/static/core")
