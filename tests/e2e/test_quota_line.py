"""Journey 11: a supervisor runs the waiting line. The limit is set to the places taken, so
approvals wait, in the order they began to wait; the limit is raised by 2; the dashboard says
"2 places free" and the supervisor approves the first two in line from it, each named on the
confirmation page; the rest move up, and the chart's table counts the two."""

from __future__ import annotations

from datetime import timedelta

from playwright.sync_api import expect

from backoffice.auth.models import Role
from backoffice.cases import services
from backoffice.cases.models import Case
from backoffice.cases.schemes import CaseStatus, Scheme
from backoffice.core.dates import hk_today, utcnow
from backoffice.extensions import db
from backoffice.quota import services as quota
from tests.cases.factories import make_case, step_data
from tests.e2e.conftest import DEMO_SUPERVISOR, demo_person
from tests.e2e.test_journeys import account, definition, flash, nav


def _number(text: str) -> int:
    return int(text.replace(",", ""))


def test_11_the_waiting_line_gets_the_places_a_raised_limit_frees_in_order(
        live_server, browse, make_person, scene, camera):
    caseworker = make_person(Role.CASEWORKER, "Tam Wing Sze")
    restorer = make_person(Role.SUPERVISOR, "Lee Wai Man")
    today = hk_today()
    names = [("Okafor", "Chidi"), ("Lindqvist", "Maja"), ("Haddad", "Rami")]

    def under_review(family: str, given: str) -> int:
        return make_case(account(caseworker), Scheme.QMAS, CaseStatus.UNDER_REVIEW,
                         today=today, now=utcnow() - timedelta(days=10),
                         submitted_on=today - timedelta(days=10), family_name=family,
                         given_names=given, chinese_name=None, email=None).id

    ids = [scene(under_review, family, given) for family, given in names]
    original = scene(lambda: quota.get_period("QMAS", today.year).quota_limit)

    supervisor = browse(demo_person(live_server, DEMO_SUPERVISOR))
    try:
        # 1. The limit set to the places already taken: the year is full.
        nav(supervisor, "Quota")
        allocated = _number(definition(supervisor, "Allocated").inner_text())
        supervisor.get_by_label("Limit (places)").fill(str(allocated))
        supervisor.get_by_label("Note").fill("Held at what is allocated")
        supervisor.get_by_role("button", name="Save the limit").click()
        flash(supervisor, f"The QMAS quota for {today.year} is now {allocated:,} places.")
        expect(supervisor.locator("#offer")).to_have_count(0)

        # 2. The three approvals wait: the second began to wait first, then the third, then
        # the first (each held on its own day).
        def hold(case_id: int, days_ago: int) -> None:
            case = db.session.get(Case, case_id)
            services.transition(case, "hold_for_quota", account(caseworker),
                                data=step_data("hold_for_quota",
                                               today - timedelta(days=days_ago)))

        for case_id, days_ago in zip(ids, (1, 3, 2), strict=True):
            scene(hold, case_id, days_ago)
        nav(supervisor, "Cases")
        supervisor.get_by_role("link", name="Awaiting quota", exact=True).click()
        rows = supervisor.get_by_role("table", name="Awaiting quota").locator("tbody tr")
        order = [row.locator("td.place-in-line").inner_text() for row in rows.all()]
        assert order == [str(n) for n in range(1, len(order) + 1)], order
        mine = {family: rows.filter(has_text=family.upper()) for family, _given in names}
        places = {family: int(row.locator("td.place-in-line").inner_text())
                  for family, row in mine.items()}
        assert places["Lindqvist"] < places["Haddad"] < places["Okafor"], places
        expect(supervisor.locator("#waiting-line")).not_to_contain_text("place free")
        camera.shoot(supervisor, "waiting-line")

        # 3. The limit raised by 2: the dashboard offers the two places to the line.
        nav(supervisor, "Quota")
        supervisor.get_by_label("Limit (places)").fill(str(allocated + 2))
        supervisor.get_by_label("Note").fill("Two more places from the policy bureau")
        supervisor.get_by_role("button", name="Save the limit").click()
        offer = supervisor.locator("#offer")
        expect(offer).to_contain_text("2 places free")
        month_row = supervisor.get_by_role(
            "table", name=f"QMAS allocations per month in {today.year} (Hong Kong time)",
        ).get_by_role("row", name=f"{today.strftime('%b')} {today.year}")
        this_month = int(month_row.get_by_role("cell").first.inner_text())
        camera.shoot(supervisor, "places-free", readme="quota-offer")
        offer.get_by_role("link", name="Approve the first 2 in line").click()

        # 4. The confirmation names the two first in line; nothing has changed yet.
        expect(supervisor.get_by_role("heading", level=1)).to_have_text(
            "Check before you confirm: approve the first in line")
        chosen = supervisor.locator("#chosen tbody tr")
        expect(chosen).to_have_count(2)
        references = [row.locator("a.mono").inner_text() for row in chosen.all()]
        expect(supervisor.locator("#consequences")).to_contain_text(
            f"takes a place in the QMAS quota for {today.year}: 2 places in all")
        camera.shoot(supervisor, "approve-first-in-line")
        supervisor.get_by_role("button", name="Approve 2 cases").click()
        flash(supervisor, f"2 cases approved from the waiting line: {references[0]}, "
                          f"{references[1]}.")

        # 5. The rest moved up; the dashboard counts the two and offers nothing more.
        for reference in references:
            expect(supervisor.get_by_role("link", name=reference)).to_have_count(0)
        after = [row.locator("td.place-in-line").inner_text() for row in rows.all()]
        assert after == [str(n) for n in range(1, len(after) + 1)]
        assert len(after) == len(order) - 2
        nav(supervisor, "Quota")
        expect(definition(supervisor, "Allocated")).to_have_text(f"{allocated + 2:,}")
        expect(definition(supervisor, "Remaining")).to_have_text("0")
        expect(month_row.get_by_role("cell").first).to_have_text(str(this_month + 2))
        expect(supervisor.locator("#offer")).to_have_count(0)
        for reference in references:
            expect(supervisor.get_by_role("link", name=reference)).to_be_visible()
    finally:
        # Give the other journeys their room back, whatever happened here.
        scene(lambda: quota.set_limit(account(restorer), "QMAS", today.year,
                                      max(original or 0, quota.get_period(
                                          "QMAS", today.year).allocated + 50),
                                      "Restored after journey 11"))
