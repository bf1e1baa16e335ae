"""The case pages in each language: the queues, the case page, the case form, "Due soon", the
calendar page and feed, the CSV export and the messages after a change.

A page is read in the account's language (``User.language``); the calendar feed, which no one
signs in to fetch, in its owner's. Dates are written the reader's way ("2 Mar 2026",
"2026年3月2日"); data (names, references, the CSV's values) stays as entered.

The Chinese expected here is this area's own wording (the fragment ``cases-pages.po``); the
labels of statuses, schemes and deadline kinds belong to the enums and are not asserted.
"""

# Chinese is written with full-width punctuation, which RUF001 takes for look-alikes of ASCII.
# ruff: noqa: RUF001

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta

import pytest
from bs4 import BeautifulSoup
from icalendar import Calendar
from sqlalchemy import select

from backoffice.auth.models import Role, User
from backoffice.cases import calendar
from backoffice.cases.models import Applicant, Case, CaseEvent
from backoffice.cases.schemes import CaseStatus, Scheme
from backoffice.core.dates import HK_TZ, add_months, hk_today
from backoffice.core.i18n import force_language
from backoffice.extensions import db as _db
from tests.cases.factories import make_case
from tests.conftest import read_csv

ZH = "zh_Hant_HK"
S = CaseStatus


# --- helpers -------------------------------------------------------------------------------------


def reads_in(user: User, language: str) -> User:
    """Save ``language`` as the account's choice (it wins over cookies and the browser)."""
    user = _db.session.get(User, user.id)
    user.language = language
    _db.session.commit()
    return user


def html(response) -> str:
    return response.get_data(as_text=True)


def words(response) -> str:
    """The page's text as read, each run of white space one space."""
    return " ".join(BeautifulSoup(html(response), "html.parser").get_text(" ").split())


def chinese_date(day: date) -> str:
    """How a date reads in Hong Kong Chinese, written out here rather than by Babel."""
    return f"{day.year}年{day.month}月{day.day}日"


def hk_morning(day: date) -> datetime:
    return datetime.combine(day, time(10), tzinfo=HK_TZ).astimezone(UTC)


def language_options(page: str) -> list[tuple[str, str, str, bool]]:
    """The correspondence language select's options: (value, lang, text, selected)."""
    select = BeautifulSoup(page, "html.parser").find("select", id="language")
    return [(o["value"], o.get("lang"), o.get_text(), o.has_attr("selected"))
            for o in select.find_all("option")]


def case_form(**overrides) -> dict:
    data = {"scheme": "QMAS", "submitted_on": "2026-03-01", "family_name": "Lee",
            "given_names": "Mei Ling", "chinese_name": "李美玲", "date_of_birth": "1990-04-05",
            "nationality": "GB", "passport_number": "K1234567", "hkid": "", "email": "",
            "phone": "", "programme": "", "language": "en"}
    return data | overrides


# --- The queues ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("queue", "heading", "lists_the_case"), [
    pytest.param("mine", "我的個案", True, id="mine"),
    pytest.param("unassigned", "未分派", False, id="unassigned"),
    pytest.param("awaiting-quota", "等候名額", False, id="awaiting-quota"),
    pytest.param("all", "所有個案", True, id="all"),
])
def test_each_queue_in_chinese(client, as_role, db, queue, heading, lists_the_case):
    me = reads_in(as_role(Role.SUPERVISOR), ZH)
    case = make_case(me)  # submitted 2026-03-02, assigned to me
    response = client.get(f"/cases/queue/{queue}")
    assert response.status_code == 200
    page, text = html(response), words(response)
    assert '<html lang="zh-Hant-HK">' in page
    assert f'<h1 class="h3 m-0">{heading}</h1>' in page
    for tab in ("我的個案", "未分派", "等候名額", "所有個案"):
        assert f">{tab}</a>" in page
    for header in ("檔案編號", "申請人", "計劃", "狀態", "遞交日期", "國籍", "護照", "負責人員"):
        assert f'<th scope="col">{header}</th>' in page
    assert 'aria-label="篩選個案"' in page
    assert 'placeholder="QMAS-2026-000042、姓名、護照號碼、香港身份證號碼"' in page
    assert "套用" in text and "清除" in text and "匯出 CSV" in text
    assert ("最新的先" in page) and ("遞交日期，最早的先" in page) and ("所有國籍" in page)
    assert (case.reference in text) == lists_the_case
    assert ("2026年3月2日" in text) == lists_the_case
    # the row's scheme, status and "no deadline open", named once per page in Chinese
    for cell in ("<td>優才計劃</td>", ">草擬</span>", ">沒有待辦的限期</span>"):
        assert (cell in page) == lists_the_case, cell
    assert ("沒有符合條件的個案。" in text) != lists_the_case
    for english in ("No cases match", "Export CSV", "Apply", "Newest first", "2026-03-02",
                    "2 Mar 2026", "Reference"):
        assert english not in text


@pytest.mark.parametrize(("language", "shown", "not_shown"), [
    pytest.param("en", "2 Mar 2026", "2026年3月2日", id="en"),
    pytest.param(ZH, "2026年3月2日", "2 Mar 2026", id="zh"),
])
def test_the_queue_writes_dates_the_readers_way(client, as_role, db, language, shown, not_shown):
    me = reads_in(as_role(Role.CASEWORKER), language)
    make_case(me)
    text = words(client.get("/cases/"))
    assert shown in text
    assert not_shown not in text and "2026-03-02" not in text


def test_the_menu_and_bulk_reassignment_controls_in_chinese(client, as_role, db):
    reads_in(as_role(Role.SUPERVISOR), ZH)
    page = html(client.get("/cases/queue/all"))
    menu = {a["href"]: a.get_text(strip=True)
            for a in BeautifulSoup(page, "html.parser").select("a.nav-link")}
    assert (menu["/cases/"], menu["/cases/new"], menu["/cases/due-soon"]) == (
        "個案", "新個案", "即將到期")
    assert "把已剔選的個案分派給" in page
    assert 'value="重新分派已剔選的個案"' in page


# --- The case page -------------------------------------------------------------------------------


@pytest.mark.parametrize(("scheme", "status", "expected"), [
    pytest.param(Scheme.QMAS, None, [
        "申請人", "出生日期 1990年5月17日", "遞交日期 2026年3月2日", "國籍", "護照",
        "電郵 mei.ling.chan@example.com （同意接收電郵提示）", "通訊語言 English",
        "負責人員：", "受養人", "沒有受養人。", "加入配偶或子女",
        "子女在遞交日期（2026年3月2日）必須未婚及未滿18歲。配偶最多一名。", "操作", "記錄",
        "編輯個案",
    ], id="qmas-draft"),
    pytest.param(Scheme.GEP_PRO, None, [
        "聘用通知 於Harbour Analytics Ltd任職Senior data engineer，月薪 68,000.00 港元",
        "相關性", "未能在本地輕易覓得人選的原因",
    ], id="gep-pro-job-offer"),
    pytest.param(Scheme.GEP_ENT, None, [
        "業務計劃 A design studio", "政府支持計劃 無",
    ], id="gep-ent-programme"),
    pytest.param(Scheme.ASSG, None, [
        "父或母為中國籍香港永久性居民 是", "已移居海外 是",
    ], id="assg-family"),
    pytest.param(Scheme.QMAS, S.IN_STAY, [
        "逗留及限期", "抵港日期 2026年3月16日", "逗留期限屆滿 2027年3月16日 （首次逗留 12 個月）",
        "可申請延期的期間 2027年2月16日至2027年3月16日（28 日）",
        "尚未記錄：延期逗留須有聘用通知。", "尚餘日數", "記錄聘用通知", "更正日期",
        "受養人的逗留期與申請人相同：2026年3月16日至2027年3月16日。",
    ], id="qmas-in-stay"),
    pytest.param(Scheme.QMAS, S.REFUSED, [
        "這個個案的狀態為「", "」，不能再進行其他步驟。",
    ], id="qmas-refused"),
])
def test_the_case_page_in_chinese(client, as_role, db, scheme, status, expected):
    me = reads_in(as_role(Role.CASEWORKER), ZH)
    case = make_case(me, scheme, status)
    response = client.get(f"/cases/{case.id}")
    assert response.status_code == 200
    text = words(response)
    for phrase in expected:
        assert phrase in text, phrase
    assert case.reference in text and "CHAN, Mei Ling" in text  # data as entered
    for english in ("Date of birth", "Submission date", "Assigned to", "History", "Dependants",
                    "Actions", "2026-03-02", "2 Mar 2026", "agrees to", "months initial stay",
                    "a month", "policy of", "no further steps", "Stay and deadlines"):
        assert english not in text, english


def test_a_step_needing_a_reason_is_labelled_with_the_step_in_chinese(client, as_role, db):
    me = reads_in(as_role(Role.CASEWORKER), ZH)
    case = make_case(me, Scheme.QMAS, S.SUBMITTED)
    # A submitted case can be withdrawn or refused, each with a reason, on its own page.
    for step in ("refuse", "withdraw"):
        page = html(client.get(f"/cases/{case.id}/step/{step}"))
        label = re.findall(r'<label class="form-label" for="reason">([^<]+)</label>', page)
        assert len(label) == 1, step
        assert label[0].startswith("「") and label[0].endswith("」的理由"), label


# --- The case form and the correspondence language -----------------------------------------------


def test_the_new_case_form_in_chinese(client, as_role, db):
    reads_in(as_role(Role.CASEWORKER), ZH)
    response = client.get("/cases/new")
    page, text = html(response), words(response)
    for label in ("計劃", "遞交日期", "姓（拉丁字母）", "名（拉丁字母）", "中文姓名", "出生日期",
                  "國籍", "護照號碼", "香港身份證號碼", "電郵地址", "電話", "通訊語言",
                  "申請人同意以電郵接收限期提示", "業務計劃（企業家）", "政府支持計劃（企業家）",
                  "月薪（港元）（專業人士）", "父或母為中國籍香港永久性居民（ASSG）"):
        assert f">{label}</label>" in page, label
    for legend in ("申請", "申請人", "企業家（GEP）", "專業人士（GEP）：已確定的聘用通知",
                   "第二代（ASSG）"):
        assert f'<legend class="h5">{legend}</legend>' in page
    assert language_options(page) == [("en", "en-HK", "English", True),
                                      (ZH, "zh-Hant-HK", "繁體中文", False)]
    assert '<option value="">選擇國家／地區</option>' in page
    assert "新個案會儲存為草擬；請在個案頁面遞交。" in text
    assert 'value="儲存"' in page
    for english in ("Family name", "Latin script", "Choose a country", "Save",
                    "saved as a draft", "Correspondence language"):
        assert english not in text and f'value="{english}"' not in page


@pytest.mark.parametrize(("reader", "written_in", "name", "tag"), [
    pytest.param("en", "en", "English", "en-HK", id="en-page-en-applicant"),
    pytest.param("en", ZH, "繁體中文", "zh-Hant-HK", id="en-page-zh-applicant"),
    pytest.param(ZH, "en", "English", "en-HK", id="zh-page-en-applicant"),
    pytest.param(ZH, ZH, "繁體中文", "zh-Hant-HK", id="zh-page-zh-applicant"),
])
def test_the_correspondence_language_is_saved_and_shown(client, as_role, db, reader, written_in,
                                                        name, tag):
    reads_in(as_role(Role.CASEWORKER), reader)
    response = client.post_form("/cases/new", case_form(language=written_in),
                                token_from="/cases/new")
    assert response.status_code == 302, html(response)[:2000]
    case = db.session.scalar(select(Case))
    assert case.applicant.language == written_in
    shown = html(client.get(f"/cases/{case.id}"))
    assert (f'<dd class="col-sm-8" id="applicant-language"><span lang="{tag}">{name}</span>'
            in shown)
    edit = html(client.get(f"/cases/{case.id}/edit"))
    assert [code for code, _tag, _name, chosen in language_options(edit) if chosen] == [
        written_in]


def test_changing_the_correspondence_language_is_an_edit(client, as_role, db):
    reads_in(as_role(Role.CASEWORKER), ZH)
    client.post_form("/cases/new", case_form(), token_from="/cases/new")
    case = db.session.scalar(select(Case))
    response = client.post_form(f"/cases/{case.id}/edit",
                                case_form(language=ZH, version=case.version),
                                token_from=f"/cases/{case.id}/edit", follow_redirects=True)
    assert "個案已儲存。" in words(response)
    db.session.expire_all()
    assert db.session.get(Case, case.id).applicant.language == ZH


@pytest.mark.parametrize("language", ["fr", "zh", "EN", "zh-Hant-HK"])
def test_an_unknown_correspondence_language_is_refused(client, as_role, db, language):
    reads_in(as_role(Role.CASEWORKER), ZH)
    response = client.post_form("/cases/new", case_form(language=language),
                                token_from="/cases/new")
    assert response.status_code == 422
    assert db.session.scalar(select(Applicant)) is None


def test_an_old_form_without_the_language_writes_in_english(client, as_role, db):
    """A form posted without the field (an old page still open) keeps the default."""
    reads_in(as_role(Role.CASEWORKER), ZH)
    data = case_form()
    del data["language"]
    assert client.post_form("/cases/new", data, token_from="/cases/new").status_code == 302
    assert db.session.scalar(select(Applicant)).language == "en"


@pytest.mark.parametrize(("overrides", "label", "message"), [
    pytest.param({"family_name": " "}, "姓（拉丁字母）", "請輸入姓。", id="family-name"),
    pytest.param({"date_of_birth": ""}, "出生日期", "請以 YYYY-MM-DD 格式輸入出生日期。",
                 id="date-of-birth"),
    pytest.param({"nationality": ""}, "國籍", "請選擇國籍。", id="nationality"),
    pytest.param({"passport_number": ""}, "護照號碼", "請輸入護照號碼。", id="passport"),
    pytest.param({"email": "not-an-address"}, "電郵地址", "請輸入有效的電郵地址。", id="email"),
    pytest.param({"job_salary": "0"}, "月薪（港元）（專業人士）",
                 "請輸入大於 0 而不超過 10,000,000 的月薪。", id="salary"),
    pytest.param({"job_salary": "100.001"}, "月薪（港元）（專業人士）",
                 "請以元及仙輸入金額，最多兩個小數位。", id="salary-cents"),
])
def test_the_case_forms_refusals_in_chinese(client, as_role, db, overrides, label, message):
    reads_in(as_role(Role.CASEWORKER), ZH)
    response = client.post_form("/cases/new", case_form(**overrides), token_from="/cases/new")
    assert response.status_code == 422
    text = words(response)
    assert message in text
    assert f"{label}：{message}" in text  # the summary names the field in Chinese too


# --- Messages after a change ---------------------------------------------------------------------


@pytest.mark.parametrize(("language", "ticked", "expected"), [
    pytest.param("en", 1, "1 case reassigned to {name}.", id="en-one"),
    pytest.param("en", 2, "2 cases reassigned to {name}.", id="en-two"),
    pytest.param(ZH, 1, "已把 1 個個案重新分派給 {name}。", id="zh-one"),
    pytest.param(ZH, 3, "已把 3 個個案重新分派給 {name}。", id="zh-three"),
])
def test_the_bulk_reassignment_outcome_counts_in_the_readers_language(
        client, as_role, make_user, db, language, ticked, expected):
    owner = make_user(Role.CASEWORKER)
    target = make_user(Role.CASEWORKER, full_name="Wong Siu Ming")
    cases = [make_case(owner) for _ in range(3)]
    reads_in(as_role(Role.SUPERVISOR), language)
    response = client.post_form("/cases/reassign", {
        "case_ids": [c.id for c in cases[:ticked]], "assignee": target.id,
        "back": "/cases/queue/all"}, token_from="/cases/queue/all", follow_redirects=True)
    assert expected.format(name="Wong Siu Ming") in words(response)


@pytest.mark.parametrize(("language", "expected"), [
    pytest.param("en", "Date corrected; the stay now ends on 20 Mar 2027.", id="en"),
    pytest.param(ZH, "日期已更正；逗留期限現於2027年3月20日屆滿。", id="zh"),
])
def test_a_corrected_arrival_says_the_new_end_of_stay_the_readers_way(client, as_role, db,
                                                                      language, expected):
    me = reads_in(as_role(Role.CASEWORKER), language)
    case = make_case(me, Scheme.QMAS, S.IN_STAY)  # arrived 2026-03-16
    arrival = db.session.scalar(select(CaseEvent.id).where(
        CaseEvent.case_id == case.id, CaseEvent.transition == "record_arrival"))
    response = client.post_form(f"/cases/{case.id}/dates", {
        "version": case.version, "which": str(arrival), "corrected": "2026-03-20",
        "reason": "Stamp misread."}, token_from=f"/cases/{case.id}", follow_redirects=True)
    assert expected in words(response)


@pytest.mark.parametrize(("step", "needs_status", "expected"), [
    pytest.param("take", None, "{reference} 現已分派給你。", id="take"),
    pytest.param("step/submit", "draft", "{reference} 已轉為「", id="step"),
])
def test_what_a_change_says_in_chinese(client, as_role, make_user, db, step, needs_status,
                                       expected):
    owner = make_user(Role.CASEWORKER)
    me = reads_in(as_role(Role.CASEWORKER), ZH)
    case = make_case(me if needs_status else owner)
    if step == "take":
        case.assignee_id = None
        db.session.commit()
    response = client.post_form(f"/cases/{case.id}/{step}", {"version": case.version},
                                token_from=f"/cases/{case.id}", follow_redirects=True)
    assert expected.format(reference=case.reference) in words(response)


# --- Due soon and the calendar -------------------------------------------------------------------


def test_due_soon_in_chinese(client, as_role, db):
    me = reads_in(as_role(Role.SUPERVISOR), ZH)
    ends = hk_today() + timedelta(days=10)
    arrived = add_months(ends, -12)
    make_case(me, Scheme.QMAS, S.IN_STAY, now=hk_morning(arrived), today=arrived,
              submitted_on=arrived - timedelta(days=60))
    response = client.get("/cases/due-soon")
    page, text = html(response), words(response)
    assert '<h1 class="h3 m-0">即將到期：我的個案</h1>' in page
    assert '<h2 class="h5 mt-4">未來 30 日</h2>' in page
    assert '<h2 class="h5 text-danger">逾期</h2>' in page
    assert "沒有逾期的限期。" in text
    assert chinese_date(ends) in text
    for header in ("到期日", "日數", "限期", "個案", "申請人", "狀態"):
        assert f'<th scope="col">{header}</th>' in page
    assert "全辦事處" in text and "日曆訂閱" in text
    assert ends.isoformat() not in text
    office = words(client.get("/cases/due-soon", query_string={"scope": "office"}))
    assert "即將到期：全辦事處" in office and "只看我的個案" in office
    assert "負責人員" in office


def test_the_calendar_page_in_chinese(client, as_role, db):
    reads_in(as_role(Role.CASEWORKER), ZH)
    first = words(client.get("/cases/calendar"))
    assert "你的限期日曆" in first and "你尚未有日曆地址。" in first
    assert "建立我的日曆地址" in first
    assert "日曆訂閱以你帳戶的語言（繁體中文）顯示。" in first
    made = words(client.post_form("/cases/calendar/reset", {}, token_from="/cases/calendar",
                                  follow_redirects=True))
    assert "你的日曆地址已準備好。" in made and "訂閱地址" in made
    assert "建立新地址（舊地址會失效）" in made
    again = words(client.post_form("/cases/calendar/reset", {}, token_from="/cases/calendar",
                                   follow_redirects=True))
    assert "已建立新的日曆地址；舊地址已失效。" in again
    assert "calendar" not in " ".join(w for w in again.split() if "/" not in w).lower()


@pytest.mark.parametrize(("owner", "asked_for", "calendar_name", "summary", "description"), [
    pytest.param("en", "zh-HK", "Deadlines — {name}", "{kind}: {ref} CHAN, Mei Ling",
                 "{kind} for case {ref} (QMAS).", id="english-owner-chinese-app"),
    pytest.param(ZH, "en", "限期 — {name}", "{kind}：{ref} CHAN, Mei Ling",
                 "個案 {ref}（優才計劃）的{kind}。", id="chinese-owner-english-app"),
    pytest.param(ZH, "zh-HK", "限期 — {name}", "{kind}：{ref} CHAN, Mei Ling",
                 "個案 {ref}（優才計劃）的{kind}。", id="chinese-owner-chinese-app"),
])
def test_the_feed_is_written_in_its_owners_language(app, db, make_user, owner, asked_for,
                                                    calendar_name, summary, description):
    me = reads_in(make_user(Role.CASEWORKER, full_name="Ho Ka Yan"), owner)
    case = make_case(me, Scheme.QMAS, S.IN_STAY)
    token = calendar.reset_token(me)
    db.session.commit()
    with force_language(owner):
        kinds = {d.id: str(d.kind.label) for d in case.deadlines}
    response = app.test_client().get(f"/cases/calendar/{token}.ics",
                                     headers={"Accept-Language": asked_for})
    parsed = Calendar.from_ical(response.get_data())
    assert str(parsed["X-WR-CALNAME"]) == calendar_name.format(name="Ho Ka Yan")
    events = parsed.walk("VEVENT")
    assert len(events) == 3
    for event in events:
        deadline_id = int(str(event["UID"]).split("@")[0].removeprefix("deadline-"))
        values = {"kind": kinds[deadline_id], "ref": case.reference}
        assert str(event["SUMMARY"]) == summary.format(**values)
        assert str(event["DESCRIPTION"]) == description.format(**values)


# --- The CSV export ------------------------------------------------------------------------------


ENGLISH_HEADER = ["Reference", "Scheme (code)", "Scheme", "Status (code)", "Status",
                  "Submitted on", "Family name", "Given names", "Chinese name",
                  "Nationality (code)", "Nationality", "Passport (masked)", "HKID (masked)",
                  "Assignee", "Last updated (Hong Kong time)"]
CHINESE_HEADER = ["檔案編號", "計劃（代碼）", "計劃", "狀態（代碼）", "狀態", "遞交日期",
                  "姓", "名", "中文姓名", "國籍（代碼）", "國籍", "護照號碼（已遮蓋）",
                  "香港身份證號碼（已遮蓋）", "負責人員", "最後更新時間（香港時間）"]


@pytest.mark.parametrize(("language", "header", "named"), [
    pytest.param("en", ENGLISH_HEADER, ["Admission Scheme for the Second Generation of Chinese "
                                        "Hong Kong Permanent Residents", "Draft", "Canada"],
                 id="en"),
    pytest.param(ZH, CHINESE_HEADER, ["輸入中國籍香港永久性居民第二代計劃", "草擬", "加拿大"],
                 id="zh"),
])
def test_the_exports_header_and_names_are_in_the_readers_language_and_its_codes_are_not(
        client, as_role, db, language, header, named):
    me = reads_in(as_role(Role.SUPERVISOR), language)
    case = make_case(me, Scheme.ASSG)
    rows = read_csv(client.get("/cases/queue/all/export.csv"))
    assert rows[0] == header
    # Codes, dates and names as entered are data, the same whoever reads them; next to each
    # code, its name in the reader's words.
    reference, scheme, scheme_name, status, status_name, submitted_on, *names = rows[1][:9]
    nationality, nationality_name = rows[1][9:11]
    assert [reference, scheme, status, submitted_on, nationality] == [
        case.reference, "ASSG", "draft", "2026-03-02", "CA"]
    assert names == ["Chan", "Mei Ling", "陳美玲"]
    assert [scheme_name, status_name, nationality_name] == named
