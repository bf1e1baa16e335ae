"""Error pages in the site's layout, and a clear page when a form's CSRF token is missing."""

from __future__ import annotations

from flask import Flask, render_template
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from backoffice.extensions import db

MESSAGES = {
    400: ("Bad request", "The request could not be understood. Go back and try again."),
    403: ("Not allowed", "Your role does not give you access to this page. "
          "If you need it, ask a supervisor or an administrator."),
    404: ("Not found", "There is no page at this address. It may have been moved, "
          "or the link may be wrong."),
    405: ("Not allowed", "This page cannot be used that way."),
    413: ("Too large", "What you sent is too large."),
    500: ("Something went wrong", "An unexpected error happened and nothing was saved. "
          "Try again; if it happens again, tell the support team the time it happened."),
}


def _render(code: int, message: str | None = None):
    title, default = MESSAGES.get(code, ("Error", "Something went wrong."))
    return render_template("errors/error.html", code=code, title=title,
                           message=message or default), code


def handle_http(error: HTTPException):
    return _render(error.code or 500)


def handle_csrf(_error: CSRFError):
    return _render(400, "This form has expired or did not come from this site, so nothing "
                        "was saved. Go back, reload the page and try again.")


def handle_500(_error):
    # Whatever the request half-wrote must not be committed by anything that follows.
    db.session.rollback()
    return _render(500)


def init_app(app: Flask) -> None:
    app.register_error_handler(CSRFError, handle_csrf)
    for code in (400, 403, 404, 405, 413):
        app.register_error_handler(code, handle_http)
    app.register_error_handler(500, handle_500)
