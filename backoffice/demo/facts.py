"""What demo applications say: business plans, job offers, reasons in words
(``data/texts.json``), and the scheme facts an application needs to be eligible."""

from __future__ import annotations

import random
from datetime import date, timedelta
from decimal import Decimal
from functools import cache

from backoffice.cases import services, stay
from backoffice.cases.lifecycle import StepData
from backoffice.cases.schemes import GovernmentProgramme, Guard, Scheme, Transition
from backoffice.demo.people import load_data

_TEXTS = load_data("texts")
BUSINESS_PLANS: tuple[str, ...] = tuple(_TEXTS["business_plans"])
EMPLOYERS: tuple[tuple[str, str], ...] = tuple(tuple(e) for e in _TEXTS["employers"])
JOB_RELEVANCE: tuple[str, ...] = tuple(_TEXTS["job_relevance"])
LOCAL_UNAVAILABILITY: tuple[str, ...] = tuple(_TEXTS["local_unavailability"])
# Reasons in words, by the name of the step that needs one.
REASONS: dict[str, tuple[str, ...]] = {name: tuple(texts)
                                       for name, texts in _TEXTS["reasons"].items()}
# Offers recorded during a stay (QMAS needs one to extend).
JOB_OFFERS: tuple[tuple[str, str], ...] = tuple(tuple(j) for j in _TEXTS["job_offers"])
EXTENSION_GROUNDS: tuple[str, ...] = tuple(_TEXTS["extension_grounds"])
_VISA_LETTERS = "ABCDEFGHJKLMNPRSTUVWXYZ"
# For a step that needs a reason the texts have none for (a step added to a policy later).
_ANY_REASON = "Recorded with the demo data."


def scheme_facts(rng: random.Random, scheme: Scheme, received: date, *,
                 programme_share: float = 0.6) -> services.CaseFacts:
    """The facts an application under ``scheme`` needs to be eligible on ``received``."""
    values: dict = {"submitted_on": received}
    if scheme == Scheme.GEP_ENT:
        values["business_plan"] = rng.choice(BUSINESS_PLANS)
        if rng.random() < programme_share:
            values["programme"] = rng.choice(list(GovernmentProgramme))
    elif scheme == Scheme.GEP_PRO:
        employer, post = rng.choice(EMPLOYERS)
        values |= {"job_employer": employer, "job_post": post,
                   "job_salary": Decimal(rng.randrange(35, 160) * 1000),
                   "job_relevance": rng.choice(JOB_RELEVANCE),
                   "job_local_unavailability": rng.choice(LOCAL_UNAVAILABILITY)}
    elif scheme == Scheme.ASSG:
        values |= {"has_hk_parent": True, "emigrated_overseas": True}
    return services.CaseFacts(**values)


def reason_for(rng: random.Random, name: str, needed: bool = True) -> str | None:
    """A reason in words for the step called ``name`` if it needs one, else None."""
    reasons = REASONS.get(name)
    if reasons:
        return rng.choice(reasons)
    return _ANY_REASON if needed else None


def job_offer(rng: random.Random, arrived_on: date) -> stay.JobOfferData:
    """An offer starting a few weeks to a few months after the arrival."""
    employer, post = rng.choice(JOB_OFFERS)
    return stay.JobOfferData(employer=employer, post=post,
                             salary=Decimal(rng.randrange(30_000, 120_000, 500)),
                             start_date=arrived_on + timedelta(days=rng.randint(20, 120)))


def step_data(rng: random.Random, transition: Transition, on: date) -> StepData:
    """What a caseworker gives for ``transition`` taken on ``on``: the date, and for a visa
    its number and a validity of three to six months, for an extension request its grounds
    (the length asked is the policy's, on the latest job offer)."""
    if Guard.VISA_DETAILS in transition.guards:
        number = f"{rng.choice(_VISA_LETTERS)}{rng.randrange(10 ** 7):07d}"
        return StepData(on=on, visa_number=number,
                        visa_valid_until=on + timedelta(days=rng.randint(90, 180)))
    if Guard.EXTENSION_REQUEST in transition.guards:
        return StepData(on=on, grounds=rng.choice(EXTENSION_GROUNDS))
    return _dated(on)


@cache
def _dated(on: date) -> StepData:
    # One StepData per date, shared (it is frozen): making a frozen dataclass costs 1.6 us and
    # most of a bulk case's four or five steps carry only their date.
    return StepData(on=on)
