"""axe-core over the main pages, as each role sees them, with and without form errors, in
English and in Traditional Chinese.

axe runs the WCAG 2.0 A and AA rules; a serious or critical violation fails the test and is
printed rule by rule, with the elements and how to fix them. Forms folded into <details> are
unfolded first so their controls are checked too.

A signed-in account's own preference decides the language of its pages, so before each check
the role's account is set to read the page's language (and every account is set back to
English when the module ends: the other journeys read the demo accounts in English); a
visitor's language is the switcher's cookie. The English pass runs first, then the Chinese one,
so an account's language changes once per role.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta

import pytest
from flask_babel import gettext
from playwright.sync_api import Browser, BrowserContext, Page, expect

from backoffice.auth import services as accounts
from backoffice.auth.models import Role
from backoffice.cases import services as cases
from backoffice.cases.models import DeadlineClosure, Relationship
from backoffice.cases.schemes import CaseStatus, Scheme
from backoffice.core.dates import hk_today, utcnow
from backoffice.core.i18n import LANGUAGE_COOKIE, force_language
from backoffice.extensions import db
from backoffice.notifications.models import Notification
from tests.cases.factories import dependant_data, make_case
from tests.e2e.conftest import (
    ARTIFACTS,
    CONTEXT_OPTIONS,
    DEMO_ADMIN,
    DEMO_SUPERVISOR,
    FAILING_IMPACTS,
    SCREENSHOTS,
    LiveServer,
    axe_violations,
    demo_person,
    describe_violations,
    sign_in,
)

# Every violation found, of any impact, page by page (the minor ones are worth reading too).
REPORT = ARTIFACTS / "accessibility.txt"
DEMO_CASEWORKER = ("caseworker@example.org", "Chan Tai Man", Role.CASEWORKER,
                   "demo-caseworker-password")


@dataclass(frozen=True)
class Facts:
    case_id: int  # a QMAS family in stay, assigned to the demo caseworker
    user_id: int  # the demo caseworker's account, as the admin sees it
    approved_id: int  # a GEP (Professionals) case approved, its visa not yet issued
    second_place_id: int  # a QMAS case under review whose applicant holds a place already
    draft_id: int  # a QMAS draft of the demo caseworker (its change of scheme is checked)


# The family in stay's applicant: a new case typed with these is a duplicate of it.
FAMILY_APPLICANT = {"family_name": "Lau", "given_names": "Siu Ming",
                    "date_of_birth": date(1985, 2, 3), "nationality": "CA",
                    "passport_number": "AX1357924"}


# Someone whose password an admin chose: signed in, they see only the change page.
TEMPORARY = ("temporary.password@example.org", "Tam Po Yee", Role.CASEWORKER,
             "a temporary password from the admin")


FAILURE_SCREENSHOTS = SCREENSHOTS / "accessibility"
ACCOUNTS_BY_ROLE = {"caseworker": DEMO_CASEWORKER, "supervisor": DEMO_SUPERVISOR,
                    "admin": DEMO_ADMIN, "temporary": TEMPORARY}
LANGUAGES = ("en", "zh_Hant_HK")


@pytest.fixture(scope="module", autouse=True)
def fresh_report() -> None:
    REPORT.unlink(missing_ok=True)
    shutil.rmtree(FAILURE_SCREENSHOTS, ignore_errors=True)


@pytest.fixture(scope="module")
def facts(live_server: LiveServer) -> Facts:
    """A case with every section filled (stay, deadlines, dependants) and notifications, read,
    unread and resolved, for the demo caseworker."""
    with live_server.app.app_context():
        caseworker = accounts.get_user_by_email(DEMO_CASEWORKER[0])
        today = hk_today()
        case = make_case(caseworker, Scheme.QMAS, CaseStatus.IN_STAY, today=today,
                         now=utcnow(), submitted_on=today - timedelta(days=3),
                         **FAMILY_APPLICANT)
        cases.add_dependant(caseworker, case, Relationship.CHILD, dependant_data(
            date_of_birth=today - timedelta(days=365 * 9)), married=False,
            expected_version=case.version)
        for title, read_at in (("Stay ends soon: a read one", utcnow()),
                               ("Stay ends soon: an unread one", None)):
            db.session.add(Notification(user_id=caseworker.id, case_id=case.id, title=title,
                                        body=title, read_at=read_at))
        # One whose deadline was met before it was read: shown muted, with the reason.
        db.session.add(Notification(user_id=caseworker.id, case_id=case.id,
                                    title="Job offer due: met before it was read",
                                    body="Met.", resolved_at=utcnow(),
                                    resolution=DeadlineClosure.MET))
        email, name, role, password = TEMPORARY
        if accounts.get_user_by_email(email) is None:
            accounts.create_user(None, email=email, full_name=name, role=role,
                                 password=password, temporary=True)
        approved = make_case(caseworker, Scheme.GEP_PRO, CaseStatus.APPROVED, today=today,
                             now=utcnow(), submitted_on=today - timedelta(days=3))
        # The same person again (saved anyway): Approve is offered disabled, naming the case
        # whose QMAS place they hold.
        second = make_case(caseworker, Scheme.QMAS, CaseStatus.UNDER_REVIEW, today=today,
                           now=utcnow(), submitted_on=today - timedelta(days=2),
                           accept_duplicates="A second application, for the checks.",
                           **FAMILY_APPLICANT)
        draft = make_case(caseworker, Scheme.QMAS, today=today,
                          submitted_on=today - timedelta(days=1))
        db.session.commit()
        found = Facts(case_id=case.id, user_id=caseworker.id, approved_id=approved.id,
                      second_place_id=second.id, draft_id=draft.id)
        db.session.remove()
    return found


def _set_language(live_server: LiveServer, role: str, language: str) -> None:
    with live_server.app.app_context():
        user = accounts.get_user_by_email(ACCOUNTS_BY_ROLE[role][0])
        if user is not None and user.language != language:
            accounts.set_language(user, language)
            db.session.commit()
        db.session.remove()


@pytest.fixture(scope="module")
def signed_in(browser: Browser, live_server: LiveServer, facts: Facts) -> Iterator[Callable]:
    """``signed_in(role, language)``: one browser context per role for the module, signed in
    (signing in is not under test here) in English, with the role's account then set to read
    ``language``; a visitor's context (role None) per language, with the switcher's cookie."""
    contexts: dict[str | None, BrowserContext] = {}
    visitors: dict[str, BrowserContext] = {}

    def context_for(role: str | None, language: str = "en") -> BrowserContext:
        if role is None:
            if language not in visitors:
                visitors[language] = browser.new_context(base_url=live_server.url,
                                                         **CONTEXT_OPTIONS)
                visitors[language].add_cookies([{"name": LANGUAGE_COOKIE, "value": language,
                                                 "url": live_server.url}])
            return visitors[language]
        if role not in contexts:
            _set_language(live_server, role, "en")  # sign_in reads the English page
            context = browser.new_context(base_url=live_server.url, **CONTEXT_OPTIONS)
            page = context.new_page()
            sign_in(page, demo_person(live_server, ACCOUNTS_BY_ROLE[role]))
            page.close()
            contexts[role] = context
        _set_language(live_server, role, language)
        return contexts[role]

    yield context_for
    for context in [*contexts.values(), *visitors.values()]:
        context.close()
    for role in ACCOUNTS_BY_ROLE:
        _set_language(live_server, role, "en")


@pytest.fixture(scope="module")
def say(live_server: LiveServer) -> Callable[[str, str], str]:
    """``say(language, "Save")``: a button's or a message's words as a page in ``language``
    shows them (the catalogue's translation), so the acts find controls by their names."""
    said: dict[tuple[str, str], str] = {}

    def words(language: str, english: str) -> str:
        if (language, english) not in said:
            with live_server.app.test_request_context(), force_language(language):
                said[language, english] = gettext(english)
        return said[language, english]

    return words


def unfold(page: Page) -> None:
    page.locator("details").evaluate_all("all => all.forEach(d => { d.open = true; })")


# An act: ``act(page, say)``, where ``say("Save")`` is the word in the page's language.
Act = Callable[[Page, Callable[[str], str]], None]


def unfolded(page: Page, _say: Callable[[str], str]) -> None:
    unfold(page)


def submit_empty(button: str) -> Act:
    def act(page: Page, say: Callable[[str], str]) -> None:
        unfold(page)
        page.get_by_role("button", name=say(button), exact=True).click()
        expect(page.get_by_role("alert").filter(has_text=say("There is a problem"))
               ).to_be_visible()

    return act


def request_nothing(page: Page, say: Callable[[str], str]) -> None:
    """The request for documents sent with none chosen: refused, said at the top."""
    page.get_by_role("button", name=say("Send the request"), exact=True).click()
    expect(page.locator("#documents-error")).to_contain_text(
        say("Choose at least one document to request."))


def upload_a_program(page: Page, say: Callable[[str], str]) -> None:
    """A Windows program named like a PDF, uploaded as a dependant's proof of identity."""
    line = page.locator("#checklist > li[data-state='missing']").first
    line.locator("summary").click()
    line.get_by_label(say("File"), exact=True).set_input_files(
        {"name": "passport.pdf", "mimeType": "application/pdf",
         "buffer": b"MZ" + bytes(510)})
    line.get_by_role("button", name=say("Upload"), exact=True).click()
    expect(page.locator("#documents-error")).to_be_visible()


def answer_and_continue(answers: dict[str, str]) -> Act:
    """On a step's page: answer (field id → value), press Continue, and reach the page that
    checks the answers and their consequences before the step is confirmed."""
    def act(page: Page, say: Callable[[str], str]) -> None:
        for field_id, value in answers.items():
            page.locator(f"#{field_id}").fill(value)
        page.get_by_role("button", name=say("Continue"), exact=True).click()
        expect(page.locator("#consequences")).to_be_visible()

    return act


def to_an_entrepreneur(page: Page, say: Callable[[str], str]) -> None:
    """On a draft's change of scheme: GEP (Entrepreneurs) chosen, its business plan and a
    reason given, Continue pressed: the page that checks the change (never confirmed here,
    so the draft stays for the other language's pass)."""
    page.locator("#scheme").select_option("GEP_ENT")
    page.locator("#business_plan").fill("A design studio for sustainable packaging.")
    page.locator("#reason").fill("The applicant meant to apply as an entrepreneur.")
    page.get_by_role("button", name=say("Continue"), exact=True).click()
    expect(page.locator("#consequences")).to_be_visible()


def lower_limit(page: Page, say: Callable[[str], str]) -> None:
    page.get_by_label(say("Limit (places)"), exact=True).fill("0")
    page.get_by_role("button", name=say("Save the limit")).click()
    expect(page.get_by_role("alert").filter(has_text=say("There is a problem"))).to_be_visible()


def notes_searched(page: Page, say: Callable[[str], str]) -> None:
    """On the case page: write a note and a correction of it through the note form, then
    show the history's notes alone, searched, with the form unfolded again (so the notes,
    the correction's links, the filters and the form are all checked)."""
    for text, correction in (("Phoned the applicant: passport copy to follow.", False),
                             ("The passport copy comes by courier, not by post.", True)):
        unfold(page)
        page.locator("#text").fill(text)
        if correction:
            page.locator("#corrects").select_option(index=1)
        page.get_by_role("button", name=say("Add note"), exact=True).click()
        expect(page.locator(".case-note").first).to_be_visible()
    page.goto(page.url.split("#")[0] + "?show=notes&q=PASSPORT#history")
    expect(page.locator(".note-corrected").first).to_be_visible()
    unfold(page)


def new_case_of_the_family(page: Page, say: Callable[[str], str]) -> None:
    """On the new case form: the family's applicant typed again, saved: the matches show."""
    def typed(label: str):
        return page.get_by_label(say(label), exact=True)

    typed("Scheme").select_option("QMAS")
    typed("Family name (Latin script)").fill(FAMILY_APPLICANT["family_name"])
    typed("Given names (Latin script)").fill(FAMILY_APPLICANT["given_names"])
    typed("Date of birth").fill(FAMILY_APPLICANT["date_of_birth"].isoformat())
    typed("Nationality").select_option(FAMILY_APPLICANT["nationality"])
    typed("Passport number").fill(FAMILY_APPLICANT["passport_number"])
    page.get_by_role("button", name=say("Save"), exact=True).click()
    expect(page.locator(".duplicate-matches")).to_be_visible()


def save_filters(name: str) -> Act:
    """On a queue: keep its filters under ``name`` (unless a check in the other language
    has), and show them through their tab."""
    def act(page: Page, say: Callable[[str], str]) -> None:
        unfold(page)
        tab = page.locator(".saved-filter").filter(has_text=name)
        if tab.count():
            tab.click()
        else:
            page.get_by_label(say("Name for these filters"), exact=True).fill(name)
            page.get_by_role("button", name=say("Save these filters"), exact=True).click()
        expect(page.locator(".saved-filter.active")).to_be_visible()

    return act


# (name, role, address, what to do before checking)
PAGES = [
    # First, so the case pages checked after it show notes too.
    ("case-page-notes-searched", "caseworker", "/cases/{case_id}", notes_searched),
    ("sign-in", None, "/login", None),
    ("sign-in-errors", None, "/login", submit_empty("Sign in")),
    ("my-cases", "caseworker", "/cases/", None),
    ("my-cases-filter-errors", "caseworker",
     "/cases/queue/mine?submitted_from=2026-05-01&submitted_to=2026-01-01", None),
    ("unassigned", "caseworker", "/cases/queue/unassigned", None),
    ("my-cases-by-next-deadline", "caseworker", "/cases/queue/mine?sort=next_deadline", None),
    ("all-cases-read-only", "caseworker", "/cases/queue/all", None),
    ("saved-filters-errors", "caseworker", "/cases/queue/mine?sort=oldest",
     submit_empty("Save these filters")),
    ("saved-filters-tab", "caseworker", "/cases/queue/mine?sort=next_deadline&scheme=QMAS",
     save_filters("QMAS by deadline")),
    ("search", "caseworker", "/cases/search", None),
    ("search-results", "caseworker", "/cases/search?q=chan", None),
    ("search-errors", "caseworker", "/cases/search?q=x", None),
    ("due-soon", "caseworker", "/cases/due-soon", None),
    ("case-page", "caseworker", "/cases/{case_id}", unfolded),
    ("case-page-dependant-errors", "caseworker", "/cases/{case_id}",
     submit_empty("Add dependant")),
    ("case-page-job-offer-errors", "caseworker", "/cases/{case_id}",
     submit_empty("Record job offer")),
    ("step-close", "caseworker", "/cases/{case_id}/step/close", None),
    ("step-close-errors", "caseworker", "/cases/{case_id}/step/close",
     submit_empty("Continue")),
    ("step-close-check", "caseworker", "/cases/{case_id}/step/close",
     answer_and_continue({"reason": "Left Hong Kong for good."})),
    ("step-visa", "caseworker", "/cases/{approved_id}/step/issue_visa", None),
    ("step-visa-errors", "caseworker", "/cases/{approved_id}/step/issue_visa",
     submit_empty("Record visa issued")),
    ("step-withdraw-check", "caseworker", "/cases/{approved_id}/step/withdraw",
     answer_and_continue({"reason": "Took a post in Singapore."})),
    ("scheme-change", "caseworker", "/cases/{draft_id}/scheme", None),
    ("scheme-change-errors", "caseworker", "/cases/{draft_id}/scheme", submit_empty("Continue")),
    ("scheme-change-check", "caseworker", "/cases/{draft_id}/scheme", to_an_entrepreneur),
    ("case-reminders", "caseworker", "/notifications/case/{case_id}", None),
    ("documents", "caseworker", "/cases/{case_id}/documents", unfolded),
    ("documents-request-refused", "caseworker", "/cases/{case_id}/documents", request_nothing),
    ("documents-upload-refused", "caseworker", "/cases/{case_id}/documents", upload_a_program),
    ("documents-supervisor", "supervisor", "/cases/{case_id}/documents", unfolded),
    ("new-case", "caseworker", "/cases/new", None),
    ("new-case-errors", "caseworker", "/cases/new", submit_empty("Save")),
    ("new-case-duplicate", "caseworker", "/cases/new", new_case_of_the_family),
    ("second-quota-place", "caseworker", "/cases/{second_place_id}", None),
    ("edit-case", "caseworker", "/cases/{case_id}/edit", None),
    ("notification-centre", "caseworker", "/notifications/", None),
    ("change-password", "caseworker", "/account/password", None),
    ("all-cases", "supervisor", "/cases/queue/all", None),
    ("all-cases-by-next-deadline", "supervisor", "/cases/queue/all?sort=next_deadline", None),
    ("awaiting-quota", "supervisor", "/cases/queue/awaiting-quota", None),
    ("approve-in-line", "supervisor", "/cases/waiting-line/approve", None),
    ("due-soon-office", "supervisor", "/cases/due-soon?scope=office", None),
    ("quota-dashboard", "supervisor", "/quota/", None),
    ("quota-dashboard-limit-refused", "supervisor", "/quota/", lower_limit),
    ("quota-dashboard-year-error", "supervisor", "/quota/?year=twenty", None),
    ("failed-reminders", "supervisor", "/notifications/failed", None),
    ("worker-status", "supervisor", "/notifications/worker", None),
    ("users", "admin", "/admin/users", None),
    ("create-account-errors", "admin", "/admin/users/new", submit_empty("Create account")),
    ("security-log", "admin", "/admin/security-log", None),
    ("security-log-filtered", "admin", "/admin/security-log?kind=login&email=example.org", None),
    ("security-log-filter-errors", "admin",
     "/admin/security-log?date_from=2026-05-01&date_to=2026-01-01", None),
    ("user-account", "admin", "/admin/users/{user_id}", None),
    ("user-account-reset-errors", "admin", "/admin/users/{user_id}",
     submit_empty("Reset password")),
    ("choose-own-password", "temporary", "/account/password", None),
    ("choose-own-password-errors", "temporary", "/account/password",
     submit_empty("Change password")),
]


HTML_LANG = {"en": "en-HK", "zh_Hant_HK": "zh-Hant-HK"}
# Every page in each language, English first (see the module's docstring).
PAGES_IN_EACH_LANGUAGE = [
    pytest.param(language, *page, id=f"{language}-{page[0]}")
    for language in LANGUAGES for page in PAGES
]


@pytest.mark.parametrize(("language", "name", "role", "address", "act"), PAGES_IN_EACH_LANGUAGE)
def test_no_serious_or_critical_accessibility_violations(
        signed_in, say, facts, axe_source, language, name, role, address, act):
    page = signed_in(role, language).new_page()
    try:
        response = page.goto(address.format(case_id=facts.case_id, user_id=facts.user_id,
                                            approved_id=facts.approved_id,
                                            second_place_id=facts.second_place_id,
                                            draft_id=facts.draft_id))
        # 422: the page shows a form with errors, which is part of what is checked.
        assert response is not None and response.status in (200, 422), \
            f"{address} answered {response and response.status}"
        expect(page.locator("html")).to_have_attribute("lang", HTML_LANG[language])
        if act is not None:
            act(page, lambda english: say(language, english))
            # An act that posts a form is done when the answer's words show, which can be
            # before its style sheets have loaded: measure the page as it is finally drawn.
            page.wait_for_load_state("load")
        violations = axe_violations(page, axe_source)
        REPORT.parent.mkdir(parents=True, exist_ok=True)
        with REPORT.open("a") as report:
            report.write(f"== {name} in {language} ({address}): {len(violations)} "
                         f"violation(s)\n{describe_violations(violations)}\n")
        failing = [v for v in violations if v["impact"] in FAILING_IMPACTS]
        if failing:
            FAILURE_SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=FAILURE_SCREENSHOTS / f"{name}-{language}.png",
                            full_page=True)
        assert not failing, (f"axe found serious or critical violations on {name} "
                             f"({page.url}):\n{describe_violations(failing)}")
    finally:
        page.close()


def test_the_check_finds_a_violation_when_there_is_one(signed_in, axe_source):
    """Guards the guard: with a label removed, axe must report it (so a silent axe, a wrong
    rule set or a page that never loaded cannot pass the tests above)."""
    page = signed_in(None, "en").new_page()
    try:
        page.goto("/login")
        page.locator("label[for=email]").evaluate("label => label.remove()")
        violations = axe_violations(page, axe_source)
        assert [(v["id"], v["impact"]) for v in violations] == [("label", "critical")]
        assert violations[0]["nodes"][0]["target"] == "#email"
    finally:
        page.close()


NARROW = {"width": 390, "height": 844}  # a phone held upright
# What is wider than its box (a table scrolling inside its own box aside), for the message.
# What sticks out past the right edge of the window (outside the boxes that scroll on their
# own), deepest last: the page names the culprit when it scrolls sideways.
WIDER_THAN_ITS_BOX = """() => [...document.querySelectorAll('body *')]
    .filter(el => el.getBoundingClientRect().right > document.documentElement.clientWidth + 1
                  && !el.closest('.table-responsive'))
    .slice(-5).map(el => `${el.tagName.toLowerCase()}${el.id ? '#' + el.id : ''}.${
        [...el.classList].join('.')} right edge ${Math.round(el.getBoundingClientRect().right)}`)"""


@pytest.mark.parametrize(("language", "name", "role", "address", "act"), PAGES_IN_EACH_LANGUAGE)
def test_no_page_scrolls_sideways_on_a_phone(signed_in, say, facts, language, name, role,
                                             address, act):
    """At 390 px wide no page scrolls sideways: a wide table scrolls inside its own box."""
    page = signed_in(role, language).new_page()
    try:
        page.set_viewport_size(NARROW)
        response = page.goto(address.format(case_id=facts.case_id, user_id=facts.user_id,
                                            approved_id=facts.approved_id,
                                            second_place_id=facts.second_place_id,
                                            draft_id=facts.draft_id))
        assert response is not None and response.status in (200, 422)
        if act is not None:
            act(page, lambda english: say(language, english))
            # An act that posts a form is done when the answer's words show, which can be
            # before its style sheets have loaded: measure the page as it is finally drawn.
            page.wait_for_load_state("load")
        widths = page.evaluate("() => [document.documentElement.scrollWidth, "
                               "document.documentElement.clientWidth]")
        assert widths[0] <= widths[1], (f"{name} scrolls sideways at 390 px ({widths}): "
                                        f"{page.evaluate(WIDER_THAN_ITS_BOX)}")
    finally:
        page.close()
