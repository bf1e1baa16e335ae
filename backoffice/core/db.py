"""Database helpers shared by every feature: column types and engine set-up."""

from __future__ import annotations

import selectors
import time
from datetime import UTC, datetime
from enum import StrEnum

import psycopg
from flask import has_request_context, request
from sqlalchemy import DateTime, event, exc, update
from sqlalchemy import Enum as SAEnum
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine, Result
from sqlalchemy.sql import ClauseElement, Executable
from sqlalchemy.types import TypeDecorator

from backoffice.extensions import db


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


def ping_when_idle(engine: Engine, idle_seconds: float) -> None:
    """Ping a pooled connection at checkout only when it has sat unused for ``idle_seconds``.

    ``pool_pre_ping`` pings on every checkout: one round trip more on every request (a
    quarter of the trivial signed-in request's four). A connection that was lost while idle
    (a database restart, a firewall's idle timeout) is the case a ping exists for; one in use
    a moment ago is not. A connection lost between two busy requests fails that one request
    and SQLAlchemy then discards the pool's older connections (its disconnect handling), as
    it would without any ping. The ping that fails makes the pool open a fresh connection
    (SQLAlchemy's documented recipe: raise DisconnectionError at checkout).
    """

    @event.listens_for(engine, "checkin")
    def _on_checkin(_dbapi_connection, record) -> None:
        record.info["used_at"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _on_checkout(dbapi_connection, record, _proxy) -> None:
        used_at = record.info.get("used_at")
        if used_at is None or time.monotonic() - used_at < idle_seconds:
            return  # new (just connected) or used a moment ago
        try:
            alive = engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.Error as error:
            raise exc.DisconnectionError("the idle connection was lost") from error
        if not alive:
            raise exc.DisconnectionError("the idle connection was lost")


class Unawaited:
    """One statement at a time sent on a PostgreSQL connection in autocommit without waiting
    for its result (``send``), which is read later (``rows``). A statement in autocommit is
    its own transaction: the server commits it, flushing the WAL to disk (most of a small
    write's cost), while the caller does other work. Once ``rows`` returns, it is durable.

    Neither SQLAlchemy nor psycopg sends without waiting: psycopg's pipeline mode commits
    only at a sync, which waits for the results. So this sends ``statement``, as SQLAlchemy
    compiles it and with the values its column types would bind, quoted by psycopg
    (``ClientCursor.mogrify``), as one simple query on libpq's connection (``psycopg.pq``).
    The connection is this object's between ``send`` and ``rows``; nothing else may use it.
    """

    def __init__(self, connection: Connection, statement: ClauseElement) -> None:
        self._driver = connection.connection.driver_connection
        if not self._driver.autocommit:
            raise ValueError("an unawaited statement needs a connection in autocommit")
        self._compiled = statement.compile(dialect=connection.dialect)
        self._processors = {name: processor for bind, name in self._compiled.bind_names.items()
                            if (processor := bind.type.bind_processor(connection.dialect))}
        self._quote = psycopg.ClientCursor(self._driver)
        self._in_flight = False

    @property
    def in_flight(self) -> bool:
        """Sent, and its result not read yet."""
        return self._in_flight

    def send(self, values: dict) -> None:
        """Send the statement with ``values`` (its bound parameters) and return at once."""
        if self._in_flight:
            raise RuntimeError("the previous statement's result was not read")
        params = self._compiled.construct_params(values)
        for name, processor in self._processors.items():
            params[name] = processor(params[name])
        sql = self._quote.mogrify(self._compiled.string, params)
        pgconn = self._driver.pgconn
        pgconn.send_query(sql.encode(self._driver.info.encoding))
        self._in_flight = True
        while pgconn.flush():  # what the socket did not take yet
            _wait_for(pgconn.socket, selectors.EVENT_WRITE)

    def rows(self) -> list[tuple[str | None, ...]]:
        """Wait for the statement's result: the rows it returned, as PostgreSQL wrote their
        values (text). Raises psycopg's error for what failed (``psycopg.errors``: a lost
        connection is an OperationalError, which SQLAlchemy's pool replaces on its return)."""
        if not self._in_flight:
            raise RuntimeError("no statement was sent")
        pgconn = self._driver.pgconn
        try:
            pgconn.consume_input()
            while pgconn.is_busy():
                _wait_for(pgconn.socket, selectors.EVENT_READ)
                pgconn.consume_input()
            results = []
            while (result := pgconn.get_result()) is not None:
                results.append(result)
        finally:
            self._in_flight = False
        encoding = self._driver.info.encoding
        rows = []
        for result in results:
            if result.status not in (psycopg.pq.ExecStatus.TUPLES_OK,
                                     psycopg.pq.ExecStatus.COMMAND_OK):
                sqlstate = result.error_field(psycopg.pq.DiagnosticField.SQLSTATE)
                error = (psycopg.errors.lookup(sqlstate.decode()) if sqlstate
                         else psycopg.DatabaseError)
                raise error(result.error_message.decode(encoding, "replace"))
            for row in range(result.ntuples):
                rows.append(tuple(None if (value := result.get_value(row, column)) is None
                                  else value.decode(encoding)
                                  for column in range(result.nfields)))
        return rows


def _wait_for(fd: int, events: int) -> None:
    with selectors.DefaultSelector() as selector:
        selector.register(fd, events)
        selector.select()


def _read_only_request() -> bool:
    """GET and HEAD requests never write, so they read from a WAL snapshot without taking the
    write lock; every other transaction (forms, tasks, commands) takes it at BEGIN."""
    return has_request_context() and request.method in ("GET", "HEAD", "OPTIONS")


class CountsOutOfStep(RuntimeError):
    """A count to lower has no row: the rows it counts were written around the code that
    keeps it (and its rebuild was not run after). A fault, never a refusal."""


def add_to_counts(model: type, keys: tuple[str, ...], changes: dict[tuple, int],
                  count: str) -> None:
    """Add each change to its stored count (``model``'s column ``count``, keyed by the
    columns ``keys``), in key order, so concurrent writers lock the rows in the same order.

    Positive changes go in by one upsert, which creates a row at its first count. Negative
    ones lower rows that must exist, one UPDATE each: the databases check a CHECK on the
    proposed row before resolving a conflict, so a negative upsert would fail even where a row
    exists. A count that would go below zero fails on the model's CHECK: a count out of step
    with what it counts is an error, never hidden.
    """
    ordered = sorted(changes.items())
    column = getattr(model, count)
    key_columns = [getattr(model, key) for key in keys]
    added = [{**dict(zip(keys, key, strict=True)), count: change}
             for key, change in ordered if change > 0]
    if added:
        statement = dialect_insert(model).values(added)
        db.session.execute(statement.on_conflict_do_update(
            index_elements=key_columns, set_={count: column + statement.excluded[count]}))
    for key, change in ordered:
        if change >= 0:
            continue
        lowered = db.session.execute(
            update(model).where(*(c == v for c, v in zip(key_columns, key, strict=True)))
            .values({count: column + change})
            .execution_options(synchronize_session=False)).rowcount
        if lowered != 1:
            raise CountsOutOfStep(f"{model.__tablename__}: no count for {key!r}; rebuild "
                                  "the counts")


def dialect_insert(table):
    """An INSERT into ``table`` (a model or a Table) that takes ``ON CONFLICT``, for the
    session's database: PostgreSQL and SQLite write it alike, and SQLAlchemy has one
    construct per dialect."""
    name = db.session.get_bind().dialect.name
    return {"postgresql": postgresql.insert, "sqlite": sqlite.insert}[name](table)


def read(statement: Executable, parameters: dict | None = None) -> Result:
    """The result of a SELECT of plain columns (no ORM entities), through the session's own
    connection and transaction but around the ORM.

    For the rows a page only shows: the ORM's execution path (its compile state, its result
    wrapping) costs about 0.1 ms a statement on top of Core's, and a page sends several.
    Changes still pending in the session are flushed first, as ``session.execute`` would,
    so that the rows read include them.
    """
    session = db.session
    if session.new or session.dirty or session.deleted:
        session.flush()
    return session.connection().execute(statement, parameters)


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
