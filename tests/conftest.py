"""Fixtures: an app per database backend, a clean database per test, clients and factories.

Every test that uses ``app`` (or ``db``, ``client``...) runs twice: on SQLite and on
PostgreSQL. The schema is built by running the migrations, never by ``create_all``.
PostgreSQL gets a fresh database per test run so parallel runs cannot see each other's rows.
In CI (``CI=true``) a missing service fails the run; locally it skips with a loud reason.
"""

from __future__ import annotations

import contextvars
import csv
import io
import os
import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from flask import Flask, has_app_context
from flask.testing import FlaskClient
from flask_migrate import upgrade
from sqlalchemy import delete
from sqlalchemy.engine import make_url

from backoffice import create_app
from backoffice.auth import services as accounts
from backoffice.auth.models import Role, User
from backoffice.cases import counts
from backoffice.extensions import db as _db
from config import TestingConfig, celery_settings, database_url

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
POSTGRES_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
BACKENDS = [b for b in os.environ.get("TEST_BACKENDS", "sqlite,postgresql").split(",") if b]
PASSWORD = "correct horse battery staple"


def service_missing(what: str, error: Exception) -> None:
    message = f"{what} is not reachable ({error}). Start it (see .ci/run) to run these tests."
    if IN_CI:
        pytest.fail(f"CI needs every service: {message}", pytrace=False)
    pytest.skip(f"!!! SKIPPED, SERVICE MISSING: {message}")


def pytest_collection_modifyitems(config, items) -> None:
    """A ``postgres_only`` test runs on PostgreSQL alone, a ``one_backend`` test on the first
    backend alone: the other variant is deselected (reported as such), never skipped and
    counted."""
    def backend(item) -> str | None:
        callspec = getattr(item, "callspec", None)
        return callspec.params.get("app") if callspec is not None else None

    dropped = [item for item in items if backend(item) is not None and (
        (item.get_closest_marker("postgres_only") and backend(item) == "sqlite")
        or (item.get_closest_marker("one_backend") and backend(item) != BACKENDS[0]))]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = [item for item in items if item not in dropped]


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    """Create a fresh PostgreSQL database for this run and drop it afterwards."""
    admin_url = POSTGRES_URL
    try:
        admin = psycopg.connect(admin_url, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        service_missing("PostgreSQL", exc)
    name = f"bo_test_{uuid.uuid4().hex[:12]}"
    admin.execute(f'CREATE DATABASE "{name}"')
    url = make_url(database_url(admin_url)).set(database=name)
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


def build_app(uri: str, instance_dir: Path, **overrides) -> Flask:
    settings = {"INSTANCE_DIR": instance_dir, "MAIL_OUTBOX_DIR": instance_dir / "mail",
                "CELERY": celery_settings(None, instance_dir)}
    return create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=uri, **(settings | overrides))


@pytest.fixture(scope="session", params=BACKENDS)
def app(request, tmp_path_factory) -> Iterator[Flask]:
    """The app on one backend, schema built by the migrations (once per backend)."""
    backend = request.param
    instance_dir = tmp_path_factory.mktemp(f"instance-{backend}")
    if backend == "sqlite":
        uri = f"sqlite:///{instance_dir / 'test.sqlite3'}"
    elif backend == "postgresql":
        uri = request.getfixturevalue("postgres_database")
    else:
        raise ValueError(f"unknown backend {backend}")
    app = build_app(uri, instance_dir)
    app.config["BACKEND"] = backend
    with app.app_context():
        upgrade()
        _db.session.remove()
    yield app
    with app.app_context():
        _db.engine.dispose()


def clean_tables() -> None:
    for table in reversed(_db.metadata.sorted_tables):
        _db.session.execute(delete(table))
    _db.session.commit()


@pytest.fixture
def db(app: Flask) -> Iterator:
    """An app context and an empty database; rows are deleted (not rolled back) so tests
    may commit and use several connections, as the real app does."""
    with app.app_context():
        clean_tables()
        yield _db
        _db.session.rollback()
        # Every test is also a check that the cases' stored status counts kept step with
        # whatever it did (every path that creates a case or moves one must count it).
        assert counts.counted_cases() == counts.real_counts(), \
            "case_status_counts out of step with the cases"
        clean_tables()
        _db.session.remove()


class Client(FlaskClient):
    """A test client that sends forms with the CSRF token a browser would have."""

    _token_re = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')

    def open(self, *args, **kwargs):
        # Each request runs in a fresh context, as in a real server: otherwise Flask reuses
        # the test's app context, and with it ``g`` (the signed-in user, the CSRF token)
        # and the database session, from one request to the next. The test's own transaction
        # is ended first, as a browser holds none: on SQLite it would hold the write lock.
        if has_app_context():
            _db.session.rollback()
        context = contextvars.Context()
        response = context.run(super().open, *args, **kwargs)
        # A streamed body is generated inside the request's context, so read it there too.
        response.was_streamed = response.is_streamed
        if response.is_streamed:
            context.run(response.get_data)
        return response

    def csrf_token(self, page: str = "/login") -> str:
        html = self.get(page).get_data(as_text=True)
        match = self._token_re.search(html)
        assert match, f"no CSRF token on {page}"
        return match.group(1)

    def post_form(self, url: str, data: dict | None = None, token_from: str | None = None,
                  **kwargs):
        data = dict(data or {})
        data.setdefault("csrf_token", self.csrf_token(token_from or url))
        return self.post(url, data=data, **kwargs)


@pytest.fixture
def race_app(app: Flask, tmp_path) -> Iterator[Flask]:
    """A second app on the same database whose pool has a connection for every thread of a
    race test (each thread works in its own app context, as concurrent requests would)."""
    options: dict = {"pool_size": 55, "max_overflow": 0}
    if app.config["BACKEND"] == "sqlite":
        options["connect_args"] = {"check_same_thread": False, "timeout": 60}
    racer = build_app(app.config["SQLALCHEMY_DATABASE_URI"], tmp_path,
                      SQLALCHEMY_ENGINE_OPTIONS=options)
    yield racer
    with racer.app_context():
        _db.engine.dispose()


@pytest.fixture
def client(app: Flask, db) -> Client:
    app.test_client_class = Client
    return app.test_client()


@pytest.fixture(autouse=True)
def fresh_sign_in_limits(request) -> None:
    """Every test starts with no failed sign-ins counted: the session's app (and its
    in-memory limits) outlives each test, and every test client signs in from 127.0.0.1."""
    if "app" in request.fixturenames:
        from backoffice.auth.throttling import limiter_of

        limiter_of(request.getfixturevalue("app")).reset()


@pytest.fixture(autouse=True)
def fresh_factory_identities() -> None:
    """Every test's first factory person is the factories' own (tests/cases/factories.py):
    later ones in the same test are other people."""
    from tests.cases import factories

    factories.reset_identities()


@pytest.fixture
def make_user(db):
    """Factory: ``make_user(Role.SUPERVISOR)`` makes and commits an active account whose
    password is its own (``temporary=True``: one an admin set, to be changed first)."""
    counter = iter(range(1, 10_000))

    def make(role: Role = Role.CASEWORKER, email: str | None = None, password: str = PASSWORD,
             full_name: str | None = None, active: bool = True,
             temporary: bool = False) -> User:
        n = next(counter)
        user = accounts.create_user(
            None, email=email or f"{role.value}{n}@example.org",
            full_name=full_name or f"{role.label} Number{n}", role=role, password=password,
            temporary=temporary)
        user.active = active
        _db.session.commit()
        return user

    return make


@pytest.fixture
def caseworker(make_user) -> User:
    """An active caseworker's account (not signed in)."""
    return make_user(Role.CASEWORKER)


@pytest.fixture
def supervisor(make_user) -> User:
    """An active supervisor's account (not signed in); a module may mean another one."""
    return make_user(Role.SUPERVISOR)


@pytest.fixture
def login(client: Client):
    """Sign ``user`` in through the real sign-in form; returns the response."""

    def do(user: User, password: str = PASSWORD, follow_redirects: bool = False):
        response = client.post_form("/login", {"email": user.email, "password": password},
                                    follow_redirects=follow_redirects)
        return response

    return do


@pytest.fixture
def as_role(client: Client, make_user, login):
    """Sign in a new user of ``role`` (None = stay anonymous) and return the user."""

    def do(role: Role | None) -> User | None:
        if role is None:
            return None
        user = make_user(role)
        response = login(user)
        assert response.status_code == 302, response.get_data(as_text=True)
        return user

    return do


def read_csv(response) -> list[list[str]]:
    """The rows of a CSV download as a spreadsheet reads them, after checking that its
    first bytes are the UTF-8 byte order mark (Excel needs it to read Chinese names)."""
    assert response.status_code == 200, response.get_data(as_text=True)[:2000]
    assert response.mimetype == "text/csv"
    body = response.get_data()
    assert body.startswith(b"\xef\xbb\xbf"), body[:40]
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"), newline="")))
