"""Notification rules."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from email.header import Header
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import format_datetime

from flask import current_app, render_template
from sqlalchemy import bindparam, func, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import aliased

from backoffice.auth.models import Permission, User, roles_with
from backoffice.cases import signals as case_signals
from backoffice.cases.models import Applicant, Case, Deadline, DeadlineState
from backoffice.core import dates
from backoffice.core.dates import utcnow
from backoffice.core.refusals import Refusal
from backoffice.extensions import db
from backoffice.notifications import mail
from backoffice.notifications.models import (
    ESCALATION,
    Channel,
    Notification,
    Reminder,
    ReminderState,
    WorkerHeartbeat,
)

# Beat sends one every 30 s; three missed beats mean the worker or beat is down.
HEARTBEAT_STALE_AFTER = timedelta(seconds=90)


def record_heartbeat(hostname: str, now: datetime | None = None) -> WorkerHeartbeat:
    """Note that ``hostname`` is alive. Safe to run twice or from two workers at once."""
    now = now or utcnow()
    hostname = hostname[:255]
    updated = db.session.execute(
        update(WorkerHeartbeat).where(WorkerHeartbeat.hostname == hostname)
        .values(last_seen=now, beats=WorkerHeartbeat.beats + 1, broker_unreachable_since=None)
    ).rowcount
    if not updated:
        db.session.add(WorkerHeartbeat(hostname=hostname, last_seen=now, beats=1))
    db.session.flush()
    return db.session.get(WorkerHeartbeat, hostname)


def record_broker_reachable(hostname: str, reachable: bool,
                            now: datetime | None = None) -> None:
    """Note that the worker on ``hostname`` lost its broker (since ``now``, unless already
    noted) or has it back. Written by the worker itself, which keeps running through an
    outage; the web app never needs the broker to show it."""
    hostname = hostname[:255]
    since = None if reachable else (now or utcnow())
    query = update(WorkerHeartbeat).where(WorkerHeartbeat.hostname == hostname)
    if since is not None:
        query = query.where(WorkerHeartbeat.broker_unreachable_since.is_(None))
    db.session.execute(query.values(broker_unreachable_since=since)
                       .execution_options(synchronize_session=False))
    if since is not None and db.session.get(WorkerHeartbeat, hostname) is None:
        db.session.add(WorkerHeartbeat(hostname=hostname, last_seen=since, beats=0,
                                       broker_unreachable_since=since))
    db.session.flush()


def worker_heartbeats() -> list[WorkerHeartbeat]:
    return list(db.session.scalars(
        select(WorkerHeartbeat).order_by(WorkerHeartbeat.last_seen.desc())))


def is_stale(beat: WorkerHeartbeat, now: datetime | None = None) -> bool:
    return (now or utcnow()) - beat.last_seen > HEARTBEAT_STALE_AFTER


# --- Planning: the outbox rows -------------------------------------------------------------

def _offset_rows(today: date) -> tuple[str, dict]:
    """A VALUES list of (kind, offset_days, threshold date) from the configured offsets.

    A deadline due on or before ``today + offset`` has reached that offset.
    """
    rows, params = [], {}
    for kind, offsets in current_app.config["REMINDER_OFFSETS"].items():
        for offset in offsets:
            n = len(rows)
            rows.append(f"(:kind{n}, :offset{n}, :threshold{n})")
            params |= {f"kind{n}": kind, f"offset{n}": int(offset),
                       f"threshold{n}": today + timedelta(days=int(offset))}
    return ", ".join(rows), params


# Only the smallest offset a deadline has reached is planned: a deadline first seen 20 days
# ahead gets its "30 days" reminder, not the 90-, 60- and 30-day ones at once.
_PLAN_SQL = """
WITH offsets(kind, offset_days, threshold) AS (VALUES {values}),
due AS (
    SELECT d.id AS deadline_id, d.case_id, o.offset_days, c.assignee_id, c.applicant_id
    FROM deadlines d
    JOIN cases c ON c.id = d.case_id
    JOIN offsets o ON o.kind = d.kind
    WHERE d.state = 'open' AND d.due_on >= :today AND d.due_on <= o.threshold
      AND NOT EXISTS (SELECT 1 FROM offsets o2 WHERE o2.kind = o.kind
                      AND o2.offset_days < o.offset_days AND d.due_on <= o2.threshold)
)
INSERT INTO reminders (deadline_id, case_id, offset_days, channel, recipient, user_id, email,
                       state, next_attempt_at, attempts, created_at)
{select}
ON CONFLICT DO NOTHING
"""

_TO_CASEWORKER = """
SELECT due.deadline_id, due.case_id, due.offset_days, ch.channel,
       'user:' || CAST(u.id AS VARCHAR(20)), u.id, u.email, 'pending', :now, 0, :now
FROM due JOIN users u ON u.id = due.assignee_id AND u.active
CROSS JOIN (SELECT 'email' AS channel UNION ALL SELECT 'in_app') ch
WHERE true
"""

_TO_APPLICANT = """
SELECT due.deadline_id, due.case_id, due.offset_days, 'email', 'email:' || a.email, NULL,
       a.email, 'pending', :now, 0, :now
FROM due JOIN applicants a ON a.id = due.applicant_id
WHERE a.email_consent AND a.email IS NOT NULL AND a.email <> ''
"""

_ESCALATE_SQL = """
INSERT INTO reminders (deadline_id, case_id, offset_days, channel, recipient, user_id, email,
                       state, next_attempt_at, attempts, created_at)
SELECT d.id, d.case_id, :escalation, ch.channel, 'user:' || CAST(u.id AS VARCHAR(20)), u.id,
       u.email, 'pending', :now, 0, :now
FROM deadlines d
JOIN users u ON u.role IN :supervising AND u.active
CROSS JOIN (SELECT 'email' AS channel UNION ALL SELECT 'in_app') ch
WHERE d.state = 'missed' AND d.outstanding AND d.closed_at >= :since
ON CONFLICT DO NOTHING
"""

_CANCEL_STALE_SQL = """
UPDATE reminders SET state = 'cancelled', last_error = 'The deadline no longer applies.'
WHERE state = 'pending' AND offset_days >= 0
  AND deadline_id IN (SELECT id FROM deadlines WHERE state <> 'open')
"""


def plan_reminders(today: date, now: datetime | None = None) -> dict[str, int]:
    """Create every reminder whose time has come, set-based; cancel those that no longer apply.

    Safe to run twice, or from two beat processes at once: the unique key (deadline, offset,
    channel, recipient) makes the second insert of a row a no-op.
    """
    now = now or utcnow()
    values, params = _offset_rows(today)
    params |= {"today": today, "now": now}
    counts = {}
    for name, select_sql in (("caseworker", _TO_CASEWORKER), ("applicant", _TO_APPLICANT)):
        sql = _PLAN_SQL.format(values=values, select=select_sql)
        counts[name] = _affected(db.session.execute(text(sql), params))
    escalate = text(_ESCALATE_SQL).bindparams(bindparam("supervising", expanding=True))
    counts["escalation"] = _affected(db.session.execute(escalate, {
        "escalation": ESCALATION, "now": now,
        "supervising": [role.value for role in roles_with(Permission.SUPERVISE)],
        "since": now - timedelta(days=current_app.config["ESCALATION_LOOKBACK_DAYS"])}))
    counts["cancelled"] = db.session.execute(text(_CANCEL_STALE_SQL)).rowcount
    db.session.flush()
    return counts


@case_signals.deadline_closed.connect
def cancel_for_deadlines(_sender=None, *, deadline_ids, **_kwargs) -> None:
    """The deadlines were met or cancelled (a job offer recorded, a stay extended, a case
    ended): their pending reminders no longer apply, in the same transaction."""
    db.session.execute(
        update(Reminder).where(Reminder.deadline_id.in_(deadline_ids),
                               Reminder.state == ReminderState.PENDING,
                               Reminder.offset_days >= 0)
        .values(state=ReminderState.CANCELLED, last_error="The deadline no longer applies.")
        .execution_options(synchronize_session=False))


def _affected(result) -> int:
    """Rows a statement changed. sqlite3 reports -1 for an INSERT that starts with WITH;
    SQLite's own changes() knows."""
    if result.rowcount >= 0:
        return result.rowcount
    return db.session.execute(text("SELECT changes()")).scalar_one()


# --- Dispatch ---------------------------------------------------------------------------------

def new_claim() -> str:
    """A token for one dispatch batch: the rows it claims carry it while they are its own."""
    return uuid.uuid4().hex


def lease() -> timedelta:
    return timedelta(seconds=current_app.config["REMINDER_LEASE_SECONDS"])


def claim_due(now: datetime | None = None, batch: int | None = None,
              claim: str | None = None) -> list[int]:
    """Claim up to ``batch`` due reminders for the batch ``claim`` and return their ids.

    A claim pushes ``next_attempt_at`` a lease ahead, writes the batch's token and counts the
    attempt; the caller commits it before sending. On PostgreSQL ``FOR UPDATE SKIP LOCKED``
    lets several workers claim at once without waiting for or overlapping each other; SQLite
    runs one writer at a time anyway.
    """
    now = now or utcnow()
    batch = batch or current_app.config["REMINDER_BATCH"]
    pick = (select(Reminder.id)
            .where(Reminder.state == ReminderState.PENDING, Reminder.next_attempt_at <= now)
            .order_by(Reminder.next_attempt_at, Reminder.id).limit(batch))
    if db.session.get_bind().dialect.name == "postgresql":
        pick = pick.with_for_update(skip_locked=True)
    ids = db.session.scalars(
        update(Reminder).where(Reminder.id.in_(pick.scalar_subquery()))
        .values(next_attempt_at=now + lease(), claim=claim or new_claim(),
                attempts=Reminder.attempts + 1)
        .returning(Reminder.id).execution_options(synchronize_session=False)).all()
    return sorted(ids)


def take(reminder_id: int, claim: str, now: datetime | None = None) -> bool:
    """Right before a send: true if the reminder is still pending and still held by the batch
    ``claim``, and then its lease starts afresh, in the same statement (the caller commits
    before sending).

    False once another dispatcher has claimed it (its lease had run out): that one sends it.
    One statement, so a claim and a take of the same row cannot both win.
    """
    now = now or utcnow()
    return db.session.execute(
        update(Reminder).where(Reminder.id == reminder_id, Reminder.claim == claim,
                               Reminder.state == ReminderState.PENDING)
        .values(next_attempt_at=now + lease())
        .execution_options(synchronize_session=False)).rowcount == 1


def release(claim: str, ids: list[int], now: datetime | None = None) -> int:
    """Give back the reminders of batch ``claim`` that it did not try: due again now, and the
    claim's attempt is not counted (it sent nothing). Rows another dispatcher has claimed
    since are not touched."""
    if not ids:
        return 0
    return db.session.execute(
        update(Reminder).where(Reminder.id.in_(ids), Reminder.claim == claim,
                               Reminder.state == ReminderState.PENDING)
        .values(next_attempt_at=now or utcnow(), claim=None, attempts=Reminder.attempts - 1)
        .execution_options(synchronize_session=False)).rowcount


def backoff(attempts: int) -> timedelta:
    """1, 2, 4, 8... times the base delay after each failed attempt."""
    base = current_app.config["REMINDER_BACKOFF_SECONDS"]
    return timedelta(seconds=base * 2 ** max(attempts - 1, 0))


def prepare(ids: list[int]) -> dict[int, Prepared]:
    """Everything a batch of reminders needs to be sent, read in one query (plain rows, so a
    commit after each send expires nothing)."""
    assignee, recipient = aliased(User), aliased(User)
    rows = db.session.execute(
        select(Reminder.id, Reminder.state, Reminder.channel, Reminder.offset_days,
               Reminder.user_id, Reminder.email, Reminder.case_id, Reminder.attempts,
               Deadline.kind, Deadline.due_on, Deadline.state.label("deadline_state"),
               Deadline.outstanding.label("deadline_outstanding"),
               Case.reference, Case.scheme, Case.status, Case.assignee_id,
               Applicant.family_name, Applicant.given_names,
               assignee.full_name.label("assignee_name"),
               recipient.active.label("recipient_active"),
               recipient.role.label("recipient_role"))
        .join(Deadline, Deadline.id == Reminder.deadline_id)
        .join(Case, Case.id == Reminder.case_id)
        .join(Applicant, Applicant.id == Case.applicant_id)
        .outerjoin(assignee, assignee.id == Case.assignee_id)
        .outerjoin(recipient, recipient.id == Reminder.user_id)
        .where(Reminder.id.in_(ids)))
    return {row.id: Prepared(row, _context(row)) for row in rows}


@dataclass(frozen=True)
class Prepared:
    row: object
    context: dict | None  # None: the reminder no longer applies


def deliver_prepared(prepared: Prepared, now: datetime | None = None,
                     sender: mail.Mailer | None = None) -> ReminderState:
    """Send one prepared reminder and record the outcome (the caller commits right after).

    In-app: the notification row and the "sent" mark are one transaction, so exactly once.
    Email: the message is handed to SMTP, then marked sent; a crash between the two can send
    it twice, and its Message-ID, derived from the reminder, lets a mail client spot that.
    """
    now = now or utcnow()
    row, context = prepared.row, prepared.context
    if row.state != ReminderState.PENDING:
        return row.state
    if context is None:
        return _mark(row.id, state=ReminderState.CANCELLED,
                     last_error="The deadline no longer applies.")
    try:
        if row.channel == Channel.IN_APP:
            # One notification per reminder (uq_notifications_reminder_id): if it is there
            # already, this reminder was delivered, and the batch goes on.
            db.session.execute(_insert(Notification).values(
                user_id=row.user_id, reminder_id=row.id, case_id=row.case_id,
                title=context["subject"], created_at=now,
                body=render_template("notifications/email/reminder.txt", **context).strip())
                .on_conflict_do_nothing(index_elements=["reminder_id"]))
        else:
            message = build_email(row, context)
            (sender or mail).send(message, f"reminder-{row.id}")
    except mail.MailError as exc:
        if row.attempts >= current_app.config["REMINDER_MAX_ATTEMPTS"]:
            return _mark(row.id, state=ReminderState.FAILED, last_error=str(exc)[:2000])
        return _mark(row.id, state=ReminderState.PENDING, last_error=str(exc)[:2000],
                     next_attempt_at=now + backoff(row.attempts))
    return _mark(row.id, state=ReminderState.SENT, sent_at=now, last_error=None)


def _insert(model):
    """INSERT with the dialect's ON CONFLICT clause (PostgreSQL and SQLite spell it alike)."""
    dialect = db.session.get_bind().dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(model)


def _mark(reminder_id: int, **values) -> ReminderState:
    db.session.execute(update(Reminder).where(Reminder.id == reminder_id).values(**values)
                       .execution_options(synchronize_session=False))
    return values["state"]


def _still_a_recipient(row) -> bool:
    """A staff reminder goes only to an active account that still has the role it was
    planned for: the case's assignee, or a supervisor for an escalation."""
    if not row.recipient_active:
        return False
    if row.offset_days == ESCALATION:
        return row.recipient_role in roles_with(Permission.SUPERVISE)
    return row.assignee_id == row.user_id


# What a deadline means, as the first line of its reminder.
_WHAT = {
    "stay_end": "the stay of case {reference} ends on {due_on}",
    "job_offer": "a job offer for case {reference} must be recorded by {due_on}",
    "extension_window": "the extension window of case {reference} opens on {due_on}",
}


def _context(row) -> dict | None:
    escalation = row.offset_days == ESCALATION
    if escalation:
        # A missed deadline stops mattering once its case ends or a newer one replaces it.
        if row.deadline_state != DeadlineState.MISSED or not row.deadline_outstanding:
            return None
    elif row.deadline_state != DeadlineState.OPEN:
        return None
    if row.user_id is not None and not _still_a_recipient(row):
        return None
    days = (row.due_on - dates.hk_today()).days
    days_text = ("today" if days == 0 else f"in {dates.day_count(days)}" if days > 0
                 else f"{dates.day_count(days)} ago")
    kind_label = row.kind.label
    what = _WHAT[row.kind.value].format(reference=row.reference,
                                        due_on=row.due_on.isoformat())
    subject = (f"Missed deadline: {kind_label} for {row.reference}" if escalation
               else f"{kind_label} on {row.due_on} ({days_text}): {row.reference}")
    return {
        "subject": subject, "escalation": escalation, "kind_label": kind_label,
        "what": what,
        "reference": row.reference, "scheme": row.scheme.short_label,
        "applicant": f"{row.family_name.upper()}, {row.given_names}",
        "due_on": row.due_on.isoformat(), "days_text": days_text,
        "holiday": dates.hk_holiday_name(row.due_on),
        "assignee": row.assignee_name,
        "case_url": f"{current_app.config['PUBLIC_URL'].rstrip('/')}/cases/{row.case_id}",
        "for_applicant": row.user_id is None,
    }


def build_email(reminder, context: dict) -> MIMEMultipart:
    """The message for a reminder (anything with ``id`` and ``email``) and its context.

    Built with the classic MIME classes: the modern ``EmailMessage`` re-parses every header
    through its registry and took half of each send's time.
    """
    message = MIMEMultipart("alternative")
    subject = context["subject"]
    message["Subject"] = subject if subject.isascii() else Header(subject, "utf-8")
    message["From"] = current_app.config["MAIL_FROM"]
    message["To"] = reminder.email
    # Derived from the reminder, so a resend after a crash carries the same id.
    message["Message-ID"] = f"<reminder-{reminder.id}@talent-admission-backoffice>"
    message["Date"] = format_datetime(utcnow())
    for template, subtype in (("reminder.txt", "plain"), ("reminder.html", "html")):
        body = render_template(f"notifications/email/{template}", **context)
        message.attach(MIMEText(body.rstrip("\n") + "\n", subtype, "utf-8"))
    return message


class NotificationError(Refusal):
    """A notification rule refused the change; the message is shown as it is."""


def retry(actor, reminder: Reminder, now: datetime | None = None) -> None:
    """A supervisor sends a failed reminder again: it goes back to the queue, attempts reset."""
    if not actor.can_supervise():
        raise PermissionError("Only supervisors can retry reminders.")
    if reminder.state != ReminderState.FAILED:
        raise NotificationError("Only a failed reminder can be retried.")
    reminder.state = ReminderState.PENDING
    reminder.attempts = 0
    reminder.next_attempt_at = now or utcnow()
    db.session.flush()


# --- Reading ------------------------------------------------------------------------------------

def queue_size() -> dict[str, int]:
    rows = db.session.execute(select(Reminder.state, func.count()).group_by(Reminder.state))
    return {state.value: n for state, n in rows}


# The navigation badge runs this on every page; built once.
_UNREAD_COUNT = select(func.count()).select_from(Notification).where(
    Notification.user_id == bindparam("user_id"), Notification.read_at.is_(None))


def unread_count(user_id: int) -> int:
    return db.session.scalar(_UNREAD_COUNT, {"user_id": user_id}) or 0


def notifications_for(user_id: int, limit: int = 200) -> list[Notification]:
    """Unread first, newest first."""
    return list(db.session.scalars(
        select(Notification).where(Notification.user_id == user_id)
        .order_by(Notification.read_at.is_not(None), Notification.id.desc()).limit(limit)))


def mark_read(user_id: int, notification_id: int | None = None,
              now: datetime | None = None) -> int:
    query = update(Notification).where(Notification.user_id == user_id,
                                       Notification.read_at.is_(None))
    if notification_id is not None:
        query = query.where(Notification.id == notification_id)
    return db.session.execute(query.values(read_at=now or utcnow())
                              .execution_options(synchronize_session=False)).rowcount


def reminders_for_case(case_id: int) -> list[Reminder]:
    return list(db.session.scalars(select(Reminder).where(Reminder.case_id == case_id)
                                   .order_by(Reminder.id.desc())))


def failed_reminders(limit: int = 200) -> list[Reminder]:
    return list(db.session.scalars(select(Reminder).where(
        Reminder.state == ReminderState.FAILED).order_by(Reminder.id.desc()).limit(limit)))
