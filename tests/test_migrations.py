"""The schema comes only from migrations, and the migrations match the models."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect

from backoffice.auth import services as accounts
from backoffice.auth.models import Role
from backoffice.cases import deadline_sweep, services
from backoffice.cases.models import Deadline, DeadlineKind, DeadlineState
from backoffice.cases.schemes import CaseStatus, Scheme
from backoffice.core.dates import HK_TZ
from backoffice.extensions import db as _db
from tests.cases.factories import make_case
from tests.conftest import build_app


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
