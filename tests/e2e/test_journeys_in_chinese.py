"""The QMAS journey once more, read in Traditional Chinese from end to end.

A visitor switches the sign-in page to Chinese with the header's switcher (a plain form);
a caseworker who reads the back office in Chinese creates a QMAS family through the Chinese
form and submits it; a supervisor who reads it in Chinese reviews and approves the case and
sees the quota place taken. Every control is found by its Chinese name, as a person reads it,
and the main pages are scanned for English left over (``tests/test_pages_by_language.py``'s
scan, with the database's values as data: names and references are shown as entered).

The pages are photographed for the README in Chinese (``make screenshots`` copies them into
``docs/screenshots/zh-*.png``).
"""

from __future__ import annotations

import re
from datetime import date, timedelta

from babel.dates import format_date, format_skeleton
from playwright.sync_api import Page, expect
from sqlalchemy import select

from backoffice.auth.models import Role, User
from backoffice.cases.models import Case
from backoffice.core.dates import add_months, birthday, hk_today
from backoffice.core.i18n import force_language
from backoffice.extensions import db
from backoffice.notifications.models import Notification
from backoffice.notifications.services import reminder_subject
from tests.e2e.conftest import Person
from tests.e2e.test_journeys import REFERENCE, receive_every_document_on_paper
from tests.test_pages_by_language import stored_values, untranslated, visible_text

ZH = "zh_Hant_HK"
ZH_LOCALE = "zh_Hant_HK"


def shown(day: date) -> str:
    """A date as a Chinese page shows it ("2026年12月3日")."""
    return format_date(day, "medium", locale=ZH_LOCALE)


def nav(page: Page, item: str) -> None:
    page.get_by_role("navigation", name="主選單").get_by_role("link", name=item,
                                                             exact=True).click()


def flash(page: Page, text: str | re.Pattern) -> None:
    expect(page.get_by_role("status").filter(has_text=text)).to_be_visible()


def take_step(page: Page, step: str) -> None:
    """A step on the case page by its button; one with a page of its own by its link, then
    「繼續」 and the button named after the step on the page that checks it."""
    actions = page.get_by_role("region", name="操作")
    link = actions.get_by_role("link", name=step, exact=True)
    if not link.count():
        actions.get_by_role("button", name=step, exact=True).click()
        return
    link.click()
    page.get_by_role("button", name="繼續", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"確認前請核對：{step}")
    page.get_by_role("button", name=step, exact=True).click()


def status_of_case(page: Page):
    return page.get_by_role("main").locator(".badge").first


def sign_in(page: Page, person: Person) -> None:
    """The sign-in form, by its Chinese labels (the page is already in Chinese)."""
    page.get_by_label("電郵地址", exact=True).fill(person.email)
    page.get_by_label("密碼", exact=True).fill(person.password)
    page.get_by_role("button", name="登入", exact=True).click()
    flash(page, f"已以{person.full_name}的身分登入。")


def fill_identity(page, *, family: str, given: str, born: date, nationality: str,
                  passport: str) -> None:
    # Labels are matched exactly: a Chinese label is often part of another (國籍 is in
    # 「父或母為中國籍香港永久性居民」).
    page.get_by_label("姓（拉丁字母）", exact=True).fill(family)
    page.get_by_label("名（拉丁字母）", exact=True).fill(given)
    page.get_by_label("出生日期", exact=True).fill(born.isoformat())
    page.get_by_label("國籍", exact=True).select_option(label=nationality)
    page.get_by_label("護照號碼", exact=True).fill(passport)


def add_dependant(page: Page, relation: str, **identity) -> None:
    details = page.locator("details").filter(has=page.get_by_text("加入配偶或子女", exact=True))
    if details.get_attribute("open") is None:
        details.get_by_text("加入配偶或子女", exact=True).click()
    details.get_by_label("與申請人的關係", exact=True).select_option(label=relation)
    fill_identity(details, **identity)
    details.get_by_role("button", name="加入受養人").click()


class Pages:
    """The pages of the journey as they were shown, scanned for English at the end, once,
    against the database's values as they are then (the scan reads every stored text)."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str]] = []

    def keep(self, page: Page, name: str) -> None:
        expect(page.locator("html")).to_have_attribute("lang", "zh-Hant-HK")
        self.seen.append((name, page.content()))

    def english_left(self, data: list[str]) -> dict[str, list[str]]:
        left = {}
        for name, html in self.seen:
            # Only the values on this page: the scan replaces each one it is given.
            found = untranslated(visible_text(html), [v for v in data if v in html])
            if found:
                left[name] = sorted(set(found))
        return left


def test_a_qmas_family_from_draft_to_approval_in_chinese(
        live_server, browse, make_person, scene, camera):
    today = hk_today()
    submitted_on = today - timedelta(days=10)
    caseworker = make_person(Role.CASEWORKER, "Wong Siu Ming")
    supervisor = make_person(Role.SUPERVISOR, "Lam Ka Wai")

    def reads_chinese(*people: Person) -> None:
        for person in people:
            db.session.get(User, person.id).language = ZH

    scene(reads_chinese, caseworker, supervisor)
    pages = Pages()

    # A visitor: the sign-in page is in English until the switcher says otherwise.
    page = browse()
    page.goto("/login")
    expect(page.locator("html")).to_have_attribute("lang", "en-HK")
    expect(page.get_by_role("heading", name="Sign in", level=1)).to_be_visible()
    page.get_by_role("button", name="繁體中文").click()
    expect(page.locator("html")).to_have_attribute("lang", "zh-Hant-HK")
    expect(page.get_by_role("heading", name="登入", level=1)).to_be_visible()
    expect(page.get_by_role("button", name="English")).to_be_visible()  # the way back
    pages.keep(page, "sign-in")
    sign_in(page, caseworker)
    expect(page.get_by_role("heading", name="我的個案", level=1)).to_be_visible()

    # The new-case form, in Chinese.
    nav(page, "新個案")
    expect(page.get_by_role("heading", name="新個案", level=1)).to_be_visible()
    scheme = page.get_by_label("計劃", exact=True)
    qmas = scheme.locator("option").filter(has_text="優秀人才入境計劃")
    scheme.select_option(label=qmas.inner_text())
    page.get_by_label("遞交日期", exact=True).fill(submitted_on.isoformat())
    fill_identity(page, family="Eze", given="Chidinma", born=date(1988, 4, 12),
                  nationality="尼日利亞", passport="A19876543")
    page.get_by_label("電郵地址", exact=True).fill("chidinma.eze.zh@example.net")
    page.get_by_label("通訊語言", exact=True).select_option(label="繁體中文")
    page.get_by_label("申請人同意以電郵接收限期提示").check()
    pages.keep(page, "new-case")
    camera.shoot(page, "new-case-form", readme="zh-new-case")
    page.get_by_role("button", name="儲存", exact=True).click()

    flash(page, re.compile(r"個案 QMAS-\d{4}-\d{6} 已建立為草擬，並已分派給你。"))
    heading = page.get_by_role("heading", level=1)
    expect(heading).to_contain_text("EZE, Chidinma")
    reference = REFERENCE.search(heading.inner_text()).group(0)
    expect(status_of_case(page)).to_have_text("草擬")

    add_dependant(page, "配偶", family="Eze", given="Emeka", born=date(1986, 1, 30),
                  nationality="尼日利亞", passport="A11234567")
    flash(page, "已加入配偶 EZE, Emeka。")
    add_dependant(page, "子女", family="Eze", given="Tobenna", born=date(2015, 6, 1),
                  nationality="尼日利亞", passport="A17654321")
    flash(page, "已加入子女 EZE, Tobenna。")
    # She turned 18 three days before the application was received.
    eighteenth = add_months(submitted_on, -18 * 12) - timedelta(days=3)
    add_dependant(page, "子女", family="Eze", given="Adaeze", born=eighteenth,
                  nationality="尼日利亞", passport="A15555555")
    refusal = (f"已於{shown(birthday(eighteenth, 18))}年滿18歲，即在遞交日期"
               f"（{shown(submitted_on)}）之前；子女在該日須未滿18歲。")
    expect(page.get_by_role("alert").filter(has_text=refusal)).to_have_count(1)
    expect(page.get_by_role("alert").filter(has_text=refusal)).to_be_visible()
    pages.keep(page, "child-refused")
    camera.shoot(page, "child-refused")
    dependants = page.get_by_role("table", name="受養人")
    expect(dependants.get_by_role("row")).to_have_count(3)  # the header, spouse and son
    expect(dependants).not_to_contain_text("Adaeze")

    take_step(page, "遞交")
    flash(page, f"{reference} 已轉為「已遞交」。")
    expect(status_of_case(page)).to_have_text("已遞交")

    # The supervisor finds the case in the office's queue and takes it to approval.
    office = browse()
    office.goto("/login")
    office.get_by_role("button", name="繁體中文").click()
    sign_in(office, supervisor)
    nav(office, "個案")
    office.get_by_role("link", name="所有個案", exact=True).click()
    expect(office.get_by_role("heading", name="所有個案", level=1)).to_be_visible()
    pages.keep(office, "all-cases")
    camera.shoot(office, "all-cases", full_page=False, readme="zh-queue")
    office.get_by_role("search", name="篩選個案").get_by_label("搜尋").fill(reference)
    office.get_by_role("button", name="套用").click()
    found = office.get_by_role("table", name="所有個案").get_by_role("row")
    expect(found).to_have_count(2)  # the header and the case
    expect(found.last).to_contain_text("已遞交")
    office.get_by_role("link", name=reference).click()

    take_step(office, "開始審核")
    flash(office, f"{reference} 已轉為「審核中」。")
    receive_every_document_on_paper(office, reference, {
        "Open the documents": "打開文件", "Mark received on paper": "記錄已收到紙本",
        "The document is marked received.": "文件已記錄為收到。",
        "Every required document is received or waived.": "所有必須文件均已收到或獲豁免。",
    }.__getitem__)
    take_step(office, "批准")
    flash(office, f"{reference} 已轉為「已批准」。")
    expect(status_of_case(office)).to_have_text("已批准")
    # The history tells the steps in Chinese, newest first.
    history = office.get_by_role("region", name="記錄").get_by_role("listitem")
    expect(history.first).to_contain_text("審核中 → 已批准")
    expect(history.filter(has_text="已遞交 → 審核中")).to_have_count(1)
    expect(history.filter(has_text="草擬 → 已遞交")).to_have_count(1)
    expect(history.filter(has_text="配偶：EZE, Emeka")).to_have_count(1)
    expect(history.filter(has_text="子女：EZE, Tobenna")).to_have_count(1)
    expect(history.filter(has_text="已開立")).to_have_count(1)
    pages.keep(office, "case")
    camera.shoot(office, "approved", readme="zh-case")

    # The quota place is taken; the dashboard says so in Chinese.
    nav(office, "配額")
    expect(office.get_by_role("heading", name=f"{today.year} 年優秀人才入境計劃配額")
           ).to_be_visible()
    expect(office.get_by_role("main")).to_contain_text("名額")
    month_row = office.get_by_role(
        "table", name=f"{today.year} 年優秀人才入境計劃每月分配名額（香港時間）",
    ).get_by_role("row", name=format_skeleton("yMMM", today.replace(day=1), locale=ZH_LOCALE))
    expect(month_row).to_have_count(1)  # "2026年12月": the month named in Chinese
    expect(office.locator(".quota-chart .chart-label").first).to_have_text("1月")
    allocations = office.get_by_role(
        "table", name=f"{today.year} 年分配的每個名額，包括已釋出的名額")
    row = allocations.get_by_role("row").filter(has=office.get_by_role("link", name=reference))
    expect(row).to_contain_text("EZE, Chidinma")
    pages.keep(office, "quota-dashboard")
    camera.shoot(office, "quota-dashboard", readme="zh-quota-dashboard")

    nav(office, "即將到期")
    office.get_by_role("link", name="全辦事處").click()
    expect(office.get_by_role("table", name="未來 30 日內的限期")).to_be_visible()
    pages.keep(office, "due-soon")
    camera.shoot(office, "due-soon-office", full_page=False, readme="zh-due-soon")

    # A reminder in the supervisor's notification centre (its title as the worker writes it,
    # in the reader's language: the journey is not about the worker).
    def a_reminder() -> None:
        with force_language(ZH):
            title = reminder_subject("stay_end", False, today + timedelta(days=7), 7, reference)
        case_id = db.session.scalar(select(Case.id).where(Case.reference == reference))
        db.session.add(Notification(user_id=supervisor.id, case_id=case_id, title=title,
                                    body=title))

    scene(a_reminder)
    office.reload()
    office.get_by_role("navigation", name="主選單").get_by_role("link", name="通知").click()
    expect(office.get_by_role("heading", name="通知", level=1)).to_be_visible()
    expect(office.get_by_role("main").get_by_role("listitem").first).to_contain_text(
        f"未讀： 逗留期限於{shown(today + timedelta(days=7))}屆滿（7 日後）：{reference}")
    expect(office.get_by_role("main").get_by_role("link", name="開啟個案")).to_be_visible()
    pages.keep(office, "notification-centre")
    camera.shoot(office, "notification-centre", readme="zh-notification-centre")

    def data() -> list[str]:
        return stored_values()

    assert pages.english_left(scene(data)) == {}
