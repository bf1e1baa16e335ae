"""The quota's waiting line: places offered back to the cases waiting, first in line first.

A place frees up in several ways (a case gives its place back, a supervisor raises the limit
or suspends it, an approval date moves to another year); whichever it was, :func:`offer`
reads the same two numbers, the places free and the cases waiting, so every page that shows
the offer says the same. :func:`approve_in_line` approves the cases the supervisor confirmed,
each through the one transition path, each taking its place atomically (the quota's
conditional UPDATE decides who gets the last place); a case that cannot be approved stays in
line, and the outcome says why. Nothing here commits.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import select

from backoffice.auth.models import User
from backoffice.cases.guards import CaseError, QuotaBlocked
from backoffice.cases.lifecycle import preview, transition
from backoffice.cases.models import Case
from backoffice.cases.queries import in_line, line_order, waiting_count
from backoffice.cases.schemes import Scheme
from backoffice.core.dates import hk_today, utcnow
from backoffice.extensions import db
from backoffice.quota import services as quota

APPROVE = "approve"
# How far down the line an offer looks for cases that can be approved now, past those that
# cannot (documents missing, a place held in another case): enough for any real line, and a
# bound on the checks one page view makes.
LOOK_AHEAD = 50


@dataclass(frozen=True)
class Passed:
    """A case ahead in line that cannot be approved now, and why (a lazy message)."""

    case: Case
    reason: object


@dataclass(frozen=True)
class Offer:
    """What the line and the quota say now for ``year``. ``free``: places free (None: no
    limit, the quota is suspended); ``is_set``: someone has set the year's quota. ``chosen``:
    the first cases in line that can be approved now, as many as there are free places;
    ``passed``: those ahead of or among them that cannot, with why (they keep their place)."""

    scheme: Scheme
    year: int
    is_set: bool
    free: int | None
    waiting: int
    chosen: list[Case] = field(default_factory=list)
    passed: list[Passed] = field(default_factory=list)

    @property
    def places(self) -> int:
        """How many of the waiting cases the free places could take."""
        return self.waiting if self.free is None else min(self.free, self.waiting)

    @property
    def is_open(self) -> bool:
        """Places are free while cases wait: the pages must say so."""
        return self.is_set and self.waiting > 0 and self.places > 0


def free_places(scheme: Scheme, year: int) -> tuple[bool, int | None]:
    """(whether the year's quota is set, its places free: None when it has no limit)."""
    period = quota.get_period(scheme.value, year)
    if period is None:
        return False, 0
    return True, None if period.quota_limit is None else max(period.remaining, 0)


def offer(scheme: Scheme, actor: User, *, choose: bool = False, waiting: int | None = None,
          today: date | None = None) -> Offer:
    """The offer of free places to the waiting line for this Hong Kong year. ``choose``
    also picks the cases a supervisor would approve (the confirmation page); without it only
    the two numbers are read (the dashboard and the queue). ``waiting``: the line's length,
    where the page has already counted it (the dashboard's pipeline, the queue's line)."""
    today = today or hk_today()
    is_set, free = free_places(scheme, today.year)
    if waiting is None:
        waiting = waiting_count(scheme)
    result = Offer(scheme, today.year, is_set, free, waiting)
    if not choose or not result.is_open:
        return result
    wanted = result.places
    line = db.session.scalars(select(Case).where(*in_line(scheme)).order_by(*line_order())
                              .limit(wanted + LOOK_AHEAD))
    for case in line:
        if len(result.chosen) == wanted:
            break
        try:
            preview(case, APPROVE, actor)
        except CaseError as exc:
            result.passed.append(Passed(case, exc.args[0]))
        else:
            result.chosen.append(case)
    return result


@dataclass
class LineOutcome:
    """What :func:`approve_in_line` did: the cases approved, in line order, and those left in
    line, each with why (a lazy message)."""

    approved: list[Case] = field(default_factory=list)
    left: list[Passed] = field(default_factory=list)


def approve_in_line(actor: User, shown: Sequence[tuple[int, int]],
                    now: datetime | None = None) -> LineOutcome:
    """Approve the cases ``shown`` (id, version) on the confirmation page, in line order,
    today. Each approval is the case's own step (its guards, its event, its quota place),
    inside a savepoint: one that is refused (the quota filled up meanwhile, the case changed,
    its documents are no longer complete) changes nothing and leaves that case in line, and
    once the quota is full no later case is tried."""
    now = now or utcnow()
    outcome = LineOutcome()
    versions = dict(shown)
    cases = db.session.scalars(select(Case).where(Case.id.in_(versions))
                               .order_by(*line_order())).all()
    full: object | None = None
    for case in cases:
        if full is not None:
            outcome.left.append(Passed(case, full))
            continue
        try:
            with db.session.begin_nested():
                transition(case, APPROVE, actor, expected_version=versions[case.id], now=now)
        except QuotaBlocked as exc:
            full = exc.args[0]
            outcome.left.append(Passed(case, full))
        except CaseError as exc:
            outcome.left.append(Passed(case, exc.args[0]))
        else:
            outcome.approved.append(case)
    return outcome
