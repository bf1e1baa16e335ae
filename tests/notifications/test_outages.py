"""The worker and beat as production runs them, with a broker that goes away, an SMTP server
that is slow, and a worker that is killed: real redis-server, Celery worker and beat
subprocesses (started with the README's flags) and a real SMTP server.

On PostgreSQL only: Redis is the production broker, and production runs on PostgreSQL; the
embedded SQLite mode has no Redis. The dispatch rules themselves are tested on both
databases in test_dispatch.py.

``OUTAGE_SECONDS`` (default 5) sets how long Redis stays away and ``KILLS`` (default 3) how
often the worker is killed; the 60 s and 300 s runs and the kill figures in
docs/OPERATIONS.md were made with them.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, insert, select

from backoffice.auth.models import Role
from backoffice.core.dates import hk_today, utcnow
from backoffice.extensions import db as _db
from backoffice.notifications.models import (
    Channel,
    Notification,
    Reminder,
    ReminderState,
    WorkerHeartbeat,
)
from tests.conftest import service_missing
from tests.notifications.real_processes import (
    ROOT,
    CeleryProcess,
    RedisProcess,
    SlowSMTP,
    wait_until,
)
from tests.notifications.test_planning import stay_case

pytestmark = pytest.mark.postgres_only

OUTAGE_SECONDS = float(os.environ.get("OUTAGE_SECONDS", "5"))
KILLS = int(os.environ.get("KILLS", "3"))  # 20 for the figure in docs/OPERATIONS.md
# Heartbeat every second and dispatch every two: the production tasks at test speed.
FAST_BEAT = {"worker-heartbeat": 1, "dispatch-reminders": 2, "plan-reminders": 3600}


def readme_flags(program: str) -> list[str]:
    """The flags the README's production section gives ``celery -A worker <program>``, so the
    test runs what production runs and the README cannot drift from it."""
    readme = (ROOT / "README.md").read_text()
    production = readme[readme.index("## Production"):]
    line = re.search(rf"celery -A worker {program}\b(.*?)(?:#|$)", production, re.M)
    assert line, f"the README's production section starts no celery {program}"
    return [flag for flag in line.group(1).split() if not flag.startswith("--loglevel")]


class System:
    """Redis, an SMTP server, a worker and beat, on the test's database."""

    def __init__(self, app, tmp_path: Path, smtp: SlowSMTP, **settings) -> None:
        if shutil.which("redis-server") is None:
            service_missing("redis-server (to start a Redis of the test's own)",
                            FileNotFoundError("redis-server"))
        self.tmp_path, self.smtp = tmp_path, smtp
        self.redis = RedisProcess(tmp_path / "redis")
        self.redis.start()
        self.settings = {"INSTANCE_DIR": str(tmp_path),
                         "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
                         "SMTP_HOST": "127.0.0.1", "SMTP_PORT": smtp.port,
                         "SMTP_STARTTLS": False} | settings
        self.worker: CeleryProcess | None = None
        self.beat: CeleryProcess | None = None
        self.workers_started = 0

    def start_worker(self, *extra: str) -> CeleryProcess:
        self.workers_started += 1
        self.worker = CeleryProcess(
            "worker", [*readme_flags("worker"), *extra], self.redis.url, self.settings,
            self.tmp_path / f"worker-{self.workers_started}.log", FAST_BEAT)
        assert wait_until(lambda: " ready." in self.worker.output() or not self.worker.alive(),
                          60), self.worker.output()[-3000:]
        assert self.worker.alive(), self.worker.output()[-3000:]
        return self.worker

    def start_beat(self) -> CeleryProcess:
        self.beat = CeleryProcess(
            "beat", [*readme_flags("beat"), "--schedule", str(self.tmp_path / "beat-schedule")],
            self.redis.url, self.settings, self.tmp_path / "beat.log", FAST_BEAT)
        return self.beat

    def assert_alive(self, when: str) -> None:
        for process in (self.worker, self.beat):
            assert process.alive(), (f"{process.kind} exited {when}:\n"
                                     f"{process.output()[-4000:]}")

    def stop(self) -> None:
        for process in (self.worker, self.beat):
            if process is not None:
                process.stop()
        self.redis.stop()

    def failed_tasks(self) -> list[str]:
        logs = "".join(p.read_text(errors="replace")
                       for p in self.tmp_path.glob("worker-*.log"))
        return re.findall(r"^.*(?:raised unexpected|Unrecoverable error).*$", logs, re.M)


@pytest.fixture
def deadline(caseworker):
    """An open deadline of a case without an applicant email, for reminders to hang on."""
    case, deadline = stay_case(caseworker, hk_today() + timedelta(days=5), email_consent=False)
    ids = case.id, deadline.id
    _db.session.rollback()
    return ids


def add_reminders(deadline: tuple[int, int], first: int, count: int,
                  in_app_user: int | None = None) -> None:
    """``count`` due email reminders to r<first>..@example.org (and, for ``in_app_user``, as
    many in-app ones: one per offset), committed."""
    case_id, deadline_id = deadline
    now = utcnow()
    rows = [dict(deadline_id=deadline_id, case_id=case_id, offset_days=30, channel=Channel.EMAIL,
                 recipient=f"email:r{n}@example.org", email=f"r{n}@example.org",
                 state=ReminderState.PENDING, next_attempt_at=now, attempts=0, created_at=now)
            for n in range(first, first + count)]
    if in_app_user is not None:
        rows += [dict(deadline_id=deadline_id, case_id=case_id, offset_days=100 + n,
                      channel=Channel.IN_APP, recipient=f"user:{in_app_user}",
                      user_id=in_app_user, state=ReminderState.PENDING, next_attempt_at=now,
                      attempts=0, created_at=now) for n in range(first, first + count)]
    _db.session.execute(insert(Reminder), rows)
    _db.session.commit()


def read(query):
    """Run a read and end the transaction at once (on SQLite an open one would hold the
    worker's write lock)."""
    try:
        return _db.session.execute(query).all()
    finally:
        _db.session.rollback()


def email_ids() -> set[str]:
    return {f"<reminder-{i}@talent-admission-backoffice>"
            for (i,) in read(select(Reminder.id).where(Reminder.channel == Channel.EMAIL))}


def all_sent() -> bool:
    return read(select(func.count()).select_from(Reminder)
                .where(Reminder.state != ReminderState.SENT))[0][0] == 0


def beats() -> int:
    return read(select(func.coalesce(func.sum(WorkerHeartbeat.beats), 0)))[0][0]


def worker_page(client) -> str:
    return client.get("/notifications/worker").get_data(as_text=True)


def test_the_worker_and_beat_live_through_redis_outages_idle_and_mid_batch(
        app, db, tmp_path, deadline, client, as_role):
    """One worker and one beat through three outages in a row; after each, they are still
    running, talk through Redis again (heartbeats), and every reminder goes out once."""
    as_role(Role.SUPERVISOR)
    with SlowSMTP(delay=0.2) as smtp:
        system = System(app, tmp_path, smtp, REMINDER_BATCH=10)
        try:
            system.start_worker()
            system.start_beat()
            assert wait_until(lambda: beats() > 0, 30), system.beat.output()[-3000:]
            first = 0
            for phase, stop_signal in (("idle", signal.SIGKILL), ("busy", signal.SIGTERM),
                                       ("busy", signal.SIGKILL)):
                when = f"after Redis was stopped by {stop_signal.name} while {phase}"
                if phase == "busy":
                    # 20 messages at 0.2 s: Redis goes away in the middle of the batch, and
                    # the task ends while it is still away.
                    add_reminders(deadline, first, 20)
                    first += 20
                    sent_before = len(smtp.message_ids)
                    assert wait_until(lambda n=sent_before + 2: len(smtp.message_ids) >= n, 30)
                system.redis.stop(stop_signal)
                time.sleep(OUTAGE_SECONDS)
                system.assert_alive(f"during the outage {when}")
                assert "Broker unreachable since" in worker_page(client), (
                    f"the worker page does not show the outage {when}")
                system.redis.start()
                beats_back = beats()
                # The worker retries every 2, 4, ... up to 30 s (kombu's interval_max).
                assert wait_until(lambda n=beats_back + 1: beats() > n, 45), (
                    f"no heartbeat through Redis {when}:\n{system.worker.output()[-3000:]}")
                assert "Broker unreachable" not in worker_page(client)
                assert wait_until(all_sent, 60), f"not all sent {when}"
                system.assert_alive(when)
            # And it still sends what comes due afterwards.
            add_reminders(deadline, first, 5)
            assert wait_until(all_sent, 30)
            system.assert_alive("at the end")
        finally:
            system.stop()
        sent = Counter(smtp.message_ids)
    assert set(sent) == email_ids()
    assert [m for m, n in sent.items() if n > 1] == []
    assert system.failed_tasks() == []


def test_a_smtp_server_slower_than_lease_per_batch_sends_each_reminder_once(
        app, db, tmp_path, deadline, caseworker):
    """Lease 3 s for batches of 5 (0.6 s a message) against 1 s a message, and two
    dispatchers at a time: batches outlive nothing, nobody sends another's claim."""
    add_reminders(deadline, 0, 16, in_app_user=caseworker.id)
    with SlowSMTP(delay=1.0) as smtp:
        system = System(app, tmp_path, smtp, REMINDER_BATCH=5, REMINDER_LEASE_SECONDS=3)
        try:
            system.start_worker("--concurrency=2")
            system.start_beat()
            assert wait_until(all_sent, 90), read(select(Reminder.state, Reminder.attempts))
            system.assert_alive("after the slow sends")
        finally:
            system.stop()
        sent = Counter(smtp.message_ids)
    assert set(sent) == email_ids()
    assert [m for m, n in sent.items() if n > 1] == [], "sent twice"
    assert system.failed_tasks() == []
    assert read(select(func.count()).select_from(Notification))[0][0] == 16


def test_a_killed_worker_repeats_at_most_the_message_in_flight(app, db, tmp_path, deadline,
                                                                 record_property):
    """SIGKILL to the worker (and its pool) mid-batch, then a new worker, as systemd's
    ``Restart=always`` brings one back: the killed batch's lease runs out, the rest goes out
    once; a message the SMTP server had accepted when the kill came goes out again, with the
    same Message-ID. The duplicates per kill are reported (docs/OPERATIONS.md)."""
    kills = KILLS
    add_reminders(deadline, 0, 15 * kills)
    with SlowSMTP(delay=0.3) as smtp:
        system = System(app, tmp_path, smtp, REMINDER_BATCH=10, REMINDER_LEASE_SECONDS=3)
        try:
            system.start_beat()
            for _ in range(kills):
                system.start_worker()
                sent_before = len(smtp.message_ids)
                assert wait_until(lambda n=sent_before + 4: len(smtp.message_ids) >= n, 30)
                os.killpg(system.worker.process.pid, signal.SIGKILL)
                system.worker.process.wait(10)
            system.start_worker()
            assert wait_until(all_sent, 90), read(select(Reminder.state, Reminder.attempts))
        finally:
            system.stop()
        sent = Counter(smtp.message_ids)
    assert set(sent) == email_ids()
    duplicates = sum(n - 1 for n in sent.values())
    record_property("duplicates_per_kill", duplicates / kills)
    print(f"\n{duplicates} duplicate(s) in {kills} kills")
    assert duplicates <= kills, f"{duplicates} duplicates in {kills} kills"
