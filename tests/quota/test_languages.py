"""The QMAS quota dashboard, its export and the quota's refusals in both languages: every
word, the month names (Babel's, in the reader's locale), numbers and dates in the reader's
format, and no English sentence left on a Chinese page."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from backoffice.auth.models import Role
from backoffice.extensions import db as _db
from backoffice.reports import dashboard
from tests.conftest import read_csv
from tests.quota.test_dashboard import YEAR, approve, page, post_limit, release, set_limit

ZH = "zh_Hant_HK"


@pytest.fixture
def reader(as_role, request):
    """The signed-in supervisor, reading in the language the test is parametrised with."""
    supervisor = as_role(Role.SUPERVISOR)
    supervisor.language = request.param
    _db.session.commit()
    return supervisor


def _a_year_with_allocations(reader, caseworker) -> None:
    set_limit(reader, 4000)
    approve(caseworker, at=datetime(YEAR, 6, 1, 2, tzinfo=UTC))
    released = approve(caseworker, at=datetime(YEAR, 6, 2, 2, tzinfo=UTC))
    release(released, reader, "Approval withdrawn")


@pytest.mark.parametrize(("reader", "present", "absent"), [
    ("en", ["<title>QMAS quota 2026 ·", "Places in 2026", "<dt>Limit</dt>", ">4,000<",
            "0% of the limit allocated.", "QMAS pipeline now",
            "QMAS allocations per month in 2026", '<th scope="row">Jun 2026</th>',
            ">Jan</text>", ">Dec</text>", "Jun 2026: 1 allocated, 1 in total",
            "Changes to the 2026 limit", "set to 4,000", "Allocations in 2026, newest first",
            "1 Jun 2026, 10:00\u202fam", "Export CSV", "Save the limit", "Limit (places)"],
     ["配額", "1月"]),
    (ZH, ["<title>2026 年優秀人才入境計劃配額 ·", "2026 年的名額", "<dt>上限</dt>", ">4,000<",
          "已分配上限的 0%。", "優秀人才入境計劃個案現況",
          "2026 年優秀人才入境計劃每月分配名額", '<th scope="row">2026年6月</th>',
          ">1月</text>", ">12月</text>",
          "2026年6月：已分配 1 個，累計 1 個",
          "2026 年上限的更改記錄", "設為 4,000", "2026 年的名額分配，最新的先列",
          "2026年6月1日", "匯出 CSV", "儲存上限", "配額上限（名額）"],
     ["Places in", "QMAS pipeline now", "allocations per month", ">Jan<", ">Jun<", "Dec",
      "Changes to the", "set to", "newest first", "Export CSV", "Save the limit",
      "of the limit allocated", "Running total", "Allocated in the month", "Limit (places)",
      "Leave blank for no limit", "Choose the year", "Previous year", "Next year"]),
], indirect=["reader"], ids=["en", "zh"])
def test_the_dashboard_reads_in_the_readers_language(client, reader, caseworker, present,
                                                     absent):
    _a_year_with_allocations(reader, caseworker)
    html = page(client)
    for words in present:
        assert words in html, words
    for words in absent:
        assert words not in html, words


@pytest.mark.parametrize("reader", [ZH], indirect=True)
def test_the_projection_is_a_chinese_sentence_with_a_chinese_date(client, reader, caseworker,
                                                                  monkeypatch):
    set_limit(reader, 10)
    # 5 in the 90 days to 31 March: the other 5 go in 90 more days. (On the factories'
    # submission date, 2 March: no step, submission included, may be dated in the future.)
    for _ in range(5):
        approve(caseworker, at=datetime(YEAR, 3, 2, 2, tzinfo=UTC))
    today = date(YEAR, 3, 31)
    monkeypatch.setattr("backoffice.reports.routes.hk_today", lambda: today)
    html = page(client)
    projection = html[html.index('id="projection"'):]
    projection = projection[:projection.index("</p>")]
    assert "按目前進度，預計配額將於" in projection
    assert '<time datetime="2026-06-29">2026年6月29日</time>' in projection
    assert "（今年至今 90 日內已分配 5 個名額。）" in projection
    assert "Projected" not in projection and "so far this year" not in projection


@pytest.mark.parametrize(("reader", "header", "country"), [
    ("en", ["Reference", "Family name", "Given names", "Chinese name", "Nationality (code)",
            "Nationality", "Allocated (Hong Kong time)", "Released (Hong Kong time)",
            "Release step (code)", "Release step", "Release reason"], "Canada"),
    (ZH, ["檔案編號", "姓", "名", "中文姓名", "國籍（代碼）", "國籍", "分配時間（香港時間）",
          "釋出時間（香港時間）", "釋出步驟（代碼）", "釋出步驟", "釋出理由"], "加拿大"),
], indirect=["reader"], ids=["en", "zh"])
def test_the_csv_headers_follow_the_reader_and_the_data_stays_as_stored(
        client, reader, caseworker, header, country):
    set_limit(reader, 10)
    approve(caseworker, at=datetime(YEAR, 4, 1, 2, tzinfo=UTC), family_name="Wong")
    rows = read_csv(client.get("/quota/export.csv", query_string={"year": YEAR}))
    assert rows[0] == header
    assert rows[1][1:7] == ["Wong", "Mei Ling", "陳美玲", "CA", country, "2026-04-01 10:00:00"]


@pytest.mark.parametrize(("reader", "limit", "message"), [
    ("en", "4000", "The QMAS quota for 2026 is now 4,000 places."),
    (ZH, "4000", "2026 年的 QMAS 配額現為 4,000 個名額。"),
    ("en", "", "The QMAS quota for 2026 is now no limit (quota suspended)."),
    (ZH, "", "2026 年的 QMAS 配額現已不設上限（暫停配額限制）。"),
], indirect=["reader"])
def test_saving_the_limit_says_so_in_the_readers_language(client, reader, limit, message):
    response = post_limit(client, year=str(YEAR), limit=limit)
    assert response.status_code == 302
    assert message in client.get(response.headers["Location"]).get_data(as_text=True)


@pytest.mark.parametrize(("reader", "year", "limit", "message"), [
    (ZH, str(YEAR), "2", "2026 年的 QMAS 配額已分配 3 個名額，"
                         "因此上限不可設為 2。請設為 3 或以上。"),
    (ZH, str(YEAR), "abc", "請以整數輸入名額上限，例如 4000；如不設上限，請留空。"),
    (ZH, str(YEAR), "-1", "請輸入 0 至 1,000,000 個名額之間的上限；如不設上限，請留空。"),
    (ZH, "", "100", "請輸入年份。"),
    (ZH, "1999", "100", "請選擇 2000 至 2100 年之間的年份。"),
    ("en", str(YEAR), "2", "The QMAS quota for 2026 already has 3 places allocated, so the "
                           "limit cannot be set to 2. Set it to 3 or more."),
], indirect=["reader"], ids=["zh-below", "zh-letters", "zh-negative", "zh-no-year",
                             "zh-old-year", "en-below"])
def test_refusals_and_form_errors_read_in_the_readers_language(client, reader, caseworker,
                                                               year, limit, message):
    set_limit(reader, 5)
    for _ in range(3):
        approve(caseworker)
    response = post_limit(client, year=year, limit=limit)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert html.count(message) == 2  # in the summary and beside the field


@pytest.mark.parametrize(("language", "months"), [
    # en_HK's own abbreviation of September is "Sept".
    ("en", ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sept", "Oct", "Nov",
            "Dec"]),
    (ZH, [f"{n}月" for n in range(1, 13)]),
])
def test_month_labels_are_babels_in_the_readers_locale(app, language, months):
    from backoffice.core.i18n import force_language

    bars = dashboard.months_of(YEAR, [])
    with app.app_context(), force_language(language):
        assert [bar.label for bar in bars] == months


@pytest.mark.parametrize(("reader", "shown", "step"), [
    ("en", "Withdraw: Approval withdrawn", "Withdraw"),
    # The step in the reader's words, the reason as typed.
    (ZH, "撤回：Approval withdrawn", "撤回"),
], indirect=["reader"])
def test_a_place_given_back_says_which_step_and_why_in_the_readers_language(
        client, reader, caseworker, shown, step):
    _a_year_with_allocations(reader, caseworker)
    assert shown in page(client)
    # The export gives the step (its code and its name) and the reason columns of their own.
    rows = read_csv(client.get(f"/quota/export.csv?year={YEAR}"))
    assert [row[-3:] for row in rows[1:] if row[-3]] == [["withdraw", step, "Approval withdrawn"]]
