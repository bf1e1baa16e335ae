"""Refusals, and the checks every change to a case makes before anything else.

Every refusal's message is a lazy message (``cases.words``): rendered in the reader's
language when the edge calls ``str()`` on the refusal.
"""

from __future__ import annotations

from datetime import date

from backoffice.auth.models import User
from backoffice.cases.models import Case
from backoffice.cases.schemes import CaseStatus
from backoffice.cases.words import lazy_gettext
from backoffice.core.refusals import Refusal


class CaseError(Refusal):
    """A case rule refused the change. The message is a sentence shown to the caseworker.
    ``possible_from``: the date from which the rule will allow it, where it knows one;
    ``see_case``: another case the refusal names (a ``duplicates.Match``), for a link."""

    def __init__(self, message: object, possible_from: date | None = None,
                 see_case: object | None = None) -> None:
        super().__init__(message)
        self.possible_from = possible_from
        self.see_case = see_case


class QuotaBlocked(CaseError):
    """Approval refused because the year's quota is full or not set. ``held``: the case was
    moved to wait in the Awaiting quota queue instead (and that move is kept)."""

    def __init__(self, message: str, held: bool) -> None:
        super().__init__(message)
        self.held = self.keeps_changes = held


class StaleCase(CaseError):
    """The case changed since the form was rendered."""

    def __init__(self) -> None:
        super().__init__(lazy_gettext(
            "This case was changed by someone else while you were working on it. Nothing was "
            "saved: reload the case to see the changes, then try again."))


def check_version(case: Case, expected_version: int | None) -> None:
    """Refuse a change made from a form rendered before someone else's change."""
    if expected_version is not None and expected_version != case.version:
        raise StaleCase()


def check_can_act(case: Case, actor: User) -> None:
    if not case.can_act(actor):
        raise CaseError(lazy_gettext(
            "Only the caseworker assigned to this case or a supervisor can change it. Take the "
            "case first if it is unassigned."))


# One sentence per way a case ends, each written whole.
_ENDED = {
    CaseStatus.REFUSED: lazy_gettext("This case was refused; it can no longer be changed."),
    CaseStatus.WITHDRAWN: lazy_gettext("This case was withdrawn; it can no longer be changed."),
    CaseStatus.LAPSED: lazy_gettext("This case has lapsed; it can no longer be changed."),
    CaseStatus.CLOSED: lazy_gettext("This case is closed; it can no longer be changed."),
}


def check_open(case: Case) -> None:
    if not case.is_open:
        raise CaseError(_ENDED.get(case.status) or lazy_gettext(
            "This case has ended (%(status)s); it can no longer be changed.",
            status=case.status.label))
