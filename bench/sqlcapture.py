"""Capture the SQL the app sends and replay it through psycopg: the "raw SQL" every bench
compares the app with is the app's own statements, never a hand-kept copy that can drift."""

from __future__ import annotations

from collections.abc import Callable

import psycopg
from sqlalchemy import event

from backoffice.extensions import db

Statements = list[tuple[str, object]]


def capture(work: Callable[[], object]) -> Statements:
    """The statements (with their parameters) ``work()`` sends, in order; then roll back.

    Call inside an app context. Transaction control (BEGIN, COMMIT) is not a statement here.
    """
    statements: Statements = []

    def listener(_conn, _cursor, statement, parameters, _context, _many):
        statements.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", listener)
    try:
        work()
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)
        db.session.rollback()
    return statements


def replay(conn: psycopg.Connection, statements: Statements) -> None:
    """Run ``statements`` through psycopg in one transaction, read every result, roll back."""
    with conn.cursor() as cursor:
        for statement, parameters in statements:
            cursor.execute(statement, parameters)
            if cursor.description is not None:
                cursor.fetchall()
    conn.rollback()
