"""Factories for case tests: a valid applicant, facts or case in one line.

Every factory returns an object the rules accept, for the scheme asked, on fixed dates, so a
test states only what it is about::

    case = make_case(caseworker)                                    # a QMAS draft
    case = make_case(caseworker, Scheme.GEP_PRO, CaseStatus.APPROVED)
    case = make_case(caseworker, Scheme.ASSG, date_of_birth=date(1985, 3, 3))

Dates are fixed (``TODAY``, ``SUBMITTED_ON``, ``NOW``) so no test depends on the clock; pass
your own where the date is the point of the test. The factories go through the services, never
around them, so a case made here has the events, references and stamps a real one has.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections import deque
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from sqlalchemy import select

from backoffice.auth.models import User
from backoffice.cases import services, stay
from backoffice.cases.models import Case, CaseEvent
from backoffice.cases.schemes import CaseStatus, Scheme, SchemePolicy, Transition
from backoffice.cases.services import ApplicantData, CaseFacts, IdentityData
from backoffice.core.dates import HK_TZ, hk_today
from backoffice.documents import services as documents
from backoffice.extensions import db

# The Hong Kong date the tests treat as "today", and the default submission date before it.
TODAY = date(2026, 3, 16)
SUBMITTED_ON = date(2026, 3, 2)
# The instant transitions are stamped with by default: 10:00 in Hong Kong on TODAY.
NOW = datetime(2026, 3, 16, 2, 0, tzinfo=UTC)
# The reason given by make_case to the steps that need one (refuse, withdraw, close...).
FACTORY_REASON = "Recorded by the test factory."

# An applicant of 35 on SUBMITTED_ON: old enough for QMAS, young enough for ASSG.
_APPLICANT = {
    "family_name": "Chan",
    "given_names": "Mei Ling",
    "chinese_name": "陳美玲",
    "date_of_birth": date(1990, 5, 17),
    "nationality": "CA",
    "passport_number": "AB1234567",
    "hkid": None,
    "email": "mei.ling.chan@example.com",
    "phone": "+1 604 555 0100",
    "email_consent": True,
}

# The facts each scheme needs at submission (DESIGN §2); other schemes leave them empty.
_SCHEME_FACTS: dict[Scheme, dict] = {
    Scheme.QMAS: {},
    Scheme.GEP_ENT: {"business_plan": "A design studio for sustainable packaging in Kwun Tong."},
    Scheme.GEP_PRO: {
        "job_employer": "Harbour Analytics Ltd",
        "job_post": "Senior data engineer",
        "job_salary": Decimal("68000.00"),
        "job_relevance": "MSc in computer science and six years building data platforms.",
        "job_local_unavailability": "Advertised locally for three months without a suitable "
                                    "candidate.",
    },
    Scheme.ASSG: {"has_hk_parent": True, "emigrated_overseas": True},
}

_APPLICANT_FIELDS = frozenset(f.name for f in dataclasses.fields(ApplicantData))
_FACT_FIELDS = frozenset(f.name for f in dataclasses.fields(CaseFacts))


# How many cases make_case made in this test: each one after the first is another
# person (a passport number and a date of birth of their own, unless the test gives them), so
# several factory cases are not duplicates of each other (cases/duplicates.py). The first
# keeps the values above; tests/conftest.py starts every test from it.
_made = {"applicants": itertools.count()}


def reset_identities() -> None:
    """Start the next test from the factories' first person again."""
    for kind in _made:
        _made[kind] = itertools.count()


def another_person(values: dict, overrides: dict, kind: str = "applicants") -> dict:
    """``values`` for the test's next person: the first time as they are, after that with
    another passport number and date of birth (or name), where ``overrides`` do not set them."""
    n = next(_made[kind])
    if n == 0:
        return values
    other = dict(values)
    if "passport_number" not in overrides:
        prefix, digits = values["passport_number"][:2], values["passport_number"][2:]
        other["passport_number"] = f"{prefix}{int(digits) + n:0{len(digits)}d}"
    if "date_of_birth" not in overrides:
        other["date_of_birth"] = values["date_of_birth"] + timedelta(days=n)
    elif "given_names" not in overrides:
        # The same date of birth, given: another name, so the two are not one person.
        other["given_names"] = f"{values['given_names']} {n}"
    return other


def applicant_data(**overrides) -> ApplicantData:
    """A valid applicant (Canadian, 35 on SUBMITTED_ON); any field can be overridden."""
    return ApplicantData(**(_APPLICANT | overrides))


def new_applicant(**overrides) -> ApplicantData:
    """:func:`applicant_data` for another case of the test: another person each call (the
    first one of the test is ``applicant_data()``'s), so cases made with it are not
    duplicates of each other."""
    return ApplicantData(**(another_person(_APPLICANT, overrides) | overrides))


def dependant_data(**overrides) -> IdentityData:
    """A valid dependant's identity (a child of 10 on SUBMITTED_ON); any field can be
    overridden. The relation and the married flag are arguments of ``add_dependant``."""
    values = {
        "family_name": "Chan",
        "given_names": "Ka Ho",
        "chinese_name": None,
        "date_of_birth": date(2015, 9, 1),
        "nationality": "CA",
        "passport_number": "AB7654321",
        "hkid": None,
    }
    return IdentityData(**(values | overrides))


def case_facts(scheme: Scheme = Scheme.QMAS, **overrides) -> CaseFacts:
    """The facts that make a case of ``scheme`` submittable on SUBMITTED_ON.

    Only the facts the scheme needs are filled (a business plan for GEP_ENT, a job offer for
    GEP_PRO, the family background for ASSG); ``overrides`` replace or blank any of them.
    """
    return CaseFacts(**({"submitted_on": SUBMITTED_ON} | _SCHEME_FACTS[scheme] | overrides))


def path_to(policy: SchemePolicy, status: CaseStatus) -> list[Transition]:
    """The shortest list of steps that takes a draft to ``status`` under ``policy``.

    Ties are broken by the policy's table order, so the path is the same every run
    (e.g. QMAS awaiting quota: submit, start_review, hold_for_quota). Steps for exceptional
    cases only (refusing an ineligible draft) are not on any path: factory cases are eligible.
    """
    previous: dict[CaseStatus, tuple[CaseStatus, Transition] | None] = {CaseStatus.DRAFT: None}
    queue = deque([CaseStatus.DRAFT])
    while queue:
        current = queue.popleft()
        if current == status:
            break
        for step in policy.transitions_from(current):
            if step.target not in previous and not step.only_when_possible:
                previous[step.target] = (current, step)
                queue.append(step.target)
    if status not in previous:
        raise ValueError(f"{policy.scheme} has no path from draft to {status}.")
    steps: list[Transition] = []
    while (link := previous[status]) is not None:
        status, step = link
        steps.append(step)
    return steps[::-1]


def make_case(actor: User, scheme: Scheme = Scheme.QMAS, status: CaseStatus | None = None, *,
              today: date = TODAY, now: datetime = NOW, accept_duplicates: str | None = None,
              documents: bool = True, **overrides) -> Case:
    """Create a case through ``services.create_case``, walk it to ``status``, and commit.

    ``actor`` creates the case (and so is its assignee) and takes every step; steps that need
    a reason get ``FACTORY_REASON``. ``overrides`` are fields of :class:`ApplicantData` or
    :class:`CaseFacts` by name (``date_of_birth=...``, ``submitted_on=...``,
    ``business_plan=None``...). ``today`` is the creation date (it decides the reference year)
    and ``now`` stamps the transitions (those after an extension request are stamped at the
    request's moment: no step may be dated before the one it follows). The case is
    committed, so a web request or a second session sees it. ``accept_duplicates``: the
    reason for saving a person who matches someone in another case (a test of that rule).
    ``documents``: the checklist's required documents arrive with the application (received
    on paper on the submission step's day); False leaves them missing.
    """
    unknown = set(overrides) - _APPLICANT_FIELDS - _FACT_FIELDS
    if unknown:
        raise TypeError(f"make_case() got unknown fields: {', '.join(sorted(unknown))}")
    given = {k: v for k, v in overrides.items() if k in _APPLICANT_FIELDS}
    applicant = new_applicant(**given)
    facts = case_facts(scheme, **{k: v for k, v in overrides.items() if k in _FACT_FIELDS})
    case = services.create_case(actor, scheme, applicant, facts, today=today,
                                accept_duplicates=accept_duplicates)
    if status is not None:
        for step in path_to(case.policy, CaseStatus(status)):
            extra, at = prepare_step(case, step.name, actor, now)
            services.transition(case, step.name, actor,
                                reason=FACTORY_REASON if step.needs_reason else None, now=at,
                                **extra)
            # A step is never dated before the one it follows: after the extension request
            # (a week before the stay ends) the next steps are taken at its moment.
            now = max(now, at)
            if step.name == "submit" and documents:
                receive_documents(actor, case, hk_today(at))
    db.session.commit()
    return case


# What make_case gives a visa and an extension request.
FACTORY_VISA_NUMBER = "FV1234567"
FACTORY_GROUNDS = "Working for the same employer; recorded by the test factory."


def step_data(name: str, on: date) -> services.StepData:
    """Valid step data for the step called ``name`` taken on ``on``: the date, and for a
    visa a number and three months' validity, for an extension request its grounds."""
    if name == "issue_visa":
        return services.StepData(on=on, visa_number=FACTORY_VISA_NUMBER,
                                 visa_valid_until=on + timedelta(days=90))
    if name == "request_extension":
        return services.StepData(on=on, grounds=FACTORY_GROUNDS)
    return services.StepData(on=on)


def prepare_step(case: Case, name: str, actor: User, now: datetime) -> tuple[dict, datetime]:
    """What a step needs besides a reason: its data (:func:`step_data`, dated the day of
    ``now``); for "request_extension" a moment inside the extension window (a week before the
    stay ends) and, where the scheme needs one, a recorded job offer. Returns (extra kwargs,
    when)."""
    if name == "approve":
        receive_documents(actor, case, hk_today(now))
    if name == "request_extension":
        if case.job_offer_needed_to_extend and not case.has_job_offer:
            stay.record_job_offer(actor, case, stay.JobOfferData(
                employer="Factory Ltd", post="Engineer", salary=Decimal("50000"),
                start_date=case.arrived_on), now=now)
        inside = case.stay_ends_on - timedelta(days=7)
        now = datetime.combine(inside, time(10), tzinfo=HK_TZ).astimezone(UTC)
    return {"data": step_data(name, hk_today(now))}, now


def receive_documents(actor: User, case: Case, on: date) -> None:
    """Every required document of the case's checklist received on paper on ``on`` (an
    approval needs them: ``Guard.DOCUMENTS_COMPLETE``)."""
    for line in documents.missing(case):
        documents.mark_received(actor, case, line.key, on, today=max(on, hk_today()))


def correct_step_date(actor: User, case: Case, step: str, new: date, reason: str | None, *,
                      today: date = TODAY, now: datetime | None = None,
                      version: int | None = None) -> None:
    """Correct the date of the latest ``step`` the case took, through the service (the
    correction form's key is the step event's id), from a form rendered at ``version``
    (default: the case's own)."""
    event_id = db.session.scalar(
        select(CaseEvent.id).where(CaseEvent.case_id == case.id, CaseEvent.transition == step)
        .order_by(CaseEvent.id.desc()).limit(1))
    services.correct_date(actor, case, str(event_id), new, reason,
                          case.version if version is None else version, today, now)


def hk_morning(day: date) -> datetime:
    """10:00 in Hong Kong on ``day``, as an aware UTC instant (a step's ``now``)."""
    return datetime.combine(day, time(10), tzinfo=HK_TZ).astimezone(UTC)
