"""A statement sent without waiting (``core.db.Unawaited``): ``send`` returns while the
server still works on it, ``rows`` returns once it is committed, the values reach the
database as SQLAlchemy would bind them, and a failure is raised by ``rows``."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from enum import StrEnum

import psycopg
import pytest
from sqlalchemy import Column, Integer, MetaData, Table, bindparam, select, update
from sqlalchemy.engine import Connection

from backoffice.core.db import Unawaited, UTCDateTime, enum_column
from backoffice.extensions import db as _db

pytestmark = pytest.mark.postgres_only  # libpq's connection; SQLite has no round trips


class ReminderState(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"


probes = Table("unawaited_probes", MetaData(), Column("id", Integer, primary_key=True),
               Column("state", enum_column(ReminderState, "probe_state")),
               Column("at", UTCDateTime))
SET = (update(probes).where(probes.c.id == bindparam("probe_id"))
       .values(state=bindparam("state"), at=bindparam("at")).returning(probes.c.id))


@pytest.fixture
def autocommit(db) -> Iterator[Connection]:
    with _db.engine.connect() as setup:
        probes.create(setup)
        setup.execute(probes.insert(), [{"id": 1}, {"id": 2}])
        setup.commit()
    try:
        with _db.engine.connect() as connection:
            yield connection.execution_options(isolation_level="AUTOCOMMIT")
    finally:
        with _db.engine.connect() as setup:
            probes.drop(setup)
            setup.commit()


def committed(probe_id: int):
    """The row as another connection sees it: only what is committed."""
    with _db.engine.connect() as other:
        return other.execute(select(probes.c.state, probes.c.at)
                             .where(probes.c.id == probe_id)).one()


def test_send_returns_before_the_commit_and_rows_after_it(autocommit):
    statement = Unawaited(autocommit, SET)
    at = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
    with _db.engine.connect() as locker:
        # Another transaction holds the row: the statement cannot finish until it lets go.
        locker.execute(select(probes.c.id).where(probes.c.id == 1).with_for_update())
        statement.send({"probe_id": 1, "state": ReminderState.SENT, "at": at})
        assert statement.in_flight
        assert committed(1) == (None, None)
        locker.rollback()
    assert statement.rows() == [("1",)]
    assert not statement.in_flight
    assert committed(1) == (ReminderState.SENT, at)


def test_the_values_are_bound_as_sqlalchemy_binds_them(autocommit):
    """The column types' own conversions apply (the enum's value, the instant in UTC): the
    row written without waiting equals the one SQLAlchemy's execute writes."""
    at = datetime(2026, 3, 1, 17, 30, tzinfo=timezone(timedelta(hours=8)))
    values = {"state": ReminderState.FAILED, "at": at}
    autocommit.execute(SET, {"probe_id": 1} | values)
    statement = Unawaited(autocommit, SET)
    statement.send({"probe_id": 2} | values)
    statement.rows()
    assert committed(2) == committed(1) == (ReminderState.FAILED, at)


def test_a_failing_statement_raises_and_leaves_the_connection_usable(autocommit):
    statement = Unawaited(autocommit, SET)
    statement.send({"probe_id": 1, "state": ReminderState.SENT, "at": None})
    statement.rows()
    clash = Unawaited(autocommit, update(probes).where(probes.c.id == 2)
                      .values(id=1).returning(probes.c.id))
    clash.send({})
    with pytest.raises(psycopg.errors.UniqueViolation, match="duplicate key"):
        clash.rows()
    statement.send({"probe_id": 2, "state": ReminderState.PENDING, "at": None})
    assert statement.rows() == [("2",)]


def test_it_needs_a_connection_in_autocommit(db):
    with _db.engine.connect() as connection, pytest.raises(ValueError, match="autocommit"):
        Unawaited(connection, SET)
