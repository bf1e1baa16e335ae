"""The row form of the services: walk a bulk case's road on a case object held in memory.

Each move runs the lifecycle's own pieces on a transient (session-less) ``Case``: the step
and its reason are checked by ``lifecycle.checked_step``, the guards, effects, stamp, end and
status by ``lifecycle.apply_step`` (with the stay's ``start_stay`` and ``grant_extension``
inside), the deadlines by the two halves of ``stay.sync_deadlines``, a job offer by
``stay.add_job_offer``. Only the two quota effects have a row form here: a place is noted
with the step's date, time and actor, and given back where ``lifecycle.place_not_taken_up``
says so, with ``lifecycle.release_reason``. The result is the COPY text of every row the
services would have written (applicant, case, dependants, events, deadlines, job offers,
quota places), except the reassignment and dependant events (see ``bulk``).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import date, datetime

from backoffice.cases import lifecycle, stay
from backoffice.cases.models import (
    Applicant,
    Case,
    CaseEvent,
    Deadline,
    Dependant,
    EventKind,
    JobOffer,
    search_text,
)
from backoffice.cases.schemes import CaseStatus, Effect
from backoffice.core.dates import hk_today
from backoffice.demo.roads import CasePlan
from backoffice.quota.models import QuotaAllocation

NULL = "\\N"  # COPY's text-format NULL


def _columns(model, *skip: str) -> tuple[str, ...]:
    return tuple(c.name for c in model.__table__.columns if c.name not in skip)


APPLICANT_COLUMNS = _columns(Applicant)
CASE_COLUMNS = _columns(Case)
DEPENDANT_COLUMNS = _columns(Dependant, "id")
EVENT_COLUMNS = _columns(CaseEvent, "id")
DEADLINE_COLUMNS = _columns(Deadline, "id")
JOB_OFFER_COLUMNS = _columns(JobOffer, "id")
# A quota place's row after its period's id, which the loading process fills in.
PLACE_COLUMNS = _columns(QuotaAllocation, "id", "period_id")


def text(value) -> str:
    """One COPY text field: dates and instants in ISO form, booleans as t/f, enums by value."""
    if value is None:
        return NULL
    if isinstance(value, bool):
        return "t" if value else "f"
    return str(value)


@dataclass
class Place:
    """A quota place taken on the road (the row form of ``quota.take_place``)."""

    scheme: str
    allocated_on: date
    allocated_at: datetime
    allocated_by_id: int
    nationality: str
    released_at: datetime | None = None
    released_by_id: int | None = None
    release_reason: str | None = None


@dataclass
class Walked:
    """A case after its road, with what the services would have written beside it."""

    case: Case
    events: list[tuple] = field(default_factory=list)
    places: list[Place] = field(default_factory=list)


def walk(plan: CasePlan, applicant_id: int, case_id: int) -> Walked:
    """Take ``plan``'s road on a case in memory; refuse (CaseError) a move the services
    would refuse."""
    actor = plan.creator
    applicant = Applicant(id=applicant_id, created_at=plan.created_at,
                          name_search=search_text(plan.applicant.family_name,
                                                  plan.applicant.given_names,
                                                  plan.applicant.chinese_name),
                          **_values(plan.applicant))
    case = Case(id=case_id, reference=None, scheme=plan.scheme, status=CaseStatus.DRAFT,
                applicant=applicant, applicant_id=applicant_id, assignee_id=plan.assignee,
                created_by_id=actor, favourable_consideration=False, extensions_granted=0,
                created_at=plan.created_at, updated_at=plan.created_at, version=1,
                **_values(plan.facts))
    for relation, identity, married in plan.dependants:
        case.dependants.append(Dependant(case_id=case_id, relation=relation, married=married,
                                         added_at=plan.created_at, added_by_id=actor,
                                         **_values(identity)))
    walked = Walked(case)
    walked.events.append((plan.created_at, EventKind.CREATED, None, None, CaseStatus.DRAFT,
                          None, None))
    effects = lifecycle.CASE_EFFECTS | {
        Effect.TAKE_QUOTA_PLACE: lambda step: _take_place(walked, step, actor),
        Effect.GIVE_BACK_QUOTA_PLACE: lambda step: _give_back_place(walked, step, actor)}
    for move in plan.road:
        if move.offer is not None:
            job = stay.add_job_offer(case, move.offer, actor, move.at)
            walked.events.append((move.at, EventKind.EDITED, None, None, None, None,
                                  stay.job_offer_detail(job)))
            continue
        transition, reason = lifecycle.checked_step(case, move.name, move.reason)
        step = lifecycle.Step(case, case.policy, transition, None, reason, move.at,
                              hk_today(move.at), move.arrived_on)
        from_status, detail = lifecycle.apply_step(step, effects)
        stay.open_missing_deadlines(case, stay.cancel_stale_deadlines(case, move.at))
        for deadline in case.deadlines:
            if deadline.created_at is None:
                deadline.created_at = move.at
        case.updated_at = move.at
        walked.events.append((move.at, EventKind.TRANSITION, transition.name, from_status,
                              transition.target, reason, detail))
    return walked


def _values(data) -> dict:
    return {f.name: getattr(data, f.name) for f in fields(data)}


def _take_place(walked: Walked, step: lifecycle.Step, actor: int) -> None:
    walked.places.append(Place(step.case.scheme.value, step.today, step.now, actor,
                               step.case.applicant.nationality))


def _give_back_place(walked: Walked, step: lifecycle.Step, actor: int) -> None:
    if not lifecycle.place_not_taken_up(step.case):
        return
    for place in walked.places:
        if place.released_at is None:
            place.released_at, place.released_by_id = step.now, actor
            place.release_reason = lifecycle.release_reason(step.transition, step.reason)


# --- COPY text -----------------------------------------------------------------------------

@dataclass
class ChunkRows:
    """The rows of a chunk of cases as COPY text fields, table by table. ``cases`` rows are
    lists whose reference (index 1) the loading process fills in; ``places`` rows start with
    (scheme, year) for it to replace by the period's id; ``keys`` are the (scheme, year) of
    each case's reference."""

    applicants: list[tuple[str, ...]] = field(default_factory=list)
    cases: list[list[str]] = field(default_factory=list)
    dependants: list[tuple[str, ...]] = field(default_factory=list)
    events: list[tuple[str, ...]] = field(default_factory=list)
    deadlines: list[tuple[str, ...]] = field(default_factory=list)
    job_offers: list[tuple[str, ...]] = field(default_factory=list)
    places: list[tuple] = field(default_factory=list)
    keys: list[tuple] = field(default_factory=list)

    def add(self, walked: Walked, plan: CasePlan) -> None:
        case = walked.case
        cid = str(case.id)
        self.applicants.append(tuple(text(getattr(case.applicant, c))
                                     for c in APPLICANT_COLUMNS))
        self.cases.append([text(getattr(case, c)) for c in CASE_COLUMNS])
        self.keys.append((case.scheme, plan.created_on.year))
        self.dependants.extend((cid, *(text(getattr(d, c)) for c in DEPENDANT_COLUMNS[1:]))
                               for d in case.dependants)
        actor = str(plan.creator)
        self.events.extend((cid, text(at), actor, *map(text, rest))
                           for at, *rest in walked.events)
        self.deadlines.extend((cid, *(text(getattr(d, c)) for c in DEADLINE_COLUMNS[1:]))
                              for d in case.deadlines)
        self.job_offers.extend((cid, *(text(getattr(j, c)) for c in JOB_OFFER_COLUMNS[1:]))
                               for j in case.job_offers)
        self.places.extend(
            ((p.scheme, p.allocated_on.year), cid,
             *(text(getattr(p, c)) for c in PLACE_COLUMNS[1:])) for p in walked.places)
