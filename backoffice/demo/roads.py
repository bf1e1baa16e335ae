"""The plan of one bulk case: who applies, what they bring, and the road their case takes.

A road is the list of moves a caseworker would make, with their moments and step data: the
lifecycle steps by name (found in the case's policy with ``transitions_from``, never written
out per status here) and the job offers recorded on the way. Nothing here applies a rule:
``rows.walk`` does that, through the lifecycle's and the stay's own functions, and the
comparison test replays the same plans through the services. Pure Python and ``random``: no
database, so any process can plan any chunk.
"""

from __future__ import annotations

import random
from bisect import bisect
from collections import deque
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import cache

from backoffice.cases import stay
from backoffice.cases.lifecycle import StepData
from backoffice.cases.models import Relationship
from backoffice.cases.schemes import (
    POLICIES,
    CaseStatus,
    Effect,
    Guard,
    Scheme,
    SchemePolicy,
    policy_for,
)
from backoffice.cases.services import ApplicantData, CaseFacts, IdentityData
from backoffice.demo import facts
from backoffice.demo.people import (
    ASSG_NATIONS,
    email_for,
    language_of,
    make_person,
    phone_for,
    pick_nationality,
)

S = CaseStatus
BULK_EMAIL_DOMAIN = "bulk.example.net"
BULK_SPAN_DAYS = 5 * 365

_SCHEMES = (Scheme.QMAS, Scheme.GEP_PRO, Scheme.GEP_ENT, Scheme.ASSG)
_SCHEME_CUM = (50, 80, 90, 100)  # QMAS-heavy: half of all applications

# Where cases end up, by how long ago the application was received (days).
_STATUS_MIX: tuple[tuple[int, tuple[tuple[CaseStatus, int], ...]], ...] = (
    (21, ((S.DRAFT, 30), (S.SUBMITTED, 45), (S.UNDER_REVIEW, 20), (S.WITHDRAWN, 3),
          (S.REFUSED, 2))),
    (90, ((S.DRAFT, 4), (S.SUBMITTED, 10), (S.UNDER_REVIEW, 40), (S.AWAITING_QUOTA, 12),
          (S.APPROVED, 14), (S.VISA_ISSUED, 6), (S.REFUSED, 8), (S.WITHDRAWN, 6))),
    (365, ((S.UNDER_REVIEW, 6), (S.AWAITING_QUOTA, 6), (S.APPROVED, 6), (S.VISA_ISSUED, 10),
           (S.IN_STAY, 40), (S.REFUSED, 14), (S.WITHDRAWN, 8), (S.LAPSED, 6), (S.CLOSED, 4))),
    (10**6, ((S.IN_STAY, 20), (S.EXTENSION_REQUESTED, 5), (S.EXTENDED, 30), (S.REFUSED, 15),
             (S.WITHDRAWN, 8), (S.LAPSED, 12), (S.CLOSED, 10))),
)
_MIX = tuple((limit, tuple(s for s, _ in mix),
              tuple(sum(w for _, w in mix[:i + 1]) for i in range(len(mix))))
             for limit, mix in _STATUS_MIX)

# The statuses a road passes on its way to some final statuses, with weights: refused after
# review or straight after submission, lapsed before arrival or after the stay... () is the
# shortest road. A waypoint the case's policy cannot reach (no quota queue) is skipped.
_WAYPOINTS: dict[CaseStatus, tuple[tuple[tuple[CaseStatus, ...], int], ...]] = {
    S.APPROVED: (((), 85), ((S.AWAITING_QUOTA,), 15)),
    S.REFUSED: (((S.SUBMITTED,), 20), ((S.UNDER_REVIEW,), 70), ((S.AWAITING_QUOTA,), 10)),
    S.WITHDRAWN: (((), 10), ((S.SUBMITTED,), 60), ((S.UNDER_REVIEW,), 15),
                  ((S.APPROVED,), 10), ((S.VISA_ISSUED,), 5)),
    S.LAPSED: (((S.VISA_ISSUED,), 40), ((S.IN_STAY,), 45), ((S.EXTENDED,), 15)),
    S.IN_STAY: (((), 90), ((S.EXTENSION_REQUESTED,), 10)),  # an extension refused
    S.CLOSED: (((S.IN_STAY,), 80), ((S.EXTENDED,), 20)),
}
# Days from the previous move to a step, by step name (demo timing, not a rule).
_GAPS: dict[str, tuple[int, int]] = {
    "submit": (1, 6), "start_review": (3, 25), "hold_for_quota": (10, 40), "approve": (20, 80),
    "issue_visa": (5, 20), "record_arrival": (14, 80), "grant_extension": (3, 20),
    "refuse_extension": (3, 12), "refuse": (15, 60), "withdraw": (5, 60), "close": (60, 300),
}
_DEFAULT_GAP = (5, 30)
_LAPSE_BEFORE_ARRIVAL = (150, 220)  # days after the last step: the approval was not taken up
_LAPSE_AFTER_STAY = (1, 20)  # days after the stay end
_EPOCH_DAY = date(1970, 1, 1).toordinal()


@dataclass(frozen=True, slots=True)
class Move:
    """One thing done to a case: the lifecycle step ``name`` (with its reason and what the
    caseworker gives for it: its date, a visa's details, an extension's grounds), or, with
    ``offer``, a job offer recorded during the stay."""

    at: datetime
    name: str | None = None
    reason: str | None = None
    data: StepData | None = None
    offer: stay.JobOfferData | None = None


@dataclass(frozen=True, slots=True)
class CasePlan:
    """A bulk case as the services would be asked to make it: the inputs of ``create_case``
    and ``add_dependant``, who works it, and its road."""

    scheme: Scheme
    applicant: ApplicantData
    facts: CaseFacts
    dependants: tuple[tuple[Relationship, IdentityData, bool | None], ...]
    created_on: date
    created_at: datetime
    creator: int  # the caseworker who created the case and takes its steps
    assignee: int | None  # None: handed back to the queue at the end
    road: tuple[Move, ...]


@cache
def steps_between(scheme: Scheme, version: str, start: CaseStatus, goal: CaseStatus
                  ) -> tuple[str, ...] | None:
    """The shortest road of step names from ``start`` to ``goal`` in the policy's lifecycle
    (breadth first over ``transitions_from``, table order first), or None if there is none.
    Steps for exceptional cases only (refusing an ineligible draft) are never on a road: bulk
    applications are eligible."""
    policy = next(p for p in POLICIES[scheme] if p.version == version)
    came_from: dict[CaseStatus, tuple[CaseStatus, str] | None] = {start: None}
    queue = deque([start])
    while queue:
        status = queue.popleft()
        if status == goal:
            names: list[str] = []
            while came_from[status] is not None:
                status, name = came_from[status]  # type: ignore[misc]
                names.append(name)
            return tuple(reversed(names))
        for transition in policy.transitions_from(status):
            if transition.target not in came_from and not transition.only_when_possible:
                came_from[transition.target] = (status, transition.name)
                queue.append(transition.target)
    return None


class Planner:
    """Plans bulk cases from one random stream (a chunk's), up to ``today``."""

    def __init__(self, rng: random.Random, today: date, workers: list[int]) -> None:
        self.rng = rng
        self.r = rng.random
        self.today = today
        self.workers = workers

    def between(self, low: int, high: int) -> int:
        return low + int(self.r() * (high - low + 1))

    def weighted(self, options):
        total = sum(weight for _, weight in options)
        point = self.r() * total
        for value, weight in options:
            point -= weight
            if point < 0:
                return value
        return options[-1][0]

    def at(self, day: int) -> datetime:
        """A moment in Hong Kong office hours (09:00-17:00 HK = 01:00-09:00 UTC) on ``day``."""
        s = int(self.r() * 28_800)
        # 01:00 UTC on that day, plus s seconds, in one call instead of three (0.5 us saved,
        # five or six moments a case).
        return datetime.fromtimestamp((day - _EPOCH_DAY) * 86_400 + 3_600 + s, UTC)

    def plan(self, serial: int) -> CasePlan:
        r, today = self.r, self.today.toordinal()
        scheme = _SCHEMES[bisect(_SCHEME_CUM, r() * _SCHEME_CUM[-1])]
        received = today - int(BULK_SPAN_DAYS * r() ** 1.3)
        for limit, statuses, cum in _MIX:
            if today - received < limit:
                final = statuses[bisect(cum, r() * cum[-1])]
                break
        return self._plan(serial, scheme, received, final)

    def plan_year_case(self, serial: int, final: CaseStatus, on: date) -> CasePlan:
        """A QMAS case of the current year's plan (``demo.year``): approved on ``on`` and on
        its way to a stay as far as today allows (``final`` IN_STAY), or held for the quota on
        ``on`` and waiting since (``final`` AWAITING_QUOTA). The steps up to that one are timed
        backwards from it with the usual gaps; the case is always someone's."""
        policy = policy_for(Scheme.QMAS, on)
        goal = S.APPROVED if final == S.IN_STAY else final
        names = steps_between(policy.scheme, policy.version, S.DRAFT, goal)
        days = [on.toordinal()]
        for name in reversed(names[1:]):  # the gap before each step, last first
            days.append(days[-1] - self.between(*_GAPS.get(name, _DEFAULT_GAP)))
        days.reverse()
        created = days[0] - self.between(*_GAPS["submit"])
        received = created - int(self.r() * 3)
        return self._plan(serial, Scheme.QMAS, received, final, created=created,
                          pinned=tuple(zip(names, days, strict=True)), unassigned_share=0.0)

    def _plan(self, serial: int, scheme: Scheme, received: int, final: CaseStatus, *,
              created: int | None = None, pinned: tuple[tuple[str, int], ...] = (),
              unassigned_share: float = 0.1) -> CasePlan:
        r, rng, today = self.r, self.rng, self.today.toordinal()
        received_on = date.fromordinal(received)
        policy = policy_for(scheme, received_on)
        assg = scheme == Scheme.ASSG
        if assg:
            nationality = rng.choice(ASSG_NATIONS)
            person = make_person(rng, nationality, on=received_on, age=self.between(20, 40),
                                 cantonese=True, hkid_share=0.5)
        else:
            nationality = pick_nationality(rng)
            while final != S.DRAFT and nationality in policy.excluded_nationalities:
                nationality = pick_nationality(rng)
            person = make_person(rng, nationality, on=received_on, age=self.between(23, 56),
                                 hkid_share=0.12)
        if created is None:
            created = min(received + int(r() * 3), today)
        email = email_for(person, serial, BULK_EMAIL_DOMAIN) if r() < 0.7 else None
        applicant = ApplicantData(
            family_name=person.family_name, given_names=person.given_names,
            chinese_name=person.chinese_name, date_of_birth=person.date_of_birth,
            nationality=nationality, passport_number=person.passport_number, hkid=person.hkid,
            email=email, phone=phone_for(rng, nationality),
            email_consent=email is not None and r() < 0.6, language=language_of(person))
        case_facts = facts.scheme_facts(rng, scheme, received_on, programme_share=0.45)
        dependants = []
        if not assg and r() < 0.22:
            spouse = make_person(rng, nationality, on=received_on, age=self.between(25, 50),
                                 hkid_share=0.05)
            dependants.append((Relationship.SPOUSE, _identity(spouse), None))
            for _ in range(int(r() * 3)):
                child = make_person(rng, nationality, on=received_on, age=self.between(2, 16),
                                    family_name=person.family_name, hkid_share=0.0)
                dependants.append((Relationship.CHILD, _identity(child), False))
        road, last = self.road(policy, final, created, pinned)
        assignee = None if last.is_open and r() < unassigned_share else rng.choice(self.workers)
        creator = assignee if assignee is not None else rng.choice(self.workers)
        return CasePlan(scheme=scheme, applicant=applicant, facts=case_facts,
                        dependants=tuple(dependants), created_on=date.fromordinal(created),
                        created_at=self.at(created), creator=creator, assignee=assignee,
                        road=road)

    def names(self, policy: SchemePolicy, final: CaseStatus) -> list[str]:
        """The step names from a draft to ``final``, through waypoints drawn for it."""
        waypoints = self.weighted(_WAYPOINTS[final]) if final in _WAYPOINTS else ()
        names: list[str] = []
        status = S.DRAFT
        for goal in (*waypoints, final):
            part = steps_between(policy.scheme, policy.version, status, goal)
            if part is not None:
                names += part
                status = goal
        if status != final:  # a status this policy never reaches (the quota queue)
            return self.names(policy, S.UNDER_REVIEW)
        return names

    def road(self, policy: SchemePolicy, final: CaseStatus, created: int,
             pinned: tuple[tuple[str, int], ...] = ()) -> tuple[tuple[Move, ...], CaseStatus]:
        """The moves, timed from the created day, cut where the next one would be after
        today; and the status the case is left in. Steps that depend on the stay are timed
        from the stay end, computed by the stay's own rule. ``pinned``: the names and days
        of the first steps, given (a case of the year's plan).

        The current year's quota places are the year plan's alone (``demo.year``), so the
        year looks the same at any size of load: a road that would take one stops before
        that step, a hold for the quota just before it taken back out (the case is left under
        review)."""
        today = self.today.toordinal()
        moves: list[Move] = []
        day, status, came_from = created, S.DRAFT, S.DRAFT
        arrival: date | None = None
        extensions = 0
        offer_day: int | None = None
        names = self.names(policy, final)
        # An extension needs a job offer first where the policy says so.
        offer_needed = policy.job_offer_needed_to_extend and any(
            Guard.EXTENSION_WINDOW in policy.transition(name).guards for name in names)
        if [name for name, _ in pinned] != names[:len(pinned)]:
            raise ValueError(f"{policy.scheme}: the pinned steps {pinned} are not the road's")
        for index, name in enumerate(names):
            transition = policy.transition(name)
            ends = None if arrival is None else stay.stay_end(
                arrival, policy.initial_stay_months,
                policy.extension_months * extensions).toordinal()
            if index < len(pinned):
                next_day = pinned[index][1]
            elif Guard.EXTENSION_WINDOW in transition.guards and ends is not None:
                next_day = max(day + 1, ends - self.between(3, policy.extension_window_days - 1))
                if next_day > ends:
                    break
            elif name == "lapse":
                low, high = _LAPSE_AFTER_STAY if ends is not None else _LAPSE_BEFORE_ARRIVAL
                next_day = max(day + 1, (ends or day) + self.between(low, high))
            else:
                next_day = day + self.between(*_GAPS.get(name, _DEFAULT_GAP))
            if offer_day is not None and (offer_day < next_day or Guard.EXTENSION_WINDOW in
                                          transition.guards):
                offer_day = min(offer_day, next_day - 1)
                if offer_day > today:
                    break
                moves.append(Move(self.at(offer_day), offer=facts.job_offer(self.rng, arrival)))
                offer_day = None
            if next_day > today:
                break
            if Effect.TAKE_QUOTA_PLACE in transition.effects and index >= len(pinned) \
                    and date.fromordinal(next_day).year == self.today.year:
                if moves and moves[-1].name == transition.when_quota_full:
                    moves.pop()
                    status = came_from
                break
            day = next_day
            at = self.at(day)
            if Effect.START_STAY in transition.effects:
                arrival = date.fromordinal(day)
                wanted = offer_needed or (policy.job_offer_needed_to_extend and self.r() < 0.4)
                offer_day = day + self.between(20, 200) if wanted else None
            if Effect.EXTEND_STAY in transition.effects:
                extensions += 1
            reason = facts.reason_for(self.rng, name) if transition.needs_reason else None
            moves.append(Move(at, name, reason,
                              facts.step_data(self.rng, transition, date.fromordinal(day))))
            came_from, status = status, transition.target
        if offer_day is not None and offer_day <= today and arrival is not None \
                and status.is_open:  # still in the stay
            moves.append(Move(self.at(offer_day), offer=facts.job_offer(self.rng, arrival)))
        return tuple(moves), status


def _identity(person) -> IdentityData:
    return IdentityData(
        family_name=person.family_name, given_names=person.given_names,
        chinese_name=person.chinese_name, date_of_birth=person.date_of_birth,
        nationality=person.nationality, passport_number=person.passport_number,
        hkid=person.hkid)
