"""The header search: every case a user may view, found by its reference (or one it had
before a change of scheme), or by the name, passport, HKID, email or phone of its
applicant, or the name, passport or HKID of one of its dependants, each result saying why it
matched.

Each kind of match is its own small statement on one index (the references' unique keys,
the trigram indexes of ``name_search``, the passport, HKID, ``lower(email)`` and
``phone_key`` indexes), and the statements are joined by UNION ALL: one OR across the
applicants and dependants joined to the cases is read by PostgreSQL as a scan of all three
tables (docs/PERFORMANCE.md, "The header search"). Each branch stops after ``LIMIT + 1``
rows, so a common name costs what a rare one does; the page says when there were more.

Case notes are not searched here: they are searched on each case's page.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import (
    CompoundSelect,
    Integer,
    Row,
    Select,
    bindparam,
    cast,
    func,
    literal,
    null,
    select,
    union_all,
)

from backoffice.auth.models import User
from backoffice.cases.models import (
    Applicant,
    Case,
    Dependant,
    FormerReference,
    Relationship,
    person_name,
)
from backoffice.cases.queries import REFERENCE_RE, normalise
from backoffice.cases.words import lazy_gettext
from backoffice.core.db import read
from backoffice.core.i18n import LazyText
from backoffice.core.identity import normalise_hkid

LIMIT = 50  # the most cases one search shows; a longer list is refined, not paged
# A part of a name needs three characters: a trigram index finds nothing shorter without
# reading all of itself. Two are enough at the start of a word, where pg_trgm pads the word
# and so has trigrams to look up (``Terms.read``): many Hong Kong surnames are two letters
# (Ho, Ma, Ng) and many Chinese names two characters.
NAME_PART_LENGTH = 3  # a part of a name found anywhere in it
NAME_MIN_LENGTH = 2  # a whole family name, or the start of a Chinese name
PHONE_MIN_DIGITS = 6  # fewer digits would match a large part of every phone book
QUERY_MAX_LENGTH = 100

_PASSPORT_RE = re.compile(r"[A-Z0-9]{5,20}")
_PHONE_RE = re.compile(r"[0-9+()./ -]+")
# A typed NULL: PostgreSQL reads a bare NULL in a UNION's subquery as text.
_NO_DEPENDANT = cast(null(), Integer)


class Match:
    """The kinds of match, as the results name them (``Reason``)."""

    REFERENCE = "reference"
    FORMER_REFERENCE = "former_reference"  # the case's reference before a change of scheme
    APPLICANT_NAME = "applicant_name"
    APPLICANT_PASSPORT = "applicant_passport"
    APPLICANT_HKID = "applicant_hkid"
    EMAIL = "email"
    PHONE = "phone"
    DEPENDANT_NAME = "dependant_name"
    DEPENDANT_PASSPORT = "dependant_passport"
    DEPENDANT_HKID = "dependant_hkid"


# The order reasons are listed in when one case matched several ways.
_ORDER = [Match.REFERENCE, Match.FORMER_REFERENCE, Match.APPLICANT_PASSPORT,
          Match.APPLICANT_HKID, Match.EMAIL, Match.PHONE, Match.APPLICANT_NAME,
          Match.DEPENDANT_PASSPORT, Match.DEPENDANT_HKID, Match.DEPENDANT_NAME]

_APPLICANT_WORDS = {
    Match.REFERENCE: lazy_gettext("Reference"),
    Match.FORMER_REFERENCE: lazy_gettext("Former reference, before a change of scheme"),
    Match.APPLICANT_NAME: lazy_gettext("Applicant name"),
    Match.APPLICANT_PASSPORT: lazy_gettext("Applicant's passport"),
    Match.APPLICANT_HKID: lazy_gettext("Applicant's HKID"),
    Match.EMAIL: lazy_gettext("Email"),
    Match.PHONE: lazy_gettext("Phone"),
}

# Whole sentences per relation, so each language says "spouse of" its own way.
_DEPENDANT_WORDS = {
    (Match.DEPENDANT_NAME, Relationship.SPOUSE): lambda **values: lazy_gettext(
        "Name of spouse %(name)s (spouse of %(reference)s)", **values),
    (Match.DEPENDANT_NAME, Relationship.CHILD): lambda **values: lazy_gettext(
        "Name of child %(name)s (child of %(reference)s)", **values),
    (Match.DEPENDANT_PASSPORT, Relationship.SPOUSE): lambda **values: lazy_gettext(
        "Passport of spouse %(name)s (spouse of %(reference)s)", **values),
    (Match.DEPENDANT_PASSPORT, Relationship.CHILD): lambda **values: lazy_gettext(
        "Passport of child %(name)s (child of %(reference)s)", **values),
    (Match.DEPENDANT_HKID, Relationship.SPOUSE): lambda **values: lazy_gettext(
        "HKID of spouse %(name)s (spouse of %(reference)s)", **values),
    (Match.DEPENDANT_HKID, Relationship.CHILD): lambda **values: lazy_gettext(
        "HKID of child %(name)s (child of %(reference)s)", **values),
}


class SearchRefused(ValueError):
    """A query the search cannot run: the message says what to type instead."""

    def __init__(self, message: LazyText) -> None:
        super().__init__(str(message))
        self.message = message


def _has_cjk(text: str) -> bool:
    return any(unicodedata.east_asian_width(ch) == "W" and ch.isalpha() for ch in text)


def _like_escaped(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", r"\%").replace("_", r"\_")


@dataclass(frozen=True)
class Terms:
    """One query, read every way the search can use it; a field is None when the query
    cannot be one of those (a passport is never "a@b.c"), so that branch is not run."""

    text: str
    reference: str | None
    name_pattern: str | None
    passport: str | None
    hkid: str | None
    email: str | None
    phone_key: str | None

    @classmethod
    def read(cls, raw: str | None) -> Terms:
        """Read ``raw``; raise ``SearchRefused`` for a query too short or too long to run."""
        text = normalise(raw)
        if not text:
            raise SearchRefused(lazy_gettext(
                "Type what to search for: a reference, a name, a passport or HKID number, an "
                "email address or a phone number."))
        if len(text) > QUERY_MAX_LENGTH:
            raise SearchRefused(lazy_gettext(
                "Keep the search to %(most)d characters.", most=QUERY_MAX_LENGTH))
        compact = "".join(text.split()).upper()
        reference = compact if REFERENCE_RE.match(compact) else None
        try:
            hkid = normalise_hkid(compact)
        except ValueError:
            hkid = None
        email = compact.lower() if "@" in compact else None
        digits = "".join(ch for ch in compact if "0" <= ch <= "9")
        phone = (digits[::-1] if _PHONE_RE.fullmatch(text) and len(digits) >= PHONE_MIN_DIGITS
                 else None)
        passport = compact if _PASSPORT_RE.fullmatch(compact) else None
        # Names are matched against ``search_text`` (lower-cased, not case-folded), so the
        # query is lower-cased the same way: "STRASSE" would not find "straße" either way.
        name = text.lower()
        wants_name = (reference is None and email is None and len(name) >= NAME_MIN_LENGTH
                      and any(ch.isalpha() for ch in name))
        if not wants_name:
            name_pattern = None
        elif len(name) >= NAME_PART_LENGTH:
            name_pattern = f"%{_like_escaped(name)}%"
        elif _has_cjk(name):
            # Two Chinese characters: a Chinese name that starts with them (a surname and
            # the first given name, or a whole two-character name), which always follows a
            # space in ``search_text``.
            name_pattern = f"% {_like_escaped(name)}%"
        else:
            # Two letters: the family name, which ``search_text`` starts with.
            name_pattern = f"{_like_escaped(name)} %"
        terms = cls(text, reference, name_pattern, passport, hkid, email, phone)
        if not any((reference, name_pattern, passport, hkid, email, phone)):
            raise SearchRefused(lazy_gettext(
                "Type at least %(least)d letters of a name, or a whole reference, passport or "
                "HKID number, email address or phone number.", least=NAME_MIN_LENGTH))
        return terms

    def parameters(self) -> dict[str, str]:
        """The values the branches (``branches``) bind, for the kinds this query can be."""
        values = {"reference": self.reference, "passport": self.passport, "hkid": self.hkid,
                  "email": self.email, "name_pattern": self.name_pattern,
                  "phone_pattern": f"{self.phone_key}%" if self.phone_key else None}
        return {name: value for name, value in values.items() if value}


def _applicant_branch(kind: str, condition) -> Select:
    return (select(Case.id.label("case_id"), literal(kind).label("kind"),
                   _NO_DEPENDANT.label("dependant_id"))
            .select_from(Applicant).join(Case, Case.applicant_id == Applicant.id)
            .where(condition))


def _dependant_branch(kind: str, condition) -> Select:
    return (select(Dependant.case_id.label("case_id"), literal(kind).label("kind"),
                   Dependant.id.label("dependant_id"))
            .where(condition))


def _name_matches(id_column, name_column, name: str, *columns):
    """The rows whose name contains the pattern, as a materialised CTE: planned on its own,
    without the LIMIT the branch puts on it, PostgreSQL reads it through the trigram index
    (5-11 ms at a million rows, even for a name one row in six has). Planned with the LIMIT,
    a name it thinks common was read by a sequential scan that stops after 51 rows: fast
    when the guess is right, a scan of the whole table when it is not. The CTE is still
    read lazily, so the LIMIT stops the heap reads early."""
    return (select(id_column, *columns)
            .where(name_column.like(bindparam("name_pattern"), escape="\\"))
            .cte(name).prefix_with("MATERIALIZED"))


def branches(terms: Terms, limit: int = LIMIT) -> list[Select]:
    """One statement per kind of match the query can be, each on its own index. The values
    are bound parameters (``Terms.parameters``), so one query's statement serves every
    query of its shape (``statement``)."""
    found: list[Select] = []
    if terms.reference:
        found.append(select(Case.id.label("case_id"), literal(Match.REFERENCE).label("kind"),
                            _NO_DEPENDANT.label("dependant_id"))
                     .where(Case.reference == bindparam("reference")))
        found.append(select(FormerReference.case_id.label("case_id"),
                            literal(Match.FORMER_REFERENCE).label("kind"),
                            _NO_DEPENDANT.label("dependant_id"))
                     .where(FormerReference.reference == bindparam("reference")))
    if terms.passport:
        found.append(_applicant_branch(Match.APPLICANT_PASSPORT,
                                       Applicant.passport_number == bindparam("passport")))
        found.append(_dependant_branch(Match.DEPENDANT_PASSPORT,
                                       Dependant.passport_number == bindparam("passport")))
    if terms.hkid:
        found.append(_applicant_branch(Match.APPLICANT_HKID,
                                       Applicant.hkid == bindparam("hkid")))
        found.append(_dependant_branch(Match.DEPENDANT_HKID,
                                       Dependant.hkid == bindparam("hkid")))
    if terms.email:
        found.append(_applicant_branch(Match.EMAIL,
                                       func.lower(Applicant.email) == bindparam("email")))
    if terms.phone_key:
        found.append(_applicant_branch(
            Match.PHONE, Applicant.phone_key.like(bindparam("phone_pattern"))))
    if terms.name_pattern:
        applicants = _name_matches(Applicant.id, Applicant.name_search, "applicant_names")
        found.append(select(Case.id.label("case_id"),
                            literal(Match.APPLICANT_NAME).label("kind"),
                            _NO_DEPENDANT.label("dependant_id"))
                     .select_from(applicants).join(Case, Case.applicant_id == applicants.c.id))
        dependants = _name_matches(Dependant.id, Dependant.name_search, "dependant_names",
                                   Dependant.case_id)
        found.append(select(dependants.c.case_id, literal(Match.DEPENDANT_NAME).label("kind"),
                            dependants.c.id.label("dependant_id")))
    # Each branch in a subquery of its own: SQLite allows no LIMIT on a member of a UNION.
    return [select(*b.limit(limit + 1).subquery().c) for b in found]


# Built once per shape of query (which kinds of match it can be: a few dozen at most) and
# limit: building and keying the UNION of CTEs anew cost more than running it (0.8 of 1.4 ms).
_STATEMENTS: dict[tuple, CompoundSelect] = {}


def statement(terms: Terms, limit: int = LIMIT) -> tuple[CompoundSelect, dict[str, str]]:
    """The UNION ALL of ``terms``' branches, and the values of its parameters."""
    parameters = terms.parameters()
    key = (tuple(sorted(parameters)), limit)
    found = _STATEMENTS.get(key)
    if found is None:
        found = _STATEMENTS[key] = union_all(*branches(terms, limit))
    return found, parameters


@dataclass(frozen=True)
class FoundDependant:
    """What a reason says of a dependant found (read as columns, not as the ORM object)."""

    relation: Relationship
    full_name: str
    removed_at: datetime | None


@dataclass
class Reason:
    """Why a case matched: a kind of match and, for a dependant, which one."""

    kind: str
    dependant: FoundDependant | None = None
    reference: str = ""

    @property
    def words(self) -> str:
        if self.dependant is None:
            return str(_APPLICANT_WORDS[self.kind])
        words = _DEPENDANT_WORDS[(self.kind, self.dependant.relation)]
        return str(words(name=self.dependant.full_name, reference=self.reference))

    @property
    def removed(self) -> bool:
        """The dependant was taken off the case (still found: the person was on the file)."""
        return self.dependant is not None and self.dependant.removed_at is not None


@dataclass
class Result:
    case: Row  # the columns a result shows (``_CASE_COLUMNS``), not the ORM object
    reasons: list[Reason] = field(default_factory=list)


@dataclass
class Results:
    terms: Terms
    results: list[Result]
    more: bool  # more cases matched than are shown: the query should be refined


# What a result shows: columns, as the queues read them, rather than 50 cases, applicants and
# assignees built as ORM objects (which cost more than the search's SQL at a million cases).
_CASE_COLUMNS = (
    Case.id, Case.reference, Case.scheme, Case.status, Applicant.family_name,
    Applicant.given_names, Applicant.chinese_name, Applicant.passport_number, Applicant.hkid,
    User.full_name.label("assignee_name"),
)
# Built once, with the ids a bound list: a statement built per search is keyed anew each time.
_CASES_BY_ID = (select(*_CASE_COLUMNS).join(Applicant, Applicant.id == Case.applicant_id)
                .outerjoin(User, User.id == Case.assignee_id)
                .where(Case.id.in_(bindparam("ids", expanding=True))))


def _cases(ids: list[int]) -> dict[int, Row]:
    if not ids:
        return {}
    return {row.id: row for row in read(_CASES_BY_ID, {"ids": ids})}


_DEPENDANTS_BY_ID = (select(Dependant.id, Dependant.relation, Dependant.family_name,
                            Dependant.given_names, Dependant.chinese_name, Dependant.removed_at)
                     .where(Dependant.id.in_(bindparam("ids", expanding=True))))


def _dependants(ids: Iterable[int]) -> dict[int, FoundDependant]:
    ids = sorted(set(ids))
    if not ids:
        return {}
    return {row.id: FoundDependant(row.relation, person_name(row.family_name, row.given_names,
                                                             row.chinese_name), row.removed_at)
            for row in read(_DEPENDANTS_BY_ID, {"ids": ids})}


def search(user: User, raw: str | None, limit: int = LIMIT) -> Results:
    """The cases ``user`` may view that match ``raw``, newest first, at most ``limit``, each
    with every reason it matched. Raises ``SearchRefused`` for a query it cannot run."""
    terms = Terms.read(raw)
    if not user.can_work_cases():  # who may view a case: Case.can_view (any case, today)
        return Results(terms, [], more=False)
    union, parameters = statement(terms, limit)
    hits = read(union, parameters).all()
    reasons: dict[int, list[tuple[str, int | None]]] = {}
    for case_id, kind, dependant_id in hits:
        found = reasons.setdefault(case_id, [])
        if (kind, dependant_id) not in found:
            found.append((kind, dependant_id))
    case_ids = sorted(reasons, reverse=True)
    # More cases than shown, or a branch stopped at its limit and may have left some out.
    more = len(case_ids) > limit or _any_branch_full(hits, limit)
    case_ids = case_ids[:limit]
    cases = _cases(case_ids)
    dependants = _dependants(d for cid in case_ids for _, d in reasons[cid] if d)
    results = []
    for case_id in case_ids:
        case = cases[case_id]
        listed = sorted(reasons[case_id], key=lambda r: (_ORDER.index(r[0]), r[1] or 0))
        results.append(Result(case, [Reason(kind, dependants.get(d) if d else None,
                                            case.reference) for kind, d in listed]))
    return Results(terms, results, more)


def _any_branch_full(hits: list, limit: int) -> bool:
    counts: dict[str, int] = {}
    for _case_id, kind, _dependant_id in hits:
        counts[kind] = counts.get(kind, 0) + 1
    return any(count > limit for count in counts.values())
