"""Database helpers shared by every feature: column types and engine set-up."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum

from flask import has_request_context, request
from sqlalchemy import DateTime, event
from sqlalchemy import Enum as SAEnum
from sqlalchemy.engine import Engine
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator):
    """A timestamp stored in UTC and always returned timezone-aware.

    SQLite keeps no zone, PostgreSQL keeps one; this type makes both behave the same so that
    no naive datetime ever reaches the application.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column; use core.dates.utcnow()")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def configure_sqlite(engine: Engine) -> None:
    """Make SQLite transactions real: BEGIN IMMEDIATE, WAL, foreign keys, a busy timeout.

    pysqlite issues no BEGIN before a SELECT and SQLite ignores ``FOR UPDATE``, so two
    writers can both read the same count and both write (DESIGN §5 measured 800
    over-allocations). This is SQLAlchemy's documented recipe: take over transaction control
    from the driver and start every transaction with ``BEGIN IMMEDIATE``, which serialises
    writers at the start of the transaction instead of failing them at commit.
    The embedded SQLite mode therefore runs one writing transaction at a time; production
    runs on PostgreSQL.
    """
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        if engine.url.database not in (None, "", ":memory:"):
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection) -> None:
        connection.exec_driver_sql("BEGIN" if _read_only_request() else "BEGIN IMMEDIATE")


def _read_only_request() -> bool:
    """GET and HEAD requests never write, so they read from a WAL snapshot without taking the
    write lock; every other transaction (forms, tasks, commands) takes it at BEGIN."""
    return has_request_context() and request.method in ("GET", "HEAD", "OPTIONS")


def enum_column(enum_cls: type[StrEnum], name: str) -> SAEnum:
    """A portable enum column: VARCHAR plus a named CHECK constraint on every database.

    Native PostgreSQL enums need hand-written migrations for every new value; a CHECK
    constraint is altered like any other.
    """
    return SAEnum(
        enum_cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=32,
        values_callable=lambda members: [m.value for m in members],
        validate_strings=True,
    )


def render_migration_item(type_: str, obj, autogen_context):
    """Write our column types into migrations as plain SQLAlchemy types.

    Migrations must not import application code: the code changes, old migrations must not.
    """
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False
