"""Notification rules."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from email.header import Header
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import format_datetime

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import and_, bindparam, case, func, not_, or_, select, text, update
from sqlalchemy.engine import Connection
from sqlalchemy.orm import aliased

from backoffice.auth.models import Permission, User, roles_with
from backoffice.cases import signals as case_signals
from backoffice.cases.models import (
    Applicant,
    Case,
    Deadline,
    DeadlineClosure,
    DeadlineKind,
    DeadlineState,
)
from backoffice.core import dates
from backoffice.core.dates import utcnow
from backoffice.core.db import Unawaited, dialect_insert, read
from backoffice.core.i18n import (
    format_date,
    language_for,
    lazy_gettext,
)
from backoffice.core.refusals import Refusal
from backoffice.documents import services as documents
from backoffice.documents import signals as document_signals
from backoffice.extensions import db
from backoffice.notifications import mail
from backoffice.notifications.models import (
    ESCALATION,
    NO_LONGER_APPLIES,
    REQUEST,
    Channel,
    Notification,
    Reminder,
    ReminderState,
    WorkerHeartbeat,
)
from backoffice.notifications.wording import reminder_subject, render_reminder

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
UPDATE reminders SET state = 'cancelled', last_error = :reason
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
    counts["cancelled"] = db.session.execute(text(_CANCEL_STALE_SQL),
                                             {"reason": NO_LONGER_APPLIES}).rowcount
    db.session.flush()
    return counts


@case_signals.deadline_closed.connect
def _deadlines_closed(_sender=None, *, deadline_ids, closure: DeadlineClosure | None = None,
                      at: datetime | None = None, **_kwargs) -> None:
    """The deadlines stopped being anyone's work (a job offer recorded, a stay extended, a
    date corrected, a case ended...): what was said about them is brought in line, in the
    same transaction. Reminders first: a dispatcher delivering one of them in-app right now
    holds its row (``deliver_prepared``), so waiting for it here means its notification,
    once committed, is there to be resolved."""
    cancel_for_deadlines(deadline_ids)
    resolve_for_deadlines(deadline_ids, closure or DeadlineClosure.DROPPED, at)


def cancel_for_deadlines(deadline_ids) -> None:
    """Their pending reminders no longer apply."""
    db.session.execute(
        update(Reminder).where(Reminder.deadline_id.in_(deadline_ids),
                               Reminder.state == ReminderState.PENDING,
                               Reminder.offset_days >= 0)
        .values(state=ReminderState.CANCELLED, last_error=NO_LONGER_APPLIES)
        .execution_options(synchronize_session=False))


def resolve_for_deadlines(deadline_ids, closure: DeadlineClosure,
                          at: datetime | None = None) -> int:
    """Their unread notifications are resolved with the reason: they leave the badge and the
    centre shows why. Read ones stay as their reader left them. One statement for one
    deadline or a sweep's thousands (``deadline_ids`` may be a SELECT), through the reminders'
    unique key (deadline first) and the notifications' one on ``reminder_id``."""
    return db.session.execute(
        update(Notification).where(
            Notification.reminder_id.in_(
                select(Reminder.id).where(Reminder.deadline_id.in_(deadline_ids))),
            Notification.read_at.is_(None), Notification.resolved_at.is_(None))
        .values(resolved_at=at or utcnow(), resolution=closure)
        .execution_options(synchronize_session=False)).rowcount


def _affected(result) -> int:
    """Rows a statement changed. sqlite3 reports -1 for an INSERT that starts with WITH;
    SQLite's own changes() knows."""
    if result.rowcount >= 0:
        return result.rowcount
    return db.session.execute(text("SELECT changes()")).scalar_one()


# --- Dispatch ---------------------------------------------------------------------------------

# An email's outcome and the next reminder's take (one statement for a sent email:
# _MARK_SENT_AND_TAKE below), built once as Core statements on the table: they skip the
# ORM's bulk-update path and find their compiled form at once, 0.07 ms of CPU each instead
# of 0.3 (bench/bench_dispatch.py). Like the ORM updates they replace, they leave the
# session's objects as they are.
_REMINDERS = Reminder.__table__
_TAKE = (update(_REMINDERS)
         .where(_REMINDERS.c.id == bindparam("reminder_id"),
                _REMINDERS.c.claim == bindparam("held_by"),
                _REMINDERS.c.state == ReminderState.PENDING)
         .values(next_attempt_at=bindparam("until")))
_MARK_SENT = (update(_REMINDERS).where(_REMINDERS.c.id == bindparam("reminder_id"))
              .values(state=ReminderState.SENT, sent_at=bindparam("at"), last_error=None))


def _for_sent(value, otherwise):
    return case((_REMINDERS.c.id == bindparam("sent_id"), value), else_=otherwise)


# Both in one statement, the row that was sent and the one taken next told apart by id: one
# round trip an email instead of two (tests/notifications/test_dispatch.py counts them). It
# returns the ids it changed, so the take's outcome is whether the next id is among them.
_MARK_SENT_AND_TAKE = (
    update(_REMINDERS)
    .where(or_(_REMINDERS.c.id == bindparam("sent_id"),
               and_(_REMINDERS.c.id == bindparam("reminder_id"),
                    _REMINDERS.c.claim == bindparam("held_by"),
                    _REMINDERS.c.state == ReminderState.PENDING)))
    .values(state=_for_sent(ReminderState.SENT, _REMINDERS.c.state),
            sent_at=_for_sent(bindparam("at"), _REMINDERS.c.sent_at),
            last_error=_for_sent(None, _REMINDERS.c.last_error),
            next_attempt_at=_for_sent(_REMINDERS.c.next_attempt_at, bindparam("until")))
    .returning(_REMINDERS.c.id))


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
    return db.session.execute(_TAKE, {"reminder_id": reminder_id, "held_by": claim,
                                      "until": now + lease()}).rowcount == 1


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
               Case.stay_ends_on, Case.extension_window_days,
               Applicant.family_name, Applicant.given_names,
               Applicant.language.label("applicant_language"),
               assignee.full_name.label("assignee_name"),
               recipient.active.label("recipient_active"),
               recipient.role.label("recipient_role"),
               recipient.language.label("recipient_language"))
        .join(Deadline, Deadline.id == Reminder.deadline_id)
        .join(Case, Case.id == Reminder.case_id)
        .join(Applicant, Applicant.id == Case.applicant_id)
        .outerjoin(assignee, assignee.id == Case.assignee_id)
        .outerjoin(recipient, recipient.id == Reminder.user_id)
        .where(Reminder.id.in_(ids)))
    rows = list(rows)
    # A documents-due reminder lists what is still awaited (one query for the batch).
    asked = documents.outstanding_items(
        {row.case_id for row in rows if row.kind == DeadlineKind.DOCUMENTS_DUE})
    return {row.id: Prepared(row, _context(row, asked.get(row.case_id))) for row in rows}


@dataclass(frozen=True)
class Prepared:
    row: object
    context: dict | None  # None: the reminder no longer applies


def deliver_prepared(prepared: Prepared, now: datetime | None = None,
                     sender: mail.Mailer | None = None) -> ReminderState:
    """Send one prepared reminder and record the outcome (the caller commits right after).

    In-app: the notification row and the "sent" mark are one transaction, so exactly once;
    the mark comes first and only while the reminder is still pending, so a deadline closed
    meanwhile (its reminder cancelled) gets no notification that would never be resolved.
    Email: the message is handed to SMTP, then marked sent; a crash between the two can send
    it twice, and its Message-ID, derived from the reminder, lets a mail client spot that.
    """
    return deliver_and_take(prepared, None, "", now=now, sender=sender)[0]


def deliver_and_take(prepared: Prepared, following: Prepared | None, claim: str,
                     expires: datetime | None = None, now: datetime | None = None,
                     sender: mail.Mailer | None = None,
                     marks: Marks | None = None) -> tuple[ReminderState, bool | None]:
    """``deliver_prepared``, then ``take`` of the ``following`` reminder for the batch
    ``claim`` while its lease holds (``expires``, looked at once the send is over). Returns
    the outcome and whether the following one was taken (None: no ``following``, or the
    lease had run out and nothing was taken). The caller commits both at once, so the next
    reminder's lease is renewed before it leaves.

    ``marks`` (``marks_connection``, PostgreSQL): where a sent email's one statement runs
    and commits itself, instead of in the session. While it commits, the following email
    is started (``Mailer.start``: all of it but its final "."): the commit's WAL flush
    overlaps that email's envelope and content instead of adding to them. The next call
    finishes it, so the server accepts it only once this email's mark is durable and its
    lease renewed; if the take failed it is abandoned here, never delivered. At most one
    accepted email is unmarked at a time, for no longer than its mark's commit, as before.
    """
    now = now or utcnow()
    state = _send(prepared, now, sender)
    next_id = following.row.id if following is not None else None
    in_time = next_id is not None and (expires is None or utcnow() < expires)
    if state is None and marks is not None:
        # The mark's commit (its WAL flush) overlaps the next email's build, envelope and
        # content instead of preceding them: its wait, 0.2-1.0 ms an email in this
        # session's runs (bench_dispatch.py), is gone.
        marks.send(prepared.row.id, now, next_id if in_time else None, claim)
        try:
            if in_time and sender is not None:
                _start(following, sender)
        finally:
            changed = marks.changed()
        taken = next_id in changed if in_time else None
        if in_time and not taken and sender is not None:
            sender.abandon()  # another dispatcher holds it (or it was sent meanwhile)
        return ReminderState.SENT, taken
    taken = None
    if in_time:
        if state is None:
            changed = db.session.scalars(_MARK_SENT_AND_TAKE, {
                "sent_id": prepared.row.id, "at": now, "reminder_id": next_id,
                "held_by": claim, "until": utcnow() + lease()}).all()
            return ReminderState.SENT, next_id in changed
        taken = take(next_id, claim)
    if state is None:
        db.session.execute(_MARK_SENT, {"reminder_id": prepared.row.id, "at": now})
        state = ReminderState.SENT
    return state, taken


class Marks:
    """A dispatch run's own connection for its emails' marks (PostgreSQL), kept for the run
    and in autocommit: an email's mark and the next one's take are one statement
    (``_MARK_SENT_AND_TAKE``), so it is its whole transaction, committed by itself right
    after the send as the session would (DESIGN §5), and it costs one round trip instead of
    four (the pool's check-out ping, BEGIN, the statement, COMMIT).

    ``send`` returns as soon as the statement is on its way and ``changed`` waits for it
    (``core.db.Unawaited``), so the commit's flush to disk runs while the next email goes
    out (``deliver_and_take``)."""

    def __init__(self, connection: Connection) -> None:
        self._statement = Unawaited(connection, _MARK_SENT_AND_TAKE)
        self._lease = lease()

    def send(self, sent_id: int, at: datetime, next_id: int | None, claim: str) -> None:
        """Mark ``sent_id`` sent at ``at`` and, with ``next_id``, take that one for the batch
        ``claim`` (a fresh lease from now); without, the statement's take matches nothing."""
        self._statement.send({"sent_id": sent_id, "at": at, "reminder_id": next_id,
                              "held_by": claim, "until": utcnow() + self._lease})

    def changed(self) -> set[int]:
        """Wait for the statement sent last: durable once this returns. The ids it changed
        (the sent one, and the next one if it was taken)."""
        return {int(reminder_id) for reminder_id, in self._statement.rows()}

    def settle(self) -> None:
        """Wait for a statement still on its way (a run that ends by an exception while an
        email's mark commits), so the connection goes back to the pool idle."""
        if self._statement.in_flight:
            self._statement.rows()


@contextmanager
def marks_connection() -> Iterator[Marks | None]:
    """On PostgreSQL, ``Marks`` for one dispatch run. None on SQLite, which has no round
    trips and no flush to wait for (WAL with synchronous=NORMAL): the session does it there.
    """
    if db.session.get_bind().dialect.name != "postgresql":
        yield None
        return
    with db.engine.connect() as connection:
        marks = Marks(connection.execution_options(isolation_level="AUTOCOMMIT"))
        try:
            yield marks
        finally:
            marks.settle()


def _filename(row) -> str:
    return f"reminder-{row.id}"


def _start(prepared: Prepared, sender: mail.Mailer) -> None:
    """Start the email of a reminder about to be taken (``deliver_and_take``); an in-app
    one, or one that no longer applies or is no longer pending, is left to its turn."""
    row, context = prepared.row, prepared.context
    if row.channel == Channel.EMAIL and row.state == ReminderState.PENDING and context:
        sender.start(_filename(row), envelope(row, context), lambda: build_email(row, context))


def _send(prepared: Prepared, now: datetime, sender: mail.Mailer | None) -> ReminderState | None:
    """The delivery, and its outcome recorded, except an email's "sent" mark: None means the
    email was handed over, and ``deliver_and_take`` marks it (with the next take when there
    is one)."""
    row, context = prepared.row, prepared.context
    if row.state != ReminderState.PENDING:
        return row.state
    if context is None:
        return _mark(row.id, state=ReminderState.CANCELLED, last_error=NO_LONGER_APPLIES)
    try:
        if row.channel == Channel.IN_APP:
            # Written in the recipient's language; the centre renders the title again in
            # the reader's language from the reminder (``notifications_for``).
            try:
                message = render_reminder(context)
            except Exception as exc:
                # As for an email that cannot be built (mail._BuildError): this reminder's
                # failed attempt, not the end of the run.
                current_app.logger.exception("reminder %s could not be written", row.id)
                raise mail.MailError(f"the notification could not be written: "
                                     f"{type(exc).__name__}: {exc}") from exc
            if not _mark_sent_while_pending(row.id, now):
                return db.session.scalar(select(Reminder.state).where(Reminder.id == row.id))
            # One notification per reminder (uq_notifications_reminder_id): if it is there
            # already, this reminder was delivered, and the batch goes on.
            db.session.execute(dialect_insert(Notification).values(
                user_id=row.user_id, reminder_id=row.id, case_id=row.case_id,
                title=message.subject, created_at=now, body=message.text.strip())
                .on_conflict_do_nothing(index_elements=["reminder_id"]))
            return ReminderState.SENT
        if sender is None:
            mail.send(build_email(row, context), _filename(row))
        else:
            if sender.started != _filename(row):  # not started while the previous one's
                _start(prepared, sender)  # mark committed
            sender.finish()
    except mail.MailError as exc:
        if row.attempts >= current_app.config["REMINDER_MAX_ATTEMPTS"]:
            return _mark(row.id, state=ReminderState.FAILED, last_error=str(exc)[:2000])
        return _mark(row.id, state=ReminderState.PENDING, last_error=str(exc)[:2000],
                     next_attempt_at=now + backoff(row.attempts))
    return None


def _mark_sent_while_pending(reminder_id: int, now: datetime) -> bool:
    """Mark the reminder sent if nothing cancelled it meanwhile (on PostgreSQL this waits for
    a transaction cancelling it right now, then sees what it did)."""
    return db.session.execute(
        update(Reminder).where(Reminder.id == reminder_id,
                               Reminder.state == ReminderState.PENDING)
        .values(state=ReminderState.SENT, sent_at=now, last_error=None)
        .execution_options(synchronize_session=False)).rowcount == 1


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


def _context(row, items: list | None = None) -> dict | None:
    """What the reminder says, in no language yet: ``render_reminder`` writes it in
    ``language``, the applicant's for an applicant, the account's for staff."""
    escalation = row.offset_days == ESCALATION
    if escalation:
        # A missed deadline stops mattering once its case ends or a newer one replaces it.
        if row.deadline_state != DeadlineState.MISSED or not row.deadline_outstanding:
            return None
    elif row.deadline_state != DeadlineState.OPEN:
        return None
    if row.user_id is not None and not _still_a_recipient(row):
        return None
    for_applicant = row.user_id is None
    context = {
        "language": language_for(row.applicant_language if for_applicant
                                 else row.recipient_language).code,
        "kind": row.kind.value, "escalation": escalation,
        "reference": row.reference, "scheme": row.scheme,
        "applicant": f"{row.family_name.upper()}, {row.given_names}",
        "due_on": row.due_on, "days": (row.due_on - dates.hk_today()).days,
        "assignee": row.assignee_name,
        "case_url": f"{current_app.config['PUBLIC_URL'].rstrip('/')}/cases/{row.case_id}",
        "for_applicant": for_applicant,
    }
    if for_applicant:
        context |= applicant_facts(row.family_name, row.given_names, row.stay_ends_on,
                                   row.extension_window_days)
    if row.kind == DeadlineKind.DOCUMENTS_DUE:
        context |= {"items": items or [], "request": row.offset_days == REQUEST}
    return context


@document_signals.documents_requested.connect
def _documents_requested(_sender=None, *, request, case: Case, **_kwargs) -> bool:
    """The request's own email, into the outbox in the request's transaction (sent by the
    next dispatch): only to an applicant with an address who agreed to email."""
    applicant = case.applicant
    if not (applicant.email_consent and applicant.email):
        return False
    deadline = next((d for d in case.open_deadlines
                     if d.kind == DeadlineKind.DOCUMENTS_DUE), None)
    if deadline is None:
        return False
    now = utcnow()
    db.session.execute(dialect_insert(Reminder).values(
        deadline_id=deadline.id, case_id=case.id, offset_days=REQUEST, channel=Channel.EMAIL,
        recipient=f"email:{applicant.email}", user_id=None, email=applicant.email,
        state=ReminderState.PENDING, next_attempt_at=now, attempts=0, created_at=now
    ).on_conflict_do_nothing())
    return True


def applicant_facts(family_name: str, given_names: str, stay_ends_on: date | None,
                    extension_window_days: int | None) -> dict:
    """What an applicant's email needs beyond a reminder's facts: whom it addresses
    ("CHAN Mei Ling") and, from the case's stay, when it ends and when an extension may be
    applied for (None where the case has no stay yet)."""
    opens = (stay_ends_on - timedelta(days=extension_window_days)
             if stay_ends_on is not None and extension_window_days is not None else None)
    return {"addressee": f"{family_name.upper()} {given_names}",
            "stay_ends_on": stay_ends_on, "extension_opens_on": opens}


def _mail_from(context: dict) -> str:
    config = current_app.config
    if context["for_applicant"]:
        return config.get("APPLICANT_MAIL_FROM") or config["MAIL_FROM"]
    return config["MAIL_FROM"]


def envelope(reminder, context: dict) -> mail.Envelope:
    """Whom ``build_email`` writes the reminder's message from and to, known before it is
    built: the Mailer builds it while the server answers MAIL."""
    return mail.Envelope.of_headers(_mail_from(context), [reminder.email])


def build_email(reminder, context: dict, message_id: str | None = None) -> MIMEMultipart:
    """The message for a reminder (anything with ``id`` and ``email``) and its context,
    written in the recipient's language. ``message_id``: for a message that is not a
    reminder (a documents request's first email), its own stable id; a reminder's is derived
    from the reminder, so a resend after a crash carries the same id.

    An applicant's comes from ``APPLICANT_MAIL_FROM`` (``MAIL_FROM`` when unset), with
    ``APPLICANT_MAIL_REPLY_TO`` as its Reply-To when set; staff mail from ``MAIL_FROM``.

    Built with the classic MIME classes: the modern ``EmailMessage`` re-parses every header
    through its registry and took half of each send's time. A subject that is not ASCII (any
    Chinese one) is an RFC 2047 UTF-8 encoded word; the bodies are UTF-8.
    """
    config = current_app.config
    rendered = render_reminder(context)
    message = MIMEMultipart("alternative")
    subject = rendered.subject
    message["Subject"] = subject if subject.isascii() else Header(subject, "utf-8")
    message["From"] = _mail_from(context)
    if context["for_applicant"] and config.get("APPLICANT_MAIL_REPLY_TO"):
        message["Reply-To"] = config["APPLICANT_MAIL_REPLY_TO"]
    message["To"] = reminder.email
    message["Message-ID"] = (message_id
                             or f"<reminder-{reminder.id}@talent-admission-backoffice>")
    message["Date"] = format_datetime(utcnow())
    for body, subtype in ((rendered.text, "plain"), (rendered.html, "html")):
        message.attach(MIMEText(body.rstrip("\n") + "\n", subtype, "utf-8"))
    return message


class NotificationError(Refusal):
    """A notification rule refused the change; the message is shown as it is."""


def retry(actor, reminder: Reminder, now: datetime | None = None) -> None:
    """A supervisor sends a failed reminder again: it goes back to the queue, attempts reset."""
    if not actor.can_supervise():
        raise PermissionError("Only supervisors can retry reminders.")
    if reminder.state != ReminderState.FAILED:
        raise NotificationError(lazy_gettext("Only a failed reminder can be retried."))
    reminder.state = ReminderState.PENDING
    reminder.attempts = 0
    reminder.next_attempt_at = now or utcnow()
    db.session.flush()


# --- Reading ------------------------------------------------------------------------------------

def queue_size() -> dict[str, int]:
    rows = db.session.execute(select(Reminder.state, func.count()).group_by(Reminder.state))
    return {state.value: n for state, n in rows}


# Unread and not resolved: what asks for its reader's attention.
_ASKING = (Notification.read_at.is_(None), Notification.resolved_at.is_(None))

# The navigation badge runs this on every page; built once. It reads only the index on
# (user_id, read_at, resolved_at), never the table (tests/notifications/test_resolution.py).
_UNREAD_COUNT = select(func.count()).select_from(Notification).where(
    Notification.user_id == bindparam("user_id"), *_ASKING)


# The same count for the signed-in user, read in the statement that loads them (through
# auth.signals.loaded_with_user): one statement less on every page.
UNREAD_OF_USER = (select(func.count()).select_from(Notification)
                  .where(Notification.user_id == User.id, *_ASKING)
                  .correlate(User).scalar_subquery())


def unread_count(user_id: int) -> int:
    return read(_UNREAD_COUNT, {"user_id": user_id}).scalar_one()


@dataclass(frozen=True)
class CentreItem:
    """A notification as the centre shows it, in the reader's language: its title, whose
    case and which date it is about, and, once resolved, why it no longer asks for anything."""

    id: int
    title: str
    created_at: datetime
    case_id: int | None
    read_at: datetime | None
    applicant: str | None  # the applicant's name, Chinese name beside
    due_on: date | None  # the deadline's due date
    resolution: str | None  # "Done: the deadline was met." ... (None: not resolved)

    @property
    def is_unread(self) -> bool:
        return self.read_at is None and self.resolution is None


@dataclass(frozen=True)
class Centre:
    """A user's centre: what asks for their attention, and what no longer does (read by
    them, or resolved), each by due date, soonest first, then newest first."""

    unread: list[CentreItem]
    earlier: list[CentreItem]


def notifications_for(user_id: int, limit: int = 200) -> Centre:
    """The centre of ``user_id``: up to ``limit`` unread notifications (the soonest due), and
    the ``limit`` newest of the others. A reminder's title is written again from its
    deadline in the language being rendered (the stored title is in the language the account
    had when it was delivered); any other notification shows its stored title."""
    mine = Notification.user_id == user_id
    unread = _centre_items(and_(mine, *_ASKING), limit)
    newest = (select(Notification.id).where(mine, not_(and_(*_ASKING)))
              .order_by(Notification.id.desc()).limit(limit))
    return Centre(unread=unread,
                  earlier=_centre_items(Notification.id.in_(newest.scalar_subquery()), None))


def _centre_items(where, limit: int | None) -> list[CentreItem]:
    # The deadline a moved one moved to: the case's open deadline of the same kind (at most
    # one, the partial unique index on deadlines), looked up only for moved ones.
    moved_to = aliased(Deadline)
    query = (
        select(Notification, Reminder.offset_days, Deadline.kind, Deadline.due_on,
               Case.reference, Case.status, Applicant, moved_to.due_on)
        .outerjoin(Reminder, Reminder.id == Notification.reminder_id)
        .outerjoin(Deadline, Deadline.id == Reminder.deadline_id)
        .outerjoin(Case, Case.id == Notification.case_id)
        .outerjoin(Applicant, Applicant.id == Case.applicant_id)
        .outerjoin(moved_to, and_(Notification.resolution == DeadlineClosure.MOVED,
                                  moved_to.case_id == Deadline.case_id,
                                  moved_to.kind == Deadline.kind,
                                  moved_to.state == DeadlineState.OPEN))
        .where(where)
        .order_by(Deadline.due_on.is_(None), Deadline.due_on, Notification.created_at.desc(),
                  Notification.id.desc()))
    if limit is not None:
        query = query.limit(limit)
    items = []
    for note, offset_days, kind, due_on, reference, status, applicant, new_due_on in \
            db.session.execute(query):
        title = note.title
        if kind is not None:
            # The days as they were on the day it was delivered, as the message said.
            days = (due_on - dates.hk_today(note.created_at)).days
            title = reminder_subject(kind.value, offset_days == ESCALATION, due_on, days,
                                     reference)
        items.append(CentreItem(
            id=note.id, title=title, created_at=note.created_at, case_id=note.case_id,
            read_at=note.read_at, applicant=applicant.full_name if applicant else None,
            due_on=due_on,
            resolution=(resolution_text(note.resolution, kind, new_due_on, status)
                        if note.resolution else None)))
    return items


def resolution_text(resolution: DeadlineClosure, kind: DeadlineKind | None,
                    moved_to: date | None, case_status=None) -> str:
    """Why a resolved notification no longer asks for anything, in the language being
    rendered."""
    if resolution == DeadlineClosure.MET:
        if kind == DeadlineKind.EXTENSION_WINDOW:
            return _("Done: the extension window has opened.")
        return _("Done: the deadline was met.")
    if resolution == DeadlineClosure.MOVED:
        if moved_to is not None:
            return _("No longer due: the deadline moved to %(date)s.", date=format_date(moved_to))
        return _("No longer due: the deadline's date changed.")
    if resolution == DeadlineClosure.CASE_ENDED and case_status is not None:
        return _("No longer due: the case has ended (%(status)s).",
                 status=str(case_status.label))
    if resolution == DeadlineClosure.CASE_ENDED:
        return _("No longer due: the case has ended.")
    return _("No longer due: the deadline no longer applies to this case.")


def mark_read(user_id: int, notification_id: int | None = None,
              now: datetime | None = None) -> int:
    """Mark the user's unread notification ``notification_id`` (or every one) as read; return
    how many were. A resolved one is left as it is: it asks for nothing."""
    query = update(Notification).where(Notification.user_id == user_id, *_ASKING)
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
