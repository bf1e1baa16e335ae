"""Schemes, case statuses and the scheme policies, as data.

Each scheme's rules (age limits, excluded nationalities, required documents, stay terms and
the lifecycle table) are one frozen :class:`SchemePolicy` with an ``effective_from`` date.
A case is judged by the version in force on its submission date (:func:`policy_for`), and a
new version is added with :func:`register`: no view, service or template changes. Methods here
never ask *which* scheme they belong to; every difference between schemes lives in a field.

Pure Python: no database, no app (the words are lazy messages, rendered in the reader's
language when shown; see ``cases.words``). The service that moves a case between statuses (and takes
a QMAS quota place on approval) lives elsewhere and asks this module what is allowed.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, MutableMapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from backoffice.cases.words import LazyCountry, LazyDate, LazyList, lazy_gettext
from backoffice.core.dates import age_on, birthday

__all__ = [
    "CLOSED_STATUSES",
    "OPEN_STATUSES",
    "POLICIES",
    "SEED_EFFECTIVE_FROM",
    "CaseStatus",
    "Effect",
    "GovernmentProgramme",
    "Ground",
    "Guard",
    "NoPolicyInForce",
    "PolicyError",
    "PolicyRegistry",
    "Scheme",
    "SchemePolicy",
    "SubmissionFacts",
    "Transition",
    "UnknownTransition",
    "describe_ground",
    "policy_for",
    "register",
]


# --- Errors -------------------------------------------------------------------------------------


class PolicyError(Exception):
    """A scheme rule was asked something it cannot answer; ``str(err)`` is a sentence to show.

    ``err.message`` is the sentence itself (a lazy message, still to be rendered), for a
    caller that refuses with it in turn."""

    @property
    def message(self) -> object:
        return self.args[0] if self.args else ""


class UnknownTransition(PolicyError):
    """The policy has no transition of that name."""


class NoPolicyInForce(PolicyError):
    """No version of the scheme's policy was in force on the date asked about."""


# --- Vocabulary ---------------------------------------------------------------------------------


class Scheme(StrEnum):
    """The four talent-admission schemes. The value is the code stored on a case."""

    QMAS = "QMAS"
    GEP_ENT = "GEP_ENT"
    GEP_PRO = "GEP_PRO"
    ASSG = "ASSG"

    @property
    def label(self) -> str:
        """The scheme's full official name, as the seed page writes it."""
        return _SCHEME_LABELS[self]

    @property
    def short_label(self) -> str:
        """A short name for sentences and table headers ("GEP (Professionals)")."""
        return _SCHEME_SHORT_LABELS[self]


# The en dashes are the official names' own punctuation, hence the RUF001 exemptions.
_SCHEME_LABELS: dict[Scheme, str] = {
    Scheme.QMAS: lazy_gettext("Quality Migrant Admission Scheme"),
    Scheme.GEP_ENT: lazy_gettext(
        "General Employment Policy – Entrepreneur Scheme"),  # noqa: RUF001
    Scheme.GEP_PRO: lazy_gettext("General Employment Policy – Professionals"),  # noqa: RUF001
    Scheme.ASSG: lazy_gettext(
        "Admission Scheme for the Second Generation of Chinese Hong Kong Permanent Residents"
    ),
}
_SCHEME_SHORT_LABELS: dict[Scheme, str] = {
    Scheme.QMAS: lazy_gettext("QMAS"),
    Scheme.GEP_ENT: lazy_gettext("GEP (Entrepreneurs)"),
    Scheme.GEP_PRO: lazy_gettext("GEP (Professionals)"),
    Scheme.ASSG: lazy_gettext("ASSG"),
}


class CaseStatus(StrEnum):
    """Where a case is in its lifecycle. The value is what the database stores."""

    DRAFT = "draft"
    SUBMITTED = "submitted"
    UNDER_REVIEW = "under_review"
    AWAITING_QUOTA = "awaiting_quota"
    APPROVED = "approved"
    VISA_ISSUED = "visa_issued"
    IN_STAY = "in_stay"
    EXTENSION_REQUESTED = "extension_requested"
    EXTENDED = "extended"
    REFUSED = "refused"
    WITHDRAWN = "withdrawn"
    LAPSED = "lapsed"
    CLOSED = "closed"

    @property
    def label(self) -> str:
        """The status as a caseworker reads it."""
        return _STATUS_LABELS[self]

    @property
    def is_open(self) -> bool:
        """True while the case can still move; False for refused, withdrawn, lapsed, closed."""
        return self in OPEN_STATUSES


_STATUS_LABELS: dict[CaseStatus, str] = {
    CaseStatus.DRAFT: lazy_gettext("Draft"),
    CaseStatus.SUBMITTED: lazy_gettext("Submitted"),
    CaseStatus.UNDER_REVIEW: lazy_gettext("Under review"),
    CaseStatus.AWAITING_QUOTA: lazy_gettext("Awaiting quota"),
    CaseStatus.APPROVED: lazy_gettext("Approved"),
    CaseStatus.VISA_ISSUED: lazy_gettext("Visa issued"),
    CaseStatus.IN_STAY: lazy_gettext("In stay (arrived)"),
    CaseStatus.EXTENSION_REQUESTED: lazy_gettext("Extension requested"),
    CaseStatus.EXTENDED: lazy_gettext("Extended"),
    CaseStatus.REFUSED: lazy_gettext("Refused"),
    CaseStatus.WITHDRAWN: lazy_gettext("Withdrawn"),
    CaseStatus.LAPSED: lazy_gettext("Lapsed"),
    CaseStatus.CLOSED: lazy_gettext("Closed"),
}

# Defined once and reused by queries (work queues, dashboards, "open cases" counts).
CLOSED_STATUSES: frozenset[CaseStatus] = frozenset(
    {CaseStatus.REFUSED, CaseStatus.WITHDRAWN, CaseStatus.LAPSED, CaseStatus.CLOSED}
)
OPEN_STATUSES: frozenset[CaseStatus] = frozenset(CaseStatus) - CLOSED_STATUSES
# Approved and not ended: the statuses in which a quota scheme's case holds its place (taken
# on approval; given back on withdrawal or lapse before arrival, used up after arrival, and in
# either way no longer held once the case has ended). One person holds one place at a time.
PLACE_HOLDING_STATUSES: frozenset[CaseStatus] = frozenset(
    {CaseStatus.APPROVED, CaseStatus.VISA_ISSUED, CaseStatus.IN_STAY,
     CaseStatus.EXTENSION_REQUESTED, CaseStatus.EXTENDED})


class GovernmentProgramme(StrEnum):
    """Government-backed start-up programmes the seed names for GEP (Entrepreneurs).

    An entrepreneur supported by one of them is "favourably considered".
    """

    STARTMEUPHK_VENTURE = "startmeuphk_venture"
    HKSTP_INCU_APP = "hkstp_incu_app"
    HKSTP_INCU_BIO = "hkstp_incu_bio"
    HKSTP_INCU_TECH = "hkstp_incu_tech"
    CYBERPORT_INCUBATION = "cyberport_incubation"
    HKDC_DESIGN_INCUBATION = "hkdc_design_incubation"

    @property
    def label(self) -> str:
        """The programme's name with the body that runs it."""
        return _PROGRAMME_LABELS[self]


_PROGRAMME_LABELS: dict[GovernmentProgramme, str] = {
    GovernmentProgramme.STARTMEUPHK_VENTURE: lazy_gettext(
        "InvestHK StartmeupHK Venture Programme"),
    GovernmentProgramme.HKSTP_INCU_APP: lazy_gettext(
        "Hong Kong Science and Technology Parks Incu-App"),
    GovernmentProgramme.HKSTP_INCU_BIO: lazy_gettext(
        "Hong Kong Science and Technology Parks Incu-Bio"),
    GovernmentProgramme.HKSTP_INCU_TECH: lazy_gettext(
        "Hong Kong Science and Technology Parks Incu-Tech"),
    GovernmentProgramme.CYBERPORT_INCUBATION: lazy_gettext("Cyberport Incubation Programme"),
    GovernmentProgramme.HKDC_DESIGN_INCUBATION: lazy_gettext(
        "Hong Kong Design Centre Design Incubation Programme"
    ),
}


# --- Transitions --------------------------------------------------------------------------------


class Guard(StrEnum):
    """A check a step makes before it changes anything, beyond its sources and reason.

    The lifecycle service (``backoffice.cases.lifecycle``) knows how to check each one.
    """

    ELIGIBLE = "eligible"  # the policy's submission rules and the dependants' rules
    ARRIVAL_DATE = "arrival_date"  # a real arrival date: not in the future, not before the visa
    EXTENSION_WINDOW = "extension_window"  # the window is open (and a job offer where needed)
    # A permanent ground (see Ground): the application can never be accepted as it stands.
    INELIGIBLE = "ineligible"
    VISA_DETAILS = "visa_details"  # the visa's number and the last day it allows entry
    EXTENSION_REQUEST = "extension_request"  # the length asked, the grounds, the job offer
    EXTENSION_GRANT = "extension_grant"  # the length granted: the policy's, or shorter
    # The applicant holds no other place of the scheme's quota (another case approved and
    # not ended, cases/duplicates.place_holder).
    ONE_QUOTA_PLACE = "one_quota_place"
    # Every required item of the documents checklist is received or waived (the documents
    # feature answers through signals.documents_outstanding).
    DOCUMENTS_COMPLETE = "documents_complete"


# Guards that judge what the caseworker gives for the step, not the case: a preview of the
# step, before anything is given, leaves them to the step's own page. (The arrival's date
# too: an arrival today may be past the visa's validity where the real, earlier one is not.)
DATA_GUARDS = frozenset({Guard.VISA_DETAILS, Guard.EXTENSION_REQUEST, Guard.EXTENSION_GRANT,
                         Guard.ARRIVAL_DATE})


class Effect(StrEnum):
    """What a step does besides moving the status, stamping its date and keeping the
    deadlines in line (which every step does). Run in the order the step lists them."""

    JUDGE_SUBMISSION = "judge_submission"  # keep the policy version and favourable consideration
    TAKE_QUOTA_PLACE = "take_quota_place"  # one place in the approval year's quota, atomically
    GIVE_BACK_QUOTA_PLACE = "give_back_quota_place"  # the place, if held and not yet taken up
    START_STAY = "start_stay"  # the stay from the arrival date, with the policy's values
    EXTEND_STAY = "extend_stay"  # the stay end moves by the extension length
    # Received without being submitted (a refusal on a permanent ground): the submission time
    # and the judging policy version, which go together, but no favourable consideration.
    RECEIVE = "receive"
    RECORD_GROUNDS = "record_grounds"  # the permanent grounds, kept on the step's event
    RECORD_VISA = "record_visa"  # the visa's number and validity (entry is due by its end)
    RECORD_EXTENSION_REQUEST = "record_extension_request"  # what was asked, kept on the case


@dataclass(frozen=True, slots=True)
class Transition:
    """One named move in a scheme's lifecycle: from any of ``sources`` to ``target``.

    The step carries everything it checks and does, so the one service that runs steps has no
    knowledge of any step by name: ``needs_reason`` (refusals, withdrawals, closures: the
    reason is recorded on the event and shown in the history), its ``guards``, the case
    column it ``stamps`` with the step's date or time, its ``effects`` in order, and
    ``when_quota_full``, the step the case takes instead when its quota place cannot be had.
    ``label`` is the button's words and ``reason_prompt`` the sentence asking for the reason
    of a step that needs one (both lazy messages). ``only_when_possible`` is for a step meant
    for exceptional cases (refusing an application that can never be accepted): the case page
    offers it only when its guards pass, where another step would be shown disabled with why.
    ``dated``: the caseworker gives the date the step happened (default today); a step that
    is not dated happens on the case's submission date (submitting it).
    """

    name: str
    label: str
    sources: frozenset[CaseStatus]
    target: CaseStatus
    needs_reason: bool = False
    guards: tuple[Guard, ...] = ()
    stamps: str | None = None
    effects: tuple[Effect, ...] = ()
    when_quota_full: str | None = None
    reason_prompt: str | None = None
    only_when_possible: bool = False
    dated: bool = True
    confirm: bool = False  # asks for confirmation whatever its effects (a decision)

    @property
    def ends_case(self) -> bool:
        return not self.target.is_open

    @property
    def moves_quota(self) -> bool:
        """Takes or gives back a quota place."""
        return bool({Effect.TAKE_QUOTA_PLACE, Effect.GIVE_BACK_QUOTA_PLACE} & set(self.effects))

    @property
    def destructive(self) -> bool:
        """Ends the case or refuses what was asked: shown as such, set apart from the rest."""
        return self.ends_case or self.needs_reason

    @property
    def needs_confirmation(self) -> bool:
        """Cannot be undone by another step, ends the case, or takes or gives back a quota
        place: the caseworker checks the consequences on a page of their own first."""
        return (self.confirm or self.destructive or self.moves_quota
                or bool({Effect.EXTEND_STAY, Effect.START_STAY} & set(self.effects)))

    @property
    def has_own_page(self) -> bool:
        """Confirmed first, or asks for more than its date: taken on a page of its own, the
        other steps on the case page."""
        return self.needs_confirmation or bool(DATA_GUARDS & set(self.guards))

    def applies_from(self, status: CaseStatus | str) -> bool:
        """True when a case in ``status`` may take this transition."""
        return status in self.sources


def _lifecycle(*, quota_hold: bool) -> tuple[Transition, ...]:
    """Build the lifecycle table (DESIGN §2) shared by the seed policies.

    ``quota_hold`` is for a scheme whose approvals take a quota place: approval takes one (and
    withdrawal or lapse before arrival gives it back), and an "awaiting quota" stop sits
    between review and approval for when none is left. It is a parameter, not a scheme check,
    so any future quota scheme gets the same table.
    """
    s = CaseStatus
    quota_stop = frozenset({s.AWAITING_QUOTA}) if quota_hold else frozenset()
    take = (Effect.TAKE_QUOTA_PLACE,) if quota_hold else ()
    one_place = (Guard.ONE_QUOTA_PLACE,) if quota_hold else ()
    give_back = (Effect.GIVE_BACK_QUOTA_PLACE,) if quota_hold else ()
    table = [
        Transition("submit", lazy_gettext("Submit"), frozenset({s.DRAFT}), s.SUBMITTED,
                   guards=(Guard.ELIGIBLE,), stamps="submitted_at",
                   effects=(Effect.JUDGE_SUBMISSION,), dated=False),
        Transition("start_review", lazy_gettext("Start review"), frozenset({s.SUBMITTED}),
                   s.UNDER_REVIEW, stamps="review_started_at"),
        Transition("approve", lazy_gettext("Approve"), frozenset({s.UNDER_REVIEW}) | quota_stop,
                   s.APPROVED, stamps="approved_on",
                   guards=(*one_place, Guard.DOCUMENTS_COMPLETE), effects=take,
                   confirm=True,
                   when_quota_full="hold_for_quota" if quota_hold else None),
        Transition("issue_visa", lazy_gettext("Record visa issued"), frozenset({s.APPROVED}),
                   s.VISA_ISSUED, stamps="visa_issued_on", guards=(Guard.VISA_DETAILS,),
                   effects=(Effect.RECORD_VISA,)),
        Transition("record_arrival", lazy_gettext("Record arrival"), frozenset({s.VISA_ISSUED}),
                   s.IN_STAY, guards=(Guard.ARRIVAL_DATE,), effects=(Effect.START_STAY,)),
        # Extended → extension requested again: each extension is applied for in turn.
        Transition(
            "request_extension",
            lazy_gettext("Request extension of stay"),
            frozenset({s.IN_STAY, s.EXTENDED}),
            s.EXTENSION_REQUESTED,
            guards=(Guard.EXTENSION_WINDOW, Guard.EXTENSION_REQUEST),
            effects=(Effect.RECORD_EXTENSION_REQUEST,),
        ),
        Transition(
            "grant_extension", lazy_gettext("Grant extension"),
            frozenset({s.EXTENSION_REQUESTED}), s.EXTENDED,
            guards=(Guard.EXTENSION_GRANT,), effects=(Effect.EXTEND_STAY,),
        ),
        # A refused extension leaves the current stay running to its end (then it lapses);
        # it is a refusal, so the applicant is owed the reason.
        Transition(
            "refuse_extension",
            lazy_gettext("Refuse extension"),
            frozenset({s.EXTENSION_REQUESTED}),
            s.IN_STAY,
            needs_reason=True,
            reason_prompt=lazy_gettext("Give a reason to refuse the extension; it is recorded "
                                       "and shown in the case history."),
        ),
        Transition(
            "refuse",
            lazy_gettext("Refuse"),
            frozenset({s.SUBMITTED, s.UNDER_REVIEW}) | quota_stop,
            s.REFUSED,
            needs_reason=True,
            stamps="refused_at",
            reason_prompt=lazy_gettext("Give a reason to refuse this case; it is recorded and "
                                       "shown in the case history."),
        ),
        # An application that can never be accepted (a permanent ground, see Ground) is
        # received and refused in one step, so the refusal is on record with its ground; one
        # that lacks something is completed instead, so the step exists only for the former.
        Transition(
            "refuse_ineligible",
            lazy_gettext("Refuse as ineligible"),
            frozenset({s.DRAFT}),
            s.REFUSED,
            needs_reason=True,
            guards=(Guard.INELIGIBLE,),
            stamps="refused_at",
            effects=(Effect.RECEIVE, Effect.RECORD_GROUNDS),
            only_when_possible=True,
            reason_prompt=lazy_gettext("Give a reason to refuse this application as "
                                       "ineligible; it is recorded with the ground and shown in "
                                       "the case history."),
        ),
        # Once the applicant has arrived the case ends by closing or lapsing, not withdrawal.
        Transition(
            "withdraw",
            lazy_gettext("Withdraw"),
            frozenset({s.DRAFT, s.SUBMITTED, s.UNDER_REVIEW, s.APPROVED, s.VISA_ISSUED})
            | quota_stop,
            s.WITHDRAWN,
            needs_reason=True,
            stamps="withdrawn_at",
            effects=give_back,
            reason_prompt=lazy_gettext("Give a reason to withdraw this case; it is recorded and "
                                       "shown in the case history."),
        ),
        # Approved / visa issued: the approval was not taken up in time.
        # In stay / extension requested / extended: the stay expired without extension.
        # Recorded by the deadline sweep as well as by hand, so the dates are the reason.
        Transition(
            "lapse",
            lazy_gettext("Record lapse"),
            frozenset({s.APPROVED, s.VISA_ISSUED, s.IN_STAY, s.EXTENSION_REQUESTED, s.EXTENDED}),
            s.LAPSED,
            effects=give_back,
        ),
        Transition(
            "close", lazy_gettext("Close"), frozenset({s.IN_STAY, s.EXTENDED}), s.CLOSED,
            needs_reason=True,
            reason_prompt=lazy_gettext("Give a reason to close this case; it is recorded and "
                                       "shown in the case history."),
        ),
    ]
    if quota_hold:
        table.insert(
            2,
            Transition(
                "hold_for_quota",
                lazy_gettext("Hold for quota"),
                frozenset({s.UNDER_REVIEW}),
                s.AWAITING_QUOTA,
            ),
        )
    return tuple(table)


# --- Submission facts ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class SubmissionFacts:
    """What the caller knows about an application when it asks whether it may be submitted.

    Every field may be left empty; :meth:`SchemePolicy.check_submission` says in words which
    missing ones the scheme needs. ``nationality`` is an ISO 3166-1 alpha-2 code.
    """

    date_of_birth: date | None = None
    nationality: str | None = None
    business_plan: str | None = None
    programme: GovernmentProgramme | None = None
    job_employer: str | None = None
    job_post: str | None = None
    job_salary: Decimal | int | None = None
    job_relevance: str | None = None  # relevance to the applicant's qualifications/experience
    job_local_unavailability: str | None = None  # why it cannot readily be filled locally
    has_hk_parent: bool = False  # a parent who is a Chinese Hong Kong permanent resident
    emigrated_overseas: bool = False


def _blank(text: str | None) -> bool:
    return text is None or not text.strip()


@dataclass(frozen=True, slots=True)
class Ground:
    """One reason an application cannot be submitted, and whether it can ever be put right.

    A *permanent* ground is judged on what no longer changes once the application is received:
    its submission date (fixed at receipt) and who the applicant is (nationality, date of
    birth). No later day and no added document makes such an application acceptable, so it
    can be refused on that ground ("Refuse as ineligible"); a fact typed wrongly is corrected
    by an edit, after which the case is judged again. Every other ground is something missing
    or impossible that can be added or corrected (a business plan, a job offer's parts, a date
    of birth not entered or after the submission date, a dependant to remove).

    ``message`` is the sentence (a lazy message). ``data`` is a permanent ground's message key
    and values (JSON), what a refusal's event keeps so the history says the ground in its
    reader's language (:func:`describe_ground`); None for a remediable ground.
    """

    message: str
    data: Mapping[str, object] | None = None

    @property
    def permanent(self) -> bool:
        return self.data is not None

    @classmethod
    def fixed(cls, key: str, **values: object) -> Ground:
        """A permanent ground, its sentence made from the same key and values it keeps."""
        data = {"key": key, **values}
        return cls(describe_ground(data), data)


def _day(iso: object) -> LazyDate:
    return LazyDate(date.fromisoformat(str(iso)))


# Each permanent ground's sentence from its stored values (codes and ISO dates, so that the
# event that keeps them is plain JSON). The one wording of these grounds, page and history.
_PERMANENT_GROUNDS = {
    "excluded_nationality": lambda d: lazy_gettext(
        "Nationals of %(country)s (%(code)s) cannot apply under the %(scheme)s (policy of "
        "%(effective_from)s).", country=LazyCountry(d["code"]), code=d["code"],
        scheme=Scheme(d["scheme"]).label, effective_from=_day(d["effective_from"])),
    # A bounded range is stated as a range, with the birthday that crossed (or will cross)
    # the line, so the caseworker can see how near the applicant is.
    "above_age_range": lambda d: lazy_gettext(
        "%(scheme)s applicants must be %(min_age)d to %(max_age)d on the submission date; the "
        "applicant turned %(age)d on %(birthday)s.", scheme=Scheme(d["scheme"]).short_label,
        min_age=d["min_age"], max_age=d["max_age"], age=d["age"], birthday=_day(d["birthday"])),
    "below_age_range": lambda d: lazy_gettext(
        "%(scheme)s applicants must be %(min_age)d to %(max_age)d on the submission date; the "
        "applicant is %(age)d and turns %(min_age)d on %(birthday)s.",
        scheme=Scheme(d["scheme"]).short_label, min_age=d["min_age"], max_age=d["max_age"],
        age=d["age"], birthday=_day(d["birthday"])),
    "below_min_age": lambda d: lazy_gettext(
        "The applicant is %(age)d on %(on)s; %(scheme)s requires %(min_age)d or over.",
        age=d["age"], on=_day(d["on"]), scheme=Scheme(d["scheme"]).short_label,
        min_age=d["min_age"]),
    "above_max_age": lambda d: lazy_gettext(
        "The applicant is %(age)d on %(on)s; %(scheme)s requires %(max_age)d or under.",
        age=d["age"], on=_day(d["on"]), scheme=Scheme(d["scheme"]).short_label,
        max_age=d["max_age"]),
}


def describe_ground(data: Mapping[str, object]) -> str:
    """A permanent ground's sentence (a lazy message) from its key and values; KeyError for a
    key or value this version does not know."""
    return _PERMANENT_GROUNDS[str(data["key"])](data)


# --- The documents checklist ---------------------------------------------------------------------


class Holder(StrEnum):
    """Whose document a checklist item is: one item for the applicant, or one per dependant."""

    APPLICANT = "applicant"
    EACH_DEPENDANT = "each_dependant"


class Condition(StrEnum):
    """When an item applies beyond its holder, read from the case's facts."""

    PROGRAMME_CLAIMED = "programme_claimed"  # a government-backed programme is claimed


@dataclass(frozen=True, slots=True)
class DocumentRequirement:
    """One item of a scheme's documents checklist (policy data, versioned with the policy).

    ``code`` names it in the case's rows and history, so it never changes once used;
    ``label`` and ``hint`` (what counts as the document) are lazy messages. A required item
    that is neither received nor waived stops an approval (``Guard.DOCUMENTS_COMPLETE``).
    """

    code: str
    label: str
    hint: str | None = None
    required: bool = True
    holder: Holder = Holder.APPLICANT
    condition: Condition | None = None


def _requirement(code: str, label: str, hint: str | None = None, **rules) -> DocumentRequirement:
    return DocumentRequirement(code, label, hint, **rules)


_PASSPORT = _requirement(
    "passport", lazy_gettext("Passport"),
    lazy_gettext("The pages with the photograph, personal details and validity."))
# Every scheme admits the spouse and unmarried children under 18 (seed): each dependant's
# identity and the proof that they are the applicant's spouse or child.
_DEPENDANTS = (
    _requirement("dependant_identity", lazy_gettext("Proof of identity"),
                 lazy_gettext("The dependant's passport or travel document."),
                 holder=Holder.EACH_DEPENDANT),
    _requirement("relationship", lazy_gettext("Proof of relationship"),
                 lazy_gettext("The marriage certificate for a spouse; the birth certificate "
                              "for a child."), holder=Holder.EACH_DEPENDANT),
)
QMAS_DOCUMENTS = (
    _PASSPORT,
    _requirement("degree_certificates", lazy_gettext("Degree certificates"),
                 lazy_gettext("Certificates of each degree claimed, with transcripts.")),
    _requirement("work_experience", lazy_gettext("Proof of work experience"),
                 lazy_gettext("Employers' letters stating the posts held and their dates.")),
    _requirement("language_proficiency", lazy_gettext("Proof of language proficiency"),
                 lazy_gettext("Results of a recognised test of written and spoken Chinese or "
                              "English."), required=False),
    *_DEPENDANTS,
)
GEP_ENT_DOCUMENTS = (
    _PASSPORT,
    _requirement("business_plan", lazy_gettext("Business plan"),
                 lazy_gettext("The plan of the business to be set up or joined in Hong Kong.")),
    _requirement("funding", lazy_gettext("Proof of funding"),
                 lazy_gettext("Bank statements or investment agreements for the capital.")),
    _requirement("programme_admission", lazy_gettext("Admission letter of the programme"),
                 lazy_gettext("The admission letter of the government-backed programme "
                              "claimed."), condition=Condition.PROGRAMME_CLAIMED),
    *_DEPENDANTS,
)
GEP_PRO_DOCUMENTS = (
    _PASSPORT,
    _requirement("employment_contract", lazy_gettext("Employment contract"),
                 lazy_gettext("The contract signed with the Hong Kong employer.")),
    _requirement("employer_letter", lazy_gettext("Employer's letter on the post"),
                 lazy_gettext("The post's duties and why it cannot readily be filled locally.")),
    _requirement("qualifications", lazy_gettext("Qualifications"),
                 lazy_gettext("Degree certificates and professional qualifications.")),
    *_DEPENDANTS,
)
ASSG_DOCUMENTS = (
    _PASSPORT,
    _requirement("parent_residence", lazy_gettext("Parent's proof of permanent residence"),
                 lazy_gettext("The parent's Hong Kong permanent identity card, showing the "
                              "parent is a Chinese Hong Kong permanent resident.")),
    _requirement("birth_certificate", lazy_gettext("Birth certificate"),
                 lazy_gettext("The applicant's birth certificate naming that parent.")),
    _requirement("emigration", lazy_gettext("Proof of emigration"),
                 lazy_gettext("Proof that the parent emigrated from Hong Kong.")),
    *_DEPENDANTS,
)


_REQUIREMENT_LABELS = {r.code: r.label for documents in
                       (QMAS_DOCUMENTS, GEP_ENT_DOCUMENTS, GEP_PRO_DOCUMENTS, ASSG_DOCUMENTS)
                       for r in documents}


def requirement_label(code: str) -> str:
    """The label of the checklist item called ``code`` in any scheme (the code itself for an
    item no checklist has any more), for records that keep only the code (the history)."""
    return _REQUIREMENT_LABELS.get(code, code)


# --- Policy -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class SchemePolicy:
    """One version of a scheme's rules, in force from ``effective_from``.

    Fields are the rules; methods only read them. To change a rule, register a new version
    (``dataclasses.replace(old, version=..., effective_from=..., <field>=...)``); cases keep the
    values of the version they were judged by.

    Stay lengths are in calendar months (see ``backoffice.core.dates.add_months``); the
    extension window opens ``extension_window_days`` before the stay ends.
    """

    scheme: Scheme
    version: str
    effective_from: date
    has_quota: bool = False
    min_age: int | None = None
    max_age: int | None = None  # inclusive: ASSG's 40 allows the day before the 41st birthday
    excluded_nationalities: frozenset[str] = frozenset()
    requires_business_plan: bool = False
    # Programmes whose support earns "favourable consideration" (GEP Entrepreneurs).
    favourable_programmes: frozenset[GovernmentProgramme] = frozenset()
    requires_job_offer: bool = False
    requires_hk_parent_and_emigration: bool = False
    initial_stay_months: int = 24
    extension_months: int = 24
    extension_window_days: int = 28
    # An extension may be granted for fewer months than ``extension_months`` (never more).
    shorter_extension_allowed: bool = True
    job_offer_needed_to_extend: bool = False
    # The documents checklist, and the days an applicant is given to send what is asked.
    documents: tuple[DocumentRequirement, ...] = ()
    documents_due_days: int = 28
    transitions: tuple[Transition, ...] = ()
    _by_name: Mapping[str, Transition] = field(
        init=False, repr=False, compare=False, default_factory=dict
    )

    def __post_init__(self) -> None:
        # Validate once, at definition time, so a bad policy fails at import or in the test
        # that registers it, never halfway through a caseworker's request.
        problems = []
        if isinstance(self.effective_from, datetime):
            problems.append("effective_from must be a date, not a datetime")
        if self.min_age is not None and self.max_age is not None and self.min_age > self.max_age:
            problems.append(f"min_age {self.min_age} is above max_age {self.max_age}")
        bad_codes = sorted(c for c in self.excluded_nationalities if len(c) != 2 or not c.isupper())
        if bad_codes:
            problems.append(f"excluded nationalities must be upper-case alpha-2: {bad_codes}")
        for name in ("initial_stay_months", "extension_months", "extension_window_days"):
            if getattr(self, name) <= 0:
                problems.append(f"{name} must be positive")
        codes = [r.code for r in self.documents]
        if len(codes) != len(set(codes)):
            problems.append(f"document codes are not unique: {codes}")
        if self.documents_due_days <= 0:
            problems.append("documents_due_days must be positive")
        by_name: dict[str, Transition] = {}
        for t in self.transitions:
            if t.name in by_name:
                problems.append(f"transition {t.name!r} is defined twice")
            by_name[t.name] = t
        if problems:
            raise PolicyError(
                f"The {self.scheme} policy version {self.version} is invalid: "
                + "; ".join(problems)
                + "."
            )
        object.__setattr__(self, "_by_name", by_name)

    # -- lifecycle --

    def transition(self, name: str) -> Transition:
        """Return the transition called ``name``; raise :class:`UnknownTransition` if none."""
        try:
            return self._by_name[name]
        except KeyError:
            raise UnknownTransition(lazy_gettext(
                "%(scheme)s has no step called “%(name)s”; the steps are: %(known)s.",
                scheme=self.scheme.short_label, name=name, known=LazyList(self._by_name),
            )) from None

    def transitions_from(self, status: CaseStatus | str) -> list[Transition]:
        """Return the transitions a case in ``status`` may take, in table order.

        A closed status gives an empty list: refused, withdrawn, lapsed and closed are final.
        """
        return [t for t in self.transitions if t.applies_from(status)]

    # -- eligibility --

    def favourable_consideration(self, facts: SubmissionFacts) -> bool:
        """True when the application is backed by a programme this policy favours."""
        return facts.programme is not None and facts.programme in self.favourable_programmes

    def check_submission(self, facts: SubmissionFacts, on: date) -> list[str]:
        """Return every reason the application cannot be submitted on ``on``; [] = eligible.

        Each reason is a full sentence for the caseworker (a lazy message: rendered in the
        reader's language when shown): the messages of :meth:`submission_grounds`.
        """
        return [ground.message for ground in self.submission_grounds(facts, on)]

    def submission_grounds(self, facts: SubmissionFacts, on: date) -> list[Ground]:
        """Every reason the application cannot be submitted on ``on``, each saying whether it
        is permanent (:class:`Ground`); [] = eligible.

        ``on`` is the Hong Kong submission date. Checks run in a fixed order (age,
        nationality, business plan, job offer, family background) so the list reads the same
        way every time. Raises :class:`PolicyError` if this version was not yet in force on
        ``on``: the caller should have picked the version with :func:`policy_for`.
        """
        if isinstance(on, datetime):
            raise TypeError("check_submission takes the Hong Kong date, e.g. hk_today().")
        if on < self.effective_from:
            # A caller's mistake (the version is chosen by policy_for), so not translated.
            raise PolicyError(
                f"{self.scheme.short_label} policy version {self.version} starts on "
                f"{self.effective_from.isoformat()}, after the submission date {on.isoformat()}."
            )
        scheme, name = self.scheme.label, self.scheme.short_label
        grounds: list[Ground] = []
        grounds.extend(self._age_grounds(facts.date_of_birth, on))
        grounds.extend(self._nationality_grounds(facts.nationality))
        reasons: list[str] = []
        if self.requires_business_plan and _blank(facts.business_plan):
            reasons.append(lazy_gettext("A business plan is required for the %(scheme)s.",
                                        scheme=scheme))
        if self.requires_job_offer:
            reasons.extend(self._job_offer_reasons(facts))
        # Remediable, though about the applicant's family: the case records them as two
        # boxes ticked or not, and an unticked box cannot tell "no" from "not yet answered".
        if self.requires_hk_parent_and_emigration:
            if not facts.has_hk_parent:
                reasons.append(lazy_gettext(
                    "%(scheme)s requires a parent who is a Chinese Hong Kong permanent "
                    "resident.", scheme=name))
            if not facts.emigrated_overseas:
                reasons.append(lazy_gettext(
                    "%(scheme)s requires the applicant to have emigrated overseas.",
                    scheme=name))
        return grounds + [Ground(reason) for reason in reasons]

    def _age_grounds(self, dob: date | None, on: date) -> list[Ground]:
        """An age outside the limits on the (fixed) submission date is permanent; a date of
        birth missing or after the submission date is a record to complete or correct."""
        if self.min_age is None and self.max_age is None:
            return []
        limits = {"scheme": self.scheme.short_label, "min_age": self.min_age,
                  "max_age": self.max_age}
        bounded = self.min_age is not None and self.max_age is not None
        if dob is None:
            if bounded:
                return [Ground(lazy_gettext("The applicant's date of birth is missing; "
                                            "%(scheme)s requires %(min_age)d to %(max_age)d.",
                                            **limits))]
            if self.min_age is not None:
                return [Ground(lazy_gettext("The applicant's date of birth is missing; "
                                            "%(scheme)s requires %(min_age)d or over.",
                                            **limits))]
            return [Ground(lazy_gettext("The applicant's date of birth is missing; %(scheme)s "
                                        "requires %(max_age)d or under.", **limits))]
        if dob > on:
            return [Ground(lazy_gettext("The date of birth %(dob)s is after the submission "
                                        "date %(on)s.", dob=LazyDate(dob), on=LazyDate(on)))]
        age = age_on(dob, on)
        too_young = self.min_age is not None and age < self.min_age
        too_old = self.max_age is not None and age > self.max_age
        if not (too_young or too_old):
            return []
        fixed = {"scheme": self.scheme.value, "min_age": self.min_age, "max_age": self.max_age}
        if bounded and too_old:
            crossed = birthday(dob, self.max_age + 1)  # type: ignore[operator]
            return [Ground.fixed("above_age_range", **fixed, age=self.max_age + 1,
                                 birthday=crossed.isoformat())]
        if bounded:
            return [Ground.fixed("below_age_range", **fixed, age=age,
                                 birthday=birthday(dob, self.min_age).isoformat())]  # type: ignore[arg-type]
        if too_young:
            return [Ground.fixed("below_min_age", scheme=self.scheme.value,
                                 min_age=self.min_age, age=age, on=on.isoformat())]
        return [Ground.fixed("above_max_age", scheme=self.scheme.value, max_age=self.max_age,
                             age=age, on=on.isoformat())]

    def _nationality_grounds(self, nationality: str | None) -> list[Ground]:
        """An excluded nationality is permanent; a nationality not entered is remediable."""
        if not self.excluded_nationalities:
            return []
        if _blank(nationality):
            return [Ground(lazy_gettext("The applicant's nationality is missing; it decides "
                                        "whether they may apply under the %(scheme)s.",
                                        scheme=self.scheme.label))]
        code = nationality.strip().upper()  # type: ignore[union-attr]  # checked by _blank
        if code not in self.excluded_nationalities:
            return []
        return [Ground.fixed("excluded_nationality", code=code, scheme=self.scheme.value,
                             effective_from=self.effective_from.isoformat())]

    def _job_offer_reasons(self, facts: SubmissionFacts) -> list[str]:
        missing = [
            label
            for label, blank in (
                (_JOB_OFFER_PARTS["employer"], _blank(facts.job_employer)),
                (_JOB_OFFER_PARTS["post"], _blank(facts.job_post)),
                (_JOB_OFFER_PARTS["salary"], facts.job_salary is None),
                (_JOB_OFFER_PARTS["relevance"], _blank(facts.job_relevance)),
                (_JOB_OFFER_PARTS["local"], _blank(facts.job_local_unavailability)),
            )
            if blank
        ]
        reasons = []
        if missing:
            reasons.append(lazy_gettext(
                "%(scheme)s requires a confirmed job offer; missing: %(missing)s.",
                scheme=self.scheme.short_label, missing=LazyList(missing)))
        if facts.job_salary is not None and facts.job_salary <= 0:
            reasons.append(lazy_gettext("The offered salary must be more than zero."))
        return reasons


# The parts of a job offer a scheme may find missing, as the list after "missing:" names them.
_JOB_OFFER_PARTS = {
    "employer": lazy_gettext("employer"),
    "post": lazy_gettext("post"),
    "salary": lazy_gettext("salary"),
    "relevance": lazy_gettext("relevance to qualifications or experience"),
    "local": lazy_gettext("why it cannot readily be filled locally"),
}

# --- Registry -----------------------------------------------------------------------------------

# A registry maps a scheme to its versions, oldest first. Values are tuples, so
# ``dict(POLICIES)`` is an independent copy a test can register into.
PolicyRegistry = MutableMapping[Scheme, tuple[SchemePolicy, ...]]


def register(policy: SchemePolicy, registry: PolicyRegistry) -> None:
    """Add ``policy`` as a version of its scheme in ``registry`` (in place).

    Raises :class:`PolicyError` if the scheme already has a version with the same
    ``effective_from`` or the same ``version`` label: two versions in force from the same day
    would make the choice of rules for a case ambiguous.
    """
    existing = registry.get(policy.scheme, ())
    for other in existing:
        if other.effective_from == policy.effective_from or other.version == policy.version:
            raise PolicyError(
                f"{policy.scheme.short_label} already has policy version {other.version} "
                f"in force from {other.effective_from.isoformat()}."
            )
    registry[policy.scheme] = tuple(sorted((*existing, policy), key=lambda p: p.effective_from))


def policy_for(
    scheme: Scheme | str, on: date, registry: Mapping[Scheme, Iterable[SchemePolicy]] | None = None
) -> SchemePolicy:
    """Return the version of ``scheme``'s policy in force on ``on`` (a Hong Kong date).

    That is the version with the latest ``effective_from`` not after ``on``. ``registry``
    defaults to :data:`POLICIES`. Raises :class:`PolicyError` (in words) for an unknown scheme
    code and :class:`NoPolicyInForce` when no version had started by ``on``.
    """
    if isinstance(on, datetime):
        raise TypeError("policy_for takes the Hong Kong date, e.g. hk_today().")
    try:
        scheme = Scheme(scheme)
    except ValueError:
        raise PolicyError(lazy_gettext("There is no scheme with the code “%(code)s”.",
                                       code=scheme)) from None
    versions = list((POLICIES if registry is None else registry).get(scheme, ()))
    in_force = [p for p in versions if p.effective_from <= on]
    if not in_force:
        if versions:
            earliest = min(p.effective_from for p in versions)
            raise NoPolicyInForce(lazy_gettext(
                "No %(scheme)s policy was in force on %(on)s; the earliest version starts on "
                "%(earliest)s.", scheme=scheme.short_label, on=LazyDate(on),
                earliest=LazyDate(earliest)))
        raise NoPolicyInForce(lazy_gettext("No %(scheme)s policy has been defined.",
                                           scheme=scheme.short_label))
    return max(in_force, key=lambda p: p.effective_from)


# --- The seed's policies ------------------------------------------------------------------------

# The seed page carries no dates. 28 June 2006 (the launch of QMAS, the oldest of the four
# schemes as they are described there) is taken as the baseline from which the seed's rules are
# in force for every scheme, so any realistic submission date finds a version.
SEED_EFFECTIVE_FROM = date(2006, 6, 28)
_SEED_VERSION = "2006-06-28"

_QMAS = SchemePolicy(
    scheme=Scheme.QMAS,
    version=_SEED_VERSION,
    effective_from=SEED_EFFECTIVE_FROM,
    has_quota=True,
    min_age=18,
    # Seed: "allowed to stay for initially 12 months and can extend their stay after securing
    # a job offer in the first year".
    initial_stay_months=12,
    job_offer_needed_to_extend=True,
    documents=QMAS_DOCUMENTS,
    transitions=_lifecycle(quota_hold=True),
)

_GEP_ENT = SchemePolicy(
    scheme=Scheme.GEP_ENT,
    version=_SEED_VERSION,
    effective_from=SEED_EFFECTIVE_FROM,
    # Seed: "this entry arrangement does not apply to nationals of Laos and Vietnam".
    excluded_nationalities=frozenset({"LA", "VN"}),
    requires_business_plan=True,
    favourable_programmes=frozenset(GovernmentProgramme),
    # The seed gives no stay length for the GEP schemes; 24 months is the assumed default
    # (Hong Kong's usual initial GEP stay) until a dated version says otherwise.
    initial_stay_months=24,
    documents=GEP_ENT_DOCUMENTS,
    transitions=_lifecycle(quota_hold=False),
)

_GEP_PRO = dataclasses.replace(
    _GEP_ENT,
    scheme=Scheme.GEP_PRO,
    excluded_nationalities=frozenset(),
    requires_business_plan=False,
    favourable_programmes=frozenset(),
    # Seed: "a confirmed offer of employment relevant to his academic qualifications or work
    # experience that cannot be readily taken up by the local work force".
    requires_job_offer=True,
    documents=GEP_PRO_DOCUMENTS,
)

_ASSG = SchemePolicy(
    scheme=Scheme.ASSG,
    version=_SEED_VERSION,
    effective_from=SEED_EFFECTIVE_FROM,
    # Seed: "aged 18 - 40", read inclusively; "no quota"; "not required to have secured an
    # offer of employment before entry" (so none is demanded to extend either).
    min_age=18,
    max_age=40,
    requires_hk_parent_and_emigration=True,
    # Not in the seed: 24 months assumed, as for the GEP schemes.
    initial_stay_months=24,
    documents=ASSG_DOCUMENTS,
    transitions=_lifecycle(quota_hold=False),
)

POLICIES: dict[Scheme, tuple[SchemePolicy, ...]] = {}
for _policy in (_QMAS, _GEP_ENT, _GEP_PRO, _ASSG):
    register(_policy, POLICIES)
del _policy


# Every step's label by its name (the steps are named alike in every scheme's lifecycle), for
# records that keep only the name (a quota place given back).
_STEP_LABELS = {t.name: t.label for t in _lifecycle(quota_hold=True)}


def step_label(name: str) -> str:
    """The label of the step called ``name``, in the reader's language (the name itself for
    a step no lifecycle has)."""
    return str(_STEP_LABELS.get(name, name))
