"""Hong Kong date rules: the office's calendar, month arithmetic, ages and public holidays.

Every *date* the system computes (stay ends, deadlines, ages on a submission date) is a
Hong Kong calendar date; every *timestamp* is stored in UTC. This module is the one place
that converts between the two, so a case submitted at 07:30 in Hong Kong on 2 March is
judged on 2 March even though it is still 1 March in UTC.

Pure Python: no Flask, no database. Safe to import anywhere.
"""

from __future__ import annotations

import calendar
from datetime import UTC, date, datetime
from functools import lru_cache
from types import MappingProxyType
from zoneinfo import ZoneInfo

import holidays

__all__ = [
    "HK_TZ",
    "add_months",
    "age_on",
    "birthday",
    "hk_holiday_name",
    "hk_today",
    "is_weekend",
    "to_hk",
    "utcnow",
]

HK_TZ = ZoneInfo("Asia/Hong_Kong")

# The `holidays` package splits Hong Kong into "public" (statutory holidays, Employment
# Ordinance) and "optional" (general holidays, General Holidays Ordinance). General holidays are
# the days banks and government offices close — the calendar an immigration back office works
# to — and their English names match the gazetted list on gov.hk.
_HK_HOLIDAY_CATEGORIES = ("optional",)
_HK_HOLIDAY_LANGUAGE = "en_HK"


def utcnow() -> datetime:
    """Return the current instant as an aware UTC datetime.

    Use this (the function, not its value) as a column default so each row gets its own time.
    """
    return datetime.now(UTC)


def to_hk(dt: datetime) -> datetime:
    """Return ``dt`` as an aware datetime in Hong Kong time.

    A naive ``dt`` is taken to be UTC: the project stores timestamps in UTC and SQLite hands
    them back without a zone, so "naive means UTC" is the only reading that is ever right here.
    """
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(HK_TZ)


def hk_today(now: datetime | None = None) -> date:
    """Return the Hong Kong calendar date at ``now`` (default: this instant).

    ``now`` follows the same rule as :func:`to_hk` (naive means UTC). Passing it makes callers
    and tests deterministic without patching the clock.
    """
    return to_hk(now if now is not None else utcnow()).date()


def add_months(d: date, months: int) -> date:
    """Return ``d`` moved by ``months`` calendar months (negative moves back).

    When the target month is shorter, the result is clamped to its last day, so a stay that
    starts on 29 February 2028 and lasts 12 months ends on 28 February 2029, and 31 January + 1
    month is 28 (or 29) February. The clamp never spills into the following month: a stay must
    not end later than the calendar allows.
    """
    if isinstance(d, datetime):
        # datetime is a subclass of date; silently dropping the time would hide a zone bug.
        raise TypeError("add_months takes a calendar date; convert with hk_today()/to_hk() first")
    month_index = d.year * 12 + (d.month - 1) + months
    year, month0 = divmod(month_index, 12)
    month = month0 + 1
    last_day = calendar.monthrange(year, month)[1]
    return date(year, month, min(d.day, last_day))


def birthday(dob: date, age: int) -> date:
    """Return the date on which a person born on ``dob`` reaches ``age`` full years.

    A person born on 29 February reaches an age on 1 March in a common year, not on
    28 February. This is the legal convention the office follows (the common-law reading used in
    Hong Kong and England): an age is attained at the start of the anniversary of birth, and
    when that anniversary does not exist in the calendar, it has not yet arrived on 28 February
    and has passed by 1 March. The effect is that nobody is treated as reaching an age limit
    (18 for QMAS, 41 for ASSG, 18 for a dependent child) a day early.
    """
    if age < 0:
        raise ValueError("An age cannot be negative.")
    year = dob.year + age
    try:
        return dob.replace(year=year)
    except ValueError:
        # Only 29 February can fail here; its anniversary in a common year is 1 March.
        return date(year, 3, 1)


def age_on(dob: date, on: date) -> int:
    """Return the person's age in full years on the date ``on``.

    Uses the same 29 February rule as :func:`birthday`, so ``age_on(dob, birthday(dob, n))``
    is always ``n`` and the day before it is ``n - 1``. Raises ``ValueError`` when ``on`` is
    before ``dob``: an age before birth is a data-entry error, not zero.
    """
    if on < dob:
        raise ValueError(
            f"The date {on.isoformat()} is before the date of birth {dob.isoformat()}."
        )
    years = on.year - dob.year
    if on < birthday(dob, years):
        years -= 1
    return years


@lru_cache(maxsize=64)
def _hk_holidays(year: int, language: str = _HK_HOLIDAY_LANGUAGE) -> MappingProxyType[date, str]:
    """Return Hong Kong general holidays for ``year`` as a read-only mapping, named in
    ``language`` (the `holidays` package's: en_HK, zh_HK).

    Cached per year and language because building a year's calendar (lunar dates included)
    is far slower than a lookup and the answer never changes within a process. The mapping
    is read-only so a caller cannot corrupt the cache.
    """
    calendar_year = holidays.country_holidays(
        "HK",
        years=year,
        categories=_HK_HOLIDAY_CATEGORIES,
        language=language,
    )
    return MappingProxyType(dict(calendar_year.items()))


def hk_holiday_name(d: date, language: str = _HK_HOLIDAY_LANGUAGE) -> str | None:
    """Return the name of the Hong Kong general holiday on ``d`` (in English unless
    ``language`` says otherwise: "zh_HK" for the gazetted Chinese names), or ``None``.

    Sundays are general holidays in Hong Kong too but are not named here; combine with
    :func:`is_weekend` to decide whether a day is a working day.
    """
    return _hk_holidays(d.year, language).get(d)


def is_weekend(d: date) -> bool:
    """Return True when ``d`` is a Saturday or Sunday."""
    return d.weekday() >= 5


def day_count(n: int) -> str:
    """A number of days in words: "1 day", "3 days" (the sign is the caller's to phrase)."""
    n = abs(n)
    return f"{n} day{'' if n == 1 else 's'}"
