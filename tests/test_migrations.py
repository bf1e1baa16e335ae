"""The schema comes only from migrations, and the migrations match the models."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time, timedelta

import psycopg
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect, select
from sqlalchemy.engine import make_url

from backoffice.auth import services as accounts
from backoffice.auth.models import Role
from backoffice.cases import counts, deadline_sweep, services
from backoffice.cases.models import Deadline, DeadlineKind, DeadlineState
from backoffice.cases.schemes import CaseStatus, Scheme
from backoffice.core.dates import HK_TZ
from backoffice.extensions import db as _db
from backoffice.quota import services as quota
from backoffice.quota.models import QuotaMonthCount, QuotaNationalityCount, QuotaPeriod
from tests.cases.factories import make_case
from tests.conftest import POSTGRES_URL, build_app


# SQLite's reflection cannot read an expression index (applicants' lower(email)); the models
# and the migration both declare it, and PostgreSQL's run compares it.
@pytest.mark.filterwarnings("ignore:Skipped unsupported reflection of expression-based index")
@pytest.mark.filterwarnings(
    "ignore:autogenerate skipping metadata-specified expression-based index")
def test_models_and_migrations_agree(app, db):
    """Alembic finds nothing to generate: a model change without a migration fails here."""
    migrate_ext = app.extensions["migrate"]
    with _db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts=migrate_ext.configure_args)
        diff = compare_metadata(context, _db.metadata)
    assert diff == [], f"models and migrations disagree: {diff}"


def test_every_model_table_exists_after_upgrade(app, db):
    tables = set(inspect(_db.engine).get_table_names())
    assert {t.name for t in _db.metadata.sorted_tables} <= tables
    assert "alembic_version" in tables


def test_downgrade_to_base_and_back(app, tmp_path):
    """Every migration can be undone and redone (on a scratch SQLite database)."""
    scratch = build_app(f"sqlite:///{tmp_path / 'scratch.sqlite3'}", tmp_path)
    with scratch.app_context():
        upgrade()
        downgrade(revision="base")
        assert set(inspect(_db.engine).get_table_names()) <= {"alembic_version"}
        upgrade()
        assert "users" in inspect(_db.engine).get_table_names()
        _db.engine.dispose()


def test_every_check_constraint_of_the_models_is_in_the_database(app, db):
    """Alembic's comparison does not look at CHECK constraints; this does."""
    inspector = inspect(_db.engine)
    for table in _db.metadata.sorted_tables:
        wanted = {c.name for c in table.constraints
                  if c.__class__.__name__ == "CheckConstraint" and c.name}
        present = {c["name"] for c in inspector.get_check_constraints(table.name)}
        assert wanted <= present, f"{table.name}: missing {sorted(wanted - present)}"


def test_missed_deadlines_already_replaced_stop_being_outstanding(app, tmp_path):
    """ff5ce7b6d5fb: a stay end missed before an extension was granted is history, not work;
    undone and redone, the data comes back the same."""
    scratch = build_app(f"sqlite:///{tmp_path / 'scratch.sqlite3'}", tmp_path)
    with scratch.app_context():
        upgrade()
        worker = accounts.create_user(None, email="cw@example.org", full_name="Case Worker",
                                      role=Role.CASEWORKER, password="a long enough password")
        case = make_case(worker, Scheme.GEP_PRO, CaseStatus.EXTENSION_REQUESTED)
        day_after = case.stay_ends_on + timedelta(days=1)
        deadline_sweep.sweep(day_after)
        # Granted that day (the request was made in the stay's last week): not before it.
        services.transition(case, "grant_extension", worker, now=datetime.combine(
            day_after, time(10), tzinfo=HK_TZ).astimezone(UTC))
        _db.session.commit()

        def outstanding() -> list[tuple]:
            return [tuple(row) for row in _db.session.execute(
                _db.select(Deadline.kind, Deadline.state, Deadline.outstanding)
                .where(Deadline.kind == DeadlineKind.STAY_END).order_by(Deadline.id))]

        after_grant = outstanding()
        assert after_grant == [(DeadlineKind.STAY_END, DeadlineState.MISSED, False),
                               (DeadlineKind.STAY_END, DeadlineState.OPEN, True)]
        _db.session.remove()
        downgrade(revision="34ad99b0a6ff")  # before: only an ended case retired its deadlines
        upgrade()
        assert outstanding() == after_grant
        _db.session.remove()
        _db.engine.dispose()


@pytest.fixture
def scratch_app(app, tmp_path):
    """An app on a scratch database of the run's backend (the migrations are undone there,
    never on the run's own database)."""
    if app.config["BACKEND"] == "sqlite":
        yield build_app(f"sqlite:///{tmp_path / 'scratch.sqlite3'}", tmp_path)
        return
    name = f"bo_scratch_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(POSTGRES_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    url = make_url(app.config["SQLALCHEMY_DATABASE_URI"]).set(database=name)
    scratch = build_app(url.render_as_string(hide_password=False), tmp_path)
    try:
        yield scratch
    finally:
        with scratch.app_context():
            _db.engine.dispose()
        with psycopg.connect(POSTGRES_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_the_quota_counters_are_filled_from_the_allocations(scratch_app):
    """b183f47c0ead: the month and nationality counters of every year are counted from its
    active allocations (released ones left out), as the services would have kept them."""
    with scratch_app.app_context():
        upgrade()
        boss = accounts.create_user(None, email="sv@example.org", full_name="Super Visor",
                                    role=Role.SUPERVISOR, password="a long enough password")
        quota.set_limit(boss, "QMAS", 2026, None)
        quota.set_limit(boss, "QMAS", 2027, None)
        placed = [(date(2026, 3, 2), "IN"), (date(2026, 3, 30), "IN"), (date(2026, 11, 1), "GB"),
                  (date(2027, 1, 5), "IN"), (date(2026, 7, 7), "US")]
        case_ids = []
        for on, nationality in placed:
            case_id = make_case(boss).id
            quota.take_place(case_id, "QMAS", on, boss, nationality)
            case_ids.append(case_id)
        quota.release_place(case_ids[-1], boss, "withdraw", None)
        _db.session.commit()

        def counts():
            _db.session.expire_all()
            return ([tuple(r) for r in _db.session.execute(
                        select(QuotaPeriod.year, QuotaMonthCount.month, QuotaMonthCount.allocated)
                        .join(QuotaPeriod).where(QuotaMonthCount.allocated > 0)
                        .order_by(QuotaPeriod.year, QuotaMonthCount.month))],
                    [tuple(r) for r in _db.session.execute(
                        select(QuotaPeriod.year, QuotaNationalityCount.nationality,
                               QuotaNationalityCount.allocated)
                        .join(QuotaPeriod).where(QuotaNationalityCount.allocated > 0)
                        .order_by(QuotaPeriod.year, QuotaNationalityCount.nationality))])

        kept = counts()
        assert kept == ([(2026, 3, 2), (2026, 11, 1), (2027, 1, 1)],
                        [(2026, "GB", 1), (2026, "IN", 2), (2027, "IN", 1)])
        _db.session.remove()
        downgrade(revision="b8c9d0e1f2a3")  # before: no counters
        assert "quota_month_counts" not in inspect(_db.engine).get_table_names()
        upgrade()
        assert counts() == kept
        _db.session.remove()
        _db.engine.dispose()


def test_the_case_status_counts_are_filled_from_the_cases(scratch_app):
    """cf39e06feaa5: each scheme's cases per status are counted from the cases, as the
    services would have kept them."""
    with scratch_app.app_context():
        upgrade()
        boss = accounts.create_user(None, email="sv@example.org", full_name="Super Visor",
                                    role=Role.SUPERVISOR, password="a long enough password")
        for scheme, status in ((Scheme.QMAS, None), (Scheme.QMAS, None),
                               (Scheme.QMAS, CaseStatus.SUBMITTED),
                               (Scheme.ASSG, CaseStatus.IN_STAY)):
            make_case(boss, scheme, status)
        _db.session.commit()
        kept = counts.counted_cases()
        assert kept == {("QMAS", "draft"): 2, ("QMAS", "submitted"): 1, ("ASSG", "in_stay"): 1}
        _db.session.remove()
        downgrade(revision="4449ab719257")  # before: no status counts
        assert "case_status_counts" not in inspect(_db.engine).get_table_names()
        upgrade()
        assert counts.counted_cases() == kept
        _db.session.remove()
        _db.engine.dispose()
