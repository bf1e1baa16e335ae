"""The dashboard's forecast from the pipeline: the places the cases on their way would take,
against those left, the cases it would leave waiting, and the pace's date beside it; "not this
year" never said while the pipeline already needs every place left."""

from __future__ import annotations

from datetime import date

import pytest
from bs4 import BeautifulSoup

from backoffice.auth.models import Role
from backoffice.cases.schemes import CaseStatus as S
from backoffice.cases.schemes import Scheme
from backoffice.core.dates import hk_today
from backoffice.extensions import db as _db
from backoffice.quota import services as quota
from backoffice.quota.models import QuotaPeriod
from backoffice.reports import dashboard
from backoffice.reports.dashboard import NOT_AT_THIS_PACE, YearSummary
from tests.cases.factories import make_case

TODAY = date(2026, 12, 1)


def summary(limit: int | None, allocated: int, year: int = 2026) -> YearSummary:
    period = QuotaPeriod(scheme="QMAS", year=year, quota_limit=limit, allocated=allocated)
    return YearSummary(year=year, period=period)


def pipeline(submitted: int = 0, review: int = 0, waiting: int = 0) -> dict:
    return {S.SUBMITTED: submitted, S.UNDER_REVIEW: review, S.AWAITING_QUOTA: waiting}


# limit, allocated, (submitted, under review, waiting) → would take, left waiting, still free,
# pipeline needs every place left
@pytest.mark.parametrize(("limit", "allocated", "flow", "take", "left", "free", "exhausts"), [
    (4000, 6, (0, 0, 0), 0, 0, 3994, False),          # nothing on the way
    (4000, 3994, (0, 0, 3), 3, 0, 3, False),          # three wait, six free: all go
    (10, 9, (3, 2, 2), 1, 6, 0, True),                # 1 left, 7 on the way: 6 left waiting
    (10, 10, (1, 0, 4), 0, 5, 0, True),               # full
    (100, 40, (30, 20, 10), 60, 0, 0, True),          # exactly enough: runs out
    (100, 40, (30, 20, 9), 59, 0, 1, False),
])
def test_the_forecast_from_the_pipeline(limit, allocated, flow, take, left, free, exhausts):
    result = dashboard.forecast(summary(limit, allocated), pipeline(*flow), TODAY)
    assert (result.would_take, result.left_waiting, result.still_free,
            result.pipeline_exhausts) == (take, left, free, exhausts)
    assert result.pipeline == sum(flow)


@pytest.mark.parametrize(("limit", "year"), [(None, 2026), (100, 2025), (100, 2027)])
def test_no_forecast_without_a_limit_or_for_another_year(limit, year):
    assert dashboard.forecast(summary(limit, 5, year), pipeline(5), TODAY) is None


def test_the_pace_alone_would_say_not_this_year_where_the_pipeline_says_otherwise():
    # 1 place left, 6 allocated by December: at this pace the last place goes next year...
    result = dashboard.forecast(summary(7, 6), pipeline(3, 2, 2), TODAY)
    assert result.projection.reason == NOT_AT_THIS_PACE
    # ...but the seven cases on their way need it, and six more.
    assert result.pipeline_exhausts and result.left_waiting == 6


# --- On the page --------------------------------------------------------------------------

@pytest.fixture
def supervisor(as_role):
    return as_role(Role.SUPERVISOR)


def test_the_page_never_says_not_this_year_while_the_pipeline_exceeds_what_is_left(
        client, supervisor, make_user):
    year = hk_today().year
    worker = make_user(Role.CASEWORKER)
    quota.set_limit(supervisor, "QMAS", year, None)
    _db.session.commit()
    make_case(worker, Scheme.QMAS, S.APPROVED)  # one place taken, early in the year
    for status in (S.SUBMITTED, S.SUBMITTED, S.UNDER_REVIEW):
        make_case(worker, Scheme.QMAS, status)
    quota.set_limit(supervisor, "QMAS", year, 3)  # 2 places left, 3 on their way
    _db.session.commit()
    page = BeautifulSoup(client.get(f"/quota/?year={year}").get_data(as_text=True),
                         "html.parser")
    words = page.get_text(" ", strip=True)
    assert "not this year" not in words
    forecast = page.select_one("#forecast")
    assert forecast["data-left-waiting"] == "1"
    assert ("The pipeline needs more places than are left: if every case in it is approved, "
            "the quota runs out and 1 case is left waiting.") in forecast.get_text(" ", strip=True)
    assert "(3 cases on their way, 2 places left.)" in forecast.get_text(" ", strip=True)


def test_the_page_says_what_stays_free_when_the_pipeline_fits(client, supervisor, make_user):
    year = hk_today().year
    quota.set_limit(supervisor, "QMAS", year, 50)
    _db.session.commit()
    make_case(make_user(Role.CASEWORKER), Scheme.QMAS, S.UNDER_REVIEW)
    page = BeautifulSoup(client.get(f"/quota/?year={year}").get_data(as_text=True),
                         "html.parser")
    assert page.select_one("#forecast").get_text(" ", strip=True) == (
        "If every case in the pipeline is approved, it takes 1 of the 50 places left, and 49 "
        "stay free.")
