"""The periodic deadline sweep: passed deadlines are marked, ended stays lapse."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import and_, select, update

from backoffice.cases import lifecycle, signals, stay
from backoffice.cases.models import (
    MISSABLE_DEADLINE_KINDS,
    Case,
    Deadline,
    DeadlineClosure,
    DeadlineKind,
    DeadlineState,
)
from backoffice.cases.schemes import CaseStatus
from backoffice.core.dates import utcnow
from backoffice.extensions import db

# Cases the sweep ends when their stay is over. A pending extension request is left for a
# person to decide: its missed stay-end deadline escalates instead.
LAPSING_STATUSES = (CaseStatus.IN_STAY, CaseStatus.EXTENDED)
# What the sweep's lapse events say, as a message key (events.describe_event words it:
# "The stay ended without an extension (deadline sweep)."). Nobody typed a reason.
LAPSE_DETAIL = {"key": "lapsed"}


def sweep(today: date, now: datetime | None = None) -> dict[str, int]:
    """Mark passed deadlines and lapse stays that ended without an extension.

    Set-based statements only, safe to run twice (the second run finds nothing to do) and
    from two workers at once (each statement re-checks its condition on the rows it locks).
    The lapses are the lifecycle's own "lapse" step, taken by all the ended stays at once.
    Returns counts for the log.
    """
    now = now or utcnow()
    counts = {}
    counts["missed"] = db.session.execute(
        update(Deadline)
        .where(Deadline.state == DeadlineState.OPEN, Deadline.due_on < today,
               Deadline.kind.in_(MISSABLE_DEADLINE_KINDS))
        .values(state=DeadlineState.MISSED, closed_at=now)
        .execution_options(synchronize_session=False)).rowcount
    # A window whose day has come is met: its reminders and notifications are done with. (A
    # missed deadline is not announced: it is still someone's work, and says so.)
    opened = and_(Deadline.state == DeadlineState.OPEN, Deadline.due_on <= today,
                  Deadline.kind == DeadlineKind.EXTENSION_WINDOW)
    signals.deadline_closed.send(deadline_ids=select(Deadline.id).where(opened),
                                 closure=DeadlineClosure.MET, at=now)
    counts["window_opened"] = db.session.execute(
        update(Deadline).where(opened).values(state=DeadlineState.MET, closed_at=now)
        .execution_options(synchronize_session=False)).rowcount
    # The cases whose next deadline this closed: every deadline before today is settled now,
    # and windows opening today too, so those are the cases whose next one was due by today
    # (an index range on cases, not a scan of the deadlines closed).
    stay.track_next_deadlines(select(Case.id).where(Case.next_deadline_on <= today))
    counts["lapsed"] = lifecycle.transition_in_bulk(
        "lapse", and_(Case.status.in_(LAPSING_STATUSES), Case.stay_ends_on < today),
        detail_data=LAPSE_DETAIL, now=now)
    db.session.flush()
    return counts
