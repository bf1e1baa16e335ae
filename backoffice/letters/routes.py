"""The letters panel on the case page, and a letter's download (its PDF made at the first
download if the worker has not made it yet; the same bytes afterwards)."""

from __future__ import annotations

from flask import abort, render_template
from flask_login import current_user
from markupsafe import Markup

from backoffice.auth.models import Permission, User
from backoffice.cases import signals
from backoffice.cases.models import Case
from backoffice.cases.routes import load_case
from backoffice.core.security import permission_required
from backoffice.documents.routes import serve
from backoffice.letters import bp, services


@bp.get("/<id:case_id>/letters/<id:letter_id>")
@permission_required(Permission.WORK_CASES)
def download(case_id: int, letter_id: int):
    case = load_case(case_id)
    letter = services.letter_of(case, letter_id)
    if letter is None:
        abort(404)
    return serve(case, services.make_pdf(letter))


@signals.case_page_panels.connect
def _panel(_sender=None, *, case: Case, user: User, **_kwargs) -> Markup | None:
    letters = services.letters_of(case)
    if not letters:
        return None
    return Markup(render_template(  # noqa: S704  # nosec B704  # a rendered template
        "letters/_panel.html", case=case, letters=letters, user=current_user))
