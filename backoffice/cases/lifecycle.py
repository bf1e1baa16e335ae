"""The one path by which a case's status changes: running a step of its lifecycle.

A step (``schemes.Transition``) declares what it checks and does; this module knows how to
check each kind of guard and how to apply each kind of effect, and runs them in the step's
order. It never asks which step it runs. :func:`transition` moves one case (a caseworker's
click); :func:`transition_in_bulk` moves every case a condition selects in a few set-based
statements (the deadline sweep), writing the same events and sending the same signals. Nothing
else writes ``cases.status``, and case events are written only through ``cases.events``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import ColumnElement, Date, and_, false, or_, select, true, update

from backoffice.auth.models import User
from backoffice.cases import counts, duplicates, events, signals, stay
from backoffice.cases.eligibility import permanent_grounds, submission_facts, submission_grounds
from backoffice.cases.guards import CaseError, QuotaBlocked, check_can_act, check_version
from backoffice.cases.models import VISA_NUMBER_LENGTH, Case, CaseEvent, EventKind
from backoffice.cases.schemes import (
    DATA_GUARDS,
    PLACE_HOLDING_STATUSES,
    POLICIES,
    CaseStatus,
    Effect,
    Guard,
    PolicyError,
    Scheme,
    SchemePolicy,
    Transition,
)
from backoffice.cases.words import LazyDate, LazyList, Sentences, lazy_gettext, lazy_ngettext
from backoffice.core.dates import hk_today, utcnow
from backoffice.extensions import db
from backoffice.quota import services as quota


@dataclass(frozen=True)
class StepData:
    """What the caseworker gives for a step besides its reason. ``on``: the Hong Kong date it
    happened (None: today), for the arrival its date. The rest belongs to one step each: the
    visa's number and last day of entry (visa issued), the months asked, the grounds and the
    job offer an extension request rests on, the months an extension is granted for (None:
    the request's, within the policy's length)."""

    on: date | None = None
    visa_number: str | None = None
    visa_valid_until: date | None = None
    months: int | None = None
    grounds: str | None = None
    job_offer_id: int | None = None


@dataclass
class Step:
    """One step being taken on one case, with what its guards and effects read."""

    case: Case
    policy: SchemePolicy
    transition: Transition
    actor: User
    reason: str | None
    now: datetime
    today: date
    data: StepData = StepData()

    @property
    def on(self) -> date:
        """The date the step happened: the date given (default today); for a step that is
        not dated, the case's submission date."""
        if not self.transition.dated:
            return self.case.submitted_on
        return self.data.on or self.today



def available_transitions(case: Case, user: User) -> list[Transition]:
    """The steps the case's status allows ``user`` to take (whether or not their guards
    pass now: :func:`step_options` says which can)."""
    if not case.can_act(user):
        return []
    return case.policy.transitions_from(case.status)


@dataclass(frozen=True)
class StepOption:
    """A step the case's status allows, as the case page offers it: ``refusal`` is why it
    cannot be taken now (a lazy message; None when it can), ``possible_from`` the date from
    which it can, where the rule knows one, and ``note`` what taking it now will do instead
    of what its name says (an approval with no quota place left waits for one)."""

    transition: Transition
    refusal: object | None = None
    possible_from: date | None = None
    note: object | None = None
    see_case: object | None = None  # the other case a refusal names (a duplicates.Match)

    @property
    def available(self) -> bool:
        return self.refusal is None

    @property
    def name(self) -> str:
        return self.transition.name

    @property
    def label(self) -> str:
        return self.transition.label

    @property
    def needs_reason(self) -> bool:
        return self.transition.needs_reason

    @property
    def guards(self):
        return self.transition.guards


def step_options(case: Case, user: User, now: datetime | None = None) -> list[StepOption]:
    """For each step the case's status lets ``user`` take, whether it can be taken now, and
    if not why and from when. Reads only, and asks the same checks :func:`transition` runs:
    the step's guards (with the step data the page proposes: arrival today) and, for a step
    that takes a quota place, whether the quota has one (:func:`quota.place_refusal`). A step
    whose quota place is missing but that has a fallback from here stays offered, with the
    quota's words as its note; without one it is refused with them."""
    now = now or utcnow()
    today = hk_today(now)
    options = []
    for transition_ in available_transitions(case, user):
        step = Step(case, case.policy, transition_, user, None, now, today, StepData(on=today))
        try:
            check_guards(step, preview=True)
        except CaseError as exc:
            # A step meant only for exceptional cases is left out, not shown disabled.
            if not transition_.only_when_possible:
                options.append(StepOption(transition_, exc.args[0], exc.possible_from,
                                          see_case=exc.see_case))
            continue
        blocked = (quota.place_refusal(case.scheme.value, today)
                   if Effect.TAKE_QUOTA_PLACE in transition_.effects else None)
        if blocked is None:
            options.append(StepOption(transition_))
        elif _fallback(step) is not None:
            options.append(StepOption(transition_, note=blocked.message))
        else:
            options.append(StepOption(transition_, blocked.message))
    return options


def preview(case: Case, name: str, actor: User, reason: str | None = None,
            data: StepData | None = None, expected_version: int | None = None,
            now: datetime | None = None) -> list[object]:
    """What taking the step called ``name`` with ``data`` would do, in sentences (lazy
    messages) for the page that asks to confirm it; CaseError in words when it would be
    refused. Reads only: every check :func:`transition` makes, with the quota's preview in
    place of the taking (which still decides, atomically, when the step is confirmed)."""
    now = now or utcnow()
    check_version(case, expected_version)
    check_can_act(case, actor)
    transition_, reason = checked_step(case, name, reason)
    step = Step(case, case.policy, transition_, actor, reason, now, hk_today(now),
                data or StepData())
    check_guards(step)
    said = []
    if Effect.TAKE_QUOTA_PLACE in transition_.effects:
        blocked = quota.place_refusal(case.scheme.value, step.on)
        if blocked is not None and _fallback(step) is None:
            raise CaseError(blocked.message)
        said.append(_quota_consequence(step, blocked))
    return said + [sentence for effect in transition_.effects
                   if (sentence := _CONSEQUENCES.get(effect, _nothing)(step))] \
        + _ending_consequences(step)


def _nothing(_step: Step) -> None:
    return None


def _quota_consequence(step: Step, blocked: quota.QuotaError | None) -> object:
    scheme, year = step.case.scheme.value, step.on.year
    if blocked is not None:
        return lazy_gettext("%(refusal)s So the case will not be approved now: it will wait in "
                            "the Awaiting quota queue, in line for the next free place.",
                            refusal=blocked.message)
    period = quota.get_period(scheme, year)
    if period.remaining is None:
        return lazy_gettext("This takes a %(scheme)s place for %(year)d (the year has no "
                            "limit).", scheme=scheme, year=year)
    if period.remaining == 1:
        return lazy_gettext("This takes the last remaining %(scheme)s place for %(year)d.",
                            scheme=scheme, year=year)
    return lazy_ngettext(
        "This takes one of the %(num)d remaining %(scheme)s places for %(year)d.",
        "This takes one of the %(num)d remaining %(scheme)s places for %(year)d.",
        period.remaining, scheme=scheme, year=year)


def _give_back_consequence(step: Step) -> object | None:
    if not place_not_taken_up(step.case):
        return None
    return lazy_gettext("This gives back the case's %(scheme)s place for %(year)d, so another "
                        "case can have it.", scheme=step.case.scheme.value,
                        year=step.case.approved_on.year)


def _stay_consequence(step: Step) -> object:
    policy, arrived = step.policy, step.on
    ends = stay.stay_end(arrived, policy.initial_stay_months)
    said = lazy_ngettext(
        "The applicant's stay will run from %(arrived)s to %(ends)s (%(num)d month); the "
        "extension window opens on %(opens)s.",
        "The applicant's stay will run from %(arrived)s to %(ends)s (%(num)d months); the "
        "extension window opens on %(opens)s.", policy.initial_stay_months,
        arrived=LazyDate(arrived), ends=LazyDate(ends),
        opens=LazyDate(ends - timedelta(days=policy.extension_window_days)))
    if policy.job_offer_needed_to_extend:
        return Sentences([said, lazy_gettext(
            "A job offer must be recorded by %(ends)s for the stay to be extended.",
            ends=LazyDate(ends))])
    return said


def _extension_consequence(step: Step) -> object:
    months = granted_months(step)
    return lazy_ngettext(
        "The stay will end on %(new)s instead of %(old)s (an extension of %(num)d month).",
        "The stay will end on %(new)s instead of %(old)s (an extension of %(num)d months).",
        months, new=LazyDate(stay.extended_end(step.case, months)),
        old=LazyDate(step.case.stay_ends_on))


def _visa_consequence(step: Step) -> object:
    return lazy_gettext("The applicant must enter Hong Kong by %(until)s, the last day the "
                        "visa allows: a deadline is opened for it, with reminders.",
                        until=LazyDate(step.data.visa_valid_until))


def _grounds_consequence(step: Step) -> object:
    return lazy_gettext("The refusal is recorded with its ground: %(grounds)s",
                        grounds=Sentences(g.message for g in permanent_grounds(step.case)))


_CONSEQUENCES: dict[Effect, Callable[[Step], object | None]] = {
    Effect.GIVE_BACK_QUOTA_PLACE: _give_back_consequence,
    Effect.START_STAY: _stay_consequence,
    Effect.EXTEND_STAY: _extension_consequence,
    Effect.RECORD_VISA: _visa_consequence,
    Effect.RECORD_GROUNDS: _grounds_consequence,
}


def _ending_consequences(step: Step) -> list[object]:
    target, case = step.transition.target, step.case
    if not target.is_open:
        return [lazy_gettext("The case ends as “%(status)s”: no further step can be taken on "
                             "it, and its open deadlines and planned reminders are cancelled. "
                             "This cannot be undone.", status=target.label)]
    if step.transition.destructive and case.stay_ends_on is not None:
        return [lazy_gettext("The stay still ends on %(ends)s; if no extension is granted by "
                             "then, the case lapses.", ends=LazyDate(case.stay_ends_on))]
    return []


def transition(case: Case, name: str, actor: User, reason: str | None = None,
               expected_version: int | None = None, now: datetime | None = None,
               data: StepData | None = None, *, on: date | None = None) -> CaseEvent:
    """Move ``case`` by the step called ``name``: the only way one case's status changes.

    Checks the form's version, the actor's right to act, that the policy allows the step
    from the current status and that a reason is given where one is needed; then the step's
    guards (its date among them: never in the future, never before the step it follows),
    its effects, its date stamp, the status, the deadlines, the event and the signal, and
    flushes. ``data`` is what the caseworker gave for the step; ``on`` alone is its date.

    When the step's quota place cannot be had and the step names a step to take instead
    (approval → awaiting quota), the case takes that one, and :class:`QuotaBlocked` says so
    with ``held`` set: the edge keeps that move.
    """
    now = now or utcnow()
    check_version(case, expected_version)
    check_can_act(case, actor)
    step, reason = checked_step(case, name, reason)
    if data is None:
        data = StepData(on=on)
    return _run(Step(case, case.policy, step, actor, reason, now, hk_today(now), data))


def allowed_step(case: Case, name: str) -> Transition:
    """The step called ``name`` of the case's policy, if the case may take it from its
    status; CaseError in words otherwise (an unknown step, or one not from here)."""
    try:
        step = case.policy.transition(name)
    except PolicyError as exc:
        raise CaseError(exc.message) from exc
    if not step.applies_from(case.status):
        raise CaseError(lazy_gettext("“%(step)s” is not possible for a case with the status "
                                     "“%(status)s”.", step=step.label, status=case.status.label))
    return step


def checked_step(case: Case, name: str, reason: str | None) -> tuple[Transition, str | None]:
    """The step called ``name`` of the case's policy, if the case may take it from its status
    with the reason given (normalised: blank is None); CaseError in words otherwise."""
    step = allowed_step(case, name)
    reason = (reason or "").strip() or None
    if step.needs_reason and not reason:
        raise CaseError(step.reason_prompt or lazy_gettext(
            "Give a reason for “%(step)s”; it is recorded and shown in the case history.",
            step=step.label))
    return step, reason


def apply_step(step: Step, effects: dict[Effect, Callable[[Step], dict | None]],
               skip_guards: frozenset[Guard] = frozenset()) -> tuple[CaseStatus, dict | None]:
    """The part of a step that changes the case object itself, in order: the guards, the
    effects (each by its handler in ``effects``), the date stamp, the end and the status.
    Returns the status it left and the event's ``detail_data`` (what the effects said, as
    message keys and values; see ``events.describe_event``). :func:`transition` runs it with
    the effects below; the bulk loader runs it on a case it builds in memory, with the row
    form of the quota effects, skipping (``skip_guards``) what only the database can answer."""
    check_guards(step, skip=skip_guards)
    details = [detail for effect in step.transition.effects
               if (detail := effects[effect](step))]
    case, target = step.case, step.transition.target
    if step.transition.stamps:
        column = step.transition.stamps
        setattr(case, column, step.on if _is_date(column) else step.now)
    if not target.is_open:
        case.ended_at = step.now
    case.status_since = step.on
    from_status = case.status
    case.status = target
    return from_status, events.combined(details)


def _run(step: Step, detail_data: dict | None = None) -> CaseEvent:
    try:
        from_status, said = apply_step(step, _EFFECTS)
    except quota.QuotaError as exc:
        raise _quota_blocked(step, exc) from exc
    case, target = step.case, step.transition.target
    counts.count_moves([(case.scheme, from_status, target, 1)])
    stay.sync_deadlines(case, step.now)
    event = events.record(case.id, step.actor, EventKind.TRANSITION, at=step.now,
                          transition=step.transition.name, from_status=from_status,
                          to_status=target, reason=step.reason, occurred_on=step.on,
                          detail_data=events.combined([d for d in (detail_data, said) if d]))
    db.session.flush()
    signals.case_status_changed.send(step.transition, case_ids=[case.id], actor=step.actor,
                                     at=step.now)
    return event


def _quota_blocked(step: Step, refusal: quota.QuotaError) -> QuotaBlocked:
    """Take the step's fallback for a missing quota place, where it has one from here.

    The fallback's event keeps why (the quota's words, as a message key and values), not a
    reason: nobody typed one."""
    fallback = _fallback(step)
    if fallback is None:
        return QuotaBlocked(refusal.message, held=False)
    _run(Step(step.case, step.policy, fallback, step.actor, None, step.now, step.today,
              step.data), detail_data=refusal.detail_data)
    return QuotaBlocked(lazy_gettext("%(refusal)s It has been moved to the Awaiting quota "
                                     "queue.", refusal=refusal.message), held=True)


def _fallback(step: Step) -> Transition | None:
    """The step the case takes instead when this step's quota place cannot be had, if it
    has one that applies from the case's status."""
    name = step.transition.when_quota_full
    fallback = step.policy.transition(name) if name else None
    return fallback if fallback is not None and fallback.applies_from(step.case.status) \
        else None


def _is_date(column: str) -> bool:
    """Stamps people reason about by day (the approval's quota year) are Hong Kong dates;
    the others are instants."""
    return isinstance(Case.__table__.c[column].type, Date)


# --- Guards: each raises CaseError with the reason in words ------------------------------

def _eligible(step: Step) -> None:
    grounds = submission_grounds(step.case)
    permanent = [ground.message for ground in grounds if ground.permanent]
    if permanent:
        # No "yet": no later day or added document changes it (schemes.Ground).
        raise CaseError(lazy_gettext(
            "This application cannot be accepted: %(grounds)s It can be refused as "
            "ineligible instead, so that the refusal is on record with its reason.",
            grounds=Sentences(permanent)))
    if grounds:
        raise CaseError(lazy_gettext("This case cannot be submitted: %(problems)s",
                                     problems=Sentences(g.message for g in grounds)))


def _ineligible(step: Step) -> None:
    if permanent_grounds(step.case):
        return
    problems = [ground.message for ground in submission_grounds(step.case)]
    if problems:
        raise CaseError(lazy_gettext(
            "This application can still be completed, so it cannot be refused as ineligible: "
            "%(problems)s", problems=Sentences(problems)))
    raise CaseError(lazy_gettext(
        "This application meets the scheme's rules, so it cannot be refused as ineligible. "
        "Submit it; a refusal after review gives its own reason."))


def _stay_rule(check: Callable[[Step], None]) -> Callable[[Step], None]:
    def guard(step: Step) -> None:
        try:
            check(step)
        except stay.StayError as exc:
            raise CaseError(exc.args[0], exc.possible_from) from exc
    return guard


def earliest_step_date(case: Case) -> date:
    """The earliest date the case's next step may be given: the day its current status
    began (the date given for the step that led to it), or for a draft and for a case
    recorded before steps were dated, its submission date."""
    if case.status_since is None or case.status == CaseStatus.DRAFT:
        return case.submitted_on
    return max(case.status_since, case.submitted_on)


def _not_in_future(step: Step) -> None:
    """Every dated step's first guard: it did not happen after today."""
    if step.transition.dated and step.on > step.today:
        raise CaseError(lazy_gettext("The date of “%(step)s”, %(date)s, is in the future. Give "
                                     "the date it happened (today at the latest).",
                                     step=step.transition.label, date=LazyDate(step.on)))


def _step_date(step: Step) -> None:
    """Every dated step's last guard: it did not happen before the step it follows (nor
    before the submission date). After the step's own guards, whose words are closer to the
    case ("before the visa was issued")."""
    if not step.transition.dated:
        return  # its date is the submission date, checked where it is entered
    on, label = step.on, step.transition.label
    earliest = earliest_step_date(step.case)
    if on < earliest:
        if step.case.status == CaseStatus.DRAFT or step.case.status_since is None:
            raise CaseError(lazy_gettext(
                "The date of “%(step)s”, %(date)s, is before the submission date "
                "(%(submitted)s).", step=label, date=LazyDate(on),
                submitted=LazyDate(step.case.submitted_on)))
        raise CaseError(lazy_gettext(
            "The date of “%(step)s”, %(date)s, is before the step it follows: the case "
            "became “%(status)s” on %(since)s.", step=label, date=LazyDate(on),
            status=step.case.status.label, since=LazyDate(earliest)))


def check_guards(step: Step, *, preview: bool = False,
                 skip: frozenset[Guard] = frozenset()) -> None:
    """Run the step's guards in order, then its date's; the first that fails raises
    CaseError. They only read, so :func:`step_options` runs them (``preview``: without those
    that judge the step's data) to preview a step."""
    _not_in_future(step)
    for guard in step.transition.guards:
        if not (preview and guard in DATA_GUARDS) and guard not in skip:
            _GUARDS[guard](step)
    _step_date(step)


def _visa_details(step: Step) -> None:
    data = step.data
    number = (data.visa_number or "").strip()
    if not number:
        raise CaseError(lazy_gettext("Enter the visa or entry permit number."))
    if len(number) > VISA_NUMBER_LENGTH:
        raise CaseError(lazy_gettext("The visa or entry permit number is at most %(most)d "
                                     "characters.", most=VISA_NUMBER_LENGTH))
    if data.visa_valid_until is None:
        raise CaseError(lazy_gettext("Enter the last day the visa allows entry (its validity "
                                     "end)."))
    if data.visa_valid_until < step.on:
        raise CaseError(lazy_gettext(
            "The visa's validity end, %(until)s, is before the day it was issued (%(issued)s).",
            until=LazyDate(data.visa_valid_until), issued=LazyDate(step.on)))


def _one_quota_place(step: Step) -> None:
    """A person holds one place of a scheme's quota at a time: not while another case of
    theirs (the same passport and nationality, or HKID) is approved and not ended. Checked on
    the approval from review and from the Awaiting quota queue alike."""
    holder = duplicates.place_holder(step.case, PLACE_HOLDING_STATUSES)
    if holder is not None:
        raise CaseError(lazy_gettext(
            "The applicant already holds a %(scheme)s quota place in case %(reference)s "
            "(%(status)s, %(rules)s). A person cannot hold two places at once: that case must "
            "end (withdrawn, lapsed or closed) before this one can be approved.",
            scheme=step.case.scheme.value, reference=holder.reference,
            status=holder.status.label, rules=holder.rules_label), see_case=holder)


def _documents_complete(step: Step) -> None:
    """No decision on a case whose required documents are not all in (received or waived):
    the features that keep them say which are missing."""
    missing = [label for _receiver, labels in signals.documents_outstanding.send(case=step.case)
               for label in labels or ()]
    if missing:
        raise CaseError(lazy_ngettext(
            "%(num)d required document has not been received or waived: %(documents)s. "
            "Receive it, or waive it with a reason, before “%(step)s”.",
            "%(num)d required documents have not been received or waived: %(documents)s. "
            "Receive them, or waive them with a reason, before “%(step)s”.",
            len(missing), documents=LazyList(missing), step=step.transition.label))


_GUARDS: dict[Guard, Callable[[Step], None]] = {
    Guard.ONE_QUOTA_PLACE: _one_quota_place,
    Guard.DOCUMENTS_COMPLETE: _documents_complete,
    Guard.ELIGIBLE: _eligible,
    Guard.INELIGIBLE: _ineligible,
    # The arrival's date is asked for, never assumed (a missing one is refused).
    Guard.ARRIVAL_DATE: _stay_rule(lambda s: stay.check_arrival(s.case, s.data.on, s.today)),
    Guard.EXTENSION_WINDOW: _stay_rule(lambda s: stay.check_extension_request(s.case, s.on)),
    Guard.VISA_DETAILS: _visa_details,
    Guard.EXTENSION_REQUEST: _stay_rule(lambda s: stay.check_request_details(
        s.case, s.data.months, s.data.grounds, s.data.job_offer_id)),
    Guard.EXTENSION_GRANT: _stay_rule(lambda s: stay.check_grant(
        s.case, s.policy, granted_months(s))),
}


def granted_months(step: Step) -> int:
    """The months an extension is granted for: the caseworker's, or by default what was
    asked (never more than the length the stay allows)."""
    if step.data.months is not None:
        return step.data.months
    asked = step.case.extension_months_requested or step.case.stay_extension_months
    return min(asked, step.case.stay_extension_months)


# --- Effects: each changes the case (and rows beside it) and may add a sentence to the event

def _judge_submission(step: Step) -> None:
    step.case.policy_version = step.policy.version
    step.case.favourable_consideration = step.policy.favourable_consideration(
        submission_facts(step.case))


def _receive(step: Step) -> None:
    step.case.submitted_at = step.now
    step.case.policy_version = step.policy.version


def _record_grounds(step: Step) -> dict:
    # The grounds as keys and values, so the history words them in its reader's language.
    return {"key": "refused_ineligible",
            "grounds": [dict(ground.data) for ground in permanent_grounds(step.case)]}


def _take_quota_place(step: Step) -> None:
    case = step.case
    # The place is taken in this same transaction as the status change: both or neither;
    # in the quota of the approval date's year.
    quota.take_place(case.id, case.scheme.value, step.on, step.actor,
                     case.applicant.nationality, step.now)


def place_not_taken_up(case: Case) -> bool:
    """True when the case's approval has not been taken up (no arrival yet): only then does
    ending it give its quota place back; after arrival the place was used."""
    return case.approved_on is not None and case.arrived_on is None


def _give_back_quota_place(step: Step) -> None:
    if place_not_taken_up(step.case):
        quota.release_place(step.case.id, step.actor, step.transition.name, step.reason,
                            step.now)


def _start_stay(step: Step) -> dict:
    stay.start_stay(step.case, step.policy, step.on, step.now)
    return {"key": "arrived", "arrived_on": step.case.arrived_on.isoformat(),
            "stay_ends_on": step.case.stay_ends_on.isoformat()}


def _extend_stay(step: Step) -> dict:
    was = step.case.stay_ends_on
    months = granted_months(step)
    stay.grant_extension(step.case, months, step.now)
    return {"key": "stay_extended", "stay_ends_on": step.case.stay_ends_on.isoformat(),
            "was": was.isoformat(), "months": months}


def _record_visa(step: Step) -> dict:
    case = step.case
    case.visa_number = step.data.visa_number.strip()
    case.visa_valid_until = step.data.visa_valid_until
    return {"key": "visa_issued", "number": case.visa_number,
            "valid_until": case.visa_valid_until.isoformat()}


def _record_extension_request(step: Step) -> dict:
    offer = stay.record_extension_request(step.case, step.on, step.data.months,
                                          step.data.grounds, step.data.job_offer_id)
    detail = {"key": "extension_requested", "months": step.case.extension_months_requested,
              "grounds": step.case.extension_grounds}
    if offer is not None:
        detail |= {"post": offer.post, "employer": offer.employer}
    return detail


# The effects that change only the case and its rows in memory (the bulk loader's too).
CASE_EFFECTS: dict[Effect, Callable[[Step], dict | None]] = {
    Effect.RECEIVE: _receive,
    Effect.JUDGE_SUBMISSION: _judge_submission,
    Effect.RECORD_GROUNDS: _record_grounds,
    Effect.START_STAY: _start_stay,
    Effect.EXTEND_STAY: _extend_stay,
    Effect.RECORD_VISA: _record_visa,
    Effect.RECORD_EXTENSION_REQUEST: _record_extension_request,
}
_EFFECTS: dict[Effect, Callable[[Step], dict | None]] = {
    **CASE_EFFECTS,
    Effect.TAKE_QUOTA_PLACE: _take_quota_place,
    Effect.GIVE_BACK_QUOTA_PLACE: _give_back_quota_place,
}


# --- The same steps, set-based ----------------------------------------------------------------

def _give_back_in_bulk(transition: Transition, chosen: ColumnElement[bool], reason: str | None,
                       now: datetime) -> None:
    # place_not_taken_up, as a condition on the chosen rows.
    not_taken_up = and_(chosen, Case.approved_on.is_not(None), Case.arrived_on.is_(None))
    quota.release_places(select(Case.id).where(not_taken_up), None, transition.name, reason,
                         now)


# The effects a step may have and still be taken by many cases at once: each in set form,
# with the same rule as its one-case form above.
_BULK_EFFECTS: dict[Effect, Callable[[Transition, ColumnElement[bool], str | None, datetime],
                                     None]] = {
    Effect.GIVE_BACK_QUOTA_PLACE: _give_back_in_bulk,
}


def transition_in_bulk(name: str, where: ColumnElement[bool], *, reason: str | None = None,
                       detail_data: dict | None = None, now: datetime | None = None,
                       registry: dict[Scheme, tuple[SchemePolicy, ...]] | None = None) -> int:
    """Move every case that ``where`` selects (and that the step allows) by the step ``name``,
    as the system; return how many moved.

    The set-based form of :func:`transition` for work like the deadline sweep: the step's
    definition is read from each case's policy, as for one case, and each part of it becomes
    one statement over all the chosen cases (events, effects, deadlines, the status), with
    the same signals. Only steps without guards or step data, whose effects all have a set
    form and which end the case, can be taken this way; any other is refused (PolicyError).
    ``detail_data`` is what every event says besides (a message key and values, as for one
    case). Safe from two workers at once: the chosen rows are locked first (PostgreSQL) or the
    transaction runs alone (SQLite, BEGIN IMMEDIATE), and a row changed meanwhile no longer
    matches.
    """
    now = now or utcnow()
    moved = 0
    for transition, policies in _definitions(name, registry or POLICIES):
        _check_bulk(transition, reason)
        chosen = and_(where, Case.status.in_(transition.sources),
                      _cases_judged_by(policies, registry or POLICIES))
        # Events first: they keep each case's status before the step, and the rows they read
        # stay locked (PostgreSQL) until the transaction ends, so every statement below sees
        # the same cases.
        chosen_count = events.record_many(
            select(Case.id.label("case_id"), Case.status.label("from_status"))
            .where(chosen).with_for_update(),
            kind=EventKind.TRANSITION, at=now, transition=transition.name,
            to_status=transition.target.value, reason=reason, detail_data=detail_data,
            occurred_on=hk_today(now))
        if chosen_count == 0:  # psycopg reports -1 (unknown) for INSERT ... SELECT here
            continue
        for effect in transition.effects:
            _BULK_EFFECTS[effect](transition, chosen, reason, now)
        counts.count_moved_from(chosen, transition.target)
        stay.end_deadlines(select(Case.id).where(chosen), now)
        values = {"status": transition.target, "ended_at": now, "updated_at": now,
                  "status_since": hk_today(now), "version": Case.version + 1,
                  **stay.NO_NEXT_DEADLINE}
        if transition.stamps:
            values[transition.stamps] = hk_today(now) if _is_date(transition.stamps) else now
        count = db.session.execute(update(Case).where(chosen).values(**values)
                                   .execution_options(synchronize_session=False)).rowcount
        signals.case_status_changed.send(
            transition, case_ids=select(Case.id).where(
                Case.status == transition.target, Case.updated_at == now),
            actor=None, at=now)
        moved += count
    db.session.flush()
    return moved


def _check_bulk(transition: Transition, reason: str | None) -> None:
    problems = []
    if transition.guards:
        problems.append("it has guards that must be checked case by case")
    if transition.needs_reason and not reason:
        problems.append("it needs a reason")
    if any(effect not in _BULK_EFFECTS for effect in transition.effects):
        problems.append("one of its effects has no set-based form")
    if transition.target.is_open:
        problems.append("it does not end the case (its deadlines would need recomputing)")
    if problems:
        raise PolicyError(f"“{transition.label}” cannot be taken by many cases at once: "
                          + "; ".join(problems) + ".")


def _definitions(name: str, registry: dict[Scheme, tuple[SchemePolicy, ...]]
                 ) -> Iterable[tuple[Transition, list[SchemePolicy]]]:
    """The distinct definitions of step ``name`` across the policies, each with the policy
    versions that share it (the seed's four schemes share two: with and without a quota)."""
    found: dict[Transition, list[SchemePolicy]] = {}
    for versions in registry.values():
        for policy in versions:
            try:
                found.setdefault(policy.transition(name), []).append(policy)
            except PolicyError:
                continue  # this scheme has no such step: its cases are not chosen
    return found.items()


def _cases_judged_by(policies: list[SchemePolicy],
                     registry: dict[Scheme, tuple[SchemePolicy, ...]]) -> ColumnElement[bool]:
    """The cases judged by one of ``policies``: by scheme where all of a scheme's versions
    are in the list, by scheme and version otherwise."""
    by_scheme: dict[Scheme, list[SchemePolicy]] = {}
    for policy in policies:
        by_scheme.setdefault(policy.scheme, []).append(policy)
    whole = [scheme for scheme, chosen in by_scheme.items()
             if len(chosen) == len(registry.get(scheme, ()))]
    parts = [Case.scheme.in_(whole)] if whole else []
    parts += [and_(Case.scheme == policy.scheme, Case.policy_version == policy.version)
              for scheme, chosen in by_scheme.items() if scheme not in whole for policy in chosen]
    if len(whole) == len(registry) and len(parts) == 1:
        return true()
    return or_(*parts) if parts else false()
