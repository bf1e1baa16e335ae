"""Error pages in the site's layout, and a clear page when a form's CSRF token is missing."""

from __future__ import annotations

from flask import Flask, render_template
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from backoffice.core.i18n import lazy_gettext as _l
from backoffice.extensions import db

# (title, text) of each error page; lazy, so each is shown in the reader's language.
MESSAGES = {
    400: (_l("Bad request"), _l("The request could not be understood. Go back and try again.")),
    403: (_l("Not allowed"), _l("Your role does not give you access to this page. If you need "
                                "it, ask a supervisor or an administrator.")),
    404: (_l("Not found"), _l("There is no page at this address. It may have been moved, or "
                              "the link may be wrong.")),
    405: (_l("Not allowed"), _l("This page cannot be used that way.")),
    413: (_l("Too large"), _l("What you sent is too large.")),
    422: (_l("Could not be processed"), _l("What you sent could not be used. Go back, check "
                                           "it and try again.")),
    429: (_l("Too many requests"), _l("Too many requests came from your network address. Wait "
                                      "a few minutes and try again.")),
    500: (_l("Something went wrong"), _l("An unexpected error happened and nothing was saved. "
                                         "Try again; if it happens again, tell the support "
                                         "team the time it happened.")),
}
OTHER = (_l("Error"), _l("Something went wrong."))


def _render(code: int, message: str | None = None):
    title, default = MESSAGES.get(code, OTHER)
    return render_template("errors/error.html", code=code, title=title,
                           message=message or default), code


def handle_http(error: HTTPException):
    return _render(error.code or 500)


def handle_csrf(_error: CSRFError):
    return _render(400, _l("This form has expired or did not come from this site, so nothing "
                           "was saved. Go back, reload the page and try again."))


def handle_500(_error):
    # Whatever the request half-wrote must not be committed by anything that follows.
    db.session.rollback()
    return _render(500)


def init_app(app: Flask) -> None:
    app.register_error_handler(CSRFError, handle_csrf)
    # Not 422 and 429: those pages are the form's own (with its errors) and the sign-in
    # limit's (with Retry-After); a handler here would replace them.
    for code in (400, 403, 404, 405, 413):
        app.register_error_handler(code, handle_http)
    app.register_error_handler(500, handle_500)
