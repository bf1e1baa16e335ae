"""The current QMAS year of the demo data: how full its quota is by today, and when each place
was taken.

A real year fills its quota along a curve, not in a heap: the plan here gives the year a share
of its limit by 31 December, drawn from the demo seed, and reaches today the part of it the
curve has reached (``elapsed``). The curve is one weight per month (``MONTH_WEIGHTS``): a gentle
ramp through the year, a dip in February for the Lunar New Year (offices close for days and
applicants travel; in the years it falls in January the dip is a little late, a demo can live
with that), and a rise toward the year's end as the office uses the year's places before they
lapse. Within a month places are taken on office days only (no weekends, no general holidays),
never after today. A handful of cases are left waiting for a place, each held on a day of its
own, so the waiting line has an order.

Pure Python and ``random``: the bulk loader (``bulk``) turns the plan into cases, for the
curated demo and for ``--cases N`` alike.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass
from datetime import date, timedelta

from backoffice.core.dates import hk_holiday_name, is_weekend

# Relative weight of each month's approvals, January first (see the module's docstring).
MONTH_WEIGHTS = (0.85, 0.55, 0.95, 1.0, 1.0, 1.05, 1.05, 1.05, 1.1, 1.15, 1.2, 1.25)
# The share of the limit used all through December. The year's end share is drawn between
# the low end divided by the part of the curve before December and the high end, so that
# the 1st of December is already in the band and the 31st still is.
DECEMBER_BAND = (0.60, 0.85)
# How many cases wait in Awaiting quota, and over how many recent office days they were held.
WAITING = (5, 15)
WAITING_DAYS = 40


@dataclass(frozen=True)
class YearPlan:
    """The places of the current year that the demo data holds by ``today``.

    ``share`` is the year's share of ``limit`` by 31 December; ``approvals`` the day of each
    place taken (oldest first, never after today), ``waiting`` the day each waiting case was
    held for the quota (distinct, oldest first).
    """

    year: int
    today: date
    limit: int
    share: float
    approvals: tuple[date, ...]
    waiting: tuple[date, ...]

    @property
    def by_month(self) -> Counter:
        """Places per month (1..12)."""
        return Counter(day.month for day in self.approvals)


def office_days(year: int, month: int, until: date | None = None) -> list[date]:
    """The days of the month the office works (not a weekend, not a Hong Kong general
    holiday), up to ``until`` when it is given."""
    day, days = date(year, month, 1), []
    while day.month == month and (until is None or day <= until):
        if not is_weekend(day) and hk_holiday_name(day) is None:
            days.append(day)
        day += timedelta(days=1)
    return days


def month_parts(today: date) -> list[float]:
    """How much of each month of ``today``'s year has passed by the end of ``today``: 1 for
    the months before, the share of its office days for the current one (today included), 0
    for the months after."""
    current = len(office_days(today.year, today.month, until=today)) / len(
        office_days(today.year, today.month))
    return [1.0 if month < today.month else current if month == today.month else 0.0
            for month in range(1, 13)]


def elapsed(today: date) -> float:
    """The part of the year's approvals the curve has made by the end of ``today`` (0..1)."""
    parts = month_parts(today)
    return sum(w * p for w, p in zip(MONTH_WEIGHTS, parts, strict=True)) / sum(MONTH_WEIGHTS)


def share_band() -> tuple[float, float]:
    """The band the year's end share is drawn from (see ``DECEMBER_BAND``)."""
    before_december = 1 - MONTH_WEIGHTS[11] / sum(MONTH_WEIGHTS)
    low, high = DECEMBER_BAND
    return low / before_december, high


def plan_year(today: date, limit: int, seed: int, taken: Counter | None = None,
              avoid: frozenset[date] = frozenset()) -> YearPlan:
    """The plan of ``today``'s year for a quota of ``limit`` places, from ``seed``.

    ``taken``: places the year already holds, per month; they count toward the plan, so only
    the rest is planned (a month that already has more keeps them). ``avoid``: days on which
    a case already waits, so that no two waiting cases were held on the same day.
    """
    rng = random.Random(f"{seed}:quota-year:{today.year}")  # noqa: S311  (demo data)
    low, high = share_band()
    share = low + (high - low) * rng.random()
    parts = month_parts(today)
    weights = [w * p for w, p in zip(MONTH_WEIGHTS, parts, strict=True)]
    target = round(limit * share * sum(weights) / sum(MONTH_WEIGHTS))
    planned = _largest_remainder(target, weights)
    taken = taken or Counter()
    approvals: list[date] = []
    for month, count in enumerate(planned, start=1):
        days = office_days(today.year, month, until=today)
        approvals += sorted(rng.choice(days) for _ in range(max(0, count - taken[month])))
    recent = [day for day in _office_days_back(today, WAITING_DAYS) if day not in avoid]
    waiting = sorted(rng.sample(recent, min(len(recent), rng.randint(*WAITING))))
    return YearPlan(year=today.year, today=today, limit=limit, share=share,
                    approvals=tuple(approvals), waiting=tuple(waiting))


def _largest_remainder(total: int, weights: list[float]) -> list[int]:
    """``total`` split in whole numbers in proportion to ``weights`` (Hamilton's method)."""
    whole = sum(weights)
    if total <= 0 or whole <= 0:
        return [0] * len(weights)
    exact = [total * w / whole for w in weights]
    counts = [int(x) for x in exact]
    by_remainder = sorted(range(len(weights)), key=lambda i: counts[i] - exact[i])
    for i in by_remainder[:total - sum(counts)]:
        counts[i] += 1
    return counts


def _office_days_back(today: date, n: int) -> list[date]:
    """The last ``n`` office days up to ``today`` (today included), oldest first."""
    days: list[date] = []
    day = today
    while len(days) < n:
        if not is_weekend(day) and hk_holiday_name(day) is None:
            days.append(day)
        day -= timedelta(days=1)
    return days[::-1]
