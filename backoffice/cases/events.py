"""The one writer of a case's append-only history (``case_events``)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Select, literal

from backoffice.auth.models import User
from backoffice.cases.models import CaseEvent, EventKind
from backoffice.core.dates import utcnow
from backoffice.core.db import UTCDateTime
from backoffice.extensions import db


def record(case_id: int, actor: User | None, kind: EventKind, *, at: datetime | None = None,
           **values) -> CaseEvent:
    """Add one event to a case's history (flushed with the change it records)."""
    event = CaseEvent(case_id=case_id, actor_id=actor.id if actor else None, kind=kind,
                      at=at or utcnow(), **values)
    db.session.add(event)
    return event


def record_many(rows: Select, *, kind: EventKind, at: datetime, **constants) -> int:
    """Add one event per row of ``rows`` in a single INSERT ... SELECT (the set-based form).

    ``rows`` selects ``case_id`` and whatever per-case columns the events take (labelled by
    their column names, e.g. ``from_status``); ``constants`` are the values every event
    shares. Rows carry no actor: a set-based change is the system's.
    """
    table = CaseEvent.__table__
    shared = {"at": literal(at, UTCDateTime()), "kind": literal(kind.value)}
    shared |= {name: literal(value) for name, value in constants.items()}
    # Returns how many events were written where the driver says (-1 where it does not), so
    # the caller can skip the rest of a change that chose no case.
    select_from = rows.add_columns(*(value.label(name) for name, value in shared.items()))
    columns = [c.name for c in select_from.selected_columns]
    return db.session.execute(table.insert().from_select(columns, select_from)).rowcount
