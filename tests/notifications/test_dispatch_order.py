"""The order of a dispatch's steps against a real SMTP server and the real database: an email
is accepted (its final ".") only once the previous one's "sent" mark is durable; on
PostgreSQL its envelope and content go out while that mark commits; a refusal, or a crash
between an email's acceptance and its mark, leaves that reminder to be sent again (with the
same Message-ID) and nothing else lost or sent twice.

The server watches the database from a connection of its own: what it sees is what is
committed. ``handle_DATA`` runs when a message's "." has arrived, before the server answers.
"""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from email.parser import BytesParser

import psycopg
import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import create_engine, select, update
from sqlalchemy.pool import NullPool

from backoffice.extensions import db as _db
from backoffice.notifications import mail, services, tasks
from backoffice.notifications.models import Channel, Reminder, ReminderState
from tests.notifications.test_dispatch import (
    LEASE,
    free_port,
    reminders,
    staff_with_reminders,
)


class Watching:
    """An SMTP server that notes, at each recipient (RCPT) and at each message's "." (DATA),
    which reminders another connection sees committed as sent; ``on_rcpt`` and ``on_end``
    run after the note. It refuses the recipients in ``refuse`` at RCPT."""

    def __init__(self, url, refuse=frozenset(), on_rcpt=None, on_end=None) -> None:
        self.engine = create_engine(url, poolclass=NullPool)
        self.refuse, self.on_rcpt, self.on_end = refuse, on_rcpt, on_end
        self.sent_at_rcpt: dict[str, set[int]] = {}
        self.sent_at_end: dict[str, set[int]] = {}
        self.accepted: list[str] = []
        self.message_ids: list[str] = []
        self.connections = 0

    def committed_as_sent(self) -> set[int]:
        with self.engine.connect() as connection:
            return set(connection.scalars(
                select(Reminder.id).where(Reminder.state == ReminderState.SENT)))

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        self.connections += 1
        session.host_name = hostname
        return responses

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        self.sent_at_rcpt[address] = self.committed_as_sent()
        if self.on_rcpt:
            self.on_rcpt(address)
        if address in self.refuse:
            return "550 no such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope) -> str:
        (address,) = envelope.rcpt_tos
        self.sent_at_end[address] = self.committed_as_sent()
        if self.on_end:
            self.on_end(address)
        self.accepted.append(address)
        self.message_ids.append(BytesParser().parsebytes(envelope.content)["Message-ID"])
        return "250 OK"


@pytest.fixture
def emails(app, db, make_user) -> dict[str, int]:
    """Four caseworkers with a reminder email each (their in-app ones cancelled): the
    reminder's id by address, in the order the dispatch sends them."""
    staff_with_reminders(make_user, only=Channel.EMAIL)
    return {r.email: r.id for r in reminders(channel=Channel.EMAIL)}


@pytest.fixture
def smtp(app, monkeypatch):
    """Start a ``Watching`` server for the test, with the options it gives."""
    controllers = []

    def start(**options) -> Watching:
        watching = Watching(app.config["SQLALCHEMY_DATABASE_URI"], **options)
        controller = Controller(watching, hostname="127.0.0.1", port=free_port())
        controller.start()
        controllers.append(controller)
        monkeypatch.setitem(app.config, "SMTP_HOST", "127.0.0.1")
        monkeypatch.setitem(app.config, "SMTP_PORT", controller.port)
        monkeypatch.setitem(app.config, "SMTP_STARTTLS", False)
        return watching

    yield start
    for controller in controllers:
        controller.stop()


def driver_url() -> str:
    """The test database's address for psycopg itself."""
    url = _db.engine.url.set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


def test_an_email_is_accepted_only_once_the_previous_ones_mark_is_durable(emails, smtp):
    watching = smtp()
    assert tasks.dispatch_reminders.run() == {"sent": 4}
    assert watching.accepted == list(emails)
    for n, address in enumerate(watching.accepted):
        earlier = {emails[a] for a in watching.accepted[:n]}
        assert watching.sent_at_end[address] == earlier, address


class RowHold:
    """A transaction of the test's own that locks one reminder's row once the server has
    accepted a given email (``taking_after``), so that email's mark, which also takes that
    row, waits until ``release``; after 10 s it lets go by itself, so a dispatch that waits
    for the mark before going on fails its test instead of hanging it."""

    def __init__(self, reminder_id: int) -> None:
        self.reminder_id = reminder_id
        self.connection = psycopg.connect(driver_url())
        self._let_go = threading.Lock()
        self._fallback = threading.Timer(10, self.release)

    def taking_after(self, address: str):
        def hook(accepted: str) -> None:
            if accepted == address:
                self.connection.execute("SELECT 1 FROM reminders WHERE id = %s FOR UPDATE",
                                        [self.reminder_id])
        return hook

    def release(self) -> None:
        with self._let_go:
            self.connection.rollback()

    def __enter__(self) -> RowHold:
        self._fallback.start()
        return self

    def __exit__(self, *_exc) -> None:
        self._fallback.cancel()
        self.connection.close()


@pytest.mark.postgres_only  # the overlap runs on PostgreSQL's own marks connection
def test_the_next_envelope_goes_out_while_the_mark_commits_and_its_end_only_after(
        app, emails, smtp):
    """The first email's mark also takes the second reminder; a transaction holding the
    second's row makes that mark wait until the server has the second's recipient. Had the
    dispatch waited for the mark before starting the second email, the second's RCPT would
    come only when the fallback let go, after the mark had committed."""
    first, second = list(emails)[:2]

    def at_rcpt(address: str) -> None:
        if address == second:
            hold.release()

    with RowHold(emails[second]) as hold:
        watching = smtp(on_end=hold.taking_after(first), on_rcpt=at_rcpt)
        assert tasks.dispatch_reminders.run() == {"sent": 4}
    assert emails[first] not in watching.sent_at_rcpt[second]
    assert emails[first] in watching.sent_at_end[second]


def test_a_recipient_refused_while_the_previous_mark_commits_is_retried_alone(
        app, emails, smtp):
    """On PostgreSQL the second email is refused at RCPT while the first one's mark commits:
    that refusal is the second's outcome, as a refusal at its "." is."""
    refused = list(emails)[1]
    watching = smtp(refuse={refused})
    assert tasks.dispatch_reminders.run() == {"sent": 3, "pending": 1}
    assert watching.accepted == [a for a in emails if a != refused]
    assert watching.connections == 2  # the run's, and a fresh one after the refusal
    by_address = {r.email: r for r in reminders(channel=Channel.EMAIL)}
    assert {a: r.state for a, r in by_address.items()} == {
        a: ReminderState.PENDING if a == refused else ReminderState.SENT for a in emails}
    retry = by_address[refused]
    assert (retry.attempts, retry.sent_at) == (1, None)
    assert "550" in retry.last_error
    assert retry.next_attempt_at > services.utcnow()


def test_a_reminder_cancelled_while_the_previous_email_is_accepted_is_never_delivered(
        emails, smtp):
    """Its deadline closes while the server accepts the email before it: the take in that
    email's mark finds it no longer pending. On PostgreSQL its own email had been started
    meanwhile; it is abandoned, its "." never sent."""
    first, second, *rest = emails

    def cancel_the_second(address: str) -> None:
        if address == first:
            with watching.engine.begin() as connection:
                connection.execute(update(Reminder).where(Reminder.id == emails[second])
                                   .values(state=ReminderState.CANCELLED))

    watching = smtp(on_end=cancel_the_second)
    assert tasks.dispatch_reminders.run() == {"sent": 3, "taken_by_another": 1}
    assert watching.accepted == [first, *rest]
    assert {r.email: r.state for r in reminders(channel=Channel.EMAIL)}[second] == \
        ReminderState.CANCELLED


class Died(BaseException):
    """The worker's process ends here (nothing catches it, as nothing catches SIGKILL)."""


def test_a_crash_between_an_emails_acceptance_and_its_mark_sends_only_it_again(
        emails, smtp, monkeypatch):
    """DESIGN §5: exactly once over SMTP is impossible. The window is one email: the one
    accepted and not yet marked goes out again after its lease, with the same Message-ID;
    the next one, started on PostgreSQL, was never finished."""
    watching = smtp()
    real_finish = mail.Mailer.finish
    died = []

    def finish_then_die(self) -> None:
        real_finish(self)
        if len(watching.accepted) == 2 and not died:
            died.append(True)
            raise Died

    monkeypatch.setattr(mail.Mailer, "finish", finish_then_die)
    with pytest.raises(Died):
        tasks.dispatch_reminders.run()
    first, second, *rest = emails
    assert watching.accepted == [first, second]
    state = {r.email: r.state for r in reminders(channel=Channel.EMAIL)}
    assert state == {first: ReminderState.SENT, second: ReminderState.PENDING,
                     **dict.fromkeys(rest, ReminderState.PENDING)}

    later = services.utcnow() + LEASE + timedelta(seconds=1)
    monkeypatch.setattr(services, "utcnow", lambda: later)
    assert tasks.dispatch_reminders.run() == {"sent": 3}
    assert watching.accepted == [first, second, second, *rest]
    assert watching.message_ids[1] == watching.message_ids[2]  # the resend is recognisable
    assert {r.state for r in reminders(channel=Channel.EMAIL)} == {ReminderState.SENT}


@pytest.mark.postgres_only  # the marks connection dies while its commit is under way
def test_a_mark_lost_with_its_connection_leaves_both_emails_to_send_again(
        app, emails, smtp, monkeypatch):
    """The first email's mark waits on the second's row when the database ends its
    connection; the second email had been started meanwhile. The run fails; the first is
    still pending (sent again after its lease, same Message-ID) and the second was never
    delivered (its "." never sent)."""
    first, second, *rest = emails
    url = driver_url()

    def end_the_waiting_mark(address: str) -> None:
        if address != second:
            return
        with psycopg.connect(url, autocommit=True) as admin:
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                waiting = admin.execute(
                    "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                    "AND pid <> pg_backend_pid() AND wait_event_type = 'Lock' "
                    "AND query LIKE 'UPDATE reminders%%'").fetchall()
                if waiting:
                    admin.execute("SELECT pg_terminate_backend(%s)", waiting[0])
                    break
                time.sleep(0.01)
        hold.release()

    with RowHold(emails[second]) as hold:
        watching = smtp(on_end=hold.taking_after(first), on_rcpt=end_the_waiting_mark)
        with pytest.raises(psycopg.OperationalError):
            tasks.dispatch_reminders.run()
    assert watching.accepted == [first]
    assert {r.state for r in reminders(channel=Channel.EMAIL)} == {ReminderState.PENDING}

    later = services.utcnow() + LEASE + timedelta(seconds=1)
    monkeypatch.setattr(services, "utcnow", lambda: later)
    watching.on_end = watching.on_rcpt = None
    assert tasks.dispatch_reminders.run() == {"sent": 4}
    assert watching.accepted == [first, first, second, *rest]
    assert watching.message_ids[0] == watching.message_ids[1]
    assert {r.state for r in reminders(channel=Channel.EMAIL)} == {ReminderState.SENT}
