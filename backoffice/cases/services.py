"""Case rules: creating and editing cases, the one transition service, dependants, assignment.

Every function takes the acting user, checks the rules, changes rows, writes the case event
and flushes. The request, task or command commits once. Nothing here commits.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, fields
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import func, select, update

from backoffice.auth.models import ROLE_PERMISSIONS, Permission, User
from backoffice.cases import stay
from backoffice.cases.models import (
    REMOVAL_REASON_LENGTH,
    Applicant,
    Case,
    CaseEvent,
    Dependant,
    EventKind,
    JobOffer,
    ReferenceCounter,
    Relationship,
    search_text,
)
from backoffice.cases.schemes import (
    CaseStatus,
    GovernmentProgramme,
    PolicyError,
    Scheme,
    SchemePolicy,
    SubmissionFacts,
    Transition,
    policy_for,
)
from backoffice.core.dates import add_months, age_on, birthday, hk_today, utcnow
from backoffice.extensions import db
from backoffice.quota import services as quota

CHILD_AGE_LIMIT = 18


class CaseError(Exception):
    """A rule refused the change. The message is a sentence shown to the caseworker."""


class QuotaBlocked(CaseError):
    """Approval refused because the year's quota is full or not set."""

    def __init__(self, message: str, can_hold: bool) -> None:
        super().__init__(message)
        self.can_hold = can_hold  # the case may wait in the Awaiting quota queue


class StaleCase(CaseError):
    """The case changed since the form was rendered."""

    def __init__(self) -> None:
        super().__init__("This case was changed by someone else while you were working on it. "
                         "Nothing was saved: reload the case to see the changes, then try again.")


# --- Input shapes (filled by forms, the CLI or tests) --------------------------------------

@dataclass(frozen=True, kw_only=True)
class IdentityData:
    family_name: str
    given_names: str
    chinese_name: str | None
    date_of_birth: date
    nationality: str
    passport_number: str
    hkid: str | None = None


@dataclass(frozen=True, kw_only=True)
class ApplicantData(IdentityData):
    email: str | None = None
    phone: str | None = None
    email_consent: bool = False


@dataclass(frozen=True, kw_only=True)
class CaseFacts:
    """The scheme-specific facts of an application; the policy says which are needed."""

    submitted_on: date
    business_plan: str | None = None
    programme: GovernmentProgramme | None = None
    job_employer: str | None = None
    job_post: str | None = None
    job_salary: Decimal | None = None
    job_relevance: str | None = None
    job_local_unavailability: str | None = None
    has_hk_parent: bool = False
    emigrated_overseas: bool = False


def _assign(target: object, data: object) -> None:
    for f in fields(data):
        setattr(target, f.name, getattr(data, f.name))


# --- Guards shared by every change ---------------------------------------------------------

def check_version(case: Case, expected_version: int | None) -> None:
    """Refuse a change made from a form rendered before someone else's change."""
    if expected_version is not None and expected_version != case.version:
        raise StaleCase()


def check_can_act(case: Case, actor: User) -> None:
    if not case.can_act(actor):
        raise CaseError("Only the caseworker assigned to this case or a supervisor can change it. "
                        "Take the case first if it is unassigned.")


def _check_open(case: Case) -> None:
    if not case.is_open:
        raise CaseError(f"This case is {case.status.label.lower()}; it can no longer be changed.")


def _check_submitted_on(submitted_on: date, today: date) -> None:
    if submitted_on > today:
        raise CaseError(f"The submission date {submitted_on} is in the future; "
                        "enter the date the application was received.")


def _event(case: Case, actor: User | None, kind: EventKind, **values) -> CaseEvent:
    event = CaseEvent(case_id=case.id, actor_id=actor.id if actor else None, kind=kind, **values)
    db.session.add(event)
    return event


def policy_of(case: Case) -> SchemePolicy:
    """The policy version that judges ``case``: the one in force on its submission date."""
    return policy_for(case.scheme, case.submitted_on)


# --- Creating and editing -----------------------------------------------------------------

def next_reference(scheme: Scheme, year: int) -> str:
    """Hand out the next reference, e.g. ``QMAS-2026-000042``, safely under concurrency.

    The counter row is incremented by one UPDATE in the database, so two requests can never
    receive the same number.
    """
    bump = (update(ReferenceCounter)
            .where(ReferenceCounter.scheme == scheme, ReferenceCounter.year == year)
            .values(last=ReferenceCounter.last + 1)
            .returning(ReferenceCounter.last))
    number = db.session.scalar(bump)
    if number is None:
        with db.session.begin_nested():
            db.session.add(ReferenceCounter(scheme=scheme, year=year, last=0))
        number = db.session.scalar(bump)
    return f"{scheme.value}-{year}-{number:06d}"


# Older than anyone has lived: a date of birth before this many years ago is a typing slip
# (0001-01-01 would otherwise pass every minimum age).
OLDEST_AGE = 120


def _identity_problems(data: IdentityData, today: date) -> None:
    if data.date_of_birth > today:
        raise CaseError(f"The date of birth {data.date_of_birth} is in the future.")
    if data.date_of_birth < add_months(today, -12 * OLDEST_AGE):
        raise CaseError(f"The date of birth {data.date_of_birth} would make the person older "
                        f"than {OLDEST_AGE}; check the year.")


def _write_applicant(applicant: Applicant, data: ApplicantData) -> None:
    _assign(applicant, data)
    applicant.name_search = search_text(data.family_name, data.given_names, data.chinese_name)


def create_case(actor: User, scheme: Scheme, applicant_data: ApplicantData, facts: CaseFacts,
                today: date | None = None) -> Case:
    """Open a draft case, assigned to the caseworker who created it."""
    today = today or hk_today()
    if not actor.can_work_cases():
        raise CaseError("Only caseworkers and supervisors can create cases.")
    _check_submitted_on(facts.submitted_on, today)
    _identity_problems(applicant_data, today)
    try:
        policy_for(scheme, facts.submitted_on)
    except PolicyError as exc:
        raise CaseError(str(exc)) from exc
    applicant = Applicant()
    _write_applicant(applicant, applicant_data)
    db.session.add(applicant)
    case = Case(scheme=scheme, status=CaseStatus.DRAFT, applicant=applicant, assignee_id=actor.id,
                created_by_id=actor.id, reference=next_reference(scheme, today.year))
    _assign(case, facts)
    db.session.add(case)
    db.session.flush()
    _event(case, actor, EventKind.CREATED, to_status=CaseStatus.DRAFT)
    db.session.flush()
    return case


# Identity facts the policy judged at submission (age limits, excluded nationalities).
_JUDGED_IDENTITY = ("date_of_birth", "nationality")


def update_case(actor: User, case: Case, applicant_data: ApplicantData, facts: CaseFacts,
                expected_version: int, today: date | None = None) -> list[str]:
    """Save an edit; return the names of the fields that changed (recorded on the event).

    After submission the submission date and the facts the policy judged (scheme facts, date
    of birth, nationality) are fixed: changing them would change the decision basis behind
    the caseworker's back. Names, passport and contact details stay correctable.
    """
    today = today or hk_today()
    check_version(case, expected_version)
    check_can_act(case, actor)
    _check_open(case)
    _check_submitted_on(facts.submitted_on, today)
    _identity_problems(applicant_data, today)
    if case.status != CaseStatus.DRAFT:
        fixed = [f.name for f in fields(facts) if getattr(case, f.name) != getattr(facts, f.name)]
        fixed += [name for name in _JUDGED_IDENTITY
                  if getattr(case.applicant, name) != getattr(applicant_data, name)]
        if fixed:
            raise CaseError("The submission date, the scheme facts, the date of birth and the "
                            "nationality were judged at submission and cannot change after "
                            "submission (changed: " + ", ".join(fixed) + ").")
    changed = [f.name for f in fields(applicant_data)
               if getattr(case.applicant, f.name) != getattr(applicant_data, f.name)]
    changed += [f.name for f in fields(facts) if getattr(case, f.name) != getattr(facts, f.name)]
    if not changed:
        return []
    _write_applicant(case.applicant, applicant_data)
    _assign(case, facts)
    case.updated_at = utcnow()  # bumps the version even when only the applicant row changed
    _event(case, actor, EventKind.EDITED, detail="Changed: " + ", ".join(changed))
    db.session.flush()
    return changed


# --- The lifecycle ------------------------------------------------------------------------

def submission_facts(case: Case) -> SubmissionFacts:
    applicant = case.applicant
    return SubmissionFacts(
        date_of_birth=applicant.date_of_birth, nationality=applicant.nationality,
        business_plan=case.business_plan, programme=case.programme,
        job_employer=case.job_employer, job_post=case.job_post, job_salary=case.job_salary,
        job_relevance=case.job_relevance, job_local_unavailability=case.job_local_unavailability,
        has_hk_parent=case.has_hk_parent, emigrated_overseas=case.emigrated_overseas)


def submission_problems(case: Case) -> list[str]:
    """Every reason the case cannot be submitted now, in words ([] = it can)."""
    policy = policy_of(case)
    problems = policy.check_submission(submission_facts(case), case.submitted_on)
    for dependant in case.active_dependants:
        problem = dependant_problem(case, dependant.relation, dependant.date_of_birth,
                                    dependant.married, exclude_id=dependant.id)
        if problem:
            problems.append(f"{dependant.full_name}: {problem}")
    return problems


# Which column each step stamps. Dates (HK) for the ones people reason about by day.
_STAMPS: dict[str, str] = {
    "submit": "submitted_at",
    "start_review": "review_started_at",
    "approve": "approved_on",
    "issue_visa": "visa_issued_on",
    "refuse": "refused_at",
    "withdraw": "withdrawn_at",
}
_DATE_STAMPS = {"approved_on", "visa_issued_on"}
# A quota place is given back when the approval is withdrawn or lapses before arrival.
_HOLDS_PLACE_BEFORE_ARRIVAL = {CaseStatus.APPROVED, CaseStatus.VISA_ISSUED}
_GIVES_PLACE_BACK = {CaseStatus.WITHDRAWN, CaseStatus.LAPSED}


def available_transitions(case: Case, user: User) -> list[Transition]:
    """The steps ``user`` may take on ``case`` now (the case page shows only these)."""
    if not case.can_act(user):
        return []
    return policy_of(case).transitions_from(case.status)


def transition(case: Case, name: str, actor: User, reason: str | None = None,
               expected_version: int | None = None, now: datetime | None = None,
               arrived_on: date | None = None) -> CaseEvent:
    """Move ``case`` by the step called ``name``: the only way a case's status changes.

    Checks the form's version, the actor's right to act, that the policy allows the step
    from the current status, that a reason is given where one is needed, and the step's own
    guards (submission eligibility, the arrival date, the extension window); then stamps the
    date, applies the step's effects (quota place, stay, deadlines), writes the event and
    flushes. ``arrived_on`` is the step data of "record_arrival".
    """
    now = now or utcnow()
    today = hk_today(now)
    check_version(case, expected_version)
    check_can_act(case, actor)
    policy = policy_of(case)
    try:
        step = policy.transition(name)
    except PolicyError as exc:
        raise CaseError(str(exc)) from exc
    if not step.applies_from(case.status):
        raise CaseError(f"“{step.label}” is not possible for a case that is "
                        f"{case.status.label.lower()}.")
    reason = (reason or "").strip() or None
    if step.needs_reason and not reason:
        raise CaseError(f"Give a reason to {step.label.lower()} this case; it is recorded and "
                        "shown in the case history.")

    if name == "submit":
        problems = submission_problems(case)
        if problems:
            raise CaseError("This case cannot be submitted: " + " ".join(problems))
        case.policy_version = policy.version
        case.favourable_consideration = policy.favourable_consideration(submission_facts(case))
    try:
        if name == "record_arrival":
            stay.check_arrival(case, arrived_on, today)
        elif name == "request_extension":
            stay.check_extension_request(case, today)
    except stay.StayError as exc:
        raise CaseError(str(exc)) from exc
    if name == "approve" and policy.has_quota:
        # The place is taken in this same transaction as the status change: both or neither.
        try:
            quota.take_place(case.id, case.scheme.value, today, actor,
                             case.applicant.nationality, now)
        except quota.QuotaError as exc:
            can_hold = any(t.name == "hold_for_quota" for t in policy.transitions_from(
                case.status))
            raise QuotaBlocked(str(exc), can_hold) from exc
    if (policy.has_quota and case.status in _HOLDS_PLACE_BEFORE_ARRIVAL
            and step.target in _GIVES_PLACE_BACK):
        quota.release_place(case.id, actor, f"{step.label}: {reason}" if reason else step.label,
                            now)

    column = _STAMPS.get(name)
    if column:
        setattr(case, column, today if column in _DATE_STAMPS else now)
    if not step.target.is_open:
        case.ended_at = now
    if name == "record_arrival":
        stay.start_stay(case, policy, arrived_on)
    elif name == "grant_extension":
        stay.grant_extension(case, now)
    from_status = case.status
    case.status = step.target
    if case.arrived_on is not None:
        stay.sync_deadlines(case, now)
    detail = (f"Arrived on {case.arrived_on}; the stay ends on {case.stay_ends_on}."
              if name in ("record_arrival", "grant_extension") else None)
    if name == "grant_extension":
        detail = f"Stay extended to {case.stay_ends_on}."
    event = _event(case, actor, EventKind.TRANSITION, transition=name, from_status=from_status,
                   to_status=step.target, reason=reason, at=now, detail=detail)
    db.session.flush()
    return event


# --- Dependants ---------------------------------------------------------------------------

def dependant_problem(case: Case, relation: Relationship, date_of_birth: date,
                      married: bool | None, exclude_id: int | None = None) -> str | None:
    """Why this dependant cannot be on the case, in words, or None.

    A child's age is taken on the case's submission date (DESIGN §2).
    """
    on = case.submitted_on
    if relation == Relationship.SPOUSE:
        spouses = [d for d in case.active_dependants
                   if d.relation == Relationship.SPOUSE and d.id != exclude_id]
        if spouses:
            return (f"The case already has a spouse ({spouses[0].full_name}); "
                    "remove that record first.")
        return None
    if married:
        return "Only unmarried children can be dependants."
    if date_of_birth > on:
        return None  # born after the application: under 18 on any later date that matters
    if age_on(date_of_birth, on) >= CHILD_AGE_LIMIT:
        eighteenth = birthday(date_of_birth, CHILD_AGE_LIMIT)
        when = "on" if eighteenth == on else "before"
        return (f"Turned {CHILD_AGE_LIMIT} on {eighteenth}, {when} the submission date "
                f"({on}); children must be under {CHILD_AGE_LIMIT} on that date.")
    return None


def add_dependant(actor: User, case: Case, relation: Relationship, data: IdentityData,
                  married: bool | None, expected_version: int,
                  today: date | None = None) -> Dependant:
    today = today or hk_today()
    check_version(case, expected_version)
    check_can_act(case, actor)
    _check_open(case)
    _identity_problems(data, today)
    married = bool(married) if relation == Relationship.CHILD else None
    problem = dependant_problem(case, relation, data.date_of_birth, married)
    if problem:
        raise CaseError(problem)
    dependant = Dependant(case_id=case.id, relation=relation, married=married,
                          added_by_id=actor.id)
    _assign(dependant, data)
    db.session.add(dependant)
    case.dependants.append(dependant)
    case.updated_at = utcnow()
    db.session.flush()
    _event(case, actor, EventKind.DEPENDANT_ADDED,
           detail=f"{relation.label}: {dependant.full_name}")
    db.session.flush()
    return dependant


def remove_dependant(actor: User, case: Case, dependant: Dependant, reason: str,
                     expected_version: int) -> None:
    """Take a dependant off the case. The row stays, marked removed, with the reason."""
    check_version(case, expected_version)
    check_can_act(case, actor)
    _check_open(case)
    if dependant.case_id != case.id or dependant.removed_at is not None:
        raise CaseError("That dependant is not on this case.")
    reason = (reason or "").strip()
    if not reason:
        raise CaseError("Give a reason for removing the dependant.")
    if len(reason) > REMOVAL_REASON_LENGTH:
        raise CaseError(f"Keep the reason for removing a dependant to {REMOVAL_REASON_LENGTH} "
                        f"characters (it has {len(reason):,}).")
    dependant.removed_at = utcnow()
    dependant.removed_by_id = actor.id
    dependant.removal_reason = reason
    case.updated_at = utcnow()
    _event(case, actor, EventKind.DEPENDANT_REMOVED, reason=reason,
           detail=f"{dependant.relation.label}: {dependant.full_name}")
    db.session.flush()


# --- The stay, outside the lifecycle -------------------------------------------------------

def correct_arrival(actor: User, case: Case, arrived_on: date, reason: str,
                    expected_version: int | None, today: date) -> None:
    """A caseworker fixes a wrongly recorded arrival date (the rules are ``stay``'s)."""
    check_version(case, expected_version)
    check_can_act(case, actor)
    stay.correct_arrival(actor, case, arrived_on, reason, today)


def record_job_offer(actor: User, case: Case, offer: stay.JobOfferData,
                     expected_version: int | None) -> JobOffer:
    """A caseworker records the job offer that meets the job-offer deadline."""
    check_version(case, expected_version)
    check_can_act(case, actor)
    return stay.record_job_offer(actor, case, offer)


# --- Assignment ---------------------------------------------------------------------------

def take_case(actor: User, case: Case, expected_version: int | None = None) -> None:
    """Assign an unassigned case to oneself."""
    check_version(case, expected_version)
    if not case.can_take(actor):
        if case.assignee_id == actor.id:
            raise CaseError("This case is already assigned to you.")
        if case.assignee_id is not None:
            raise CaseError(f"This case is already assigned to {case.assignee.full_name}.")
        raise CaseError("This case cannot be taken.")
    _set_assignee(actor, case, actor)


def _set_assignee(actor: User, case: Case, assignee: User | None) -> None:
    before = case.assignee.full_name if case.assignee else "nobody"
    case.assignee = assignee  # the relationship, so a later read in this transaction agrees
    case.updated_at = utcnow()
    after = assignee.full_name if assignee else "nobody"
    _event(case, actor, EventKind.ASSIGNED, detail=f"{before} → {after}")


def reassign(actor: User, cases: Iterable[Case], assignee: User | None) -> int:
    """Supervisors: give one or many cases to a caseworker (or to nobody). Returns the count
    of cases that changed hands."""
    if not actor.can_supervise():
        raise CaseError("Only supervisors can reassign cases.")
    if assignee is not None and (not assignee.active or not assignee.can_work_cases()):
        raise CaseError(f"{assignee.full_name} cannot be given cases "
                        "(the account is not an active caseworker or supervisor).")
    changed = 0
    for case in cases:
        if not case.is_open or case.assignee_id == (assignee.id if assignee else None):
            continue
        _set_assignee(actor, case, assignee)
        changed += 1
    db.session.flush()
    return changed


_ACTIVE_CASEWORKERS = (
    select(User.id, User.full_name)
    .where(User.active.is_(True),
           User.role.in_([role for role, permissions in ROLE_PERMISSIONS.items()
                          if Permission.WORK_CASES in permissions]))
    .order_by(func.lower(User.full_name)))


def active_caseworkers() -> list:
    """(id, full_name) of the accounts that can be given cases, by name. Plain rows, not ORM
    objects: every queue page lists them."""
    return list(db.session.execute(_ACTIVE_CASEWORKERS))
