"""The row form of the services: walk a bulk case's road on a case object held in memory.

Each move runs the lifecycle's own pieces on a case in memory: the step and its reason are
checked by ``lifecycle.checked_step``, the guards, effects, stamp, end and status by
``lifecycle.apply_step`` (with the stay's ``start_stay`` and ``grant_extension`` inside), the
deadlines by the two halves of ``stay.sync_deadlines``, a job offer by ``stay.add_job_offer``.
Only the two quota effects have a row form here: a place is noted with the step's date, time
and actor, and given back where ``lifecycle.place_not_taken_up`` says so, with
the step's name and reason. The result is the COPY text of every row the services would have
written (applicant, case, dependants, events, deadlines, job offers, quota places), except the
reassignment and dependant events (see ``bulk``).

The case, its applicant, dependants, deadlines and job offers are plain stand-ins for the
models (``walking``): the same columns, the models' own properties (``Case.in_stay``,
``open_deadlines``...), no SQLAlchemy instrumentation, which was most of a bulk case's cost.
The rules cannot tell them apart: they only read and set attributes.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field, fields
from datetime import UTC, date, datetime
from functools import cache, lru_cache
from operator import attrgetter

from backoffice.cases import duplicates, lifecycle, stay
from backoffice.cases.models import (
    Applicant,
    Case,
    CaseEvent,
    Deadline,
    Dependant,
    EventKind,
    JobOffer,
    phone_key,
)
from backoffice.cases.schemes import CaseStatus, Effect, Guard
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
# With its id: the walk gives each job offer one of the ids the load reserved, so that an
# extension request on the case can name it (``Case.extension_job_offer_id``).
JOB_OFFER_COLUMNS = _columns(JobOffer)
# A quota place's row after its period's id, which the loading process fills in.
PLACE_COLUMNS = _columns(QuotaAllocation, "id", "period_id")
# A row's values in one C call each, instead of a getattr per column from a generator (about
# a tenth of a chunk's generation time).
_APPLICANT_VALUES = attrgetter(*APPLICANT_COLUMNS)
_CASE_VALUES = attrgetter(*CASE_COLUMNS)
_DEPENDANT_VALUES = attrgetter(*DEPENDANT_COLUMNS[1:])
_DEADLINE_VALUES = attrgetter(*DEADLINE_COLUMNS[1:])
_JOB_OFFER_VALUES = attrgetter(*JOB_OFFER_COLUMNS[2:])
_PLACE_VALUES = attrgetter(*PLACE_COLUMNS[1:])


def text(value) -> str:
    """One COPY text field: dates and instants in ISO form, booleans as t/f, enums by value,
    a dict (an event's ``detail_data``) as JSON."""
    if value is None:
        return NULL
    # Identity tests, not isinstance: the only bools are these two, and this runs per field.
    if value is True:
        return "t"
    if value is False:
        return "f"
    kind = type(value)
    if kind is dict:
        return json_text(value)
    if kind is date or (kind is datetime and value.tzinfo is UTC):
        return _moment_text(value)
    return str(value)


def texts(values: Iterable) -> list[str]:
    """``text`` of each value. The two commonest kinds (half of a case's 140 fields are None
    or a string) are written here, without a Python call per field."""
    return [NULL if value is None else value if type(value) is str else text(value)
            for value in values]


@lru_cache(maxsize=1 << 14)
def _moment_text(value: date | datetime) -> str:
    # A case's instants are written three times each (its event, a stamp, a deadline's
    # created_at) and its dates are shared with other cases': str() of an aware datetime
    # costs 2 us, a cache hit a tenth of that. Only dates and UTC instants come here: those
    # are equal only if their text is (an instant in another zone can equal a UTC one).
    return str(value)


def json_text(value: dict) -> str:
    """A JSON column's COPY text field. JSON escapes tabs and newlines itself, so only its
    backslashes need COPY's escaping (doubled); ``sinks.CoreSink`` reads it back the same way.
    Non-ASCII stays as it is (a Chinese name is UTF-8, not JSON's escapes)."""
    return _JSON.encode(value).replace("\\", "\\\\")


# json.dumps with these options builds a new encoder on every call (a sixth of json_text).
_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def walking(model: type) -> type:
    """A plain class standing in for ``model`` on the walk: every column an attribute, None
    until set (as on a transient ORM object), and the model's own properties, so the rules
    read the same definitions. Setting and reading its attributes costs a dict operation
    instead of SQLAlchemy's attribute events and state tracking."""
    namespace: dict = {attr.key: None for attr in model.__mapper__.column_attrs}
    for klass in reversed(model.__mro__):
        namespace.update({name: value for name, value in vars(klass).items()
                          if isinstance(value, property)})
    namespace["__init__"] = _set_attributes
    namespace["__doc__"] = f"{model.__name__} on a bulk case's walk (see ``rows.walking``)."
    return type(f"Walking{model.__name__}", (), namespace)


def _set_attributes(self, **values) -> None:
    self.__dict__.update(values)


WalkingApplicant = walking(Applicant)
WalkingDependant = walking(Dependant)
WalkingDeadline = walking(Deadline)
WalkingJobOffer = walking(JobOffer)
_WalkingCase = walking(Case)
_case_policy = Case.policy.fget


class WalkingCase(_WalkingCase):
    """``Case`` on the walk. Its policy is looked up once, by ``Case.policy`` itself: the
    scheme and the submission date it depends on are set when the case is made and no step
    changes them (``policy`` was read about ten times per case)."""

    policy = None  # shadows the borrowed property: an attribute set in __init__

    def __init__(self, **values) -> None:
        self.__dict__.update(values)
        self.policy = _case_policy(self)


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
    release_step: str | None = None
    release_reason: str | None = None


@dataclass
class Walked:
    """A case after its road, with what the services would have written beside it."""

    case: WalkingCase
    events: list[tuple] = field(default_factory=list)
    places: list[Place] = field(default_factory=list)


def walk(plan: CasePlan, applicant_id: int, case_id: int, job_offer_id: int) -> Walked:
    """Take ``plan``'s road on a case in memory; refuse (CaseError) a move the services
    would refuse. ``job_offer_id`` is the id of the job offer recorded on the road, if one
    is (a road records one at most)."""
    actor = plan.creator
    applicant = WalkingApplicant(id=applicant_id, created_at=plan.created_at,
                                 phone_key=phone_key(plan.applicant.phone),
                                 **duplicates.identity_keys(plan.applicant),
                                 **_values(plan.applicant))
    case = WalkingCase(id=case_id, reference=None, scheme=plan.scheme, status=CaseStatus.DRAFT,
                       applicant=applicant, applicant_id=applicant_id,
                       assignee_id=plan.assignee, created_by_id=actor,
                       favourable_consideration=False, extensions_granted=0,
                       extension_months_total=0,
                       created_at=plan.created_at, updated_at=plan.created_at, version=1,
                       dependants=[], deadlines=[], job_offers=[], **_values(plan.facts))
    for relation, identity, married in plan.dependants:
        case.dependants.append(WalkingDependant(
            case_id=case_id, relation=relation, married=married, added_at=plan.created_at,
            added_by_id=actor, **duplicates.identity_keys(identity), **_values(identity)))
    walked = Walked(case)
    walked.events.append((plan.created_at, EventKind.CREATED, None, None, CaseStatus.DRAFT,
                          None, None, None, None))
    effects = lifecycle.CASE_EFFECTS | {
        Effect.TAKE_QUOTA_PLACE: lambda step: _take_place(walked, step, actor),
        Effect.GIVE_BACK_QUOTA_PLACE: lambda step: _give_back_place(walked, step, actor)}
    for move in plan.road:
        if move.offer is not None:
            if case.job_offers:
                raise ValueError(f"{plan.scheme}: a road records one job offer at most")
            job = stay.add_job_offer(case, move.offer, actor, move.at,
                                     make_job_offer=WalkingJobOffer)
            job.id = job_offer_id
            walked.events.append((move.at, EventKind.EDITED, None, None, None, None,
                                  None, stay.job_offer_detail(job), None))
            continue
        transition, reason = lifecycle.checked_step(case, move.name, move.reason)
        step = lifecycle.Step(case, case.policy, transition, None, reason, move.at,
                              hk_today(move.at), move.data or lifecycle.StepData())
        from_status, detail_data = lifecycle.apply_step(step, effects, _NO_DATABASE_GUARDS)
        stay.open_missing_deadlines(case, stay.cancel_stale_deadlines(case, move.at),
                                    make_deadline=WalkingDeadline)
        for deadline in case.deadlines:
            if deadline.created_at is None:
                deadline.created_at = move.at
        case.updated_at = move.at
        walked.events.append((move.at, EventKind.TRANSITION, transition.name, from_status,
                              transition.target, reason, None, detail_data, step.on))
    return walked


# A bulk case's people are made up for it alone (the generator's passports and HKIDs), and
# the walk has no database to ask whether someone else holds a quota place. Nor does it write
# documents: a bulk case's checklist is not counted (cases.documents_missing stays NULL).
_NO_DATABASE_GUARDS = frozenset({Guard.ONE_QUOTA_PLACE, Guard.DOCUMENTS_COMPLETE})


def _values(data) -> dict:
    return {name: getattr(data, name) for name in _field_names(type(data))}


@cache
def _field_names(kind: type) -> tuple[str, ...]:
    # Once per dataclass instead of dataclasses.fields() for each of a case's few objects.
    return tuple(f.name for f in fields(kind))


def _take_place(walked: Walked, step: lifecycle.Step, actor: int) -> None:
    walked.places.append(Place(step.case.scheme.value, step.today, step.now, actor,
                               step.case.applicant.nationality))


def _give_back_place(walked: Walked, step: lifecycle.Step, actor: int) -> None:
    if not lifecycle.place_not_taken_up(step.case):
        return
    for place in walked.places:
        if place.released_at is None:
            place.released_at, place.released_by_id = step.now, actor
            place.release_step, place.release_reason = step.transition.name, step.reason


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
        self.applicants.append(tuple(texts(_APPLICANT_VALUES(case.applicant))))
        self.cases.append(texts(_CASE_VALUES(case)))
        self.keys.append((case.scheme, plan.created_on.year))
        self.dependants.extend((cid, *texts(_DEPENDANT_VALUES(d))) for d in case.dependants)
        actor = str(plan.creator)
        self.events.extend((cid, text(at), actor, *texts(rest)) for at, *rest in walked.events)
        self.deadlines.extend((cid, *texts(_DEADLINE_VALUES(d))) for d in case.deadlines)
        self.job_offers.extend((str(j.id), cid, *texts(_JOB_OFFER_VALUES(j)))
                               for j in case.job_offers)
        self.places.extend(((p.scheme, p.allocated_on.year), cid, *texts(_PLACE_VALUES(p)))
                           for p in walked.places)
