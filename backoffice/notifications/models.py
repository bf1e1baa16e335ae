"""Notification rows and the worker's heartbeat."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from backoffice.cases.models import DeadlineClosure
from backoffice.core.dates import utcnow
from backoffice.core.db import UTCDateTime, enum_column
from backoffice.core.i18n import lazy_gettext
from backoffice.extensions import db


class WorkerHeartbeat(db.Model):
    """The last time each worker host ran the periodic heartbeat task.

    Kept in the database, not in a process, so every web process shows the same answer.
    """

    __tablename__ = "worker_heartbeats"

    hostname: Mapped[str] = mapped_column(String(255), primary_key=True)
    last_seen: Mapped[datetime] = mapped_column(UTCDateTime())
    beats: Mapped[int] = mapped_column(default=0)
    # Set by the worker when it loses the broker, cleared when it reconnects.
    broker_unreachable_since: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Channel(StrEnum):
    EMAIL = "email"
    IN_APP = "in_app"

    @property
    def label(self) -> str:
        return _CHANNEL_LABELS[self.value]


_CHANNEL_LABELS = {"email": lazy_gettext("Email"), "in_app": lazy_gettext("In the app")}


class ReminderState(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def label(self) -> str:
        return _STATE_LABELS[self.value]


_STATE_LABELS = {"pending": lazy_gettext("Pending"), "sent": lazy_gettext("Sent"),
                 "failed": lazy_gettext("Failed"), "cancelled": lazy_gettext("Cancelled")}

# The reason written on a reminder cancelled by the system (``last_error``). Stored as this
# fixed English text (rows already hold it) and shown in the reader's language; any other
# error is a mail server's own words, shown as they came.
NO_LONGER_APPLIES = "The deadline no longer applies."
_SYSTEM_REASONS = {NO_LONGER_APPLIES: lazy_gettext("The deadline no longer applies.")}


# offset_days of an escalation: the deadline was missed; supervisors are told.
ESCALATION = -1
# offset_days of a request's own email: the documents were just asked for (the deadline is
# the request's "documents due"); sent at once, to the applicant.
REQUEST = -2


class Reminder(db.Model):
    """One reminder to one recipient on one channel: the outbox row.

    Written by the planner in the database, sent by the dispatcher, never lost (it waits
    here while the broker or the worker is down) and never created twice (the unique key).
    The dispatcher claims a row by moving ``next_attempt_at`` past a lease and writing its
    ``claim``, so a worker that dies mid-send leaves it to be claimed again when the lease
    runs out, and a dispatcher whose lease ran out sees that the row is no longer its own.
    """

    __tablename__ = "reminders"
    __table_args__ = (
        UniqueConstraint("deadline_id", "offset_days", "channel", "recipient"),
        Index("ix_reminders_state_next_attempt_at", "state", "next_attempt_at"),
        Index("ix_reminders_case_id", "case_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    deadline_id: Mapped[int] = mapped_column(ForeignKey("deadlines.id"))
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    offset_days: Mapped[int] = mapped_column()  # days before the due date; -1 = escalation
    channel: Mapped[Channel] = mapped_column(enum_column(Channel, "channel"))
    # "user:<id>" or "email:<address>": the unique key's idea of who receives it.
    recipient: Mapped[str] = mapped_column(String(300))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    email: Mapped[str | None] = mapped_column(String(254))
    state: Mapped[ReminderState] = mapped_column(enum_column(ReminderState, "reminder_state"),
                                                 default=ReminderState.PENDING)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # The dispatch batch that claimed it last: a dispatcher sends only what it still holds.
    claim: Mapped[str | None] = mapped_column(String(32))
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    @property
    def is_escalation(self) -> bool:
        return self.offset_days == ESCALATION

    @property
    def is_request(self) -> bool:
        return self.offset_days == REQUEST

    @property
    def error_text(self) -> str:
        """``last_error`` as the reader reads it: the system's own reason translated, a mail
        server's error as it came (operators search for those words)."""
        if not self.last_error:
            return ""
        return str(_SYSTEM_REASONS.get(self.last_error, self.last_error))


class Notification(db.Model):
    """An in-app notification in a user's notification centre.

    It is unread, read (``read_at``: its reader marked it) or resolved (``resolved_at``: its
    deadline was met, moved or cancelled while it was unread, so it no longer asks for
    anything), never read and resolved both. Its deadline is its reminder's.
    """

    __tablename__ = "notifications"
    __table_args__ = (
        UniqueConstraint("reminder_id"),
        # The menu's badge on every page counts one user's (NULL, NULL) entries here,
        # without reading the table; the centre reads one user's rows through it too.
        Index("ix_notifications_user_id_read_at_resolved_at", "user_id", "read_at",
              "resolved_at"),
        CheckConstraint("(resolved_at IS NULL) = (resolution IS NULL)",
                        name="resolved_with_a_reason"),
        CheckConstraint("read_at IS NULL OR resolved_at IS NULL", name="read_or_resolved"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    reminder_id: Mapped[int | None] = mapped_column(ForeignKey("reminders.id"))
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"))
    title: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Why its deadline stopped being anyone's work (met, moved, no longer applies, case ended).
    resolution: Mapped[DeadlineClosure | None] = mapped_column(
        enum_column(DeadlineClosure, "deadline_closure"))
