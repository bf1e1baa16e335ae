"""The stay and deadline pages: recording arrival, job offers, correcting the arrival date,
"Due soon", and the calendar page and its .ics feed.

Web requests run on the real clock (the views call ``hk_today()``), so dates here are either
fixed in the past (the factories' 2026-03-16) or computed from today; the due-soon query
itself is also tested with a fixed ``today``.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from icalendar import Calendar
from sqlalchemy import func, select, update

from backoffice.auth.models import Role
from backoffice.cases import calendar, deadline_sweep, queries, services, stay
from backoffice.cases.models import (
    Case,
    CaseEvent,
    Deadline,
    DeadlineKind,
    DeadlineState,
    EventKind,
    JobOffer,
    Relationship,
)
from backoffice.cases.schemes import CaseStatus, Scheme
from backoffice.core.dates import add_months, hk_today
from tests.cases.factories import TODAY, dependant_data, hk_morning, make_case

S = CaseStatus
K = DeadlineKind
ST = DeadlineState
STALE = "changed by someone else"
OFFER = stay.JobOfferData(employer="Harbour Analytics Ltd", post="Data engineer",
                          salary=Decimal("60000"), start_date=date(2026, 6, 1))


# --- helpers ------------------------------------------------------------------------------------


def arrived_case(actor, arrived_on: date, scheme: Scheme = Scheme.QMAS,
                 status: CaseStatus = S.IN_STAY) -> Case:
    """A case that arrived on ``arrived_on`` (its visa issued that day), committed."""
    return make_case(actor, scheme, status, now=hk_morning(arrived_on), today=arrived_on,
                     submitted_on=arrived_on - timedelta(days=60))


def page(response) -> str:
    return response.get_data(as_text=True)


def reload(db, case: Case) -> Case:
    db.session.expire_all()
    return db.session.get(Case, case.id)


def open_deadlines(db, case: Case) -> dict[DeadlineKind, date]:
    return {d.kind: d.due_on for d in db.session.scalars(
        select(Deadline).where(Deadline.case_id == case.id, Deadline.state == ST.OPEN))}


def count(db, model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def post(client, case: Case, path: str, data: dict, version: int | None = None):
    """POST a case form as the case page would, carrying the version it was rendered with."""
    data = {"version": case.version if version is None else version} | data
    return client.post_form(f"/cases/{case.id}/{path}", data, token_from=f"/cases/{case.id}")


# --- Recording arrival through the web step -------------------------------------------------------


@pytest.mark.parametrize(("scheme", "ends_on", "job_offer"), [
    pytest.param(Scheme.QMAS, date(2027, 4, 1), True, id="qmas"),
    pytest.param(Scheme.GEP_PRO, date(2028, 4, 1), False, id="gep-pro"),
])
def test_recording_arrival_on_the_case_page(client, as_role, db, scheme, ends_on, job_offer):
    me = as_role(Role.CASEWORKER)
    case = make_case(me, scheme, S.VISA_ISSUED)  # visa issued 2026-03-16
    response = post(client, case, "step/record_arrival", {"on": "2026-04-01",
                                                          "confirmed": "1"})
    assert response.status_code == 302, page(response)[:2000]
    assert response.headers["Location"] == f"/cases/{case.id}"

    case = reload(db, case)
    assert (case.status, case.arrived_on, case.stay_ends_on) == (
        S.IN_STAY, date(2026, 4, 1), ends_on)
    assert (case.stay_initial_months, case.stay_extension_months,
            case.extension_window_days) == ((12 if scheme == Scheme.QMAS else 24), 24, 28)
    expected = {K.STAY_END: ends_on, K.EXTENSION_WINDOW: ends_on - timedelta(days=28)}
    if job_offer:
        expected[K.JOB_OFFER] = ends_on
    assert open_deadlines(db, case) == expected

    shown = page(client.get(f"/cases/{case.id}"))
    assert "Stay and deadlines" in shown
    assert f"{ends_on.day} {ends_on:%b %Y}" in shown  # "1 Apr 2027", as en_HK writes it
    assert ("None recorded yet: needed to extend the stay." in shown) == job_offer


def _tomorrow() -> str:
    return (hk_today() + timedelta(days=1)).isoformat()


@pytest.mark.parametrize(("arrived_on", "message"), [
    pytest.param("", "Enter the date as YYYY-MM-DD.", id="missing"),
    pytest.param(None, "Enter the date as YYYY-MM-DD.", id="not-sent"),
    pytest.param("tomorrow", "is in the future.", id="future"),
    pytest.param("2026-03-15", "The arrival date 15 Mar 2026 is before the visa was issued "
                               "(16 Mar 2026).", id="before-visa"),
    pytest.param("2026-02-30", "Not a valid date value.", id="not-a-date"),
])
def test_an_impossible_arrival_date_is_refused_on_the_page(client, as_role, db, arrived_on,
                                                          message):
    me = as_role(Role.CASEWORKER)
    case = make_case(me, Scheme.QMAS, S.VISA_ISSUED)
    version = case.version
    data = {"confirmed": "1"} if arrived_on is None else {
        "on": _tomorrow() if arrived_on == "tomorrow" else arrived_on, "confirmed": "1"}
    response = post(client, case, "step/record_arrival", data)
    assert response.status_code == 422
    assert message in page(response)
    case = reload(db, case)
    assert (case.status, case.version, case.arrived_on) == (S.VISA_ISSUED, version, None)
    assert set(open_deadlines(db, case)) == {K.ENTRY}  # the visa's, still open


def test_recording_arrival_from_a_stale_page_is_refused(client, as_role, db):
    me = as_role(Role.CASEWORKER)
    case = make_case(me, Scheme.QMAS, S.VISA_ISSUED)
    response = post(client, case, "step/record_arrival", {"on": "2026-04-01",
                                                          "confirmed": "1"},
                    version=case.version - 1)
    assert response.status_code == 422
    assert STALE in page(response)
    assert reload(db, case).status == S.VISA_ISSUED
    assert set(open_deadlines(db, case)) == {K.ENTRY}


# --- Job offers ---------------------------------------------------------------------------------

GOOD_OFFER = {"employer": "Harbour Analytics Ltd", "post": "Data engineer", "salary": "60000",
              "start_date": "2026-06-01", "offered_on": "2026-03-20"}


def test_recording_a_job_offer_on_the_case_page(client, as_role, db):
    me = as_role(Role.CASEWORKER)
    case = make_case(me, Scheme.QMAS, S.IN_STAY)
    response = post(client, case, "job-offers", GOOD_OFFER)
    assert response.status_code == 302, page(response)[:2000]
    assert response.headers["Location"] == f"/cases/{case.id}"

    job = db.session.scalar(select(JobOffer))
    assert (job.case_id, job.employer, job.post, job.salary, job.start_date, job.offered_on,
            job.recorded_by_id) == (case.id, "Harbour Analytics Ltd", "Data engineer",
                                    Decimal("60000.00"), date(2026, 6, 1), date(2026, 3, 20),
                                    me.id)
    assert K.JOB_OFFER not in open_deadlines(db, case)
    met = db.session.scalar(select(Deadline).where(Deadline.case_id == case.id,
                                                   Deadline.kind == K.JOB_OFFER))
    assert met.state == ST.MET
    shown = page(client.get(f"/cases/{case.id}"))
    assert "Job offer recorded." in shown
    assert "Data engineer at Harbour Analytics Ltd, HKD 60,000.00 a month" in shown


@pytest.mark.parametrize(("changes", "message"), [
    pytest.param({"employer": ""}, "Enter the employer.", id="no-employer"),
    pytest.param({"employer": "   "}, "Enter the employer.", id="blank-employer"),
    pytest.param({"post": ""}, "Enter the post.", id="no-post"),
    pytest.param({"post": "  "}, "Enter the post.", id="blank-post"),
    pytest.param({"salary": "-1"}, "Enter a monthly salary above 0 and at most 10,000,000.",
                 id="negative-salary"),
    pytest.param({"salary": "0"}, "Enter a monthly salary above 0 and at most 10,000,000.",
                 id="no-pay"),
    pytest.param({"salary": "0.00"}, "Enter a monthly salary above 0 and at most 10,000,000.",
                 id="no-pay-in-cents"),
    pytest.param({"salary": "10000000.01"},
                 "Enter a monthly salary above 0 and at most 10,000,000.", id="salary-too-high"),
    pytest.param({"salary": "lots"}, "Not a valid decimal value.", id="salary-not-a-number"),
    pytest.param({"salary": ""}, "Enter the monthly salary.", id="no-salary"),
    pytest.param({"start_date": "2026-13-01"}, "Not a valid date value.", id="bad-date"),
    pytest.param({"start_date": ""}, "Enter the start date as YYYY-MM-DD.", id="no-date"),
    pytest.param({"offered_on": ""}, "Enter the date of the offer as YYYY-MM-DD.",
                 id="no-offer-date"),
    pytest.param({"offered_on": "tomorrow"}, "is in the future.", id="offer-in-the-future"),
    pytest.param({"offered_on": "2025-01-01"}, "is before the application was submitted",
                 id="offer-before-submission"),
])
def test_a_bad_job_offer_is_refused_and_nothing_is_saved(client, as_role, db, changes, message):
    me = as_role(Role.CASEWORKER)
    case = make_case(me, Scheme.QMAS, S.IN_STAY)
    version = case.version
    if changes.get("offered_on") == "tomorrow":
        changes = {"offered_on": _tomorrow()}
    response = post(client, case, "job-offers", GOOD_OFFER | changes)
    assert response.status_code == 422
    assert message in page(response)
    assert count(db, JobOffer) == 0
    assert K.JOB_OFFER in open_deadlines(db, case)
    assert reload(db, case).version == version


@pytest.mark.parametrize(("setup", "message"), [
    pytest.param("stale", STALE, id="stale-version"),
    pytest.param("not-arrived", "A job offer is recorded once the applicant has arrived.",
                 id="not-arrived"),
    pytest.param("not-mine", "Only the caseworker assigned to this case or a supervisor can "
                             "change it.", id="another-caseworkers-case"),
])
def test_a_job_offer_the_rules_refuse_is_not_saved(client, as_role, make_user, db, setup,
                                                   message):
    me = as_role(Role.CASEWORKER)
    owner = make_user(Role.CASEWORKER) if setup == "not-mine" else me
    case = make_case(owner, Scheme.QMAS, S.VISA_ISSUED if setup == "not-arrived" else S.IN_STAY)
    version = case.version - 1 if setup == "stale" else case.version
    response = post(client, case, "job-offers", GOOD_OFFER, version=version)
    assert response.status_code == 422
    assert message in page(response)
    assert count(db, JobOffer) == 0


# --- Correcting the arrival date (one of the dates a correction may change) -------------------


def arrival_key(db, case: Case) -> str:
    """The correction form's value for the arrival: the arrival step's event id."""
    return str(db.session.scalar(select(CaseEvent.id).where(
        CaseEvent.case_id == case.id, CaseEvent.transition == "record_arrival")))


def test_correcting_the_arrival_date_on_the_case_page(client, as_role, db):
    me = as_role(Role.CASEWORKER)
    case = make_case(me, Scheme.QMAS, S.IN_STAY)  # arrived 2026-03-16
    shown = page(client.get(f"/cases/{case.id}"))
    assert "Record arrival (now 16 Mar 2026)" in shown  # offered in the correction form
    response = post(client, case, "dates", {"which": arrival_key(db, case),
                                            "corrected": "2026-03-20",
                                            "reason": "Landing stamp misread."})
    assert response.status_code == 302, page(response)[:2000]
    case = reload(db, case)
    assert (case.arrived_on, case.stay_ends_on) == (date(2026, 3, 20), date(2027, 3, 20))
    assert open_deadlines(db, case) == {K.STAY_END: date(2027, 3, 20),
                                        K.EXTENSION_WINDOW: date(2027, 2, 20),
                                        K.JOB_OFFER: date(2027, 3, 20)}
    assert db.session.scalar(select(func.count()).select_from(Deadline).where(
        Deadline.case_id == case.id, Deadline.state == ST.CANCELLED)) == 3
    event = db.session.scalar(select(CaseEvent).where(CaseEvent.case_id == case.id)
                              .order_by(CaseEvent.id.desc()).limit(1))
    assert (event.kind, event.actor_id, event.reason) == (
        EventKind.EDITED, me.id, "Landing stamp misread.")
    shown = page(client.get(f"/cases/{case.id}"))
    assert "Date corrected; the stay now ends on 20 Mar 2027." in shown
    assert "Date of “Record arrival” corrected from 16 Mar 2026 to 20 Mar 2026" in shown
    assert "The stay now ends on 20 Mar 2027 (was 16 Mar 2027)" in shown


@pytest.mark.parametrize(("data", "message"), [
    pytest.param({"reason": ""}, "Give a reason for the correction.", id="no-reason"),
    pytest.param({"corrected": ""}, "Enter the corrected date as YYYY-MM-DD.", id="no-date"),
    pytest.param({"corrected": "20/03/2026"}, "Not a valid date value.", id="bad-date"),
    pytest.param({"corrected": "tomorrow"}, "cannot be in the future", id="future"),
    pytest.param({"corrected": "2026-03-16"}, "Record arrival is already 16 Mar 2026.",
                 id="same-date"),
    pytest.param({"corrected": "2026-03-01"}, "cannot be before 16 Mar 2026",
                 id="before-visa"),
])
def test_a_bad_arrival_correction_is_refused_and_changes_nothing(client, as_role, db, data,
                                                                 message):
    me = as_role(Role.CASEWORKER)
    case = make_case(me, Scheme.QMAS, S.IN_STAY)
    before = (case.arrived_on, case.stay_ends_on, case.version, open_deadlines(db, case))
    data = {"which": arrival_key(db, case), "corrected": "2026-03-20",
            "reason": "Landing stamp misread."} | data
    if data["corrected"] == "tomorrow":
        data["corrected"] = _tomorrow()
    response = post(client, case, "dates", data)
    assert response.status_code == 422
    assert message in page(response)
    case = reload(db, case)
    assert (case.arrived_on, case.stay_ends_on, case.version,
            open_deadlines(db, case)) == before
    assert count(db, Deadline) == 4  # the visa's met entry deadline and the stay's three


def test_an_arrival_correction_from_a_stale_page_is_refused(client, as_role, db):
    me = as_role(Role.CASEWORKER)
    case = make_case(me, Scheme.QMAS, S.IN_STAY)
    response = post(client, case, "dates", {"which": arrival_key(db, case),
                                            "corrected": "2026-03-20", "reason": "Typo."},
                    version=case.version - 1)
    assert response.status_code == 422
    assert STALE in page(response)
    assert reload(db, case).arrived_on == date(2026, 3, 16)


def test_another_caseworker_cannot_correct_my_arrival_date(client, as_role, make_user, db):
    as_role(Role.CASEWORKER)
    case = make_case(make_user(Role.CASEWORKER), Scheme.QMAS, S.IN_STAY)
    response = post(client, case, "dates", {"which": arrival_key(db, case),
                                            "corrected": "2026-03-20", "reason": "Typo."})
    assert response.status_code == 422
    assert "Only the caseworker assigned to this case" in page(response)
    assert reload(db, case).arrived_on == date(2026, 3, 16)


# --- The case page: deadline notes and dependants -----------------------------------------------


def test_the_case_page_notes_holidays_and_a_child_turning_18(client, as_role, db):
    me = as_role(Role.CASEWORKER)
    case = arrived_case(me, date(2025, 12, 25))  # the stay ends on Christmas Day 2026
    services.add_dependant(me, case, Relationship.CHILD,
                           dependant_data(given_names="Ka Ho", date_of_birth=date(2008, 6, 1)),
                           False, expected_version=case.version, today=date(2025, 12, 25))
    services.add_dependant(me, case, Relationship.CHILD,
                           dependant_data(given_names="Ka Yan", date_of_birth=date(2012, 6, 1),
                                          passport_number="AB7654322"),
                           False, expected_version=case.version, today=date(2025, 12, 25))
    db.session.commit()
    assert case.stay_ends_on == date(2026, 12, 25)

    shown = page(client.get(f"/cases/{case.id}"))
    assert "Christmas Day" in shown
    assert "Turns 18 on 1 Jun 2026, during the stay" in shown
    assert shown.count("during the stay") == 1  # the younger child is not flagged
    assert "Dependants' stay follows the applicant's: 25 Dec 2025 to 25 Dec 2026." in shown


# --- Due soon -----------------------------------------------------------------------------------


def _due_in_ten_days(actor) -> Case:
    """A QMAS case whose stay (and job-offer deadline) ends about ten days from today and
    whose extension window opened about 18 days ago (an opening, never overdue)."""
    return arrived_case(actor, add_months(hk_today() + timedelta(days=10), -12))


def _ended_three_days_ago(actor) -> Case:
    """A QMAS case whose stay and job-offer deadline passed three days ago, not yet swept."""
    return arrived_case(actor, add_months(hk_today() - timedelta(days=3), -12))


def _sections(html: str) -> tuple[str, str]:
    overdue, upcoming = html.split("<h2 class=\"h5 mt-4\">Next 30 days</h2>")
    return overdue.split("Overdue</h2>")[1], upcoming


def test_due_soon_lists_my_upcoming_and_overdue_deadlines_only(client, as_role, make_user, db):
    me = as_role(Role.CASEWORKER)
    mine = _due_in_ten_days(me)
    late = _ended_three_days_ago(me)
    other = make_user(Role.CASEWORKER, full_name="Other Caseworker")
    theirs = _due_in_ten_days(other)

    response = client.get("/cases/due-soon")
    assert response.status_code == 200
    overdue, upcoming = _sections(page(response))
    assert late.reference in overdue and mine.reference not in overdue
    assert "Stay ends" in overdue and "Job offer due" in overdue
    # A window that has opened is not a deadline anyone can miss.
    assert "Extension window opens" not in overdue
    assert mine.reference in upcoming
    assert "Stay ends" in upcoming and "Job offer due" in upcoming
    assert theirs.reference not in page(response)
    assert "Whole office" not in page(response)  # a supervisor's button


def test_supervisors_see_the_whole_office(client, as_role, make_user, db):
    as_role(Role.SUPERVISOR)
    worker = make_user(Role.CASEWORKER, full_name="Wong Siu Ming")
    theirs = _due_in_ten_days(worker)
    theirs_late = _ended_three_days_ago(worker)

    mine_only = page(client.get("/cases/due-soon"))
    assert theirs.reference not in mine_only and theirs_late.reference not in mine_only
    assert "Nothing overdue." in mine_only

    response = client.get("/cases/due-soon?scope=office")
    assert response.status_code == 200
    overdue, upcoming = _sections(page(response))
    assert theirs_late.reference in overdue and theirs.reference in upcoming
    assert "Wong Siu Ming" in overdue and "Wong Siu Ming" in upcoming


@pytest.mark.parametrize(("role", "status"), [
    pytest.param(None, 302, id="anonymous"),
    pytest.param(Role.CASEWORKER, 403, id="caseworker"),
    pytest.param(Role.SUPERVISOR, 200, id="supervisor"),
    pytest.param(Role.ADMIN, 403, id="admin"),
])
def test_only_supervisors_see_the_office_scope(client, as_role, db, role, status):
    as_role(role)
    response = client.get("/cases/due-soon?scope=office")
    assert response.status_code == status
    if status == 302:
        assert response.headers["Location"].startswith("/login?next=")


DUE_DAY = date(2027, 3, 1)


def test_the_due_soon_query(db, make_user):
    """Fixed today (2027-03-01): upcoming = open and due within 30 days; overdue = a stay end
    or job offer open and past due (the sweep has not reached it), or missed, on open cases
    only. An extension window that has opened is never overdue."""
    me = make_user(Role.CASEWORKER)
    other = make_user(Role.CASEWORKER)
    soon = arrived_case(me, TODAY)  # ends 2027-03-16; window 2027-02-16 (open: opened)
    late = arrived_case(me, date(2026, 2, 25))  # ended 2027-02-25, not yet swept
    later = arrived_case(me, date(2026, 5, 1))  # ends 2027-05-01; window 2027-04-03
    edge = arrived_case(me, date(2026, 3, 31), Scheme.GEP_PRO)  # ends 2028-03-31
    offered = arrived_case(me, date(2026, 3, 2))  # ends 2027-03-02; job offer recorded
    stay.record_job_offer(me, offered, OFFER, now=hk_morning(TODAY))
    # A missed stay end on an open case (an extension request waiting) is overdue ...
    waiting = arrived_case(me, date(2026, 2, 20), status=S.EXTENSION_REQUESTED)
    # ... but not on a closed one.
    gone = arrived_case(me, date(2026, 2, 20))
    services.transition(gone, "lapse", me, now=hk_morning(date(2027, 2, 21)))
    for case in (waiting, gone):
        db.session.execute(update(Deadline).where(
            Deadline.case_id == case.id, Deadline.kind == K.STAY_END).values(
            state=ST.MISSED, closed_at=hk_morning(date(2027, 2, 21))))
    theirs = arrived_case(other, TODAY)
    theirs_late = arrived_case(other, date(2026, 2, 25))
    db.session.commit()
    # The window of the GEP case opens 2028-03-03; move it to the last listed day.
    db.session.execute(update(Deadline).where(
        Deadline.case_id == edge.id, Deadline.kind == K.EXTENSION_WINDOW).values(
        due_on=DUE_DAY + timedelta(days=30)))
    db.session.commit()

    def listed(rows):
        return sorted((r.reference, r.kind.value, r.due_on, r.state.value) for r in rows)

    upcoming, overdue = queries.due_soon(me, office=False, today=DUE_DAY)
    assert listed(upcoming) == sorted([
        (soon.reference, "stay_end", date(2027, 3, 16), "open"),
        (soon.reference, "job_offer", date(2027, 3, 16), "open"),
        (offered.reference, "stay_end", date(2027, 3, 2), "open"),
        (edge.reference, "extension_window", date(2027, 3, 31), "open"),
    ])
    assert [r.due_on for r in upcoming] == sorted(r.due_on for r in upcoming)
    assert listed(overdue) == sorted([
        (late.reference, "stay_end", date(2027, 2, 25), "open"),
        (late.reference, "job_offer", date(2027, 2, 25), "open"),
        (waiting.reference, "stay_end", date(2027, 2, 20), "missed"),
    ])
    assert later.reference not in {r.reference for r in upcoming + overdue}

    office_upcoming, office_overdue = queries.due_soon(me, office=True, today=DUE_DAY)
    assert theirs.reference in {r.reference for r in office_upcoming}
    assert theirs_late.reference in {r.reference for r in office_overdue}
    assert theirs.reference not in {r.reference for r in office_overdue}
    assert gone.reference not in {r.reference for r in office_upcoming + office_overdue}


@pytest.mark.parametrize(("decision", "reason", "still_overdue"), [
    pytest.param(None, None, True, id="waiting-for-a-decision"),
    pytest.param("grant_extension", None, False, id="granted-late"),
])
def test_a_missed_stay_end_is_overdue_until_a_new_stay_end_replaces_it(
        db, make_user, decision, reason, still_overdue):
    me = make_user(Role.CASEWORKER)
    # The stay ended 2027-02-20 while the extension request waited; the sweep missed it.
    waiting = arrived_case(me, date(2026, 2, 20), status=S.EXTENSION_REQUESTED)
    db.session.commit()
    assert deadline_sweep.sweep(date(2027, 2, 21), now=hk_morning(date(2027, 2, 21)))["missed"] == 1
    db.session.commit()
    if decision:
        services.transition(reload(db, waiting), decision, me, reason=reason,
                            now=hk_morning(date(2027, 2, 25)))
        db.session.commit()

    _, overdue = queries.due_soon(me, office=False, today=DUE_DAY)
    listed = [(r.reference, r.kind, r.state) for r in overdue]
    assert ((waiting.reference, K.STAY_END, ST.MISSED) in listed) is still_overdue
    # The history keeps the miss either way.
    missed = db.session.scalars(select(Deadline).where(
        Deadline.case_id == waiting.id, Deadline.state == ST.MISSED)).all()
    assert [(d.kind, d.due_on, d.outstanding) for d in missed] == [
        (K.STAY_END, date(2027, 2, 20), still_overdue)]


# --- The calendar page and feed -----------------------------------------------------------------


def _feed_path(user) -> str:
    return f"/cases/calendar/{user.calendar_token}.ics"


def test_making_and_resetting_the_calendar_address(client, as_role, db):
    me = as_role(Role.CASEWORKER)
    first_page = page(client.get("/cases/calendar"))
    assert "You have no calendar address yet." in first_page

    response = client.post_form("/cases/calendar/reset", {}, token_from="/cases/calendar")
    assert (response.status_code, response.headers["Location"]) == (302, "/cases/calendar")
    db.session.expire_all()
    first = db.session.get(type(me), me.id).calendar_token
    assert first and len(first) >= 40
    shown = page(client.get("/cases/calendar"))
    assert "Your calendar address is ready." in shown
    assert f"http://localhost/cases/calendar/{first}.ics" in shown
    assert client.get(f"/cases/calendar/{first}.ics").status_code == 200

    client.post_form("/cases/calendar/reset", {}, token_from="/cases/calendar")
    db.session.expire_all()
    second = db.session.get(type(me), me.id).calendar_token
    assert second != first
    assert "the old one no longer works" in page(client.get("/cases/calendar"))
    assert client.get(f"/cases/calendar/{first}.ics").status_code == 404
    assert client.get(f"/cases/calendar/{second}.ics").status_code == 200


def test_resetting_the_address_needs_the_form_token(client, as_role, db):
    me = as_role(Role.CASEWORKER)
    client.get("/cases/calendar")
    assert client.post("/cases/calendar/reset", data={}).status_code == 400
    db.session.expire_all()
    assert db.session.get(type(me), me.id).calendar_token is None


def test_the_feed_has_one_event_per_open_deadline_of_my_cases(app, client, as_role, make_user,
                                                              db):
    me = as_role(Role.CASEWORKER)
    qmas = make_case(me, Scheme.QMAS, S.IN_STAY)  # 3 open deadlines
    assg = make_case(me, Scheme.ASSG, S.IN_STAY)  # 2 open deadlines
    offered = make_case(me, Scheme.QMAS, S.IN_STAY)  # job offer met: 2 open
    stay.record_job_offer(me, offered, OFFER, now=hk_morning(TODAY))
    closed = make_case(me, Scheme.QMAS, S.CLOSED)  # all cancelled
    theirs = make_case(make_user(Role.CASEWORKER), Scheme.QMAS, S.IN_STAY)
    calendar.reset_token(me)
    db.session.commit()
    expected = {f"deadline-{d.id}@talent-admission-backoffice": d for d in db.session.scalars(
        select(Deadline).where(Deadline.state == ST.OPEN,
                               Deadline.case_id.in_([qmas.id, assg.id, offered.id])))}
    assert len(expected) == 7
    refs = {qmas.id: qmas.reference, assg.id: assg.reference, offered.id: offered.reference}

    anonymous = app.test_client()  # calendar apps do not sign in
    response = anonymous.get(_feed_path(me))
    assert response.status_code == 200
    assert response.mimetype == "text/calendar"
    body = response.get_data()
    assert body.startswith(b"BEGIN:VCALENDAR")
    assert b"DTSTART;VALUE=DATE:20270316" in body
    parsed = Calendar.from_ical(body)
    assert parsed.name == "VCALENDAR"
    assert str(parsed["VERSION"]) == "2.0"
    found = {str(e["UID"]): e for e in parsed.walk("VEVENT")}
    assert set(found) == set(expected)
    for uid, event in found.items():
        deadline = expected[uid]
        start = event.decoded("DTSTART")
        assert type(start) is date and start == deadline.due_on
        assert event.decoded("DTEND") == deadline.due_on + timedelta(days=1)
        summary = str(event["SUMMARY"])
        assert summary.startswith(f"{deadline.kind.label}: {refs[deadline.case_id]} ")
        assert "CHAN, Mei Ling" in summary
        assert str(event["URL"]).endswith(f"/cases/{deadline.case_id}")
    assert closed.reference.encode() not in body
    assert theirs.reference.encode() not in body

    # Fetched again: the same UIDs, so calendar apps update events instead of adding more.
    again = Calendar.from_ical(anonymous.get(_feed_path(me)).get_data())
    assert {str(e["UID"]) for e in again.walk("VEVENT")} == set(found)


def test_a_deadline_that_closes_leaves_the_feed(app, client, as_role, db):
    me = as_role(Role.CASEWORKER)
    case = make_case(me, Scheme.QMAS, S.IN_STAY)
    calendar.reset_token(me)
    db.session.commit()
    before = Calendar.from_ical(app.test_client().get(_feed_path(me)).get_data())
    assert len(before.walk("VEVENT")) == 3
    response = post(client, case, "job-offers", GOOD_OFFER)
    assert response.status_code == 302
    after = Calendar.from_ical(app.test_client().get(_feed_path(me)).get_data())
    assert {str(e["SUMMARY"]).split(":")[0] for e in after.walk("VEVENT")} == {
        "Stay ends", "Extension window opens"}


@pytest.mark.parametrize("who", ["deactivated", "admin", "too-long", "empty-calendar"])
def test_who_a_feed_address_serves(app, db, make_user, who):
    user = make_user(Role.ADMIN if who == "admin" else Role.CASEWORKER)
    token = calendar.reset_token(user)
    if who == "deactivated":
        user.active = False
    db.session.commit()
    if who == "too-long":
        token = "x" * 65
    response = app.test_client().get(f"/cases/calendar/{token}.ics")
    if who == "empty-calendar":
        assert response.status_code == 200
        assert Calendar.from_ical(response.get_data()).walk("VEVENT") == []
    else:
        assert response.status_code == 404
