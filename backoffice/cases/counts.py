"""How many cases each scheme has in each status, kept as counts rather than counted.

The quota dashboard's pipeline (submitted, under review, awaiting quota) and the waiting
line's length are read from these rows: a count of index entries grew with the office (8 ms
for 47,000 pipeline cases at 1M cases); a row read does not.

The counts move in the same transaction as the change they count, by statements that add to
the stored number (``core.db.add_to_counts``), so two steps at once both count whichever
commits first. A savepoint rolled back takes its counts with it.

On PostgreSQL a transaction locks every count row, in one order, the first time it moves a
case, and holds them to its commit. Locking only the rows each step writes would deadlock:
one transaction that receives a case and then refuses it holds "under review" and wants
"refused", while a colleague's refusal holds "refused" and wants "under review". So the
steps that move cases run one after another from their first count on: a short wait at a
back office's rate (a few steps a second), never a lost count or a refused step. (SQLite
runs one writing transaction at a time anyway.)
"""

from __future__ import annotations

import weakref
from collections import Counter
from collections.abc import Iterable

from sqlalchemy import ColumnElement, delete, func, insert, select

from backoffice.cases.models import Case, CaseStatusCount
from backoffice.cases.schemes import CaseStatus, Scheme
from backoffice.core.db import add_to_counts
from backoffice.extensions import db

_KEYS = ("scheme", "status")


def _lock_every_count() -> None:
    """Lock all the count rows, in key order, once per transaction (or savepoint: one rolled
    back lets its locks go, so each savepoint takes them again; taking a lock already held
    costs nothing)."""
    if db.session.get_bind().dialect.name != "postgresql":
        return
    session = db.session()  # the request's Session (the scoped proxy lacks these methods)
    locked = session.info.setdefault("case_status_counts_locked", weakref.WeakSet())
    if _innermost(session) in locked:
        return
    session.execute(select(CaseStatusCount.scheme)
                    .order_by(CaseStatusCount.scheme, CaseStatusCount.status)
                    .with_for_update())
    locked.add(_innermost(session))  # begun by now, if it was not


def _innermost(session):
    return session.get_nested_transaction() or session.get_transaction()


def count_moves(moves: Iterable[tuple[Scheme, CaseStatus | None, CaseStatus, int]]) -> None:
    """Count ``n`` cases of ``scheme`` moved from one status (None: a new case) to another."""
    changes: Counter[tuple[str, str]] = Counter()
    for scheme, from_status, to_status, n in moves:
        if from_status is not None:
            changes[(scheme.value, from_status.value)] -= n
        changes[(scheme.value, to_status.value)] += n
    moved = {key: n for key, n in changes.items() if n}  # a step that keeps its status: none
    if not moved:
        return
    _lock_every_count()
    add_to_counts(CaseStatusCount, _KEYS, moved, "cases")


def count_scheme_change(status: CaseStatus, from_scheme: Scheme, to_scheme: Scheme) -> None:
    """Count one case of ``status`` moved from ``from_scheme``'s count to ``to_scheme``'s (a
    draft's change of scheme: the case keeps its status, its scheme's count changes)."""
    if from_scheme == to_scheme:
        return
    _lock_every_count()
    add_to_counts(CaseStatusCount, _KEYS, {(from_scheme.value, status.value): -1,
                                           (to_scheme.value, status.value): 1}, "cases")


def count_moved_from(chosen: ColumnElement[bool], to_status: CaseStatus) -> None:
    """Count the cases ``chosen`` selects as moving to ``to_status``, before they move: one
    GROUP BY over the chosen rows (the set-based steps lock them first)."""
    rows = db.session.execute(select(Case.scheme, Case.status, func.count())
                              .where(chosen).group_by(Case.scheme, Case.status))
    count_moves((Scheme(scheme), CaseStatus(status), to_status, n) for scheme, status, n in rows)


def status_counts(scheme: Scheme, statuses: Iterable[CaseStatus]) -> dict[CaseStatus, int]:
    """The number of ``scheme``'s cases in each of ``statuses`` (0 for a status never used)."""
    wanted = list(statuses)
    counts = dict.fromkeys(wanted, 0)
    rows = db.session.execute(select(CaseStatusCount.status, CaseStatusCount.cases)
                              .where(CaseStatusCount.scheme == scheme,
                                     CaseStatusCount.status.in_(wanted)))
    counts.update({CaseStatus(status): n for status, n in rows})
    return counts


def counted_cases() -> dict[tuple[str, str], int]:
    """Every stored count that is not zero, keyed (scheme, status): the rows as kept."""
    rows = db.session.execute(select(CaseStatusCount.scheme, CaseStatusCount.status,
                                     CaseStatusCount.cases).where(CaseStatusCount.cases != 0))
    return {(str(scheme), str(status)): n for scheme, status, n in rows}


def real_counts() -> dict[tuple[str, str], int]:
    """The same numbers counted from the cases themselves (a scan: for checks and tests)."""
    rows = db.session.execute(select(Case.scheme, Case.status, func.count())
                              .group_by(Case.scheme, Case.status))
    return {(str(scheme), str(status)): n for scheme, status, n in rows}


def rebuild_status_counts() -> None:
    """Count every scheme's cases per status again from the cases, set-based (one DELETE and
    one INSERT ... SELECT ... GROUP BY): for data written around the services."""
    db.session.execute(delete(CaseStatusCount).execution_options(synchronize_session=False))
    db.session.execute(insert(CaseStatusCount).from_select(
        ["scheme", "status", "cases"],
        select(Case.scheme, Case.status, func.count()).group_by(Case.scheme, Case.status)))
    db.session.flush()
