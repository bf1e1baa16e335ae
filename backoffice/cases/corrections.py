"""Correcting a date the caseworker gave for a step, and everything that follows from it.

A step's date (``CaseEvent.occurred_on``) is what the caseworker said happened; when it was
wrong, the correction is its own event with the old value, the new value and the reason, and
the step's event then shows the corrected date. What depends on the date is recomputed in
the same transaction: the column the step stamped (the approval or visa date), the status's
start (``Case.status_since``), the stay end of an arrival, the deadlines (whose reminders
follow them: a cancelled deadline's reminders are cancelled, a new one's are planned), and the
quota year of an approval.

The quota year rule: an approval's place counts in the year of its approval date. A
correction that moves the approval date into another year moves the place with it: a place
is taken in the new year's quota (refused, with nothing changed, when that year has none)
and the old year's place is given back.

The bounds are those of the step itself: never in the future, never before the step it
follows (the previous dated step, or the submission date), never after the step that
followed it. The visa's validity end is also correctable: not before the visa was issued,
nor before the arrival it allowed. A job offer's date too: not in the future, not before the
submission date.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select

from backoffice.auth.models import User
from backoffice.cases import events, stay
from backoffice.cases.guards import CaseError, check_can_act, check_open, check_version
from backoffice.cases.models import Case, CaseEvent, EventKind
from backoffice.cases.schemes import Effect, PolicyError, Transition
from backoffice.cases.words import LazyDate, lazy_gettext
from backoffice.core.dates import utcnow
from backoffice.extensions import db
from backoffice.quota import services as quota

# The item that names the visa's validity end rather than a step's date, and the prefix of a
# job offer's date (its id follows).
VISA_VALIDITY = "visa_valid_until"
JOB_OFFER = "job_offer:"
REASON_LENGTH = 500


@dataclass(frozen=True)
class CorrectableDate:
    """A date the case page offers to correct: ``key`` is the step event's id (as text) or
    :data:`VISA_VALIDITY`; ``label`` the step (or the visa's validity) in words; ``value``
    the date now on record; ``earliest``/``latest`` its bounds (None: none)."""

    key: str
    label: object
    value: date
    earliest: date | None
    latest: date | None


def _step(case: Case, event: CaseEvent) -> Transition | None:
    try:
        return case.policy.transition(event.transition)
    except PolicyError:
        return None


def _dated_steps(case_id: int) -> list[CaseEvent]:
    return list(db.session.scalars(
        select(CaseEvent).where(CaseEvent.case_id == case_id,
                                CaseEvent.kind == EventKind.TRANSITION)
        .order_by(CaseEvent.id)))


def correctable_dates(case: Case, today: date,
                      history: list[CaseEvent] | None = None) -> list[CorrectableDate]:
    """The dates of the case that can be corrected now, with their bounds, in the order they
    happened: every dated step's (once the case has ended, none), and the visa's validity
    end while it still matters (before the arrival). ``history``: the case's events already
    read (the case page has them), in any order, to save reading them again."""
    if not case.is_open:
        return []
    steps = _dated_steps(case.id) if history is None else sorted(
        (e for e in history if e.kind == EventKind.TRANSITION), key=lambda e: e.id)
    found = []
    for index, event in enumerate(steps):
        transition = _step(case, event)
        if event.occurred_on is None or transition is None or not transition.dated:
            continue
        earliest, latest = _bounds(case, steps, index, today)
        found.append(CorrectableDate(str(event.id), transition.label, event.occurred_on,
                                     earliest, latest))
    if case.visa_valid_until is not None and case.arrived_on is None:
        found.append(CorrectableDate(VISA_VALIDITY, lazy_gettext("Visa valid until"),
                                     case.visa_valid_until, case.visa_issued_on, None))
    found.extend(CorrectableDate(f"{JOB_OFFER}{offer.id}", lazy_gettext(
        "Job offer: %(post)s at %(employer)s", post=offer.post, employer=offer.employer),
        offer.offered_on, case.submitted_on, today)
        for offer in case.job_offers if offer.offered_on is not None)
    return found


def _bounds(case: Case, steps: list[CaseEvent], index: int, today: date
            ) -> tuple[date, date]:
    earlier = [e.occurred_on for e in steps[:index] if e.occurred_on is not None]
    later = [e.occurred_on for e in steps[index + 1:] if e.occurred_on is not None]
    earliest = max([case.submitted_on, *earlier])
    latest = min([today, *later])
    transition = _step(case, steps[index])
    if transition is not None and Effect.START_STAY in transition.effects \
            and case.visa_valid_until is not None:
        latest = min(latest, case.visa_valid_until)
    return earliest, latest


def correct_date(actor: User, case: Case, key: str, new: date | None, reason: str | None,
                 expected_version: int | None, today: date, now: datetime | None = None
                 ) -> CaseEvent:
    """Correct the date called ``key`` (see :func:`correctable_dates`) to ``new``, with the
    reason; recompute what depends on it; return the correction's event. CaseError in words
    when the change is not allowed (and nothing changed)."""
    now = now or utcnow()
    check_version(case, expected_version)
    check_can_act(case, actor)
    check_open(case)
    reason = (reason or "").strip()
    if not reason:
        raise CaseError(lazy_gettext("Give a reason for the correction; it is recorded and "
                                     "shown in the case history."))
    if len(reason) > REASON_LENGTH:
        raise CaseError(lazy_gettext("Keep the reason for the correction to %(most)d "
                                     "characters.", most=REASON_LENGTH))
    if new is None:
        raise CaseError(lazy_gettext("Enter the corrected date."))
    item = next((d for d in correctable_dates(case, today) if d.key == key), None)
    if item is None:
        raise CaseError(lazy_gettext("That date cannot be corrected on this case."))
    if new == item.value:
        raise CaseError(lazy_gettext("%(what)s is already %(date)s.", what=item.label,
                                     date=LazyDate(new)))
    _check_bounds(item, new, today)
    if key == VISA_VALIDITY:
        details = [_correct_visa_validity(case, new)]
    elif key.startswith(JOB_OFFER):
        details = [_correct_job_offer_date(case, int(key.removeprefix(JOB_OFFER)), new)]
    else:
        details = _correct_step_date(actor, case, int(key), new, now)
    case.updated_at = now
    stay.sync_deadlines(case, now)
    event = events.record(case.id, actor, EventKind.EDITED, at=now, reason=reason,
                          detail_data=events.combined(details))
    db.session.flush()
    return event


def _check_bounds(item: CorrectableDate, new: date, today: date) -> None:
    if item.key != VISA_VALIDITY and new > today:  # a visa's validity end is ahead
        raise CaseError(lazy_gettext("The date of “%(step)s” cannot be in the future (%(date)s).",
                                     step=item.label, date=LazyDate(new)))
    if item.earliest is not None and new < item.earliest:
        raise CaseError(lazy_gettext(
            "The date of “%(step)s” cannot be before %(earliest)s: that is the date of what it "
            "follows.", step=item.label, earliest=LazyDate(item.earliest)))
    if item.latest is not None and new > item.latest:
        raise CaseError(lazy_gettext(
            "The date of “%(step)s” cannot be after %(latest)s: that is the date of what "
            "followed it (or the last day the visa allowed entry).", step=item.label,
            latest=LazyDate(item.latest)))


def _correct_visa_validity(case: Case, new: date) -> dict:
    old = case.visa_valid_until
    case.visa_valid_until = new
    return {"key": "date_corrected", "what": VISA_VALIDITY, "from": old.isoformat(),
            "to": new.isoformat()}


def _correct_job_offer_date(case: Case, offer_id: int, new: date) -> dict:
    offer = next(o for o in case.job_offers if o.id == offer_id)
    old, offer.offered_on = offer.offered_on, new
    return {"key": "date_corrected", "what": "job_offer", "post": offer.post,
            "employer": offer.employer, "from": old.isoformat(), "to": new.isoformat()}


def _correct_step_date(actor: User, case: Case, event_id: int, new: date, now: datetime
                       ) -> list[dict]:
    # Every read first, then the changes: a read after a change would flush the case
    # (and count its version) once more.
    event = db.session.get(CaseEvent, event_id)
    transition = _step(case, event)
    latest = db.session.scalar(
        select(CaseEvent.id).where(CaseEvent.case_id == case.id,
                                   CaseEvent.kind == EventKind.TRANSITION)
        .order_by(CaseEvent.id.desc()).limit(1))
    old = event.occurred_on
    details: list[dict] = [{"key": "date_corrected", "step": transition.name,
                            "from": old.isoformat(), "to": new.isoformat()}]
    if Effect.TAKE_QUOTA_PLACE in transition.effects:
        try:
            moved = quota.move_place(case.id, case.scheme.value, new, actor, now)
        except quota.QuotaError as exc:
            raise CaseError(lazy_gettext(
                "The approval date cannot move to %(date)s: %(refusal)s", date=LazyDate(new),
                refusal=exc.message)) from exc
        if moved:
            details.append({"key": "quota_year_moved", "scheme": case.scheme.value,
                            "from": moved[0], "to": moved[1]})
    if transition.stamps and getattr(case, transition.stamps) == old:
        setattr(case, transition.stamps, new)
    if Effect.START_STAY in transition.effects and case.arrived_on == old:
        was = case.stay_ends_on
        case.arrived_on = new
        case.stay_ends_on = stay.stay_end(new, case.stay_initial_months,
                                          case.extension_months_total)
        details.append({"key": "stay_end_moved", "from": was.isoformat(),
                        "to": case.stay_ends_on.isoformat()})
    if Effect.RECORD_EXTENSION_REQUEST in transition.effects \
            and case.extension_requested_on == old:
        case.extension_requested_on = new
    if latest == event.id:
        case.status_since = new
    events.redate(event, new)
    return details
