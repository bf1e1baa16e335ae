"""The Celery wiring, end to end: a real Redis broker and a real worker run a task that
writes to the database in the app context."""

from __future__ import annotations

import time
import uuid

import pytest
import redis
from celery.contrib.testing.worker import start_worker
from sqlalchemy import select

from backoffice.auth.models import Role
from backoffice.core.dates import utcnow
from backoffice.notifications import services
from backoffice.notifications.models import WorkerHeartbeat
from config import celery_settings
from tests.conftest import REDIS_URL, build_app, service_missing


@pytest.fixture
def redis_app(app, db, tmp_path):
    """A second app on the same database whose Celery talks to the real Redis."""
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        service_missing("Redis", exc)
    settings = celery_settings(REDIS_URL, tmp_path)
    # A queue of our own, so a message left by another run can never reach this worker.
    settings["task_default_queue"] = f"test-{uuid.uuid4().hex}"
    worker_app = build_app(app.config["SQLALCHEMY_DATABASE_URI"], tmp_path, CELERY=settings)
    yield worker_app
    with worker_app.app_context():
        from backoffice.extensions import db as _db

        _db.engine.dispose()


def test_heartbeat_task_runs_on_a_real_worker_through_redis(redis_app, db):
    celery_app = redis_app.extensions["celery"]
    assert celery_app.conf.broker_url.startswith("redis://")
    with start_worker(celery_app, pool="solo", perform_ping_check=False,
                      shutdown_timeout=30):
        celery_app.send_task("backoffice.notifications.tasks.heartbeat", args=["test-host"])
        deadline = time.monotonic() + 20
        beat = None
        while beat is None and time.monotonic() < deadline:
            beat = db.session.scalar(
                select(WorkerHeartbeat).where(WorkerHeartbeat.hostname == "test-host"))
            # End the read at once: on SQLite an open transaction holds the write lock the
            # worker needs.
            db.session.rollback() if beat is None else db.session.expunge(beat)
            time.sleep(0.05)
    assert beat is not None, "the worker did not run the task within 20 s"
    assert beat.beats == 1
    assert (utcnow() - beat.last_seen).total_seconds() < 30


def test_heartbeat_is_idempotent_per_host(db):
    services.record_heartbeat("host-a")
    services.record_heartbeat("host-a")
    services.record_heartbeat("host-b")
    db.session.commit()
    beats = {b.hostname: b.beats for b in services.worker_heartbeats()}
    assert beats == {"host-a": 2, "host-b": 1}


@pytest.mark.parametrize(("age_seconds", "label"), [(5, "Running"), (600, "Not responding")])
def test_worker_status_page_shows_heartbeat_state(client, db, as_role, age_seconds, label):
    from datetime import timedelta

    services.record_heartbeat("worker-1", now=utcnow() - timedelta(seconds=age_seconds))
    db.session.commit()
    as_role(Role.SUPERVISOR)
    html = client.get("/notifications/worker").get_data(as_text=True)
    assert "worker-1" in html
    assert label in html


def test_worker_status_page_when_no_worker_ever_reported(client, as_role):
    as_role(Role.SUPERVISOR)
    html = client.get("/notifications/worker").get_data(as_text=True)
    assert "No worker has ever reported" in html


def test_a_heartbeat_or_a_reconnect_clears_a_broker_outage_and_the_first_loss_counts(db):
    from datetime import timedelta

    lost = utcnow() - timedelta(minutes=5)
    services.record_heartbeat("host-a", now=lost - timedelta(seconds=30))
    services.record_broker_reachable("host-a", False, now=lost)
    services.record_broker_reachable("host-a", False, now=lost + timedelta(minutes=1))
    services.record_broker_reachable("host-new", False, now=lost)
    db.session.commit()
    since = {b.hostname: b.broker_unreachable_since for b in services.worker_heartbeats()}
    assert since == {"host-a": lost, "host-new": lost}
    services.record_broker_reachable("host-a", True)
    services.record_heartbeat("host-new")
    db.session.commit()
    assert {b.broker_unreachable_since for b in services.worker_heartbeats()} == {None}


@pytest.mark.parametrize(("unreachable", "shown", "not_shown"), [
    (True, "Broker unreachable since", "Running"),
    (False, "Running", "Broker unreachable"),
])
def test_worker_status_page_shows_a_broker_outage(client, db, as_role, unreachable, shown,
                                                  not_shown):
    services.record_heartbeat("worker-1")
    if unreachable:
        services.record_broker_reachable("worker-1", False)
    db.session.commit()
    as_role(Role.SUPERVISOR)
    html = client.get("/notifications/worker").get_data(as_text=True)
    assert shown in html
    assert not_shown not in html
    assert ("cannot reach its message broker" in html) is unreachable
