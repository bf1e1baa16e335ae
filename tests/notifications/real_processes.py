"""Real processes for the outage tests: a Redis of the test's own (never the shared one),
Celery worker and beat subprocesses, and an SMTP server that takes its time per message.

Every wait is bounded; every process is stopped by its own pid.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from email import message_from_bytes
from pathlib import Path

import redis
from aiosmtpd.controller import Controller

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until(condition, seconds: float, step: float = 0.1) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(step)
    return bool(condition())


def _stop(process: subprocess.Popen, sig: int = signal.SIGTERM, seconds: float = 20) -> None:
    if process.poll() is not None:
        return
    process.send_signal(sig)
    try:
        process.wait(seconds)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(5)


class RedisProcess:
    """A redis-server on a port of its own, without persistence, that can be stopped and
    started again on the same port (a broker outage)."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.workdir = workdir
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        with (self.workdir / "redis.log").open("ab") as log:  # the child keeps its own copy
            self.process = subprocess.Popen(
                ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                 "--appendonly", "no", "--dir", str(self.workdir)],
                stdout=log, stderr=subprocess.STDOUT)
        client = redis.Redis(port=self.port, socket_connect_timeout=0.5)
        if not wait_until(lambda: self._pings(client), 10):
            raise RuntimeError(f"redis-server did not start on port {self.port}")

    @staticmethod
    def _pings(client: redis.Redis) -> bool:
        try:
            return bool(client.ping())
        except redis.RedisError:
            return False

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.process is not None:
            _stop(self.process, sig)
            self.process = None


class CeleryProcess:
    """``celery worker`` or ``celery beat`` for ``tests.notifications.production_worker``,
    started with the flags the README prescribes for production."""

    def __init__(self, kind: str, args: list[str], redis_url: str, settings: dict,
                 log: Path, beat_every: dict[str, float] | None = None) -> None:
        self.kind, self.log = kind, log
        env = os.environ | {"TEST_WORKER_REDIS_URL": redis_url,
                            "TEST_WORKER_SETTINGS": json.dumps(settings, default=str),
                            "TEST_WORKER_BEAT_EVERY": json.dumps(beat_every or {}),
                            "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}
        # A session of its own, so a test can kill the worker with its pool (os.killpg).
        with log.open("ab") as out:  # the child keeps its own copy
            self.process = subprocess.Popen(
                [sys.executable, "-m", "celery", "-A", "tests.notifications.production_worker",
                 kind, "--loglevel=INFO", *args],
                cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True)

    def alive(self) -> bool:
        return self.process.poll() is None

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self) -> None:
        _stop(self.process, signal.SIGTERM, 30)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)  # a pool child left behind


class SlowSMTP:
    """An SMTP server that takes ``delay`` seconds to accept each message and keeps the
    Message-IDs it accepted (in arrival order)."""

    def __init__(self, delay: float = 0.0) -> None:
        self.delay = delay
        self.message_ids: list[str] = []
        self._lock = threading.Lock()
        self.controller = Controller(self, hostname="127.0.0.1", port=free_port())

    @property
    def port(self) -> int:
        return self.controller.port

    async def handle_DATA(self, server, session, envelope) -> str:
        if self.delay:
            await asyncio.sleep(self.delay)
        message = message_from_bytes(envelope.original_content)
        with self._lock:
            self.message_ids.append(message["Message-ID"])
        return "250 OK"

    def __enter__(self) -> SlowSMTP:
        self.controller.start()
        return self

    def __exit__(self, *exc) -> None:
        self.controller.stop()
