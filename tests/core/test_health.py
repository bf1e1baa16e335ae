"""The load balancer's probes: /healthz (the process answers, nothing else asked) and /readyz
(the database answers; the broker is reported and never fatal; no probe hangs on a dead
service). Open to all, no cookie, no menu entry."""

from __future__ import annotations

import socket
import threading

import pytest

from backoffice.auth.models import Role
from backoffice.extensions import db as _db
from config import celery_settings
from tests.conftest import build_app

# Addresses where nothing answers: a closed port, and a folder that does not exist.
DATABASES_DOWN = {
    "postgresql": "postgresql+psycopg://postgres@127.0.0.1:1/backoffice?connect_timeout=1",
    "sqlite": "sqlite:///{tmp}/no-such-folder/backoffice.sqlite3",
}
BROKER_DOWN = "redis://127.0.0.1:1/0"


@pytest.fixture
def app_with(app, tmp_path):
    """Build a second app on the test database with some settings changed."""
    built = []

    def build(uri: str | None = None, **overrides):
        other = build_app(uri or app.config["SQLALCHEMY_DATABASE_URI"], tmp_path, **overrides)
        built.append(other)
        return other.test_client()

    yield build
    for other in built:
        with other.app_context():
            _db.engine.dispose()
    app.extensions["celery"].set_default()


@pytest.mark.parametrize("path", ["/healthz", "/readyz"])
def test_a_probe_is_open_to_anyone_and_sets_no_cookie(client, path):
    response = client.get(path)
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert "Set-Cookie" not in response.headers
    assert response.headers["Cache-Control"] == "no-store"


def test_a_ready_app_reports_its_database_and_broker(client):
    response = client.get("/readyz")
    assert response.get_json() == {"status": "ready",
                                   "checks": {"database": "ok", "broker": "ok"}}


def test_the_probes_are_not_in_the_menu(client, as_role):
    as_role(Role.SUPERVISOR)
    page = client.get("/cases/").get_data(as_text=True)
    assert "/healthz" not in page
    assert "/readyz" not in page


@pytest.mark.parametrize("backend", sorted(DATABASES_DOWN))
def test_without_a_database_the_app_is_alive_but_not_ready(app_with, tmp_path, backend):
    client = app_with(DATABASES_DOWN[backend].format(tmp=tmp_path))

    alive = client.get("/healthz")
    assert alive.status_code == 200
    assert alive.get_json() == {"status": "ok"}

    ready = client.get("/readyz")
    assert ready.status_code == 503
    assert ready.get_json() == {"status": "not ready",
                                "checks": {"database": "unreachable", "broker": "ok"}}
    assert "Set-Cookie" not in ready.headers


def test_without_a_broker_the_app_is_still_ready(app_with, tmp_path):
    client = app_with(CELERY=celery_settings(BROKER_DOWN, tmp_path))
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ready",
                                   "checks": {"database": "ok", "broker": "unreachable"}}


@pytest.fixture
def silent_broker():
    """A port that accepts connections and never says a word (a hung Redis)."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        yield f"redis://127.0.0.1:{listener.getsockname()[1]}/0"


def test_a_broker_that_never_answers_does_not_hang_the_probe(app_with, tmp_path,
                                                             silent_broker):
    client = app_with(CELERY=celery_settings(silent_broker, tmp_path),
                      HEALTH_CHECK_TIMEOUT=0.2)
    answers = []
    probe = threading.Thread(target=lambda: answers.append(client.get("/readyz")), daemon=True)
    probe.start()
    # Far longer than the probe's timeouts; without them the request would never return.
    probe.join(timeout=15)
    assert answers, "the readiness probe hung on a broker that never answers"
    assert answers[0].status_code == 200
    assert answers[0].get_json()["checks"]["broker"] == "unreachable"
