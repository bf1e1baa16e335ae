"""Quota rules: setting a year's limit, taking a place on approval, giving it back.

The database, not Python, guarantees the quota is never over-allocated: one conditional
``UPDATE ... SET allocated = allocated + 1 WHERE allocated < limit`` decides who gets the
last place. PostgreSQL row-locks the period row for the rest of the transaction, so a second
approver waits and then sees the new count; on SQLite every writing transaction starts with
``BEGIN IMMEDIATE`` (core.db) and so runs alone. A CHECK constraint backs it up.

The dashboard's counters (places per month and per nationality of each year) move in the
same transaction as the allocation they count, each by a statement that adds to the stored
count rather than writing a number read before: a place taken by an upsert (which creates the
row at the year's first place in that month or of that nationality), a place given back by an
UPDATE. Two approvals in one month both add, whichever commits first; a count never goes
below zero (a CHECK). ``rebuild_counters`` recomputes them from the allocations.

Services flush; the caller commits once, together with the case's status change.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import date, datetime

from sqlalchemy import Integer, Select, case, delete, extract, func, insert, select, true, update
from sqlalchemy.exc import IntegrityError

from backoffice.auth.models import User
from backoffice.core.dates import utcnow
from backoffice.core.db import CountsOutOfStep, add_to_counts
from backoffice.core.i18n import lazy_gettext, lazy_ngettext
from backoffice.core.refusals import Refusal
from backoffice.extensions import db
from backoffice.quota.models import (
    QuotaAllocation,
    QuotaLimitChange,
    QuotaMonthCount,
    QuotaNationalityCount,
    QuotaPeriod,
)

# The years a quota can be set for; the forms and the year picker use the same bounds.
FIRST_YEAR, LAST_YEAR = 2000, 2100


class QuotaError(Refusal):
    """A quota rule refused the change; the message is shown as it is (a lazy message,
    rendered in the reader's language by ``str()``). ``message`` is that message, for a
    caller that refuses with it in turn; ``detail_data`` the same words as a message key and
    values, for a case event that records them (cases/events.py renders them)."""

    detail_data: dict | None = None

    @property
    def message(self) -> object:
        return self.args[0] if self.args else ""


class QuotaFull(QuotaError):
    """No place is left in the year's quota."""

    def __init__(self, period: QuotaPeriod) -> None:
        super().__init__(lazy_gettext(
            "The %(scheme)s quota for %(year)d is full (%(allocated)d of %(limit)d places "
            "allocated). The case waits in the Awaiting quota queue until a place is released "
            "or the limit is raised.", scheme=period.scheme, year=period.year,
            allocated=period.allocated, limit=period.quota_limit))
        self.detail_data = {"key": "quota_full", "scheme": period.scheme, "year": period.year,
                            "allocated": period.allocated, "limit": period.quota_limit}


class QuotaNotSet(QuotaError):
    """Nobody has set the year's quota yet."""

    def __init__(self, scheme: str, year: int) -> None:
        super().__init__(lazy_gettext(
            "The %(scheme)s quota for %(year)d has not been set, so the case cannot be approved "
            "yet. A supervisor sets it on the quota page.", scheme=scheme, year=year))
        self.detail_data = {"key": "quota_not_set", "scheme": scheme, "year": year}


class StaleLimit(QuotaError):
    """The year's limit was set by someone else since the form was rendered."""

    def __init__(self, scheme: str, year: int) -> None:
        super().__init__(lazy_gettext(
            "The %(scheme)s quota for %(year)d was changed by someone else while you were "
            "working on it. Nothing was saved: reload the page to see the changes, then try "
            "again.", scheme=scheme, year=year))


def get_period(scheme: str, year: int) -> QuotaPeriod | None:
    return db.session.scalar(
        select(QuotaPeriod).where(QuotaPeriod.scheme == scheme, QuotaPeriod.year == year))


def take_place(case_id: int, scheme: str, on: date, actor: User | None, nationality: str,
               now: datetime | None = None) -> QuotaAllocation:
    """Take one place in ``scheme``'s quota for the year of ``on`` for the case.

    Raises QuotaNotSet when no quota exists for that year and QuotaFull when none is left,
    each with the numbers in words.
    """
    period = get_period(scheme, on.year)
    if period is None:
        raise QuotaNotSet(scheme, on.year)
    taken = db.session.execute(
        update(QuotaPeriod)
        .where(QuotaPeriod.id == period.id, QuotaPeriod.has_room)
        .values(allocated=QuotaPeriod.allocated + 1)
        .returning(QuotaPeriod.allocated)
    ).scalar()
    db.session.refresh(period)
    if taken is None:
        raise QuotaFull(period)
    allocation = QuotaAllocation(period_id=period.id, case_id=case_id, nationality=nationality,
                                 allocated_at=now or utcnow(), allocated_on=on,
                                 allocated_by_id=actor.id if actor else None)
    db.session.add(allocation)
    # The UPDATE above row-locks the period until commit, so the period's allocations (and
    # their counts) are written one transaction at a time; the upsert adds to the stored
    # count in any case, so no count is lost even without that lock.
    _add_counts({(period.id, counted_month(period.year, on)): 1}, {(period.id, nationality): 1})
    db.session.flush()
    return allocation


def place_refusal(scheme: str, on: date) -> QuotaError | None:
    """Why :func:`take_place` would refuse a place in ``scheme``'s quota for the year of
    ``on`` now (QuotaNotSet or QuotaFull, with the numbers in words), or None when a place is
    free. Reads only: a preview for a page that offers the step; the taking itself still
    decides, atomically, who gets the last place."""
    period = get_period(scheme, on.year)
    if period is None:
        return QuotaNotSet(scheme, on.year)
    if not period.has_room:
        return QuotaFull(period)
    return None


def move_place(case_id: int, scheme: str, on: date, actor: User | None,
               now: datetime | None = None) -> tuple[int, int] | None:
    """The approval date of a case holding a place was corrected to ``on``: its place follows
    the date. Within the same year only the allocation's date changes; into another year a
    place is taken in that year's quota first (QuotaNotSet or QuotaFull, with nothing
    changed, when it has none) and the old year's given back, in the same transaction.
    Returns (old year, new year) when the place moved between years, else None."""
    now = now or utcnow()
    allocation = db.session.scalar(
        select(QuotaAllocation).where(QuotaAllocation.case_id == case_id,
                                      QuotaAllocation.released_at.is_(None)))
    if allocation is None:
        return None
    old_year = allocation.period.year
    if old_year == on.year:
        old_month, new_month = (counted_month(old_year, allocation.allocated_on),
                                counted_month(old_year, on))
        allocation.allocated_on = on
        if old_month != new_month:
            _add_counts({(allocation.period_id, old_month): -1,
                         (allocation.period_id, new_month): 1}, {})
        db.session.flush()
        return None
    # Give the old place back before taking the new one: a case holds one place at a time
    # (the partial unique index). If the taking is refused, the savepoint undoes the release.
    with db.session.begin_nested():
        release_places([case_id], actor, "correct_date", None, now)
        take_place(case_id, scheme, on, actor, allocation.nationality, now)
    return old_year, on.year


def release_place(case_id: int, actor: User | None, step: str, reason: str | None,
                  now: datetime | None = None) -> QuotaAllocation | None:
    """Give back the case's place, if it holds one; return the released allocation. Safe to
    call twice: the second call finds no active allocation and changes nothing."""
    if not release_places([case_id], actor, step, reason, now):
        return None
    return db.session.scalar(select(QuotaAllocation).where(QuotaAllocation.case_id == case_id)
                             .order_by(QuotaAllocation.released_at.desc()).limit(1))


def release_places(case_ids: Sequence[int] | Select, actor: User | None, step: str,
                   reason: str | None, now: datetime | None = None) -> int:
    """Give back the places held by ``case_ids`` (a list, or a select of one id column for a
    set-based change); return how many were given back. A case holding no place is skipped,
    so a release is never counted twice. ``step`` names the case step that gave the places
    back and ``reason`` is what a person typed for it (both kept on the allocation)."""
    now = now or utcnow()
    released = db.session.execute(
        update(QuotaAllocation)
        .where(QuotaAllocation.case_id.in_(case_ids), QuotaAllocation.released_at.is_(None))
        .values(released_at=now, released_by_id=actor.id if actor else None,
                release_step=step, release_reason=reason[:500] if reason else None)
        .returning(QuotaAllocation.period_id, QuotaAllocation.allocated_on,
                   QuotaAllocation.nationality)
        .execution_options(synchronize_session=False)).all()
    if not released:
        return 0
    per_period = Counter(period_id for period_id, _on, _nationality in released)
    # In id order, so two releases over the same years lock their periods in the same order.
    for period_id in sorted(per_period):
        db.session.execute(update(QuotaPeriod).where(QuotaPeriod.id == period_id)
                           .values(allocated=QuotaPeriod.allocated - per_period[period_id]))
    years = {period_id: year for period_id, year in db.session.execute(
        select(QuotaPeriod.id, QuotaPeriod.year).where(QuotaPeriod.id.in_(list(per_period))))}
    months: Counter[tuple[int, int]] = Counter()
    nationalities: Counter[tuple[int, str]] = Counter()
    for period_id, on, nationality in released:
        months[(period_id, counted_month(years[period_id], on))] -= 1
        nationalities[(period_id, nationality)] -= 1
    _add_counts(months, nationalities)
    db.session.flush()
    return len(released)


# --- The dashboard's counters -------------------------------------------------------------

def counted_month(year: int, on: date) -> int:
    """The month (1..12) of ``year`` in which a place dated ``on`` counts: its own, or for a
    date outside the year (only back-dated data has one) the nearest, so a year's months
    always add up to its allocations. :func:`_counted_month_sql` is the same rule in SQL."""
    if on.year == year:
        return on.month
    return 1 if on.year < year else 12


def _counted_month_sql(year, on):
    """:func:`counted_month` as a SQL expression of a year and a date column (both databases:
    SQLAlchemy writes ``extract`` as each one spells it)."""
    on_year = extract("year", on)
    return case((on_year < year, 1), (on_year > year, 12),
                else_=extract("month", on)).cast(Integer)


# A count to lower had no row (its allocations were written around the services).
CountersOutOfStep = CountsOutOfStep


def _add_counts(months: dict[tuple[int, int], int],
                nationalities: dict[tuple[int, str], int]) -> None:
    add_to_counts(QuotaMonthCount, ("period_id", "month"), months, "allocated")
    add_to_counts(QuotaNationalityCount, ("period_id", "nationality"), nationalities,
                  "allocated")


def rebuild_counters(period_ids: Sequence[int] | None = None) -> None:
    """Recompute the counters of ``period_ids`` (every period when None) from their active
    allocations, set-based: the rows are deleted and counted again by one INSERT ... SELECT
    ... GROUP BY per table. For data written around the services (the bulk demo loader);
    the services keep the counters themselves."""
    chosen = true() if period_ids is None else QuotaPeriod.id.in_(list(period_ids))
    for model in (QuotaMonthCount, QuotaNationalityCount):
        db.session.execute(
            delete(model).where(model.period_id.in_(select(QuotaPeriod.id).where(chosen)))
            .execution_options(synchronize_session=False))
    active = (select(QuotaAllocation.period_id,
                     _counted_month_sql(QuotaPeriod.year, QuotaAllocation.allocated_on)
                     .label("month"),
                     QuotaAllocation.nationality)
              .join(QuotaPeriod, QuotaPeriod.id == QuotaAllocation.period_id)
              .where(chosen, QuotaAllocation.released_at.is_(None))
              .subquery())
    for model, key in ((QuotaMonthCount, "month"), (QuotaNationalityCount, "nationality")):
        db.session.execute(insert(model).from_select(
            ["period_id", key, "allocated"],
            select(active.c.period_id, active.c[key], func.count())
            .group_by(active.c.period_id, active.c[key])))
    db.session.flush()


def set_limit(actor: User, scheme: str, year: int, limit: int | None,
              note: str | None = None, expected_version: int | None = None) -> QuotaPeriod:
    """Set (or change) a year's limit; None means no limit. Supervisors only.

    A limit below what is already allocated is refused with the numbers: places already
    given cannot be taken back by lowering the limit. ``expected_version`` is the year's
    ``limit_version`` the form was rendered at (0: the year was not set then); when someone
    else has set the limit since, the change is refused (StaleLimit) and nothing is saved.
    None: not checked (the bulk loader, which sets limits of its own).
    """
    if not actor.can_supervise():
        raise QuotaError(lazy_gettext("Only supervisors can set the quota."))
    if limit is not None and limit < 0:
        raise QuotaError(lazy_gettext("The limit cannot be negative."))
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise QuotaError(lazy_gettext("Choose a year between %(first)d and %(last)d.",
                                      first=FIRST_YEAR, last=LAST_YEAR))
    period = get_period(scheme, year)
    if period is None:
        if expected_version:  # shown as set, and gone since: nothing deletes a period
            raise StaleLimit(scheme, year)
        period = _create_period(actor, scheme, year, limit)
        _record_change(period, actor, None, limit, note, had_previous=False)
        return period
    old = period.quota_limit
    # One conditional UPDATE checks both rules (the version the form saw, and room for the
    # places already allocated), so a concurrent setting or approval is judged on the row as
    # committed: PostgreSQL re-reads the row after waiting for its lock.
    changed = db.session.execute(
        update(QuotaPeriod)
        .where(QuotaPeriod.id == period.id,
               (QuotaPeriod.allocated <= limit) if limit is not None else true(),
               (QuotaPeriod.limit_version == expected_version)
               if expected_version is not None else true())
        .values(quota_limit=limit, set_by_id=actor.id, set_at=utcnow(),
                limit_version=QuotaPeriod.limit_version + 1)
    ).rowcount
    db.session.refresh(period)
    if not changed:
        if expected_version is not None and period.limit_version != expected_version:
            raise StaleLimit(scheme, year)
        raise QuotaError(lazy_ngettext(
            "The %(scheme)s quota for %(year)s already has %(num)s place allocated, so the "
            "limit cannot be set to %(limit)s. Set it to %(num)s or more.",
            "The %(scheme)s quota for %(year)s already has %(num)s places allocated, so the "
            "limit cannot be set to %(limit)s. Set it to %(num)s or more.",
            period.allocated, scheme=scheme, year=year, limit=limit))
    _record_change(period, actor, old, limit, note, had_previous=True)
    return period


def _create_period(actor: User, scheme: str, year: int, limit: int | None) -> QuotaPeriod:
    period = QuotaPeriod(scheme=scheme, year=year, quota_limit=limit, allocated=0,
                         set_by_id=actor.id)
    try:
        with db.session.begin_nested():
            db.session.add(period)
    except IntegrityError:
        # Another supervisor created the year at the same moment; theirs stands, and this
        # supervisor sees it before deciding again.
        raise QuotaError(lazy_gettext("The %(scheme)s quota for %(year)d was just set by "
                                      "someone else; reload the page to see it.",
                                      scheme=scheme, year=year)) from None
    return period


def _record_change(period: QuotaPeriod, actor: User, old: int | None, new: int | None,
                   note: str | None, had_previous: bool) -> None:
    db.session.add(QuotaLimitChange(period_id=period.id, changed_by_id=actor.id, old_limit=old,
                                    new_limit=new, note=(note or None) and note[:500],
                                    had_previous=had_previous))
    db.session.flush()
