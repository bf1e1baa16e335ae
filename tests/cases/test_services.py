"""The case services on a real database: creation, the one transition service, eligibility at
submission, dated policy versions, optimistic locking, dependants, edits, assignment, and the
CHECK constraints that tie a status to its dates.

The pure policy rules are in ``test_schemes.py``; here each rule is exercised through the
service that enforces it, on both backends. Dates are fixed (``today=``/``now=``) except where
the service reads the clock itself (removal of a dependant, event times).
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from types import SimpleNamespace

import pytest
from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from backoffice.auth.models import Role
from backoffice.cases import counts, schemes, services, stay
from backoffice.cases.events import describe_event, describe_lines, field_label
from backoffice.cases.models import (
    Applicant,
    Case,
    CaseEvent,
    Dependant,
    EventKind,
    JobOffer,
    Relationship,
)
from backoffice.cases.schemes import (
    CLOSED_STATUSES,
    CaseStatus,
    GovernmentProgramme,
    Scheme,
    policy_for,
    register,
)
from backoffice.cases.services import CaseError, StaleCase
from backoffice.core.dates import hk_today
from backoffice.extensions import db as database
from tests.cases.factories import (
    NOW,
    SUBMITTED_ON,
    TODAY,
    applicant_data,
    case_facts,
    correct_step_date,
    dependant_data,
    make_case,
    new_applicant,
    prepare_step,
)

S = CaseStatus
SEED_VERSION = "2006-06-28"
STALE_MESSAGE = "changed by someone else"


# --- helpers ------------------------------------------------------------------------------------


def events(case: Case, kind: EventKind | None = None) -> list[CaseEvent]:
    query = select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(CaseEvent.id)
    if kind is not None:
        query = query.where(CaseEvent.kind == kind)
    return list(database.session.scalars(query))


def count(model) -> int:
    return database.session.scalar(select(func.count()).select_from(model))


def snapshot(case: Case) -> dict:
    """What a refused change must leave as it was."""
    database.session.flush()
    return {
        "status": case.status,
        "version": case.version,
        "assignee_id": case.assignee_id,
        "family_name": case.applicant.family_name,
        "submitted_on": case.submitted_on,
        "policy_version": case.policy_version,
        "events": [(e.kind, e.transition) for e in events(case)],
        "dependants": [(d.id, d.removed_at) for d in case.dependants],
    }


def submit(case: Case, actor, now: datetime = NOW):
    return services.transition(case, "submit", actor, expected_version=case.version, now=now)


# --- create_case --------------------------------------------------------------------------------


def test_create_case_opens_a_draft_assigned_to_its_creator(db, caseworker):
    case = services.create_case(caseworker, Scheme.GEP_ENT, applicant_data(),
                                case_facts(Scheme.GEP_ENT), today=TODAY)
    db.session.commit()

    case = db.session.get(Case, case.id)
    assert case.reference == "GEP_ENT-2026-000001"
    assert case.status == S.DRAFT
    assert case.assignee_id == caseworker.id
    assert case.created_by_id == caseworker.id
    assert case.submitted_on == SUBMITTED_ON
    assert case.policy_version is None
    assert case.version == 1
    assert case.applicant.name_search == "chan mei ling 陳美玲"
    [created] = events(case)
    assert (created.kind, created.actor_id, created.from_status, created.to_status) == (
        EventKind.CREATED, caseworker.id, None, S.DRAFT)


def test_references_count_per_scheme_and_year(db, caseworker):
    made = [
        (Scheme.QMAS, TODAY, "QMAS-2026-000001"),
        (Scheme.QMAS, TODAY, "QMAS-2026-000002"),
        (Scheme.GEP_ENT, TODAY, "GEP_ENT-2026-000001"),
        (Scheme.ASSG, TODAY, "ASSG-2026-000001"),
        (Scheme.QMAS, date(2026, 12, 31), "QMAS-2026-000003"),
        (Scheme.QMAS, date(2027, 1, 1), "QMAS-2027-000001"),
        (Scheme.GEP_PRO, date(2027, 1, 4), "GEP_PRO-2027-000001"),
        (Scheme.QMAS, date(2027, 1, 4), "QMAS-2027-000002"),
    ]
    references = [
        services.create_case(caseworker, scheme, new_applicant(), case_facts(scheme),
                             today=today).reference
        for scheme, today, _ in made
    ]
    assert references == [expected for *_, expected in made]


@pytest.mark.parametrize(
    ("applicant", "facts", "message"),
    [
        pytest.param({}, {"submitted_on": TODAY}, None, id="submitted-today"),
        pytest.param({}, {"submitted_on": TODAY + timedelta(days=1)},
                     "The submission date 17 Mar 2026 is in the future; enter the date the "
                     "application was received.", id="submitted-tomorrow"),
        pytest.param({"date_of_birth": TODAY}, {}, None, id="born-today"),
        pytest.param({"date_of_birth": TODAY + timedelta(days=1)}, {},
                     "The date of birth 17 Mar 2026 is in the future.", id="born-tomorrow"),
        # TODAY is 2026-03-16: 120 years back is the earliest plausible date of birth.
        pytest.param({"date_of_birth": date(1906, 3, 16)}, {}, None, id="born-120-years-ago"),
        pytest.param({"date_of_birth": date(1906, 3, 15)}, {},
                     "The date of birth 15 Mar 1906 would make the person older than 120; "
                     "check the year.", id="born-over-120-years-ago"),
        pytest.param({"date_of_birth": date(1, 1, 1)}, {},
                     "The date of birth 1 Jan 1 would make the person older than 120; "
                     "check the year.", id="born-in-year-1"),
        pytest.param({}, {"submitted_on": date(2006, 6, 27)},
                     "No QMAS policy was in force on 27 Jun 2006; the earliest version starts on "
                     "28 Jun 2006.", id="submitted-before-any-policy"),
    ],
)
def test_create_case_refuses_impossible_dates(db, caseworker, applicant, facts, message):
    def create():
        return services.create_case(caseworker, Scheme.QMAS, applicant_data(**applicant),
                                    case_facts(**facts), today=TODAY)

    if message is None:
        assert create().status == S.DRAFT
        return
    with pytest.raises(CaseError) as refused:
        create()
    assert str(refused.value) == message
    assert (count(Case), count(Applicant), count(CaseEvent)) == (0, 0, 0)


def test_an_admin_cannot_create_cases(db, make_user):
    with pytest.raises(CaseError, match="Only caseworkers and supervisors can create cases"):
        services.create_case(make_user(Role.ADMIN), Scheme.QMAS, applicant_data(), case_facts(),
                             today=TODAY)
    assert count(Case) == 0


# --- transitions: every allowed step, walked from draft -----------------------------------------

# Written by hand from DESIGN §2, not read from the policy.
TARGET = {
    "submit": S.SUBMITTED,
    "start_review": S.UNDER_REVIEW,
    "hold_for_quota": S.AWAITING_QUOTA,
    "approve": S.APPROVED,
    "issue_visa": S.VISA_ISSUED,
    "record_arrival": S.IN_STAY,
    "request_extension": S.EXTENSION_REQUESTED,
    "grant_extension": S.EXTENDED,
    "refuse_extension": S.IN_STAY,
    "refuse": S.REFUSED,
    "refuse_ineligible": S.REFUSED,
    "withdraw": S.WITHDRAWN,
    "lapse": S.LAPSED,
    "close": S.CLOSED,
}
NEEDS_REASON = {"refuse", "refuse_ineligible", "withdraw", "close", "refuse_extension"}
# The column each step stamps; approved_on and visa_issued_on are Hong Kong dates.
STAMP = {
    "submit": "submitted_at",
    "start_review": "review_started_at",
    "approve": "approved_on",
    "issue_visa": "visa_issued_on",
    "refuse": "refused_at",
    "withdraw": "withdrawn_at",
}
DATE_STAMPS = {"approved_on", "visa_issued_on"}
STAMP_COLUMNS = [*STAMP.values(), "ended_at"]

_TO_STAY = ("submit", "start_review", "approve", "issue_visa", "record_arrival")
COMMON_PATHS = [
    (*_TO_STAY, "request_extension", "grant_extension", "request_extension", "refuse_extension",
     "close"),
    (*_TO_STAY, "request_extension", "grant_extension", "close"),
    ("withdraw",),
    ("submit", "withdraw"),
    ("submit", "start_review", "withdraw"),
    ("submit", "start_review", "approve", "withdraw"),
    ("submit", "start_review", "approve", "issue_visa", "withdraw"),
    ("submit", "refuse"),
    ("submit", "start_review", "refuse"),
    ("submit", "start_review", "approve", "lapse"),
    ("submit", "start_review", "approve", "issue_visa", "lapse"),
    (*_TO_STAY, "lapse"),
    (*_TO_STAY, "request_extension", "lapse"),
    (*_TO_STAY, "request_extension", "grant_extension", "lapse"),
]
QUOTA_PATHS = [
    ("submit", "start_review", "hold_for_quota", "approve", "issue_visa"),
    ("submit", "start_review", "hold_for_quota", "refuse"),
    ("submit", "start_review", "hold_for_quota", "withdraw"),
]
PATHS = {
    Scheme.QMAS: COMMON_PATHS + QUOTA_PATHS,
    Scheme.GEP_ENT: COMMON_PATHS,
    Scheme.GEP_PRO: COMMON_PATHS,
    Scheme.ASSG: COMMON_PATHS,
}
# 17:30 UTC is 01:30 the next day in Hong Kong: date stamps must take the Hong Kong date.
FIRST_STEP_AT = datetime(2026, 3, 16, 17, 30, tzinfo=UTC)


def step_time(i: int) -> tuple[datetime, date]:
    """The instant of the i-th step and its Hong Kong date (a day later than in UTC)."""
    now = FIRST_STEP_AT + timedelta(days=i)
    return now, now.date() + timedelta(days=1)


@pytest.mark.parametrize("scheme", list(Scheme))
def test_the_paths_cover_every_allowed_step(scheme):
    """The table below walks every (step, from) pair of the scheme's lifecycle at least once
    (but refusing an ineligible draft, which needs an ineligible case: see
    test_only_a_permanent_ground_lets_a_draft_be_refused_as_ineligible)."""
    walked = set()
    for path in PATHS[scheme]:
        status = S.DRAFT
        for name in path:
            walked.add((name, status))
            status = TARGET[name]
    policy = policy_for(scheme, SUBMITTED_ON)
    assert walked == {(t.name, src) for t in policy.transitions for src in t.sources
                      if t.name != "refuse_ineligible"}


@pytest.mark.parametrize(
    ("scheme", "path"),
    [pytest.param(scheme, path, id=f"{scheme}-{'-'.join(path)}")
     for scheme, paths in PATHS.items() for path in paths],
)
def test_every_allowed_step_writes_one_event_and_stamps_its_column(db, caseworker, scheme, path):
    case = make_case(caseworker, scheme)
    expected = dict.fromkeys(STAMP_COLUMNS)
    status = S.DRAFT
    last = FIRST_STEP_AT
    for i, name in enumerate(path):
        # Never before the step before (the extension request is made in its window).
        extra, now = prepare_step(case, name, caseworker, max(step_time(i)[0], last))
        last = now
        hk_date = hk_today(now)
        reason = f"Reason to {name}." if name in NEEDS_REASON else None
        before = events(case, EventKind.TRANSITION)

        event = services.transition(case, name, caseworker, reason=reason,
                                    expected_version=case.version, now=now, **extra)

        assert events(case, EventKind.TRANSITION) == [*before, event]
        assert (event.transition, event.from_status, event.to_status, event.actor_id,
                event.reason) == (name, status, TARGET[name], caseworker.id, reason)
        status = TARGET[name]
        assert case.status == status
        # The date the step happened (the day of ``now``; a submission's is its date).
        on = SUBMITTED_ON if name == "submit" else hk_date
        assert (event.occurred_on, case.status_since) == (on, on), name
        if name in STAMP:
            expected[STAMP[name]] = hk_date if STAMP[name] in DATE_STAMPS else now
        if status in CLOSED_STATUSES:
            expected["ended_at"] = now
        assert {c: getattr(case, c) for c in STAMP_COLUMNS} == expected, name

    db.session.commit()
    db.session.expire_all()
    stored = db.session.get(Case, case.id)
    assert stored.status == status
    assert {c: getattr(stored, c) for c in STAMP_COLUMNS} == expected
    assert len(events(stored, EventKind.TRANSITION)) == len(path)
    assert stored.policy_version == (SEED_VERSION if "submit" in path else None)


def test_reason_is_stripped_and_optional_steps_keep_a_given_reason(db, caseworker):
    case = make_case(caseworker, status=S.SUBMITTED)
    review = services.transition(case, "start_review", caseworker, reason="  Papers complete. ",
                                 now=NOW)
    refusal = services.transition(case, "refuse", caseworker, reason="\n Forged diploma.\t",
                                  now=NOW)
    assert (review.reason, refusal.reason) == ("Papers complete.", "Forged diploma.")


# --- transitions: forbidden steps ---------------------------------------------------------------

FORBIDDEN = [
    (Scheme.QMAS, S.DRAFT, "approve"),
    (Scheme.QMAS, S.DRAFT, "start_review"),
    (Scheme.QMAS, S.DRAFT, "hold_for_quota"),
    (Scheme.GEP_ENT, S.DRAFT, "refuse"),
    (Scheme.GEP_PRO, S.DRAFT, "issue_visa"),
    (Scheme.ASSG, S.DRAFT, "lapse"),
    (Scheme.ASSG, S.DRAFT, "close"),
    (Scheme.QMAS, S.SUBMITTED, "submit"),
    (Scheme.QMAS, S.SUBMITTED, "approve"),
    (Scheme.GEP_ENT, S.SUBMITTED, "record_arrival"),
    (Scheme.QMAS, S.UNDER_REVIEW, "grant_extension"),
    (Scheme.QMAS, S.AWAITING_QUOTA, "hold_for_quota"),
    (Scheme.QMAS, S.AWAITING_QUOTA, "start_review"),
    (Scheme.GEP_PRO, S.APPROVED, "refuse"),
    (Scheme.QMAS, S.VISA_ISSUED, "refuse"),
    (Scheme.ASSG, S.VISA_ISSUED, "approve"),
    (Scheme.GEP_PRO, S.IN_STAY, "withdraw"),
    (Scheme.QMAS, S.IN_STAY, "grant_extension"),
    (Scheme.GEP_ENT, S.EXTENSION_REQUESTED, "close"),
    (Scheme.QMAS, S.EXTENDED, "grant_extension"),
    (Scheme.ASSG, S.EXTENDED, "withdraw"),
]


def assert_refused_step(case, name, actor) -> None:
    before = snapshot(case)
    label = case.policy.transition(name).label
    with pytest.raises(CaseError) as refused:
        services.transition(case, name, actor, reason="A reason, so that is not the problem.",
                            expected_version=case.version, now=NOW)
    assert str(refused.value) == (
        f"“{label}” is not possible for a case with the status “{case.status.label}”.")
    assert snapshot(case) == before


@pytest.mark.parametrize(("scheme", "status", "name"),
                         [pytest.param(*row, id="-".join(row)) for row in FORBIDDEN])
def test_forbidden_steps_are_refused_naming_the_step_and_status(db, caseworker, scheme, status,
                                                                name):
    case = make_case(caseworker, scheme, status)
    assert_refused_step(case, name, caseworker)


@pytest.mark.parametrize(("scheme", "status"), [
    (Scheme.QMAS, S.REFUSED),
    (Scheme.GEP_ENT, S.WITHDRAWN),
    (Scheme.GEP_PRO, S.LAPSED),
    (Scheme.ASSG, S.CLOSED),
    (Scheme.QMAS, S.CLOSED),
])
def test_nothing_moves_a_closed_case(db, supervisor, scheme, status):
    case = make_case(supervisor, scheme, status)
    for step in case.policy.transitions:
        assert_refused_step(case, step.name, supervisor)


def test_a_step_the_scheme_does_not_have_is_refused_in_words(db, caseworker):
    case = make_case(caseworker, Scheme.GEP_ENT, S.UNDER_REVIEW)
    before = snapshot(case)
    with pytest.raises(CaseError, match="GEP \\(Entrepreneurs\\) has no step called "
                                        "“hold_for_quota”"):
        services.transition(case, "hold_for_quota", caseworker, now=NOW)
    assert snapshot(case) == before


@pytest.mark.parametrize(
    ("scheme", "status", "name", "reason"),
    [
        (Scheme.QMAS, S.SUBMITTED, "refuse", None),
        (Scheme.QMAS, S.AWAITING_QUOTA, "withdraw", ""),
        (Scheme.GEP_ENT, S.DRAFT, "withdraw", "   "),
        (Scheme.ASSG, S.UNDER_REVIEW, "refuse", "\n\t"),
        (Scheme.GEP_PRO, S.IN_STAY, "close", None),
        (Scheme.ASSG, S.EXTENSION_REQUESTED, "refuse_extension", " "),
    ],
)
def test_steps_that_need_a_reason_are_refused_without_one(db, caseworker, scheme, status, name,
                                                         reason):
    case = make_case(caseworker, scheme, status)
    before = snapshot(case)
    prompt = case.policy.transition(name).reason_prompt
    with pytest.raises(CaseError) as refused:
        services.transition(case, name, caseworker, reason=reason, now=NOW)
    assert str(refused.value) == str(prompt)
    assert str(refused.value).startswith("Give a reason to ")
    assert str(refused.value).endswith("; it is recorded and shown in the case history.")
    assert snapshot(case) == before


@pytest.mark.parametrize(("role", "allowed"), [
    (Role.CASEWORKER, False),  # a caseworker who is not the assignee
    (Role.SUPERVISOR, True),
    (Role.ADMIN, False),
])
def test_only_the_assignee_or_a_supervisor_may_move_a_case(db, caseworker, make_user, role,
                                                           allowed):
    case = make_case(caseworker, status=S.SUBMITTED)
    other = make_user(role)
    if allowed:
        event = services.transition(case, "start_review", other, now=NOW)
        assert (case.status, event.actor_id) == (S.UNDER_REVIEW, other.id)
        return
    before = snapshot(case)
    with pytest.raises(CaseError, match="Only the caseworker assigned to this case or a "
                                        "supervisor can change it"):
        services.transition(case, "start_review", other, now=NOW)
    assert snapshot(case) == before


# --- submission eligibility, through the service ------------------------------------------------

# How a refusal to submit begins: a permanent ground (judged on the fixed submission date and
# the applicant's identity) is final, anything else can still be completed or corrected.
FINAL = "This application cannot be accepted: "
INCOMPLETE = "This case cannot be submitted: "

ELIGIBILITY = [
    # QMAS: 18 or over on the submission date (2026-03-02).
    pytest.param(Scheme.QMAS, {"date_of_birth": date(2009, 1, 10)}, FINAL,
                 "The applicant is 17 on 2 Mar 2026; QMAS requires 18 or over.", id="qmas-17"),
    pytest.param(Scheme.QMAS, {"date_of_birth": date(2008, 3, 2)}, None, None,
                 id="qmas-18-on-the-submission-date"),
    pytest.param(Scheme.QMAS, {"date_of_birth": date(2008, 3, 3)}, FINAL,
                 "The applicant is 17 on 2 Mar 2026; QMAS requires 18 or over.",
                 id="qmas-day-before-18th-birthday"),
    # Judged on the submission date, not on the day the step is taken (NOW is 2026-03-16).
    pytest.param(Scheme.QMAS, {"date_of_birth": date(2008, 3, 10)}, FINAL,
                 "The applicant is 17 on 2 Mar 2026; QMAS requires 18 or over.",
                 id="qmas-18-by-the-step-but-not-on-the-submission-date"),
    pytest.param(Scheme.QMAS,
                 {"date_of_birth": date(2008, 2, 29), "submitted_on": date(2026, 2, 28)}, FINAL,
                 "The applicant is 17 on 28 Feb 2026; QMAS requires 18 or over.",
                 id="qmas-born-29-feb-on-28-feb"),
    pytest.param(Scheme.QMAS,
                 {"date_of_birth": date(2008, 2, 29), "submitted_on": date(2026, 3, 1)}, None,
                 None, id="qmas-born-29-feb-on-1-mar"),
    # ASSG: 18 to 40 inclusive; a parent who is a Chinese HK permanent resident; emigrated.
    pytest.param(Scheme.ASSG, {"date_of_birth": date(1985, 3, 3)}, None, None, id="assg-40"),
    pytest.param(Scheme.ASSG, {"date_of_birth": date(1985, 3, 2)}, FINAL,
                 "ASSG applicants must be 18 to 40 on the submission date; the applicant turned "
                 "41 on 2 Mar 2026.", id="assg-41st-birthday"),
    pytest.param(Scheme.ASSG, {"date_of_birth": date(2008, 3, 2)}, None, None, id="assg-18"),
    pytest.param(Scheme.ASSG, {"date_of_birth": date(2008, 3, 3)}, FINAL,
                 "ASSG applicants must be 18 to 40 on the submission date; the applicant is 17 "
                 "and turns 18 on 3 Mar 2026.", id="assg-17"),
    pytest.param(Scheme.ASSG, {"has_hk_parent": False}, INCOMPLETE,
                 "ASSG requires a parent who is a Chinese Hong Kong permanent resident.",
                 id="assg-no-hk-parent"),
    pytest.param(Scheme.ASSG, {"emigrated_overseas": False}, INCOMPLETE,
                 "ASSG requires the applicant to have emigrated overseas.",
                 id="assg-not-emigrated"),
    # GEP (Entrepreneurs): not nationals of Laos or Vietnam; a business plan.
    pytest.param(Scheme.GEP_ENT, {"nationality": "LA"}, FINAL,
                 "Nationals of Laos (LA) cannot apply under the General Employment Policy",
                 id="gep-ent-laos"),
    pytest.param(Scheme.GEP_ENT, {"nationality": "VN"}, FINAL,
                 "Nationals of Vietnam (VN) cannot apply under the General Employment Policy",
                 id="gep-ent-vietnam"),
    pytest.param(Scheme.GEP_ENT, {"nationality": "TH"}, None, None, id="gep-ent-thailand"),
    pytest.param(Scheme.GEP_ENT, {"business_plan": " "}, INCOMPLETE, "A business plan is required",
                 id="gep-ent-no-business-plan"),
    # GEP (Professionals): a confirmed job offer, every part of it named when missing.
    pytest.param(Scheme.GEP_PRO, {"job_employer": None, "job_salary": None}, INCOMPLETE,
                 "GEP (Professionals) requires a confirmed job offer; missing: employer, salary.",
                 id="gep-pro-no-employer-no-salary"),
    pytest.param(Scheme.GEP_PRO, {"job_relevance": "  ", "job_local_unavailability": None},
                 INCOMPLETE,
                 "GEP (Professionals) requires a confirmed job offer; missing: relevance to "
                 "qualifications or experience, why it cannot readily be filled locally.",
                 id="gep-pro-no-justification"),
    pytest.param(Scheme.GEP_PRO, {"job_post": ""}, INCOMPLETE,
                 "GEP (Professionals) requires a confirmed job offer; missing: post.",
                 id="gep-pro-no-post"),
    pytest.param(Scheme.GEP_PRO, {}, None, None, id="gep-pro-complete-offer"),
]


@pytest.mark.parametrize(("scheme", "overrides", "kind", "problem"), ELIGIBILITY)
def test_submission_eligibility(db, caseworker, scheme, overrides, kind, problem):
    case = make_case(caseworker, scheme, **overrides)
    if problem is None:
        submit(case, caseworker)
        assert case.status == S.SUBMITTED
        assert case.policy_version == SEED_VERSION
        assert case.submitted_at == NOW
        return
    before = snapshot(case)
    with pytest.raises(CaseError) as refused:
        submit(case, caseworker)
    assert str(refused.value).startswith(kind)
    assert problem in str(refused.value)
    assert " yet" not in str(refused.value)
    assert snapshot(case) == before
    assert case.submitted_at is None


def offered(case: Case, actor) -> dict[str, str | None]:
    """The steps the case page offers, by name, with why each cannot be taken (None: it can)."""
    return {option.name: option.refusal and str(option.refusal)
            for option in services.step_options(case, actor, NOW)}


@pytest.mark.parametrize(("scheme", "overrides", "kind", "problem"), ELIGIBILITY)
def test_only_a_permanent_ground_lets_a_draft_be_refused_as_ineligible(
        db, caseworker, scheme, overrides, kind, problem):
    # Backed by a programme where the scheme favours one: a refusal does not earn it.
    backed = {"programme": GovernmentProgramme.CYBERPORT_INCUBATION} \
        if scheme == Scheme.GEP_ENT else {}
    case = make_case(caseworker, scheme, **backed, **overrides)
    steps = offered(case, caseworker)
    if kind != FINAL:
        # Offered only on a permanent ground; asked for anyway, refused in words.
        assert "refuse_ineligible" not in steps
        if kind is None:
            assert steps["submit"] is None
        else:
            assert steps["submit"].startswith(INCOMPLETE) and problem in steps["submit"]
        before = snapshot(case)
        with pytest.raises(CaseError, match="so it cannot be refused as ineligible"):
            services.transition(case, "refuse_ineligible", caseworker, reason="Ineligible.",
                                expected_version=case.version, now=NOW)
        assert snapshot(case) == before
        return
    # Submit is shown as impossible, with the ground; the refusal is offered instead.
    assert steps["submit"].startswith(FINAL) and problem in steps["submit"]
    assert steps["refuse_ineligible"] is None
    with pytest.raises(CaseError, match="Give a reason to refuse this application as "
                                        "ineligible"):
        services.transition(case, "refuse_ineligible", caseworker, reason=" ", now=NOW)

    event = services.transition(case, "refuse_ineligible", caseworker, reason="Not eligible.",
                                expected_version=case.version, now=NOW)

    # Received and refused in one step: one event, both stamps, the judging policy kept.
    assert events(case, EventKind.TRANSITION) == [event]
    assert (event.transition, event.from_status, event.to_status, event.reason) == (
        "refuse_ineligible", S.DRAFT, S.REFUSED, "Not eligible.")
    assert (case.status, case.submitted_at, case.refused_at, case.ended_at) == (
        S.REFUSED, NOW, NOW, NOW)
    assert (case.policy_version, case.favourable_consideration) == (SEED_VERSION, False)
    # The ground is kept as a key and values, and the history says it in words.
    assert event.detail_data["key"] == "refused_ineligible"
    assert describe_event(event).startswith("Refused as ineligible: ")
    assert problem in describe_event(event)
    database.session.commit()  # the status's CHECK constraints hold
    database.session.expire_all()
    assert database.session.get(Case, case.id).status == S.REFUSED
    assert offered(case, caseworker) == {}


@pytest.mark.parametrize(("scheme", "programme", "favourable"), [
    (Scheme.GEP_ENT, None, False),
    (Scheme.GEP_ENT, GovernmentProgramme.STARTMEUPHK_VENTURE, True),
    (Scheme.GEP_ENT, GovernmentProgramme.CYBERPORT_INCUBATION, True),
    (Scheme.GEP_ENT, GovernmentProgramme.HKDC_DESIGN_INCUBATION, True),
    (Scheme.QMAS, GovernmentProgramme.HKSTP_INCU_TECH, False),
])
def test_a_government_programme_earns_favourable_consideration(db, caseworker, scheme, programme,
                                                                favourable):
    case = make_case(caseworker, scheme, programme=programme)
    assert case.favourable_consideration is False
    submit(case, caseworker)
    db.session.commit()
    db.session.expire_all()
    assert db.session.get(Case, case.id).favourable_consideration is favourable


# --- a later policy version ---------------------------------------------------------------------

LATER_VERSIONS = [
    # DESIGN §2: from 25 Oct 2023 nationals of Laos and Vietnam may apply.
    pytest.param(Scheme.GEP_ENT, date(2023, 10, 25), {"excluded_nationalities": frozenset()},
                 {"nationality": "VN"}, False, True, id="gep-ent-vietnam-admitted"),
    # Invented changes, to show any rule moves by data alone.
    pytest.param(Scheme.ASSG, date(2026, 1, 1), {"max_age": 45},
                 {"date_of_birth": date(1983, 6, 1)}, False, True, id="assg-max-age-45"),
    pytest.param(Scheme.QMAS, date(2026, 1, 1), {"min_age": 21},
                 {"date_of_birth": date(2005, 6, 1)}, True, False, id="qmas-min-age-21"),
]


@pytest.fixture
def registry(monkeypatch):
    """A copy of the policy registry that ``policy_for`` (and so every service) reads; the
    real one is put back after the test."""
    copy = dict(schemes.POLICIES)
    monkeypatch.setattr(schemes, "POLICIES", copy)
    return copy


@pytest.mark.parametrize(
    ("scheme", "effective_from", "changes", "overrides", "accepted_before", "accepted_after"),
    LATER_VERSIONS,
)
def test_a_later_policy_version_judges_cases_submitted_from_its_date(
        db, caseworker, registry, scheme, effective_from, changes, overrides, accepted_before,
        accepted_after):
    day_before = effective_from - timedelta(days=1)
    seed = policy_for(scheme, day_before)
    register(dataclasses.replace(seed, version=f"v{effective_from}", effective_from=effective_from,
                                 **changes), registry)

    for submitted_on, accepted, version in [(day_before, accepted_before, seed.version),
                                            (effective_from, accepted_after, f"v{effective_from}")]:
        case = make_case(caseworker, scheme, submitted_on=submitted_on, **overrides)
        if accepted:
            submit(case, caseworker)
            assert (case.status, case.policy_version) == (S.SUBMITTED, version), submitted_on
        else:
            with pytest.raises(CaseError, match="This application cannot be accepted"):
                submit(case, caseworker)
            assert (case.status, case.policy_version) == (S.DRAFT, None), submitted_on


def test_a_submitted_case_keeps_the_version_it_was_judged_by(db, caseworker, registry):
    case = make_case(caseworker, Scheme.GEP_ENT, S.SUBMITTED, submitted_on=date(2024, 1, 8))
    assert case.policy_version == SEED_VERSION
    register(dataclasses.replace(policy_for(Scheme.GEP_ENT, TODAY), version="v2024",
                                 effective_from=date(2024, 1, 1)), registry)
    services.transition(case, "start_review", caseworker, now=NOW)
    db.session.commit()
    db.session.expire_all()
    assert db.session.get(Case, case.id).policy_version == SEED_VERSION


# --- optimistic locking -------------------------------------------------------------------------

STALE_OPERATIONS = {
    "transition": lambda actor, case, v: services.transition(
        case, "submit", actor, expected_version=v, now=NOW),
    "update_case": lambda actor, case, v: services.update_case(
        actor, case, applicant_data(family_name="Wong"), case_facts(), expected_version=v,
        today=TODAY),
    "add_dependant": lambda actor, case, v: services.add_dependant(
        actor, case, Relationship.CHILD, dependant_data(), False, expected_version=v,
        today=TODAY),
    "remove_dependant": lambda actor, case, v: services.remove_dependant(
        actor, case, case.dependants[0], "Divorced.", expected_version=v),
    "take_case": lambda actor, case, v: services.take_case(actor, case, expected_version=v),
}


@pytest.mark.parametrize("operation", list(STALE_OPERATIONS))
def test_a_change_from_a_stale_form_is_refused_and_changes_nothing(db, caseworker, operation):
    case = make_case(caseworker)
    services.add_dependant(caseworker, case, Relationship.SPOUSE,
                           dependant_data(given_names="Siu Ming", date_of_birth=date(1988, 1, 1)),
                           None, expected_version=case.version, today=TODAY)
    db.session.commit()
    form_version = case.version
    # Someone else saves the case after the form was rendered.
    services.update_case(caseworker, case, applicant_data(email="new@example.com"), case_facts(),
                         expected_version=form_version, today=TODAY)
    db.session.commit()
    assert case.version == form_version + 1
    before = snapshot(case)

    with pytest.raises(StaleCase) as refused:
        STALE_OPERATIONS[operation](caseworker, case, form_version)

    assert STALE_MESSAGE in str(refused.value)
    assert snapshot(case) == before
    db.session.commit()
    db.session.expire_all()
    assert snapshot(db.session.get(Case, case.id)) == before


def test_two_sessions_saving_the_same_case_the_second_flush_fails_and_writes_nothing(
        db, caseworker):
    case_id = make_case(caseworker, Scheme.GEP_ENT).id
    db.session.commit()  # reading the id began a transaction; SQLite would hold its lock
    # The second session reads the case (a form is rendered) and ends its transaction, keeping
    # what it read; SQLite allows one writing transaction at a time.
    other = Session(db.engine, expire_on_commit=False)
    try:
        stale = other.get(Case, case_id)
        assert stale.version == 1
        other.commit()

        # Meanwhile the first session saves an edit and commits.
        services.update_case(caseworker, db.session.get(Case, case_id),
                             applicant_data(family_name="Wong"),
                             case_facts(Scheme.GEP_ENT, business_plan="Plan B."),
                             expected_version=1, today=TODAY)
        db.session.commit()

        # The second session writes the applicant and the case, as an edit does.
        stale.applicant.family_name = "Lee"
        stale.applicant.name_search = "lee mei ling"
        stale.business_plan = "Plan C."
        stale.updated_at = NOW
        with pytest.raises(StaleDataError):
            other.flush()
        other.rollback()
    finally:
        other.close()

    db.session.expire_all()
    stored = db.session.get(Case, case_id)
    assert (stored.version, stored.business_plan) == (2, "Plan B.")
    assert (stored.applicant.family_name, stored.applicant.name_search) == (
        "Wong", "wong mei ling 陳美玲")
    assert [e.kind for e in events(stored)] == [EventKind.CREATED, EventKind.EDITED]


# --- dependants ---------------------------------------------------------------------------------

DEPENDANTS = [
    pytest.param(Relationship.SPOUSE, date(1988, 1, 1), None, SUBMITTED_ON, None, id="spouse"),
    pytest.param(Relationship.SPOUSE, date(1988, 1, 1), True, SUBMITTED_ON, None,
                 id="spouse-married-flag-ignored"),
    pytest.param(Relationship.CHILD, date(2015, 9, 1), False, SUBMITTED_ON, None, id="child-10"),
    pytest.param(Relationship.CHILD, date(2008, 3, 3), False, date(2026, 3, 2), None,
                 id="child-day-before-18th-birthday"),
    pytest.param(Relationship.CHILD, date(2008, 3, 2), False, date(2026, 3, 2),
                 "Turned 18 on 2 Mar 2026, on the submission date (2 Mar 2026); children must "
                 "be under 18 on that date.", id="child-18th-birthday-on-submission-date"),
    pytest.param(Relationship.CHILD, date(2008, 3, 2), False, date(2026, 3, 10),
                 "Turned 18 on 2 Mar 2026, before the submission date (10 Mar 2026); children "
                 "must be under 18 on that date.", id="child-18-before-submission-date"),
    pytest.param(Relationship.CHILD, date(2008, 2, 29), False, date(2026, 2, 28), None,
                 id="child-born-29-feb-17-on-28-feb"),
    pytest.param(Relationship.CHILD, date(2008, 2, 29), False, date(2026, 3, 1),
                 "Turned 18 on 1 Mar 2026, on the submission date (1 Mar 2026); children must "
                 "be under 18 on that date.", id="child-born-29-feb-18-on-1-mar"),
    pytest.param(Relationship.CHILD, date(2008, 2, 29), False, date(2026, 3, 2),
                 "Turned 18 on 1 Mar 2026, before the submission date (2 Mar 2026); children "
                 "must be under 18 on that date.", id="child-born-29-feb-18-before"),
    pytest.param(Relationship.CHILD, date(2012, 1, 1), True, SUBMITTED_ON,
                 "Only unmarried children can be dependants.", id="married-child"),
    pytest.param(Relationship.CHILD, date(2026, 3, 5), False, date(2026, 3, 2), None,
                 id="child-born-after-submission"),
    pytest.param(Relationship.CHILD, date(2026, 3, 20), False, SUBMITTED_ON,
                 "The date of birth 20 Mar 2026 is in the future.", id="child-born-in-future"),
]


@pytest.mark.parametrize(("relation", "born", "married", "submitted_on", "problem"), DEPENDANTS)
def test_who_can_be_a_dependant(db, caseworker, relation, born, married, submitted_on, problem):
    case = make_case(caseworker, submitted_on=submitted_on)

    def add():
        return services.add_dependant(caseworker, case, relation,
                                      dependant_data(date_of_birth=born), married,
                                      expected_version=case.version, today=TODAY)

    if problem is None:
        dependant = add()
        db.session.commit()
        assert case.active_dependants == [dependant]
        assert (dependant.relation, dependant.married, dependant.added_by_id) == (
            relation, False if relation == Relationship.CHILD else None, caseworker.id)
        [added] = events(case, EventKind.DEPENDANT_ADDED)
        assert (added.actor_id, added.detail_data) == (caseworker.id, {
            "key": "dependant_added", "relation": relation.value, "name": "CHAN, Ka Ho"})
        assert describe_event(added) == f"{relation.label}: CHAN, Ka Ho"
        return
    before = snapshot(case)
    with pytest.raises(CaseError) as refused:
        add()
    assert str(refused.value) == problem
    assert snapshot(case) == before
    assert count(Dependant) == 0


def add_spouse(actor, case, given_names: str = "Siu Ming"):
    return services.add_dependant(
        actor, case, Relationship.SPOUSE,
        dependant_data(given_names=given_names, date_of_birth=date(1988, 1, 1)), None,
        expected_version=case.version, today=TODAY)


def test_a_second_spouse_is_refused(db, caseworker):
    case = make_case(caseworker)
    add_spouse(caseworker, case)
    before = snapshot(case)
    with pytest.raises(CaseError) as refused:
        add_spouse(caseworker, case, "Tai Man")
    assert str(refused.value) == ("The case already has a spouse (CHAN, Siu Ming); remove that "
                                  "record first.")
    assert snapshot(case) == before


def test_a_removed_dependant_stays_on_record_and_a_new_spouse_can_follow(db, caseworker):
    case = make_case(caseworker)
    first = add_spouse(caseworker, case)
    db.session.commit()

    services.remove_dependant(caseworker, case, first, "  Divorced in 2025. ",
                              expected_version=case.version)
    second = add_spouse(caseworker, case, "Tai Man")
    db.session.commit()
    db.session.expire_all()

    case = db.session.get(Case, case.id)
    assert [d.id for d in case.dependants] == [first.id, second.id]  # the row is kept
    assert case.active_dependants == [second]
    removed = db.session.get(Dependant, first.id)
    assert removed.removed_at is not None
    assert (removed.removed_by_id, removed.removal_reason) == (caseworker.id, "Divorced in 2025.")
    [removal] = events(case, EventKind.DEPENDANT_REMOVED)
    assert (removal.actor_id, removal.reason, removal.detail_data) == (
        caseworker.id, "Divorced in 2025.",
        {"key": "dependant_removed", "relation": "spouse", "name": "CHAN, Siu Ming"})
    assert describe_event(removal) == "Spouse: CHAN, Siu Ming"
    assert len(events(case, EventKind.DEPENDANT_ADDED)) == 2


@pytest.mark.parametrize("reason", [None, "", "   "])
def test_removing_a_dependant_needs_a_reason(db, caseworker, reason):
    case = make_case(caseworker)
    spouse = add_spouse(caseworker, case)
    before = snapshot(case)
    with pytest.raises(CaseError, match="Give a reason for removing the dependant"):
        services.remove_dependant(caseworker, case, spouse, reason, expected_version=case.version)
    assert snapshot(case) == before
    assert spouse.removed_at is None


def test_a_dependant_can_be_removed_only_once(db, caseworker):
    case = make_case(caseworker)
    spouse = add_spouse(caseworker, case)
    services.remove_dependant(caseworker, case, spouse, "Divorced.", expected_version=case.version)
    with pytest.raises(CaseError, match="That dependant is not on this case"):
        services.remove_dependant(caseworker, case, spouse, "Again.",
                                  expected_version=case.version)


def test_the_database_allows_one_current_spouse_per_case(db, caseworker):
    case = make_case(caseworker)
    add_spouse(caseworker, case)
    db.session.commit()
    row = {"case_id": case.id, "relation": Relationship.SPOUSE, "family_name": "Chan",
           "given_names": "Tai Man", "date_of_birth": date(1987, 2, 3), "nationality": "CA",
           "passport_number": "ZZ0000001", "added_by_id": caseworker.id,
           "name_search": "chan tai man"}
    # A removed spouse is history, not a second spouse: the index is partial.
    db.session.execute(insert(Dependant).values(**row, removed_at=NOW, removal_reason="Old."))
    db.session.commit()
    with pytest.raises(IntegrityError):
        db.session.execute(insert(Dependant).values(**row))
    db.session.rollback()
    assert count(Dependant) == 2


def test_submitting_checks_the_dependants_again(db, caseworker):
    case = make_case(caseworker, submitted_on=date(2026, 3, 2))
    services.add_dependant(caseworker, case, Relationship.CHILD,
                           dependant_data(given_names="Ka Yan", date_of_birth=date(2008, 3, 5)),
                           False, expected_version=case.version, today=TODAY)
    # The submission date is corrected on the draft: the child is now 18 on it.
    services.update_case(caseworker, case, applicant_data(),
                         case_facts(submitted_on=date(2026, 3, 10)),
                         expected_version=case.version, today=TODAY)
    db.session.commit()
    before = snapshot(case)

    with pytest.raises(CaseError) as refused:
        submit(case, caseworker)

    assert str(refused.value) == (
        "This case cannot be submitted: CHAN, Ka Yan: Turned 18 on 5 Mar 2026, before the "
        "submission date (10 Mar 2026); children must be under 18 on that date.")
    assert snapshot(case) == before


# --- update_case --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("applicant", "facts", "changes", "lines"),
    [
        pytest.param({"family_name": "Wong"}, {}, [("family_name", "Chan", "Wong")],
                     ["Family name: Chan → Wong"], id="name"),
        pytest.param({"email": "mei@example.org", "phone": None}, {},
                     [("email", "mei.ling.chan@example.com", "mei@example.org"),
                      ("phone", "+1 604 555 0100", None)],
                     ["Email: mei.ling.chan@example.com → mei@example.org",
                      "Phone: +1 604 555 0100 → (none)"], id="contact"),
        pytest.param({}, {"submitted_on": date(2026, 3, 9)},
                     [("submitted_on", "2026-03-02", "2026-03-09")],
                     ["Submission date: 2 Mar 2026 → 9 Mar 2026"],
                     id="submission-date-of-a-draft"),
        pytest.param({"date_of_birth": date(1990, 5, 18)},
                     {"job_salary": Decimal("50000.00"), "emigrated_overseas": True},
                     [("date_of_birth", "1990-05-17", "1990-05-18"),
                      ("job_salary", None, "50000.00"), ("emigrated_overseas", False, True)],
                     ["Date of birth: 17 May 1990 → 18 May 1990",
                      "Monthly salary (HKD): (none) → 50,000",
                      "Emigrated overseas: No → Yes"],
                     id="applicant-and-facts"),
        pytest.param({"passport_number": "XY7654321", "hkid": "A123456(3)"}, {},
                     [("passport_number", "AB1234567", "XY7654321"),
                      ("hkid", None, "A123456(3)")],
                     ["Passport number: •••••567 → •••••321",
                      "HKID number: (none) → A123***(*)"], id="identity-numbers-masked"),
        pytest.param({"nationality": "PH", "language": "zh_Hant_HK", "email_consent": False},
                     {"programme": GovernmentProgramme.CYBERPORT_INCUBATION},
                     [("nationality", "CA", "PH"), ("email_consent", True, False),
                      ("language", "en", "zh_Hant_HK"),
                      ("programme", None, "cyberport_incubation")],
                     ["Nationality: Canada → Philippines",
                      "Consent to email reminders: Yes → No",
                      "Preferred language for correspondence: English → 繁體中文",
                      "Government-backed programme: (none) → Cyberport Incubation Programme"],
                     id="codes-by-their-names"),
        pytest.param({}, {"business_plan": "A tea house " * 20},
                     [("business_plan", None, "A tea house " * 20)],
                     ["Business plan: (none) → " + "A tea house " * 6 + "A tea h…"],
                     id="long-text-shortened"),
        pytest.param({}, {}, [], [], id="nothing"),
    ],
)
def test_update_case_records_each_fields_old_and_new_value(db, caseworker, applicant, facts,
                                                          changes, lines):
    case = make_case(caseworker)
    version = case.version

    result = services.update_case(caseworker, case, applicant_data(**applicant),
                                  case_facts(**facts), expected_version=version, today=TODAY)
    db.session.commit()
    db.session.expire_all()

    assert result == [name for name, _before, _after in changes]
    case = db.session.get(Case, case.id)
    edits = events(case, EventKind.EDITED)
    if not changes:
        assert (edits, case.version) == ([], version)
        return
    assert case.version == version + 1
    assert [(e.actor_id, e.detail_data) for e in edits] == [
        (caseworker.id, {"key": "fields_changed", "changes": [
            {"field": name, "from": before, "to": after} for name, before, after in changes]})]
    assert describe_lines(edits[0]) == lines
    assert describe_event(edits[0]) == "; ".join(lines)
    for name, value in (applicant | facts).items():
        assert getattr(case.applicant if name in applicant else case, name) == value


def test_every_editable_field_has_a_label_in_the_history():
    editable = [f.name for kind in (services.ApplicantData, services.CaseFacts)
                for f in dataclasses.fields(kind)]
    assert [name for name in editable if field_label(name) == name] == []


def test_an_older_edit_event_still_names_its_fields(app):
    older = SimpleNamespace(detail_data={"key": "fields_changed",
                                         "fields": ["phone", "submitted_on"]}, detail=None)
    with app.test_request_context():
        assert describe_lines(older) == ["Changed: Phone, Submission date"]


def test_contact_details_can_still_change_after_submission(db, caseworker):
    case = make_case(caseworker, Scheme.GEP_PRO, S.UNDER_REVIEW)
    changed = services.update_case(caseworker, case, applicant_data(email="new@example.org"),
                                   case_facts(Scheme.GEP_PRO), expected_version=case.version,
                                   today=TODAY)
    assert changed == ["email"]


@pytest.mark.parametrize(
    ("scheme", "facts", "named"),
    [
        (Scheme.QMAS, {"submitted_on": date(2026, 3, 3)}, "Submission date"),
        (Scheme.GEP_ENT, {"business_plan": "Another plan."}, "Business plan"),
        (Scheme.GEP_ENT, {"programme": GovernmentProgramme.HKSTP_INCU_BIO},
         "Government-backed programme"),
        (Scheme.GEP_PRO, {"job_salary": Decimal("90000.00")}, "Monthly salary (HKD)"),
        (Scheme.ASSG, {"has_hk_parent": False},
         "Parent who is a Chinese Hong Kong permanent resident"),
    ],
)
def test_after_submission_the_decision_facts_cannot_change(db, caseworker, scheme, facts, named):
    case = make_case(caseworker, scheme, S.SUBMITTED)
    before = snapshot(case)
    with pytest.raises(CaseError) as refused:
        services.update_case(caseworker, case, applicant_data(family_name="Wong"),
                             case_facts(scheme, **facts), expected_version=case.version,
                             today=TODAY)
    assert str(refused.value).startswith("The submission date")
    assert str(refused.value).endswith(
        f"cannot change after submission (changed: {named}).")
    assert snapshot(case) == before


@pytest.mark.parametrize(
    ("scheme", "applicant", "named"),
    [
        # Would make the applicant 17 on the submission date.
        (Scheme.QMAS, {"date_of_birth": date(2008, 3, 3)}, "Date of birth"),
        # Would make the applicant a national the scheme excludes.
        (Scheme.GEP_ENT, {"nationality": "VN"}, "Nationality"),
    ],
)
def test_after_submission_the_facts_the_policy_judged_cannot_change(db, caseworker, scheme,
                                                                    applicant, named):
    """update_case's contract: "After submission the submission date and the facts the policy
    judged are fixed". The policy judged the applicant's date of birth and nationality too."""
    case = make_case(caseworker, scheme, S.SUBMITTED)
    before = snapshot(case)
    with pytest.raises(CaseError) as refused:
        services.update_case(caseworker, case, applicant_data(**applicant), case_facts(scheme),
                             expected_version=case.version, today=TODAY)
    assert str(refused.value).endswith(
        f"cannot change after submission (changed: {named}).")
    assert snapshot(case) == before


@pytest.mark.parametrize("status", sorted(CLOSED_STATUSES))
def test_a_closed_case_cannot_be_edited(db, caseworker, status):
    case = make_case(caseworker, Scheme.GEP_ENT, status)
    before = snapshot(case)
    message = {S.REFUSED: "This case was refused; it can no longer be changed.",
               S.WITHDRAWN: "This case was withdrawn; it can no longer be changed.",
               S.LAPSED: "This case has lapsed; it can no longer be changed.",
               S.CLOSED: "This case is closed; it can no longer be changed."}[status]
    with pytest.raises(CaseError) as refused:
        services.update_case(caseworker, case, applicant_data(email="new@example.org"),
                             case_facts(Scheme.GEP_ENT), expected_version=case.version,
                             today=TODAY)
    assert str(refused.value) == message
    with pytest.raises(CaseError) as refused:
        services.add_dependant(caseworker, case, Relationship.CHILD, dependant_data(), False,
                               expected_version=case.version, today=TODAY)
    assert str(refused.value) == message
    assert snapshot(case) == before


# --- take_case and reassign ---------------------------------------------------------------------


def test_a_caseworker_takes_an_unassigned_case(db, supervisor, caseworker):
    case = make_case(supervisor)
    assert services.reassign(supervisor, [case], None).reassigned == [case]
    db.session.commit()
    assert case.assignee_id is None

    services.take_case(caseworker, case, expected_version=case.version)
    db.session.commit()

    assert db.session.get(Case, case.id).assignee_id == caseworker.id
    assigned = events(case, EventKind.ASSIGNED)
    assert [(e.actor_id, e.detail_data) for e in assigned] == [
        (supervisor.id, {"key": "assigned", "from": supervisor.full_name, "to": None}),
        (caseworker.id, {"key": "assigned", "from": None, "to": caseworker.full_name}),
    ]
    assert [describe_event(e) for e in assigned] == [
        f"Returned to the unassigned queue (was {supervisor.full_name}).",
        f"Assigned to {caseworker.full_name}."]


def test_assignment_changes_in_one_transaction_name_the_right_people(db, supervisor,
                                                                      caseworker):
    """A command may change a case's assignee twice before it commits; each event must name
    who had the case at that moment, and ``case.assignee`` must follow ``assignee_id``."""
    case = make_case(supervisor)
    services.reassign(supervisor, [case], None)
    assert case.assignee is None
    services.take_case(caseworker, case)
    assert case.assignee == caseworker
    assert [e.detail_data for e in events(case, EventKind.ASSIGNED)] == [
        {"key": "assigned", "from": supervisor.full_name, "to": None},
        {"key": "assigned", "from": None, "to": caseworker.full_name}]


def test_taking_an_assigned_case_is_refused_naming_the_assignee(db, caseworker, make_user):
    case = make_case(caseworker)
    other = make_user(Role.CASEWORKER)
    before = snapshot(case)
    with pytest.raises(CaseError) as refused:
        services.take_case(other, case)
    assert str(refused.value) == f"This case is already assigned to {caseworker.full_name}."
    with pytest.raises(CaseError, match="already assigned to you"):
        services.take_case(caseworker, case)
    assert snapshot(case) == before


def test_a_closed_case_cannot_be_taken(db, supervisor, caseworker):
    case = make_case(supervisor)
    services.reassign(supervisor, [case], None)
    services.transition(case, "withdraw", supervisor, reason="Applicant withdrew.", now=NOW)
    before = snapshot(case)
    with pytest.raises(CaseError, match="This case cannot be taken"):
        services.take_case(caseworker, case)
    assert snapshot(case) == before


def test_a_supervisor_reassigns_several_cases_at_once(db, supervisor, caseworker, make_user):
    target = make_user(Role.CASEWORKER)
    moving = [make_case(caseworker, scheme) for scheme in (Scheme.QMAS, Scheme.ASSG,
                                                           Scheme.GEP_PRO)]
    closed = make_case(caseworker, status=S.WITHDRAWN)  # skipped: closed
    already = make_case(target)  # skipped: already the target's
    outcome = services.reassign(supervisor, [*moving, closed, already], target)
    assert outcome.reassigned == moving
    assert outcome.skipped == [(closed, services.SkipReason.ENDED),
                               (already, services.SkipReason.ALREADY_THEIRS)]
    db.session.commit()
    db.session.expire_all()

    for case in moving:
        assert db.session.get(Case, case.id).assignee_id == target.id
        [event] = events(case, EventKind.ASSIGNED)
        assert (event.actor_id, event.detail_data) == (supervisor.id, {
            "key": "assigned", "from": caseworker.full_name, "to": target.full_name})
        assert describe_event(event) == (
            f"Reassigned from {caseworker.full_name} to {target.full_name}.")
    assert db.session.get(Case, closed.id).assignee_id == caseworker.id
    assert events(closed, EventKind.ASSIGNED) == events(already, EventKind.ASSIGNED) == []


def test_a_caseworker_cannot_reassign(db, caseworker, make_user):
    case = make_case(caseworker)
    other = make_user(Role.CASEWORKER)
    before = snapshot(case)
    with pytest.raises(CaseError, match="Only supervisors can reassign cases"):
        services.reassign(caseworker, [case], other)
    assert snapshot(case) == before


@pytest.mark.parametrize(("role", "active"), [
    pytest.param(Role.CASEWORKER, False, id="deactivated-caseworker"),
    pytest.param(Role.SUPERVISOR, False, id="deactivated-supervisor"),
    pytest.param(Role.ADMIN, True, id="admin"),
])
def test_cases_go_only_to_active_caseworkers(db, supervisor, make_user, role, active):
    case = make_case(supervisor)
    target = make_user(role, active=active)
    before = snapshot(case)
    with pytest.raises(CaseError) as refused:
        services.reassign(supervisor, [case], target)
    assert str(refused.value) == (f"{target.full_name} cannot be given cases (the account is "
                                  "not an active caseworker or supervisor).")
    assert snapshot(case) == before


# --- CHECK constraints: a status is tied to its dates -------------------------------------------

CHECKS = [
    pytest.param(S.UNDER_REVIEW, {"status": "approved"}, "approved_has_date",
                 id="approved-without-approved_on"),
    pytest.param(S.UNDER_REVIEW, {"status": "approved", "approved_on": date(2026, 3, 17)}, None,
                 id="approved-with-approved_on"),
    pytest.param(S.VISA_ISSUED, {"approved_on": None}, "approved_has_date",
                 id="visa-issued-without-approved_on"),
    pytest.param(S.SUBMITTED, {"policy_version": None}, "submission_has_policy",
                 id="submitted-without-policy"),
    pytest.param(S.DRAFT, {"policy_version": SEED_VERSION}, "submission_has_policy",
                 id="draft-with-policy"),
    pytest.param(S.REFUSED, {"submitted_at": None, "policy_version": None},
                 "submitted_has_date", id="refused-without-submitted_at"),
    pytest.param(S.SUBMITTED, {"status": "under_review"}, "reviewed_has_date",
                 id="under-review-without-review-date"),
    pytest.param(S.REFUSED, {"refused_at": None}, "refused_has_date",
                 id="refused-without-refused_at"),
    pytest.param(S.WITHDRAWN, {"withdrawn_at": None}, "withdrawn_has_date",
                 id="withdrawn-without-withdrawn_at"),
    pytest.param(S.LAPSED, {"ended_at": None}, "ended_has_date", id="lapsed-without-ended_at"),
    pytest.param(S.CLOSED, {"ended_at": None}, "ended_has_date", id="closed-without-ended_at"),
]


@pytest.mark.parametrize(("status", "values", "constraint"), CHECKS)
def test_the_database_ties_a_status_to_its_dates(db, caseworker, status, values, constraint):
    case = make_case(caseworker, status=status)
    cases = Case.__table__
    statement = update(cases).where(cases.c.id == case.id).values(**values)
    if constraint is None:
        db.session.execute(statement)
        counts.rebuild_status_counts()  # the status was written around the services
        db.session.commit()
        return
    with pytest.raises(IntegrityError) as refused:
        db.session.execute(statement)
    assert constraint in str(refused.value)
    db.session.rollback()
    assert db.session.get(Case, case.id).status == status


# --- The stay's caseworker actions check who acts and on which version ----------------------

@pytest.mark.parametrize("action", ["record_job_offer", "correct_date"])
@pytest.mark.parametrize(("who", "stale", "refusal"), [
    ("other caseworker", False, CaseError),
    ("assignee", True, StaleCase),
])
def test_stay_actions_refuse_someone_elses_case_and_a_stale_form(
        db, caseworker, make_user, action, who, stale, refusal):
    case = make_case(caseworker, Scheme.QMAS, S.IN_STAY)
    actor = caseworker if who == "assignee" else make_user(Role.CASEWORKER)
    version = case.version - 1 if stale else case.version
    with pytest.raises(refusal):
        if action == "record_job_offer":
            services.record_job_offer(actor, case, stay.JobOfferData(
                employer="Harbour Ltd", post="Engineer", salary=Decimal("50000"),
                start_date=case.arrived_on), expected_version=version)
        else:
            correct_step_date(actor, case, "record_arrival",
                              case.arrived_on - timedelta(days=1), "Typo.", version=version,
                              today=hk_today())
    db.session.rollback()
    assert count(JobOffer) == 0
