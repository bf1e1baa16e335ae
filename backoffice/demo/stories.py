"""The curated demo set: about sixty hand-shaped cases told through the real services.

Each case (a :class:`Scenario`) is built with ``create_case``, ``add_dependant``,
``transition`` and ``reassign``, so every event, guard and stamp is the one a caseworker would
produce. Dates are in the past: each case is played forward from a received date and its
events are backdated to the moment each step was taken, so the history reads true.
Deterministic for a given seed and run day. Nothing here commits: ``flask seed-demo`` does.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import func, select

from backoffice.auth.models import User
from backoffice.cases import services, stay
from backoffice.cases.models import Applicant, Case, CaseEvent, Relationship
from backoffice.cases.schemes import CaseStatus, Scheme, SchemePolicy, policy_for
from backoffice.cases.words import Sentences
from backoffice.core.dates import HK_TZ, hk_today
from backoffice.core.i18n import force_language
from backoffice.demo.facts import job_offer, reason_for, scheme_facts, step_data
from backoffice.demo.people import (
    ASSG_NATIONS,
    Person,
    email_for,
    language_of,
    make_person,
    phone_for,
    pick_nationality,
)
from backoffice.documents import services as documents
from backoffice.extensions import db

DEMO_SEED = 20261125
# Demo applicants' email domain: how `seed-demo` recognises that its cases already exist.
DEMO_EMAIL_DOMAIN = "applicant.example.net"

S = CaseStatus


@dataclass(frozen=True)
class Scenario:
    """One demo case: its scheme, where it ends up and by which road."""

    scheme: Scheme
    final: CaseStatus
    via: str | None = None  # e.g. "quota", "submitted", "approved", "in_stay", "ext_refused"
    unassigned: bool = False
    nationality: str | None = None
    age: int | None = None  # on the received date; None = a typical age for the scheme


def _scenarios() -> tuple[Scenario, ...]:
    q, ent, pro, assg = Scheme.QMAS, Scheme.GEP_ENT, Scheme.GEP_PRO, Scheme.ASSG
    sc = Scenario
    return (
        # QMAS (22): the quota queue, the whole road and its exits.
        sc(q, S.DRAFT), sc(q, S.DRAFT, nationality="CN"),
        sc(q, S.SUBMITTED), sc(q, S.SUBMITTED, unassigned=True),
        sc(q, S.UNDER_REVIEW), sc(q, S.UNDER_REVIEW, nationality="IN"),
        sc(q, S.AWAITING_QUOTA), sc(q, S.AWAITING_QUOTA, nationality="CN"),
        sc(q, S.AWAITING_QUOTA, unassigned=True),
        sc(q, S.APPROVED), sc(q, S.APPROVED, via="quota"),
        sc(q, S.VISA_ISSUED),
        sc(q, S.IN_STAY), sc(q, S.IN_STAY, nationality="CN"),
        sc(q, S.EXTENSION_REQUESTED),
        sc(q, S.EXTENDED), sc(q, S.EXTENDED, nationality="GB"),
        sc(q, S.REFUSED), sc(q, S.REFUSED, via="awaiting_quota"),
        sc(q, S.WITHDRAWN, via="approved"),
        sc(q, S.LAPSED, via="approved"),
        sc(q, S.CLOSED),
        # GEP (Professionals) (15)
        sc(pro, S.DRAFT),
        sc(pro, S.SUBMITTED), sc(pro, S.SUBMITTED, unassigned=True),
        sc(pro, S.UNDER_REVIEW), sc(pro, S.UNDER_REVIEW, nationality="US"),
        sc(pro, S.APPROVED), sc(pro, S.VISA_ISSUED),
        sc(pro, S.IN_STAY), sc(pro, S.IN_STAY, nationality="FR"),
        sc(pro, S.EXTENSION_REQUESTED), sc(pro, S.EXTENDED),
        sc(pro, S.REFUSED), sc(pro, S.WITHDRAWN, via="submitted"),
        sc(pro, S.LAPSED, via="in_stay"), sc(pro, S.CLOSED),
        # GEP (Entrepreneurs) (12): one Vietnamese national, whose application can never be
        # accepted under the seed policy, received and refused on that ground.
        sc(ent, S.REFUSED, via="ineligible", nationality="VN"), sc(ent, S.DRAFT),
        sc(ent, S.SUBMITTED),
        sc(ent, S.UNDER_REVIEW), sc(ent, S.UNDER_REVIEW, unassigned=True),
        sc(ent, S.APPROVED), sc(ent, S.VISA_ISSUED),
        sc(ent, S.IN_STAY, via="ext_refused"), sc(ent, S.EXTENDED),
        sc(ent, S.REFUSED, via="submitted"), sc(ent, S.WITHDRAWN, via="draft"),
        sc(ent, S.LAPSED, via="approved"),
        # ASSG (11): one applicant already 41, still a draft: the page says why it can never
        # be accepted and offers to refuse it as ineligible.
        sc(assg, S.DRAFT, via="blocked", age=41), sc(assg, S.SUBMITTED, unassigned=True),
        sc(assg, S.UNDER_REVIEW), sc(assg, S.APPROVED), sc(assg, S.IN_STAY),
        sc(assg, S.EXTENSION_REQUESTED), sc(assg, S.EXTENDED),
        sc(assg, S.REFUSED), sc(assg, S.WITHDRAWN, via="submitted"),
        sc(assg, S.CLOSED), sc(assg, S.LAPSED, via="in_stay"),
    )


SCENARIOS = _scenarios()


def _approval_road(sc: Scenario) -> list[str]:
    hold = ["hold_for_quota"] if sc.via == "quota" else []
    return ["submit", "start_review", *hold, "approve"]


def _arrival_road(sc: Scenario) -> list[str]:
    return [*_approval_road(sc), "issue_visa", "record_arrival"]


def steps_for(sc: Scenario) -> list[str]:
    """The named transitions that take a new draft to ``sc.final`` by ``sc.via``."""
    final, via = sc.final, sc.via
    if final == S.DRAFT:
        return ["submit"] if via == "blocked" else []  # the blocked submit is expected to fail
    if final == S.SUBMITTED:
        return ["submit"]
    if final == S.UNDER_REVIEW:
        return ["submit", "start_review"]
    if final == S.AWAITING_QUOTA:
        return ["submit", "start_review", "hold_for_quota"]
    if final == S.APPROVED:
        return _approval_road(sc)
    if final == S.VISA_ISSUED:
        return [*_approval_road(sc), "issue_visa"]
    if final == S.IN_STAY:
        extra = ["request_extension", "refuse_extension"] if via == "ext_refused" else []
        return [*_arrival_road(sc), *extra]
    if final == S.EXTENSION_REQUESTED:
        return [*_arrival_road(sc), "request_extension"]
    if final == S.EXTENDED:
        return [*_arrival_road(sc), "request_extension", "grant_extension"]
    if final == S.REFUSED:
        if via == "ineligible":
            return ["refuse_ineligible"]
        if via == "submitted":
            return ["submit", "refuse"]
        if via == "awaiting_quota":
            return ["submit", "start_review", "hold_for_quota", "refuse"]
        return ["submit", "start_review", "refuse"]
    if final == S.WITHDRAWN:
        road = {"draft": [], "submitted": ["submit"], "approved": _approval_road(sc)}
        return [*road.get(via or "submitted", ["submit"]), "withdraw"]
    if final == S.LAPSED:
        return [*(_approval_road(sc) if via == "approved" else _arrival_road(sc)), "lapse"]
    if final == S.CLOSED:
        return [*_arrival_road(sc), "close"]
    raise ValueError(f"no demo road to {final}")


# Days from the previous step to this one.
_GAPS: dict[str, tuple[int, int]] = {
    "submit": (1, 6), "start_review": (3, 21), "hold_for_quota": (10, 40), "approve": (20, 70),
    "issue_visa": (5, 20), "record_arrival": (14, 80), "grant_extension": (14, 40),
    "refuse_extension": (5, 12), "refuse": (15, 60), "refuse_ineligible": (1, 10),
    "withdraw": (5, 60), "close": (60, 300),
}
# Days between the last step and today, by final status: open cases look current.
_SLACK: dict[CaseStatus, tuple[int, int]] = {
    S.DRAFT: (0, 8), S.SUBMITTED: (1, 10), S.UNDER_REVIEW: (1, 30), S.AWAITING_QUOTA: (5, 60),
    S.APPROVED: (1, 20), S.VISA_ISSUED: (1, 30), S.IN_STAY: (10, 250),
    S.EXTENSION_REQUESTED: (1, 10), S.EXTENDED: (10, 300), S.REFUSED: (10, 700),
    S.WITHDRAWN: (10, 700), S.LAPSED: (10, 500), S.CLOSED: (10, 500),
}
_TYPICAL_AGE: dict[Scheme, tuple[int, int]] = {
    Scheme.QMAS: (24, 50), Scheme.GEP_PRO: (26, 55), Scheme.GEP_ENT: (27, 58),
    Scheme.ASSG: (20, 38),
}


def plan_days(rng: random.Random, sc: Scenario, policy: SchemePolicy) -> tuple[int, list[int]]:
    """Day offsets (from the received date) of each step, and the whole span up to today.

    Stay steps are timed from the policy: an extension is requested inside the window before
    the stay ends, a stay lapses just after it ends. Month lengths are approximated by
    30.4 days, so every margin below is a few days wide.
    """
    day = rng.randint(0, 2)  # created a day or two after the application arrived
    offsets = []
    stay_end: int | None = None
    for name in steps_for(sc):
        if name == "request_extension" and stay_end is not None:
            window = policy.extension_window_days
            early = sc.via == "ext_refused"  # early in the window: refused before the end
            day = stay_end - (rng.randint(window - 6, window - 3) if early
                              else rng.randint(12, 24))
        elif name == "lapse" and stay_end is not None:
            day = stay_end + rng.randint(4, 8)  # the stay ran out without an extension
        elif name == "lapse":
            day += rng.randint(190, 220)  # the approval was not taken up in time
        else:
            low, high = _GAPS[name]
            day += rng.randint(low, high)
        if name == "record_arrival":
            stay_end = day + int(policy.initial_stay_months * 30.4)
        elif name == "grant_extension" and stay_end is not None:
            stay_end += int(policy.extension_months * 30.4)
        offsets.append(day)
    low, high = _SLACK[sc.final]
    if sc.final in (S.IN_STAY, S.EXTENSION_REQUESTED) and stay_end is not None:
        high = max(low, min(high, stay_end - day - 5))  # the stay has not ended yet
    return day + rng.randint(low, high), offsets


def _moment(day: date, rng: random.Random) -> datetime:
    """A moment during Hong Kong office hours on ``day``, in UTC."""
    local = datetime.combine(day, time(rng.randint(9, 17), rng.randrange(60)), tzinfo=HK_TZ)
    return local.astimezone(UTC)


def to_hk_date(at: datetime) -> date:
    return at.astimezone(HK_TZ).date()


def _backdate_latest_event(case: Case, at: datetime) -> None:
    event = db.session.scalar(select(CaseEvent).where(CaseEvent.case_id == case.id)
                              .order_by(CaseEvent.id.desc()).limit(1))
    if event is not None:
        event.at = at


@dataclass
class DemoReport:
    created: int = 0
    by_status: Counter = field(default_factory=Counter)
    notes: list[str] = field(default_factory=list)


def demo_cases_exist() -> bool:
    return db.session.scalar(
        select(func.count()).select_from(Case).join(Applicant)
        .where(Applicant.email.like(f"%@{DEMO_EMAIL_DOMAIN}"))) > 0


def seed_demo_cases(caseworkers: Sequence[User], supervisor: User, *, seed: int = DEMO_SEED,
                    today: date | None = None) -> DemoReport:
    """Build the curated demo set through the services, unless it already exists.

    ``caseworkers`` share the assigned cases; ``supervisor`` hands a few back to the queue
    (unassigned) and moves a few between caseworkers, as happens in a real office. A step a
    rule refuses is not forced: the case stays where it is and the reason is reported (the
    41-year-old ASSG applicant is meant to show this; the Vietnamese GEP entrepreneur is
    refused on the same kind of ground, with the ground's words as the reason).
    """
    report = DemoReport()
    if demo_cases_exist():
        return report
    rng = random.Random(seed)  # noqa: S311  (reproducible demo data, not secrets)
    today = today or hk_today()
    for index, sc in enumerate(SCENARIOS):
        case = _build_demo_case(rng, index, sc, caseworkers, supervisor, today, report)
        report.created += 1
        report.by_status[case.status] += 1
    return report


def _applicant_for(rng: random.Random, index: int, sc: Scenario,
                   received: date) -> tuple[Person, services.ApplicantData]:
    low, high = _TYPICAL_AGE[sc.scheme]
    age = sc.age or rng.randint(low, high)
    if sc.scheme == Scheme.ASSG:
        nationality = sc.nationality or rng.choice(ASSG_NATIONS)
        person = make_person(rng, nationality, on=received, age=age, cantonese=True,
                             hkid_share=0.5)
        if sc.age and sc.age > 40:  # 41 or 42 on the received date, whatever the day
            person = _replace_dob(person, date(received.year - 42, 6, 15))
    else:
        nationality = sc.nationality or pick_nationality(rng)
        while sc.scheme == Scheme.GEP_ENT and sc.nationality is None and nationality in (
                "VN", "LA"):
            nationality = pick_nationality(rng)
        person = make_person(rng, nationality, on=received, age=age, hkid_share=0.15)
    data = services.ApplicantData(
        family_name=person.family_name, given_names=person.given_names,
        chinese_name=person.chinese_name, date_of_birth=person.date_of_birth,
        nationality=person.nationality, passport_number=person.passport_number,
        hkid=person.hkid, email=email_for(person, index + 1, DEMO_EMAIL_DOMAIN),
        phone=phone_for(rng, person.nationality), email_consent=rng.random() < 0.7,
        language=language_of(person))
    return person, data


def _replace_dob(person: Person, dob: date) -> Person:
    return Person(person.family_name, person.given_names, person.chinese_name, dob,
                  person.nationality, person.passport_number, person.hkid)


def _identity(person: Person) -> services.IdentityData:
    return services.IdentityData(
        family_name=person.family_name, given_names=person.given_names,
        chinese_name=person.chinese_name, date_of_birth=person.date_of_birth,
        nationality=person.nationality, passport_number=person.passport_number,
        hkid=person.hkid)


def _family(rng: random.Random, sc: Scenario, principal: Person,
            received: date) -> list[tuple[Relationship, Person]]:
    """A spouse and children for some principals; children are under 18 on ``received``."""
    family: list[tuple[Relationship, Person]] = []
    age = received.year - principal.date_of_birth.year
    chance = {Scheme.QMAS: 0.55, Scheme.GEP_PRO: 0.45, Scheme.GEP_ENT: 0.4,
              Scheme.ASSG: 0.3}[sc.scheme]
    if age < 25 or rng.random() > chance:
        return family
    cantonese = sc.scheme == Scheme.ASSG
    same = rng.random() < 0.8
    spouse_nat = principal.nationality if same else pick_nationality(rng)
    spouse = make_person(rng, spouse_nat, on=received, age=max(22, age + rng.randint(-5, 4)),
                         cantonese=cantonese and same, hkid_share=0.1)
    family.append((Relationship.SPOUSE, spouse))
    for _ in range(rng.choice((0, 1, 1, 2, 2, 3)) if age >= 29 else 0):
        child = make_person(rng, principal.nationality, on=received,
                            age=rng.randint(1, min(16, age - 23)),
                            family_name=principal.family_name,
                            cantonese=cantonese, hkid_share=0.05)
        family.append((Relationship.CHILD, child))
    return family


def _ground_words(case: Case, actor: User) -> str:
    """The reason a caseworker gives to refuse an ineligible application: the ground's words
    the case page offers, in the caseworker's language."""
    with force_language(actor.language):
        return str(Sentences(ground.message for ground in services.permanent_grounds(case)))


def _documents_in(rng: random.Random, case: Case, actor: User, received: date,
                  until: date) -> None:
    """Every required document in before the decision: most came with the application, the
    rest by ``until``; most of them checked and accepted."""
    for line in documents.missing(case):
        on = min(until, received + timedelta(days=rng.choice((0, 0, 0, 3, 7, 14))))
        documents.mark_received(actor, case, line.key, on, today=until)
        if rng.random() < 0.7:
            documents.accept(actor, case, line.key)


def _documents_awaited(rng: random.Random, case: Case, actor: User, received: date,
                       today: date) -> None:
    """A case still being looked at: some documents in, and for some cases the rest asked
    of the applicant (a letter, an email where they agreed, a "documents due" deadline)."""
    lines = documents.missing(case)
    still = [line for line in lines if rng.random() < 0.35]
    for line in lines:
        if line not in still:
            documents.mark_received(actor, case, line.key, min(today, received), today=today)
    if still and rng.random() < 0.6 and today > received:
        documents.request_documents(actor, case, [line.key for line in still],
                                    today + timedelta(days=rng.choice((7, 14, 28))),
                                    today=today)


def _build_demo_case(rng: random.Random, index: int, sc: Scenario, caseworkers: Sequence[User],
                     supervisor: User, today: date, report: DemoReport) -> Case:
    policy = policy_for(sc.scheme, today)
    span, offsets = plan_days(rng, sc, policy)
    received = today - timedelta(days=span)
    created_day = received + timedelta(days=rng.randint(0, 2))
    if offsets:
        created_day = min(created_day, received + timedelta(days=offsets[0]))
    person, applicant = _applicant_for(rng, index, sc, received)
    facts = scheme_facts(rng, sc.scheme, received)
    worker = caseworkers[index % len(caseworkers)]
    case = services.create_case(worker, sc.scheme, applicant, facts, today=created_day)
    created_at = _moment(created_day, rng)
    case.created_at = created_at
    _backdate_latest_event(case, created_at)
    for relation, relative in _family(rng, sc, person, received):
        dependant = services.add_dependant(worker, case, relation, _identity(relative),
                                           married=False if relation == Relationship.CHILD
                                           else None,
                                           expected_version=case.version, today=created_day)
        dependant.added_at = created_at
        _backdate_latest_event(case, created_at)
    actor = worker
    moved = index % 9 == 4 and len(caseworkers) > 1  # handed to a colleague after submission
    last_at = created_at
    for name, offset in zip(steps_for(sc), offsets, strict=True):
        at = max(_moment(received + timedelta(days=offset), rng), last_at + timedelta(minutes=5))
        try:
            with db.session.begin_nested():
                if name == "approve":
                    _documents_in(rng, case, actor, received, to_hk_date(at))
                data = step_data(rng, case.policy.transition(name), to_hk_date(at))
                if name == "request_extension" and case.job_offer_needed_to_extend \
                        and not case.has_job_offer:
                    stay.record_job_offer(actor, case, job_offer(rng, case.arrived_on), now=at)
                reason = (_ground_words(case, actor) if name == "refuse_ineligible"
                          else reason_for(rng, name, needed=False))
                event = services.transition(case, name, actor, reason=reason, now=at, data=data)
                event.at = at
        except services.CaseError as exc:
            report.notes.append(f"{case.reference} ({sc.scheme.short_label}) stays "
                                f"{case.status.label.lower()}: {exc}")
            break
        last_at = at
        if name == "submit" and moved:
            actor = caseworkers[(index + 1) % len(caseworkers)]
            services.reassign(supervisor, [case], actor)
            _backdate_latest_event(case, at + timedelta(hours=2))
    if case.status in (CaseStatus.SUBMITTED, CaseStatus.UNDER_REVIEW):
        _documents_awaited(rng, case, actor, received, min(today, to_hk_date(last_at)))
    if sc.unassigned:
        services.reassign(supervisor, [case], None)
        _backdate_latest_event(case, last_at + timedelta(hours=3))
    db.session.flush()
    return case
