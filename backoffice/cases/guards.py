"""Refusals, and the checks every change to a case makes before anything else."""

from __future__ import annotations

from backoffice.auth.models import User
from backoffice.cases.models import Case
from backoffice.core.refusals import Refusal


class CaseError(Refusal):
    """A case rule refused the change. The message is a sentence shown to the caseworker."""


class QuotaBlocked(CaseError):
    """Approval refused because the year's quota is full or not set. ``held``: the case was
    moved to wait in the Awaiting quota queue instead (and that move is kept)."""

    def __init__(self, message: str, held: bool) -> None:
        super().__init__(message)
        self.held = self.keeps_changes = held


class StaleCase(CaseError):
    """The case changed since the form was rendered."""

    def __init__(self) -> None:
        super().__init__("This case was changed by someone else while you were working on it. "
                         "Nothing was saved: reload the case to see the changes, then try again.")


def check_version(case: Case, expected_version: int | None) -> None:
    """Refuse a change made from a form rendered before someone else's change."""
    if expected_version is not None and expected_version != case.version:
        raise StaleCase()


def check_can_act(case: Case, actor: User) -> None:
    if not case.can_act(actor):
        raise CaseError("Only the caseworker assigned to this case or a supervisor can change it. "
                        "Take the case first if it is unassigned.")


def check_open(case: Case) -> None:
    if not case.is_open:
        raise CaseError(f"This case is {case.status.label.lower()}; it can no longer be changed.")
