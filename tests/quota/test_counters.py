"""The dashboard's counters (each year's active places per month and per nationality) always
equal a count of the active allocations, whatever sequence of takes, releases, moves and
limit changes made them; ``rebuild_counters`` gives the same numbers. Run on SQLite and
PostgreSQL."""

from __future__ import annotations

import random
from collections import Counter
from contextlib import suppress
from datetime import date

import pytest
from sqlalchemy import func, select

from backoffice.auth.models import Role
from backoffice.cases.models import Case
from backoffice.extensions import db as _db
from backoffice.quota import services as quota
from backoffice.quota.models import (
    QuotaAllocation,
    QuotaMonthCount,
    QuotaNationalityCount,
    QuotaPeriod,
)
from tests.cases.factories import make_case

YEARS = (2026, 2027)
NATIONALITIES = ("CN", "IN", "GB", "US", "CA")


def counters() -> dict[str, dict[tuple, int]]:
    """The stored counters, without the rows back at zero (a nationality whose places were
    all given back keeps its row)."""
    return {
        "months": {(p, m): n for p, m, n in _db.session.execute(
            select(QuotaMonthCount.period_id, QuotaMonthCount.month, QuotaMonthCount.allocated))
            if n},
        "nationalities": {(p, c): n for p, c, n in _db.session.execute(
            select(QuotaNationalityCount.period_id, QuotaNationalityCount.nationality,
                   QuotaNationalityCount.allocated)) if n},
    }


def counted() -> dict[str, dict[tuple, int]]:
    """The same numbers counted from the active allocations, in Python from their rows."""
    months: dict[tuple, int] = {}
    nationalities: dict[tuple, int] = {}
    for period_id, year, on, nationality in _db.session.execute(
            select(QuotaAllocation.period_id, QuotaPeriod.year, QuotaAllocation.allocated_on,
                   QuotaAllocation.nationality)
            .join(QuotaPeriod, QuotaPeriod.id == QuotaAllocation.period_id)
            .where(QuotaAllocation.released_at.is_(None))):
        month = on.month if on.year == year else (1 if on.year < year else 12)
        months[(period_id, month)] = months.get((period_id, month), 0) + 1
        nationalities[(period_id, nationality)] = nationalities.get(
            (period_id, nationality), 0) + 1
    return {"months": months, "nationalities": nationalities}


def assert_counters_true() -> None:
    _db.session.expire_all()
    assert counters() == counted()
    for period in _db.session.scalars(select(QuotaPeriod)):
        assert sum(n for (p, _m), n in counters()["months"].items() if p == period.id) \
            == period.allocated


@pytest.mark.parametrize(("year", "on", "month"), [
    (2026, date(2026, 1, 1), 1),
    (2026, date(2026, 6, 30), 6),
    (2026, date(2026, 12, 31), 12),
    (2026, date(2025, 12, 31), 1),   # back-dated before the year: its first month
    (2026, date(2019, 7, 1), 1),
    (2026, date(2027, 1, 1), 12),    # after the year: its last month
])
def test_a_place_counts_in_its_month_or_the_nearest(year, on, month):
    assert quota.counted_month(year, on) == month


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_counters_equal_the_allocations_after_any_sequence(db, make_user, seed):
    """A seeded random walk of takes, set-based and single releases, moves within and across
    years, and limit changes; after every step the counters equal a count of the active
    allocations, and a rebuild from the allocations changes nothing."""
    rng = random.Random(seed)  # a reproducible sequence
    supervisor = make_user(Role.SUPERVISOR)
    worker = make_user(Role.CASEWORKER)
    for year in YEARS:
        quota.set_limit(supervisor, "QMAS", year, rng.randint(3, 6))
    case_ids = [make_case(worker).id for _ in range(10)]
    db.session.commit()
    nationality = {case_id: rng.choice(NATIONALITIES) for case_id in case_ids}
    holding: set[int] = set()
    done: Counter[str] = Counter()  # what the walk really did, so it tests every path

    def a_day() -> date:
        return date(rng.choice(YEARS), rng.randint(1, 12), rng.randint(1, 28))

    for _step in range(100):
        action = rng.choice(["take", "take", "release", "release_set", "move", "move", "limit"])
        if action == "take" and len(holding) < len(case_ids):
            case_id = rng.choice([c for c in case_ids if c not in holding])
            try:
                quota.take_place(case_id, "QMAS", a_day(), worker, nationality[case_id])
                holding.add(case_id)
                done["take"] += 1
            except quota.QuotaFull:
                done["full"] += 1
        elif action == "release" and holding:
            case_id = rng.choice(sorted(holding))
            assert quota.release_place(case_id, worker, "withdraw", None) is not None
            holding.discard(case_id)
            done["release"] += 1
        elif action == "release_set":
            chosen = rng.sample(case_ids, rng.randint(1, 4))  # some hold no place: skipped
            given_back = quota.release_places(select(Case.id).where(Case.id.in_(chosen)),
                                              worker, "lapse", None)
            assert given_back == len(holding & set(chosen))
            holding -= set(chosen)
            if given_back:
                done["release_set"] += 1
        elif action == "move" and holding:
            case_id = rng.choice(sorted(holding))
            with suppress(quota.QuotaFull):  # the other year is full: nothing moved
                moved = quota.move_place(case_id, "QMAS", a_day(), worker)
                done["move_years" if moved else "move"] += 1
        elif action == "limit":
            # Below what is allocated: refused, nothing changed.
            with suppress(quota.QuotaError):
                quota.set_limit(supervisor, "QMAS", rng.choice(YEARS), rng.randint(0, 8))
                done["limit"] += 1
        db.session.flush()
        assert_counters_true()
    db.session.commit()
    assert set(done) >= {"take", "release", "release_set", "move", "move_years", "limit"}, done

    incremental = counters()
    quota.rebuild_counters()
    db.session.commit()
    assert counters() == incremental
    quota.rebuild_counters([_db.session.scalar(select(func.min(QuotaPeriod.id)))])
    assert counters() == incremental


def test_a_back_dated_place_counts_in_the_nearest_month_and_is_given_back_there(db,
                                                                                  make_user):
    """A row written around the services with a date outside its year (old data) is counted
    by a rebuild in the nearest month, and the services' release lowers that same month."""
    supervisor = make_user(Role.SUPERVISOR)
    quota.set_limit(supervisor, "QMAS", 2026, None)
    period = quota.get_period("QMAS", 2026)
    early, late = make_case(supervisor), make_case(supervisor)
    for case, on in ((early, date(2025, 11, 3)), (late, date(2027, 2, 1))):
        db.session.add(QuotaAllocation(period_id=period.id, case_id=case.id, nationality="GB",
                                       allocated_on=on))
    period.allocated = 2
    quota.rebuild_counters([period.id])
    db.session.commit()
    assert counters()["months"] == {(period.id, 1): 1, (period.id, 12): 1}
    quota.release_place(early.id, supervisor, "withdraw", None)
    db.session.commit()
    assert counters() == {"months": {(period.id, 12): 1},
                          "nationalities": {(period.id, "GB"): 1}}
    assert_counters_true()


def test_a_place_written_around_the_services_is_never_hidden_when_given_back(db, make_user):
    """Without a rebuild, the count to lower is missing: the release fails loudly (a fault)
    rather than leave the counters out of step."""
    supervisor = make_user(Role.SUPERVISOR)
    quota.set_limit(supervisor, "QMAS", 2026, None)
    period = quota.get_period("QMAS", 2026)
    case = make_case(supervisor)
    db.session.add(QuotaAllocation(period_id=period.id, case_id=case.id, nationality="GB",
                                   allocated_on=date(2026, 5, 5)))
    period.allocated = 1
    db.session.flush()
    with pytest.raises(quota.CountersOutOfStep):
        quota.release_place(case.id, supervisor, "withdraw", None)
    db.session.rollback()


def test_a_move_within_the_year_moves_the_month_count(db, make_user):
    supervisor = make_user(Role.SUPERVISOR)
    quota.set_limit(supervisor, "QMAS", 2026, 5)
    case = make_case(supervisor, nationality="IN")
    quota.take_place(case.id, "QMAS", date(2026, 3, 9), supervisor, "IN")
    quota.move_place(case.id, "QMAS", date(2026, 8, 1), supervisor)
    db.session.commit()
    period = quota.get_period("QMAS", 2026)
    assert counters() == {"months": {(period.id, 8): 1},
                          "nationalities": {(period.id, "IN"): 1}}
