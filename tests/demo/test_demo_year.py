"""The demo's current QMAS year looks like a real one: a share of the limit on a curve over the
months so far, never a place after today, and a few cases waiting in order.

The plan is checked as data (``demo.year``, no database), then as loaded: the curated demo
(``flask seed-demo``) and a small bulk load (``--cases 2000``), each seeded once per backend
with the clock frozen on a December day.
"""

from __future__ import annotations

from collections import Counter
from contextlib import contextmanager
from datetime import date
from itertools import pairwise

import pytest
from sqlalchemy import func, select

from backoffice.cases.models import Case
from backoffice.cases.schemes import CaseStatus, Scheme
from backoffice.demo import commands, year
from backoffice.demo.stories import DEMO_SEED
from backoffice.extensions import db as _db
from backoffice.quota.models import QuotaAllocation, QuotaPeriod
from tests.conftest import clean_tables

DECEMBER = date(2025, 12, 12)
LIMIT = 4000
LOW, HIGH = year.DECEMBER_BAND


@contextmanager
def frozen(day: date):
    """``flask seed-demo`` reads the clock once (``commands.hk_today``): every date of the
    demo data follows from it."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(commands, "hk_today", lambda now=None: day)
        yield


# --- The plan -----------------------------------------------------------------------------

@pytest.mark.parametrize("today", [date(2025, 12, 1), DECEMBER, date(2026, 12, 3),
                                   date(2026, 12, 31), date(2027, 12, 15)])
@pytest.mark.parametrize("seed", [DEMO_SEED, 1, 2, 3, 4, 5, 6, 7, 8, 9])
def test_in_december_the_year_holds_60_to_85_percent_of_its_limit(today, seed):
    plan = year.plan_year(today, LIMIT, seed)
    assert LOW <= len(plan.approvals) / LIMIT <= HIGH
    assert all(count > 0 for count in (plan.by_month[m] for m in range(1, 13)))


@pytest.mark.parametrize(("today", "months"), [
    (date(2026, 1, 16), 1), (date(2026, 3, 16), 3), (date(2026, 6, 30), 6),
    (DECEMBER, 12)])
def test_the_share_follows_the_curve_up_to_today(today, months):
    plan = year.plan_year(today, LIMIT, DEMO_SEED)
    assert len(plan.approvals) == round(LIMIT * plan.share * year.elapsed(today))
    assert year.share_band()[0] <= plan.share <= year.share_band()[1]
    assert all(day.year == today.year and day <= today for day in plan.approvals)
    assert all(day in year.office_days(day.year, day.month) for day in plan.approvals)
    assert list(plan.approvals) == sorted(plan.approvals)
    assert {m for m in range(1, 13) if plan.by_month[m]} == set(range(1, months + 1))
    # Each whole month has its weight's part of the places, within the rounding.
    parts = year.month_parts(today)
    weights = [w * p for w, p in zip(year.MONTH_WEIGHTS, parts, strict=True)]
    for month in range(1, months + 1):
        expected = len(plan.approvals) * weights[month - 1] / sum(weights)
        assert abs(plan.by_month[month] - expected) < 1


def test_march_is_proportionally_lower_than_december():
    march_day, december_day = date(2026, 3, 16), date(2026, 12, 16)
    march = year.plan_year(march_day, LIMIT, DEMO_SEED)
    december = year.plan_year(december_day, LIMIT, DEMO_SEED)
    assert march.share == december.share  # the year's own draw from the seed
    ratio = year.elapsed(march_day) / year.elapsed(december_day)
    assert len(march.approvals) / len(december.approvals) == pytest.approx(ratio, abs=0.001)
    assert 0.08 < len(march.approvals) / LIMIT < 0.2 < LOW <= len(december.approvals) / LIMIT


def test_the_curve_dips_in_february_and_rises_toward_the_years_end():
    plan = year.plan_year(DECEMBER, LIMIT, DEMO_SEED)
    by_month = [plan.by_month[m] for m in range(1, 13)]
    assert by_month[1] < min(by_month[0], by_month[2])  # the Lunar New Year
    # April to November never fall (two months of one weight may differ by the rounding).
    assert all(later >= earlier - 1 for earlier, later in pairwise(by_month[3:11]))
    assert by_month[10] > by_month[0]


@pytest.mark.parametrize("today", [DECEMBER, date(2026, 3, 16), date(2026, 1, 5)])
def test_a_handful_wait_each_held_on_a_day_of_its_own(today):
    plan = year.plan_year(today, LIMIT, DEMO_SEED)
    low, high = year.WAITING
    assert low <= len(plan.waiting) <= high
    assert list(plan.waiting) == sorted(set(plan.waiting))
    assert all(day <= today for day in plan.waiting)
    avoided = year.plan_year(today, LIMIT, DEMO_SEED, avoid=frozenset(plan.waiting[:3]))
    assert not set(avoided.waiting) & set(plan.waiting[:3])


def test_places_the_year_already_holds_count_toward_the_plan():
    plan = year.plan_year(DECEMBER, LIMIT, DEMO_SEED)
    taken = Counter({2: 5, 7: 40})
    rest = year.plan_year(DECEMBER, LIMIT, DEMO_SEED, taken=taken)
    assert rest.by_month == plan.by_month - taken
    full = year.plan_year(DECEMBER, LIMIT, DEMO_SEED, taken=plan.by_month)
    assert full.approvals == ()


# --- As loaded ----------------------------------------------------------------------------

@pytest.fixture(scope="module", params=["curated", "bulk"])
def seeded(request, app) -> str:
    """The demo data of one command (the curated demo, or 2,000 bulk cases) on one backend,
    loaded once for the module's tests; the command's kind."""
    args = ["seed-demo"] if request.param == "curated" else ["seed-demo", "--cases", "2000"]
    with app.app_context():
        clean_tables()
        with frozen(DECEMBER):
            result = app.test_cli_runner().invoke(args=args)
        assert result.exit_code == 0, result.output
        assert f"QMAS {DECEMBER.year}:" in result.output
        yield request.param
        _db.session.rollback()
        clean_tables()
        _db.session.remove()


def period_of(year_: int) -> QuotaPeriod:
    return _db.session.scalar(select(QuotaPeriod).where(QuotaPeriod.scheme == "QMAS",
                                                        QuotaPeriod.year == year_))


def active_days(period: QuotaPeriod) -> list[date]:
    return list(_db.session.scalars(select(QuotaAllocation.allocated_on).where(
        QuotaAllocation.period_id == period.id, QuotaAllocation.released_at.is_(None))))


def test_the_year_is_60_to_85_percent_full_and_counts_its_places(seeded):
    period = period_of(DECEMBER.year)
    assert period.quota_limit == LIMIT
    assert LOW <= period.allocated / period.quota_limit <= HIGH
    assert period.allocated == len(active_days(period))


def test_every_month_so_far_has_places_on_the_curve_and_none_after_today(seeded):
    days = active_days(period_of(DECEMBER.year))
    assert max(days) <= DECEMBER and min(days).year == DECEMBER.year
    by_month = Counter(day.month for day in days)
    assert all(by_month[m] > 0 for m in range(1, 13)), by_month
    assert by_month[2] < min(by_month[1], by_month[3])
    assert by_month[11] > by_month[4] > by_month[2]
    # Every allocation of any year is on or before today, as its case's approval is.
    assert _db.session.scalar(select(func.max(QuotaAllocation.allocated_on))) <= DECEMBER
    assert _db.session.scalar(select(func.max(Case.approved_on))) <= DECEMBER


def test_some_qmas_cases_wait_for_a_place_in_a_strict_order(seeded):
    waiting = list(_db.session.execute(
        select(Case.status_since, Case.reference)
        .where(Case.scheme == Scheme.QMAS, Case.status == CaseStatus.AWAITING_QUOTA)
        .order_by(Case.status_since, Case.reference)))
    assert len(waiting) >= year.WAITING[0]
    assert all(since is not None and since <= DECEMBER for since, _ in waiting)
    if seeded == "curated":
        # Its stories' three and the year's: each held on a day of its own.
        assert len(waiting) <= 3 + year.WAITING[1]
        assert len({since for since, _ in waiting}) == len(waiting)
    period = period_of(DECEMBER.year)
    assert period.allocated < period.quota_limit  # places are free: the first can be approved
