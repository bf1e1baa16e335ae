"""The dates of a case's steps, as the caseworker gives them: the rules every step's date
obeys, and what a correction of one recomputes (the stay end, the deadlines and their
reminders, the quota year)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from backoffice.cases import deadline_sweep, services, stay
from backoffice.cases.corrections import VISA_VALIDITY
from backoffice.cases.events import describe_event
from backoffice.cases.models import CaseEvent, DeadlineKind, DeadlineState, EventKind
from backoffice.cases.schemes import CaseStatus, Scheme
from backoffice.extensions import db as _db
from backoffice.notifications import services as notifications
from backoffice.notifications.models import Reminder, ReminderState
from backoffice.quota.models import QuotaAllocation, QuotaPeriod
from tests.cases.factories import (
    correct_step_date,
    hk_morning,
    make_case,
    receive_documents,
    step_data,
)

S = CaseStatus
TODAY = date(2026, 3, 16)
SUBMITTED = date(2026, 1, 5)


def take(case, actor, name: str, on: date, today: date = TODAY, **data):
    """Take ``name`` dated ``on``, on ``today``."""
    values = step_data(name, on).__dict__ | data
    return services.transition(case, name, actor, reason="A reason.", now=hk_morning(today),
                               data=services.StepData(**values))


def walked(actor, scheme: Scheme, *steps: tuple[str, date], submitted: date = SUBMITTED):
    case = make_case(actor, scheme, submitted_on=submitted, today=submitted)
    receive_documents(actor, case, submitted)  # the application came with its documents
    for name, on in steps:
        take(case, actor, name, on)
    _db.session.commit()
    return case


# --- The rules of a step's date -------------------------------------------------------------

@pytest.mark.parametrize(("steps", "step", "on", "refusal"), [
    ((), "withdraw", TODAY + timedelta(days=1), "is in the future"),
    ((), "withdraw", SUBMITTED - timedelta(days=1), "is before the submission date"),
    ((("submit", SUBMITTED),), "start_review", SUBMITTED - timedelta(days=1),
     "is before the step it follows: the case became “Submitted” on 5 Jan 2026"),
    ((("submit", SUBMITTED), ("start_review", date(2026, 2, 1))), "refuse", date(2026, 1, 31),
     "is before the step it follows: the case became “Under review” on 1 Feb 2026"),
    ((("submit", SUBMITTED), ("start_review", date(2026, 2, 1)), ("approve", date(2026, 2, 10))),
     "issue_visa", date(2026, 2, 9), "before the step it follows"),
    ((("submit", SUBMITTED), ("start_review", date(2026, 2, 1)), ("approve", date(2026, 2, 10)),
      ("issue_visa", date(2026, 2, 20))), "record_arrival", date(2026, 2, 19),
     "is before the visa was issued"),
], ids=["future", "draft-before-submission", "before-submission", "before-review",
        "visa-before-approval", "arrival-before-visa"])
def test_a_step_dated_in_the_future_or_before_what_it_follows_is_refused(
        db, caseworker, steps, step, on, refusal):
    case = walked(caseworker, Scheme.GEP_ENT, *steps)
    status, version = case.status, case.version
    with pytest.raises(services.CaseError, match=refusal):
        take(case, caseworker, step, on)
    db.session.rollback()
    db.session.refresh(case)
    assert (case.status, case.version) == (status, version)


@pytest.mark.parametrize("gap", [0, 1, 30], ids=["same-day", "next-day", "a-month-later"])
def test_a_step_may_be_dated_any_day_from_the_previous_step_to_today(db, caseworker, gap):
    reviewed = TODAY - timedelta(days=gap)
    case = walked(caseworker, Scheme.ASSG, ("submit", SUBMITTED),
                  ("start_review", SUBMITTED + timedelta(days=2)))
    take(case, caseworker, "refuse", max(reviewed, SUBMITTED + timedelta(days=2)))
    assert case.status == S.REFUSED
    assert case.status_since == max(reviewed, SUBMITTED + timedelta(days=2))


def test_every_step_records_the_date_it_happened_beside_when_it_was_recorded(db, caseworker):
    case = walked(caseworker, Scheme.GEP_PRO, ("submit", SUBMITTED),
                  ("start_review", date(2026, 1, 20)), ("approve", date(2026, 2, 2)),
                  ("issue_visa", date(2026, 2, 16)))
    rows = db.session.execute(select(CaseEvent.transition, CaseEvent.occurred_on).where(
        CaseEvent.case_id == case.id, CaseEvent.kind == EventKind.TRANSITION)
        .order_by(CaseEvent.id)).all()
    assert rows == [("submit", SUBMITTED), ("start_review", date(2026, 1, 20)),
                    ("approve", date(2026, 2, 2)), ("issue_visa", date(2026, 2, 16))]
    assert (case.approved_on, case.visa_issued_on, case.status_since) == (
        date(2026, 2, 2), date(2026, 2, 16), date(2026, 2, 16))


@pytest.mark.parametrize(("number", "valid_until", "refusal"), [
    (None, date(2026, 6, 1), "Enter the visa or entry permit number."),
    ("V1", None, "Enter the last day the visa allows entry"),
    ("V1", date(2026, 2, 1), "is before the day it was issued"),
    ("X" * 31, date(2026, 6, 1), "at most 30 characters"),
], ids=["no-number", "no-validity", "validity-before-issue", "number-too-long"])
def test_a_visa_needs_its_number_and_validity(db, caseworker, number, valid_until, refusal):
    case = walked(caseworker, Scheme.GEP_PRO, ("submit", SUBMITTED),
                  ("start_review", SUBMITTED), ("approve", date(2026, 2, 1)))
    with pytest.raises(services.CaseError, match=refusal):
        take(case, caseworker, "issue_visa", date(2026, 2, 10), visa_number=number,
             visa_valid_until=valid_until)


def test_the_visa_opens_an_entry_deadline_that_the_arrival_meets_and_bounds(db, caseworker):
    case = walked(caseworker, Scheme.GEP_PRO, ("submit", SUBMITTED),
                  ("start_review", SUBMITTED), ("approve", date(2026, 2, 1)))
    take(case, caseworker, "issue_visa", date(2026, 2, 10), visa_number="V1",
         visa_valid_until=date(2026, 3, 10))
    assert [(d.kind, d.due_on) for d in case.open_deadlines] == [
        (DeadlineKind.ENTRY, date(2026, 3, 10))]
    with pytest.raises(services.CaseError, match="after the last day the visa allowed entry"):
        take(case, caseworker, "record_arrival", date(2026, 3, 11))
    take(case, caseworker, "record_arrival", date(2026, 3, 10))
    entry = [d for d in case.deadlines if d.kind == DeadlineKind.ENTRY]
    assert [d.state for d in entry] == [DeadlineState.MET]


# --- Corrections and what they recompute --------------------------------------------------------

def arrived(actor, scheme=Scheme.GEP_PRO, on=date(2026, 3, 1)):
    return walked(actor, scheme, ("submit", SUBMITTED), ("start_review", SUBMITTED),
                  ("approve", date(2026, 2, 1)), ("issue_visa", date(2026, 2, 10)),
                  ("record_arrival", on))


def test_correcting_the_arrival_moves_the_stay_end_and_its_deadlines(db, caseworker):
    case = arrived(caseworker)
    old_end = case.stay_ends_on
    correct_step_date(caseworker, case, "record_arrival", date(2026, 2, 25),
                      "The entry stamp says 25 February.")
    assert (case.arrived_on, case.stay_ends_on) == (date(2026, 2, 25), date(2028, 2, 25))
    assert old_end == date(2028, 3, 1)
    open_ = {d.kind: d.due_on for d in case.open_deadlines}
    assert open_[DeadlineKind.STAY_END] == date(2028, 2, 25)
    event = db.session.scalar(select(CaseEvent).where(CaseEvent.kind == EventKind.EDITED)
                              .order_by(CaseEvent.id.desc()).limit(1))
    assert event.reason == "The entry stamp says 25 February."
    assert [p["key"] for p in event.detail_data["parts"]] == ["date_corrected",
                                                              "stay_end_moved"]
    assert event.detail_data["parts"][0] | {} == {
        "key": "date_corrected", "step": "record_arrival", "from": "2026-03-01",
        "to": "2026-02-25"}
    described = describe_event(event)
    assert "Date of “Record arrival” corrected from 1 Mar 2026 to 25 Feb 2026" in described
    assert "The stay now ends on 25 Feb 2028 (was 1 Mar 2028)" in described


def test_a_correction_cancels_the_old_deadlines_reminders(db, caseworker):
    submitted = date(2024, 1, 5)
    case = walked(caseworker, Scheme.GEP_PRO, ("submit", submitted),
                  ("start_review", submitted), ("approve", date(2024, 2, 1)),
                  ("issue_visa", date(2024, 2, 10)), ("record_arrival", date(2024, 3, 20)),
                  submitted=submitted)
    # The stay ends on 20 March 2026, four days after TODAY: reminders are due.
    notifications.plan_reminders(TODAY, hk_morning(TODAY))
    db.session.commit()
    before = set(db.session.scalars(select(Reminder.id).where(
        Reminder.state == ReminderState.PENDING)))
    assert before
    correct_step_date(caseworker, case, "record_arrival", date(2024, 3, 10),
                      "Entered ten days earlier.")
    db.session.commit()
    states = {db.session.get(Reminder, rid).state for rid in before}
    assert states == {ReminderState.CANCELLED}


@pytest.mark.parametrize(("key", "new", "refusal"), [
    ("start_review", date(2026, 1, 4), "cannot be before 5 Jan 2026"),
    ("approve", date(2026, 2, 11), "cannot be after 10 Feb 2026"),
    ("record_arrival", TODAY + timedelta(days=1), "cannot be in the future"),
    ("record_arrival", date(2026, 3, 1), "is already 1 Mar 2026"),
    (VISA_VALIDITY, date(2026, 6, 1), "cannot be corrected on this case"),
], ids=["before-previous", "after-next", "future", "unchanged", "validity-after-arrival"])
def test_a_correction_outside_the_steps_bounds_is_refused(db, caseworker, key, new, refusal):
    case = arrived(caseworker)
    version = case.version
    with pytest.raises(services.CaseError, match=refusal):
        if key == VISA_VALIDITY:
            services.correct_date(caseworker, case, key, new, "Why.", case.version, TODAY)
        else:
            correct_step_date(caseworker, case, key, new, "Why.")
    db.session.rollback()
    db.session.refresh(case)
    assert case.version == version


def test_the_visas_validity_end_is_corrected_and_moves_the_entry_deadline(db, caseworker):
    case = walked(caseworker, Scheme.ASSG, ("submit", SUBMITTED), ("start_review", SUBMITTED),
                  ("approve", date(2026, 2, 1)), ("issue_visa", date(2026, 2, 10)))
    services.correct_date(caseworker, case, VISA_VALIDITY, date(2026, 8, 10),
                          "The permit allows six months.", case.version, TODAY)
    assert case.visa_valid_until == date(2026, 8, 10)
    assert [(d.kind, d.due_on) for d in case.open_deadlines] == [
        (DeadlineKind.ENTRY, date(2026, 8, 10))]
    with pytest.raises(services.CaseError, match="cannot be before 10 Feb 2026"):
        services.correct_date(caseworker, case, VISA_VALIDITY, date(2026, 2, 9), "Why.",
                              case.version, TODAY)


def test_a_correction_needs_a_reason(db, caseworker):
    case = arrived(caseworker)
    with pytest.raises(services.CaseError, match="Give a reason for the correction"):
        correct_step_date(caseworker, case, "record_arrival", date(2026, 2, 28), "  ")


# --- The quota year of an approval ------------------------------------------------------------

def active_place(case_id: int) -> tuple[int, date]:
    return tuple(_db.session.execute(
        select(QuotaPeriod.year, QuotaAllocation.allocated_on).join(QuotaPeriod)
        .where(QuotaAllocation.case_id == case_id, QuotaAllocation.released_at.is_(None))
    ).one())


def allocated(year: int) -> int:
    return _db.session.scalar(select(QuotaPeriod.allocated).where(QuotaPeriod.year == year))


def test_an_approval_date_moved_within_its_year_keeps_its_place(db, caseworker):
    case = walked(caseworker, Scheme.QMAS, ("submit", SUBMITTED), ("start_review", SUBMITTED),
                  ("approve", date(2026, 2, 1)))
    correct_step_date(caseworker, case, "approve", date(2026, 1, 20), "Signed on the 20th.")
    assert (case.approved_on, active_place(case.id)) == (date(2026, 1, 20),
                                                         (2026, date(2026, 1, 20)))
    assert allocated(2026) == 1


def test_an_approval_date_moved_into_another_year_moves_its_place(db, caseworker):
    submitted = date(2025, 12, 1)
    case = walked(caseworker, Scheme.QMAS, ("submit", submitted), ("start_review", submitted),
                  ("approve", date(2026, 1, 3)), submitted=submitted)
    assert (allocated(2025), allocated(2026)) == (0, 1)
    correct_step_date(caseworker, case, "approve", date(2025, 12, 30),
                      "Decided before the new year.")
    assert active_place(case.id) == (2025, date(2025, 12, 30))
    assert (allocated(2025), allocated(2026)) == (1, 0)
    event = db.session.scalar(select(CaseEvent).where(CaseEvent.kind == EventKind.EDITED)
                              .order_by(CaseEvent.id.desc()).limit(1))
    assert "The QMAS quota place moved from 2026 to 2025." in \
        describe_event(event)


def test_an_approval_date_cannot_move_into_a_full_year(db, caseworker):
    submitted = date(2025, 12, 1)
    case = walked(caseworker, Scheme.QMAS, ("submit", submitted), ("start_review", submitted),
                  ("approve", date(2026, 1, 3)), submitted=submitted)
    full = db.session.scalar(select(QuotaPeriod).where(QuotaPeriod.year == 2025))
    full.quota_limit = 0
    db.session.commit()
    with pytest.raises(services.CaseError, match="The approval date cannot move to 30 Dec 2025: "
                       "The QMAS quota for 2025 is full"):
        correct_step_date(caseworker, case, "approve", date(2025, 12, 30), "Why.")
    db.session.rollback()
    assert active_place(case.id) == (2026, date(2026, 1, 3))
    assert (allocated(2025), allocated(2026)) == (0, 1)


def test_an_arrival_on_time_recorded_after_the_sweep_marked_entry_missed_meets_it(
        db, caseworker):
    """The sweep saw no arrival by the visa's last day and marked entry missed; the arrival,
    recorded late, was on that last day: the deadline was met after all, not escalated work."""
    case = walked(caseworker, Scheme.GEP_PRO, ("submit", SUBMITTED),
                  ("start_review", SUBMITTED), ("approve", date(2026, 2, 1)))
    take(case, caseworker, "issue_visa", date(2026, 2, 10), visa_number="V1",
         visa_valid_until=date(2026, 3, 12))
    deadline_sweep.sweep(date(2026, 3, 14), hk_morning(date(2026, 3, 14)))
    db.session.commit()
    db.session.refresh(case)
    assert [d.state for d in case.deadlines] == [DeadlineState.MISSED]
    take(case, caseworker, "record_arrival", date(2026, 3, 12), today=date(2026, 3, 15))
    entry = [d for d in case.deadlines if d.kind == DeadlineKind.ENTRY]
    assert [d.state for d in entry] == [DeadlineState.MET]


def test_a_job_offers_date_is_corrected_within_its_bounds(db, caseworker):
    case = arrived(caseworker)
    offer = services.record_job_offer(caseworker, case, stay.JobOfferData(
        employer="Harbour Ltd", post="Engineer", salary=Decimal("50000"),
        start_date=date(2026, 4, 1), offered_on=date(2026, 3, 10)), case.version)
    db.session.commit()
    key = f"job_offer:{offer.id}"
    with pytest.raises(services.CaseError, match="cannot be before 5 Jan 2026"):
        services.correct_date(caseworker, case, key, date(2026, 1, 1), "Why.", case.version,
                              TODAY)
    event = services.correct_date(caseworker, case, key, date(2026, 3, 8), "Letter dated 8th.",
                                  case.version, TODAY)
    assert offer.offered_on == date(2026, 3, 8)
    assert describe_event(event) == ("Date of the job offer (Engineer at Harbour Ltd) corrected "
                                     "from 10 Mar 2026 to 8 Mar 2026.")
