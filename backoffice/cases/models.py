"""Applicants, cases, dependants and the append-only case history."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Numeric,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backoffice.auth.models import User
from backoffice.cases.schemes import (
    CLOSED_STATUSES,
    PLACE_HOLDING_STATUSES,
    CaseStatus,
    GovernmentProgramme,
    Scheme,
    SchemePolicy,
    policy_for,
)
from backoffice.cases.words import lazy_gettext
from backoffice.core.dates import utcnow
from backoffice.core.db import UTCDateTime, enum_column
from backoffice.core.i18n import DEFAULT_LANGUAGE
from backoffice.core.identity import country_name
from backoffice.extensions import db


def _in(column: str, values) -> str:
    return f"{column} IN ({', '.join(repr(str(v)) for v in sorted(values))})"


_PAST_SUBMISSION = {CaseStatus.SUBMITTED, CaseStatus.UNDER_REVIEW, CaseStatus.AWAITING_QUOTA,
                    CaseStatus.APPROVED, CaseStatus.VISA_ISSUED, CaseStatus.IN_STAY,
                    CaseStatus.EXTENSION_REQUESTED, CaseStatus.EXTENDED, CaseStatus.REFUSED}
_IN_STAY = {CaseStatus.IN_STAY, CaseStatus.EXTENSION_REQUESTED, CaseStatus.EXTENDED}
# Statuses at or past each stage, for the CHECK constraints that tie a status to its dates.
_PAST_REVIEW = {CaseStatus.UNDER_REVIEW, CaseStatus.AWAITING_QUOTA, CaseStatus.APPROVED,
                CaseStatus.VISA_ISSUED, CaseStatus.IN_STAY, CaseStatus.EXTENSION_REQUESTED,
                CaseStatus.EXTENDED}
_PAST_APPROVAL = PLACE_HOLDING_STATUSES
NAME_SEARCH_LENGTH = 320  # the length of applicants.name_search and dependants.name_search
PHONE_KEY_LENGTH = 30  # the length of applicants.phone_key (a phone's digits)
REMOVAL_REASON_LENGTH = 500  # the length of dependants.removal_reason
VISA_NUMBER_LENGTH = 30  # the length of cases.visa_number
NOTE_LENGTH = 4000  # the most characters a case note may have (a page of text)


class DeadlineKind(StrEnum):
    STAY_END = "stay_end"
    JOB_OFFER = "job_offer"
    EXTENSION_WINDOW = "extension_window"
    ENTRY = "entry"  # the visa allows entry until then: the applicant must arrive by it
    # Documents asked of the applicant are due (backoffice/documents: a request's due date).
    DOCUMENTS_DUE = "documents_due"

    @property
    def label(self) -> str:
        return _DEADLINE_KIND_LABELS[self]


_DEADLINE_KIND_LABELS: dict[DeadlineKind, str] = {
    DeadlineKind.STAY_END: lazy_gettext("Stay ends"),
    DeadlineKind.JOB_OFFER: lazy_gettext("Job offer due"),
    DeadlineKind.EXTENSION_WINDOW: lazy_gettext("Extension window opens"),
    DeadlineKind.ENTRY: lazy_gettext("Entry by (visa valid until)"),
    DeadlineKind.DOCUMENTS_DUE: lazy_gettext("Documents due"),
}


def person_name(family_name: str, given_names: str, chinese_name: str | None) -> str:
    """A person's name as lists show it: "CHAN, Tai Man (陳大文)"."""
    name = f"{family_name.upper()}, {given_names}"
    return f"{name} ({chinese_name})" if chinese_name else name


class IdentityMixin:
    """The identity data an applicant and a dependant both carry (DESIGN §2)."""

    family_name: Mapped[str] = mapped_column(String(100))
    given_names: Mapped[str] = mapped_column(String(150))
    chinese_name: Mapped[str | None] = mapped_column(String(50))
    date_of_birth: Mapped[date] = mapped_column(Date)
    nationality: Mapped[str] = mapped_column(String(2))  # ISO 3166-1 alpha-2
    passport_number: Mapped[str] = mapped_column(String(20))
    hkid: Mapped[str | None] = mapped_column(String(12))  # canonical "A123456(3)"
    # Normalised keys the duplicate rules look up (cases/duplicates.py), kept by the services
    # that write the identity. Nullable only for rows older than them (the migration fills
    # those in).
    passport_key: Mapped[str | None] = mapped_column(String(40))
    name_key: Mapped[str | None] = mapped_column(String(320))

    @property
    def full_name(self) -> str:
        return person_name(self.family_name, self.given_names, self.chinese_name)

    @property
    def nationality_name(self) -> str:
        return country_name(self.nationality)


def search_text(family_name: str, given_names: str, chinese_name: str | None) -> str:
    """The lower-cased name text that name search matches against (Latin and Chinese).

    Lower-casing can lengthen a name ("İ" becomes "i" and a combining dot), so the text is cut
    to its column: a name the form accepts always saves, and is found by its first 320
    characters."""
    text = " ".join(p for p in (family_name, given_names, chinese_name or "") if p).lower()
    return text[:NAME_SEARCH_LENGTH]


def phone_key(phone: str | None) -> str | None:
    """A phone number's digits, last digit first, that the search reads: a number typed
    without its country code ("9123 4567" for "+852 9123 4567") is then a prefix of the
    key, which a plain index finds. None when the number has no digit."""
    digits = "".join(ch for ch in (phone or "") if "0" <= ch <= "9")
    return digits[::-1][:PHONE_KEY_LENGTH] or None


class Applicant(IdentityMixin, db.Model):
    __tablename__ = "applicants"
    __table_args__ = (
        Index("ix_applicants_passport_number", "passport_number"),
        Index("ix_applicants_hkid", "hkid"),
        Index("ix_applicants_nationality", "nationality"),
        Index("ix_applicants_passport_key_nationality", "passport_key", "nationality"),
        Index("ix_applicants_name_key_date_of_birth", "name_key", "date_of_birth"),
        # Partial, case-insensitive name search at a million rows needs a trigram index on
        # PostgreSQL (pg_trgm, created by the migration); elsewhere it is a plain index.
        Index("ix_applicants_name_search_trgm", "name_search", postgresql_using="gin",
              postgresql_ops={"name_search": "gin_trgm_ops"}),
        # The header search finds a phone by its last digits (``phone_key``; the pattern
        # operators let PostgreSQL range-scan a LIKE 'prefix%' whatever the collation).
        Index("ix_applicants_phone_key", "phone_key",
              postgresql_ops={"phone_key": "varchar_pattern_ops"}),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(30))
    # ``phone_key(phone)``, kept by the service that writes the phone; the search reads it.
    phone_key: Mapped[str | None] = mapped_column(String(PHONE_KEY_LENGTH))
    # The applicant agreed to be emailed deadline reminders.
    email_consent: Mapped[bool] = mapped_column(default=False)
    # The language the applicant is written to in (core/i18n.py codes).
    language: Mapped[str] = mapped_column(String(16), default=DEFAULT_LANGUAGE,
                                          server_default=DEFAULT_LANGUAGE)
    # Lower-cased names, kept by the service that writes the names; name search reads it.
    name_search: Mapped[str] = mapped_column(String(NAME_SEARCH_LENGTH))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


# The header search finds an email whatever its case (cases/search.py).
Index("ix_applicants_lower_email", func.lower(Applicant.email))


class Case(db.Model):
    __tablename__ = "cases"
    __table_args__ = (
        UniqueConstraint("reference"),
        Index("ix_cases_scheme_status_id", "scheme", "status", "id"),
        Index("ix_cases_status_id", "status", "id"),
        Index("ix_cases_assignee_id_status_id", "assignee_id", "status", "id"),
        Index("ix_cases_submitted_on_id", "submitted_on", "id"),
        # The queues' "next deadline" and "last change" sorts page by keyset on these.
        Index("ix_cases_next_deadline_on_id", "next_deadline_on", "id"),
        # My cases by next deadline, a caseworker's "what is next" (without it PostgreSQL
        # walks the office's deadlines filtering for one assignee).
        Index("ix_cases_assignee_id_next_deadline_on_id", "assignee_id", "next_deadline_on",
              "id"),
        Index("ix_cases_updated_at_id", "updated_at", "id"),
        Index("ix_cases_applicant_id", "applicant_id"),
        # Submission stamps the time and the policy version together, and every status past
        # submission (including refusal) has both.
        CheckConstraint("(submitted_at IS NULL) = (policy_version IS NULL)",
                        name="submission_has_policy"),
        CheckConstraint(f"NOT ({_in('status', _PAST_SUBMISSION)}) OR submitted_at IS NOT NULL",
                        name="submitted_has_date"),
        CheckConstraint(f"NOT ({_in('status', _PAST_REVIEW)}) OR review_started_at IS NOT NULL",
                        name="reviewed_has_date"),
        CheckConstraint(f"NOT ({_in('status', _PAST_APPROVAL)}) OR approved_on IS NOT NULL",
                        name="approved_has_date"),
        CheckConstraint("status <> 'refused' OR refused_at IS NOT NULL", name="refused_has_date"),
        CheckConstraint("status <> 'withdrawn' OR withdrawn_at IS NOT NULL",
                        name="withdrawn_has_date"),
        CheckConstraint(f"NOT ({_in('status', CLOSED_STATUSES)}) OR ended_at IS NOT NULL",
                        name="ended_has_date"),
        CheckConstraint("job_salary IS NULL OR job_salary >= 0", name="salary_not_negative"),
        CheckConstraint("visa_valid_until IS NULL OR visa_valid_until >= visa_issued_on",
                        name="visa_valid_after_issue"),
        CheckConstraint("extension_months_requested IS NULL OR extension_months_requested > 0",
                        name="extension_months_positive"),
        CheckConstraint(f"NOT ({_in('status', _IN_STAY)}) OR (arrived_on IS NOT NULL AND "
                        "stay_ends_on IS NOT NULL)", name="in_stay_has_dates"),
        CheckConstraint("stay_ends_on IS NULL OR stay_ends_on > arrived_on",
                        name="stay_ends_after_arrival"),
        Index("ix_cases_status_stay_ends_on", "status", "stay_ends_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # Human reference, e.g. QMAS-2026-000042: scheme, year of creation, per-scheme-year number.
    reference: Mapped[str] = mapped_column(String(24))
    scheme: Mapped[Scheme] = mapped_column(enum_column(Scheme, "scheme"))
    status: Mapped[CaseStatus] = mapped_column(enum_column(CaseStatus, "status"),
                                               default=CaseStatus.DRAFT)
    applicant_id: Mapped[int] = mapped_column(ForeignKey("applicants.id"))
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))

    # The date the application was received (Hong Kong date). Every eligibility rule and the
    # policy version are judged on it.
    submitted_on: Mapped[date] = mapped_column(Date)
    # The policy version the case was submitted under; it keeps these values for life.
    policy_version: Mapped[str | None] = mapped_column(String(40))
    favourable_consideration: Mapped[bool] = mapped_column(default=False)

    # Scheme-specific facts; which ones are required is the policy's business.
    business_plan: Mapped[str | None] = mapped_column(Text)
    programme: Mapped[GovernmentProgramme | None] = mapped_column(
        enum_column(GovernmentProgramme, "programme"))
    job_employer: Mapped[str | None] = mapped_column(String(200))
    job_post: Mapped[str | None] = mapped_column(String(200))
    job_salary: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))  # HKD per month
    job_relevance: Mapped[str | None] = mapped_column(Text)
    job_local_unavailability: Mapped[str | None] = mapped_column(Text)
    has_hk_parent: Mapped[bool] = mapped_column(default=False)
    emigrated_overseas: Mapped[bool] = mapped_column(default=False)

    # Stage stamps, set by the transition service only.
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    review_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    approved_on: Mapped[date | None] = mapped_column(Date)  # HK date: the quota year
    visa_issued_on: Mapped[date | None] = mapped_column(Date)
    # The visa or entry permit: its number and the last day it allows entry (a deadline).
    visa_number: Mapped[str | None] = mapped_column(String(VISA_NUMBER_LENGTH))
    visa_valid_until: Mapped[date | None] = mapped_column(Date)
    refused_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    # The stay (Hong Kong dates), computed once at arrival with the policy values then in
    # force, which are kept here so a later policy version never changes a granted stay.
    arrived_on: Mapped[date | None] = mapped_column(Date)
    stay_ends_on: Mapped[date | None] = mapped_column(Date)  # the last day of the stay
    stay_initial_months: Mapped[int | None] = mapped_column()
    stay_extension_months: Mapped[int | None] = mapped_column()
    extension_window_days: Mapped[int | None] = mapped_column()
    job_offer_needed_to_extend: Mapped[bool | None] = mapped_column()
    extensions_granted: Mapped[int] = mapped_column(default=0, server_default=text("0"))
    # Months added to the initial stay by every extension granted (each may be shorter than
    # the policy's length), so the stay end can be recomputed from the arrival date.
    extension_months_total: Mapped[int] = mapped_column(default=0, server_default=text("0"))
    # The last extension request: what was asked, on what grounds, on which job offer. Each
    # request and its decision is also in the history, with these values.
    extension_requested_on: Mapped[date | None] = mapped_column(Date)
    extension_months_requested: Mapped[int | None] = mapped_column()
    extension_grounds: Mapped[str | None] = mapped_column(Text)
    # The id of one of the case's own job offers. Not a foreign key: job offers already
    # point at their case, and a key both ways would make each table wait for the other.
    extension_job_offer_id: Mapped[int | None] = mapped_column()
    # The Hong Kong date the current status began: the date the caseworker gave for the step
    # that led to it. A later step may not be dated before it. None for a draft and for cases
    # recorded before step dates were entered (the submission date bounds those).
    status_since: Mapped[date | None] = mapped_column(Date)
    # The case's next open deadline (the earliest by date), copied from its deadlines by
    # ``stay.track_next_deadline`` / ``stay.track_next_deadlines`` in the transaction that
    # opens, moves or closes one, so the queues can sort a million cases by it on an index.
    # None: no open deadline.
    next_deadline_on: Mapped[date | None] = mapped_column(Date)
    next_deadline_kind: Mapped[DeadlineKind | None] = mapped_column(
        enum_column(DeadlineKind, "next_deadline_kind"))
    # The due date of the documents asked of the applicant and not all received yet (kept by
    # backoffice/documents); the "documents due" deadline is derived from it like the others.
    documents_due_on: Mapped[date | None] = mapped_column(Date)
    # How many required checklist items are neither received nor waived, kept by
    # backoffice/documents in the transaction that changes them, so a queue of a million
    # cases shows "3 documents missing" without a join. None: not counted yet.
    documents_missing: Mapped[int | None] = mapped_column(SmallInteger)

    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    # Optimistic locking: bumped on every UPDATE; forms carry it (DESIGN §5).
    version: Mapped[int] = mapped_column(default=1, server_default=text("1"))

    applicant: Mapped[Applicant] = relationship(lazy="joined", innerjoin=True)
    assignee: Mapped[User | None] = relationship(foreign_keys=[assignee_id])
    created_by: Mapped[User] = relationship(foreign_keys=[created_by_id])
    dependants: Mapped[list[Dependant]] = relationship(
        back_populates="case", order_by="Dependant.id")
    job_offers: Mapped[list[JobOffer]] = relationship(order_by="JobOffer.id")
    deadlines: Mapped[list[Deadline]] = relationship(
        back_populates="case", order_by="[Deadline.due_on, Deadline.id]")

    __mapper_args__ = {"version_id_col": version}

    def __repr__(self) -> str:
        return f"<Case {self.reference} {self.status}>"

    @property
    def is_open(self) -> bool:
        return self.status not in CLOSED_STATUSES

    @property
    def policy(self) -> SchemePolicy:
        """The policy version that judges the case: the one in force on its submission date."""
        return policy_for(self.scheme, self.submitted_on)

    @property
    def in_stay(self) -> bool:
        return self.status in _IN_STAY

    @property
    def extension_window_opens_on(self) -> date | None:
        if self.stay_ends_on is None or self.extension_window_days is None:
            return None
        return self.stay_ends_on - timedelta(days=self.extension_window_days)

    @property
    def has_job_offer(self) -> bool:
        return bool(self.job_offers)

    @property
    def open_deadlines(self) -> list[Deadline]:
        return [d for d in self.deadlines if d.state == DeadlineState.OPEN]

    @property
    def active_dependants(self) -> list[Dependant]:
        return [d for d in self.dependants if d.removed_at is None]

    # Permissions read like English; views call these, services enforce them too.
    def can_view(self, user: User) -> bool:
        return user.can_work_cases()

    def can_act(self, user: User) -> bool:
        """Change the case: its assignee, or any supervisor."""
        return user.can_supervise() or (user.can_work_cases() and self.assignee_id == user.id)

    def can_take(self, user: User) -> bool:
        return user.can_work_cases() and self.assignee_id is None and self.is_open

    def can_reassign(self, user: User) -> bool:
        return user.can_supervise()

    def can_add_note(self, user: User) -> bool:
        """Write a note on the case: every caseworker and supervisor who may view it, whether
        or not it is theirs and whether or not it has ended. A note changes nothing on the
        case (it is no step and no edit), and what a colleague learnt on a call, or a letter
        that came after the case closed, belongs on the file all the same."""
        return self.can_view(user)


class Relationship(StrEnum):
    SPOUSE = "spouse"
    CHILD = "child"

    @property
    def label(self) -> str:
        return _RELATIONSHIP_LABELS[self]


_RELATIONSHIP_LABELS: dict[Relationship, str] = {
    Relationship.SPOUSE: lazy_gettext("Spouse"),
    Relationship.CHILD: lazy_gettext("Child"),
}


class Dependant(IdentityMixin, db.Model):
    """A spouse or child on a principal's case. Removal is recorded, never deleted."""

    __tablename__ = "dependants"
    __table_args__ = (
        # At most one current spouse per case, whatever the concurrency.
        Index("uq_dependants_one_spouse", "case_id", unique=True,
              sqlite_where=text("relation = 'spouse' AND removed_at IS NULL"),
              postgresql_where=text("relation = 'spouse' AND removed_at IS NULL")),
        Index("ix_dependants_case_id", "case_id"),
        # The header search finds a case by its dependants too (cases/search.py).
        Index("ix_dependants_passport_number", "passport_number"),
        Index("ix_dependants_hkid", "hkid"),
        Index("ix_dependants_name_search_trgm", "name_search", postgresql_using="gin",
              postgresql_ops={"name_search": "gin_trgm_ops"}),
        # The duplicate rules look up current dependants only.
        Index("ix_dependants_current_passport_key_nationality", "passport_key", "nationality",
              sqlite_where=text("removed_at IS NULL"), postgresql_where=text("removed_at IS NULL")),
        Index("ix_dependants_current_name_key_date_of_birth", "name_key", "date_of_birth",
              sqlite_where=text("removed_at IS NULL"), postgresql_where=text("removed_at IS NULL")),
        CheckConstraint("relation = 'child' OR married IS NULL", name="married_only_child"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    relation: Mapped[Relationship] = mapped_column(enum_column(Relationship, "relation"))
    married: Mapped[bool | None] = mapped_column()  # children only
    added_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    added_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    removed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    removal_reason: Mapped[str | None] = mapped_column(String(REMOVAL_REASON_LENGTH))
    # ``search_text`` of the names, kept by the service that writes them, as on applicants.
    name_search: Mapped[str] = mapped_column(String(NAME_SEARCH_LENGTH))

    case: Mapped[Case] = relationship(back_populates="dependants")


class EventKind(StrEnum):
    CREATED = "created"
    EDITED = "edited"
    TRANSITION = "transition"
    ASSIGNED = "assigned"
    DEPENDANT_ADDED = "dependant_added"
    DEPENDANT_REMOVED = "dependant_removed"
    DOCUMENT = "document"  # a checklist item, a file or a request for documents (documents)
    SCHEME_CHANGED = "scheme_changed"  # a draft moved to another scheme, with a new reference

    @property
    def label(self) -> str:
        return _EVENT_KIND_LABELS[self]


_EVENT_KIND_LABELS: dict[EventKind, str] = {
    EventKind.CREATED: lazy_gettext("Created"),
    EventKind.EDITED: lazy_gettext("Edited"),
    EventKind.TRANSITION: lazy_gettext("Transition"),
    EventKind.ASSIGNED: lazy_gettext("Assigned"),
    EventKind.DEPENDANT_ADDED: lazy_gettext("Dependant added"),
    EventKind.DEPENDANT_REMOVED: lazy_gettext("Dependant removed"),
    EventKind.DOCUMENT: lazy_gettext("Documents"),
    EventKind.SCHEME_CHANGED: lazy_gettext("Scheme changed"),
}


class CaseEvent(db.Model):
    """Append-only history of a case: who did what, when, from which status to which, why."""

    __tablename__ = "case_events"
    __table_args__ = (Index("ix_case_events_case_id_id", "case_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))  # None: the system
    kind: Mapped[EventKind] = mapped_column(enum_column(EventKind, "event_kind"))
    transition: Mapped[str | None] = mapped_column(String(40))
    from_status: Mapped[CaseStatus | None] = mapped_column(enum_column(CaseStatus, "from_status"))
    to_status: Mapped[CaseStatus | None] = mapped_column(enum_column(CaseStatus, "to_status"))
    reason: Mapped[str | None] = mapped_column(Text)
    detail: Mapped[str | None] = mapped_column(Text)  # words as typed (or an older event's)
    # What the system says about the event, as a message key and its values (cases/events.py
    # renders it in the reader's language); None when there is nothing to add.
    # None is SQL NULL (not JSON null) on every path: the ORM, Core inserts and the bulk rows.
    detail_data: Mapped[dict | None] = mapped_column(JSON(none_as_null=True))
    # The Hong Kong date a step happened, as the caseworker gave it (``at`` is when it was
    # recorded); a correction changes it here and records the old value in its own event.
    occurred_on: Mapped[date | None] = mapped_column(Date)

    actor: Mapped[User | None] = relationship()


class CaseNote(db.Model):
    """A note on a case: who wrote what, when, kept as typed. Append-only: a note is never
    edited or deleted; a mistake is put right by a later note that corrects it.

    Not a case event and not a change of the case: writing one leaves the case's row (and so
    its version) as it was, so a colleague's open form on the case stays valid.
    """

    __tablename__ = "case_notes"
    __table_args__ = (
        Index("ix_case_notes_case_id_id", "case_id", "id"),
        # A note is corrected at most once: a second correction corrects the correction, so
        # the notes that put one right read as one chain, and "corrected by" names one note.
        UniqueConstraint("corrects_note_id"),
        CheckConstraint(f"length(text) BETWEEN 1 AND {NOTE_LENGTH}", name="text_length"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    written_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    text: Mapped[str] = mapped_column(Text)  # as typed (line breaks kept), surrounding space cut
    # The earlier note of the same case this one corrects (services.add_note checks the case).
    corrects_note_id: Mapped[int | None] = mapped_column(ForeignKey("case_notes.id"))

    author: Mapped[User] = relationship()


class ReferenceCounter(db.Model):
    """The last reference number handed out per scheme and year (incremented atomically)."""

    __tablename__ = "reference_counters"

    scheme: Mapped[Scheme] = mapped_column(enum_column(Scheme, "scheme"), primary_key=True)
    year: Mapped[int] = mapped_column(primary_key=True)
    last: Mapped[int] = mapped_column(default=0)


class FormerReference(db.Model):
    """A reference a case had before a change of scheme gave it a new one.

    Kept so that the reference written on what went out before (a request for documents,
    a note, a colleague's email) still finds the case (cases/search.py). A reference is
    never handed out twice (ReferenceCounter), so it names one case for good: the key.
    """

    __tablename__ = "former_references"
    __table_args__ = (Index("ix_former_references_case_id", "case_id"),)

    reference: Mapped[str] = mapped_column(String(24), primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    replaced_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class CaseStatusCount(db.Model):
    """How many cases of one scheme are in one status now: the dashboard's pipeline and the
    waiting line's length read these rows, not an index of every case.

    Kept by ``cases.counts`` in the transaction of every case created, every step taken (the
    one transition path, one case or many) and every draft's change of scheme (which moves
    the case between two schemes' rows); ``counts.rebuild_status_counts`` counts them
    again from the cases, for data written around the services (the bulk demo loader).
    """

    __tablename__ = "case_status_counts"
    __table_args__ = (CheckConstraint("cases >= 0", name="cases_not_negative"),)

    scheme: Mapped[Scheme] = mapped_column(enum_column(Scheme, "scheme"), primary_key=True)
    status: Mapped[CaseStatus] = mapped_column(enum_column(CaseStatus, "status"),
                                               primary_key=True)
    cases: Mapped[int] = mapped_column(default=0, server_default=text("0"))


class JobOffer(db.Model):
    """A job offer recorded during the stay (QMAS needs one to extend)."""

    __tablename__ = "job_offers"
    __table_args__ = (
        Index("ix_job_offers_case_id", "case_id"),
        CheckConstraint("salary >= 0", name="salary_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    employer: Mapped[str] = mapped_column(String(200))
    post: Mapped[str] = mapped_column(String(200))
    salary: Mapped[Decimal] = mapped_column(Numeric(12, 2))  # HKD per month
    start_date: Mapped[date] = mapped_column(Date)
    offered_on: Mapped[date | None] = mapped_column(Date)  # the offer's date, as entered
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))


# The deadlines that can be missed. An extension window is the day a window opens: the sweep
# marks it met when the day comes, and it is never overdue.
MISSABLE_DEADLINE_KINDS = (DeadlineKind.STAY_END, DeadlineKind.JOB_OFFER, DeadlineKind.ENTRY,
                           DeadlineKind.DOCUMENTS_DUE)


class DeadlineState(StrEnum):
    OPEN = "open"
    MET = "met"
    MISSED = "missed"
    CANCELLED = "cancelled"

    @property
    def label(self) -> str:
        return _DEADLINE_STATE_LABELS[self]


_DEADLINE_STATE_LABELS: dict[DeadlineState, str] = {
    DeadlineState.OPEN: lazy_gettext("Open"),
    DeadlineState.MET: lazy_gettext("Met"),
    DeadlineState.MISSED: lazy_gettext("Missed"),
    DeadlineState.CANCELLED: lazy_gettext("Cancelled"),
}


class DeadlineClosure(StrEnum):
    """Why a deadline stopped being someone's work: what ``signals.deadline_closed`` says
    with the deadlines it carries (the features above keep it, e.g. on a notification)."""

    MET = "met"  # a job offer recorded, the arrival, an extension granted, the window opened
    MOVED = "moved"  # its date changed: a deadline of the same kind on the new date replaces it
    DROPPED = "dropped"  # the case goes on, but this deadline no longer applies to it
    CASE_ENDED = "case_ended"  # the case ended (refused, withdrawn, lapsed, closed)


class Deadline(db.Model):
    """A date that must not pass unnoticed, derived from the case's events.

    Open deadlines are recomputed when a date they depend on changes (the old row is
    cancelled, a new one opened), so the history of what was due when is kept.
    """

    __tablename__ = "deadlines"
    __table_args__ = (
        Index("uq_deadlines_one_open_per_kind", "case_id", "kind", unique=True,
              sqlite_where=text("state = 'open'"), postgresql_where=text("state = 'open'")),
        Index("ix_deadlines_state_due_on", "state", "due_on"),
        # The overdue list: missed deadlines that are still someone's work, by date.
        Index("ix_deadlines_missed_outstanding_due_on", "due_on", "id",
              sqlite_where=text("state = 'missed' AND outstanding"),
              postgresql_where=text("state = 'missed' AND outstanding")),
        Index("ix_deadlines_case_id", "case_id"),
        CheckConstraint("(state = 'open') = (closed_at IS NULL)", name="closed_when_not_open"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    kind: Mapped[DeadlineKind] = mapped_column(enum_column(DeadlineKind, "deadline_kind"))
    due_on: Mapped[date] = mapped_column(Date)  # Hong Kong date
    state: Mapped[DeadlineState] = mapped_column(enum_column(DeadlineState, "deadline_state"),
                                                 default=DeadlineState.OPEN)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Still someone's work. False once the case has ended (refused, withdrawn, lapsed,
    # closed), or once a later deadline of the same kind replaced this one (an extension
    # granted after the stay end was missed): a missed deadline is history then, not work.
    # Kept here so the overdue list needs no join to sort them out of a million cases.
    outstanding: Mapped[bool] = mapped_column(default=True, server_default=true())

    case: Mapped[Case] = relationship(back_populates="deadlines")


SAVED_FILTER_NAME_LENGTH = 60  # the longest name a saved filter may have
SAVED_FILTER_QUERY_LENGTH = 1000  # the longest query string a saved filter keeps


class SavedFilter(db.Model):
    """A user's own named queue view ("my QMAS under review, oldest first"): a queue and the
    filters' query string, shown to its owner alone as a tab beside the queues."""

    __tablename__ = "saved_filters"
    __table_args__ = (UniqueConstraint("user_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    name: Mapped[str] = mapped_column(String(SAVED_FILTER_NAME_LENGTH))
    queue: Mapped[str] = mapped_column(String(20))  # a queries.Queue value
    # The filters as the queue page's query string (no cursor): read by the same form.
    query: Mapped[str] = mapped_column(String(SAVED_FILTER_QUERY_LENGTH))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
