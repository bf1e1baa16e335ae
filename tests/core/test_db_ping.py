"""A pooled connection is pinged before use only after it sat idle (``core.db.ping_when_idle``):
busy requests send no ping, and an idle connection the database dropped is replaced before a
request sees it."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest
from flask import Flask
from sqlalchemy import text

from backoffice.extensions import db as _db
from tests.conftest import POSTGRES_URL, build_app


@pytest.fixture
def pinging_app(app: Flask, tmp_path, request) -> Iterator[Flask]:
    """An app of its own on the run's database with the idle limit the test asks for."""
    other = build_app(app.config["SQLALCHEMY_DATABASE_URI"], tmp_path,
                      DB_PING_AFTER_IDLE_SECONDS=request.param)
    yield other
    with other.app_context():
        _db.engine.dispose()


def pings_during(app: Flask, monkeypatch, queries: int) -> int:
    """How many pings ``queries`` statements, each on a connection checked out anew, cause."""
    sent = []
    with app.app_context():
        dialect = _db.engine.dialect
        real_ping = dialect.do_ping
        monkeypatch.setattr(dialect, "do_ping", lambda conn: sent.append(1) or real_ping(conn))
        for _ in range(queries):
            with _db.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
    return len(sent)


@pytest.mark.parametrize(("pinging_app", "pings"), [
    (60.0, 0),   # each connection used a moment before: never pinged
    (0.0, 4),    # any idle time counts: every checkout after the first connect is pinged
], indirect=["pinging_app"])
def test_a_connection_is_pinged_only_after_sitting_idle(pinging_app, monkeypatch, pings):
    assert pings_during(pinging_app, monkeypatch, 5) == pings


@pytest.mark.postgres_only  # a server that drops connections
@pytest.mark.parametrize("pinging_app", [0.0], indirect=True)
def test_an_idle_connection_the_database_dropped_is_replaced_before_use(app, pinging_app):
    with pinging_app.app_context():
        with _db.engine.connect() as conn:
            first = conn.execute(text("SELECT pg_backend_pid()")).scalar()
        with psycopg.connect(POSTGRES_URL, autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", [first])
        with _db.engine.connect() as conn:
            second = conn.execute(text("SELECT pg_backend_pid()")).scalar()
    assert second != first
