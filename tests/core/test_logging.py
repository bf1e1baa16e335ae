"""Logs: JSON lines when asked (text otherwise), a request id on every line a request causes,
sent back in the response header, and carried by a task the request publishes into the
worker's lines for that task."""

from __future__ import annotations

import io
import json
import logging
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from celery.contrib.testing.worker import start_worker

from backoffice import create_app
from backoffice.core import logging as logs
from backoffice.extensions import db as _db
from config import TestingConfig
from tests.conftest import build_app

ROOT = Path(__file__).resolve().parents[2]
GENERATED = re.compile(r"[0-9a-f]{32}")


@pytest.fixture
def log_lines():
    """Install the app's handler (as production does) on a buffer; give back its lines."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    buffer = io.StringIO()

    def install(log_format: str = "json") -> io.StringIO:
        logs.configure(log_format, "DEBUG", buffer)
        return buffer

    yield install
    root.handlers[:] = handlers
    root.setLevel(level)


def json_lines(buffer: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in buffer.getvalue().splitlines()]


def test_json_lines_parse_and_carry_the_request_id(client, log_lines):
    buffer = log_lines("json")
    response = client.get("/login")
    rid = response.headers["X-Request-ID"]
    lines = json_lines(buffer)  # every line is one JSON object
    requests = [line for line in lines if line["logger"] == "backoffice.request"]
    assert [(r["method"], r["path"], r["status"]) for r in requests] == [("GET", "/login", 200)]
    assert requests[0]["request_id"] == rid
    assert requests[0]["level"] == "INFO"
    assert {"time", "message", "duration_ms"} <= requests[0].keys()


def test_an_error_is_logged_whole_on_one_json_line(app, log_lines):
    buffer = log_lines("json")
    logging.getLogger("backoffice.test").error("it broke", exc_info=ZeroDivisionError("x"))
    (line,) = json_lines(buffer)
    assert line["message"] == "it broke"
    assert "ZeroDivisionError" in line["exc_info"]
    assert line["request_id"] == "-"  # outside any request


def test_text_lines_are_the_default_and_carry_the_request_id(client, log_lines):
    buffer = log_lines("text")
    rid = client.get("/login").headers["X-Request-ID"]
    line = next(line for line in buffer.getvalue().splitlines() if "backoffice.request" in line)
    assert f"INFO [{rid}] backoffice.request: GET /login 200" in line


@pytest.mark.parametrize(("setting", "chosen"), [(None, "text"), ("json", "json"),
                                                 (" JSON ", "json"), ("text", "text")])
def test_plain_text_unless_a_setting_asks_for_json(setting, chosen):
    # A fresh interpreter: the settings are read from the environment at import.
    env = {k: v for k, v in os.environ.items() if k != "LOG_FORMAT"}
    if setting is not None:
        env["LOG_FORMAT"] = setting
    out = subprocess.run([sys.executable, "-c", "import config; print(config.Config.LOG_FORMAT)"],
                         cwd=ROOT, env=env, capture_output=True, text=True, check=True,
                         timeout=60)
    assert out.stdout.strip() == chosen


def test_an_unknown_log_format_stops_the_app_at_start(tmp_path):
    with pytest.raises(ValueError, match="LOG_FORMAT must be one of text, json"):
        create_app(TestingConfig, LOG_FORMAT="xml", INSTANCE_DIR=tmp_path)


OFFERED = [
    # (trusted, offered header, echoed back?)
    pytest.param(True, "lb-7f3a9c.01", True, id="trusted, an id"),
    pytest.param(True, "Root=1-67891233-abcdef012345678912345678", True, id="trusted, a trace"),
    pytest.param(True, "x" * 128, True, id="trusted, the longest"),
    pytest.param(True, "x" * 129, False, id="trusted, too long"),
    pytest.param(True, "abc\tdef", False, id="trusted, a control character"),
    pytest.param(True, 'a b"c', False, id="trusted, spaces and quotes"),
    pytest.param(True, "", False, id="trusted, empty"),
    pytest.param(True, None, False, id="trusted, none sent"),
    pytest.param(False, "lb-7f3a9c.01", False, id="untrusted, an id"),
    pytest.param(False, None, False, id="untrusted, none sent"),
]


@pytest.mark.parametrize(("trusted", "offered", "echoed"), OFFERED)
def test_the_request_id_round_trips_in_the_header(client, app, monkeypatch, trusted, offered,
                                                  echoed):
    monkeypatch.setitem(app.config, "TRUST_REQUEST_ID_HEADER", trusted)
    headers = {} if offered is None else {"X-Request-ID": offered}
    returned = client.get("/healthz", headers=headers).headers["X-Request-ID"]
    if echoed:
        assert returned == offered
    else:
        assert GENERATED.fullmatch(returned), returned


def test_every_request_gets_its_own_id(client):
    ids = {client.get("/healthz").headers["X-Request-ID"] for _ in range(3)}
    assert len(ids) == 3


def test_the_probes_log_quietly(client, log_lines):
    buffer = log_lines("json")
    client.get("/healthz")
    (line,) = [line for line in json_lines(buffer) if line["logger"] == "backoffice.request"]
    assert line["level"] == "DEBUG"


def test_a_server_error_is_logged_under_the_id_shown_on_the_error_page(app, tmp_path,
                                                                      log_lines):
    failing = build_app(app.config["SQLALCHEMY_DATABASE_URI"], tmp_path,
                        PROPAGATE_EXCEPTIONS=False)

    @failing.get("/boom")
    def boom():
        raise ZeroDivisionError("the detail stays in the log")

    buffer = log_lines("json")
    response = failing.test_client().get("/boom")
    with failing.app_context():
        _db.engine.dispose()
    app.extensions["celery"].set_default()
    rid = response.headers["X-Request-ID"]
    assert response.status_code == 500
    assert f"Reference for the support team: <code>{rid}</code>" in response.get_data(True)
    (error,) = [line for line in json_lines(buffer) if line["level"] == "ERROR"]
    assert error["request_id"] == rid
    assert "ZeroDivisionError: the detail stays in the log" in error["exc_info"]


# --- The request id crosses into the worker -------------------------------------------------

def test_a_task_published_with_an_id_known_carries_it_in_its_headers():
    headers: dict = {}
    with logs.bound(request_id="req-1"):
        logs._carry_request_id(headers=headers)
    assert headers == {logs.TASK_HEADER: "req-1"}
    untouched: dict = {}
    logs._carry_request_id(headers=untouched)  # no request, no task: nothing to carry
    assert untouched == {}


@pytest.fixture
def worker_side(app, tmp_path):
    """A fresh app on the embedded (filesystem) broker with a page that publishes a task that
    logs, and a way to run one real worker over what was published."""
    fresh = build_app(app.config["SQLALCHEMY_DATABASE_URI"], tmp_path,
                      TRUST_REQUEST_ID_HEADER=True)
    celery_app = fresh.extensions["celery"]

    @celery_app.task(name="tests.core.log_something", shared=False)
    def log_something(then_publish: bool) -> None:
        logging.getLogger("tests.worker").info("working for the request")
        if then_publish:  # a task that rings another (plan_reminders → dispatch) passes it on
            log_something.apply_async((False,))

    @fresh.post("/publish")
    def publish():
        log_something.apply_async((True,))
        return "queued"

    fresh.config["WTF_CSRF_ENABLED"] = False
    yield fresh, celery_app
    with fresh.app_context():
        _db.engine.dispose()
    app.extensions["celery"].set_default()


def test_the_worker_logs_a_task_under_the_id_of_the_request_that_published_it(
        worker_side, log_lines):
    fresh, celery_app = worker_side
    buffer = log_lines("json")
    response = fresh.test_client().post("/publish", headers={"X-Request-ID": "req-42.abc"})
    assert response.headers["X-Request-ID"] == "req-42.abc"

    def task_lines() -> list[dict]:
        return [line for line in json_lines(buffer) if line["logger"] == "tests.worker"]

    with start_worker(celery_app, pool="solo", perform_ping_check=False, shutdown_timeout=10,
                      loglevel="INFO"):
        deadline = time.monotonic() + 20
        while len(task_lines()) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
    lines = task_lines()
    assert len(lines) == 2, buffer.getvalue()[-3000:]
    assert {line["request_id"] for line in lines} == {"req-42.abc"}
    assert all(line["task_name"] == "tests.core.log_something" for line in lines)
    assert len({line["task_id"] for line in lines}) == 2
    # Celery's own line for each finished task carries it too.
    finished = [line for line in json_lines(buffer)
                if line["logger"] == "celery.app.trace" and "succeeded" in line["message"]]
    assert {line["request_id"] for line in finished} == {"req-42.abc"}
    # And once the task is over, the worker's own lines carry none.
    assert logs.request_id() is None
