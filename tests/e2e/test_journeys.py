"""The main journeys of issue #7, in Chromium, against the app served for real.

Each journey starts from facts of its own (its own people and cases), so any one of them can
be run alone (``make test PYTEST_ARGS="tests/e2e -k job_offer"``). Facts the journey is not
about (an account, a case that is already under review) are made through the services; what
the journey is about is done in the browser, found by role and label as a person reads the
page.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock
from email import policy
from email.parser import BytesParser

from babel.dates import format_date
from playwright.sync_api import Page, expect

from backoffice.auth import services as accounts
from backoffice.auth.models import Role, User
from backoffice.cases.schemes import CaseStatus, Scheme
from backoffice.core.dates import HK_TZ, add_months, birthday, hk_today, utcnow
from backoffice.extensions import db
from backoffice.quota import services as quota
from tests.cases.factories import make_case
from tests.e2e.conftest import DEMO_ADMIN, DEMO_SUPERVISOR, Person, demo_person, sign_in

REFERENCE = re.compile(r"(QMAS|GEP_ENT|GEP_PRO|ASSG)-\d{4}-\d{6}")


# --- Reading and doing, as a person would -----------------------------------------------------

def shown(day: date) -> str:
    """A date as an English page shows it (Babel's medium date for en_HK: "22 Dec 2025")."""
    return format_date(day, "medium", locale="en_HK")


def nav(page: Page, item: str) -> None:
    page.get_by_role("navigation", name="Main").get_by_role("link", name=item, exact=True).click()


def flash(page: Page, text: str | re.Pattern) -> None:
    """The confirmation at the top of the page (role=status) says ``text``."""
    expect(page.get_by_role("status").filter(has_text=text)).to_be_visible()


def definition(page: Page, term: str):
    """The value shown beside ``term`` in a description list (<dt>term</dt><dd>value</dd>)."""
    return page.locator(f"dt:text-is('{term}') + dd")


def status_of_case(page: Page):
    return page.get_by_role("main").locator(".badge").first


def deadline_row(page: Page, kind: str):
    return page.get_by_role("table", name="Deadlines").get_by_role("row").filter(
        has=page.get_by_role("cell", name=kind, exact=True))


def take_step(page: Page, step: str, answers: dict[str, str] | None = None, *,
              check: list[str] | None = None, camera=None, shot: str | None = None) -> None:
    """Take ``step`` as a caseworker does: a step on the case page by its button; a step
    with a page of its own by its link, answering ``answers`` (label → value) there, then,
    for one that is confirmed first, reading each sentence of ``check`` among its
    consequences and pressing the button named after the step."""
    actions = page.get_by_role("region", name="Actions")
    link = actions.get_by_role("link", name=step, exact=True)
    if not link.count():
        actions.get_by_role("button", name=step, exact=True).click()
        return
    link.click()
    expect(page.get_by_role("heading", level=1)).to_have_text(step)
    for label, value in (answers or {}).items():
        page.get_by_label(label, exact=True).fill(value)
    go_on = page.get_by_role("button", name="Continue", exact=True)
    if go_on.count():
        go_on.click()
        expect(page.get_by_role("heading", level=1)).to_have_text(
            f"Check before you confirm: {step}")
        for sentence in check or ():
            expect(page.locator("#consequences")).to_contain_text(sentence)
        if camera is not None and shot:
            camera.shoot(page, shot)
    page.get_by_role("button", name=step, exact=True).click()


def receive_every_document_on_paper(page: Page, reference: str,
                                    say: Callable[[str], str] = str) -> None:
    """From the case page: open its documents, record each missing one as received on paper
    (the post brought them), and come back."""
    page.get_by_role("link", name=say("Open the documents")).click()
    missing = page.locator("#checklist > li[data-state='missing']")
    while missing.count():
        line = missing.first
        line.locator("summary").click()
        line.get_by_role("button", name=say("Mark received on paper")).click()
        flash(page, say("The document is marked received."))
    expect(page.locator("#documents-summary")).to_have_text(
        say("Every required document is received or waived."))
    page.get_by_role("link", name=re.compile(re.escape(reference))).first.click()


def account(person: Person) -> User:
    """The account of ``person``, in the session of a ``scene``."""
    return db.session.get(User, person.id)


def hk_moment(day: date, hour: int = 10) -> datetime:
    return datetime.combine(day, clock(hour), tzinfo=HK_TZ).astimezone(UTC)


def fill_identity(page: Page, *, family: str, given: str, born: date, nationality: str,
                  passport: str) -> None:
    page.get_by_label("Family name (Latin script)").fill(family)
    page.get_by_label("Given names (Latin script)").fill(given)
    page.get_by_label("Date of birth").fill(born.isoformat())
    page.get_by_label("Nationality").select_option(label=nationality)
    page.get_by_label("Passport number").fill(passport)


def add_dependant(page: Page, relation: str, **identity) -> None:
    details = page.locator("details").filter(
        has=page.get_by_text("Add a spouse or child", exact=True))
    if details.get_attribute("open") is None:
        details.get_by_text("Add a spouse or child", exact=True).click()
    details.get_by_label("Relationship to the applicant").select_option(label=relation)
    fill_identity(details, **identity)
    details.get_by_role("button", name="Add dependant").click()


# --- 1. Accounts --------------------------------------------------------------------------------

def test_1_an_admin_creates_a_caseworker_account_and_the_caseworker_signs_in(
        live_server, browse, camera):
    admin = demo_person(live_server, DEMO_ADMIN)
    page = browse(admin)
    nav(page, "Users")
    expect(page.get_by_role("heading", name="Users", level=1)).to_be_visible()
    page.get_by_role("link", name="Create account").click()

    form = page.get_by_role("main")
    form.get_by_label("Full name").fill("Lee Ka Yan")
    form.get_by_label("Email address").fill("ka.yan.lee@example.org")
    form.get_by_label("Role").select_option(label="Caseworker")
    form.get_by_label("Initial password").fill("a long enough first password")
    form.get_by_label("Repeat the password").fill("a different password")
    form.get_by_role("button", name="Create account").click()
    # Refused, with the reason at the top and beside the field.
    summary = page.get_by_role("alert").filter(has_text="There is a problem")
    expect(summary).to_be_focused()
    expect(summary.get_by_role("link")).to_have_text(
        "Repeat the password: The two passwords do not match.")
    camera.shoot(page, "passwords-do-not-match")
    summary.get_by_role("link").click()
    repeat = form.get_by_label("Repeat the password")
    expect(repeat).to_be_focused()
    expect(repeat).to_have_attribute("aria-invalid", "true")
    expect(repeat).to_have_accessible_description("The two passwords do not match.")

    form.get_by_label("Initial password").fill("a long enough first password")
    repeat.fill("a long enough first password")
    form.get_by_role("button", name="Create account").click()
    flash(page, "Account created for Lee Ka Yan (Caseworker).")
    expect(page.get_by_role("heading", name="Lee Ka Yan", level=1)).to_be_visible()
    expect(definition(page, "Role")).to_have_text("Caseworker")
    camera.shoot(page, "account-created")

    caseworker = browse()
    sign_in(caseworker, Person(0, "ka.yan.lee@example.org", "Lee Ka Yan", Role.CASEWORKER,
                               "a long enough first password"))
    # The admin chose that password: the first page is the one where she chooses her own,
    # and every other page leads back to it until she has.
    expect(caseworker.get_by_role("heading", name="Choose your own password", level=1)
           ).to_be_visible()
    camera.shoot(caseworker, "choose-own-password")
    caseworker.goto("/cases/")
    expect(caseworker.get_by_role("heading", name="Choose your own password", level=1)
           ).to_be_visible()
    caseworker.get_by_label("Current password").fill("a long enough first password")
    caseworker.get_by_label("New password", exact=True).fill("password1234")
    caseworker.get_by_label("Repeat the new password").fill("password1234")
    caseworker.get_by_role("button", name="Change password").click()
    expect(caseworker.get_by_role("alert").filter(has_text="There is a problem")).to_contain_text(
        "one of the most common passwords")
    caseworker.get_by_label("Current password").fill("a long enough first password")
    caseworker.get_by_label("New password", exact=True).fill("lee ka yan picks her own")
    caseworker.get_by_label("Repeat the new password").fill("lee ka yan picks her own")
    caseworker.get_by_role("button", name="Change password").click()
    flash(caseworker, "Your password has been changed. Other sessions have been signed out.")
    expect(caseworker.get_by_role("heading", name="My cases", level=1)).to_be_visible()
    menu = caseworker.get_by_role("navigation", name="Main")
    expect(menu.get_by_role("link", name="New case")).to_be_visible()
    expect(menu.get_by_role("link", name="Users")).to_have_count(0)
    camera.shoot(caseworker, "caseworker-signed-in")


# --- 2. A QMAS case from draft to approval ------------------------------------------------------

def test_2_a_caseworker_takes_a_qmas_family_from_draft_to_approval_and_a_quota_place(
        live_server, browse, make_person, camera):
    caseworker = make_person(Role.CASEWORKER, "Ho Wing Sze")
    page = browse(caseworker)
    today = hk_today()
    submitted_on = today - timedelta(days=10)

    nav(page, "New case")
    expect(page.get_by_role("heading", name="New case", level=1)).to_be_visible()
    page.get_by_label("Scheme").select_option(label="QMAS — Quality Migrant Admission Scheme")
    page.get_by_label("Submission date").fill(submitted_on.isoformat())
    fill_identity(page, family="Okafor", given="Chidinma", born=date(1988, 4, 12),
                  nationality="Nigeria", passport="A09876543")
    page.get_by_label("Email address").fill("chidinma.okafor@example.net")
    page.get_by_label("The applicant agrees to receive deadline reminders by email").check()
    camera.shoot(page, "new-case-form")
    page.get_by_role("button", name="Save").click()

    flash(page, re.compile(r"Case QMAS-\d{4}-\d{6} created as a draft, assigned to you\."))
    heading = page.get_by_role("heading", level=1)
    expect(heading).to_contain_text("OKAFOR, Chidinma")
    reference = REFERENCE.search(heading.inner_text()).group(0)
    expect(status_of_case(page)).to_have_text("Draft")

    add_dependant(page, "Spouse", family="Okafor", given="Emeka", born=date(1986, 1, 30),
                  nationality="Nigeria", passport="A01234567")
    flash(page, "Spouse OKAFOR, Emeka added.")
    add_dependant(page, "Child", family="Okafor", given="Tobenna", born=date(2015, 6, 1),
                  nationality="Nigeria", passport="A07654321")
    flash(page, "Child OKAFOR, Tobenna added.")
    # She turned 18 three days before the application was received.
    eighteenth = add_months(submitted_on, -18 * 12) - timedelta(days=3)
    add_dependant(page, "Child", family="Okafor", given="Adaeze", born=eighteenth,
                  nationality="Nigeria", passport="A05555555")
    refusal = (f"Turned 18 on {shown(birthday(eighteenth, 18))}, before the submission date "
               f"({shown(submitted_on)}); children must be under 18 on that date.")
    # Said once, in the add-dependant form's summary, which is open with the entered values.
    expect(page.get_by_role("alert").filter(has_text=refusal)).to_have_count(1)
    expect(page.get_by_role("alert").filter(has_text=refusal)).to_be_visible()
    camera.shoot(page, "child-refused")
    dependants = page.get_by_role("table", name="Dependants")
    expect(dependants.get_by_role("row")).to_have_count(3)  # the header, spouse and son
    expect(dependants).not_to_contain_text("Adaeze")

    take_step(page, "Submit")
    flash(page, f"{reference} moved to “Submitted”.")
    take_step(page, "Start review")
    flash(page, f"{reference} moved to “Under review”.")
    # Approve waits for the documents: the family's papers came by post.
    expect(page.locator("#documents-missing")).to_have_text("7 documents missing")
    receive_every_document_on_paper(page, reference)
    take_step(page, "Approve", check=[f"remaining QMAS places for {today.year}."],
              camera=camera, shot="approve-check")
    flash(page, f"{reference} moved to “Approved”.")
    expect(status_of_case(page)).to_have_text("Approved")
    history = page.get_by_role("region", name="History")
    expect(history.get_by_role("listitem").first).to_contain_text("Under review → Approved")
    camera.shoot(page, "approved", readme="case")

    # The place is taken: the supervisor's dashboard lists the allocation.
    supervisor = browse(demo_person(live_server, DEMO_SUPERVISOR))
    nav(supervisor, "Quota")
    allocations = supervisor.get_by_role(
        "table", name=f"Every place allocated in {today.year}, released ones included")
    row = allocations.get_by_role("row").filter(
        has=supervisor.get_by_role("link", name=reference))
    expect(row).to_contain_text("OKAFOR, Chidinma")
    expect(row.get_by_role("cell").last).to_have_text("—")  # not released
    camera.shoot(supervisor, "quota-place-taken")


# --- 3. The quota dashboard ---------------------------------------------------------------------

def _number(text: str) -> int:
    return int(text.replace(",", ""))


def test_3_a_supervisor_sees_the_quota_move_and_cannot_set_the_limit_below_it(
        live_server, browse, make_person, scene, camera):
    caseworker = make_person(Role.CASEWORKER, "Yeung Chi Keung")
    today = hk_today()
    reference = scene(lambda: make_case(
        account(caseworker), Scheme.QMAS, CaseStatus.UNDER_REVIEW, today=today,
        now=utcnow(), submitted_on=today, family_name="Novak", given_names="Petra",
        nationality="CZ", chinese_name=None, email=None).reference)

    supervisor = browse(demo_person(live_server, DEMO_SUPERVISOR))
    nav(supervisor, "Cases")
    supervisor.get_by_role("link", name="All cases").click()
    expect(supervisor.get_by_role("heading", name="All cases", level=1)).to_be_visible()
    camera.shoot(supervisor, "all-cases", full_page=False, readme="queue")
    supervisor.get_by_role("search", name="Filter cases").get_by_label("Search").fill(reference)
    supervisor.get_by_role("button", name="Apply").click()
    found = supervisor.get_by_role("table", name="All cases").get_by_role("row")
    expect(found).to_have_count(2)  # the header and the case
    expect(found.last).to_contain_text("Under review")

    nav(supervisor, "Quota")
    expect(supervisor.get_by_role("heading", name=f"QMAS quota {today.year}")).to_be_visible()
    limit = _number(definition(supervisor, "Limit").inner_text())
    allocated = _number(definition(supervisor, "Allocated").inner_text())
    bar = supervisor.get_by_role("progressbar", name="Quota used")
    expect(bar).to_have_attribute("value", str(allocated))
    expect(bar).to_have_attribute("max", str(limit))
    month = today.strftime("%b")
    month_row = supervisor.get_by_role(
        "table", name=f"QMAS allocations per month in {today.year} (Hong Kong time)",
    ).get_by_role("row", name=f"{month} {today.year}")
    this_month = int(month_row.get_by_role("cell").first.inner_text())
    chart_bar = supervisor.get_by_role("img", name=f"QMAS allocations per month in {today.year}"
                                       ).locator(f"rect[data-month='{today.month}']")
    expect(chart_bar).to_have_attribute("data-allocated", str(this_month))
    camera.shoot(supervisor, "before")

    # Meanwhile the caseworker approves the case.
    page = browse(caseworker)
    page.get_by_role("link", name=reference).click()
    take_step(page, "Approve")
    flash(page, f"{reference} moved to “Approved”.")

    supervisor.reload()
    expect(definition(supervisor, "Allocated")).to_have_text(f"{allocated + 1:,}")
    expect(definition(supervisor, "Remaining")).to_have_text(f"{limit - allocated - 1:,}")
    expect(bar).to_have_attribute("value", str(allocated + 1))
    expect(month_row.get_by_role("cell").first).to_have_text(str(this_month + 1))
    expect(chart_bar).to_have_attribute("data-allocated", str(this_month + 1))
    expect(supervisor.get_by_role("link", name=reference)).to_be_visible()
    camera.shoot(supervisor, "after-approval", readme="quota-dashboard")

    # Below what is allocated: refused, with the numbers, and nothing changes.
    too_low = allocated  # one less than the places now taken
    supervisor.get_by_label("Limit (places)").fill(str(too_low))
    supervisor.get_by_label("Note").fill("Trying a lower limit")
    supervisor.get_by_role("button", name="Save the limit").click()
    message = (f"The QMAS quota for {today.year} already has {allocated + 1} places allocated, "
               f"so the limit cannot be set to {too_low}. Set it to {allocated + 1} or more.")
    summary = supervisor.get_by_role("alert").filter(has_text="There is a problem")
    expect(summary).to_contain_text(message)
    expect(supervisor.get_by_label("Limit (places)")).to_have_accessible_description(
        re.compile(re.escape(message)))
    expect(definition(supervisor, "Limit")).to_have_text(f"{limit:,}")
    expect(definition(supervisor, "Allocated")).to_have_text(f"{allocated + 1:,}")
    camera.shoot(supervisor, "limit-refused")


# --- 4. Arrival, job offer, extension -----------------------------------------------------------

def test_4_a_caseworker_records_the_arrival_a_job_offer_and_requests_an_extension(
        live_server, browse, make_person, scene, camera):
    caseworker = make_person(Role.CASEWORKER, "Cheung Hoi Lam")
    today = hk_today()
    # Arrived almost a year ago: the 12-month stay ends in 20 days, inside the 28-day window.
    arrived_on = add_months(today + timedelta(days=20), -12)
    stay_ends_on = add_months(arrived_on, 12)
    visa_day = arrived_on - timedelta(days=14)

    def visa_issued_case():
        if quota.get_period("QMAS", visa_day.year) is None:
            supervisor = accounts.get_user_by_email(DEMO_SUPERVISOR[0])
            quota.set_limit(supervisor, "QMAS", visa_day.year, 100, "For the journey")
        return make_case(
            account(caseworker), Scheme.QMAS, CaseStatus.VISA_ISSUED,
            today=visa_day - timedelta(days=30), now=hk_moment(visa_day),
            submitted_on=visa_day - timedelta(days=40), family_name="Silva",
            given_names="Rafael", nationality="BR", chinese_name=None, email=None).reference

    reference = scene(visa_issued_case)
    page = browse(caseworker)
    page.get_by_role("link", name=reference).click()
    expect(status_of_case(page)).to_have_text("Visa issued")

    # Recorded after the fact: the arrival a year ago, its real date.
    take_step(page, "Record arrival", {"Arrival date": arrived_on.isoformat()}, check=[
        f"The applicant's stay will run from {shown(arrived_on)} to {shown(stay_ends_on)} "
        "(12 months)"], camera=camera, shot="arrival-check")
    flash(page, f"{reference} moved to “In stay (arrived)”.")
    expect(definition(page, "Arrived")).to_have_text(shown(arrived_on))
    expect(definition(page, "Stay ends")).to_contain_text(
        f"{shown(stay_ends_on)} (12 months initial stay)")
    window_opens = stay_ends_on - timedelta(days=28)
    expect(definition(page, "Extension window")).to_have_text(
        f"{shown(window_opens)} to {shown(stay_ends_on)} (28 days)")
    expect(deadline_row(page, "Stay ends")).to_contain_text(shown(stay_ends_on))
    expect(deadline_row(page, "Stay ends")).to_contain_text(f"{(stay_ends_on - today).days} days")
    expect(deadline_row(page, "Job offer due")).to_contain_text(shown(stay_ends_on))
    expect(deadline_row(page, "Extension window opens")).to_contain_text(shown(window_opens))
    # The window has been open for about a week: news, not an overdue deadline.
    expect(deadline_row(page, "Extension window opens")).to_contain_text(
        f"opened {(today - window_opens).days} days ago")
    expect(deadline_row(page, "Extension window opens")).not_to_contain_text("overdue")
    camera.shoot(page, "arrived")

    # No job offer yet: the extension is not offered as a step, and the page says why.
    request = page.get_by_role("region", name="Actions").get_by_role(
        "button", name="Request extension of stay", exact=True)
    expect(request).to_be_disabled()
    expect(request).to_have_accessible_description(
        "A job offer must be recorded before an extension can be requested under this scheme.")
    expect(status_of_case(page)).to_have_text("In stay (arrived)")

    page.get_by_text("Record a job offer", exact=True).click()
    page.get_by_label("Employer").fill("Harbour Robotics Ltd")
    page.get_by_label("Post", exact=True).fill("Controls engineer")
    page.get_by_label("Monthly salary in HKD").fill("58000")
    page.get_by_label("Start date").fill((today - timedelta(days=30)).isoformat())
    page.get_by_label("Date of the offer").fill((today - timedelta(days=45)).isoformat())
    page.get_by_role("button", name="Record job offer").click()
    flash(page, "Job offer recorded.")
    expect(definition(page, "Job offer")).to_contain_text(
        "Controls engineer at Harbour Robotics Ltd, HKD 58,000.00 a month")
    expect(deadline_row(page, "Job offer due")).to_contain_text("Met")

    requested = today - timedelta(days=1)
    take_step(page, "Request extension of stay", {
        "Date the extension was requested": requested.isoformat(),
        "Length asked, in months": "12",
        "Grounds of the request": "Employed as a controls engineer since last month."})
    flash(page, f"{reference} moved to “Extension requested”.")
    expect(status_of_case(page)).to_have_text("Extension requested")
    expect(page.locator("#extension-request")).to_have_text(
        f"On {shown(requested)}, for 12 months: Employed as a controls engineer since last "
        "month.")
    camera.shoot(page, "extension-requested")

    # Granted for less than asked: the new stay end is shown before it is confirmed.
    granted_to = add_months(stay_ends_on, 6)
    actions = page.get_by_role("region", name="Actions")
    actions.get_by_role("link", name="Grant extension", exact=True).click()
    expect(page.get_by_label("Length granted, in months")).to_have_value("12")
    page.get_by_label("Length granted, in months").fill("6")
    page.get_by_role("button", name="Continue").click()
    expect(page.locator("#consequences")).to_contain_text(
        f"The stay will end on {shown(granted_to)} instead of {shown(stay_ends_on)} (an "
        "extension of 6 months).")
    camera.shoot(page, "grant-check")
    page.get_by_role("button", name="Grant extension", exact=True).click()
    flash(page, f"{reference} moved to “Extended”.")
    expect(definition(page, "Stay ends")).to_contain_text(shown(granted_to))


# --- 5. A reminder ------------------------------------------------------------------------------

def wait_for(condition, seconds: float = 30.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return condition()


def test_5_a_due_reminder_reaches_the_notification_centre_and_the_mailbox(
        live_server, browse, make_person, scene, camera):
    caseworker = make_person(Role.CASEWORKER, "Mak Tsz Ching")
    today = hk_today()
    # A GEP (Professionals) stay of 24 months that ends a week from today.
    arrived_on = add_months(today + timedelta(days=7), -24)
    stay_ends_on = add_months(arrived_on, 24)
    applicant_email = f"priya.raman.{caseworker.id}@applicant.example.net"
    reference = scene(lambda: make_case(
        account(caseworker), Scheme.GEP_PRO, CaseStatus.IN_STAY,
        today=arrived_on - timedelta(days=60), now=hk_moment(arrived_on),
        submitted_on=arrived_on - timedelta(days=70), family_name="Raman",
        given_names="Priya", nationality="IN", chinese_name=None, email=applicant_email,
        email_consent=True).reference)
    days = (stay_ends_on - today).days

    page = browse(caseworker)
    nav(page, "Notifications")
    expect(page.get_by_role("main").get_by_role("listitem")).to_have_text(["No notifications."])
    assert live_server.emails_to(caseworker.email) == []

    # The worker plans what has come due (beat would, every 5 minutes) and sends it.
    live_server.send_task("backoffice.notifications.tasks.plan_reminders")
    assert wait_for(lambda: live_server.emails_to(caseworker.email)
                    and live_server.emails_to(applicant_email)), \
        "no reminder email within 30 s; see test-artifacts/logs/worker.log"

    subject = f"Stay ends on {shown(stay_ends_on)} (in {days} days): {reference}"
    (envelope,) = live_server.emails_to(caseworker.email)
    message = BytesParser(policy=policy.default).parsebytes(envelope.original_content)
    assert message["Subject"] == subject
    assert message["To"] == caseworker.email
    text = message.get_body(preferencelist=("plain",)).get_content()
    assert f"{live_server.url}/cases/" in text
    # The applicant's own email: what is due in their words, no staff name or staff link.
    (to_applicant,) = live_server.emails_to(applicant_email)
    theirs = BytesParser(policy=policy.default).parsebytes(to_applicant.original_content)
    assert theirs["Subject"] == (f"End of your permitted stay in Hong Kong: "
                                 f"{shown(stay_ends_on)} (reference {reference})")
    their_text = theirs.get_body(preferencelist=("plain",)).get_content()
    assert "Mak Tsz Ching" not in their_text and f"{live_server.url}/cases/" not in their_text

    page.reload()
    expect(page.get_by_role("navigation", name="Main").get_by_role("link", name="Notifications")
           ).to_have_text("Notifications 1 unread")
    item = page.get_by_role("main").get_by_role("listitem").filter(has_text=subject)
    expect(item).to_contain_text(f"Unread: {subject}")
    camera.shoot(page, "notification-centre")
    item.get_by_role("link", name="Open the case").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(reference)
    page.get_by_role("link", name="Reminders sent and planned").click()
    reminders = page.get_by_role("table", name="Reminders")
    sent = reminders.get_by_role("row").filter(has=page.get_by_role("cell", name="Sent",
                                                                    exact=True))
    expect(sent).to_have_count(3)  # in the app and by email to the caseworker, to the applicant
    camera.shoot(page, "reminders-sent")

    # The office sees the deadline coming too.
    supervisor = browse(demo_person(live_server, DEMO_SUPERVISOR))
    nav(supervisor, "Due soon")
    supervisor.get_by_role("link", name="Whole office").click()
    upcoming = supervisor.get_by_role("table", name="Deadlines in the next 30 days")
    row = upcoming.get_by_role("row").filter(has=supervisor.get_by_role("link", name=reference))
    expect(row.get_by_role("cell")).to_have_text([
        shown(stay_ends_on), str(days), "Stay ends", reference, "RAMAN, Priya", "In stay (arrived)",
        "Mak Tsz Ching"])
    camera.shoot(supervisor, "due-soon-office", full_page=False, readme="due-soon")


# --- 6. An excluded nationality -----------------------------------------------------------------

def test_6_a_gep_entrepreneur_from_an_excluded_country_is_refused_on_that_ground(
        live_server, browse, make_person, camera):
    caseworker = make_person(Role.CASEWORKER, "Tang Siu Fung")
    page = browse(caseworker)
    nav(page, "New case")
    page.get_by_label("Scheme").select_option(
        label="GEP (Entrepreneurs) — General Employment Policy – Entrepreneur Scheme")  # noqa: RUF001
    fill_identity(page, family="Nguyen", given="Van An", born=date(1991, 2, 14),
                  nationality="Vietnam", passport="C1234567")
    page.get_by_label("Business plan (entrepreneurs)").fill(
        "A seafood export business with a sourcing office in Kowloon Bay.")
    page.get_by_label("Government-backed programme (entrepreneurs)").select_option(
        label="Cyberport Incubation Programme")
    page.get_by_role("button", name="Save").click()
    flash(page, re.compile(r"Case GEP_ENT-\d{4}-\d{6} created as a draft"))

    # A permanent ground: worded as final, Submit shown as impossible, the refusal offered.
    reason = ("Nationals of Vietnam (VN) cannot apply under the General Employment Policy – "  # noqa: RUF001
              f"Entrepreneur Scheme (policy of {shown(date(2006, 6, 28))}).")
    warning = page.get_by_role("status").filter(has_text="This application cannot be accepted")
    expect(warning.get_by_role("listitem")).to_have_text([reason])
    expect(page.get_by_text("cannot be submitted yet")).to_have_count(0)
    actions = page.get_by_role("region", name="Actions")
    expect(actions.get_by_role("button", name="Submit", exact=True)).to_be_disabled()
    expect(actions.get_by_role("button", name="Submit", exact=True)).to_have_accessible_description(
        re.compile(r"^This application cannot be accepted: Nationals of Vietnam \(VN\)"))
    camera.shoot(page, "cannot-be-accepted")

    # Submit is shown disabled, with why next to it.
    submit = page.get_by_role("region", name="Actions").get_by_role("button", name="Submit",
                                                                    exact=True)
    expect(submit).to_be_disabled()
    # Received and refused in one step, on its own page, the ground's words as the reason.
    actions.get_by_role("link", name="Refuse as ineligible", exact=True).click()
    expect(page.get_by_label("Reason for “Refuse as ineligible”")).to_have_value(reason)
    page.get_by_role("button", name="Continue").click()
    expect(page.locator("#consequences")).to_contain_text(
        f"The refusal is recorded with its ground: {reason}")
    expect(page.locator("#consequences")).to_contain_text("The case ends as “Refused”")
    camera.shoot(page, "refuse-ineligible-check")
    page.get_by_role("button", name="Refuse as ineligible", exact=True).click()
    flash(page, re.compile(r"GEP_ENT-\d{4}-\d{6} moved to “Refused”"))
    expect(status_of_case(page)).to_have_text("Refused")
    history = page.get_by_role("region", name="History")
    expect(history.get_by_text(f"Refused as ineligible: {reason}")).to_be_visible()
    camera.shoot(page, "refused-as-ineligible")


# --- 7. A case recorded after the fact ---------------------------------------------------------

def test_7_a_case_recorded_after_the_fact_keeps_its_real_dates_and_a_correction(
        live_server, browse, make_person, scene, camera):
    """The visa was issued three weeks ago and the applicant arrived two weeks ago; the
    caseworker catches up today. Each step takes the date it happened; the stay runs from
    the real arrival; a wrong date is corrected and the history says from what to what."""
    caseworker = make_person(Role.CASEWORKER, "Ho Ka Yan")
    today = hk_today()
    issued, arrived = today - timedelta(days=21), today - timedelta(days=14)
    approved = issued - timedelta(days=10)

    def approved_case():
        return make_case(account(caseworker), Scheme.GEP_PRO, CaseStatus.APPROVED,
                         today=approved - timedelta(days=30), now=hk_moment(approved),
                         submitted_on=approved - timedelta(days=40), family_name="Novak",
                         given_names="Petra", nationality="CZ", chinese_name=None,
                         email=None).reference

    reference = scene(approved_case)
    page = browse(caseworker)
    page.get_by_role("link", name=reference).click()

    # The visa: a page of its own asks for its date, number and validity.
    take_step(page, "Record visa issued", {
        "Date the visa was issued": issued.isoformat(),
        "Visa or entry permit number": "ID4471230",
        "Valid for entry until": (issued + timedelta(days=90)).isoformat()})
    flash(page, f"{reference} moved to “Visa issued”.")
    expect(page.locator("#visa-details")).to_have_text(
        f"ID4471230, issued {shown(issued)}, valid for entry until "
        f"{shown(issued + timedelta(days=90))}")
    expect(deadline_row(page, "Entry by (visa valid until)")).to_contain_text(
        shown(issued + timedelta(days=90)))

    # An arrival before the visa is refused on its page, in words.
    page.get_by_role("region", name="Actions").get_by_role(
        "link", name="Record arrival", exact=True).click()
    page.get_by_label("Arrival date", exact=True).fill((issued - timedelta(days=1)).isoformat())
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("alert")).to_contain_text("is before the visa was issued")
    # The real arrival, two weeks ago: the check page says when the stay ends.
    stay_ends = add_months(arrived, 24)
    page.get_by_label("Arrival date", exact=True).fill(arrived.isoformat())
    page.get_by_role("button", name="Continue").click()
    expect(page.locator("#consequences")).to_contain_text(
        f"The applicant's stay will run from {shown(arrived)} to {shown(stay_ends)}")
    camera.shoot(page, "after-the-fact-check")
    page.get_by_role("button", name="Record arrival", exact=True).click()
    flash(page, f"{reference} moved to “In stay (arrived)”.")
    expect(definition(page, "Arrived")).to_have_text(shown(arrived))
    expect(deadline_row(page, "Entry by (visa valid until)")).to_contain_text("Met")
    history = page.get_by_role("region", name="History")
    expect(history.get_by_role("listitem").first).to_contain_text(f"On {shown(arrived)}")

    # The arrival was in fact a day earlier: corrected, with the reason, and recomputed.
    page.get_by_text("Correct a date", exact=True).click()
    page.get_by_label("Date to correct").select_option(
        label=f"Record arrival (now {shown(arrived)})")
    page.get_by_label("Corrected date").fill((arrived - timedelta(days=1)).isoformat())
    page.get_by_label("Reason for the correction").fill("The entry stamp shows the day before.")
    page.get_by_role("button", name="Correct the date").click()
    new_end = add_months(arrived - timedelta(days=1), 24)
    flash(page, f"Date corrected; the stay now ends on {shown(new_end)}.")
    latest = history.get_by_role("listitem").first
    expect(latest).to_contain_text(
        f"Date of “Record arrival” corrected from {shown(arrived)} to "
        f"{shown(arrived - timedelta(days=1))}")
    expect(latest).to_contain_text(f"The stay now ends on {shown(new_end)} (was "
                                   f"{shown(stay_ends)})")
    expect(latest).to_contain_text("The entry stamp shows the day before.")
    expect(deadline_row(page, "Stay ends").filter(has_text="Open")).to_contain_text(
        shown(new_end))
    camera.shoot(page, "date-corrected")


# --- 8. A draft opened under the wrong scheme ----------------------------------------------------

def test_8_a_draft_opened_under_the_wrong_scheme_moves_to_the_right_one(
        live_server, browse, make_person, scene, camera):
    """Typed in as QMAS, the application was for a professional with a job offer: the
    caseworker changes the draft's scheme, is refused until the job offer is complete, checks
    what the change will do, confirms; the case has a new reference and the old one still
    finds it."""
    caseworker = make_person(Role.CASEWORKER, "Yip Wing Sze")
    today = hk_today()

    def qmas_draft():
        return make_case(account(caseworker), Scheme.QMAS, today=today, now=utcnow(),
                         submitted_on=today - timedelta(days=2), family_name="Okafor",
                         given_names="Chidi", nationality="NG", chinese_name=None).reference

    old_reference = scene(qmas_draft)
    page = browse(caseworker)
    page.get_by_role("link", name=old_reference).click()
    page.get_by_role("link", name="Change scheme", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Change scheme")

    # The new scheme's section shows as it is chosen; a job offer in part is refused in place.
    page.get_by_label("New scheme").select_option(
        label="GEP (Professionals) — General Employment Policy – Professionals")  # noqa: RUF001
    page.get_by_label("Employer (professionals)").fill("Harbour Analytics Ltd")
    page.get_by_label("Reason for the change of scheme").fill(
        "The application came with a job offer: it is a GEP (Professionals) application.")
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("alert")).to_contain_text(
        "GEP (Professionals) requires a confirmed job offer; missing: post, salary")
    expect(page.get_by_label("Employer (professionals)")).to_have_value("Harbour Analytics Ltd")

    page.get_by_label("Post (professionals)").fill("Data engineer")
    page.get_by_label("Monthly salary in HKD (professionals)").fill("62000")
    page.get_by_label("Relevance to qualifications or experience (professionals)").fill(
        "An MSc in data science and five years of data platforms.")
    page.get_by_label("Why the post cannot readily be filled locally (professionals)").fill(
        "Advertised locally for three months without a suitable candidate.")
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Check before you confirm: change of scheme")
    year = old_reference.split("-")[1]
    expect(page.locator("#consequences")).to_contain_text(
        f"The reference changes from {old_reference} to GEP_PRO-{year}-… (its number is given "
        "when you confirm); the old reference stays searchable.")
    camera.shoot(page, "scheme-change-check")
    page.get_by_role("button", name="Change scheme", exact=True).click()

    flash(page, re.compile(rf"{re.escape(old_reference)} is now GEP_PRO-{year}-\d{{6}}, a GEP "
                           r"\(Professionals\) case; the old reference stays searchable\."))
    new_reference = REFERENCE.search(page.get_by_role("heading", level=1).inner_text()).group(0)
    assert new_reference.startswith(f"GEP_PRO-{year}-")
    expect(page.locator("#former-references")).to_have_text(old_reference)
    history = page.get_by_role("region", name="History")
    expect(history.get_by_role("listitem").first).to_contain_text(
        f"Reference changed from {old_reference} to {new_reference}")
    expect(history.get_by_role("listitem").first).to_contain_text(
        "Scheme changed from QMAS to GEP (Professionals).")
    camera.shoot(page, "scheme-changed")

    # The old reference, typed in the header's search, still finds the case.
    page.get_by_role("searchbox", name="Search all cases").fill(old_reference)
    page.get_by_role("searchbox", name="Search all cases").press("Enter")
    expect(page.get_by_role("link", name=new_reference)).to_be_visible()
    expect(page.get_by_text("Former reference, before a change of scheme")).to_be_visible()
