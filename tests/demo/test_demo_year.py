"""The demo's current QMAS year looks like a real one: a share of the limit on a curve over the
months so far, never a place after today, and a few cases waiting in order.

The plan is checked as data (``demo.year``, no database).
"""

from __future__ import annotations

from collections import Counter
from datetime import date
from itertools import pairwise

import pytest

from backoffice.demo import year
from backoffice.demo.stories import DEMO_SEED

DECEMBER = date(2025, 12, 12)
LIMIT = 4000
LOW, HIGH = year.DECEMBER_BAND


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
