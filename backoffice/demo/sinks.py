"""Where bulk rows go: PostgreSQL ``COPY`` on the session's connection, or chunked Core
``executemany`` elsewhere; the reference blocks and the PostgreSQL manual's "drop the indexes
and foreign keys, load, re-create" for big loads."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import JSON, func, insert, select, update

from backoffice.cases.models import (
    Applicant,
    Case,
    CaseEvent,
    Deadline,
    Dependant,
    JobOffer,
    ReferenceCounter,
)
from backoffice.cases.schemes import Scheme
from backoffice.core.db import dialect_insert
from backoffice.demo.rows import NULL
from backoffice.extensions import db
from backoffice.quota.models import QuotaAllocation


def reserve_references(counts: Counter) -> dict[tuple[Scheme, int], int]:
    """Take a block of reference numbers per (scheme, year); return each block's first number.

    The same atomic ``UPDATE ... SET last = last + n RETURNING last`` the service uses, so a
    case created while (or after) the load runs can never collide with a bulk reference.
    """
    first: dict[tuple[Scheme, int], int] = {}
    for (scheme, year), n in sorted(counts.items()):
        bump = (update(ReferenceCounter)
                .where(ReferenceCounter.scheme == scheme, ReferenceCounter.year == year)
                .values(last=ReferenceCounter.last + n)
                .returning(ReferenceCounter.last))
        last = db.session.execute(bump).scalar()
        if last is None:
            db.session.execute(dialect_insert(ReferenceCounter)
                               .values(scheme=scheme, year=year, last=0)
                               .on_conflict_do_nothing())
            last = db.session.execute(bump).scalar()
        first[(scheme, year)] = last - n + 1
    return first


def number(keys: Sequence[tuple[Scheme, int]]) -> list[str]:
    """Reference for each case of a chunk, from blocks reserved in ``reference_counters``."""
    first = reserve_references(Counter(keys))
    references = []
    for key in keys:
        n = first[key]
        first[key] = n + 1
        references.append(f"{key[0].value}-{key[1]}-{n:06d}")
    return references


class PostgresSink:
    """COPY (text format) into PostgreSQL on the session's own connection: one transaction.

    The tables whose ids the loader hands out are locked against other writers (readers carry
    on) for the load, so a block of ids can be taken from each sequence in one statement.
    """

    def __init__(self) -> None:
        self.conn = db.session.connection().connection.driver_connection
        self.conn.execute("LOCK TABLE applicants, cases, case_events, dependants "
                          "IN SHARE ROW EXCLUSIVE MODE")

    def ids(self, table: str, n: int) -> range:
        row = self.conn.execute(
            "SELECT setval(s, nextval(s) + %s - 1) FROM pg_get_serial_sequence(%s, 'id') s",
            (n, table)).fetchone()
        return range(row[0] - n + 1, row[0] + 1)

    def write_text(self, table: str, columns: Sequence[str], data: str) -> None:
        if not data:
            return
        with self.conn.cursor() as cur, cur.copy(
                f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
            copy.write(data.encode())


def lines(rows: Iterable[Sequence[str]]) -> str:
    text_ = "\n".join(map("\t".join, rows))
    return text_ + "\n" if text_ else ""


def _from_text(column) -> Callable[[str], object]:
    """How to turn one COPY text field back into a Python value for ``column``."""
    if isinstance(column.type, JSON):  # as rows.json_text wrote it (COPY-escaped backslashes)
        return lambda v: json.loads(v.replace("\\\\", "\\"))
    python_type = column.type.python_type if not hasattr(column.type, "impl") else (
        column.type.impl.python_type)
    if python_type is bool:
        return lambda v: v == "t"
    if python_type is int:
        return int
    if python_type is datetime:
        return datetime.fromisoformat
    if python_type is date:
        return date.fromisoformat
    if python_type is Decimal:
        return Decimal
    return str


class CoreSink:
    """Chunked Core ``executemany`` for SQLite (and any other database), from the same rows."""

    def __init__(self) -> None:
        self.next_id = {
            name: (db.session.scalar(select(func.max(model.id))) or 0) + 1
            for name, model in (("applicants", Applicant), ("cases", Case),
                                ("job_offers", JobOffer))}
        self.tables = {m.__tablename__: m.__table__ for m in (
            Applicant, Case, CaseEvent, Dependant, Deadline, JobOffer, QuotaAllocation)}

    def ids(self, table: str, n: int) -> range:
        start = self.next_id[table]
        self.next_id[table] = start + n
        return range(start, start + n)

    def write(self, table: str, columns: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
        if not rows:
            return
        target = self.tables[table]
        convert = [(name, _from_text(target.c[name])) for name in columns]
        params = [{name: None if value == NULL else to(value)
                   for (name, to), value in zip(convert, row, strict=True)} for row in rows]
        db.session.execute(insert(target), params)


def deferrable_schema(tables: Sequence[str]) -> tuple[list[str], list[str]]:
    """The DDL to drop and to re-create the non-unique indexes and the foreign keys of
    ``tables``: the PostgreSQL manual's advice for populating a database ("Remove Indexes",
    "Remove Foreign Key Constraints"). Unique indexes and CHECK constraints stay, so they are
    checked as rows arrive; re-adding a foreign key validates every row in one pass.
    """
    conn = db.session.connection().connection.driver_connection
    indexes = conn.execute(
        "SELECT c.relname, pg_get_indexdef(i.indexrelid) FROM pg_index i "
        "JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_class t ON t.oid = i.indrelid "
        "JOIN pg_namespace n ON n.oid = t.relnamespace "
        "WHERE n.nspname = current_schema() AND t.relname = ANY(%s) "
        "AND NOT i.indisunique AND NOT i.indisprimary ORDER BY 1", (list(tables),)).fetchall()
    foreign_keys = conn.execute(
        "SELECT t.relname, c.conname, pg_get_constraintdef(c.oid) FROM pg_constraint c "
        "JOIN pg_class t ON t.oid = c.conrelid JOIN pg_namespace n ON n.oid = t.relnamespace "
        "WHERE n.nspname = current_schema() AND t.relname = ANY(%s) AND c.contype = 'f' "
        "ORDER BY 1, 2", (list(tables),)).fetchall()
    drop = [f'ALTER TABLE {t} DROP CONSTRAINT "{name}"' for t, name, _ in foreign_keys]
    drop += [f'DROP INDEX "{name}"' for name, _ in indexes]
    create = [definition for _, definition in indexes]
    create += [f'ALTER TABLE {t} ADD CONSTRAINT "{name}" {definition}'
               for t, name, definition in foreign_keys]
    return drop, create
