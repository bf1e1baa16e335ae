"""The stay and its deadlines: arrival, the stay end, the job offer, extensions, lapses.

All dates here are Hong Kong dates. The stay end is computed once, at arrival, from the
policy values then in force, and stored on the case with those values, so a later policy
version never changes a stay already granted. Deadlines are rows derived from the case:
``sync_deadlines`` brings the open ones in line after any change, cancelling what no longer
applies and opening what now does.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Select, and_, inspect, or_, select, update
from sqlalchemy import case as sql_case
from sqlalchemy.orm.attributes import set_committed_value

from backoffice.auth.models import User
from backoffice.cases import events, signals
from backoffice.cases.eligibility import CHILD_AGE_LIMIT
from backoffice.cases.models import (
    MISSABLE_DEADLINE_KINDS,
    Case,
    Deadline,
    DeadlineClosure,
    DeadlineKind,
    DeadlineState,
    EventKind,
    JobOffer,
)
from backoffice.cases.schemes import CaseStatus, SchemePolicy
from backoffice.cases.words import LazyDate, lazy_gettext, lazy_ngettext
from backoffice.core.dates import (
    add_months,
    birthday,
    hk_today,
    is_weekend,
    utcnow,
)
from backoffice.core.i18n import holiday_name
from backoffice.core.refusals import Refusal
from backoffice.extensions import db

GROUNDS_LENGTH = 2000  # the most an extension request's grounds may say


class StayError(Refusal):
    """A stay rule refused the change; the message is shown as it is (a lazy message,
    rendered in the reader's language by ``str()``). ``possible_from``: the date from which
    the rule will allow it, where the rule knows one (the extension window's opening)."""

    def __init__(self, message: object, possible_from: date | None = None) -> None:
        super().__init__(message)
        self.possible_from = possible_from


# --- Computing ------------------------------------------------------------------------------

def stay_end(arrived_on: date, initial_months: int, extension_months: int = 0) -> date:
    """The last day of the stay: the end of the initial stay (arrival plus the initial
    months) with the months of every extension granted added to it (month ends clamp:
    29 Feb + 12 months = 28 Feb). Counting the extensions from the initial stay's end, not
    one after another, lets the end be recomputed from the arrival and one total."""
    end = add_months(arrived_on, initial_months)
    return add_months(end, extension_months) if extension_months else end


def start_stay(case: Case, policy: SchemePolicy, arrived_on: date,
               now: datetime | None = None) -> None:
    """Stamp the stay on the case, keeping the policy values used. The arrival meets the
    entry deadline the visa opened, and one the sweep marked missed before an arrival on
    time was recorded (late) was met after all."""
    now = now or utcnow()
    # First, before the case changes: reading its deadlines may flush it.
    _meet(case, DeadlineKind.ENTRY, now)
    for deadline in case.deadlines:
        if deadline.kind == DeadlineKind.ENTRY and deadline.state == DeadlineState.MISSED \
                and deadline.due_on >= arrived_on:
            _announce([deadline], DeadlineClosure.MET, now)
            deadline.state = DeadlineState.MET
    case.arrived_on = arrived_on
    case.stay_initial_months = policy.initial_stay_months
    case.stay_extension_months = policy.extension_months
    case.extension_window_days = policy.extension_window_days
    case.job_offer_needed_to_extend = policy.job_offer_needed_to_extend
    case.extensions_granted = 0
    case.extension_months_total = 0
    case.stay_ends_on = stay_end(arrived_on, policy.initial_stay_months)


def desired_deadlines(case: Case) -> dict[DeadlineKind, date]:
    """The deadlines the case should have open now, by kind."""
    # Documents asked of the applicant are due whatever the stage, while the case is open.
    asked = ({DeadlineKind.DOCUMENTS_DUE: case.documents_due_on}
             if case.documents_due_on is not None and case.is_open else {})
    if case.status == CaseStatus.VISA_ISSUED and case.visa_valid_until is not None:
        return {DeadlineKind.ENTRY: case.visa_valid_until} | asked
    if not case.in_stay or case.stay_ends_on is None:
        return asked
    wanted = asked | {DeadlineKind.STAY_END: case.stay_ends_on,
                      DeadlineKind.EXTENSION_WINDOW: case.extension_window_opens_on}
    # The job offer is due by the end of the first year (the initial stay), only until one
    # is recorded and only before the first extension.
    if case.job_offer_needed_to_extend and not case.has_job_offer \
            and case.extensions_granted == 0:
        wanted[DeadlineKind.JOB_OFFER] = case.stay_ends_on
    return wanted


def sync_deadlines(case: Case, now: datetime | None = None) -> None:
    """Cancel open deadlines that no longer apply or whose date changed; open the missing.
    Once the case has ended none of its deadlines is anyone's work; a deadline opened anew
    retires the missed ones of its kind (an extension granted after the stay end)."""
    now = now or utcnow()
    missing = cancel_stale_deadlines(case, now)
    db.session.flush()  # the one-open-per-kind index must see the cancellations first
    open_missing_deadlines(case, missing, now=now)
    db.session.flush()


def cancel_stale_deadlines(case: Case, now: datetime) -> dict[DeadlineKind, date]:
    """The first half of :func:`sync_deadlines`, on the case in memory: cancel the open
    deadlines that no longer apply; return the wanted ones not yet open. (The bulk loader
    runs both halves on a case it builds in memory.)"""
    if not case.is_open:
        _announce([d for d in case.deadlines
                   if d.state == DeadlineState.MISSED and d.outstanding],
                  DeadlineClosure.CASE_ENDED, now)
        for deadline in case.deadlines:
            deadline.outstanding = False
    wanted = desired_deadlines(case)
    for deadline in case.open_deadlines:
        if wanted.get(deadline.kind) == deadline.due_on:
            del wanted[deadline.kind]
        else:
            why = (DeadlineClosure.CASE_ENDED if not case.is_open
                   else DeadlineClosure.MOVED if deadline.kind in wanted
                   else DeadlineClosure.DROPPED)
            _close(deadline, DeadlineState.CANCELLED, why, now)
    return wanted


def open_missing_deadlines(case: Case, missing: dict[DeadlineKind, date], *,
                           make_deadline: Callable[..., Deadline] = Deadline,
                           now: datetime | None = None) -> None:
    """The second half of :func:`sync_deadlines`, on the case in memory: open ``missing``.

    A deadline already met or missed on that date has had its outcome (the sweep may have
    settled it before this step): opening it again would show it overdue and escalate a
    missed one twice. ``make_deadline`` builds the new rows: the bulk loader passes a plain
    class with the same fields, since ORM instrumentation is most of its cost."""
    settled = {(d.kind, d.due_on) for d in case.deadlines
               if d.state in (DeadlineState.MET, DeadlineState.MISSED)}
    for kind, due_on in missing.items():
        if (kind, due_on) in settled:
            continue
        replaced = [earlier for earlier in case.deadlines
                    if earlier.kind == kind and earlier.state == DeadlineState.MISSED]
        _announce([d for d in replaced if d.outstanding], DeadlineClosure.MOVED, now)
        for earlier in replaced:
            earlier.outstanding = False
        case.deadlines.append(make_deadline(case_id=case.id, kind=kind, due_on=due_on,
                                            state=DeadlineState.OPEN, outstanding=True))
    track_next_deadline(case)


def _close(deadline: Deadline, state: DeadlineState, why: DeadlineClosure,
           now: datetime) -> None:
    _announce([deadline], why, now)
    deadline.state = state
    deadline.closed_at = now


def _announce(deadlines: list[Deadline], why: DeadlineClosure, now: datetime | None) -> None:
    """Tell the features above that these deadlines stop being anyone's work, and why,
    before they are written. A deadline never saved (or walked in memory by the bulk loader)
    has nothing hanging on it: no reminders, no notifications."""
    ids = [deadline.id for deadline in deadlines if deadline.id is not None]
    if ids:
        signals.deadline_closed.send(deadline_ids=ids, closure=why, at=now)


def end_deadlines(case_ids: Select, now: datetime) -> None:
    """The set-based form of what ``sync_deadlines`` does when a case ends: the open deadlines
    of the cases ``case_ids`` selects are cancelled, and none of their deadlines is anyone's
    work any more (the missed ones still outstanding are retired with them). The caller
    writes :data:`NO_NEXT_DEADLINE` on those cases with the status that ends them."""
    of_cases = Deadline.case_id.in_(case_ids)
    signals.deadline_closed.send(deadline_ids=select(Deadline.id).where(
        of_cases, or_(Deadline.state == DeadlineState.OPEN,
                      and_(Deadline.state == DeadlineState.MISSED, Deadline.outstanding))),
        closure=DeadlineClosure.CASE_ENDED, at=now)
    db.session.execute(
        update(Deadline).where(of_cases, Deadline.state == DeadlineState.OPEN)
        .values(state=DeadlineState.CANCELLED, closed_at=now)
        .execution_options(synchronize_session=False))
    db.session.execute(
        update(Deadline).where(of_cases).values(outstanding=False)
        .execution_options(synchronize_session=False))


def meet(case: Case, kind: DeadlineKind, now: datetime | None = None) -> None:
    """The case's open deadline of ``kind`` is met (the documents asked all arrived): closed
    as met and announced, and the case's next deadline follows."""
    _meet(case, kind, now or utcnow())


def _meet(case: Case, kind: DeadlineKind, now: datetime) -> None:
    for deadline in case.open_deadlines:
        if deadline.kind == kind:
            _close(deadline, DeadlineState.MET, DeadlineClosure.MET, now)
    track_next_deadline(case)


# --- The case's next deadline (Case.next_deadline_on / next_deadline_kind) --------------------
# One rule, in two forms like the lifecycle's steps: the earliest open deadline by date, and
# on the same date the one that asks for something first (a job offer is due on the day the
# stay ends). Every change of a deadline's state or date goes through the function below
# (one case, in memory: ``_meet``, ``open_missing_deadlines``) or its set form (the sweep,
# cases ended in bulk), in the same transaction.

NEXT_DEADLINE_ORDER = {DeadlineKind.JOB_OFFER: 0, DeadlineKind.STAY_END: 1,
                       DeadlineKind.ENTRY: 2, DeadlineKind.DOCUMENTS_DUE: 3,
                       DeadlineKind.EXTENSION_WINDOW: 4}


def track_next_deadline(case: Case) -> None:
    """Copy the case's next open deadline onto the case, from its deadlines in memory."""
    upcoming = min(((d.due_on, NEXT_DEADLINE_ORDER[d.kind], d.kind) for d in case.deadlines
                    if d.state == DeadlineState.OPEN), default=None)
    due_on, kind = (upcoming[0], upcoming[2]) if upcoming else (None, None)
    if (case.next_deadline_on, case.next_deadline_kind) == (due_on, kind):
        return
    copy_onto_case(case, next_deadline_on=due_on, next_deadline_kind=kind)


def copy_onto_case(case: Case, **values: object) -> None:
    """Write columns that copy what the case's other rows say (its next deadline, its
    documents' count and due date) so that neither its version (a colleague's open form)
    nor its "last change" moves for a copy: beside the ORM's own UPDATE of a saved case."""
    state = inspect(case, raiseerr=False)
    if state is None or not state.persistent:
        # A case not yet written (or walked in memory by the bulk loader): its INSERT says it.
        for name, value in values.items():
            setattr(case, name, value)
        return
    db.session.execute(update(Case).where(Case.id == case.id)
                       .values(**values, updated_at=Case.updated_at)
                       .execution_options(synchronize_session=False))
    for name, value in values.items():
        set_committed_value(case, name, value)


# What a case with no open deadline keeps: the values cases ended in bulk are given in the
# statement that ends them (stay.end_deadlines has just cancelled every open one), rather
# than by a second write of each row (at a million cases that doubled the lapse's cost).
NO_NEXT_DEADLINE = {"next_deadline_on": None, "next_deadline_kind": None}


def track_next_deadlines(case_ids: Select) -> None:
    """The set form of :func:`track_next_deadline`: recompute the next deadline of the cases
    ``case_ids`` selects from their rows. Neither the case's version nor its "last change"
    moves: a deadline the sweep settles leaves a colleague's open form valid."""
    first_open = (select(Deadline.due_on, Deadline.kind)
                  .where(Deadline.case_id == Case.id, Deadline.state == DeadlineState.OPEN)
                  .order_by(Deadline.due_on,
                            sql_case(NEXT_DEADLINE_ORDER, value=Deadline.kind))
                  .limit(1).correlate(Case))
    db.session.execute(
        update(Case).where(Case.id.in_(case_ids.correlate(None)))
        .values(next_deadline_on=first_open.with_only_columns(Deadline.due_on)
                .scalar_subquery(),
                next_deadline_kind=first_open.with_only_columns(Deadline.kind)
                .scalar_subquery(),
                updated_at=Case.updated_at)
        .execution_options(synchronize_session=False))


# --- Guards and effects called by the transition service ------------------------------------

def check_arrival(case: Case, arrived_on: date | None, today: date) -> None:
    if arrived_on is None:
        raise StayError(lazy_gettext("Enter the arrival date."))
    if arrived_on > today:
        raise StayError(lazy_gettext("The arrival date %(arrived_on)s is in the future.",
                                     arrived_on=LazyDate(arrived_on)))
    if case.visa_issued_on and arrived_on < case.visa_issued_on:
        raise StayError(lazy_gettext(
            "The arrival date %(arrived_on)s is before the visa was issued (%(visa_issued_on)s).",
            arrived_on=LazyDate(arrived_on), visa_issued_on=LazyDate(case.visa_issued_on)))
    if case.visa_valid_until and arrived_on > case.visa_valid_until:
        raise StayError(lazy_gettext(
            "The arrival date %(arrived_on)s is after the last day the visa allowed entry "
            "(%(until)s). Correct the visa's validity end if it was recorded wrongly; "
            "otherwise the approval was not taken up in time.",
            arrived_on=LazyDate(arrived_on), until=LazyDate(case.visa_valid_until)))


def check_extension_request(case: Case, today: date) -> None:
    """The window opens ``extension_window_days`` before the stay ends and closes with it;
    QMAS needs a recorded job offer."""
    opens = case.extension_window_opens_on
    if today < opens:
        raise StayError(lazy_ngettext(
            "The extension window opens on %(opens)s (%(num)d day before the stay ends on "
            "%(ends)s); an extension cannot be requested before.",
            "The extension window opens on %(opens)s (%(num)d days before the stay ends on "
            "%(ends)s); an extension cannot be requested before.",
            case.extension_window_days, opens=LazyDate(opens), ends=LazyDate(case.stay_ends_on)),
            possible_from=opens)
    if today > case.stay_ends_on:
        raise StayError(lazy_gettext("The stay ended on %(ends)s; an extension can no longer be "
                                     "requested.", ends=LazyDate(case.stay_ends_on)))
    if case.job_offer_needed_to_extend and not case.has_job_offer:
        raise StayError(lazy_gettext("A job offer must be recorded before an extension can be "
                                     "requested under this scheme."))


def check_request_details(case: Case, months: int | None, grounds: str | None,
                          job_offer_id: int | None) -> None:
    """What an extension request must say: a length within the stay's extension length,
    its grounds, and the recorded job offer it rests on where the scheme needs one."""
    most = case.stay_extension_months
    if months is not None and not 1 <= months <= most:
        raise StayError(lazy_ngettext(
            "An extension can be asked for %(num)d month at most.",
            "An extension can be asked for between 1 and %(num)d months.", most))
    if not (grounds or "").strip():
        raise StayError(lazy_gettext("Give the grounds of the extension request (what the "
                                     "applicant does in Hong Kong and why the stay should "
                                     "continue)."))
    if len(grounds.strip()) > GROUNDS_LENGTH:
        raise StayError(lazy_gettext("Keep the grounds to %(most)d characters.",
                                     most=GROUNDS_LENGTH))
    if job_offer_id is not None and job_offer_id not in {j.id for j in case.job_offers}:
        raise StayError(lazy_gettext("That job offer is not recorded on this case."))


def record_extension_request(case: Case, on: date, months: int | None, grounds: str,
                             job_offer_id: int | None) -> JobOffer | None:
    """Keep what was asked on the case (the history keeps every request); return the job
    offer it rests on: the one chosen, or else the latest recorded (the one a scheme that
    needs an offer to extend has checked for)."""
    offer = next((j for j in case.job_offers if j.id == job_offer_id), None) \
        if job_offer_id is not None else (case.job_offers[-1] if case.job_offers else None)
    case.extension_requested_on = on
    case.extension_months_requested = months or case.stay_extension_months
    case.extension_grounds = grounds.strip()
    case.extension_job_offer_id = offer.id if offer is not None else None
    return offer


def check_grant(case: Case, policy: SchemePolicy, months: int) -> None:
    """An extension is granted for the stay's extension length, or for fewer months where
    the policy allows a shorter one; never for more."""
    most = case.stay_extension_months
    if months == most:
        return
    if not policy.shorter_extension_allowed:
        raise StayError(lazy_ngettext(
            "This scheme grants extensions of %(num)d month only.",
            "This scheme grants extensions of %(num)d months only.", most))
    if not 1 <= months <= most:
        raise StayError(lazy_ngettext(
            "An extension is granted for %(num)d month at most.",
            "An extension is granted for between 1 and %(num)d months.", most))


def extended_end(case: Case, months: int) -> date:
    """The stay end an extension of ``months`` would give."""
    return stay_end(case.arrived_on, case.stay_initial_months,
                    case.extension_months_total + months)


def grant_extension(case: Case, months: int, now: datetime) -> None:
    _meet(case, DeadlineKind.STAY_END, now)
    case.stay_ends_on = extended_end(case, months)
    case.extensions_granted += 1
    case.extension_months_total += months


# --- Caseworker actions outside the lifecycle ---------------------------------------------------

@dataclass(frozen=True)
class JobOfferData:
    employer: str
    post: str
    salary: Decimal
    start_date: date
    offered_on: date | None = None  # the date of the offer (the form's default: today)


def record_job_offer(actor: User, case: Case, offer: JobOfferData,
                     now: datetime | None = None) -> JobOffer:
    """Record a job offer; it meets the job-offer deadline."""
    now = now or utcnow()
    job = add_job_offer(case, offer, actor.id, now)
    events.record(case.id, actor, EventKind.EDITED, at=now, detail_data=job_offer_detail(job))
    db.session.flush()
    return job


def add_job_offer(case: Case, offer: JobOfferData, recorded_by_id: int | None,
                  now: datetime, *, make_job_offer: Callable[..., JobOffer] = JobOffer
                  ) -> JobOffer:
    """The job offer's rules on the case in memory (:func:`record_job_offer` adds the event
    and flushes; the bulk loader calls this on a case it builds in memory, with a plain
    ``make_job_offer`` class, as for :func:`open_missing_deadlines`)."""
    if not case.in_stay:
        raise StayError(lazy_gettext("A job offer is recorded once the applicant has arrived."))
    if offer.offered_on is not None and offer.offered_on > hk_today(now):
        raise StayError(lazy_gettext("The date of the job offer, %(date)s, is in the future.",
                                     date=LazyDate(offer.offered_on)))
    if offer.offered_on is not None and offer.offered_on < case.submitted_on:
        raise StayError(lazy_gettext(
            "The date of the job offer, %(date)s, is before the application was submitted "
            "(%(submitted)s).", date=LazyDate(offer.offered_on),
            submitted=LazyDate(case.submitted_on)))
    job = make_job_offer(case_id=case.id, employer=offer.employer.strip(),
                         post=offer.post.strip(), salary=offer.salary,
                         start_date=offer.start_date, offered_on=offer.offered_on,
                         recorded_by_id=recorded_by_id,
                         recorded_at=now)
    case.job_offers.append(job)
    _meet(case, DeadlineKind.JOB_OFFER, now)
    case.updated_at = now
    return job


def job_offer_detail(job: JobOffer) -> dict:
    """The case history's words for a recorded job offer, as a message key and values
    (``events.describe_event`` renders them)."""
    return {"key": "job_offer", "post": job.post, "employer": job.employer,
            "start_date": job.start_date.isoformat()}


# --- Reading --------------------------------------------------------------------------------

@dataclass(frozen=True)
class DeadlineView:
    deadline: Deadline
    days_left: int
    urgency: str  # Bootstrap colour: danger (overdue), warning (≤ 7 days), info (≤ 30), light
    holiday: str | None  # the HK public holiday or "weekend" the date falls on
    countdown: str  # "3 days", "today", "2 days overdue"; "" once the deadline is closed
    # (both lazy messages, rendered in the reader's language)


@dataclass(frozen=True)
class Urgency:
    """How pressing an open deadline is: its Bootstrap colour and its countdown in words
    (a lazy message). The case page's deadlines and the queues' next deadline both use it."""

    colour: str  # danger (overdue), warning (today, ≤ 7 days), info (≤ 30), light; success
    countdown: object
    days_left: int


def urgency(kind: DeadlineKind, due_on: date, today: date) -> Urgency:
    """The urgency of an open deadline of ``kind`` due on ``due_on``, seen on ``today``."""
    days = (due_on - today).days
    if days < 0 and kind not in MISSABLE_DEADLINE_KINDS:
        # An extension window that has opened (the sweep will mark it met): news, not a fault.
        return Urgency("success", lazy_ngettext("opened %(num)d day ago",
                                                "opened %(num)d days ago", -days), days)
    if days < 0:
        return Urgency("danger", lazy_ngettext("%(num)d day overdue", "%(num)d days overdue",
                                               -days), days)
    if days == 0:
        return Urgency("warning", lazy_gettext("today"), days)
    return Urgency("warning" if days <= 7 else "info" if days <= 30 else "light",
                   lazy_ngettext("%(num)d day", "%(num)d days", days), days)


def deadline_view(deadline: Deadline, today: date) -> DeadlineView:
    days = (deadline.due_on - today).days
    countdown = ""
    if deadline.state != DeadlineState.OPEN:
        colour = {"met": "success", "missed": "danger"}.get(deadline.state.value, "secondary")
    else:
        open_urgency = urgency(deadline.kind, deadline.due_on, today)
        colour, countdown = open_urgency.colour, open_urgency.countdown
    holiday = holiday_name(deadline.due_on) or (lazy_gettext("weekend")
                                                   if is_weekend(deadline.due_on) else None)
    return DeadlineView(deadline, days, colour, holiday, countdown)


def child_turns_18_during_stay(date_of_birth: date, case: Case) -> date | None:
    """The date a dependent child turns 18 if that falls within the stay, else None."""
    if case.arrived_on is None or case.stay_ends_on is None:
        return None
    eighteenth = birthday(date_of_birth, CHILD_AGE_LIMIT)
    return eighteenth if case.arrived_on < eighteenth <= case.stay_ends_on else None


