"""Notification rules."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select, update

from backoffice.core.dates import utcnow
from backoffice.extensions import db
from backoffice.notifications.models import WorkerHeartbeat

# Beat sends one every 30 s; three missed beats mean the worker or beat is down.
HEARTBEAT_STALE_AFTER = timedelta(seconds=90)


def record_heartbeat(hostname: str, now: datetime | None = None) -> WorkerHeartbeat:
    """Note that ``hostname`` is alive. Safe to run twice or from two workers at once."""
    now = now or utcnow()
    hostname = hostname[:255]
    updated = db.session.execute(
        update(WorkerHeartbeat).where(WorkerHeartbeat.hostname == hostname)
        .values(last_seen=now, beats=WorkerHeartbeat.beats + 1)
    ).rowcount
    if not updated:
        db.session.add(WorkerHeartbeat(hostname=hostname, last_seen=now, beats=1))
    db.session.flush()
    return db.session.get(WorkerHeartbeat, hostname)


def worker_heartbeats() -> list[WorkerHeartbeat]:
    return list(db.session.scalars(
        select(WorkerHeartbeat).order_by(WorkerHeartbeat.last_seen.desc())))


def is_stale(beat: WorkerHeartbeat, now: datetime | None = None) -> bool:
    return (now or utcnow()) - beat.last_seen > HEARTBEAT_STALE_AFTER
