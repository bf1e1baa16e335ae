"""Case rules: creating and editing cases, the one transition service, dependants, assignment.

Every function takes the acting user, checks the rules, changes rows, writes the case event
and flushes. The request, task or command commits once. Nothing here commits.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, fields
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from backoffice.auth.models import Permission, User, roles_with
from backoffice.cases import (
    corrections,
    counts,
    duplicates,
    eligibility,
    events,
    signals,
    stay,
)
from backoffice.cases.eligibility import (
    dependant_problem,
    permanent_grounds,
    submission_problems,
)
from backoffice.cases.guards import (
    CaseError,
    QuotaBlocked,
    StaleCase,
    check_can_act,
    check_open,
    check_version,
)
from backoffice.cases.lifecycle import (
    StepData,
    StepOption,
    allowed_step,
    available_transitions,
    earliest_step_date,
    preview,
    step_options,
    transition,
)
from backoffice.cases.models import (
    NOTE_LENGTH,
    REMOVAL_REASON_LENGTH,
    Applicant,
    Case,
    CaseEvent,
    CaseNote,
    Dependant,
    EventKind,
    FormerReference,
    JobOffer,
    ReferenceCounter,
    Relationship,
    SavedFilter,
    phone_key,
)
from backoffice.cases.schemes import (
    CaseStatus,
    GovernmentProgramme,
    PolicyError,
    Scheme,
    SchemePolicy,
    policy_for,
)
from backoffice.cases.words import LazyDate, LazyList, LazyNumber, Sentences, lazy_gettext
from backoffice.core.converters import DB_INT_MAX
from backoffice.core.dates import add_months, hk_today, utcnow
from backoffice.core.db import read
from backoffice.core.i18n import DEFAULT_LANGUAGE
from backoffice.extensions import db

# What callers of the case rules use, wherever in the feature it is defined.
__all__ = [
    "CaseError", "QuotaBlocked", "StaleCase", "StepData", "StepOption",
    "allowed_step", "available_transitions", "check_version", "dependant_problem",
    "earliest_step_date", "permanent_grounds", "preview", "step_options",
    "submission_problems", "transition",
]


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
    language: str = DEFAULT_LANGUAGE  # what the applicant is written to in


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


def _check_submitted_on(submitted_on: date, today: date) -> None:
    if submitted_on > today:
        raise CaseError(lazy_gettext("The submission date %(submitted_on)s is in the future; "
                                     "enter the date the application was received.",
                                     submitted_on=LazyDate(submitted_on)))


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


def _identity_problems(data: IdentityData | Applicant, today: date) -> None:
    if data.date_of_birth > today:
        raise CaseError(lazy_gettext("The date of birth %(date_of_birth)s is in the future.",
                                     date_of_birth=LazyDate(data.date_of_birth)))
    if data.date_of_birth < add_months(today, -12 * OLDEST_AGE):
        raise CaseError(lazy_gettext("The date of birth %(date_of_birth)s would make the person "
                                     "older than %(oldest)d; check the year.",
                                     date_of_birth=LazyDate(data.date_of_birth),
                                     oldest=OLDEST_AGE))


def _check_new_case(scheme: Scheme, submitted_on: date, applicant: IdentityData | Applicant,
                    today: date) -> SchemePolicy:
    """What a case is checked for to be opened under ``scheme`` (a new case, and a draft
    moved to that scheme): a real submission date and date of birth, and a policy of the
    scheme in force on that date, which is returned."""
    _check_submitted_on(submitted_on, today)
    _identity_problems(applicant, today)
    try:
        return policy_for(scheme, submitted_on)
    except PolicyError as exc:
        raise CaseError(exc.message) from exc


def _write_keys(person: Applicant | Dependant, data: IdentityData) -> None:
    """The columns derived from a person's identity: what the search and the duplicate rules
    look up (kept here, by the one writer of the person, never computed at read time)."""
    for name, value in duplicates.identity_keys(data).items():
        setattr(person, name, value)


def _write_applicant(applicant: Applicant, data: ApplicantData) -> None:
    _assign(applicant, data)
    applicant.phone_key = phone_key(data.phone)
    _write_keys(applicant, data)


def _accepted(matches: list[duplicates.Match], detail: dict | None) -> dict | None:
    """An event's ``detail_data`` with, where matches were accepted, which ones."""
    if not matches:
        return detail
    return events.combined([detail, duplicates.accepted_detail(matches)])


def create_case(actor: User, scheme: Scheme, applicant_data: ApplicantData, facts: CaseFacts,
                today: date | None = None, accept_duplicates: str | None = None) -> Case:
    """Open a draft case, assigned to the caseworker who created it.

    An applicant who matches a person in another case (``duplicates``) is refused with the
    matches (DuplicatesFound) unless ``accept_duplicates`` is the caseworker's reason for
    saving anyway; the creation's event then records the reason and the cases matched."""
    today = today or hk_today()
    if not actor.can_work_cases():
        raise CaseError(lazy_gettext("Only caseworkers and supervisors can create cases."))
    _check_new_case(scheme, facts.submitted_on, applicant_data, today)
    matches, accepted = duplicates.check_matches(duplicates.Identity.of(applicant_data),
                                                 accept_duplicates)
    applicant = Applicant()
    _write_applicant(applicant, applicant_data)
    db.session.add(applicant)
    case = Case(scheme=scheme, status=CaseStatus.DRAFT, applicant=applicant, assignee_id=actor.id,
                created_by_id=actor.id, reference=next_reference(scheme, today.year))
    _assign(case, facts)
    db.session.add(case)
    db.session.flush()
    counts.count_moves([(scheme, None, CaseStatus.DRAFT, 1)])
    events.record(case.id, actor, EventKind.CREATED, to_status=CaseStatus.DRAFT,
                  reason=accepted, detail_data=_accepted(matches, None))
    db.session.flush()
    signals.case_changed.send(case=case)
    return case


# Identity facts the policy judged at submission (age limits, excluded nationalities).
_JUDGED_IDENTITY = ("date_of_birth", "nationality")

# What is fixed once a case is submitted: the submission date and every scheme fact (all of
# CaseFacts) and the identity facts the policy judged. The one rule behind ``update_case``'s
# refusal and the edit form's read-only fields.
FIXED_AFTER_SUBMISSION: tuple[str, ...] = (*(f.name for f in fields(CaseFacts)),
                                           *_JUDGED_IDENTITY)


def fixed_fields(case: Case) -> tuple[str, ...]:
    """The names of the fields (of ApplicantData and CaseFacts) ``case`` no longer lets change:
    none on a draft, :data:`FIXED_AFTER_SUBMISSION` once submitted."""
    return () if case.status == CaseStatus.DRAFT else FIXED_AFTER_SUBMISSION


# Why a fixed field cannot change, as the edit form says it beside each one.
FIXED_REASON = lazy_gettext("Judged at submission; cannot change after submission.")

_CASE_FACT_NAMES = frozenset(f.name for f in fields(CaseFacts))


def current_value(case: Case, name: str) -> object:
    """The stored value of an ApplicantData or CaseFacts field of ``case``."""
    return getattr(case if name in _CASE_FACT_NAMES else case.applicant, name)


def update_case(actor: User, case: Case, applicant_data: ApplicantData, facts: CaseFacts,
                expected_version: int, today: date | None = None,
                accept_duplicates: str | None = None) -> list[str]:
    """Save an edit; return the names of the fields that changed (the event records each
    one's old and new value).

    Duplicates are checked again only by the rules whose identity fields the edit changes
    (``duplicates.changed_rules``): a match accepted when the case was made, or on an earlier
    edit, is not asked about again while the fields it rests on stay as they were. A new
    match is refused as on creation, unless ``accept_duplicates`` gives the reason.

    After submission the submission date and the facts the policy judged (scheme facts, date
    of birth, nationality) are fixed: changing them would change the decision basis behind
    the caseworker's back. Names, passport and contact details stay correctable.
    """
    today = today or hk_today()
    check_version(case, expected_version)
    check_can_act(case, actor)
    check_open(case)
    _check_submitted_on(facts.submitted_on, today)
    _identity_problems(applicant_data, today)
    given = {**{f.name: getattr(applicant_data, f.name) for f in fields(applicant_data)},
             **{f.name: getattr(facts, f.name) for f in fields(facts)}}
    fixed = [name for name in fixed_fields(case) if current_value(case, name) != given[name]]
    if fixed:
        raise CaseError(lazy_gettext(
            "The submission date, the scheme facts, the date of birth and the nationality "
            "were judged at submission and cannot change after submission (changed: "
            "%(fields)s).", fields=LazyList(events.field_label(name) for name in fixed)))
    changes = _changes(case.applicant, applicant_data) + _changes(case, facts)
    if not changes:
        return []
    rules = duplicates.changed_rules(duplicates.Identity.of(case.applicant),
                                     duplicates.Identity.of(applicant_data))
    matches, accepted = (duplicates.check_matches(
        duplicates.Identity.of(applicant_data), accept_duplicates, exclude_case_id=case.id,
        rules=rules) if rules else ([], None))
    _write_applicant(case.applicant, applicant_data)
    _assign(case, facts)
    case.updated_at = utcnow()  # bumps the version even when only the applicant row changed
    events.record(case.id, actor, EventKind.EDITED, reason=accepted,
                  detail_data=_accepted(matches, events.fields_changed(changes)))
    db.session.flush()
    signals.case_changed.send(case=case)
    return [name for name, _before, _after in changes]


def _changes(target: object, data: object) -> list[tuple[str, object, object]]:
    """(name, old value, new value) of each field of ``data`` that differs on ``target``."""
    return [(f.name, getattr(target, f.name), getattr(data, f.name)) for f in fields(data)
            if getattr(target, f.name) != getattr(data, f.name)]


# --- Changing a draft's scheme ------------------------------------------------------------

SCHEME_CHANGE_REASON_LENGTH = 2000  # as long as a step's reason


class IneligibleForScheme(CaseError):
    """A change of scheme refused because the case, with the facts given for the new scheme,
    could not be submitted under it. ``problems``: each reason (a lazy sentence), for a page
    that lists them beside the form."""

    def __init__(self, scheme: Scheme, problems: list[object]) -> None:
        super().__init__(lazy_gettext(
            "The case cannot move to %(scheme)s as it stands: %(problems)s",
            scheme=scheme.short_label, problems=Sentences(problems)))
        self.problems = problems


@dataclass(frozen=True)
class SchemeChange:
    """A change of scheme checked by :func:`check_scheme_change` and not yet made: what the
    confirmation page states and :func:`change_scheme` then does."""

    case: Case
    scheme: Scheme
    policy: SchemePolicy
    facts: CaseFacts
    reason: str
    # (name, old value, new value) of each scheme fact the change sets or clears.
    changes: list[tuple[str, object, object]]

    @property
    def reference_prefix(self) -> str:
        """The new reference but for its number ("GEP_ENT-2026-"): the number is taken when
        the change is made, so that a change looked at and never confirmed uses none."""
        return f"{self.scheme.value}-{reference_year(self.case.reference)}-"


def reference_year(reference: str) -> int:
    """The year in a reference (``QMAS-2026-000042``: 2026), the year the case was opened.
    A new reference for the same case keeps it: the case was not opened again."""
    return int(reference.rsplit("-", 2)[-2])


def check_scheme_changeable(actor: User, case: Case) -> None:
    """Refuse, in words, a change of scheme of ``case`` by ``actor`` whatever is asked: a
    case that is not theirs to change, that has ended, or that is no longer a draft (the
    case page offers the change only where this passes)."""
    check_can_act(case, actor)
    check_open(case)
    if case.status != CaseStatus.DRAFT:
        raise CaseError(lazy_gettext(
            "Only a draft's scheme can be changed, and %(reference)s is “%(status)s”: a "
            "submitted application is judged under the scheme it was made for. Withdraw it "
            "and open a new case under the other scheme instead.",
            reference=case.reference, status=case.status.label))


def check_scheme_change(actor: User, case: Case, scheme: Scheme | str, facts: CaseFacts,
                        reason: str | None, expected_version: int | None,
                        today: date | None = None) -> SchemeChange:
    """Check moving the draft ``case`` to ``scheme`` with ``facts`` (its scheme facts as
    they are to be: the new scheme's filled in, the others cleared; the submission date the
    case's own) for ``reason``; change nothing. Raises CaseError in words.

    The whole case is judged again as for a new case of that scheme: the checks creation
    makes, then every submission rule of the scheme's policy in force on the submission
    date (age limits, excluded nationalities, the facts it needs), so a draft that moves is
    one the new scheme could receive. Only a draft moves: once submitted, an application is
    judged under the scheme it was made for (withdraw it and open a new case instead).
    """
    today = today or hk_today()
    check_version(case, expected_version)
    check_scheme_changeable(actor, case)
    try:
        scheme = Scheme(scheme)
    except ValueError:
        raise CaseError(lazy_gettext("There is no scheme with the code “%(code)s”.",
                                     code=scheme)) from None
    if scheme == case.scheme:
        raise CaseError(lazy_gettext("%(reference)s is already a %(scheme)s case: choose "
                                     "another scheme.", reference=case.reference,
                                     scheme=scheme.short_label))
    reason = (reason or "").strip()
    if not reason:
        raise CaseError(lazy_gettext("Give a reason for changing the scheme; it is recorded "
                                     "in the case history."))
    if len(reason) > SCHEME_CHANGE_REASON_LENGTH:
        raise CaseError(lazy_gettext("Keep the reason for changing the scheme to %(most)s "
                                     "characters (it has %(length)s).",
                                     most=LazyNumber(SCHEME_CHANGE_REASON_LENGTH),
                                     length=LazyNumber(len(reason))))
    if facts.submitted_on != case.submitted_on:
        raise CaseError(lazy_gettext("A change of scheme keeps the submission date; change "
                                     "the date by editing the case."))
    policy = _check_new_case(scheme, case.submitted_on, case.applicant, today)
    grounds = eligibility.scheme_grounds(case, policy, facts)
    if grounds:
        raise IneligibleForScheme(scheme, [ground.message for ground in grounds])
    return SchemeChange(case, scheme, policy, facts, reason, _changes(case, facts))


def scheme_change_consequences(change: SchemeChange) -> list[object]:
    """What ``change`` will do, in sentences (lazy messages), for the page that asks to
    confirm it."""
    case, before, after = change.case, change.case.scheme.short_label, change.scheme.short_label
    said: list[object] = [
        lazy_gettext("The scheme changes from %(before)s to %(after)s; the case is then judged "
                     "by the %(after)s policy of %(date)s.", before=before, after=after,
                     date=LazyDate(change.policy.effective_from)),
        lazy_gettext("The reference changes from %(before)s to %(after)s… (its number is given "
                     "when you confirm); the old reference stays searchable.",
                     before=case.reference, after=change.reference_prefix),
    ]
    cleared = [name for name, old, new in change.changes if old not in (None, False, "")
               and new in (None, False, "")]
    if cleared:
        said.append(lazy_gettext(
            "These answers, which %(scheme)s does not ask for, are cleared (the history keeps "
            "them): %(fields)s.", scheme=after,
            fields=LazyList(events.field_label(name) for name in cleared)))
    said.append(lazy_gettext("The documents checklist becomes the %(scheme)s one; documents "
                             "already recorded stay on the case.", scheme=after))
    said.append(lazy_gettext("The case stays a draft, assigned as it is now."))
    return said


def preview_scheme_change(actor: User, case: Case, scheme: Scheme | str, facts: CaseFacts,
                          reason: str | None, expected_version: int | None,
                          today: date | None = None) -> list[object]:
    """Every check :func:`change_scheme` makes, and what it would do in sentences; nothing
    is changed (no reference number is taken)."""
    return scheme_change_consequences(check_scheme_change(actor, case, scheme, facts, reason,
                                                          expected_version, today))


def change_scheme(actor: User, case: Case, scheme: Scheme | str, facts: CaseFacts,
                  reason: str | None, expected_version: int | None,
                  today: date | None = None, now: datetime | None = None) -> CaseEvent:
    """Move the draft ``case`` to ``scheme`` (the checks are :func:`check_scheme_change`'s):
    its scheme facts become ``facts``, it gets a new reference of the new scheme (in the
    year of its old one), and the old reference is kept so the search still finds the case
    by it. The event records both schemes, both references, the reason and each scheme
    fact's old and new value; the status counts move the draft to the new scheme's row."""
    now = now or utcnow()
    change = check_scheme_change(actor, case, scheme, facts, reason, expected_version, today)
    before, old_reference = case.scheme, case.reference
    new_reference = next_reference(change.scheme, reference_year(old_reference))
    _assign(case, change.facts)
    case.scheme = change.scheme
    case.reference = new_reference
    case.updated_at = now
    # The case's row first: a colleague's change of the same draft, committed meanwhile,
    # fails here on the version (a stale form), not on the old reference's key below.
    db.session.flush()
    db.session.add(FormerReference(reference=old_reference, case_id=case.id, replaced_at=now))
    counts.count_scheme_change(case.status, before, change.scheme)
    event = events.record(case.id, actor, EventKind.SCHEME_CHANGED, at=now,
                          reason=change.reason,
                          detail_data=events.scheme_changed(before, change.scheme,
                                                            old_reference, new_reference,
                                                            change.changes))
    db.session.flush()
    # The documents feature lays out the new scheme's checklist and counts what it lacks.
    signals.case_changed.send(case=case)
    return event


# --- Dependants ---------------------------------------------------------------------------

def add_dependant(actor: User, case: Case, relation: Relationship, data: IdentityData,
                  married: bool | None, expected_version: int,
                  today: date | None = None, accept_duplicates: str | None = None) -> Dependant:
    """Add a spouse or child. One who matches a person in another case is refused with
    the matches unless ``accept_duplicates`` gives the reason (as for ``create_case``)."""
    today = today or hk_today()
    check_version(case, expected_version)
    check_can_act(case, actor)
    check_open(case)
    _identity_problems(data, today)
    married = bool(married) if relation == Relationship.CHILD else None
    problem = dependant_problem(case, relation, data.date_of_birth, married)
    if problem:
        raise CaseError(problem)
    matches, accepted = duplicates.check_matches(duplicates.Identity.of(data), accept_duplicates,
                                                 exclude_case_id=case.id)
    dependant = Dependant(case_id=case.id, relation=relation, married=married,
                          added_by_id=actor.id)
    _assign(dependant, data)
    _write_keys(dependant, data)
    db.session.add(dependant)
    # Loading the collection (when it was not yet) flushes the new row into it already:
    # appending again would list the dependant twice on the case in memory.
    if dependant not in case.dependants:
        case.dependants.append(dependant)
    case.updated_at = utcnow()
    db.session.flush()
    events.record(case.id, actor, EventKind.DEPENDANT_ADDED, reason=accepted,
                  detail_data=_accepted(matches, {"key": "dependant_added",
                                                  "relation": relation.value,
                                                  "name": dependant.full_name}))
    db.session.flush()
    signals.case_changed.send(case=case)
    return dependant


def remove_dependant(actor: User, case: Case, dependant: Dependant, reason: str,
                     expected_version: int) -> None:
    """Take a dependant off the case. The row stays, marked removed, with the reason."""
    check_version(case, expected_version)
    check_can_act(case, actor)
    check_open(case)
    if dependant.case_id != case.id or dependant.removed_at is not None:
        raise CaseError(lazy_gettext("That dependant is not on this case."))
    reason = (reason or "").strip()
    if not reason:
        raise CaseError(lazy_gettext("Give a reason for removing the dependant."))
    if len(reason) > REMOVAL_REASON_LENGTH:
        raise CaseError(lazy_gettext("Keep the reason for removing a dependant to %(most)s "
                                     "characters (it has %(length)s).",
                                     most=LazyNumber(REMOVAL_REASON_LENGTH),
                                     length=LazyNumber(len(reason))))
    dependant.removed_at = utcnow()
    dependant.removed_by_id = actor.id
    dependant.removal_reason = reason
    case.updated_at = utcnow()
    events.record(case.id, actor, EventKind.DEPENDANT_REMOVED, reason=reason,
                  detail_data={"key": "dependant_removed", "relation": dependant.relation.value,
                               "name": dependant.full_name})
    db.session.flush()
    signals.case_changed.send(case=case)


# --- The stay, outside the lifecycle -------------------------------------------------------

def correct_date(actor: User, case: Case, key: str, new: date | None, reason: str | None,
                 expected_version: int | None, today: date, now: datetime | None = None
                 ) -> CaseEvent:
    """A caseworker corrects a step's date (or the visa's validity end); what depends on it
    is recomputed (the rules are ``corrections``')."""
    return corrections.correct_date(actor, case, key, new, reason, expected_version, today,
                                    now)


def correctable_dates(case: Case, today: date, history: list[CaseEvent] | None = None
                      ) -> list[corrections.CorrectableDate]:
    return corrections.correctable_dates(case, today, history)


def record_job_offer(actor: User, case: Case, offer: stay.JobOfferData,
                     expected_version: int | None) -> JobOffer:
    """A caseworker records the job offer that meets the job-offer deadline."""
    check_version(case, expected_version)
    check_can_act(case, actor)
    return stay.record_job_offer(actor, case, offer)


# --- Notes --------------------------------------------------------------------------------

_NOT_A_NOTE_OF_THE_CASE = lazy_gettext("The note to correct is not one of this case's notes; "
                                       "choose it from the list.")
_ALREADY_CORRECTED = lazy_gettext("That note was already corrected by a later note; correct "
                                  "the later note instead.")


def note_text(text: str | None) -> str:
    """A note's text as it is kept: line breaks as typed (a browser sends CRLF, counted as one
    character, as the text box counts them), the blank lines and spaces around it cut."""
    return (text or "").replace("\r\n", "\n").replace("\r", "\n").strip()


def add_note(actor: User, case: Case, text: str | None, corrects_note_id: int | None = None,
             now: datetime | None = None) -> CaseNote:
    """Write a note on the case, or (``corrects_note_id``) a note that corrects an earlier
    note of the case. Notes are never edited or deleted: a correction is a new note, and the
    note it corrects is shown as corrected by it. A note is corrected at most once; a later
    correction corrects the correction, so the chain reads in order.

    Whoever may view the case may write one (``Case.can_add_note``), on an ended case too,
    and without the form's version: a note is no change to the case (no event, no new
    version), so it never makes a colleague's open form stale, nor goes stale itself.
    """
    if not case.can_add_note(actor):
        raise CaseError(lazy_gettext("Only caseworkers and supervisors can write notes on "
                                     "cases."))
    text = note_text(text)
    if not text:
        raise CaseError(lazy_gettext("The note is empty; write what is to be kept."))
    if len(text) > NOTE_LENGTH:
        raise CaseError(lazy_gettext("Keep a note to %(most)s characters (this one has "
                                     "%(length)s); write the rest in a second note.",
                                     most=LazyNumber(NOTE_LENGTH), length=LazyNumber(len(text))))
    if corrects_note_id is not None:
        # An id no row can have (0, past the database's integer range) is no note either.
        corrected = (db.session.get(CaseNote, corrects_note_id)
                     if 0 < corrects_note_id <= DB_INT_MAX else None)
        if corrected is None or corrected.case_id != case.id:
            raise CaseError(_NOT_A_NOTE_OF_THE_CASE)
        if db.session.scalar(select(CaseNote.id).where(
                CaseNote.corrects_note_id == corrects_note_id)) is not None:
            raise CaseError(_ALREADY_CORRECTED)
    note = CaseNote(case_id=case.id, author_id=actor.id, written_at=now or utcnow(), text=text,
                    corrects_note_id=corrects_note_id)
    try:
        # Two corrections of one note at once: the unique key lets one in; the other is told.
        with db.session.begin_nested():
            db.session.add(note)
    except IntegrityError as exc:
        raise CaseError(_ALREADY_CORRECTED) from exc
    return note


# --- Assignment ---------------------------------------------------------------------------

def take_case(actor: User, case: Case, expected_version: int | None = None) -> None:
    """Assign an unassigned case to oneself."""
    check_version(case, expected_version)
    if not case.can_take(actor):
        if case.assignee_id == actor.id:
            raise CaseError(lazy_gettext("This case is already assigned to you."))
        if case.assignee_id is not None:
            raise CaseError(lazy_gettext("This case is already assigned to %(name)s.",
                                         name=case.assignee.full_name))
        raise CaseError(lazy_gettext("This case cannot be taken."))
    _set_assignee(actor, case, actor)
    db.session.flush()


def _set_assignee(actor: User, case: Case, assignee: User | None) -> None:
    previous_id = case.assignee_id
    before = case.assignee.full_name if case.assignee else None
    case.assignee = assignee  # the relationship, so a later read in this transaction agrees
    case.updated_at = utcnow()
    after = assignee.full_name if assignee else None
    # None: nobody (the unassigned queue).
    events.record(case.id, actor, EventKind.ASSIGNED,
                  detail_data={"key": "assigned", "from": before, "to": after})
    signals.case_reassigned.send(case=case, actor=actor, previous_assignee_id=previous_id,
                                 assignee_id=assignee.id if assignee else None)


class SkipReason(StrEnum):
    """Why a ticked case was not reassigned (the bulk reassignment names each one)."""

    ENDED = "ended"
    ALREADY_THEIRS = "already_theirs"
    CHANGED = "changed"


@dataclass
class Reassigned:
    """What a reassignment did: the cases that changed hands, and each case left as it was
    with the reason."""

    reassigned: list[Case] = field(default_factory=list)
    skipped: list[tuple[Case, SkipReason]] = field(default_factory=list)

    def skipped_for(self, reason: SkipReason) -> list[Case]:
        return [case for case, why in self.skipped if why is reason]


def reassign(actor: User, cases: Iterable[Case], assignee: User | None,
             versions: dict[int, int] | None = None) -> Reassigned:
    """Supervisors: give one or many cases to a caseworker (or to nobody). ``versions``: the
    version of each case as the page that ticked it showed it; a case changed since is left
    for the supervisor to look at again. A case that has ended, or is the assignee's
    already, is left too; the outcome says which and why."""
    if not actor.can_supervise():
        raise CaseError(lazy_gettext("Only supervisors can reassign cases."))
    if assignee is not None and (not assignee.active or not assignee.can_work_cases()):
        raise CaseError(lazy_gettext("%(name)s cannot be given cases (the account is not an "
                                     "active caseworker or supervisor).",
                                     name=assignee.full_name))
    outcome = Reassigned()
    versions = versions or {}
    for case in cases:
        if not case.is_open:
            outcome.skipped.append((case, SkipReason.ENDED))
        elif case.id in versions and versions[case.id] != case.version:
            outcome.skipped.append((case, SkipReason.CHANGED))
        elif case.assignee_id == (assignee.id if assignee else None):
            outcome.skipped.append((case, SkipReason.ALREADY_THEIRS))
        else:
            _set_assignee(actor, case, assignee)
            outcome.reassigned.append(case)
    db.session.flush()
    return outcome


def reassign_case(actor: User, case: Case, assignee: User | None,
                  expected_version: int | None) -> None:
    """Supervisors: give one case, as it was when the form was shown, to someone else."""
    check_version(case, expected_version)
    reassign(actor, [case], assignee)


_ACTIVE_CASEWORKERS = (
    select(User.id, User.full_name)
    .where(User.active.is_(True),
           User.role.in_(roles_with(Permission.WORK_CASES)))
    .order_by(func.lower(User.full_name)))


def active_caseworkers() -> list:
    """(id, full_name) of the accounts that can be given cases, by name. Plain rows, not ORM
    objects: every queue page lists them."""
    return list(read(_ACTIVE_CASEWORKERS))


# --- Saved filters ------------------------------------------------------------------------

SAVED_FILTERS_PER_USER = 20  # tabs beyond this would no longer fit beside the queues


def save_filter(user: User, name: str, queue: str, query: str) -> SavedFilter:
    """Keep the user's filters of ``queue`` (the queue page's query string, already read by
    its form without errors) under ``name``, unique among the user's own."""
    name = " ".join(name.split())
    taken = db.session.scalar(select(SavedFilter.id).where(SavedFilter.user_id == user.id,
                                                           SavedFilter.name == name))
    if taken is not None:
        raise _name_taken(name)
    count = db.session.scalar(select(func.count()).select_from(SavedFilter)
                              .where(SavedFilter.user_id == user.id))
    if count >= SAVED_FILTERS_PER_USER:
        raise CaseError(lazy_gettext(
            "You can keep at most %(num)s saved filters: delete one you no longer use first.",
            num=LazyNumber(SAVED_FILTERS_PER_USER)))
    saved = SavedFilter(user_id=user.id, name=name, queue=queue, query=query)
    db.session.add(saved)
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError as exc:  # the same name saved at the same moment, in another tab
        raise _name_taken(name) from exc
    return saved


def _name_taken(name: str) -> CaseError:
    return CaseError(lazy_gettext("You already have saved filters called “%(name)s”: choose "
                                  "another name, or delete those first.", name=name))


def delete_filter(user: User, saved: SavedFilter) -> None:
    """Delete one of the user's own saved filters (nobody else's: the route answers 404)."""
    if saved.user_id != user.id:
        raise CaseError(lazy_gettext("These saved filters are not yours."))
    db.session.delete(saved)
    db.session.flush()

