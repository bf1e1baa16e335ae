"""The supervisors' QMAS quota dashboard: the numbers equal the allocation rows, the pipeline,
the month chart, the projection, nationalities, setting the limit, the CSV export, and who may
see it. Run on SQLite and PostgreSQL. Allocations are made by the real services (approval
takes the place); only ``allocated_at`` is moved afterwards where the month is the point."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import func, select, text, update

from backoffice.auth.models import Role
from backoffice.cases.models import Case
from backoffice.cases.schemes import CaseStatus, Scheme
from backoffice.core.dates import hk_today
from backoffice.extensions import db as _db
from backoffice.quota import services as quota
from backoffice.quota.models import QuotaAllocation, QuotaLimitChange, QuotaPeriod
from backoffice.reports import dashboard
from tests.cases.factories import make_case
from tests.conftest import read_csv

YEAR = 2026
# An approval instant in YEAR after the factories' submission date (2 March).
APPROVED_AT = datetime(YEAR, 6, 1, 2, 0, tzinfo=UTC)


@pytest.fixture
def supervisor(as_role):
    """The signed-in supervisor who looks at the dashboard."""
    return as_role(Role.SUPERVISOR)


def set_limit(actor, limit: int | None, year: int = YEAR) -> None:
    quota.set_limit(actor, "QMAS", year, limit)
    _db.session.commit()


def approve(caseworker, at: datetime | None = None, **applicant) -> Case:
    """An approved QMAS case: approval takes a place in the quota of ``at``'s year. When
    ``at`` is given, the allocation is stamped with it (the service stamps the real clock)."""
    case = make_case(caseworker, Scheme.QMAS, CaseStatus.APPROVED, now=at or APPROVED_AT,
                     **applicant)
    if at is not None:
        _db.session.execute(update(QuotaAllocation).where(QuotaAllocation.case_id == case.id)
                            .values(allocated_at=at))
        _db.session.commit()
    return case


def release(case: Case, actor, reason: str = "Approval withdrawn") -> None:
    quota.release_place(case.id, actor, "withdraw", reason)
    _db.session.commit()


def active_rows(year: int = YEAR) -> int:
    return _db.session.scalar(
        select(func.count()).select_from(QuotaAllocation)
        .join(QuotaPeriod, QuotaPeriod.id == QuotaAllocation.period_id)
        .where(QuotaPeriod.year == year, QuotaAllocation.released_at.is_(None)))


def page(client, year: int = YEAR, **args) -> str:
    response = client.get("/quota/", query_string={"year": year, **args})
    assert response.status_code == 200, response.get_data(as_text=True)[:2000]
    return response.get_data(as_text=True)


def number(html: str, element_id: str) -> str:
    match = re.search(rf'id="{element_id}">([^<]*)<', html)
    assert match, f"no #{element_id} on the page"
    return match.group(1)


# --- The year's numbers -------------------------------------------------------------------

def test_numbers_shown_equal_the_allocation_rows(client, supervisor, caseworker):
    set_limit(supervisor, 5)
    cases = [approve(caseworker) for _ in range(3)]
    release(cases[0], supervisor)

    html = page(client)
    assert active_rows() == 2
    assert number(html, "quota-limit") == "5"
    assert number(html, "quota-allocated") == str(active_rows())
    assert number(html, "quota-remaining") == "3"
    assert re.search(r'<progress class="quota-progress" id="quota-progress" max="5" value="2"',
                     html)
    assert "40% of the limit allocated" in html
    # The list shows all three, the released one with when and why.
    for case in cases:
        assert case.reference in html
    assert "Approval withdrawn" in html


def test_a_full_quota_says_so(client, supervisor, caseworker):
    set_limit(supervisor, 1)
    approve(caseworker)
    html = page(client)
    assert number(html, "quota-remaining") == "0"
    assert "the quota is full" in html


def test_a_no_limit_year_shows_usage_without_a_bar(client, supervisor, caseworker):
    set_limit(supervisor, None)
    approve(caseworker)
    approve(caseworker)
    html = page(client)
    assert number(html, "quota-limit") == "No limit — quota suspended"
    assert number(html, "quota-allocated") == "2"
    assert "<progress" not in html
    assert 'class="chart-limit"' not in html
    assert 'id="projection"' not in html


def test_a_year_never_set_says_so_and_offers_the_form(client, supervisor):
    html = page(client, 2031)
    assert "The 2031 quota has not been set yet." in html
    assert "<progress" not in html
    assert 'action="/quota/limit"' in html
    assert re.search(r'<input[^>]*id="year"[^>]*value="2031"', html)
    assert "The 2031 limit has never been set." in html


def test_the_default_year_is_this_hong_kong_year(client, supervisor):
    from backoffice.core.dates import hk_today

    response = client.get("/quota/")
    assert response.status_code == 200
    assert f"QMAS quota {hk_today().year}</h1>" in response.get_data(as_text=True)


@pytest.mark.parametrize("year", ["1999", "abc", "20266"])
def test_an_unusable_year_falls_back_with_a_message(client, supervisor, year):
    from backoffice.core.dates import hk_today

    response = client.get("/quota/", query_string={"year": year})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert f"Showing {hk_today().year}." in html


def test_the_page_has_no_inline_styles_or_scripts(client, supervisor, caseworker):
    """The CSP forbids them: they would be silently ignored by the browser."""
    set_limit(supervisor, 10)
    approve(caseworker)
    html = page(client)
    assert not re.search(r"\sstyle=", html)
    assert "<script>" not in html and not re.search(r"<script(?![^>]*\bsrc=)", html)
    assert "quota.css" in html


# --- The pipeline -------------------------------------------------------------------------

def test_pipeline_counts_qmas_cases_by_status(client, supervisor, caseworker):
    for status, n in [(CaseStatus.SUBMITTED, 2), (CaseStatus.UNDER_REVIEW, 1),
                      (CaseStatus.AWAITING_QUOTA, 3), (CaseStatus.DRAFT, 1)]:
        for _ in range(n):
            make_case(caseworker, Scheme.QMAS, status)
    make_case(caseworker, Scheme.GEP_PRO, CaseStatus.SUBMITTED)  # another scheme: not counted

    assert dashboard.pipeline_counts() == {CaseStatus.SUBMITTED: 2,
                                           CaseStatus.UNDER_REVIEW: 1,
                                           CaseStatus.AWAITING_QUOTA: 3}
    html = page(client)
    for status, n in [("submitted", 2), ("under_review", 1), ("awaiting_quota", 3)]:
        assert re.search(rf'id="pipeline-{status}">.*?data-count="{n}"', html, re.S)
    assert 'href="/cases/queue/all?scheme=QMAS&amp;status=submitted"' in html
    assert 'href="/cases/queue/all?scheme=QMAS&amp;status=under_review"' in html
    assert 'href="/cases/queue/awaiting-quota"' in html


def test_pipeline_count_reads_the_scheme_status_index(app, db):
    """The GROUP BY is answered from the (scheme, status, id) index, not a table scan."""
    query = select(Case.status, func.count()).where(
        Case.scheme == Scheme.QMAS, Case.status.in_(dashboard.PIPELINE_STATUSES)
    ).group_by(Case.status)
    sql = str(query.compile(db.engine, compile_kwargs={"literal_binds": True}))
    if db.engine.dialect.name == "sqlite":
        plan = " ".join(str(r[-1]) for r in db.session.execute(text("EXPLAIN QUERY PLAN " + sql)))
        assert "INDEX ix_cases_scheme_status_id" in plan
        assert "SCAN cases" not in plan.replace("USING COVERING INDEX", "")
    else:
        # An empty table tempts the planner to scan it; forbid that to see the plan it has.
        db.session.execute(text("SET LOCAL enable_seqscan = off"))
        plan = " ".join(r[0] for r in db.session.execute(text("EXPLAIN " + sql)))
        assert "ix_cases_scheme_status_id" in plan
        assert "Seq Scan" not in plan
    db.session.rollback()


# --- Allocations per month ----------------------------------------------------------------

@pytest.mark.parametrize(("times", "expected"), [
    ([], {}),
    # 31 March 20:00 UTC is 1 April 04:00 in Hong Kong: an April place.
    ([datetime(YEAR, 3, 31, 20, 0, tzinfo=UTC)], {4: 1}),
    ([datetime(YEAR, 4, 10, 2, tzinfo=UTC), datetime(YEAR, 4, 20, 2, tzinfo=UTC),
      datetime(YEAR, 6, 5, 2, tzinfo=UTC)], {4: 2, 6: 1}),
    # New Year's Eve 16:30 UTC is already 1 January of the next year in Hong Kong.
    ([datetime(YEAR - 1, 12, 31, 16, 30, tzinfo=UTC)], {1: 1}),
], ids=["none", "hk-month-boundary", "two-months", "hk-new-year"])
def test_months_of_groups_by_hong_kong_month(db, make_user, times, expected):
    """The database groups by Hong Kong month (on both SQLite and PostgreSQL), in the month
    counters that ``rebuild_counters`` counts from the allocations."""
    setter = make_user(Role.SUPERVISOR)
    set_limit(setter, None)
    period = quota.get_period("QMAS", YEAR)
    for at in times:
        case = make_case(setter, Scheme.QMAS)
        db.session.add(QuotaAllocation(period_id=period.id, case_id=case.id, nationality="GB",
                                       allocated_at=at, allocated_on=hk_today(at)))
    # Rows written around the services, as the bulk loader writes them: counted again.
    quota.rebuild_counters([period.id])
    db.session.commit()
    bars = dashboard.monthly_allocations(dashboard.year_summary(YEAR))
    assert [b.month for b in bars] == list(range(1, 13))
    assert {b.month: b.allocated for b in bars if b.allocated} == expected
    running = 0
    for bar in bars:
        running += bar.allocated
        assert bar.cumulative == running
    assert bars[-1].cumulative == len(times)


def test_month_chart_has_two_bars_and_the_cumulative_line(client, supervisor, caseworker):
    set_limit(supervisor, 10)
    approve(caseworker, at=datetime(YEAR, 4, 10, 2, tzinfo=UTC))
    approve(caseworker, at=datetime(YEAR, 4, 28, 2, tzinfo=UTC))
    approve(caseworker, at=datetime(YEAR, 6, 5, 2, tzinfo=UTC))

    summary = dashboard.year_summary(YEAR)
    bars = dashboard.monthly_allocations(summary)
    assert [(b.month, b.allocated, b.cumulative) for b in bars if b.allocated] == [
        (4, 2, 2), (6, 1, 3)]
    assert [b.cumulative for b in bars][3:7] == [2, 2, 3, 3]

    html = page(client)
    drawn = re.findall(r'<rect class="chart-bar"[^>]*data-month="(\d+)" data-allocated="(\d+)"',
                       html)
    assert [(m, n) for m, n in drawn if n != "0"] == [("4", "2"), ("6", "1")]
    assert 'class="chart-limit"' in html and 'class="chart-line"' in html
    assert "<title id=\"chart-title\">QMAS allocations per month in 2026</title>" in html
    table = html[html.index('id="months-table"'):]
    assert re.search(r"<th scope=\"row\">Apr 2026</th><td>2</td><td>2</td>", table)
    assert re.search(r"<th scope=\"row\">Jun 2026</th><td>1</td><td>3</td>", table)


def test_chart_scales_the_limit_and_stops_the_line_at_this_month():
    bars = dashboard.months_of(YEAR, [(YEAR, 2, 4)])
    chart = dashboard.chart(bars, limit=100, last_month=3)
    assert chart.scale_max == 100
    assert chart.limit_y == chart.top  # the limit is the top of the scale
    assert len(chart.line_points.split()) == 3
    assert dashboard.chart(bars, limit=None).limit_y is None


@pytest.mark.parametrize(("top", "scale_max"), [
    (0, 4), (3, 4), (5, 8), (12, 20), (100, 100), (120, 200), (365, 400), (4000, 4000),
    (4001, 8000)])
def test_chart_gridlines_have_round_labels(top, scale_max):
    chart = dashboard.chart(dashboard.months_of(YEAR, []), limit=top)
    assert chart.scale_max == scale_max
    values = [t["value"] for t in chart.ticks]
    assert values == [scale_max * k // 4 for k in range(5)]
    assert scale_max % 4 == 0  # so the four steps are whole numbers


# --- Projection ---------------------------------------------------------------------------

@pytest.mark.parametrize(("limit", "allocated", "today", "expected"), [
    # 90 days into 2026 with 90 places: one a day; 275 left → 275 days from 31 March.
    (365, 90, date(2026, 3, 31), date(2026, 12, 31)),
    # Faster: 180 in 90 days → two a day; 185 left → 93 days (rounded up).
    (365, 180, date(2026, 3, 31), date(2026, 7, 2)),
    # Too slow: 10 in 90 days would need years for the other 355.
    (365, 10, date(2026, 3, 31), dashboard.NOT_AT_THIS_PACE),
    # One day past 31 December is already too late.
    (366, 90, date(2026, 3, 31), dashboard.NOT_AT_THIS_PACE),
    # The first day of the year counts as a day elapsed (no division by zero).
    (10, 5, date(2026, 1, 1), date(2026, 1, 2)),
    (10, 10, date(2026, 5, 1), dashboard.FULL),
    # Nothing to project: no limit, no allocations, or not the current year.
    (None, 50, date(2026, 3, 31), None),
    (100, 0, date(2026, 3, 31), None),
    (100, 50, date(2027, 3, 31), None),
], ids=["on-pace", "fast", "too-slow", "one-day-late", "new-year", "full", "no-limit",
        "no-allocations", "past-year"])
def test_projected_run_out(limit, allocated, today, expected):
    projection = dashboard.projected_run_out(2026, limit, allocated, today)
    if expected is None:
        assert projection is None
    elif isinstance(expected, date):
        assert projection.on == expected
        assert projection.reason is None
    else:
        assert projection.on is None
        assert projection.reason == expected


# --- By nationality -----------------------------------------------------------------------

def test_nationalities_top_ten(client, supervisor, caseworker):
    set_limit(supervisor, 50)
    singles = ["AU", "BR", "DE", "FR", "IN", "JP", "KR", "NZ", "SG", "TH", "ZA"]
    for code in ["GB", "GB", "GB", "US", "US", *singles]:
        approve(caseworker, nationality=code)
    released = approve(caseworker, nationality="CA")
    release(released, supervisor)  # a released place is not counted

    rows = dashboard.nationality_counts(dashboard.year_summary(YEAR))
    assert [(r.code, r.count) for r in rows] == [("GB", 3), ("US", 2)] + [
        (code, 1) for code in singles[:8]]
    html = page(client)
    table = html[html.index('id="nationalities"'):html.index('id="allocations-title"')]
    assert "United Kingdom" in table or "GB" in table
    assert "(GB)</td><td class=\"text-end\">3<" in table
    assert "(CA)" not in table and "(TH)" not in table


# --- The list of allocations --------------------------------------------------------------

def test_allocations_are_newest_first_and_paginated(client, supervisor, caseworker):
    set_limit(supervisor, 10)
    first = approve(caseworker, at=datetime(YEAR, 4, 1, 2, tzinfo=UTC))
    second = approve(caseworker, at=datetime(YEAR, 5, 1, 2, tzinfo=UTC))
    third = approve(caseworker, at=datetime(YEAR, 6, 1, 2, tzinfo=UTC))
    summary = dashboard.year_summary(YEAR)
    one = dashboard.allocations_page(summary, 1, per_page=2)
    two = dashboard.allocations_page(summary, 2, per_page=2)
    assert [r.reference for r in one.items] == [third.reference, second.reference]
    assert one.has_next and not two.has_next
    assert [r.reference for r in two.items] == [first.reference]
    html = page(client)
    assert html.index(third.reference) < html.index(first.reference)
    assert f'href="/cases/{first.id}"' in html
    assert "1 Jun 2026, 10:00\u202fam" in html  # allocated at, in Hong Kong time (en_HK)


# --- Setting the limit --------------------------------------------------------------------

def post_limit(client, **data):
    return client.post_form("/quota/limit", data, token_from=f"/quota/?year={YEAR}")


def period(year: int = YEAR) -> QuotaPeriod | None:
    _db.session.expire_all()
    return _db.session.scalar(select(QuotaPeriod).where(QuotaPeriod.year == year))


def test_setting_the_limit_the_first_time(client, supervisor):
    response = post_limit(client, year="2027", limit="4000", note="Policy Address 2026")
    assert response.status_code == 302
    assert response.headers["Location"] == "/quota/?year=2027"
    saved = period(2027)
    assert saved.quota_limit == 4000 and saved.allocated == 0
    html = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "The QMAS quota for 2027 is now 4,000 places." in html
    assert number(html, "quota-limit") == "4,000"
    history = html[html.index('id="limit-history"'):]
    assert "set to 4,000" in history and "Policy Address 2026" in history
    assert supervisor.full_name in history


def test_changing_the_limit_is_recorded(client, supervisor):
    set_limit(supervisor, 100)
    response = post_limit(client, year=str(YEAR), limit="150", note="Raised mid-year")
    assert response.status_code == 302
    assert period().quota_limit == 150
    html = page(client)
    assert "100 &rarr; 150" in html and "Raised mid-year" in html
    response = post_limit(client, year=str(YEAR), limit="")
    assert response.status_code == 302
    assert period().quota_limit is None
    assert "150 &rarr; no limit" in page(client)


def test_a_limit_below_allocated_is_refused_with_the_numbers(client, supervisor, caseworker):
    set_limit(supervisor, 5)
    for _ in range(3):
        approve(caseworker)
    changes = _db.session.scalar(select(func.count()).select_from(QuotaLimitChange))

    response = post_limit(client, year=str(YEAR), limit="2")
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    message = ("The QMAS quota for 2026 already has 3 places allocated, so the limit cannot be "
               "set to 2. Set it to 3 or more.")
    assert html.count(message) == 2  # in the summary and beside the field
    assert re.search(r'id="limit-error">' + re.escape(message), html)
    assert 'href="#limit"' in html
    assert period().quota_limit == 5
    assert _db.session.scalar(select(func.count()).select_from(QuotaLimitChange)) == changes


@pytest.mark.parametrize(("year", "limit", "message"), [
    (str(YEAR), "-1", "Enter a limit between 0 and 1,000,000 places"),
    (str(YEAR), "abc", "Enter the limit as a whole number of places"),
    (str(YEAR), "12.5", "Enter the limit as a whole number of places"),
    (str(YEAR), "1e3", "Enter the limit as a whole number of places"),
    (str(YEAR), "99999999", "Enter a limit between 0 and 1,000,000 places"),
    ("", "100", "Enter the year."),
    ("1999", "100", "Choose a year between 2000 and 2100."),
    ("twenty", "100", "Enter the year as four digits"),
], ids=["negative", "letters", "decimal", "exponent", "huge", "no-year", "old-year",
        "year-in-words"])
def test_bad_limit_input_is_refused_and_nothing_saved(client, supervisor, year, limit,
                                                      message):
    response = post_limit(client, year=year, limit=limit)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert message in html
    assert "There is a problem" in html
    assert html.count(message) == 2  # in the summary and beside the field
    assert _db.session.scalar(select(func.count()).select_from(QuotaPeriod)) == 0


def test_a_blank_limit_means_no_limit(client, supervisor):
    response = post_limit(client, year=str(YEAR), limit="  ")
    assert response.status_code == 302
    saved = period()
    assert saved is not None and saved.quota_limit is None
    html = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "The QMAS quota for 2026 is now no limit (quota suspended)." in html


# --- CSV export ---------------------------------------------------------------------------

def test_csv_export_lists_the_years_allocations(client, supervisor, caseworker, monkeypatch):
    set_limit(supervisor, 10)
    kept = approve(caseworker, at=datetime(YEAR, 4, 1, 2, tzinfo=UTC), family_name="Wong")
    gone = approve(caseworker, at=datetime(YEAR, 5, 1, 2, tzinfo=UTC), family_name="=Lee")
    release(gone, supervisor, "applicant declined")
    other_year = 2027
    set_limit(supervisor, 10, other_year)
    approve(caseworker, at=datetime(other_year, 4, 1, 2, tzinfo=UTC))

    # 16:05 UTC on 1 December is 00:05 on 2 December in Hong Kong: the name says the latter.
    monkeypatch.setattr("backoffice.core.export.utcnow",
                        lambda: datetime(YEAR, 12, 1, 16, 5, 30, tzinfo=UTC))
    response = client.get("/quota/export.csv", query_string={"year": YEAR})
    assert response.was_streamed
    assert ('filename="qmas-quota-2026-allocations-2026-12-02T0005.csv"'
            in response.headers["Content-Disposition"])
    header, *rows = read_csv(response)
    assert header == [str(name) for name in dashboard.CSV_HEADER]
    assert [r[0] for r in rows] == [gone.reference, kept.reference]
    newest, oldest = (dict(zip(header, row, strict=True)) for row in rows)
    assert newest["Family name"] == "'=Lee"  # a spreadsheet must not run it as a formula
    assert newest["Released (Hong Kong time)"]
    assert [newest["Release step (code)"], newest["Release step"],
            newest["Release reason"]] == ["withdraw", "Withdraw", "applicant declined"]
    assert list(oldest.values())[1:7] == ["Wong", "Mei Ling", "陳美玲", "CA", "Canada",
                                          "2026-04-01 10:00:00"]
    assert list(oldest.values())[7:] == ["", "", "", ""]


def test_csv_export_of_an_unset_year_has_only_the_header(client, supervisor):
    response = client.get("/quota/export.csv", query_string={"year": 2031})
    assert read_csv(response) == [[str(name) for name in dashboard.CSV_HEADER]]


# --- Who may see it -----------------------------------------------------------------------

@pytest.mark.parametrize(("method", "url"), [
    ("GET", "/quota/"), ("GET", f"/quota/?year={YEAR}"), ("GET", "/quota/export.csv"),
    ("GET", f"/quota/export.csv?year={YEAR}"), ("POST", "/quota/limit"),
])
def test_caseworkers_are_refused_every_quota_route(client, as_role, method, url):
    as_role(Role.CASEWORKER)
    if method == "GET":
        response = client.get(url)
    else:
        response = client.post_form(url, {"year": str(YEAR), "limit": "10"},
                                    token_from="/account/password")
    assert response.status_code == 403
    assert _db.session.scalar(select(func.count()).select_from(QuotaPeriod)) == 0


def test_only_supervisors_see_the_quota_menu_item(client, as_role):
    as_role(Role.SUPERVISOR)
    html = client.get("/cases/").get_data(as_text=True)
    assert re.search(r'href="/quota/"\s*>Quota</a>', html)


def test_caseworkers_do_not_see_the_quota_menu_item(client, as_role):
    as_role(Role.CASEWORKER)
    assert 'href="/quota/"' not in client.get("/cases/").get_data(as_text=True)
