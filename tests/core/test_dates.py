"""Hong Kong date rules: time zones, month-end arithmetic, ages and holidays."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from backoffice.core import dates
from backoffice.core.dates import (
    HK_TZ,
    add_months,
    age_on,
    birthday,
    hk_holiday_name,
    hk_today,
    is_weekend,
    to_hk,
    utcnow,
)

# --- clock and zones ----------------------------------------------------------------------------


def test_utcnow_is_aware_utc():
    now = utcnow()
    assert now.tzinfo is not None
    assert now.utcoffset() == timedelta(0)


def test_hk_zone_is_utc_plus_eight_without_dst():
    # Hong Kong has had no daylight saving since 1979; both halves of the year are +8.
    assert datetime(2026, 1, 15, tzinfo=HK_TZ).utcoffset() == timedelta(hours=8)
    assert datetime(2026, 7, 15, tzinfo=HK_TZ).utcoffset() == timedelta(hours=8)


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        # 15:59 UTC is 23:59 in Hong Kong: still the same day.
        (datetime(2026, 3, 1, 15, 59, tzinfo=UTC), date(2026, 3, 1)),
        # 16:00 UTC is midnight in Hong Kong: already the next day, though UTC is not.
        (datetime(2026, 3, 1, 16, 0, tzinfo=UTC), date(2026, 3, 2)),
        # Year end: New Year arrives in Hong Kong eight hours before UTC.
        (datetime(2026, 12, 31, 16, 0, tzinfo=UTC), date(2027, 1, 1)),
        # Naive datetimes are read as UTC (that is how the database returns them).
        (datetime(2026, 3, 1, 16, 0), date(2026, 3, 2)),
        # Another zone's wall-clock time is converted, not reinterpreted.
        (datetime(2026, 3, 1, 12, 0, tzinfo=timezone(timedelta(hours=-5))), date(2026, 3, 2)),
        (datetime(2026, 3, 2, 0, 30, tzinfo=HK_TZ), date(2026, 3, 2)),
    ],
)
def test_hk_today(now, expected):
    assert hk_today(now) == expected


def test_hk_today_defaults_to_now():
    before = to_hk(utcnow()).date()
    today = hk_today()
    after = to_hk(utcnow()).date()
    assert today in {before, after}


@pytest.mark.parametrize(
    ("dt", "expected"),
    [
        (datetime(2026, 3, 1, 16, 0, tzinfo=UTC), datetime(2026, 3, 2, 0, 0, tzinfo=HK_TZ)),
        (datetime(2026, 3, 1, 16, 0), datetime(2026, 3, 2, 0, 0, tzinfo=HK_TZ)),
    ],
)
def test_to_hk(dt, expected):
    converted = to_hk(dt)
    assert converted == expected
    assert converted.tzinfo == HK_TZ
    assert (converted.hour, converted.day) == (expected.hour, expected.day)


# --- month arithmetic ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        # Arrival on 29 February: a 12-month stay ends on 28 February (clamped, not 1 March).
        (date(2028, 2, 29), 12, date(2029, 2, 28)),
        # ... and a 48-month one lands on a leap year again, so keeps the 29th.
        (date(2028, 2, 29), 48, date(2032, 2, 29)),
        (date(2027, 1, 31), 1, date(2027, 2, 28)),
        (date(2028, 1, 31), 1, date(2028, 2, 29)),
        (date(2026, 3, 31), 1, date(2026, 4, 30)),
        (date(2026, 8, 31), 1, date(2026, 9, 30)),
        (date(2026, 1, 15), 0, date(2026, 1, 15)),
        (date(2026, 1, 15), 12, date(2027, 1, 15)),
        (date(2026, 11, 30), 3, date(2027, 2, 28)),
        (date(2026, 12, 31), 24, date(2028, 12, 31)),
        (date(2026, 3, 2), 36, date(2029, 3, 2)),
        # Backwards, across a year boundary, with the same clamp.
        (date(2026, 3, 31), -1, date(2026, 2, 28)),
        (date(2027, 1, 15), -2, date(2026, 11, 15)),
        (date(2029, 2, 28), -12, date(2028, 2, 28)),
    ],
)
def test_add_months(start, months, expected):
    assert add_months(start, months) == expected


def test_add_months_refuses_datetime():
    with pytest.raises(TypeError):
        add_months(datetime(2026, 1, 31, 12, 0, tzinfo=UTC), 1)


# --- ages ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("dob", "on", "expected"),
    [
        (date(2008, 3, 2), date(2026, 3, 1), 17),  # day before the 18th birthday
        (date(2008, 3, 2), date(2026, 3, 2), 18),  # on it
        (date(2008, 3, 2), date(2026, 3, 3), 18),
        (date(2008, 3, 2), date(2008, 3, 2), 0),  # day of birth
        (date(1986, 1, 1), date(2025, 12, 31), 39),
        (date(1986, 1, 1), date(2026, 1, 1), 40),  # 40th birthday
        (date(1985, 1, 1), date(2025, 12, 31), 40),  # day before the 41st
        (date(1985, 1, 1), date(2026, 1, 1), 41),  # 41st birthday
        # Born 29 February: in a common year the birthday is 1 March (legal convention).
        (date(2008, 2, 29), date(2026, 2, 28), 17),
        (date(2008, 2, 29), date(2026, 3, 1), 18),
        # In a leap year the birthday is the 29th itself.
        (date(2008, 2, 29), date(2028, 2, 28), 19),
        (date(2008, 2, 29), date(2028, 2, 29), 20),
        (date(2008, 2, 29), date(2009, 2, 28), 0),
        (date(2008, 2, 29), date(2009, 3, 1), 1),
    ],
)
def test_age_on(dob, on, expected):
    assert age_on(dob, on) == expected


def test_age_on_before_birth_is_an_error():
    with pytest.raises(ValueError, match="before the date of birth"):
        age_on(date(2010, 5, 5), date(2010, 5, 4))


@pytest.mark.parametrize(
    ("dob", "age", "expected"),
    [
        (date(2008, 3, 2), 18, date(2026, 3, 2)),
        (date(1985, 1, 1), 41, date(2026, 1, 1)),
        (date(2008, 2, 29), 18, date(2026, 3, 1)),  # common year: 1 March
        (date(2008, 2, 29), 20, date(2028, 2, 29)),  # leap year: 29 February
        (date(2008, 2, 29), 0, date(2008, 2, 29)),
        (date(1999, 12, 31), 1, date(2000, 12, 31)),
    ],
)
def test_birthday(dob, age, expected):
    assert birthday(dob, age) == expected
    # birthday and age_on agree: the age is reached on that day and not the day before.
    assert age_on(dob, expected) == age
    if age:
        assert age_on(dob, expected - timedelta(days=1)) == age - 1


def test_birthday_negative_age_is_an_error():
    with pytest.raises(ValueError, match="negative"):
        birthday(date(2000, 1, 1), -1)


# --- holidays and weekends ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "fragment"),
    [
        (date(2026, 1, 1), "January"),  # gazetted as "The first day of January"
        (date(2026, 2, 17), "Lunar New Year"),
        (date(2026, 4, 3), "Good Friday"),
        (date(2026, 7, 1), "Establishment Day"),
        (date(2026, 10, 1), "National Day"),
        (date(2026, 12, 25), "Christmas"),
        # Boxing Day rule: the first weekday after Christmas.
        (date(2026, 12, 26), "Christmas"),
    ],
)
def test_hk_holiday_name(day, fragment):
    name = hk_holiday_name(day)
    assert name is not None
    assert fragment in name


@pytest.mark.parametrize(
    "day",
    [
        date(2026, 3, 2),  # an ordinary Monday
        date(2026, 6, 30),
        date(2026, 12, 24),
    ],
)
def test_hk_holiday_name_ordinary_days(day):
    assert hk_holiday_name(day) is None


def test_hk_holidays_cached_per_year():
    dates._hk_holidays.cache_clear()
    hk_holiday_name(date(2027, 1, 1))
    hk_holiday_name(date(2027, 12, 25))
    hk_holiday_name(date(2028, 1, 1))
    info = dates._hk_holidays.cache_info()
    assert (info.misses, info.hits) == (2, 1)


def test_hk_holidays_cache_is_read_only():
    calendar = dates._hk_holidays(2026)
    with pytest.raises(TypeError):
        calendar[date(2026, 3, 2)] = "Not a holiday"  # type: ignore[index]


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (date(2026, 3, 2), False),  # Monday
        (date(2026, 3, 6), False),  # Friday
        (date(2026, 3, 7), True),  # Saturday
        (date(2026, 3, 8), True),  # Sunday
    ],
)
def test_is_weekend(day, expected):
    assert is_weekend(day) is expected
