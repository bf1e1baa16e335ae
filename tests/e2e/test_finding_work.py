"""The journey of finding and organising the work (issue 15), as a caseworker lives it:
a colleague's case found by the spouse's passport from the header, a duplicate caught before
it is saved, a note written, a reminder that stops asking once its deadline moves, and a
filtered export read back as a spreadsheet would read it."""

from __future__ import annotations

import csv
import re
from datetime import date, timedelta

from playwright.sync_api import expect

from backoffice.auth.models import Role
from backoffice.cases import services as cases
from backoffice.cases.models import Relationship
from backoffice.cases.schemes import CaseStatus, Scheme
from backoffice.core.dates import add_months, hk_today
from tests.cases.factories import dependant_data, make_case
from tests.e2e.test_journeys import (
    account,
    deadline_row,
    fill_identity,
    flash,
    hk_moment,
    nav,
    shown,
    wait_for,
)


def test_8_a_caseworker_finds_a_colleagues_case_catches_a_duplicate_and_keeps_reminders_true(
        live_server, browse, make_person, scene, camera, tmp_path):
    colleague = make_person(Role.CASEWORKER, "Lam Wing Sze")
    caseworker = make_person(Role.CASEWORKER, "Tse Hoi Ying")
    today = hk_today()
    # Unique to this run, so the search finds this family alone.
    spouse_passport = f"K{colleague.id:04d}{caseworker.id:04d}"
    applicant_passport = f"P{caseworker.id:04d}{colleague.id:04d}"
    born = date(1987, 11, 3)

    def colleagues_case() -> str:
        case = make_case(account(colleague), Scheme.QMAS, CaseStatus.UNDER_REVIEW,
                         today=today - timedelta(days=20),
                         now=hk_moment(today - timedelta(days=10)),
                         submitted_on=today - timedelta(days=20), family_name="Okafor",
                         given_names="Chidi", nationality="NG", chinese_name=None,
                         passport_number=applicant_passport, date_of_birth=born, email=None)
        cases.add_dependant(account(colleague), case, Relationship.SPOUSE, dependant_data(
            family_name="Okafor", given_names="Adaeze", nationality="NG",
            passport_number=spouse_passport, date_of_birth=today.replace(year=today.year - 33)),
            married=None, expected_version=case.version)
        return case.reference

    # The caseworker's own case: a GEP (Professionals) stay that ends a week from today.
    arrived_on = add_months(today + timedelta(days=7), -24)
    stay_ends_on = add_months(arrived_on, 24)

    def own_case() -> str:
        return make_case(account(caseworker), Scheme.GEP_PRO, CaseStatus.IN_STAY,
                         today=arrived_on - timedelta(days=60), now=hk_moment(arrived_on),
                         submitted_on=arrived_on - timedelta(days=70), family_name="Varga",
                         given_names="Eszter", nationality="HU", chinese_name=None,
                         email=None).reference

    theirs, mine = scene(colleagues_case), scene(own_case)
    page = browse(caseworker)

    # 1. "/" puts the focus in the header's search; the spouse's passport finds the
    #    colleague's case, and the result says why, with the number masked.
    page.locator("body").press("/")
    expect(page.get_by_role("searchbox", name="Search all cases")).to_be_focused()
    page.keyboard.type(spouse_passport.lower())
    page.keyboard.press("Enter")
    results = page.get_by_role("table", name="Cases found, and why each matched")
    row = results.get_by_role("row").filter(has=page.get_by_role("link", name=theirs))
    expect(row).to_contain_text("OKAFOR, Chidi")
    expect(row).to_contain_text(f"Passport of spouse OKAFOR, Adaeze (spouse of {theirs})")
    expect(row).to_contain_text("Lam Wing Sze")
    expect(row).not_to_contain_text(spouse_passport)
    camera.shoot(page, "search-by-spouse-passport")
    row.get_by_role("link", name=theirs).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(theirs)

    # 2. A note on the colleague's case (any case one may view takes a note).
    page.get_by_text("Add a note", exact=True).click()
    page.get_by_label("Note", exact=True).fill("Called the applicant: degree certificate "
                                              "copies follow by courier.")
    page.get_by_role("button", name="Add note", exact=True).click()
    history = page.get_by_role("region", name="History")
    expect(history.locator(".case-note").first).to_contain_text("degree certificate copies")
    expect(history.locator(".case-note").first).to_contain_text("Tse Hoi Ying")

    # 3. A new case for the colleague's applicant, typed as a caseworker might (lower case,
    #    spaces in the passport number): the match is shown, with a link, before anything is
    #    saved; saving anyway needs the box ticked and a reason, which the history keeps.
    nav(page, "New case")
    page.get_by_label("Scheme").select_option(label="QMAS — Quality Migrant Admission Scheme")
    page.get_by_label("Submission date").fill(today.isoformat())
    fill_identity(page, family="okafor", given="Chidi", born=born,
                  nationality="Nigeria", passport=" ".join(applicant_passport.lower()))
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("alert").first).to_contain_text("Nothing was saved.")
    matches = page.get_by_role("region", name="Possible duplicates: this person may already "
                                              "be in another case")
    match = matches.get_by_role("row").filter(has=page.get_by_role("link", name=theirs))
    expect(match).to_contain_text("Applicant")
    expect(match).to_contain_text("same passport number and nationality")
    expect(match).not_to_contain_text(applicant_passport)
    camera.shoot(page, "duplicate-caught")
    page.get_by_label("Save anyway: this is a different person / a new application for the "
                      "same person").check()
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("alert").first).to_contain_text(
        "Give the reason for saving anyway")
    page.get_by_label("Reason for saving anyway").fill("A new application after the first "
                                                       "was withdrawn by letter.")
    page.get_by_role("button", name="Save").click()
    flash(page, re.compile(r"Case QMAS-\d{4}-\d{6} created as a draft, assigned to you\."))
    created = page.get_by_role("region", name="History").get_by_role("listitem").last
    expect(created).to_contain_text(f"Saved anyway, although the person matched someone in "
                                    f"another case: {theirs}, the applicant")
    expect(created).to_contain_text("A new application after the first was withdrawn by letter.")

    # 4. A reminder of the own case's stay end reaches the notification centre ...
    live_server.send_task("backoffice.notifications.tasks.plan_reminders")
    nav(page, "Notifications")
    reminder = page.get_by_role("main").get_by_text(f"Stay ends on {shown(stay_ends_on)}")

    def arrived() -> bool:
        page.reload()
        return reminder.count() > 0

    assert wait_for(arrived), "no reminder within 30 s; see test-artifacts/logs/worker.log"
    expect(page.get_by_role("navigation", name="Main").get_by_role(
        "link", name="Notifications")).to_have_text("Notifications 1 unread")
    # ... and once the arrival is corrected (so the stay ends a day later), it asks for
    # nothing: it says where the deadline went and the badge drops.
    page.get_by_role("link", name="Open the case").first.click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(mine)
    page.get_by_text("Correct a date", exact=True).click()
    page.get_by_label("Date to correct").select_option(
        label=f"Record arrival (now {shown(arrived_on)})")
    page.get_by_label("Corrected date").fill((arrived_on + timedelta(days=1)).isoformat())
    page.get_by_label("Reason for the correction").fill("The entry stamp shows the day after.")
    page.get_by_role("button", name="Correct the date").click()
    new_end = add_months(arrived_on + timedelta(days=1), 24)
    flash(page, f"Date corrected; the stay now ends on {shown(new_end)}.")
    expect(deadline_row(page, "Stay ends").filter(has_text="Open")).to_contain_text(
        shown(new_end))
    nav(page, "Notifications")
    expect(page.get_by_role("navigation", name="Main").get_by_role(
        "link", name="Notifications", exact=True)).to_have_text("Notifications")
    earlier = page.get_by_role("region", name="Read or no longer due")
    expect(earlier).to_contain_text(f"No longer due: the deadline moved to {shown(new_end)}.")
    camera.shoot(page, "notification-no-longer-due")

    # 5. My cases, filtered to GEP (Professionals) in stay, exported: the file opens as a
    #    spreadsheet would read it (UTF-8 with its BOM), words next to codes, the own case in
    #    it with its corrected dates, identity numbers masked. (The whole office's export, All
    #    cases, is a supervisor's.)
    nav(page, "Cases")
    page.get_by_label("Scheme").select_option(value="GEP_PRO")
    page.get_by_label("Status").select_option(value="in_stay")
    page.get_by_role("button", name="Apply").click()
    expect(page.get_by_role("link", name=mine)).to_be_visible()
    with page.expect_download() as download:
        page.get_by_role("link", name="Export CSV").click()
    name = download.value.suggested_filename
    assert name.startswith("cases-mine-GEP_PRO-in_stay-") and name.endswith(".csv"), name
    saved = tmp_path / name
    download.value.save_as(saved)
    raw = saved.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    with saved.open(encoding="utf-8-sig", newline="") as file:
        rows = list(csv.DictReader(file))
    assert [r["Reference"] for r in rows] == [mine]
    (exported,) = rows
    assert (exported["Scheme (code)"], exported["Status (code)"]) == ("GEP_PRO", "in_stay")
    assert exported["Status"] == "In stay (arrived)"
    assert (exported["Nationality (code)"], exported["Nationality"]) == ("HU", "Hungary")
    assert exported["Family name"] == "Varga"
    assert exported["Assignee"] == "Tse Hoi Ying"
    assert "\u2022" in exported["Passport (masked)"]


def test_9_a_supervisor_reassigns_a_whole_page_and_is_told_what_was_left(
        live_server, browse, make_person, scene, camera):
    """Select all ticks every case of the page; the outcome names the case left alone and
    why. On a phone the queue's filters fold away under a toggle."""
    leaving = make_person(Role.CASEWORKER, "Chow Ka Ming")
    taking_over = make_person(Role.CASEWORKER, "Yeung Hiu Tung")
    supervisor = make_person(Role.SUPERVISOR, "Kwok Wai Lun")
    today = hk_today()

    def three_cases() -> list[str]:
        made = [make_case(account(leaving), Scheme.ASSG, status, today=today,
                          now=hk_moment(today), submitted_on=today - timedelta(days=5),
                          family_name="Ng", given_names=f"Wing Yan {n}", nationality="AU",
                          chinese_name=None, email=None)
                for n, status in enumerate((CaseStatus.SUBMITTED, CaseStatus.UNDER_REVIEW,
                                            CaseStatus.WITHDRAWN))]
        return [case.reference for case in made]

    submitted, reviewed, withdrawn = scene(three_cases)
    page = browse(supervisor)
    nav(page, "Cases")
    page.get_by_role("link", name="All cases", exact=True).click()
    page.get_by_label("Assignee").select_option(label="Chow Ka Ming")
    page.get_by_role("button", name="Apply").click()
    expect(page.locator("#result-count")).to_have_text("3 cases match.")
    every = page.get_by_role("checkbox", name="Select every case on this page")
    every.check()
    for reference in (submitted, reviewed, withdrawn):
        expect(page.get_by_role("checkbox", name=f"Select {reference}")).to_be_checked()
    page.get_by_role("checkbox", name=f"Select {reviewed}").uncheck()
    expect(every).not_to_be_checked()  # partly ticked now
    page.get_by_role("checkbox", name=f"Select {reviewed}").check()
    expect(every).to_be_checked()
    page.get_by_label("Assign the ticked cases to").select_option(label="Yeung Hiu Tung")
    page.get_by_role("button", name="Reassign ticked cases").click()
    flash(page, "2 cases reassigned to Yeung Hiu Tung.")
    flash(page, f"Not reassigned, because the case has ended: {withdrawn}.")
    camera.shoot(page, "bulk-reassign-outcome")
    # Back on the queue it came from, with its filter: only the ended case is still Chow's.
    expect(page.get_by_label("Assignee")).to_have_value(str(leaving.id))
    expect(page.locator("#result-count")).to_have_text("1 case matches.")
    page.get_by_label("Assignee").select_option(str(taking_over.id))
    page.get_by_role("button", name="Apply").click()
    expect(page.locator("#result-count")).to_have_text("2 cases match.")

    # On a phone the filters fold away under their toggle, and open from it.
    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()
    filters = page.locator("details.queue-filters")
    expect(filters).not_to_have_attribute("open", "")
    expect(page.get_by_label("Scheme")).to_be_hidden()
    filters.get_by_text("Filters", exact=True).click()
    expect(page.get_by_label("Scheme")).to_be_visible()
