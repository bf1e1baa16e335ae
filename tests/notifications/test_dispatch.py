"""Dispatching reminders: claims with a lease, delivery once, retries with backoff, failures
kept for a supervisor, and a crash in the middle of a batch. Run on SQLite and PostgreSQL.

Times are passed in (``now=``) or the services' clock is replaced, so nothing waits for the
wall clock. ``hk_today`` is pinned to TODAY where a message's "in N days" is asserted.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from datetime import date, timedelta
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from flask import current_app
from sqlalchemy import event, func, select, update

from backoffice.auth.models import Role, User
from backoffice.cases import services as cases
from backoffice.cases.models import Case, Deadline, DeadlineKind, DeadlineState
from backoffice.cases.schemes import CaseStatus, Scheme
from backoffice.core.db import Unawaited
from backoffice.core.i18n import force_language
from backoffice.extensions import db as _db
from backoffice.notifications import mail, services, tasks
from backoffice.notifications.models import (
    ESCALATION,
    Channel,
    Notification,
    Reminder,
    ReminderState,
)
from backoffice.quota import services as quota
from tests.cases.factories import NOW, TODAY, make_case
from tests.notifications.test_planning import (
    APPLICANT_EMAIL,
    plan,
    stay_case,
)

LEASE = timedelta(seconds=300)  # REMINDER_LEASE_SECONDS


# --- Fixtures ---------------------------------------------------------------------------------


@pytest.fixture
def frozen_today(monkeypatch):
    """Messages count the days to the deadline from TODAY."""
    monkeypatch.setattr("backoffice.core.dates.hk_today", lambda now=None: TODAY)


@pytest.fixture
def outbox(app, monkeypatch, tmp_path) -> Path:
    """The default mail set-up: no SMTP server, messages written as .eml files."""
    monkeypatch.setitem(app.config, "SMTP_HOST", None)
    monkeypatch.setitem(app.config, "MAIL_OUTBOX_DIR", tmp_path / "mail")
    return tmp_path / "mail"


@pytest.fixture
def sends(monkeypatch) -> list[str]:
    """Every message handed over, by file name (one per reminder): its final "." sent
    (``Mailer.finish``). One started and abandoned is not among them."""
    calls: list[str] = []
    real_finish = mail.Mailer.finish

    def spy(self) -> None:
        calls.append(self.started)
        real_finish(self)

    monkeypatch.setattr(mail.Mailer, "finish", spy)
    return calls


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Refuse:
    """An SMTP server that refuses every message."""

    async def handle_DATA(self, server, session, envelope) -> str:
        return "550 refused"


@pytest.fixture(params=["smtp-refuses", "closed-port"])
def broken_smtp(request, app, monkeypatch):
    """SMTP configured, but every message fails: refused by a real server, or nobody there."""
    port = free_port()
    controller = None
    if request.param == "smtp-refuses":
        controller = Controller(Refuse(), hostname="127.0.0.1", port=port)
        controller.start()
    monkeypatch.setitem(app.config, "SMTP_HOST", "127.0.0.1")
    monkeypatch.setitem(app.config, "SMTP_PORT", port)
    monkeypatch.setitem(app.config, "SMTP_STARTTLS", False)
    yield "550" if controller else "ConnectionRefusedError"
    if controller:
        controller.stop()


def reminders(**where) -> list[Reminder]:
    query = select(Reminder).order_by(Reminder.id)
    for name, value in where.items():
        query = query.where(getattr(Reminder, name) == value)
    return list(_db.session.scalars(query))


def notification_count() -> int:
    return _db.session.scalar(select(func.count()).select_from(Notification))


def case_url(case) -> str:
    return f"{current_app.config['PUBLIC_URL'].rstrip('/')}/cases/{case.id}"


def english_date(day: date) -> str:
    """A date as an English page or message writes it: "5 Apr 2026"."""
    return f"{day.day} {day:%b %Y}"


def read_eml(path: Path) -> EmailMessage:
    return BytesParser(policy=policy.default).parsebytes(path.read_bytes())


def claim(now) -> list[int]:
    ids = services.claim_due(now=now)
    _db.session.commit()
    return ids


def deliver(reminder_id: int, now) -> ReminderState:
    """Send one claimed reminder as the dispatch task does, and commit."""
    prepared = services.prepare([reminder_id])
    if reminder_id in prepared:
        state = services.deliver_prepared(prepared[reminder_id], now=now)
    else:
        state = ReminderState.CANCELLED
    _db.session.commit()
    return state


def message_context(reminder) -> dict | None:
    """What the message for ``reminder`` says, or None when it no longer applies."""
    prepared = services.prepare([reminder.id]).get(reminder.id)
    return prepared.context if prepared else None


# --- Claiming ------------------------------------------------------------------------------

def test_a_claim_takes_the_due_reminders_for_a_lease(db, caseworker):
    stay_case(caseworker, TODAY + timedelta(days=20))
    stay_case(caseworker, TODAY + timedelta(days=14))
    plan(now=NOW)
    later = reminders()[-1]
    later.next_attempt_at = NOW + timedelta(hours=1)  # e.g. waiting after a failure
    db.session.commit()
    due_ids = sorted(r.id for r in reminders() if r.id != later.id)

    at = NOW + timedelta(seconds=1)
    assert claim(at) == due_ids
    for reminder in reminders():
        db.session.refresh(reminder)
        if reminder.id != later.id:
            assert (reminder.attempts, reminder.next_attempt_at) == (1, at + LEASE)
            assert reminder.state == ReminderState.PENDING
    assert claim(at) == []  # a second worker at the same moment gets none of them
    assert claim(at + LEASE - timedelta(seconds=1)) == []


def test_a_claim_not_sent_within_its_lease_comes_back(db, caseworker):
    """The worker that claimed them died: when the lease runs out they are due again."""
    stay_case(caseworker, TODAY + timedelta(days=20))
    plan(now=NOW)
    first = claim(NOW)
    assert len(first) == 3
    assert claim(NOW + LEASE + timedelta(seconds=1)) == first
    assert {r.attempts for r in reminders()} == {2}


def test_a_claim_takes_at_most_a_batch_oldest_first(db, caseworker):
    for days in (1, 7, 14):
        stay_case(caseworker, TODAY + timedelta(days=days))
    plan(now=NOW)
    ids = [r.id for r in reminders()]
    assert services.claim_due(now=NOW, batch=4) == ids[:4]
    assert services.claim_due(now=NOW, batch=4) == ids[4:8]
    assert services.claim_due(now=NOW, batch=4) == ids[8:]
    db.session.commit()


@pytest.mark.parametrize("claimers", [2, 8])
def test_workers_claiming_at_once_never_share_a_reminder(db, race_app, caseworker,
                                                         claimers):
    for days in range(1, 31):
        stay_case(caseworker, TODAY + timedelta(days=days))
    plan(now=NOW)
    all_ids = sorted(r.id for r in reminders())
    db.session.rollback()
    barrier = threading.Barrier(claimers)
    claimed: list[list[int]] = []
    errors: list[str] = []

    def run() -> None:
        with race_app.app_context():
            barrier.wait()
            try:
                ids = services.claim_due(now=NOW, batch=10)
                _db.session.commit()
                claimed.append(ids)
            except Exception as exc:
                _db.session.rollback()
                errors.append(f"{type(exc).__name__}: {exc}")
            finally:
                _db.session.remove()

    threads = [threading.Thread(target=run) for _ in range(claimers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    flat = [i for ids in claimed for i in ids]
    assert len(flat) == len(set(flat)), "a reminder was claimed by two workers"
    assert len(flat) == min(len(all_ids), 10 * claimers)
    assert {r.attempts for r in reminders() if r.id in flat} == {1}


# --- Delivering --------------------------------------------------------------------------------

def test_in_app_delivery_creates_one_notification_and_marks_it_sent(db, caseworker,
                                                                    frozen_today):
    case, _ = stay_case(caseworker, TODAY + timedelta(days=20))
    plan(now=NOW)
    (in_app,) = reminders(channel=Channel.IN_APP)
    claim(NOW)
    sent_at = NOW + timedelta(seconds=2)
    assert deliver(in_app.id, sent_at) == ReminderState.SENT
    assert deliver(in_app.id, sent_at + timedelta(seconds=1)) == ReminderState.SENT
    db.session.refresh(in_app)
    assert (in_app.state, in_app.sent_at, in_app.last_error) == (ReminderState.SENT, sent_at, None)
    (note,) = db.session.scalars(select(Notification))
    assert (note.user_id, note.case_id, note.reminder_id) == (caseworker.id, case.id, in_app.id)
    assert note.read_at is None
    due = TODAY + timedelta(days=20)
    assert note.title == f"Stay ends on {english_date(due)} (in 20 days): {case.reference}"
    first_line = note.body.splitlines()[0]
    assert first_line.startswith("Reminder: ")
    for fact in (case.reference, english_date(due), "(in 20 days)"):
        assert fact in first_line
    assert f"Open the case: {case_url(case)}" in note.body


@pytest.mark.parametrize("recipient", ["caseworker", "applicant"])
def test_email_delivery_without_smtp_writes_an_eml_file(app, db, caseworker, outbox,
                                                        frozen_today, recipient):
    case, _ = stay_case(caseworker, TODAY + timedelta(days=1))
    plan(now=NOW)
    wanted = "user:" if recipient == "caseworker" else "email:"
    (reminder,) = [r for r in reminders(channel=Channel.EMAIL)
                   if r.recipient.startswith(wanted)]
    claim(NOW)
    assert deliver(reminder.id, NOW) == ReminderState.SENT

    assert sorted(p.name for p in outbox.iterdir()) == [f"reminder-{reminder.id}.eml"]
    message = read_eml(outbox / f"reminder-{reminder.id}.eml")
    due = TODAY + timedelta(days=1)
    assert message["To"] == (caseworker.email if recipient == "caseworker" else APPLICANT_EMAIL)
    assert message["From"] == app.config["MAIL_FROM"]
    assert message["Message-ID"] == f"<reminder-{reminder.id}@talent-admission-backoffice>"
    assert message["Date"]
    assert message.get_content_type() == "multipart/alternative"
    text = message.get_body(preferencelist=("plain",)).get_content()
    html = message.get_body(preferencelist=("html",)).get_content()
    if recipient == "caseworker":
        assert message["Subject"] == \
            f"Stay ends on {english_date(due)} (in 1 day): {case.reference}"
        first_line = text.splitlines()[0]
        for fact in (case.reference, english_date(due), "in 1 day"):
            assert fact in first_line
            assert fact in html
        assert "Applicant: CHAN, Mei Ling" in text
        assert "<td>CHAN, Mei Ling</td>" in html
    else:  # the applicant's own email (tests/notifications/test_applicant_mail.py)
        assert message["Subject"] == (f"End of your permitted stay in Hong Kong: "
                                      f"{english_date(due)} (reference {case.reference})")
        assert text.startswith("Dear CHAN Mei Ling,\n")
        for fact in (case.reference, english_date(due), "1 day away"):
            assert fact in text
            assert fact in html
    # The applicant is not sent a link into the back office.
    assert (case_url(case) in text) is (recipient == "caseworker")
    assert (f'href="{case_url(case)}"' in html) is (recipient == "caseworker")


def test_a_resend_overwrites_the_same_file_with_the_same_message_id(db, caseworker, outbox):
    stay_case(caseworker, TODAY + timedelta(days=1), email_consent=False)
    plan(now=NOW)
    (reminder,) = reminders(channel=Channel.EMAIL)
    claim(NOW)
    deliver(reminder.id, NOW)
    first = read_eml(outbox / f"reminder-{reminder.id}.eml")["Message-ID"]
    # A crash after the send and before the commit: the reminder is still pending.
    reminder.state, reminder.sent_at = ReminderState.PENDING, None
    db.session.commit()
    deliver(reminder.id, NOW + LEASE)
    assert [p.name for p in outbox.iterdir()] == [f"reminder-{reminder.id}.eml"]
    assert read_eml(outbox / f"reminder-{reminder.id}.eml")["Message-ID"] == first


def test_dispatch_interrupted_in_the_middle_of_a_batch_sends_the_rest_once(
        db, caseworker, outbox, sends, monkeypatch):
    for days in (5, 14, 20):
        stay_case(caseworker, TODAY + timedelta(days=days))
    plan(now=NOW)
    assert len(reminders()) == 9  # 3 in the app, 6 by email

    started = NOW + timedelta(minutes=1)
    batch = claim(started)
    assert len(batch) == 9
    for reminder_id in batch[:4]:
        deliver(reminder_id, started)
    # The worker dies here: five reminders claimed, not sent.
    sent_before = {r.id for r in reminders(state=ReminderState.SENT)}
    assert sent_before == set(batch[:4])

    clock = {"now": started + timedelta(seconds=30)}
    monkeypatch.setattr(services, "utcnow", lambda: clock["now"])
    assert tasks.dispatch_reminders.run() == {}  # the dead worker's lease still holds them
    clock["now"] = started + LEASE + timedelta(seconds=1)
    assert tasks.dispatch_reminders.run() == {"sent": 5}
    assert tasks.dispatch_reminders.run() == {}

    everything = reminders()
    assert {r.state for r in everything} == {ReminderState.SENT}
    assert {r.attempts for r in everything if r.id in sent_before} == {1}
    assert {r.attempts for r in everything if r.id not in sent_before} == {2}
    assert {r.sent_at for r in everything if r.id not in sent_before} == {clock["now"]}
    email_ids = {r.id for r in everything if r.channel == Channel.EMAIL}
    assert sorted(sends) == sorted(f"reminder-{i}" for i in email_ids)  # each exactly once
    assert len(list(outbox.glob("*.eml"))) == 6
    assert notification_count() == 3


@pytest.mark.parametrize(("holder", "taken"), [("first", False), ("second", True)])
def test_only_the_batch_that_holds_a_reminder_takes_it(db, caseworker, holder, taken):
    """The first batch's lease ran out and a second batch claimed the reminder: only the
    second may send it, and its take starts a fresh lease."""
    stay_case(caseworker, TODAY + timedelta(days=20), email_consent=False)
    plan(now=NOW)
    first, second = services.new_claim(), services.new_claim()
    (reminder_id, *_) = services.claim_due(now=NOW, claim=first)
    later = NOW + LEASE + timedelta(seconds=1)
    assert reminder_id in services.claim_due(now=later, claim=second)
    db.session.commit()
    at = later + timedelta(seconds=5)
    claim_token = first if holder == "first" else second
    assert services.take(reminder_id, claim_token, now=at) is taken
    db.session.commit()
    (reminder,) = [r for r in reminders() if r.id == reminder_id]
    assert reminder.next_attempt_at == (at + LEASE if taken else later + LEASE)


def test_a_batch_does_not_take_a_reminder_that_is_no_longer_pending(db, caseworker):
    stay_case(caseworker, TODAY + timedelta(days=20), email_consent=False)
    plan(now=NOW)
    token = services.new_claim()
    ids = services.claim_due(now=NOW, claim=token)
    db.session.commit()
    reminder = reminders()[0]
    reminder.state = ReminderState.SENT  # sent by a batch whose outcome just committed
    db.session.commit()
    assert [services.take(i, token, now=NOW) for i in ids] == [i != reminder.id for i in ids]


@pytest.mark.parametrize("smtp_seconds", [0, 120, 400])
def test_a_batch_never_outlives_its_lease(db, caseworker, outbox, sends, monkeypatch,
                                          smtp_seconds):
    """However long each message takes, every reminder goes out once: a batch whose lease
    runs out gives back what it has not tried (its attempt not counted) and claims again."""
    for days in (5, 14, 20):
        stay_case(caseworker, TODAY + timedelta(days=days))
    plan(now=NOW)
    clock = {"now": NOW}
    monkeypatch.setattr(services, "utcnow", lambda: clock["now"])
    real_finish = mail.Mailer.finish

    def slow_send(self):
        clock["now"] += timedelta(seconds=smtp_seconds)
        real_finish(self)

    monkeypatch.setattr(mail.Mailer, "finish", slow_send)
    outcomes = tasks.dispatch_reminders.run()
    assert outcomes == {"sent": 9}
    assert sorted(sends) == sorted(f"reminder-{r.id}" for r in reminders(channel=Channel.EMAIL))
    assert {r.state for r in reminders()} == {ReminderState.SENT}
    assert {r.attempts for r in reminders()} == {1}
    assert notification_count() == 3


def test_a_batch_leaves_what_another_dispatcher_claimed_after_its_lease_ran_out(
        db, caseworker, outbox, sends, monkeypatch):
    """200 s a message against a 300 s lease, and a rival dispatcher that claims whatever is
    due after each send: the batch sends nothing the rival holds (the rival sends those).
    (One message must take less than a lease: the SMTP client times out after 10 s.)"""
    for days in (5, 14, 20):
        stay_case(caseworker, TODAY + timedelta(days=days))
    plan(now=NOW)
    clock = {"now": NOW}
    monkeypatch.setattr(services, "utcnow", lambda: clock["now"])
    rival, rival_holds = services.new_claim(), set()
    real_finish = mail.Mailer.finish

    def slow_send(self):
        clock["now"] += timedelta(seconds=200)
        real_finish(self)
        rival_holds.update(services.claim_due(now=clock["now"], claim=rival))

    monkeypatch.setattr(mail.Mailer, "finish", slow_send)
    outcomes = tasks.dispatch_reminders.run()
    assert rival_holds, "the rival claimed nothing: the test proves nothing"
    sent = {r.id for r in reminders(state=ReminderState.SENT)}
    assert sent.isdisjoint(rival_holds)
    assert sent | rival_holds == {r.id for r in reminders()}
    assert sorted(sends) == sorted(f"reminder-{r.id}" for r in reminders(channel=Channel.EMAIL)
                                   if r.id in sent)
    assert outcomes["sent"] == len(sent)


def test_an_in_app_notification_already_written_does_not_stop_the_batch(db, caseworker):
    stay_case(caseworker, TODAY + timedelta(days=20), email_consent=False)
    stay_case(caseworker, TODAY + timedelta(days=14), email_consent=False)
    plan(now=NOW)
    first, second = reminders(channel=Channel.IN_APP)
    db.session.add(Notification(user_id=caseworker.id, reminder_id=first.id,
                                case_id=first.case_id, title="Written before", body="-"))
    db.session.commit()
    assert tasks.dispatch_reminders.run() == {"sent": 4}
    notes = {n.reminder_id: n.title for n in db.session.scalars(select(Notification))}
    assert notes.keys() == {first.id, second.id}
    assert notes[first.id] == "Written before"  # the first write stands


def test_dispatch_task_sends_everything_due_in_batches(app, db, caseworker, outbox, sends,
                                                       monkeypatch):
    monkeypatch.setitem(app.config, "REMINDER_BATCH", 4)
    for days in (1, 7, 14, 30):
        stay_case(caseworker, TODAY + timedelta(days=days))
    plan(now=NOW)
    assert tasks.dispatch_reminders.run() == {"sent": 12}
    assert len(sends) == 8
    assert notification_count() == 4
    assert tasks.dispatch_reminders.run() == {}


def test_an_email_costs_one_statement_and_one_commit(db, caseworker, outbox, monkeypatch):
    """The dispatch's budget for each email after the first: its outcome and the next one's
    take, one statement built once (services._MARK_SENT_AND_TAKE), committed right away
    (tasks.dispatch_reminders). On PostgreSQL it runs on the run's own connection in
    autocommit (services.Marks): no pool check-out (whose ping is a round trip), no BEGIN,
    no COMMIT, sent without waiting (core.db.Unawaited) and read before the next email's
    final "."; the next email is started in between. A statement more is a round trip more."""
    for days in (1, 7, 14, 30):
        stay_case(caseworker, TODAY + timedelta(days=days), email_consent=False)
    plan(now=NOW)
    db.session.execute(update(Reminder).where(Reminder.channel == Channel.IN_APP)
                       .values(state=ReminderState.CANCELLED))
    db.session.commit()
    postgres = db.engine.dialect.name == "postgresql"
    log: list[str] = []

    def statement(_conn, _cursor, sql, *_args):
        if not sql.lstrip().upper().startswith("BEGIN"):  # SQLite's BEGIN IMMEDIATE
            log.append(" ".join(sql.split()[:2]).upper())

    real_unawaited_send, real_unawaited_rows = Unawaited.send, Unawaited.rows

    def unawaited_send(self, values):
        log.append(" ".join(self._compiled.string.split()[:2]).upper() + " unawaited"
                   + (" autocommit" if self._driver.autocommit else ""))
        real_unawaited_send(self, values)

    def unawaited_rows(self):
        rows = real_unawaited_rows(self)
        log.append("durable")
        return rows

    real_start, real_finish = mail.Mailer.start, mail.Mailer.finish

    def start(self, filename, envelope, build):
        log.append("start")
        real_start(self, filename, envelope, build)

    def finish(self):
        log.append("send")
        real_finish(self)

    def commit(_conn):
        log.append("commit")

    def checkout(*_args):
        log.append("checkout")

    built = []
    real_update = services.update
    monkeypatch.setattr(services, "update", lambda *a: built.append(a) or real_update(*a))
    monkeypatch.setattr(Unawaited, "send", unawaited_send)
    monkeypatch.setattr(Unawaited, "rows", unawaited_rows)
    monkeypatch.setattr(mail.Mailer, "start", start)
    monkeypatch.setattr(mail.Mailer, "finish", finish)
    event.listen(db.engine, "before_cursor_execute", statement)
    event.listen(db.engine, "commit", commit)
    event.listen(db.engine.pool, "checkout", checkout)
    try:
        assert tasks.dispatch_reminders.run() == {"sent": 4}
    finally:
        event.remove(db.engine, "before_cursor_execute", statement)
        event.remove(db.engine, "commit", commit)
        event.remove(db.engine.pool, "checkout", checkout)
    assert len(built) == 2  # the two claims (the second finds nothing): no email builds one
    between = " ".join(log).split("send")[1:-1]
    # On PostgreSQL the next email's start comes after the mark is sent and before it is
    # read: its envelope and content go out while the mark commits.
    each = ["UPDATE", "REMINDERS", "unawaited", "autocommit", "start", "durable"] if postgres \
        else ["checkout", "UPDATE", "REMINDERS", "commit", "start"]
    assert [part.split() for part in between] == [each] * 3
    sent = reminders(channel=Channel.EMAIL)
    assert {r.state for r in sent} == {ReminderState.SENT}
    assert {r.last_error for r in sent} == {None}
    assert all(r.sent_at is not None for r in sent)


def staff_with_reminders(make_user, only: Channel, count: int = 4) -> list[User]:
    """``count`` caseworkers, each with one case 14 days from its stay's end and that
    deadline's reminders planned, all but those of channel ``only`` cancelled; committed."""
    staff = [make_user(Role.CASEWORKER, email=f"cw{n}@example.org") for n in range(count)]
    for user in staff:
        stay_case(user, TODAY + timedelta(days=14), email_consent=False)
    plan(now=NOW)
    _db.session.execute(update(Reminder).where(Reminder.channel != only)
                        .values(state=ReminderState.CANCELLED))
    _db.session.commit()
    return staff


class CountingSink:
    """An SMTP server that accepts every message but those to ``refuse`` (550), and counts
    the connections its clients opened (one EHLO each)."""

    def __init__(self, refuse: set[str]) -> None:
        self.refuse, self.connections, self.accepted = refuse, 0, []

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        self.connections += 1
        session.host_name = hostname
        return responses

    async def handle_DATA(self, server, session, envelope) -> str:
        if set(envelope.rcpt_tos) & self.refuse:
            return "550 refused"
        self.accepted.extend(envelope.rcpt_tos)
        return "250 OK"


@contextmanager
def serving(app, monkeypatch, sink) -> Iterator[None]:
    """``sink`` (an aiosmtpd handler) as the app's SMTP server while the block runs."""
    port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    monkeypatch.setitem(app.config, "SMTP_HOST", "127.0.0.1")
    monkeypatch.setitem(app.config, "SMTP_PORT", port)
    monkeypatch.setitem(app.config, "SMTP_STARTTLS", False)
    try:
        yield
    finally:
        controller.stop()


def test_one_smtp_connection_serves_a_run_and_a_refusal_leaves_only_that_one_to_retry(
        app, db, make_user, monkeypatch):
    """The Mailer keeps one connection for the whole run (a connection a message cost four
    times the sending), starts a fresh one after a refusal, and a refusal in the middle of a
    batch leaves that reminder pending with its backoff while the batch goes on."""
    staff = staff_with_reminders(make_user, only=Channel.EMAIL)
    refused = staff[1].email
    sink = CountingSink({refused})
    with serving(app, monkeypatch, sink):
        assert tasks.dispatch_reminders.run() == {"sent": 3, "pending": 1}
    assert sorted(sink.accepted) == sorted(u.email for u in staff if u.email != refused)
    assert sink.connections == 2  # the run's, and the fresh one after the refusal
    by_email = {r.email: r for r in reminders(channel=Channel.EMAIL)}
    assert {e: r.state for e, r in by_email.items()} == {
        u.email: ReminderState.PENDING if u.email == refused else ReminderState.SENT
        for u in staff}
    retry = by_email[refused]
    assert (retry.attempts, retry.sent_at) == (1, None)
    assert "550" in retry.last_error
    assert retry.next_attempt_at > services.utcnow()


@pytest.mark.parametrize(("channel", "over_smtp"), [
    (Channel.EMAIL, True), (Channel.EMAIL, False), (Channel.IN_APP, False),
], ids=["email over smtp", "email to the outbox", "in-app"])
def test_a_message_that_cannot_be_built_fails_its_attempt_and_the_run_goes_on(
        app, db, make_user, monkeypatch, outbox, channel, over_smtp):
    """A fault in one reminder's message (its data, or this code) is that reminder's failed
    attempt, retried with backoff and in the end failed for all to see: raised through the
    dispatch, it ended the run at that reminder, on every run after it."""
    staff = staff_with_reminders(make_user, only=channel)
    broken = staff[1]
    if channel == Channel.EMAIL:
        build = services.build_email

        def build_email(row, context, *args, **kwargs):
            if row.email == broken.email:
                raise ValueError("a field this code did not expect")
            return build(row, context, *args, **kwargs)

        monkeypatch.setattr(services, "build_email", build_email)
    else:
        render = services.render_reminder

        def render_reminder(context):
            if context["assignee"] == broken.full_name:
                raise ValueError("a field this code did not expect")
            return render(context)

        monkeypatch.setattr(services, "render_reminder", render_reminder)
    sink = CountingSink(set())
    with serving(app, monkeypatch, sink) if over_smtp else nullcontext():
        assert tasks.dispatch_reminders.run() == {"sent": 3, "pending": 1}
    if over_smtp:
        assert sorted(sink.accepted) == sorted(u.email for u in staff if u is not broken)
    by_user = {r.user_id: r for r in reminders(channel=channel)}
    assert {u.id: by_user[u.id].state for u in staff} == {
        u.id: ReminderState.PENDING if u is broken else ReminderState.SENT for u in staff}
    failed = by_user[broken.id]
    assert failed.attempts == 1 and failed.sent_at is None
    assert "ValueError: a field this code did not expect" in failed.last_error
    assert failed.next_attempt_at > services.utcnow()


@pytest.mark.parametrize(("next_one", "taken"),
                         [("held", True), ("claimed by another", False), ("sent", False)])
def test_an_emails_mark_takes_the_next_only_if_the_batch_still_holds_it(
        db, caseworker, outbox, monkeypatch, next_one, taken):
    """The one statement (services._MARK_SENT_AND_TAKE) marks the sent email whatever becomes
    of the take, and renews the next one's lease only while it is pending and this batch's."""
    for days in (5, 14):
        stay_case(caseworker, TODAY + timedelta(days=days), email_consent=False)
    plan(now=NOW)
    db.session.execute(update(Reminder).where(Reminder.channel == Channel.IN_APP)
                       .values(state=ReminderState.CANCELLED))
    token = services.new_claim()
    first, second = services.claim_due(now=NOW, claim=token)
    if next_one != "held":
        db.session.execute(update(Reminder).where(Reminder.id == second).values(
            claim="rival" if next_one == "claimed by another" else token,
            state=ReminderState.PENDING if next_one == "claimed by another"
            else ReminderState.SENT))
    db.session.commit()
    later = NOW + timedelta(seconds=10)
    monkeypatch.setattr(services, "utcnow", lambda: later)
    prepared = services.prepare([first, second])
    assert services.deliver_and_take(prepared[first], prepared[second], token,
                                     expires=NOW + LEASE, now=NOW) == (ReminderState.SENT, taken)
    db.session.commit()
    sent, following = reminders(channel=Channel.EMAIL)
    assert (sent.state, sent.sent_at, sent.next_attempt_at) == (
        ReminderState.SENT, NOW, NOW + LEASE)
    assert following.next_attempt_at == (later + LEASE if taken else NOW + LEASE)
    assert following.state == (ReminderState.SENT if next_one == "sent"
                               else ReminderState.PENDING)
    assert following.sent_at is None


# --- Failing ---------------------------------------------------------------------------------

def test_a_refused_email_is_retried_with_backoff_then_failed_and_a_supervisor_retries_it(
        app, db, client, caseworker, broken_smtp, as_role, monkeypatch, tmp_path):
    case, _ = stay_case(caseworker, TODAY + timedelta(days=14), email_consent=False)
    plan(now=NOW)
    (email,) = reminders(channel=Channel.EMAIL)
    max_attempts = app.config["REMINDER_MAX_ATTEMPTS"]
    base = app.config["REMINDER_BACKOFF_SECONDS"]

    at = NOW
    for attempt in range(1, max_attempts + 1):
        ids = claim(at)
        assert email.id in ids
        for reminder_id in ids:
            deliver(reminder_id, at)
        db.session.refresh(email)
        assert email.attempts == attempt
        assert broken_smtp in email.last_error
        if attempt < max_attempts:
            assert email.state == ReminderState.PENDING
            wait = timedelta(seconds=base * 2 ** (attempt - 1))  # 60, 120, 240, 480 s
            assert email.next_attempt_at == at + wait
            assert claim(at + wait - timedelta(seconds=1)) == []
            at = email.next_attempt_at
    assert email.state == ReminderState.FAILED
    assert email.sent_at is None
    assert claim(at + timedelta(days=30)) == []  # a failed reminder is not retried by itself
    assert reminders(channel=Channel.IN_APP)[0].state == ReminderState.SENT
    assert services.queue_size() == {"sent": 1, "failed": 1}

    as_role(Role.SUPERVISOR)
    html = client.get("/notifications/failed").get_data(as_text=True)
    assert caseworker.email in html
    assert f"case {case.id}" in html
    assert broken_smtp in html
    assert f'action="/notifications/reminders/{email.id}/retry"' in html

    response = client.post_form(f"/notifications/reminders/{email.id}/retry",
                                token_from="/notifications/failed")
    assert response.status_code == 302
    assert response.headers["Location"] == "/notifications/failed"
    db.session.refresh(email)
    assert (email.state, email.attempts) == (ReminderState.PENDING, 0)
    page = client.get("/notifications/failed").get_data(as_text=True)
    assert f"Reminder {email.id} is queued again" in page
    assert caseworker.email not in page

    # The mail server is fixed: the next dispatch sends it.
    monkeypatch.setitem(app.config, "SMTP_HOST", None)
    monkeypatch.setitem(app.config, "MAIL_OUTBOX_DIR", tmp_path / "fixed")
    assert claim(services.utcnow()) == [email.id]
    assert deliver(email.id, services.utcnow()) == ReminderState.SENT
    assert (tmp_path / "fixed" / f"reminder-{email.id}.eml").exists()


def test_only_a_failed_reminder_can_be_retried(db, client, caseworker, as_role):
    stay_case(caseworker, TODAY + timedelta(days=14), email_consent=False)
    plan(now=NOW)
    (email,) = reminders(channel=Channel.EMAIL)
    as_role(Role.SUPERVISOR)
    response = client.post_form(f"/notifications/reminders/{email.id}/retry",
                                token_from="/notifications/failed", follow_redirects=True)
    assert "Only a failed reminder can be retried." in response.get_data(as_text=True)
    db.session.refresh(email)
    assert (email.state, email.attempts) == (ReminderState.PENDING, 0)
    with pytest.raises(PermissionError):
        services.retry(caseworker, email)


def test_the_retry_form_needs_its_csrf_token(db, client, caseworker, as_role):
    stay_case(caseworker, TODAY + timedelta(days=14), email_consent=False)
    plan(now=NOW)
    (email,) = reminders(channel=Channel.EMAIL)
    email.state, email.attempts = ReminderState.FAILED, 5
    db.session.commit()
    as_role(Role.SUPERVISOR)
    response = client.post(f"/notifications/reminders/{email.id}/retry", data={})
    assert response.status_code == 400
    db.session.refresh(email)
    assert email.state == ReminderState.FAILED


# --- Reminders that no longer apply ------------------------------------------------------------

@pytest.mark.parametrize("closed_as", [DeadlineState.MET, DeadlineState.CANCELLED,
                                       DeadlineState.MISSED])
def test_a_reminder_whose_deadline_closed_meanwhile_is_cancelled_not_sent(
        db, caseworker, outbox, sends, closed_as):
    _, deadline = stay_case(caseworker, TODAY + timedelta(days=7))
    plan(now=NOW)
    ids = claim(NOW)
    deadline.state, deadline.closed_at = closed_as, NOW
    db.session.commit()
    assert [deliver(i, NOW) for i in ids] == [ReminderState.CANCELLED] * 3
    assert {(r.state, r.last_error) for r in reminders()} == {
        (ReminderState.CANCELLED, "The deadline no longer applies.")}
    assert sends == []
    assert notification_count() == 0


@pytest.mark.parametrize(("case_open", "outcome"), [(True, ReminderState.SENT),
                                                    (False, ReminderState.CANCELLED)])
def test_an_escalation_goes_out_only_while_the_case_is_open(
        db, caseworker, make_user, outbox, case_open, outcome):
    supervisor = make_user(Role.SUPERVISOR)
    case, deadline = stay_case(caseworker, TODAY - timedelta(days=1), email_consent=False)
    deadline.state, deadline.closed_at = DeadlineState.MISSED, NOW
    db.session.commit()
    plan(now=NOW)
    escalations = reminders(offset_days=ESCALATION)
    assert {r.user_id for r in escalations} == {supervisor.id}
    claim(NOW)
    if not case_open:
        cases.transition(case, "close", caseworker, reason="Left Hong Kong.", now=NOW)
        db.session.commit()
    assert {deliver(r.id, NOW) for r in escalations} == {outcome}
    if case_open:
        (note,) = db.session.scalars(select(Notification))
        assert note.user_id == supervisor.id
        assert note.title == f"Missed deadline: Stay ends for {case.reference}"
        assert note.body.startswith("Missed deadline: ")
        assert case.reference in note.body.splitlines()[0]
        (eml,) = outbox.glob("*.eml")
        assert read_eml(eml)["To"] == supervisor.email
    else:
        assert notification_count() == 0


# --- Email bodies: snapshots ---------------------------------------------------------------------

SNAPSHOTS = Path(__file__).parent / "snapshots"
SNAPSHOT_URL = "http://127.0.0.1:5000/cases/42"


def snapshot_rows(name: str, caseworker, make_user) -> tuple[Reminder, date]:
    """The rows behind each snapshot, and the Hong Kong 'today' the message is written on."""
    if name == "caseworker":  # 20 days before a stay that ends on Christmas Day
        stay_case(caseworker, date(2026, 12, 25), email_consent=False)
        plan(date(2026, 12, 5), now=NOW)
        return reminders(channel=Channel.EMAIL)[0], date(2026, 12, 5)
    if name == "applicant":  # QMAS: the job offer is due tomorrow
        quota.set_limit(make_user(Role.SUPERVISOR), "QMAS", 2026, None)
        case = make_case(caseworker, Scheme.QMAS, CaseStatus.IN_STAY, now=NOW)
        for deadline in case.open_deadlines:
            deadline.state, deadline.closed_at = DeadlineState.CANCELLED, NOW
        _db.session.flush()
        _db.session.add(Deadline(case_id=case.id, kind=DeadlineKind.JOB_OFFER,
                                 due_on=date(2026, 3, 27)))
        _db.session.commit()
        plan(date(2026, 3, 26), now=NOW)
        (row,) = [r for r in reminders() if r.user_id is None]
        return row, date(2026, 3, 26)
    # escalation: a stay end missed three days ago
    make_user(Role.SUPERVISOR, full_name="Susan Supervisor")
    _, deadline = stay_case(caseworker, date(2026, 3, 13), email_consent=False)
    deadline.state, deadline.closed_at = DeadlineState.MISSED, NOW
    _db.session.commit()
    plan(TODAY, now=NOW)
    return reminders(offset_days=ESCALATION, channel=Channel.EMAIL)[0], TODAY


# The context each snapshot is rendered from: what ``message_context`` gives for the rows of
# ``snapshot_rows`` (checked by the test below), with the case's address fixed; the language
# is the recipient's (the applicant's for "applicant", the account's for the staff ones).
SNAPSHOT_CONTEXTS = {
    "caseworker": {
        "kind": "stay_end", "escalation": False, "reference": "GEP_PRO-2026-000001",
        "scheme": Scheme.GEP_PRO, "applicant": "CHAN, Mei Ling", "due_on": date(2026, 12, 25),
        "days": 20, "assignee": "Wong Tai Sin", "case_url": SNAPSHOT_URL,
        "for_applicant": False,
    },
    "applicant": {
        "kind": "job_offer", "escalation": False, "reference": "QMAS-2026-000001",
        "scheme": Scheme.QMAS, "applicant": "CHAN, Mei Ling", "due_on": date(2026, 3, 27),
        "days": 1, "assignee": "Wong Tai Sin", "case_url": SNAPSHOT_URL, "for_applicant": True,
        # An applicant's email addresses them and knows their stay (services.applicant_facts).
        "addressee": "CHAN Mei Ling", "stay_ends_on": date(2027, 3, 16),
        "extension_opens_on": date(2027, 2, 16),
    },
    "escalation": {
        "kind": "stay_end", "escalation": True, "reference": "GEP_PRO-2026-000001",
        "scheme": Scheme.GEP_PRO, "applicant": "CHAN, Mei Ling", "due_on": date(2026, 3, 13),
        "days": -3, "assignee": "Wong Tai Sin", "case_url": SNAPSHOT_URL,
        "for_applicant": False,
    },
}
SNAPSHOT_RECIPIENTS = {"caseworker": (4201, "wong.tai.sin@example.org"),
                       "applicant": (4202, "mei.ling.chan@example.com"),
                       "escalation": (4203, "susan.supervisor@example.org")}
LANGUAGES = ["en", "zh_Hant_HK"]
SNAPSHOT_CASES = [(name, language) for name in sorted(SNAPSHOT_CONTEXTS) for language in LANGUAGES]


def snapshot_path(name: str, language: str, suffix: str) -> Path:
    infix = "" if language == "en" else f".{language}"
    return SNAPSHOTS / f"reminder-{name}{infix}.{suffix}"


def borrowed_labels(name: str, language: str) -> dict[str, str]:
    """The two words a reminder borrows from the cases feature (the deadline kind's and the
    scheme's labels), in ``language``: the snapshots hold them as {kind_label} and {scheme},
    so they pin this feature's wording and leave the cases feature's labels to its own tests."""
    context = SNAPSHOT_CONTEXTS[name]
    with force_language(language):
        return {"{kind_label}": str(DeadlineKind(context["kind"]).label),
                "{scheme}": str(context["scheme"].short_label)}


def render_snapshot(name: str, language: str) -> dict[str, str]:
    """The message for snapshot ``name`` as its three files: headers, text and HTML."""
    reminder_id, address = SNAPSHOT_RECIPIENTS[name]
    reminder = Reminder(id=reminder_id, email=address)
    message = services.build_email(reminder, SNAPSHOT_CONTEXTS[name] | {"language": language})
    raw = bytes(message)
    parsed = BytesParser(policy=policy.default).parsebytes(raw)
    headers = "".join(f"{key}: {'<normalised>' if key == 'Date' else value}\n"
                      for key, value in parsed.items()
                      if key not in ("Content-Type", "MIME-Version"))
    return {"headers": headers,
            "txt": parsed.get_body(preferencelist=("plain",)).get_content(),
            "html": parsed.get_body(preferencelist=("html",)).get_content()}


@pytest.mark.parametrize(("name", "language"), SNAPSHOT_CASES)
def test_the_email_matches_its_snapshot(app, monkeypatch, name, language):
    monkeypatch.setitem(app.config, "MAIL_FROM",
                        "Talent Admission Back Office <no-reply@localhost>")
    # The applicant's email with the embedded defaults, whatever the environment says.
    for key, value in (("APPLICANT_MAIL_FROM", None), ("APPLICANT_MAIL_REPLY_TO", None),
                       ("APPLICANT_CONTACT_EMAIL", "talent-admission@localhost"),
                       ("APPLICANT_CONTACT_PHONE", None),
                       ("APPLICANT_EMAIL_NAMES_CASEWORKER", False)):
        monkeypatch.setitem(app.config, key, value)
    with app.app_context():
        rendered = render_snapshot(name, language)
        borrowed = borrowed_labels(name, language)
    for suffix, content in rendered.items():
        path = snapshot_path(name, language, suffix)
        assert path.exists(), f"missing snapshot {path}"
        expected = path.read_text(encoding="utf-8")
        for token, label in borrowed.items():
            expected = expected.replace(token, label)
        assert content == expected, f"{path.name} differs"


@pytest.mark.parametrize(("name", "language"), SNAPSHOT_CASES)
def test_a_chinese_email_is_utf_8_throughout(app, name, language):
    """The subject is an RFC 2047 encoded word (plain ASCII on the wire) and both bodies
    declare UTF-8, so any mail client shows the Chinese."""
    with app.app_context():
        reminder = Reminder(id=1, email="someone@example.org")
        raw = bytes(services.build_email(reminder,
                                         SNAPSHOT_CONTEXTS[name] | {"language": language}))
    raw.decode("ascii")  # the whole message travels as 7-bit: headers encoded, bodies base64
    subject_line = next(line for line in raw.split(b"\n") if line.startswith(b"Subject:"))
    assert subject_line.startswith(b"Subject: =?utf-8?") is (language != "en")
    assert raw.count(b'charset="utf-8"') == 2
    parsed = BytesParser(policy=policy.default).parsebytes(raw)
    has_chinese = any("\u4e00" <= ch <= "\u9fff" for ch in parsed["Subject"])
    assert has_chinese is (language != "en")


@pytest.mark.parametrize(("name", "language"), SNAPSHOT_CASES)
def test_the_snapshot_contexts_are_what_the_rows_give(db, make_user, monkeypatch, name,
                                                     language):
    """The message's language is the recipient's: the applicant's own for the applicant,
    the account's for a caseworker or a supervisor."""
    caseworker = make_user(Role.CASEWORKER, full_name="Wong Tai Sin")
    reminder, today = snapshot_rows(name, caseworker, make_user)
    if reminder.user_id is None:
        _db.session.get(Case, reminder.case_id).applicant.language = language
    else:
        _db.session.get(User, reminder.user_id).language = language
    _db.session.commit()
    monkeypatch.setattr("backoffice.core.dates.hk_today", lambda now=None: today)
    context = message_context(reminder)
    public = current_app.config["PUBLIC_URL"].rstrip("/")
    assert context.pop("case_url") == f"{public}/cases/{reminder.case_id}"
    expected = SNAPSHOT_CONTEXTS[name] | {"language": language}
    del expected["case_url"]
    assert context == expected


@pytest.mark.parametrize(("days", "language", "phrase"), [
    (30, "en", "(in 30 days)"), (2, "en", "(in 2 days)"), (1, "en", "(in 1 day)"),
    (0, "en", "(today)"), (-1, "en", "(1 day ago)"), (-3, "en", "(3 days ago)"),
    (30, "zh_Hant_HK", "（30 日後）"), (1, "zh_Hant_HK", "（1 日後）"),
    (0, "zh_Hant_HK", "（今日）"), (-3, "zh_Hant_HK", "（3 日前）"),
])
def test_the_days_to_the_deadline_read_in_the_recipients_language(
        db, caseworker, monkeypatch, days, language, phrase):
    """An escalation is usually written the day after the deadline: "1 day ago"."""
    case, deadline = stay_case(caseworker, TODAY + timedelta(days=30))
    caseworker.language = language
    db.session.commit()
    plan(now=NOW)
    (reminder,) = reminders(channel=Channel.IN_APP)
    monkeypatch.setattr("backoffice.core.dates.hk_today",
                        lambda now=None: deadline.due_on - timedelta(days=days))
    subject = services.render_reminder(message_context(reminder)).subject
    assert phrase in subject
    colon = ": " if language == "en" else "："
    assert subject.endswith(f"{colon}{case.reference}")


@pytest.mark.parametrize("change", ["deactivated", "reassigned"])
def test_a_caseworker_who_no_longer_has_the_case_is_not_sent_its_reminders(
        db, caseworker, make_user, outbox, sends, change):
    """Planned for the assignee; before it goes out the account is deactivated (someone who
    left the office must not keep receiving case details) or the case is given to someone
    else (who is planned their own reminders)."""
    case, _ = stay_case(caseworker, TODAY + timedelta(days=7), email_consent=False)
    plan(now=NOW)
    if change == "deactivated":
        caseworker.active = False
    else:
        cases.reassign(make_user(Role.SUPERVISOR), [case], make_user(Role.CASEWORKER))
    db.session.commit()
    plan(now=NOW)
    for reminder_id in claim(NOW):
        deliver(reminder_id, NOW)
    sent_to = {r.user_id for r in reminders(state=ReminderState.SENT)}
    assert caseworker.id not in sent_to
    assert sends == [f"reminder-{r.id}" for r in reminders(state=ReminderState.SENT)
                     if r.channel == Channel.EMAIL]
