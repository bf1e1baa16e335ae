"""The stay and its deadlines (DESIGN §2 "Stay and deadlines", "Dependants").

Pure date rules first (no database), then the services on both backends: arrival, the
extension window, job offers, extensions, corrections, the periodic sweep and the deadline
views. Every date is fixed: ``now=`` / ``today=`` are passed wherever the code accepts them.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select, update

from backoffice.cases import deadline_sweep, schemes, services, stay
from backoffice.cases.events import describe_event
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
from backoffice.cases.schemes import CaseStatus, Scheme, policy_for, register
from backoffice.cases.services import CaseError
from backoffice.core.dates import HK_TZ
from backoffice.core.i18n import format_date
from tests.cases.factories import (
    FACTORY_GROUNDS,
    NOW,
    TODAY,
    correct_step_date,
    dependant_data,
    make_case,
)

S = CaseStatus
K = DeadlineKind
ST = DeadlineState
OFFER = stay.JobOfferData(employer="Harbour Analytics Ltd", post="Data engineer",
                          salary=Decimal("60000"), start_date=date(2026, 6, 1))


# --- helpers ------------------------------------------------------------------------------------


def hk_morning(day: date) -> datetime:
    """10:00 in Hong Kong on ``day``, as the UTC instant the services stamp."""
    return datetime.combine(day, time(10), tzinfo=HK_TZ).astimezone(UTC)


def visa_case(actor, scheme: Scheme = Scheme.QMAS, on: date = TODAY, **overrides) -> Case:
    """A case whose visa was issued on ``on`` (committed)."""
    return make_case(actor, scheme, S.VISA_ISSUED, now=hk_morning(on), **overrides)


def arrive(case: Case, actor, on: date, today: date | None = None) -> CaseEvent:
    return services.transition(case, "record_arrival", actor, on=on,
                               expected_version=case.version, now=hk_morning(today or on))


def request_extension(case: Case, actor, on: date, **data) -> CaseEvent:
    """Request an extension on ``on`` (also the day it is recorded), with the factory's
    grounds unless ``data`` says otherwise (``months=``, ``grounds=``, ``job_offer_id=``)."""
    data = {"grounds": FACTORY_GROUNDS} | data
    return services.transition(case, "request_extension", actor, now=hk_morning(on),
                               data=services.StepData(on=on, **data))


def stay_case(actor, scheme: Scheme = Scheme.QMAS, arrived_on: date = TODAY,
              **overrides) -> Case:
    """A case in stay since ``arrived_on`` (visa issued the same day), committed."""
    case = visa_case(actor, scheme, arrived_on, **overrides)
    arrive(case, actor, arrived_on)
    dbs().commit()
    return case


def deadlines(case: Case) -> dict[DeadlineKind, date]:
    """The case's open deadlines, kind → due date, read from the database."""
    rows = list(dbs().scalars(select(Deadline).where(Deadline.case_id == case.id,
                                                     Deadline.state == ST.OPEN)))
    return {d.kind: d.due_on for d in rows}


def states(case: Case) -> dict[DeadlineKind, list[DeadlineState]]:
    """Every deadline row of the case: kind → states, oldest first."""
    result: dict[DeadlineKind, list[DeadlineState]] = {}
    for d in dbs().scalars(select(Deadline).where(Deadline.case_id == case.id)
                           .order_by(Deadline.id)):
        result.setdefault(d.kind, []).append(d.state)
    return result


def dbs():
    from backoffice.extensions import db

    return db.session


def events(case: Case) -> list[CaseEvent]:
    return list(dbs().scalars(select(CaseEvent).where(CaseEvent.case_id == case.id)
                              .order_by(CaseEvent.id)))


def reload(case: Case) -> Case:
    dbs().expire_all()
    return dbs().get(Case, case.id)


# --- stay_end: pure month arithmetic ------------------------------------------------------------


# The third argument is the TOTAL of the months every extension granted adds (extensions may
# be shorter than the policy's length), not one length times a count.
@pytest.mark.parametrize(("arrived_on", "initial", "extension_total", "ends_on"), [
    pytest.param(date(2028, 2, 29), 12, 0, date(2029, 2, 28), id="29-feb-plus-12-months"),
    pytest.param(date(2027, 1, 31), 1, 0, date(2027, 2, 28), id="31-jan-plus-1-common"),
    pytest.param(date(2028, 1, 31), 1, 0, date(2028, 2, 29), id="31-jan-plus-1-leap"),
    pytest.param(date(2026, 8, 31), 6, 0, date(2027, 2, 28), id="31-aug-plus-6"),
    pytest.param(date(2026, 3, 16), 12, 0, date(2027, 3, 16), id="qmas-initial"),
    pytest.param(date(2026, 3, 16), 12, 24, date(2029, 3, 16), id="one-extension"),
    pytest.param(date(2026, 3, 16), 12, 24 + 24, date(2031, 3, 16), id="two-extensions"),
    pytest.param(date(2028, 2, 29), 12, 24, date(2031, 2, 28), id="29-feb-extended"),
    # The extensions are added to the initial stay's (clamped) end, not to the arrival date:
    # 31 Jan + 1 = 28 Feb, + 1 = 28 Mar (not 31 Mar).
    pytest.param(date(2027, 1, 31), 1, 1, date(2027, 3, 28), id="extension-from-clamped-end"),
    pytest.param(date(2022, 12, 28), 36, 36, date(2028, 12, 28), id="3-plus-3-years"),
    # An extension of 24 months then a shorter one of 6: 30 months after the initial end.
    pytest.param(date(2026, 3, 16), 24, 24 + 6, date(2030, 9, 16), id="24-then-6-months"),
    # From one total, not one extension after another: 31 Jan 2028 + 1 + 1 month is
    # 31 Mar 2028 (one after another it would clamp to 29 Feb, then give 29 Mar).
    pytest.param(date(2027, 1, 31), 12, 1 + 1, date(2028, 3, 31), id="total-not-in-turn"),
])
def test_stay_end(arrived_on, initial, extension_total, ends_on):
    assert stay.stay_end(arrived_on, initial, extension_total) == ends_on


# --- Recording arrival ----------------------------------------------------------------------------

ARRIVALS = [
    # scheme, arrived on, (initial, extension, window days, job offer needed),
    # stay ends, window opens, job offer due
    pytest.param(Scheme.QMAS, date(2026, 3, 16), (12, 24, 28, True), date(2027, 3, 16),
                 date(2027, 2, 16), date(2027, 3, 16), id="qmas"),
    pytest.param(Scheme.QMAS, date(2028, 2, 29), (12, 24, 28, True), date(2029, 2, 28),
                 date(2029, 1, 31), date(2029, 2, 28), id="qmas-29-feb"),
    pytest.param(Scheme.GEP_ENT, date(2026, 3, 16), (24, 24, 28, False), date(2028, 3, 16),
                 date(2028, 2, 17), None, id="gep-ent"),
    pytest.param(Scheme.GEP_PRO, date(2026, 3, 16), (24, 24, 28, False), date(2028, 3, 16),
                 date(2028, 2, 17), None, id="gep-pro"),
    pytest.param(Scheme.ASSG, date(2026, 3, 16), (24, 24, 28, False), date(2028, 3, 16),
                 date(2028, 2, 17), None, id="assg"),
]


@pytest.mark.parametrize(("scheme", "arrived_on", "values", "ends_on", "window", "job_offer"),
                         ARRIVALS)
def test_recording_arrival_starts_the_stay_and_opens_its_deadlines(
        db, caseworker, scheme, arrived_on, values, ends_on, window, job_offer):
    case = visa_case(caseworker, scheme, arrived_on)
    version = case.version
    event = arrive(case, caseworker, arrived_on)
    db.session.commit()

    case = reload(case)
    assert case.status == S.IN_STAY
    assert case.version == version + 1
    assert (case.arrived_on, case.stay_ends_on) == (arrived_on, ends_on)
    assert (case.stay_initial_months, case.stay_extension_months, case.extension_window_days,
            case.job_offer_needed_to_extend) == values
    assert case.extensions_granted == 0
    assert case.extension_window_opens_on == window
    expected = {K.STAY_END: ends_on, K.EXTENSION_WINDOW: window}
    if job_offer:
        expected[K.JOB_OFFER] = job_offer
    assert deadlines(case) == expected
    assert (event.transition, event.from_status, event.to_status) == (
        "record_arrival", S.VISA_ISSUED, S.IN_STAY)
    assert event.detail_data == {"key": "arrived", "arrived_on": arrived_on.isoformat(),
                                 "stay_ends_on": ends_on.isoformat()}
    assert describe_event(event) == (
        f"Arrived on {format_date(arrived_on)}; the stay ends on {format_date(ends_on)}.")


@pytest.mark.parametrize(("arrived_on", "message"), [
    pytest.param(None, "Enter the arrival date.", id="missing"),
    pytest.param(date(2026, 3, 17), "The date of “Record arrival”, 17 Mar 2026, is in the "
                 "future. Give the date it happened (today at the latest).", id="future"),
    pytest.param(date(2026, 3, 9), "The arrival date 9 Mar 2026 is before the visa was issued "
                                   "(10 Mar 2026).", id="before-visa"),
])
def test_an_impossible_arrival_date_is_refused_and_changes_nothing(db, caseworker, arrived_on,
                                                                  message):
    case = visa_case(caseworker, on=date(2026, 3, 10))
    version = case.version
    with pytest.raises(CaseError) as refused:
        services.transition(case, "record_arrival", caseworker, on=arrived_on,
                            expected_version=version, now=NOW)  # today: 2026-03-16
    assert str(refused.value) == message
    db.session.rollback()
    case = reload(case)
    assert (case.status, case.version, case.arrived_on, case.stay_ends_on) == (
        S.VISA_ISSUED, version, None, None)
    # The visa's entry deadline (opened when it was issued) is still open, nothing else.
    assert states(case) == {K.ENTRY: [ST.OPEN]}


@pytest.mark.parametrize("arrived_on", [date(2026, 3, 10), date(2026, 3, 16)],
                         ids=["on-visa-day", "today"])
def test_arrival_may_be_any_day_from_the_visa_to_today(db, caseworker, arrived_on):
    case = visa_case(caseworker, on=date(2026, 3, 10))
    services.transition(case, "record_arrival", caseworker, on=arrived_on, now=NOW)
    assert (case.status, case.arrived_on) == (S.IN_STAY, arrived_on)


# --- Policy versions ------------------------------------------------------------------------------


@pytest.fixture
def registry(monkeypatch):
    """A copy of the policy registry that every service reads; the real one comes back."""
    copy = dict(schemes.POLICIES)
    monkeypatch.setattr(schemes, "POLICIES", copy)
    return copy


THREE_YEARS_FROM = date(2022, 12, 28)


@pytest.mark.parametrize(("submitted_on", "version", "months", "ends_on"), [
    pytest.param(THREE_YEARS_FROM - timedelta(days=1), "2006-06-28", 12, date(2027, 3, 16),
                 id="submitted-the-day-before"),
    pytest.param(THREE_YEARS_FROM, "qmas-2022-12-28", 36, date(2029, 3, 16), id="from-its-day"),
    pytest.param(date(2025, 1, 1), "qmas-2022-12-28", 36, date(2029, 3, 16), id="later"),
])
def test_a_later_policy_version_sets_the_stay_of_cases_submitted_under_it(
        db, caseworker, registry, submitted_on, version, months, ends_on):
    register(dataclasses.replace(policy_for(Scheme.QMAS, TODAY), version="qmas-2022-12-28",
                                 effective_from=THREE_YEARS_FROM, initial_stay_months=36,
                                 extension_months=36), registry)
    case = visa_case(caseworker, submitted_on=submitted_on)
    arrive(case, caseworker, TODAY)
    db.session.commit()
    case = reload(case)
    assert case.policy_version == version
    assert (case.stay_initial_months, case.stay_ends_on) == (months, ends_on)
    assert deadlines(case)[K.STAY_END] == ends_on
    assert deadlines(case)[K.JOB_OFFER] == ends_on  # the end of the initial stay


def test_a_granted_stay_keeps_its_values_when_the_policy_changes(db, caseworker, registry):
    case = stay_case(caseworker)
    stay.record_job_offer(caseworker, case, OFFER, now=NOW)
    request_extension(case, caseworker, date(2027, 3, 1))
    db.session.commit()
    # The version in force on the case's submission date is edited in place (a data fix):
    # the stay granted at arrival still uses the values stored on the case.
    seed = policy_for(Scheme.QMAS, TODAY)
    registry[Scheme.QMAS] = (dataclasses.replace(seed, extension_months=36,
                                                 extension_window_days=90),)
    services.transition(case, "grant_extension", caseworker, now=hk_morning(date(2027, 3, 2)))
    db.session.commit()
    case = reload(case)
    assert (case.stay_extension_months, case.extension_window_days) == (24, 28)
    assert case.stay_ends_on == date(2029, 3, 16)


# --- The extension window -------------------------------------------------------------------------
# QMAS arrived 2026-03-16: the stay ends 2027-03-16 and the window opens 28 days before, on
# 2027-02-16. GEP and ASSG (24 months): ends 2028-03-16, window from 2028-02-17.

WINDOW_EDGES = [
    pytest.param(Scheme.QMAS, date(2027, 2, 15), True,
                 "The extension window opens on 16 Feb 2027 (28 days before the stay ends on "
                 "16 Mar 2027); an extension cannot be requested before.", id="qmas-day-before"),
    pytest.param(Scheme.QMAS, date(2027, 2, 16), True, None, id="qmas-opening-day"),
    pytest.param(Scheme.QMAS, date(2027, 3, 16), True, None, id="qmas-last-day-of-stay"),
    pytest.param(Scheme.QMAS, date(2027, 3, 17), True,
                 "The stay ended on 16 Mar 2027; an extension can no longer be requested.",
                 id="qmas-day-after"),
    pytest.param(Scheme.QMAS, date(2027, 3, 1), False,
                 "A job offer must be recorded before an extension can be requested under this "
                 "scheme.", id="qmas-without-job-offer"),
    pytest.param(Scheme.GEP_ENT, date(2028, 2, 16), False,
                 "The extension window opens on 17 Feb 2028 (28 days before the stay ends on "
                 "16 Mar 2028); an extension cannot be requested before.", id="gep-ent-day-before"),
    pytest.param(Scheme.GEP_ENT, date(2028, 2, 17), False, None, id="gep-ent-no-offer-needed"),
    pytest.param(Scheme.GEP_PRO, date(2028, 3, 16), False, None, id="gep-pro-no-offer-needed"),
    pytest.param(Scheme.ASSG, date(2028, 2, 17), False, None, id="assg-no-offer-needed"),
    pytest.param(Scheme.ASSG, date(2028, 3, 17), False,
                 "The stay ended on 16 Mar 2028; an extension can no longer be requested.",
                 id="assg-day-after"),
]


@pytest.mark.parametrize(("scheme", "today", "with_offer", "message"), WINDOW_EDGES)
def test_the_extension_window(db, caseworker, scheme, today, with_offer, message):
    case = stay_case(caseworker, scheme)
    if with_offer:
        stay.record_job_offer(caseworker, case, OFFER, now=NOW)
    db.session.commit()

    if message is None:
        stay.check_extension_request(case, today)
    else:
        with pytest.raises(stay.StayError) as refused:
            stay.check_extension_request(case, today)
        assert str(refused.value) == message

    # The transition service applies the same guard, with the same words.
    version = case.version
    if message is None:
        request_extension(case, caseworker, today)
        assert case.status == S.EXTENSION_REQUESTED
    else:
        with pytest.raises(CaseError) as refused:
            request_extension(case, caseworker, today)
        assert str(refused.value) == message
        db.session.rollback()
        case = reload(case)
        assert (case.status, case.version) == (S.IN_STAY, version)


# --- Job offers and extensions --------------------------------------------------------------------


def test_recording_a_job_offer_meets_the_job_offer_deadline(db, caseworker):
    case = stay_case(caseworker)
    at = hk_morning(date(2026, 9, 1))
    job = stay.record_job_offer(caseworker, case, dataclasses.replace(
        OFFER, employer="  Harbour Analytics Ltd ", post=" Data engineer"), now=at)
    db.session.commit()

    case = reload(case)
    assert case.has_job_offer
    assert (job.employer, job.post, job.salary, job.recorded_by_id, job.recorded_at) == (
        "Harbour Analytics Ltd", "Data engineer", Decimal("60000"), caseworker.id, at)
    assert states(case)[K.JOB_OFFER] == [ST.MET]
    met = db.session.scalar(select(Deadline).where(Deadline.case_id == case.id,
                                                   Deadline.kind == K.JOB_OFFER))
    assert met.closed_at == at
    assert deadlines(case) == {K.STAY_END: date(2027, 3, 16),
                               K.EXTENSION_WINDOW: date(2027, 2, 16)}
    last = events(case)[-1]
    assert (last.kind, last.actor_id) == (EventKind.EDITED, caseworker.id)
    assert last.detail_data == {"key": "job_offer", "post": "Data engineer",
                                "employer": "Harbour Analytics Ltd", "start_date": "2026-06-01"}
    assert describe_event(last) == "Job offer recorded: Data engineer at Harbour Analytics " \
                                   "Ltd, from 1 Jun 2026."


@pytest.mark.parametrize("status", [S.APPROVED, S.VISA_ISSUED])
def test_a_job_offer_waits_for_the_arrival(db, caseworker, status):
    case = make_case(caseworker, Scheme.QMAS, status)
    with pytest.raises(stay.StayError, match="once the applicant has arrived"):
        stay.record_job_offer(caseworker, case, OFFER, now=NOW)
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(JobOffer)) == 0


@pytest.mark.parametrize(("scheme", "ends_on", "extended_to", "window"), [
    pytest.param(Scheme.QMAS, date(2027, 3, 16), date(2029, 3, 16), date(2029, 2, 16), id="qmas"),
    pytest.param(Scheme.ASSG, date(2028, 3, 16), date(2030, 3, 16), date(2030, 2, 16), id="assg"),
])
def test_granting_an_extension_sets_a_new_stay_end_and_new_deadlines(
        db, caseworker, scheme, ends_on, extended_to, window):
    case = stay_case(caseworker, scheme)
    if scheme == Scheme.QMAS:
        stay.record_job_offer(caseworker, case, OFFER, now=NOW)
    request_extension(case, caseworker, ends_on - timedelta(days=7))
    assert deadlines(case)[K.STAY_END] == ends_on  # still open while the request waits
    at = hk_morning(ends_on - timedelta(days=2))
    event = services.transition(case, "grant_extension", caseworker, now=at)
    db.session.commit()

    case = reload(case)
    assert (case.status, case.extensions_granted, case.stay_ends_on) == (
        S.EXTENDED, 1, extended_to)
    # Granted by default for the months asked: the policy's whole length.
    assert case.extension_months_total == case.stay_extension_months == 24
    assert case.stay_ends_on == stay.stay_end(TODAY, case.stay_initial_months,
                                              case.extension_months_total)
    assert event.detail_data == {"key": "stay_extended", "stay_ends_on": extended_to.isoformat(),
                                 "was": ends_on.isoformat(), "months": 24}
    assert describe_event(event) == (f"Stay extended by 24 months, to {format_date(extended_to)} "
                                     f"(was {format_date(ends_on)}).")
    assert deadlines(case) == {K.STAY_END: extended_to, K.EXTENSION_WINDOW: window}
    kinds = states(case)
    assert kinds[K.STAY_END] == [ST.MET, ST.OPEN]
    # No new job-offer deadline after the first extension (QMAS met its one; ASSG never had one).
    assert kinds.get(K.JOB_OFFER, []) == ([ST.MET] if scheme == Scheme.QMAS else [])
    met = db.session.scalar(select(Deadline).where(Deadline.case_id == case.id,
                                                   Deadline.state == ST.MET,
                                                   Deadline.kind == K.STAY_END))
    assert (met.due_on, met.closed_at) == (ends_on, at)


def test_extensions_compose(db, caseworker):
    case = stay_case(caseworker, Scheme.GEP_PRO)
    for expected in (date(2030, 3, 16), date(2032, 3, 16)):
        request_extension(case, caseworker, case.stay_ends_on - timedelta(days=1))
        services.transition(case, "grant_extension", caseworker,
                            now=hk_morning(case.stay_ends_on))
        assert case.stay_ends_on == expected
    db.session.commit()
    case = reload(case)
    assert (case.extensions_granted, case.extension_months_total, case.stay_ends_on) == (
        2, 48, date(2032, 3, 16))
    assert states(case)[K.STAY_END] == [ST.MET, ST.MET, ST.OPEN]
    assert deadlines(case)[K.STAY_END] == date(2032, 3, 16)


def test_refusing_an_extension_leaves_the_stay_to_run_out(db, caseworker):
    case = stay_case(caseworker)
    stay.record_job_offer(caseworker, case, OFFER, now=NOW)
    request_extension(case, caseworker, date(2027, 3, 1))
    before = {d.id: (d.kind, d.due_on) for d in case.open_deadlines}
    services.transition(case, "refuse_extension", caseworker, reason="No genuine job.",
                        now=hk_morning(date(2027, 3, 5)))
    db.session.commit()

    case = reload(case)
    assert (case.status, case.extensions_granted, case.stay_ends_on) == (
        S.IN_STAY, 0, date(2027, 3, 16))
    assert {d.id: (d.kind, d.due_on) for d in case.open_deadlines} == before
    # Once the stay has run out, the sweep lapses it.
    assert deadline_sweep.sweep(date(2027, 3, 17), now=hk_morning(date(2027, 3, 17)))["lapsed"] == 1


def test_a_deadline_the_sweep_settled_is_not_opened_again_by_a_later_step(db, caseworker):
    # Stay 2026-03-16 to 2027-03-16; the extension window opened on 2027-02-16.
    case = stay_case(caseworker)
    stay.record_job_offer(caseworker, case, OFFER, now=NOW)
    db.session.commit()
    counts = deadline_sweep.sweep(date(2027, 2, 20), now=hk_morning(date(2027, 2, 20)))
    assert counts["window_opened"] == 1

    request_extension(case, caseworker, date(2027, 3, 1))
    db.session.commit()
    # The window that opened stays met: no second, "overdue" window is opened.
    assert states(reload(case))[K.EXTENSION_WINDOW] == [ST.MET]

    # The request waits past the end of the stay: the sweep marks the stay end missed (it
    # escalates). Refusing the request later must not open that deadline again, or the next
    # sweep would miss it, and escalate it, a second time.
    assert deadline_sweep.sweep(date(2027, 3, 17), now=hk_morning(date(2027, 3, 17)))["missed"] == 1
    case = reload(case)
    services.transition(case, "refuse_extension", caseworker, reason="No genuine job.",
                        now=hk_morning(date(2027, 3, 18)))
    db.session.commit()
    assert states(reload(case)) == {K.JOB_OFFER: [ST.MET], K.EXTENSION_WINDOW: [ST.MET],
                                    K.STAY_END: [ST.MISSED], K.ENTRY: [ST.MET]}
    assert deadline_sweep.sweep(date(2027, 3, 18), now=hk_morning(date(2027, 3, 18))) == {
        "missed": 0, "window_opened": 0, "lapsed": 1}


# --- Step data: the visa, the extension request and the grant (table) ---------------------------
# Every step is dated (``on``); issuing a visa records its number and validity end, which opens
# the entry deadline; a request says how long, on what grounds and on which job offer; a grant
# may be shorter than the policy's length, never longer, and the stay end is the initial end
# plus the total of the months granted.

ISSUED_ON = date(2026, 3, 10)


def approved_case(actor, scheme: Scheme = Scheme.QMAS) -> Case:
    """A case approved on ISSUED_ON (committed), ready for its visa."""
    return make_case(actor, scheme, S.APPROVED, now=hk_morning(ISSUED_ON))


def issue_visa(case: Case, actor, *, number: str | None = "AB1234567",
               valid_until: date | None = ISSUED_ON + timedelta(days=30),
               on: date = ISSUED_ON) -> CaseEvent:
    return services.transition(case, "issue_visa", actor, now=hk_morning(on),
                               data=services.StepData(on=on, visa_number=number,
                                                      visa_valid_until=valid_until))


def grant(case: Case, actor, on: date, months: int | None = None) -> CaseEvent:
    return services.transition(case, "grant_extension", actor, now=hk_morning(on),
                               data=services.StepData(on=on, months=months))


def test_issuing_the_visa_records_it_and_opens_the_entry_deadline_met_by_arrival(
        db, caseworker):
    case = approved_case(caseworker)
    until = date(2026, 6, 30)
    event = issue_visa(case, caseworker, number="  PX7654321 ", valid_until=until)
    db.session.commit()
    case = reload(case)
    assert (case.status, case.visa_issued_on, case.visa_number, case.visa_valid_until) == (
        S.VISA_ISSUED, ISSUED_ON, "PX7654321", until)
    assert (event.occurred_on, case.status_since) == (ISSUED_ON, ISSUED_ON)
    assert event.detail_data == {"key": "visa_issued", "number": "PX7654321",
                                 "valid_until": "2026-06-30"}
    assert deadlines(case) == {K.ENTRY: until}

    at = hk_morning(date(2026, 4, 2))
    services.transition(case, "record_arrival", caseworker, on=date(2026, 4, 1), now=at)
    db.session.commit()
    case = reload(case)
    assert states(case)[K.ENTRY] == [ST.MET]
    met = db.session.scalar(select(Deadline).where(Deadline.case_id == case.id,
                                                   Deadline.kind == K.ENTRY))
    assert (met.due_on, met.closed_at) == (until, at)
    assert K.ENTRY not in deadlines(case)


@pytest.mark.parametrize(("number", "valid_until", "message"), [
    pytest.param(None, date(2026, 6, 30), "Enter the visa or entry permit number.",
                 id="no-number"),
    pytest.param("   ", date(2026, 6, 30), "Enter the visa or entry permit number.",
                 id="blank-number"),
    pytest.param("X" * 31, date(2026, 6, 30),
                 "The visa or entry permit number is at most 30 characters.", id="long-number"),
    pytest.param("AB1234567", None,
                 "Enter the last day the visa allows entry (its validity end).", id="no-validity"),
    pytest.param("AB1234567", ISSUED_ON - timedelta(days=1),
                 "The visa's validity end, 9 Mar 2026, is before the day it was issued "
                 "(10 Mar 2026).", id="valid-until-before-issue"),
])
def test_a_visa_without_its_details_is_refused_and_changes_nothing(
        db, caseworker, number, valid_until, message):
    case = approved_case(caseworker)
    version = case.version
    with pytest.raises(CaseError) as refused:
        issue_visa(case, caseworker, number=number, valid_until=valid_until)
    assert str(refused.value) == message
    db.session.rollback()
    case = reload(case)
    assert (case.status, case.version, case.visa_number, case.visa_valid_until) == (
        S.APPROVED, version, None, None)
    assert states(case) == {}


@pytest.mark.parametrize(("valid_until", "arrived_on", "message"), [
    pytest.param(date(2026, 3, 12), date(2026, 3, 12), None, id="on-the-last-day"),
    pytest.param(ISSUED_ON, ISSUED_ON, None, id="valid-on-the-issue-day-only"),
    pytest.param(date(2026, 3, 12), date(2026, 3, 13),
                 "The arrival date 13 Mar 2026 is after the last day the visa allowed entry "
                 "(12 Mar 2026). Correct the visa's validity end if it was recorded wrongly; "
                 "otherwise the approval was not taken up in time.", id="day-after-validity"),
    pytest.param(ISSUED_ON, date(2026, 3, 16),
                 "The arrival date 16 Mar 2026 is after the last day the visa allowed entry "
                 "(10 Mar 2026). Correct the visa's validity end if it was recorded wrongly; "
                 "otherwise the approval was not taken up in time.", id="week-after-validity"),
])
def test_arrival_after_the_visa_validity_is_refused(db, caseworker, valid_until, arrived_on,
                                                    message):
    case = approved_case(caseworker)
    issue_visa(case, caseworker, valid_until=valid_until)
    db.session.commit()
    version = case.version
    if message is None:
        services.transition(case, "record_arrival", caseworker, on=arrived_on, now=NOW)
        assert (case.status, case.arrived_on) == (S.IN_STAY, arrived_on)
        assert states(case)[K.ENTRY] == [ST.MET]
        return
    with pytest.raises(CaseError) as refused:
        services.transition(case, "record_arrival", caseworker, on=arrived_on, now=NOW)
    assert str(refused.value) == message
    db.session.rollback()
    case = reload(case)
    assert (case.status, case.version, case.arrived_on) == (S.VISA_ISSUED, version, None)
    assert deadlines(case) == {K.ENTRY: valid_until}  # still open: the sweep will miss it


# GEP_PRO (24 + 24 months, no job offer needed) arrived 2026-03-16: the stay ends 2028-03-16,
# its window opens 2028-02-17.
GEP_END = date(2028, 3, 16)
REQUEST_ON = date(2028, 3, 1)
OTHER_CASE = object()  # stands for a job offer recorded on another case

REQUEST_REFUSALS = [
    pytest.param({"months": 0}, "An extension can be asked for between 1 and 24 months.",
                 id="months-zero"),
    pytest.param({"months": 25}, "An extension can be asked for between 1 and 24 months.",
                 id="months-above-the-policy"),
    pytest.param({"months": -6}, "An extension can be asked for between 1 and 24 months.",
                 id="months-negative"),
    pytest.param({"grounds": None}, "Give the grounds of the extension request (what the "
                 "applicant does in Hong Kong and why the stay should continue).",
                 id="no-grounds"),
    pytest.param({"grounds": " \n "}, "Give the grounds of the extension request (what the "
                 "applicant does in Hong Kong and why the stay should continue).",
                 id="blank-grounds"),
    pytest.param({"grounds": "x" * 2001}, "Keep the grounds to 2000 characters.",
                 id="grounds-too-long"),
    pytest.param({"job_offer_id": OTHER_CASE}, "That job offer is not recorded on this case.",
                 id="job-offer-of-another-case"),
    pytest.param({"job_offer_id": 999_999}, "That job offer is not recorded on this case.",
                 id="job-offer-unknown"),
]


@pytest.mark.parametrize(("data", "message"), REQUEST_REFUSALS)
def test_an_extension_request_without_what_it_must_say_is_refused(db, caseworker, data,
                                                                  message):
    case = stay_case(caseworker, Scheme.GEP_PRO)
    stay.record_job_offer(caseworker, case, OFFER, now=NOW)
    if data.get("job_offer_id") is OTHER_CASE:
        other = stay_case(caseworker, Scheme.GEP_PRO)
        data = data | {"job_offer_id": stay.record_job_offer(caseworker, other, OFFER,
                                                             now=NOW).id}
    db.session.commit()
    version = case.version
    with pytest.raises(CaseError) as refused:
        request_extension(case, caseworker, REQUEST_ON, **data)
    assert str(refused.value) == message
    db.session.rollback()
    case = reload(case)
    assert (case.status, case.version, case.extension_requested_on,
            case.extension_months_requested, case.extension_grounds) == (
        S.IN_STAY, version, None, None, None)


@pytest.mark.parametrize(("months", "offer", "asked", "kept_offer"), [
    pytest.param(None, None, 24, "latest", id="defaults-policy-length-latest-offer"),
    pytest.param(12, "first", 12, "first", id="shorter-on-a-chosen-offer"),
    pytest.param(1, None, 1, "latest", id="one-month"),
    pytest.param(24, None, 24, "latest", id="the-policy-length"),
])
def test_an_extension_request_keeps_what_was_asked(db, caseworker, months, offer, asked,
                                                   kept_offer):
    case = stay_case(caseworker, Scheme.GEP_PRO)
    first = stay.record_job_offer(caseworker, case, OFFER, now=NOW)
    latest = stay.record_job_offer(caseworker, case, dataclasses.replace(
        OFFER, employer="Kowloon Data Ltd", post="Lead engineer"), now=hk_morning(date(2027, 1, 4)))
    offers = {"first": first, "latest": latest}
    event = request_extension(case, caseworker, REQUEST_ON, months=months,
                              grounds="  Still with the employer. ",
                              job_offer_id=offers[offer].id if offer else None)
    db.session.commit()
    case = reload(case)
    kept = offers[kept_offer]
    assert (case.status, case.status_since, case.extension_requested_on,
            case.extension_months_requested, case.extension_grounds,
            case.extension_job_offer_id) == (
        S.EXTENSION_REQUESTED, REQUEST_ON, REQUEST_ON, asked, "Still with the employer.",
        kept.id)
    assert event.detail_data == {"key": "extension_requested", "months": asked,
                                 "grounds": "Still with the employer.", "post": kept.post,
                                 "employer": kept.employer}


@pytest.mark.parametrize(("recorded_on", "requested_on", "message"), [
    # The window guard judges the request's date, not the day it is recorded.
    pytest.param(GEP_END + timedelta(days=4), GEP_END - timedelta(days=6), None,
                 id="recorded-after-the-stay-end-dated-inside"),
    pytest.param(GEP_END + timedelta(days=4), GEP_END + timedelta(days=1),
                 "The stay ended on 16 Mar 2028; an extension can no longer be requested.",
                 id="dated-after-the-stay-end"),
    pytest.param(GEP_END - timedelta(days=2), date(2028, 2, 16),
                 "The extension window opens on 17 Feb 2028 (28 days before the stay ends on "
                 "16 Mar 2028); an extension cannot be requested before.",
                 id="dated-before-the-window"),
    pytest.param(GEP_END - timedelta(days=2), GEP_END - timedelta(days=1),
                 "The date of “Request extension of stay”, 15 Mar 2028, is in the future. Give "
                 "the date it happened (today at the latest).", id="dated-in-the-future"),
])
def test_an_extension_request_is_judged_on_its_date(db, caseworker, recorded_on, requested_on,
                                                    message):
    case = stay_case(caseworker, Scheme.GEP_PRO)
    db.session.commit()

    def take():
        return services.transition(
            case, "request_extension", caseworker, now=hk_morning(recorded_on),
            data=services.StepData(on=requested_on, grounds=FACTORY_GROUNDS))

    if message is None:
        event = take()
        assert (case.status, case.extension_requested_on, event.occurred_on) == (
            S.EXTENSION_REQUESTED, requested_on, requested_on)
        return
    with pytest.raises(CaseError) as refused:
        take()
    assert str(refused.value) == message


@pytest.mark.parametrize(("asked", "granted", "shorter_allowed", "total", "ends_on", "message"), [
    pytest.param(None, None, True, 24, date(2030, 3, 16), None, id="default-policy-length"),
    pytest.param(12, None, True, 12, date(2029, 3, 16), None, id="default-the-months-asked"),
    pytest.param(None, 6, True, 6, date(2028, 9, 16), None, id="shorter-than-the-policy"),
    pytest.param(None, 1, True, 1, date(2028, 4, 16), None, id="one-month"),
    pytest.param(None, 24, False, 24, date(2030, 3, 16), None,
                 id="policy-length-where-shorter-not-allowed"),
    pytest.param(None, 25, True, 0, GEP_END,
                 "An extension is granted for between 1 and 24 months.", id="longer-refused"),
    pytest.param(None, 0, True, 0, GEP_END,
                 "An extension is granted for between 1 and 24 months.", id="zero-refused"),
    pytest.param(None, 6, False, 0, GEP_END,
                 "This scheme grants extensions of 24 months only.",
                 id="shorter-where-not-allowed"),
    pytest.param(None, 36, False, 0, GEP_END,
                 "This scheme grants extensions of 24 months only.",
                 id="longer-where-shorter-not-allowed"),
])
def test_the_months_an_extension_is_granted_for(db, caseworker, registry, asked, granted,
                                                shorter_allowed, total, ends_on, message):
    if not shorter_allowed:
        seed = policy_for(Scheme.GEP_PRO, TODAY)
        registry[Scheme.GEP_PRO] = (dataclasses.replace(seed, shorter_extension_allowed=False),)
    case = stay_case(caseworker, Scheme.GEP_PRO)
    request_extension(case, caseworker, REQUEST_ON, months=asked)
    db.session.commit()
    version = case.version
    on = REQUEST_ON + timedelta(days=3)
    if message is None:
        event = grant(case, caseworker, on, granted)
        db.session.commit()
        case = reload(case)
        assert (case.status, case.extensions_granted, case.extension_months_total,
                case.stay_ends_on) == (S.EXTENDED, 1, total, ends_on)
        assert event.detail_data == {"key": "stay_extended", "stay_ends_on": ends_on.isoformat(),
                                     "was": GEP_END.isoformat(), "months": total}
        assert deadlines(case) == {K.STAY_END: ends_on,
                                   K.EXTENSION_WINDOW: ends_on - timedelta(days=28)}
        return
    with pytest.raises(CaseError) as refused:
        grant(case, caseworker, on, granted)
    assert str(refused.value) == message
    db.session.rollback()
    case = reload(case)
    assert (case.status, case.version, case.extension_months_total, case.stay_ends_on) == (
        S.EXTENSION_REQUESTED, version, total, ends_on)


@pytest.mark.parametrize(("grants", "ends"), [
    # An extension of 24 months, then a shorter one of 6: each end from the initial end
    # (2028-03-16) plus the total so far.
    pytest.param((24, 6), (date(2030, 3, 16), date(2030, 9, 16)), id="24-then-6"),
    pytest.param((6, 24), (date(2028, 9, 16), date(2030, 9, 16)), id="6-then-24"),
    pytest.param((1, 1), (date(2028, 4, 16), date(2028, 5, 16)), id="1-then-1"),
])
def test_the_stay_end_is_the_initial_end_plus_the_months_granted_in_all(db, caseworker, grants,
                                                                         ends):
    case = stay_case(caseworker, Scheme.GEP_PRO)
    total = 0
    for months, expected in zip(grants, ends, strict=True):
        was = case.stay_ends_on
        request_extension(case, caseworker, was - timedelta(days=7), months=months)
        event = grant(case, caseworker, was - timedelta(days=6))
        total += months
        assert (case.extension_months_total, case.stay_ends_on) == (total, expected)
        assert event.detail_data == {"key": "stay_extended", "stay_ends_on": expected.isoformat(),
                                     "was": was.isoformat(), "months": months}
        assert case.stay_ends_on == stay.stay_end(case.arrived_on, 24, total)
    db.session.commit()
    case = reload(case)
    assert (case.extensions_granted, case.extension_months_total, case.stay_ends_on) == (
        len(grants), sum(grants), ends[-1])
    assert deadlines(case)[K.STAY_END] == ends[-1]
    assert states(case)[K.STAY_END] == [ST.MET] * len(grants) + [ST.OPEN]


# --- Correcting the arrival date ------------------------------------------------------------------

CORRECTED_ON = date(2026, 4, 1)  # "today" for the corrections below


def test_correcting_the_arrival_recomputes_the_stay_and_its_deadlines(db, caseworker):
    case = stay_case(caseworker)  # arrived (and visa issued) 2026-03-16
    old_ids = {d.id for d in case.open_deadlines}
    version = case.version
    at = hk_morning(CORRECTED_ON)
    correct_step_date(caseworker, case, "record_arrival", date(2026, 3, 20),
                      "  Typo in the landing date. ", today=CORRECTED_ON, now=at)
    db.session.commit()

    case = reload(case)
    assert (case.arrived_on, case.stay_ends_on, case.version) == (
        date(2026, 3, 20), date(2027, 3, 20), version + 1)
    assert deadlines(case) == {K.STAY_END: date(2027, 3, 20),
                               K.EXTENSION_WINDOW: date(2027, 2, 20),
                               K.JOB_OFFER: date(2027, 3, 20)}
    old = db.session.scalars(select(Deadline).where(Deadline.id.in_(old_ids))).all()
    assert {(d.state, d.closed_at) for d in old} == {(ST.CANCELLED, at)}
    # The entry deadline was met by the arrival, which is not undone: only the stay's
    # deadlines are recomputed.
    assert states(case) == {K.STAY_END: [ST.CANCELLED, ST.OPEN],
                            K.EXTENSION_WINDOW: [ST.CANCELLED, ST.OPEN],
                            K.JOB_OFFER: [ST.CANCELLED, ST.OPEN], K.ENTRY: [ST.MET]}
    last = events(case)[-1]
    assert (last.kind, last.actor_id, last.reason) == (
        EventKind.EDITED, caseworker.id, "Typo in the landing date.")
    assert last.detail_data == {"key": "several", "parts": [
        {"key": "date_corrected", "step": "record_arrival", "from": "2026-03-16",
         "to": "2026-03-20"},
        {"key": "stay_end_moved", "from": "2027-03-16", "to": "2027-03-20"}]}
    assert describe_event(last) == ("Date of “Record arrival” corrected from 16 Mar 2026 to "
                                    "20 Mar 2026. The stay now ends on 20 Mar 2027 (was "
                                    "16 Mar 2027).")


def test_correcting_the_arrival_of_an_extended_stay_keeps_its_extensions(db, caseworker):
    case = stay_case(caseworker, Scheme.GEP_ENT)
    request_extension(case, caseworker, date(2028, 3, 1))
    services.transition(case, "grant_extension", caseworker, now=hk_morning(date(2028, 3, 2)))
    correct_step_date(caseworker, case, "record_arrival", date(2026, 3, 18), "Wrong day.",
                      today=date(2028, 3, 3), now=hk_morning(date(2028, 3, 3)))
    db.session.commit()
    case = reload(case)
    assert case.stay_ends_on == date(2030, 3, 18)  # 24 + 24 months from the corrected arrival
    assert deadlines(case) == {K.STAY_END: date(2030, 3, 18),
                               K.EXTENSION_WINDOW: date(2030, 2, 18)}


@pytest.mark.parametrize(("status", "arrived_on", "reason", "message"), [
    pytest.param(S.IN_STAY, date(2026, 3, 20), "", "Give a reason for the correction; it is "
                 "recorded and shown in the case history.", id="no-reason"),
    pytest.param(S.IN_STAY, date(2026, 3, 20), "   ", "Give a reason for the correction; it is "
                 "recorded and shown in the case history.", id="blank-reason"),
    pytest.param(S.IN_STAY, date(2026, 3, 16), "Checked.", "Record arrival is already "
                 "16 Mar 2026.", id="same-date"),
    pytest.param(S.IN_STAY, date(2026, 4, 2), "Checked.", "The date of “Record arrival” cannot "
                 "be in the future (2 Apr 2026).", id="future"),
    pytest.param(S.IN_STAY, date(2026, 3, 15), "Checked.", "The date of “Record arrival” cannot "
                 "be before 16 Mar 2026: that is the date of what it follows.", id="before-visa"),
    pytest.param(S.VISA_ISSUED, date(2026, 3, 20), "Checked.",
                 "That date cannot be corrected on this case.", id="not-arrived"),
    pytest.param(S.CLOSED, date(2026, 3, 20), "Checked.",
                 "This case is closed; it can no longer be changed.", id="closed"),
    pytest.param(S.LAPSED, date(2026, 3, 20), "Checked.",
                 "This case has lapsed; it can no longer be changed.", id="lapsed"),
])
def test_an_arrival_correction_is_refused_in_words_and_changes_nothing(
        db, caseworker, status, arrived_on, reason, message):
    case = make_case(caseworker, Scheme.QMAS, status)
    before = (case.arrived_on, case.stay_ends_on, case.version, states(case), len(events(case)))
    with pytest.raises(CaseError) as refused:
        correct_step_date(caseworker, case, "record_arrival", arrived_on, reason,
                          today=CORRECTED_ON, now=hk_morning(CORRECTED_ON))
    assert str(refused.value) == message
    db.session.rollback()
    case = reload(case)
    assert (case.arrived_on, case.stay_ends_on, case.version, states(case),
            len(events(case))) == before


# --- Ending a case by hand ------------------------------------------------------------------------


@pytest.mark.parametrize(("status", "step", "reason"), [
    pytest.param(S.IN_STAY, "close", "Left Hong Kong for good.", id="close-in-stay"),
    pytest.param(S.EXTENDED, "close", "Left Hong Kong for good.", id="close-extended"),
    pytest.param(S.IN_STAY, "lapse", None, id="lapse-in-stay"),
    pytest.param(S.EXTENSION_REQUESTED, "lapse", None, id="lapse-extension-requested"),
    pytest.param(S.EXTENDED, "lapse", None, id="lapse-extended"),
])
def test_ending_a_case_by_hand_cancels_its_open_deadlines(db, caseworker, status, step, reason):
    case = make_case(caseworker, Scheme.QMAS, status)
    assert case.open_deadlines
    open_ids = {d.id for d in case.open_deadlines}
    # Not before the step it follows: make_case requests an extension a week before the stay
    # ends (2027-03-09), and grants it that day.
    at = hk_morning(max(date(2026, 6, 1), case.status_since))
    services.transition(case, step, caseworker, reason=reason, now=at)
    db.session.commit()
    case = reload(case)
    assert not case.is_open
    assert case.open_deadlines == []
    closed = db.session.scalars(select(Deadline).where(Deadline.id.in_(open_ids))).all()
    assert {(d.state, d.closed_at) for d in closed} == {(ST.CANCELLED, at)}


@pytest.mark.parametrize(("status", "left"), [
    pytest.param(S.APPROVED, {}, id="approved"),
    # The visa opened the entry deadline: withdrawing cancels it.
    pytest.param(S.VISA_ISSUED, {K.ENTRY: [ST.CANCELLED]}, id="visa_issued"),
])
def test_withdrawing_before_arrival_leaves_no_deadlines(db, caseworker, status, left):
    case = make_case(caseworker, Scheme.QMAS, status)
    services.transition(case, "withdraw", caseworker, reason="Took another job.", now=NOW)
    db.session.commit()
    assert states(reload(case)) == left
    assert reload(case).open_deadlines == []


def test_a_case_in_stay_cannot_be_withdrawn(db, caseworker):
    case = make_case(caseworker, Scheme.QMAS, S.IN_STAY)
    with pytest.raises(CaseError, match="not possible for a case with the status “In stay"):
        services.transition(case, "withdraw", caseworker, reason="Changed mind.", now=NOW)


# --- The sweep ------------------------------------------------------------------------------------

SWEEP_DAY = date(2027, 3, 17)
SWEEP_AT = hk_morning(SWEEP_DAY)
LAPSE_WORDS = "The stay ended without an extension (deadline sweep)."


def _version(case_id: int) -> int:
    return dbs().scalar(select(Case.version).where(Case.id == case_id))


def test_the_sweep_marks_passed_deadlines_and_lapses_ended_stays(db, caseworker):
    ended = stay_case(caseworker, arrived_on=date(2026, 3, 16))  # ended 2027-03-16: yesterday
    # A deadline not yet due on an ended stay, so the lapse has something left to cancel.
    window = next(d for d in ended.open_deadlines if d.kind == K.EXTENSION_WINDOW)
    window.due_on = date(2027, 3, 30)
    requested = make_case(caseworker, Scheme.QMAS, S.EXTENSION_REQUESTED)  # ended yesterday
    ends_today = stay_case(caseworker, arrived_on=date(2026, 3, 17))
    window_today = stay_case(caseworker, arrived_on=date(2026, 4, 14))  # window 2027-03-17
    window_tomorrow = stay_case(caseworker, arrived_on=date(2026, 4, 15))  # window 2027-03-18
    db.session.commit()
    cases = [ended, requested, ends_today, window_today, window_tomorrow]
    versions = {c.id: c.version for c in cases}
    events_before = {c.id: len(events(c)) for c in cases}

    counts = deadline_sweep.sweep(SWEEP_DAY, now=SWEEP_AT)
    db.session.commit()
    assert counts == {"missed": 3, "window_opened": 3, "lapsed": 1}

    db.session.expire_all()
    # The stay that ended yesterday: lapsed, with an event written by the system.
    lapsed = db.session.get(Case, ended.id)
    assert (lapsed.status, lapsed.ended_at, lapsed.version) == (
        S.LAPSED, SWEEP_AT, versions[ended.id] + 1)
    new_events = events(lapsed)[events_before[ended.id]:]
    # Nobody typed a reason: the event says why as a message key, worded when it is shown.
    assert [(e.kind, e.transition, e.from_status, e.to_status, e.actor_id, e.reason,
             e.detail, e.detail_data, e.at)
            for e in new_events] == [(EventKind.TRANSITION, "lapse", S.IN_STAY, S.LAPSED, None,
                                      None, None, {"key": "lapsed"}, SWEEP_AT)]
    assert describe_event(new_events[0]) == LAPSE_WORDS
    assert states(lapsed) == {K.STAY_END: [ST.MISSED], K.JOB_OFFER: [ST.MISSED],
                              K.EXTENSION_WINDOW: [ST.CANCELLED], K.ENTRY: [ST.MET]}
    # The stay's deadlines were settled by the sweep (the entry deadline, by the arrival).
    closed_at = {d.closed_at for d in lapsed.deadlines if d.kind != K.ENTRY}
    assert closed_at == {SWEEP_AT}

    # A pending extension request is left for a person; its stay end is missed (escalates).
    waiting = db.session.get(Case, requested.id)
    assert (waiting.status, waiting.version) == (S.EXTENSION_REQUESTED, versions[requested.id])
    assert len(events(waiting)) == events_before[requested.id]
    assert states(waiting) == {K.STAY_END: [ST.MISSED], K.JOB_OFFER: [ST.MET],
                               K.EXTENSION_WINDOW: [ST.MET], K.ENTRY: [ST.MET]}

    # A stay ending today or later is not lapsed; the window is met once its day comes.
    for case, window_state in [(ends_today, ST.MET), (window_today, ST.MET),
                               (window_tomorrow, ST.OPEN)]:
        case = db.session.get(Case, case.id)
        assert (case.status, case.version) == (S.IN_STAY, versions[case.id]), case.arrived_on
        assert len(events(case)) == events_before[case.id]
        assert states(case) == {K.STAY_END: [ST.OPEN], K.JOB_OFFER: [ST.OPEN],
                                K.EXTENSION_WINDOW: [window_state], K.ENTRY: [ST.MET]}, \
            case.arrived_on

    # Running it again changes nothing more.
    snapshot = {c.id: (_version(c.id), states(c), len(events(c))) for c in cases}
    assert deadline_sweep.sweep(SWEEP_DAY, now=SWEEP_AT + timedelta(minutes=10)) == {
        "missed": 0, "window_opened": 0, "lapsed": 0}
    db.session.commit()
    db.session.expire_all()
    assert {c.id: (_version(c.id), states(c), len(events(c))) for c in cases} == snapshot


@pytest.mark.parametrize(("scheme", "status"), [
    pytest.param(Scheme.QMAS, S.IN_STAY, id="qmas-in-stay"),
    pytest.param(Scheme.QMAS, S.EXTENDED, id="qmas-extended"),
    pytest.param(Scheme.GEP_ENT, S.IN_STAY, id="gep-ent-in-stay"),
    pytest.param(Scheme.ASSG, S.EXTENDED, id="assg-extended"),
])
def test_the_sweep_lapses_a_stay_the_day_after_it_ends(db, caseworker, scheme, status):
    case = make_case(caseworker, scheme, status)
    last_day = case.stay_ends_on
    version = case.version

    assert deadline_sweep.sweep(last_day, now=hk_morning(last_day))["lapsed"] == 0
    db.session.commit()
    db.session.expire_all()
    assert (db.session.get(Case, case.id).status, _version(case.id)) == (status, version)

    day_after = last_day + timedelta(days=1)
    assert deadline_sweep.sweep(day_after, now=hk_morning(day_after))["lapsed"] == 1
    db.session.commit()
    db.session.expire_all()
    case = db.session.get(Case, case.id)
    assert (case.status, case.version) == (S.LAPSED, version + 1)
    lapse = events(case)[-1]
    assert (lapse.transition, lapse.from_status, lapse.to_status) == ("lapse", status, S.LAPSED)
    assert case.open_deadlines == []
    assert states(case)[K.STAY_END][-1] == ST.MISSED


def test_the_sweep_task_runs_the_sweep_and_commits(db, caseworker, monkeypatch):
    from backoffice.cases import tasks

    case = stay_case(caseworker)  # the stay ends 2027-03-16
    db.session.commit()
    monkeypatch.setattr(tasks, "hk_today", lambda: SWEEP_DAY)

    counts = tasks.sweep_deadlines.run()
    assert counts == {"missed": 2, "window_opened": 1, "lapsed": 1}
    db.session.rollback()  # nothing left to roll back: the task committed
    db.session.expire_all()
    assert db.session.get(Case, case.id).status == S.LAPSED
    assert tasks.sweep_deadlines.run() == {"missed": 0, "window_opened": 0, "lapsed": 0}


def test_the_sweep_is_scheduled():
    from backoffice.core.celery import beat_schedule

    tasks = {entry["task"] for entry in beat_schedule().values()}
    assert "backoffice.cases.tasks.sweep_deadlines" in tasks


# --- Reading: urgency, holidays, children turning 18 ----------------------------------------------

VIEW_DAY = date(2026, 12, 1)


@pytest.mark.parametrize(("kind", "due_on", "state", "days", "urgency", "countdown"), [
    pytest.param(K.STAY_END, date(2026, 11, 30), ST.OPEN, -1, "danger", "1 day overdue",
                 id="overdue"),
    pytest.param(K.JOB_OFFER, date(2026, 11, 20), ST.OPEN, -11, "danger", "11 days overdue",
                 id="job-offer-overdue"),
    pytest.param(K.STAY_END, date(2026, 12, 1), ST.OPEN, 0, "warning", "today", id="today"),
    pytest.param(K.STAY_END, date(2026, 12, 2), ST.OPEN, 1, "warning", "1 day", id="1-day"),
    pytest.param(K.STAY_END, date(2026, 12, 8), ST.OPEN, 7, "warning", "7 days", id="7-days"),
    pytest.param(K.STAY_END, date(2026, 12, 9), ST.OPEN, 8, "info", "8 days", id="8-days"),
    pytest.param(K.STAY_END, date(2026, 12, 31), ST.OPEN, 30, "info", "30 days", id="30-days"),
    pytest.param(K.STAY_END, date(2027, 1, 1), ST.OPEN, 31, "light", "31 days", id="31-days"),
    # A window that has opened is not overdue (the sweep marks it met on its day).
    pytest.param(K.EXTENSION_WINDOW, date(2026, 11, 13), ST.OPEN, -18, "success",
                 "opened 18 days ago", id="window-opened"),
    pytest.param(K.EXTENSION_WINDOW, date(2026, 12, 1), ST.OPEN, 0, "warning", "today",
                 id="window-opens-today"),
    pytest.param(K.STAY_END, date(2026, 11, 30), ST.MET, -1, "success", "", id="met"),
    pytest.param(K.STAY_END, date(2026, 11, 30), ST.MISSED, -1, "danger", "", id="missed"),
    pytest.param(K.STAY_END, date(2026, 12, 3), ST.CANCELLED, 2, "secondary", "",
                 id="cancelled"),
])
def test_deadline_urgency(kind, due_on, state, days, urgency, countdown):
    view = stay.deadline_view(Deadline(kind=kind, due_on=due_on, state=state), VIEW_DAY)
    assert (view.days_left, view.urgency, view.countdown) == (days, urgency, countdown)


@pytest.mark.parametrize(("due_on", "note"), [
    pytest.param(date(2026, 12, 25), "Christmas Day", id="christmas-friday"),
    pytest.param(date(2026, 12, 19), "weekend", id="saturday"),
    pytest.param(date(2026, 12, 20), "weekend", id="sunday"),
    pytest.param(date(2026, 12, 26), "The first weekday after Christmas Day",
                 id="holiday-on-saturday-named"),
    pytest.param(date(2027, 2, 6), "Lunar New Year's Day", id="lunar-new-year"),
    pytest.param(date(2026, 12, 21), None, id="working-day"),
])
def test_deadline_holiday_note(due_on, note):
    view = stay.deadline_view(Deadline(kind=K.STAY_END, due_on=due_on, state=ST.OPEN), VIEW_DAY)
    assert view.holiday == note


@pytest.mark.parametrize(("born", "arrived_on", "ends_on", "turns_18"), [
    pytest.param(date(2008, 6, 1), date(2026, 3, 16), date(2027, 3, 16), date(2026, 6, 1),
                 id="during"),
    pytest.param(date(2008, 3, 16), date(2026, 3, 16), date(2027, 3, 16), None,
                 id="on-arrival-day-not-during"),
    pytest.param(date(2009, 3, 16), date(2026, 3, 16), date(2027, 3, 16), date(2027, 3, 16),
                 id="on-the-last-day"),
    pytest.param(date(2009, 3, 17), date(2026, 3, 16), date(2027, 3, 16), None, id="after"),
    pytest.param(date(2008, 2, 29), date(2026, 2, 28), date(2027, 2, 28), date(2026, 3, 1),
                 id="leapling-on-1-march"),
    pytest.param(date(2008, 2, 29), date(2026, 3, 1), date(2027, 3, 1), None,
                 id="leapling-before-arrival"),
    pytest.param(date(2010, 1, 1), None, None, None, id="not-arrived"),
])
def test_child_turns_18_during_stay(born, arrived_on, ends_on, turns_18):
    case = Case(arrived_on=arrived_on, stay_ends_on=ends_on)
    assert stay.child_turns_18_during_stay(born, case) == turns_18


def test_a_dependant_stay_follows_the_principal(db, caseworker):
    case = stay_case(caseworker)
    child = services.add_dependant(caseworker, case, Relationship.CHILD,
                                   dependant_data(date_of_birth=date(2008, 6, 1)), False,
                                   expected_version=case.version, today=TODAY)
    assert stay.child_turns_18_during_stay(child.date_of_birth, case) == date(2026, 6, 1)
    correct_step_date(caseworker, case, "record_arrival", date(2026, 6, 2), "Wrong stamp.",
                      today=date(2026, 7, 1), now=hk_morning(date(2026, 7, 1)))
    assert stay.child_turns_18_during_stay(child.date_of_birth, case) is None


# --- The database keeps deadlines honest ----------------------------------------------------------


def test_one_open_deadline_per_kind(db, caseworker):
    from sqlalchemy.exc import IntegrityError

    case = stay_case(caseworker)
    db.session.commit()
    db.session.add(Deadline(case_id=case.id, kind=K.STAY_END, due_on=date(2030, 1, 1)))
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()


def test_a_closed_deadline_has_its_closing_time(db, caseworker):
    from sqlalchemy.exc import IntegrityError

    case = stay_case(caseworker)
    db.session.commit()
    with pytest.raises(IntegrityError):
        db.session.execute(update(Deadline).where(Deadline.case_id == case.id)
                           .values(state=ST.MET))
        db.session.flush()
    db.session.rollback()
