"""Duplicates: the same person in another case, found by normalised identity keys.

Three rules say two records may be one person: the same passport number with the same
nationality; the same HKID number; the same family name, given names and date of birth. The
keys are normalised once, when the services write a person (``identity_keys``), and kept in
indexed columns of ``applicants`` and ``dependants``, so a lookup is one index probe per rule
(a UNION of per-key selects), at any number of cases.

``find_matches`` says who matched in which other case and by which rule; the services refuse
to save a match unless the caseworker confirms with a reason (``DuplicatesFound``), and the
QMAS approval refuses a second quota place for the same person (``place_holder``).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import Select, literal, select, union_all

from backoffice.cases.guards import CaseError
from backoffice.cases.models import Applicant, Case, Dependant, search_text
from backoffice.cases.schemes import CaseStatus, Scheme
from backoffice.cases.words import LazyList, lazy_gettext
from backoffice.core.identity import mask_hkid, mask_passport, normalise_hkid
from backoffice.extensions import db

PASSPORT_KEY_LENGTH = 40  # the length of passport_key columns
NAME_KEY_LENGTH = 320  # the length of name_key columns
DUPLICATE_REASON_LENGTH = 1000  # the most characters the reason for saving anyway may have
# The most matches a form lists: past a handful the caseworker searches instead.
MATCH_LIMIT = 20

# The rules, in the order a match names them.
PASSPORT, HKID, NAME = "passport", "hkid", "name"
RULES = (PASSPORT, HKID, NAME)
APPLICANT = "applicant"  # who matched, besides a dependant's relation (spouse, child)


# Hyphen-minus, hyphen, non-breaking hyphen, figure dash, en dash, minus sign (NFKC has already
# made the full-width hyphen-minus ASCII).
_HYPHENS = frozenset("-\u2010\u2011\u2012\u2013\u2212")


def _nfkc(text: str | None) -> str:
    return unicodedata.normalize("NFKC", text or "")


def passport_key(number: str | None) -> str:
    """A passport number as matching compares it: NFKC (full-width letters and digits become
    ASCII), spaces and hyphens (ASCII, Unicode and full-width ones) removed, upper case:
    ' ab 123-45' and its full-width form both give 'AB12345'."""
    text = "".join(_nfkc(number).split())
    return "".join(ch for ch in text if ch not in _HYPHENS).upper()[:PASSPORT_KEY_LENGTH]


def name_key(family_name: str | None, given_names: str | None) -> str:
    """Family name and given names as matching compares them: NFKC, case folded, runs of
    space made one. The two parts stay apart ('|'), so 'Chan|Mei Ling' is not 'Chan Mei|Ling'.
    Cut to its column, as ``search_text`` is: case folding can lengthen a name."""
    def part(text: str | None) -> str:
        return " ".join(_nfkc(text).casefold().split())
    return f"{part(family_name)}|{part(given_names)}"[:NAME_KEY_LENGTH]


def hkid_key(hkid: str | None) -> str | None:
    """An HKID number in its canonical form (``normalise_hkid``), the form it is stored in;
    a value that is not one (a legacy row) as it is, upper-cased without spaces."""
    if not hkid:
        return None
    try:
        return normalise_hkid(hkid)
    except ValueError:
        return "".join(hkid.split()).upper()


def identity_keys(person) -> dict[str, str]:
    """The lookup columns derived from a person's identity (anything with the identity
    fields), for whatever writes an applicant or dependant row: the duplicate rules' keys and
    the search's name text."""
    return {"passport_key": passport_key(person.passport_number),
            "name_key": name_key(person.family_name, person.given_names),
            "name_search": search_text(person.family_name, person.given_names,
                                       person.chinese_name)}


@dataclass(frozen=True)
class Identity:
    """What the rules compare of one person."""

    family_name: str
    given_names: str
    date_of_birth: date | None
    nationality: str
    passport_number: str
    hkid: str | None = None

    @classmethod
    def of(cls, data: object) -> Identity:
        """From anything with the identity fields (IdentityData, an Applicant, a Dependant)."""
        return cls(data.family_name, data.given_names, data.date_of_birth, data.nationality,
                   data.passport_number, data.hkid)

    def keys(self) -> dict[str, object]:
        """Each rule's key (None: the rule cannot match, e.g. no HKID)."""
        return {PASSPORT: (passport_key(self.passport_number), self.nationality)
                if self.passport_number else None,
                HKID: hkid_key(self.hkid),
                NAME: (name_key(self.family_name, self.given_names), self.date_of_birth)
                if self.family_name and self.date_of_birth else None}


@dataclass
class Match:
    """A person in another case who may be the same: the case (its reference, status and
    scheme), who in it (the applicant, a spouse, a child), and which rules matched."""

    case_id: int
    reference: str
    status: CaseStatus
    scheme: Scheme
    who: str  # APPLICANT, or a dependant's relation ("spouse", "child")
    family_name: str
    given_names: str
    passport_number: str
    hkid: str | None
    rules: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return f"{self.family_name.upper()}, {self.given_names}"

    @property
    def masked_passport(self) -> str:
        return mask_passport(self.passport_number)

    @property
    def masked_hkid(self) -> str:
        return mask_hkid(self.hkid)

    @property
    def who_label(self) -> str:
        return _WHO_LABELS.get(self.who, self.who)

    @property
    def who_title(self) -> str:
        """Who, as a table cell names them ("Spouse"); ``who_label`` is for a sentence."""
        return _WHO_TITLES.get(self.who, self.who)

    @property
    def rules_label(self) -> LazyList:
        return LazyList(_RULE_LABELS[rule] for rule in self.rules)

    def stored(self) -> dict:
        """The match as the history keeps it (``events``: ``duplicates_accepted``)."""
        return {"case_id": self.case_id, "reference": self.reference, "who": self.who,
                "rules": list(self.rules)}


_WHO_LABELS = {APPLICANT: lazy_gettext("the applicant"), "spouse": lazy_gettext("the spouse"),
               "child": lazy_gettext("a child")}
_WHO_TITLES = {APPLICANT: lazy_gettext("Applicant"), "spouse": lazy_gettext("Spouse"),
               "child": lazy_gettext("Child")}
_RULE_LABELS = {PASSPORT: lazy_gettext("same passport number and nationality"),
                HKID: lazy_gettext("same HKID number"),
                NAME: lazy_gettext("same name and date of birth")}


def rule_label(rule: str) -> str:
    return _RULE_LABELS.get(rule, rule)


def who_label(who: str) -> str:
    return _WHO_LABELS.get(who, who)


def _person_columns(person, who):
    return (Case.id.label("case_id"), Case.reference.label("reference"),
            Case.status.label("status"), Case.scheme.label("scheme"), who.label("who"),
            person.family_name.label("family_name"), person.given_names.label("given_names"),
            person.passport_number.label("passport_number"), person.hkid.label("hkid"))


def _applicant_rows(rule: str, condition, exclude_case_id: int | None) -> Select:
    query = (select(*_person_columns(Applicant, literal(APPLICANT)), literal(rule).label("rule"))
             .join(Case, Case.applicant_id == Applicant.id).where(condition))
    if exclude_case_id is not None:
        query = query.where(Case.id != exclude_case_id)
    return query


def _dependant_rows(rule: str, condition, exclude_case_id: int | None) -> Select:
    # Only current dependants: one removed from a case is no longer part of it.
    query = (select(*_person_columns(Dependant, Dependant.relation), literal(rule).label("rule"))
             .join(Case, Case.id == Dependant.case_id)
             .where(condition, Dependant.removed_at.is_(None)))
    if exclude_case_id is not None:
        query = query.where(Case.id != exclude_case_id)
    return query


def _conditions(person, keys: dict[str, object], rules: Iterable[str]) -> list[tuple[str, object]]:
    found = []
    for rule in rules:
        key = keys.get(rule)
        if key is None:
            continue
        if rule == PASSPORT:
            found.append((rule, (person.passport_key == key[0]) & (person.nationality == key[1])))
        elif rule == HKID:
            found.append((rule, person.hkid == key))
        else:
            found.append((rule, (person.name_key == key[0]) & (person.date_of_birth == key[1])))
    return found


def matches_statement(identity: Identity, exclude_case_id: int | None = None,
                      rules: Iterable[str] = RULES) -> Select | None:
    """The select behind :func:`find_matches` (None when no rule has a key to look up).

    One select per rule and table, each on its own index, joined by UNION ALL: an OR across
    the keys would leave the planner a scan."""
    keys = identity.keys()
    rules = tuple(rules)
    parts = [_applicant_rows(rule, cond, exclude_case_id)
             for rule, cond in _conditions(Applicant, keys, rules)]
    parts += [_dependant_rows(rule, cond, exclude_case_id)
              for rule, cond in _conditions(Dependant, keys, rules)]
    if not parts:
        return None
    union = union_all(*parts).subquery()
    return select(union).order_by(union.c.case_id.desc()).limit(MATCH_LIMIT * len(RULES))


def find_matches(identity: Identity, exclude_case_id: int | None = None,
                 rules: Iterable[str] = RULES) -> list[Match]:
    """The persons (applicants and current dependants) of cases other than
    ``exclude_case_id`` whom ``identity`` matches by any of ``rules``, one entry per person
    with every rule that matched, newest case first (at most :data:`MATCH_LIMIT`)."""
    statement = matches_statement(identity, exclude_case_id, rules)
    if statement is None:
        return []
    rows = db.session.execute(statement)
    matches: dict[tuple, Match] = {}
    for row in rows:
        person = (row.case_id, row.who, row.passport_number, row.family_name, row.given_names)
        match = matches.get(person)
        if match is None:
            match = matches[person] = Match(
                row.case_id, row.reference, CaseStatus(row.status), Scheme(row.scheme),
                str(row.who), row.family_name, row.given_names, row.passport_number, row.hkid)
        if row.rule not in match.rules:
            match.rules.append(row.rule)
    for match in matches.values():
        match.rules.sort(key=RULES.index)
    return list(matches.values())[:MATCH_LIMIT]


def changed_rules(before: Identity, after: Identity) -> tuple[str, ...]:
    """The rules whose key differs between two versions of a person: on an edit only these
    are checked again, so a match accepted before (or one that was there when the case was
    made) is not asked about again while the fields it rests on stay as they were."""
    old, new = before.keys(), after.keys()
    return tuple(rule for rule in RULES if new[rule] is not None and old[rule] != new[rule])


class DuplicatesFound(CaseError):
    """The person matches someone in another case and the caseworker has not confirmed
    saving anyway. ``matches`` are shown with the form so the caseworker can look first."""

    def __init__(self, matches: list[Match], message: object | None = None) -> None:
        super().__init__(message or lazy_gettext(
            "This person may already be in another case (see the matches below). Nothing was "
            "saved. Open the matches to check; to save anyway, tick the confirmation and give "
            "the reason."))
        self.matches = matches


class DuplicateReasonMissing(DuplicatesFound):
    """Saving anyway was confirmed without the reason, which the history must keep."""

    def __init__(self, matches: list[Match]) -> None:
        super().__init__(matches, lazy_gettext(
            "Give the reason for saving anyway (a different person, or a new application for "
            "the same person); it is recorded in the case history."))


def check_matches(identity: Identity, accept_reason: str | None, *,
                  exclude_case_id: int | None = None, rules: Iterable[str] = RULES
                  ) -> tuple[list[Match], str | None]:
    """The services' rule: refuse a person who matches someone in another case unless the
    caseworker confirmed (``accept_reason`` not None) with a reason. Returns the matches
    accepted (empty when there are none) and the reason, stripped."""
    matches = find_matches(identity, exclude_case_id, rules)
    if not matches:
        return [], None
    if accept_reason is None:
        raise DuplicatesFound(matches)
    reason = accept_reason.strip()
    if not reason:
        raise DuplicateReasonMissing(matches)
    if len(reason) > DUPLICATE_REASON_LENGTH:
        raise CaseError(lazy_gettext("Keep the reason for saving anyway to %(most)d characters.",
                                     most=DUPLICATE_REASON_LENGTH))
    return matches, reason


def accepted_detail(matches: list[Match]) -> dict:
    """The ``detail_data`` that records saving despite matches (with the reason on the
    event)."""
    return {"key": "duplicates_accepted", "matches": [m.stored() for m in matches]}


# --- One quota place per person ---------------------------------------------------------------

def place_holder(case: Case, holding: Iterable[CaseStatus]) -> Match | None:
    """Another case of the same scheme whose applicant is ``case``'s applicant by passport
    and nationality or by HKID, and whose status is one of ``holding`` (those that hold a
    quota place), or None. Name and date of birth alone do not count: two people can share
    them, and the refusal would bar one of them from the scheme."""
    applicant = case.applicant
    keys = Identity.of(applicant).keys()
    holding = tuple(holding)
    parts = [_applicant_rows(rule, cond, case.id).where(Case.scheme == case.scheme,
                                                         Case.status.in_(holding))
             for rule, cond in _conditions(Applicant, keys, (PASSPORT, HKID))]
    if not parts:
        return None
    union = union_all(*parts).subquery()
    row = db.session.execute(select(union).order_by(union.c.case_id).limit(1)).first()
    if row is None:
        return None
    return Match(row.case_id, row.reference, CaseStatus(row.status), Scheme(row.scheme),
                 APPLICANT, row.family_name, row.given_names, row.passport_number, row.hkid,
                 [row.rule])
