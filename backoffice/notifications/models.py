"""Notification rows and the worker's heartbeat."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from backoffice.core.db import UTCDateTime
from backoffice.extensions import db


class WorkerHeartbeat(db.Model):
    """The last time each worker host ran the periodic heartbeat task.

    Kept in the database, not in a process, so every web process shows the same answer.
    """

    __tablename__ = "worker_heartbeats"

    hostname: Mapped[str] = mapped_column(String(255), primary_key=True)
    last_seen: Mapped[datetime] = mapped_column(UTCDateTime())
    beats: Mapped[int] = mapped_column(default=0)
