"""The main journey with the keyboard only: sign in, create a case, submit it, and withdraw
it through the page that checks the step before it is confirmed.

Nothing is clicked or filled: every step is Tab, Enter or typing, and the test finds its way
by asking where the focus is, as a screen-reader user hears it. At every stop the focus must
be on something visible that shows it has the focus (an outline or Bootstrap's focus ring),
never lost on the page body.
"""

from __future__ import annotations

import re
from datetime import date

from playwright.sync_api import Locator, Page, expect

from backoffice.auth.models import Role

FOCUS_STATE = """() => {
    const el = document.activeElement;
    if (!el || el === document.body) return {lost: true};
    const style = getComputedStyle(el);
    const box = el.getBoundingClientRect();
    return {
        lost: false,
        what: `${el.tagName.toLowerCase()} ${el.id ? '#' + el.id : ''} ${
               (el.innerText || el.value || el.getAttribute('aria-label') || '').slice(0, 40)}`,
        visible: box.width > 0 && box.height > 0 && style.visibility !== 'hidden',
        indicated: (style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) > 0)
                   || (style.boxShadow !== 'none'
                       && !style.boxShadow.startsWith('rgba(0, 0, 0, 0)'))
                   // Chromium's date field has a calendar button of its own, a Tab stop
                   // inside the field that the page cannot see (the field does not match
                   // :focus then); the browser draws its focus ring.
                   || (el.matches('input[type=date]') && !el.matches(':focus')),
    };
}"""


def check_focus(page: Page) -> dict:
    state = page.evaluate(FOCUS_STATE)
    assert not state["lost"], "the focus was lost (it is on the page body)"
    assert state["visible"], f"the focus is on something invisible: {state['what']}"
    assert state["indicated"], f"nothing shows where the focus is: {state['what']}"
    return state


def tab_to(page: Page, target: Locator, most: int = 80) -> int:
    """Press Tab until ``target`` has the focus, checking every stop on the way; return how
    many presses it took."""
    for presses in range(1, most + 1):
        page.keyboard.press("Tab")
        check_focus(page)
        if target.evaluate("el => el === document.activeElement"):
            return presses
    raise AssertionError(f"{target} was not reached in {most} presses of Tab")


def test_keyboard_only_sign_in_create_a_case_and_submit_it(
        live_server, browse, make_person, camera):
    caseworker = make_person(Role.CASEWORKER, "Lau Wai Man")
    page = browse()
    page.goto("/login")

    # Signing in: the email field has the focus when the page opens.
    expect(page.get_by_label("Email address")).to_be_focused()
    page.keyboard.type(caseworker.email)
    tab_to(page, page.get_by_label("Password"))
    page.keyboard.type(caseworker.password)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="My cases", level=1)).to_be_visible()

    # The first Tab reaches the skip link, which shows itself and jumps over the menu.
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to main content")
    expect(skip).to_be_focused()
    expect(skip).to_be_in_viewport()
    check_focus(page)
    camera.shoot(page, "skip-link", full_page=False)
    page.keyboard.press("Enter")
    expect(page.get_by_role("main")).to_be_focused()
    presses = tab_to(page, page.get_by_role("main").get_by_role("link", name="New case"))
    assert presses == 1, "the first stop in the main content should be New case"
    page.keyboard.press("Enter")

    # The form, field by field.
    expect(page.get_by_role("heading", name="New case", level=1)).to_be_visible()
    tab_to(page, page.get_by_label("Scheme"))
    expect(page.get_by_label("Scheme")).to_have_value("QMAS")
    tab_to(page, page.get_by_label("Family name (Latin script)"))
    page.keyboard.type("Kowalski")
    tab_to(page, page.get_by_label("Given names (Latin script)"))
    page.keyboard.type("Anna Maria")
    born = page.get_by_label("Date of birth")
    tab_to(page, born)
    page.keyboard.type("04171992")  # month, day, year: the en-US date field moves on by itself
    expect(born).to_have_value(date(1992, 4, 17).isoformat())
    nationality = page.get_by_label("Nationality")
    tab_to(page, nationality)
    page.keyboard.type("Poland")  # a closed select picks the option typed
    expect(nationality).to_have_value("PL")
    tab_to(page, page.get_by_label("Passport number"))
    page.keyboard.type("EA7654321")
    camera.shoot(page, "form-filled")
    tab_to(page, page.get_by_role("button", name="Save"))
    page.keyboard.press("Enter")

    confirmation = page.get_by_role("status").filter(has_text="created as a draft")
    expect(confirmation).to_have_text(re.compile(r"Case QMAS-\d{4}-\d{6} created as a draft"))
    reference = re.search(r"QMAS-\d{4}-\d{6}", confirmation.inner_text()).group(0)

    # Submitting, from the Actions of the case page.
    tab_to(page, page.get_by_role("region", name="Actions").get_by_role(
        "button", name="Submit", exact=True))
    page.keyboard.press("Enter")
    expect(page.get_by_role("status").filter(has_text=f"{reference} moved to “Submitted”.")
           ).to_be_visible()
    expect(page.get_by_role("main").locator(".badge").first).to_have_text("Submitted")
    camera.shoot(page, "submitted")

    # Withdrawing it: its own page, then the page that checks it, then the button named
    # after the step, all from the keyboard.
    tab_to(page, page.get_by_role("region", name="Actions").get_by_role(
        "link", name="Withdraw", exact=True))
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Withdraw", level=1)).to_be_visible()
    expect(page.get_by_label("Date it happened")).to_be_focused()  # today, already filled
    check_focus(page)
    tab_to(page, page.get_by_label("Reason for “Withdraw”"))
    page.keyboard.type("The applicant withdrew by email.")
    tab_to(page, page.get_by_role("button", name="Continue"))
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Check before you confirm: Withdraw", level=1)
           ).to_be_visible()
    expect(page.locator("#consequences")).to_contain_text("The case ends as “Withdrawn”")
    confirm = page.get_by_role("button", name="Withdraw", exact=True)
    presses = tab_to(page, confirm)
    assert presses < 40, "the confirmation button should come soon after the answers"
    camera.shoot(page, "withdraw-check")
    page.keyboard.press("Enter")
    expect(page.get_by_role("status").filter(has_text=f"{reference} moved to “Withdrawn”.")
           ).to_be_visible()


def test_an_error_summary_takes_the_focus_and_its_links_lead_to_the_fields(
        live_server, browse, make_person, camera):
    caseworker = make_person(Role.CASEWORKER, "Kwan Hoi Yan")
    page = browse(caseworker)
    page.goto("/cases/new")
    tab_to(page, page.get_by_role("button", name="Save"))
    page.keyboard.press("Enter")

    summary = page.get_by_role("alert").filter(has_text="There is a problem")
    expect(summary).to_be_focused()  # so it is read out first
    check_focus(page)
    links = summary.get_by_role("link")
    expect(links).to_have_text([
        "Family name (Latin script): Enter the family name.",
        "Given names (Latin script): Enter the given names.",
        "Date of birth: Enter the date of birth as YYYY-MM-DD.",
        "Nationality: Choose the nationality.",
        "Passport number: Enter the passport number.",
    ])
    camera.shoot(page, "error-summary", full_page=False)
    # The next Tab is the first link of the summary; Enter puts the focus in the field.
    tab_to(page, links.nth(3), most=4)
    page.keyboard.press("Enter")
    nationality = page.get_by_label("Nationality")
    expect(nationality).to_be_focused()
    expect(nationality).to_be_in_viewport()
    expect(nationality).to_have_attribute("aria-invalid", "true")
    expect(nationality).to_have_accessible_description("Choose the nationality.")
    check_focus(page)
