"""Reminders with the real parts: a real Redis broker and Celery worker, a real SMTP server
(aiosmtpd, in process), the web pages; and what happens when the broker is down.

The worker plans with ``hk_today()``, so the deadlines here are set relative to the real
date. Run on SQLite and PostgreSQL.
"""

from __future__ import annotations

import logging
import socket
import time
import uuid
from datetime import timedelta
from email import policy
from email.parser import BytesParser

import pytest
import redis
from aiosmtpd.controller import Controller
from celery import _state as celery_state
from celery.contrib.testing.worker import start_worker
from sqlalchemy import select

from backoffice.auth.models import Role
from backoffice.core.dates import hk_today
from backoffice.extensions import db as _db
from backoffice.notifications import tasks
from backoffice.notifications.models import Channel, Notification, Reminder
from config import celery_settings
from tests.conftest import PASSWORD, REDIS_URL, Client, build_app, service_missing
from tests.notifications.test_planning import stay_case


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Collect:
    """An SMTP server that accepts everything and keeps it in memory."""

    def __init__(self) -> None:
        self.envelopes: list = []

    async def handle_DATA(self, server, session, envelope) -> str:
        self.envelopes.append(envelope)
        return "250 OK"


@pytest.fixture
def smtp_server():
    handler = Collect()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield controller, handler
    controller.stop()


@pytest.fixture
def worker_app(app, db, tmp_path, smtp_server):
    """A second app on the same database: Celery on the real Redis with a private queue,
    mail to the in-process SMTP server."""
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        service_missing("Redis", exc)
    settings = celery_settings(REDIS_URL, tmp_path)
    settings["task_default_queue"] = f"test-{uuid.uuid4().hex}"
    controller, _ = smtp_server
    worker = build_app(app.config["SQLALCHEMY_DATABASE_URI"], tmp_path, CELERY=settings,
                       SMTP_HOST="127.0.0.1", SMTP_PORT=controller.port, SMTP_STARTTLS=False)
    yield worker
    with worker.app_context():
        _db.engine.dispose()


def wait_for(condition, seconds: float = 20.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return condition()


def reminder_states() -> dict[str, str]:
    """{channel: state} of every reminder; ends the read at once so that on SQLite the test
    holds no lock the worker needs."""
    try:
        return {f"{r.channel.value}:{r.recipient}": r.state.value
                for r in _db.session.scalars(select(Reminder))}
    finally:
        _db.session.rollback()


@pytest.mark.redis
def test_a_reminder_goes_from_the_planner_through_redis_to_smtp_and_the_centre(
        worker_app, smtp_server, db, client, make_user, login):
    caseworker = make_user(Role.CASEWORKER)
    due = hk_today() + timedelta(days=5)
    case, _ = stay_case(caseworker, due, email_consent=False)
    reference, case_id, email = case.reference, case.id, caseworker.email
    db.session.rollback()
    _, handler = smtp_server

    celery_app = worker_app.extensions["celery"]
    with start_worker(celery_app, pool="solo", perform_ping_check=False, shutdown_timeout=30):
        # Planning writes the rows, then rings the dispatcher's doorbell through Redis.
        celery_app.send_task("backoffice.notifications.tasks.plan_reminders")
        all_sent = wait_for(lambda: (states := reminder_states()) != {}
                            and set(states.values()) == {"sent"})
    assert all_sent, f"not sent within 20 s: {reminder_states()}"

    assert len(handler.envelopes) == 1
    envelope = handler.envelopes[0]
    assert envelope.rcpt_tos == [email]
    message = BytesParser(policy=policy.default).parsebytes(envelope.original_content)
    assert message["To"] == email
    assert reference in message["Subject"]
    assert f"{due.day} {due:%b %Y} (in 5 days)" in message["Subject"]
    text = message.get_body(preferencelist=("plain",)).get_content()
    assert reference in text.splitlines()[0]
    assert f"/cases/{case_id}" in text
    (reminder_id,) = db.session.scalars(select(Reminder.id).where(
        Reminder.channel == Channel.EMAIL))
    assert message["Message-ID"] == f"<reminder-{reminder_id}@talent-admission-backoffice>"

    login(caseworker)
    html = client.get("/notifications/").get_data(as_text=True)
    assert message["Subject"] in html
    assert f'href="/cases/{case_id}"' in html
    assert '1<span class="visually-hidden"> unread</span>' in html
    assert db.session.scalar(select(Notification.user_id)) == caseworker.id


# --- The broker is down ------------------------------------------------------------------------

@pytest.fixture
def broker_down_app(app, db, tmp_path):
    """The web app with its broker at a port where nothing listens."""
    settings = celery_settings(f"redis://127.0.0.1:{free_port()}/0", tmp_path)
    settings |= {"broker_connection_timeout": 1, "redis_socket_connect_timeout": 1}
    down = build_app(app.config["SQLALCHEMY_DATABASE_URI"], tmp_path, CELERY=settings,
                     SMTP_HOST=None, MAIL_OUTBOX_DIR=tmp_path / "mail")
    # Tasks called from this thread resolve to this app's Celery (a worker test before may
    # have made another one current).
    previous = celery_state.get_current_app()
    down.extensions["celery"].set_current()
    down.test_client_class = Client
    yield down
    previous.set_current()
    with down.app_context():
        _db.engine.dispose()


def test_with_the_broker_down_pages_work_and_reminders_wait_in_the_database(
        broker_down_app, db, make_user, tmp_path, caplog):
    caseworker = make_user(Role.CASEWORKER)
    case, _ = stay_case(caseworker, hk_today() + timedelta(days=5))
    case_id = case.id
    db.session.rollback()
    # A worker test before may have left the root logger at ERROR.
    caplog.set_level(logging.WARNING, logger=tasks.__name__)

    with broker_down_app.app_context():
        started = time.monotonic()
        tasks.ring_dispatcher()
        assert time.monotonic() - started < 5
        started = time.monotonic()
        counts = tasks.plan_reminders.run()  # the periodic task, which rings too
        assert time.monotonic() - started < 5
        assert counts["caseworker"] == 2
        assert counts["applicant"] == 1
        _db.session.remove()
    warnings = [r.getMessage() for r in caplog.records if r.name == tasks.__name__]
    assert len(warnings) == 2
    assert all("could not reach the broker" in w for w in warnings)

    browser = broker_down_app.test_client()
    response = browser.post_form("/login", {"email": caseworker.email, "password": PASSWORD})
    assert response.status_code == 302
    for page in ("/notifications/", f"/notifications/case/{case_id}", f"/cases/{case_id}",
                 "/cases/"):
        started = time.monotonic()
        assert browser.get(page).status_code == 200, page
        assert time.monotonic() - started < 5, page
    assert set(reminder_states().values()) == {"pending"}
    assert {r.attempts for r in db.session.scalars(select(Reminder))} == {0}
    db.session.rollback()

    # The worker is back (here: the dispatch run directly): everything goes out.
    with broker_down_app.app_context():
        assert tasks.dispatch_reminders.run() == {"sent": 3}
        _db.session.remove()
    assert set(reminder_states().values()) == {"sent"}
    assert len(list((tmp_path / "mail").glob("reminder-*.eml"))) == 2
    assert "1<span class=\"visually-hidden\"> unread</span>" in browser.get(
        "/notifications/").get_data(as_text=True)
