"""The cases' stored status counts (``cases.counts``) follow every way a case is made or moves:
created, one step, a step refused into its fallback (quota full), a batch approval with a
case passed over (its savepoint rolled back), the set-based sweep; a rebuild from the cases
gives the same numbers; and the dashboard and the waiting line read them, not the cases.
(Every other test checks the same equality when it ends: ``tests/conftest.py``.) Run on
SQLite and PostgreSQL."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from sqlalchemy import update

from backoffice.auth.models import Role
from backoffice.cases import counts, deadline_sweep, queries, services, waiting
from backoffice.cases.models import Case, CaseStatusCount
from backoffice.cases.schemes import CaseStatus, Scheme
from backoffice.core.dates import hk_today
from backoffice.core.db import CountsOutOfStep
from backoffice.extensions import db as _db
from backoffice.quota.models import QuotaPeriod
from backoffice.reports.dashboard import pipeline_counts
from tests.cases.factories import NOW, hk_morning, make_case, step_data
from tests.cases.test_page_statements import counted_statements

S = CaseStatus
YEAR = hk_today().year


def kept() -> dict[tuple[str, str], int]:
    _db.session.expire_all()
    assert counts.counted_cases() == counts.real_counts()
    return counts.counted_cases()


def full_quota() -> None:
    _db.session.execute(update(QuotaPeriod).where(QuotaPeriod.scheme == "QMAS",
                                                  QuotaPeriod.year == YEAR)
                        .values(quota_limit=QuotaPeriod.allocated))
    _db.session.commit()


def create(worker, _boss):
    make_case(worker, Scheme.GEP_PRO)
    return {("GEP_PRO", "draft"): 1}


def walk(worker, _boss):
    for scheme in Scheme:
        make_case(worker, scheme, S.IN_STAY)
    return {(scheme.value, "in_stay"): 1 for scheme in Scheme}


def fallback(worker, _boss):
    """Approve with no place left: the case takes the fallback step to Awaiting quota."""
    case = make_case(worker, Scheme.QMAS, S.UNDER_REVIEW)
    full_quota()
    with pytest.raises(services.QuotaBlocked):
        services.transition(case, "approve", worker, data=step_data("approve", hk_today()))
    _db.session.commit()
    return {("QMAS", "awaiting_quota"): 1}


def batch_with_one_passed_over(worker, boss):
    """Two waiting, two places offered, the first changed meanwhile: its savepoint is rolled
    back (and its counts with it), the second approved."""
    line = []
    for _ in range(2):
        case = make_case(worker, Scheme.QMAS, S.UNDER_REVIEW)
        services.transition(case, "hold_for_quota", worker,
                            data=step_data("hold_for_quota", hk_today()))
        line.append(case)
    _db.session.commit()
    versions = {case.id: case.version for case in line}
    _db.session.execute(update(Case).where(Case.id == line[0].id)
                        .values(version=Case.version + 1))
    _db.session.commit()
    outcome = waiting.approve_in_line(boss, list(versions.items()))
    _db.session.commit()
    assert len(outcome.approved) == 1
    return {("QMAS", "awaiting_quota"): 1, ("QMAS", "approved"): 1}


def sweep(worker, _boss):
    """Stays past their end lapse together (one set-based step for many cases)."""
    ended = [make_case(worker, scheme, S.IN_STAY, now=NOW)
             for scheme in (Scheme.QMAS, Scheme.QMAS, Scheme.ASSG)]
    _db.session.commit()
    day = max(case.stay_ends_on for case in ended) + timedelta(days=1)
    assert deadline_sweep.sweep(day, now=hk_morning(day))["lapsed"] == 3
    _db.session.commit()
    return {("QMAS", "lapsed"): 2, ("ASSG", "lapsed"): 1}


@pytest.mark.parametrize("happen", [create, walk, fallback, batch_with_one_passed_over, sweep])
def test_the_counts_follow_every_way_a_case_is_made_or_moves(db, make_user, happen):
    worker, boss = make_user(Role.CASEWORKER), make_user(Role.SUPERVISOR)
    assert happen(worker, boss) == kept()
    counts.rebuild_status_counts()
    _db.session.commit()
    assert counts.counted_cases() == kept()


def test_the_dashboard_and_the_line_read_the_counts_not_the_cases(db, make_user):
    worker = make_user(Role.CASEWORKER)
    make_case(worker, Scheme.QMAS, S.SUBMITTED)
    make_case(worker, Scheme.QMAS, S.UNDER_REVIEW)
    make_case(worker, Scheme.GEP_PRO, S.UNDER_REVIEW)
    with counted_statements() as statements:
        assert pipeline_counts() == {S.SUBMITTED: 1, S.UNDER_REVIEW: 1, S.AWAITING_QUOTA: 0}
        assert queries.waiting_count(Scheme.QMAS) == 0
    assert len(statements) == 2
    assert all("case_status_counts" in s and " cases" not in s for s in statements), statements


def test_a_count_to_lower_that_was_never_kept_fails_loudly(db, make_user):
    """A case written around the services (no count) cannot move silently: the count it
    would leave is missing, and the step fails as a fault."""
    worker = make_user(Role.CASEWORKER)
    case = make_case(worker, Scheme.QMAS)
    _db.session.execute(CaseStatusCount.__table__.delete())
    _db.session.flush()
    with pytest.raises(CountsOutOfStep):
        services.transition(case, "submit", worker, data=step_data("submit", hk_today()))
    _db.session.rollback()
    counts.rebuild_status_counts()
    _db.session.commit()


@pytest.mark.postgres_only  # SQLite runs one writing transaction at a time
def test_two_transactions_moving_cases_through_the_same_statuses_never_deadlock(race_app, db):
    """One transaction receives a case and then refuses it (under review, then refused); a
    colleague's refusal (refused and under review) starts in between. Locking only the rows
    each step writes, each would hold one the other wants; the first count of each locks
    them all in one order, so the second waits and both commit."""
    db.session.add_all([CaseStatusCount(scheme=Scheme.QMAS, status=status, cases=5)
                        for status in (S.SUBMITTED, S.UNDER_REVIEW, S.REFUSED)])
    db.session.commit()
    started, errors = threading.Barrier(2, timeout=20), []

    def receive_then_refuse() -> None:
        with race_app.app_context():
            try:
                counts.count_moves([(Scheme.QMAS, S.SUBMITTED, S.UNDER_REVIEW, 1)])
                started.wait()
                time.sleep(0.3)  # the colleague's refusal is under way meanwhile
                counts.count_moves([(Scheme.QMAS, S.UNDER_REVIEW, S.REFUSED, 1)])
                _db.session.commit()
            except Exception as error:  # the assertion below names it
                errors.append(error)
                started.abort()
            finally:
                _db.session.remove()

    def refuse() -> None:
        with race_app.app_context():
            try:
                started.wait()
                counts.count_moves([(Scheme.QMAS, S.UNDER_REVIEW, S.REFUSED, 1)])
                _db.session.commit()
            except Exception as error:
                errors.append(error)
            finally:
                _db.session.remove()

    threads = [threading.Thread(target=receive_then_refuse), threading.Thread(target=refuse)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        assert errors == []
        _db.session.expire_all()
        assert counts.status_counts(Scheme.QMAS, [S.SUBMITTED, S.UNDER_REVIEW, S.REFUSED]) \
            == {S.SUBMITTED: 4, S.UNDER_REVIEW: 4, S.REFUSED: 7}
    finally:
        _db.session.rollback()
        _db.session.execute(CaseStatusCount.__table__.delete())  # no cases behind them
        _db.session.commit()
