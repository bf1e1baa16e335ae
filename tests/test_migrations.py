"""The schema comes only from migrations, and the migrations match the models."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect

from backoffice.extensions import db as _db


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
    from tests.conftest import build_app

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
