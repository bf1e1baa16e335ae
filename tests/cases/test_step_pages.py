"""A step's own page: its questions (the date it happened and what the step needs), the
answers checked with their consequences in words, the button named after the step; and the
case page's dated steps and date corrections."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
from bs4 import BeautifulSoup
from sqlalchemy import select

from backoffice.auth.models import Role
from backoffice.cases import services, stay
from backoffice.cases.models import (
    Case,
    CaseEvent,
    DeadlineKind,
    DeadlineState,
    EventKind,
    Relationship,
)
from backoffice.cases.schemes import CaseStatus, Scheme
from backoffice.core.dates import HK_TZ, hk_today
from backoffice.extensions import db
from backoffice.quota.models import QuotaAllocation, QuotaPeriod
from tests.cases.factories import dependant_data, make_case, receive_documents, step_data

S = CaseStatus


def soup(response) -> BeautifulSoup:
    return BeautifulSoup(response.get_data(as_text=True), "html.parser")


def text(response) -> str:
    return " ".join(soup(response).get_text(" ").split())


@pytest.fixture
def me(as_role):
    return as_role(Role.CASEWORKER)


def walk(case: Case, actor, *steps: tuple[str, date]) -> Case:
    """Take ``steps`` (name, date) through the service, as a caseworker would have."""
    for name, on in steps:
        if name == "approve":
            receive_documents(actor, case, on)
        services.transition(case, name, actor, reason="A reason.", data=step_data(name, on))
    db.session.commit()
    return case


def post_step(client, case: Case, name: str, data: dict, **kwargs):
    return client.post_form(f"/cases/{case.id}/step/{name}", {"version": case.version} | data,
                            token_from=f"/cases/{case.id}", **kwargs)


def today() -> date:
    return hk_today()


# --- Which steps have a page, and how the case page offers them -----------------------------

@pytest.mark.parametrize(("status", "links", "inline", "ending"), [
    (S.DRAFT, [], ["submit"], ["withdraw"]),
    (S.SUBMITTED, [], ["start_review"], ["refuse", "withdraw"]),
    (S.UNDER_REVIEW, ["approve"], ["hold_for_quota"], ["refuse", "withdraw"]),
    (S.APPROVED, ["issue_visa"], [], ["withdraw", "lapse"]),
    (S.VISA_ISSUED, ["record_arrival"], [], ["withdraw", "lapse"]),
], ids=lambda v: getattr(v, "value", None))
def test_the_case_page_links_irreversible_steps_to_their_page_and_sets_ending_ones_apart(
        client, me, db, status, links, inline, ending):
    case = make_case(me, Scheme.QMAS, status, today=today() - timedelta(days=30),
                     now=_now_days_ago(20), submitted_on=today() - timedelta(days=30))
    page = soup(client.get(f"/cases/{case.id}"))
    actions = page.find(id="actions-heading").find_parent("section")
    linked = [a["href"].rsplit("/", 1)[-1] for a in actions.select("a.btn")]
    posted = [f["action"].rsplit("/", 1)[-1] for f in actions.select("form.step-inline")]
    apart = actions.select_one(".steps-destructive")
    assert [n for n in linked if n not in ending] == links
    assert posted == inline
    assert [a["href"].rsplit("/", 1)[-1] for a in apart.select("a.btn")] == ending
    assert all("btn-outline-danger" in a["class"] for a in apart.select("a.btn"))


def _now_days_ago(days: int) -> datetime:
    """10:00 in Hong Kong ``days`` days ago: make_case stamps its steps then."""
    return datetime.combine(today() - timedelta(days=days), time(10),
                            tzinfo=HK_TZ).astimezone(UTC)


# --- Approve: the quota place in words, then confirmed -------------------------------------

def test_approve_shows_the_quota_place_it_takes_and_approves_on_the_date_given(client, me, db):
    case = make_case(me, Scheme.QMAS, S.UNDER_REVIEW, today=today() - timedelta(days=30),
                     now=_now_days_ago(20), submitted_on=today() - timedelta(days=30))
    period = db.session.scalar(select(QuotaPeriod).where(QuotaPeriod.year == today().year))
    period.quota_limit, period.allocated = 10, 7
    db.session.commit()
    decided = today() - timedelta(days=2)

    form_page = client.get(f"/cases/{case.id}/step/approve")
    assert form_page.status_code == 200
    assert soup(form_page).find(id="on")["value"] == today().isoformat()

    check = post_step(client, case, "approve", {"on": decided.isoformat()})
    assert check.status_code == 200
    said = text(check)
    assert f"This takes one of the 3 remaining QMAS places for {today().year}." in said
    assert soup(check).find(id="confirm-step").get_text() == "Approve"
    db.session.refresh(case)
    assert case.status == S.UNDER_REVIEW, "nothing changes before the confirmation"

    done = post_step(client, case, "approve", {"on": decided.isoformat(), "confirmed": "1"})
    assert done.status_code == 302
    db.session.refresh(case)
    assert (case.status, case.approved_on, case.status_since) == (S.APPROVED, decided, decided)
    event = db.session.scalar(select(CaseEvent).where(CaseEvent.case_id == case.id)
                              .order_by(CaseEvent.id.desc()).limit(1))
    assert event.occurred_on == decided


def test_change_your_answers_goes_back_to_the_questions_as_answered(client, me, db):
    case = make_case(me, Scheme.GEP_PRO, S.SUBMITTED, today=today() - timedelta(days=30),
                     now=_now_days_ago(20), submitted_on=today() - timedelta(days=30))
    back = post_step(client, case, "refuse", {"on": (today() - timedelta(days=1)).isoformat(),
                                              "reason": "Salary below the market level.",
                                              "change": "1"})
    assert back.status_code == 200
    page = soup(back)
    assert page.find(id="on")["value"] == (today() - timedelta(days=1)).isoformat()
    assert page.find(id="reason").get_text().strip() == "Salary below the market level."
    assert page.find(id="continue-step") is not None


@pytest.mark.parametrize(("data", "message"), [
    ({"on": "", "reason": "Why."}, "Enter the date as YYYY-MM-DD."),
    ({"on": "2026-13-40", "reason": "Why."}, "Not a valid date value."),
    ({"reason": "   "}, "Give a reason to refuse this case"),
    ({"on": "FUTURE", "reason": "Why."}, "is in the future"),
    ({"on": "BEFORE", "reason": "Why."}, "is before the step it follows"),
], ids=["no-date", "not-a-date", "no-reason", "future", "before-previous-step"])
def test_a_refusal_with_bad_answers_is_explained_on_its_page_and_changes_nothing(
        client, me, db, data, message):
    submitted = today() - timedelta(days=30)
    case = make_case(me, Scheme.GEP_PRO, submitted_on=submitted, today=submitted)
    walk(case, me, ("submit", submitted), ("start_review", today() - timedelta(days=10)))
    data = dict(data)
    data.setdefault("on", today().isoformat())
    data["on"] = {"FUTURE": (today() + timedelta(days=1)).isoformat(),
                  "BEFORE": (today() - timedelta(days=11)).isoformat()}.get(data["on"],
                                                                           data["on"])
    version = case.version

    for confirmed in ("", "1"):
        response = post_step(client, case, "refuse", data | {"confirmed": confirmed})
        assert response.status_code == 422
        assert message in text(response)
        assert soup(response).find("h1").get_text().strip() == "Refuse"
    db.session.refresh(case)
    assert (case.status, case.version) == (S.UNDER_REVIEW, version)


def test_refuse_states_that_the_case_ends_and_the_button_is_named_after_it(client, me, db):
    case = make_case(me, Scheme.QMAS, S.SUBMITTED, today=today() - timedelta(days=30),
                     now=_now_days_ago(20), submitted_on=today() - timedelta(days=30))
    check = post_step(client, case, "refuse", {"on": today().isoformat(),
                                               "reason": "Points below the pass mark."})
    assert "The case ends as “Refused”" in text(check)
    assert "This cannot be undone." in text(check)
    button = soup(check).find(id="confirm-step")
    assert (button.get_text(), "btn-danger" in button["class"]) == ("Refuse", True)


def test_withdrawing_an_approved_case_says_it_gives_back_its_quota_place(client, me, db):
    case = make_case(me, Scheme.QMAS, S.APPROVED, today=today() - timedelta(days=30),
                     now=_now_days_ago(5), submitted_on=today() - timedelta(days=30))
    check = post_step(client, case, "withdraw", {"on": today().isoformat(),
                                                 "reason": "Took a job elsewhere."})
    said = text(check)
    assert f"This gives back the case's QMAS place for {case.approved_on.year}" in said
    done = post_step(client, case, "withdraw", {"on": today().isoformat(), "confirmed": "1",
                                                "reason": "Took a job elsewhere."})
    assert done.status_code == 302
    assert db.session.scalar(select(QuotaAllocation.released_at)
                             .where(QuotaAllocation.case_id == case.id)) is not None


def test_a_confirmation_from_a_page_rendered_before_another_change_is_refused(client, me, db):
    case = make_case(me, Scheme.GEP_ENT, S.UNDER_REVIEW, today=today() - timedelta(days=30),
                     now=_now_days_ago(20), submitted_on=today() - timedelta(days=30))
    old_version = case.version
    services.add_dependant(me, case, Relationship.CHILD, dependant_data(), False, case.version)
    db.session.commit()
    response = client.post_form(f"/cases/{case.id}/step/approve",
                                {"version": old_version, "on": today().isoformat(),
                                 "confirmed": "1"}, token_from=f"/cases/{case.id}")
    assert response.status_code == 422
    assert "changed by someone else" in text(response)
    db.session.refresh(case)
    assert case.status == S.UNDER_REVIEW


def test_the_page_of_a_step_that_cannot_be_taken_now_goes_back_to_the_case_with_why(
        client, me, db):
    case = make_case(me, Scheme.QMAS, S.IN_STAY, today=today() - timedelta(days=40),
                     now=_now_days_ago(10), submitted_on=today() - timedelta(days=40))
    response = client.get(f"/cases/{case.id}/step/request_extension", follow_redirects=True)
    assert "The extension window opens on" in text(response)
    assert client.get(f"/cases/{case.id}/step/fly_to_moon").status_code == 404


# --- Dates recorded after the fact ----------------------------------------------------------

def test_a_case_recorded_after_the_fact_keeps_the_real_dates(client, me, db):
    """Visa issued three weeks ago, arrival two weeks ago: both on record as they were, and
    the stay runs from the real arrival."""
    submitted = today() - timedelta(days=90)
    case = make_case(me, Scheme.GEP_ENT, submitted_on=submitted, today=submitted)
    walk(case, me, ("submit", submitted), ("start_review", submitted + timedelta(days=5)),
         ("approve", today() - timedelta(days=30)))
    issued, arrived = today() - timedelta(days=21), today() - timedelta(days=14)

    missing = post_step(client, case, "issue_visa", {"on": issued.isoformat()})
    assert missing.status_code == 422
    assert "Enter the visa or entry permit number." in text(missing)
    visa = post_step(client, case, "issue_visa", {
        "on": issued.isoformat(), "visa_number": "ID1234567",
        "visa_valid_until": (issued + timedelta(days=90)).isoformat()})
    assert visa.status_code == 302
    db.session.refresh(case)
    assert (case.visa_issued_on, case.visa_number) == (issued, "ID1234567")
    assert [(d.kind, d.due_on) for d in case.open_deadlines] == [
        (DeadlineKind.ENTRY, issued + timedelta(days=90))]

    check = post_step(client, case, "record_arrival", {"on": arrived.isoformat()})
    ends = date(arrived.year + 2, arrived.month, arrived.day)
    assert f"The applicant's stay will run from {arrived:%-d %b %Y} to {ends:%-d %b %Y}" in \
        text(check)
    done = post_step(client, case, "record_arrival", {"on": arrived.isoformat(),
                                                      "confirmed": "1"})
    assert done.status_code == 302
    db.session.refresh(case)
    assert (case.arrived_on, case.stay_ends_on) == (arrived, ends)
    entry = [d for d in case.deadlines if d.kind == DeadlineKind.ENTRY]
    assert [d.state for d in entry] == [DeadlineState.MET]
    page = text(client.get(f"/cases/{case.id}"))
    assert f"On {arrived:%-d %b %Y}" in page


def test_an_inline_step_takes_its_date_from_the_case_page(client, me, db):
    submitted = today() - timedelta(days=20)
    case = make_case(me, Scheme.ASSG, S.SUBMITTED, submitted_on=submitted, today=submitted,
                     now=_now_days_ago(20))
    bad = post_step(client, case, "start_review", {"on": (today() + timedelta(days=3))
                                                   .isoformat()})
    assert bad.status_code == 422
    assert "is in the future" in soup(bad).find(id="case-error").get_text()
    started = today() - timedelta(days=4)
    good = post_step(client, case, "start_review", {"on": started.isoformat()})
    assert good.status_code == 302
    db.session.refresh(case)
    assert (case.status, case.status_since) == (S.UNDER_REVIEW, started)


# --- Extensions: what was asked, what is granted ----------------------------------------------

def _in_extension_window(me, db, scheme=Scheme.GEP_PRO) -> Case:
    """A case whose 24-month stay ends in 10 days: its extension window is open."""
    arrived = today() + timedelta(days=10)
    arrived = date(arrived.year - 2, arrived.month, min(arrived.day, 28))
    submitted = arrived - timedelta(days=120)
    case = make_case(me, scheme, submitted_on=submitted, today=submitted)
    walk(case, me, ("submit", submitted), ("start_review", submitted + timedelta(days=3)),
         ("approve", submitted + timedelta(days=30)),
         ("issue_visa", submitted + timedelta(days=40)), ("record_arrival", arrived))
    return case


def test_an_extension_request_records_the_length_and_grounds(client, me, db):
    case = _in_extension_window(me, db)
    page = soup(client.get(f"/cases/{case.id}/step/request_extension"))
    assert page.find(id="months")["value"] == "24"
    missing = post_step(client, case, "request_extension", {"on": today().isoformat(),
                                                            "months": "12"})
    assert missing.status_code == 422
    assert "Give the grounds of the request." in text(missing)
    asked = post_step(client, case, "request_extension", {
        "on": today().isoformat(), "months": "12", "grounds": "Still employed; new project."})
    assert asked.status_code == 302
    db.session.refresh(case)
    assert (case.status, case.extension_months_requested, case.extension_grounds) == (
        S.EXTENSION_REQUESTED, 12, "Still employed; new project.")


@pytest.mark.parametrize(("months", "outcome"), [
    ("24", 24), ("6", 6), ("25", "between 1 and 24 months"), ("0", "Number must be between"),
], ids=["policy-length", "shorter", "longer", "zero"])
def test_the_grant_shows_the_new_stay_end_and_may_be_shorter(client, me, db, months, outcome):
    case = _in_extension_window(me, db)
    walk(case, me, ("request_extension", today()))
    was = case.stay_ends_on
    page = soup(client.get(f"/cases/{case.id}/step/grant_extension"))
    assert page.find(id="months")["value"] == "24"
    check = post_step(client, case, "grant_extension", {"on": today().isoformat(),
                                                        "months": months})
    if isinstance(outcome, str):
        assert check.status_code == 422
        assert outcome in text(check)
        return
    new_end = stay.extended_end(case, outcome)
    assert f"The stay will end on {new_end:%-d %b %Y} instead of {was:%-d %b %Y}" in text(check)
    done = post_step(client, case, "grant_extension", {"on": today().isoformat(),
                                                       "months": months, "confirmed": "1"})
    assert done.status_code == 302
    db.session.refresh(case)
    assert (case.status, case.stay_ends_on, case.extension_months_total) == (
        S.EXTENDED, new_end, outcome)


# --- Correcting a date --------------------------------------------------------------------------

def test_correcting_the_arrival_moves_the_stay_end_and_is_in_the_history(client, me, db):
    case = _in_extension_window(me, db, Scheme.ASSG)
    arrival = db.session.scalar(select(CaseEvent).where(
        CaseEvent.case_id == case.id, CaseEvent.transition == "record_arrival"))
    earlier = case.arrived_on - timedelta(days=3)
    response = client.post_form(f"/cases/{case.id}/dates", {
        "version": case.version, "which": str(arrival.id), "corrected": earlier.isoformat(),
        "reason": "The passport stamp shows an earlier entry."}, token_from=f"/cases/{case.id}")
    assert response.status_code == 302
    db.session.refresh(case)
    assert case.arrived_on == earlier
    assert case.stay_ends_on == date(earlier.year + 2, earlier.month, earlier.day)
    history = text(client.get(f"/cases/{case.id}"))
    assert (f"Date of “Record arrival” corrected from {earlier + timedelta(days=3):%-d %b %Y} "
            f"to {earlier:%-d %b %Y}") in history
    assert "The passport stamp shows an earlier entry." in history


@pytest.mark.parametrize(("data", "message"), [
    ({"reason": ""}, "Give a reason for the correction."),
    ({"corrected": ""}, "Enter the corrected date as YYYY-MM-DD."),
    ({"which": "999999"}, "Not a valid choice"),
    ({"corrected": "TOMORROW"}, "cannot be in the future"),
], ids=["no-reason", "no-date", "unknown-date", "future"])
def test_a_bad_correction_is_refused_on_the_case_page_and_changes_nothing(
        client, me, db, data, message):
    case = make_case(me, Scheme.GEP_PRO, S.UNDER_REVIEW, today=today() - timedelta(days=30),
                     now=_now_days_ago(3), submitted_on=today() - timedelta(days=30))
    review = db.session.scalar(select(CaseEvent).where(
        CaseEvent.case_id == case.id, CaseEvent.transition == "start_review"))
    values = {"version": case.version, "which": str(review.id),
              "corrected": (today() - timedelta(days=5)).isoformat(), "reason": "Typo."} | data
    if values["corrected"] == "TOMORROW":
        values["corrected"] = (today() + timedelta(days=1)).isoformat()
    version = case.version
    response = client.post_form(f"/cases/{case.id}/dates", values,
                                token_from=f"/cases/{case.id}")
    assert response.status_code == 422
    assert message in text(response)
    db.session.refresh(case)
    assert case.version == version
    assert db.session.scalar(select(CaseEvent.id).where(
        CaseEvent.case_id == case.id, CaseEvent.kind == EventKind.EDITED)) is None


@pytest.mark.parametrize(("setup", "message"), [
    ("not-mine", "Only the caseworker assigned to this case or a supervisor can change it."),
    ("ended", "This case was withdrawn; it can no longer be changed."),
    ("wrong-status", "“Approve” is not possible for a case with the status “Submitted”."),
], ids=lambda v: v if isinstance(v, str) and len(v) < 15 else None)
def test_a_step_page_the_user_cannot_use_goes_back_to_the_case_with_why(
        client, me, make_user, db, setup, message):
    owner = make_user(Role.CASEWORKER) if setup == "not-mine" else me
    status = {"ended": S.WITHDRAWN, "wrong-status": S.SUBMITTED}.get(setup, S.UNDER_REVIEW)
    case = make_case(owner, Scheme.GEP_ENT, status, today=today() - timedelta(days=30),
                     now=_now_days_ago(20), submitted_on=today() - timedelta(days=30))
    response = client.get(f"/cases/{case.id}/step/approve")
    assert response.status_code == 302
    assert response.headers["Location"] == f"/cases/{case.id}"
    assert message in text(client.get(f"/cases/{case.id}"))
