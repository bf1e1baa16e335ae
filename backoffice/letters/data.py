"""What a letter says, read off its case once: plain JSON values, kept with the letter.

:func:`letter_data` gathers everything a letter of a kind tells the applicant (the reference,
the scheme, the names, the dates, the decision and what follows from it, the office that
writes) into a dict of strings, ISO dates, ints, booleans and lists. The letter is rendered
from that dict alone (``render.render_letter``), so the case keeps it beside the PDF and the
same letter can be made again later without the database, whatever has happened to the case
or the office's settings since.

Facts are stored as values (months, dates, codes) and worded by each language's template;
the words that live elsewhere in the code (a scheme's name, a ground of refusal, a document's
label, all lazy messages) are stored already worded, once per language
(``{"en": ..., "zh_Hant_HK": ...}``), so a template never looks anything up.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

from flask import current_app
from sqlalchemy import select

from backoffice.cases.eligibility import CHILD_AGE_LIMIT
from backoffice.cases.models import Case, CaseEvent, Dependant, EventKind
from backoffice.cases.schemes import describe_ground
from backoffice.core.dates import hk_today
from backoffice.core.i18n import LANGUAGES, force_language
from backoffice.extensions import db
from backoffice.letters.kinds import LetterKind

__all__ = ["DATA_FORMAT", "LetterDataError", "in_languages", "letter_data"]

# The shape of the dict below; a renderer that meets a stored letter of another shape knows.
DATA_FORMAT = 1

# The steps of an approval letter, in order, as codes the templates word (``next_steps``).
_VISA, _ENTRY, _IDENTITY_CARD, _JOB_OFFER, _EXTENSION = (
    "visa", "entry", "identity_card", "job_offer", "extension")


class LetterDataError(ValueError):
    """The case cannot have this letter (yet): a caller's mistake, e.g. an approval letter
    for a case never approved, or a request for documents that names none. Not shown to the
    applicant or a caseworker, so in plain English."""


def in_languages(message: object) -> dict[str, str]:
    """``message`` (a lazy message, or plain text) worded in each language the office
    writes: ``{"en": ..., "zh_Hant_HK": ...}``. Plain text is the same in both."""
    worded = {}
    for code in LANGUAGES:
        with force_language(code):
            worded[code] = str(message)
    return worded


def letter_data(case: Case, kind: LetterKind, *, on: date,
                extra: Mapping[str, object] | None = None) -> dict:
    """Everything the letter of ``kind`` to ``case``'s applicant says, dated ``on`` (the
    Hong Kong date it is written), as JSON values only.

    Every letter has: ``format``, ``kind``, ``reference``, ``scheme`` (its code and its full
    and short names in each language), ``applicant`` (names in Latin script, the Chinese
    name or None, the email, the language they are written to in), ``letter_date``,
    ``submitted_on``, ``step_date`` (the day of the step the letter tells: received,
    approved, refused, granted; None for a request for documents) and ``office`` (the
    letterhead and signature from the config, copied). Then by kind:

    - approval: ``stay`` (the stay terms of the policy the case was judged by),
      ``next_steps`` (codes, in order) and ``dependants`` (those approved with the case);
    - refusal: ``grounds`` (each permanent ground's key and its words in each language, []
      when the refusal was a caseworker's judgement) and ``reason`` (in each language: the
      reason as the caseworker typed it, the same in both, or ``extra["reason"]`` when the
      caller words it for the applicant, as one text or one per language);
    - extension_granted: ``months``, ``stay_ends_on`` (the new end), ``previous_stay_ends_on``
      and ``extension_window_days`` (when a further extension may be applied for);
    - extension_refused: ``stay_ends_on`` (the current stay's last day), ``requested_on``,
      ``reason`` (as for a refusal);
    - documents_request: ``items`` and ``due_on`` from ``extra``: ``extra["items"]`` is a
      list of ``{"label": ..., "hint": ... | None, "person": name | None}`` where a label
      or hint is a lazy message, plain text, or already ``{"en": ..., "zh_Hant_HK": ...}``;
      ``extra["due_on"]`` a date (or its ISO form).

    Reads the case and its history; changes nothing. Raises :class:`LetterDataError` when
    the case has not taken the step the letter tells, or ``extra`` lacks what the kind needs.
    """
    kind = LetterKind(kind)
    extra = dict(extra or {})
    applicant = case.applicant
    data: dict = {
        "format": DATA_FORMAT,
        "kind": kind.value,
        "reference": case.reference,
        "scheme": {"code": case.scheme.value, "name": in_languages(case.scheme.label),
                   "short_name": in_languages(case.scheme.short_label)},
        "applicant": {"family_name": applicant.family_name,
                      "given_names": applicant.given_names,
                      "name": _latin_name(applicant.family_name, applicant.given_names),
                      "chinese_name": applicant.chinese_name or None,
                      "email": applicant.email or None,
                      "language": applicant.language},
        "letter_date": on.isoformat(),
        "submitted_on": case.submitted_on.isoformat(),
        "step_date": None,
        "office": office_block(),
    }
    data |= _BY_KIND[kind](case, extra)
    return data


def office_block() -> dict:
    """The letterhead, contact and signature of the office, from the config (a copy kept with
    each letter)."""
    config = current_app.config
    return {
        "name": {"en": config["OFFICE_NAME_EN"], "zh_Hant_HK": config["OFFICE_NAME_ZH"]},
        "address": {"en": list(config["OFFICE_ADDRESS_EN"]),
                    "zh_Hant_HK": list(config["OFFICE_ADDRESS_ZH"])},
        "phone": config["OFFICE_PHONE"],
        "email": config["OFFICE_EMAIL"],
        "signature": {"en": config["OFFICE_SIGNATURE_EN"],
                      "zh_Hant_HK": config["OFFICE_SIGNATURE_ZH"]},
    }


def _latin_name(family_name: str, given_names: str) -> str:
    # The family name in capitals first, as Hong Kong writes a name on a letter or a visa.
    return f"{family_name.upper()} {given_names}".strip()


def _last_step(case: Case, kind: LetterKind) -> CaseEvent:
    """The latest event of a step the letter tells; LetterDataError when there is none."""
    event = db.session.scalar(
        select(CaseEvent)
        .where(CaseEvent.case_id == case.id, CaseEvent.kind == EventKind.TRANSITION,
               CaseEvent.transition.in_(kind.steps))
        .order_by(CaseEvent.id.desc()).limit(1))
    if event is None:
        raise LetterDataError(f"Case {case.reference} has taken none of the steps "
                              f"{', '.join(kind.steps)}, so it has no {kind.value} letter.")
    return event


def _step_date(event: CaseEvent) -> str:
    """The day the step happened: the date given for it, or the day it was recorded."""
    return (event.occurred_on or hk_today(event.at)).isoformat()


def _details(event: CaseEvent, key: str) -> dict:
    """What the step said of itself under ``key`` (one part of a step that said several
    things), or {}."""
    said = event.detail_data if isinstance(event.detail_data, dict) else {}
    parts = said.get("parts", []) if said.get("key") == "several" else [said]
    return next((part for part in parts if isinstance(part, dict) and part.get("key") == key),
                {})


def _person(person: Dependant) -> dict:
    return {"relation": person.relation.value, "family_name": person.family_name,
            "given_names": person.given_names,
            "name": _latin_name(person.family_name, person.given_names),
            "chinese_name": person.chinese_name or None,
            "date_of_birth": person.date_of_birth.isoformat()}


# --- Each kind's part ---------------------------------------------------------------------


def _acknowledgement(case: Case, _extra: dict) -> dict:
    # Received on its submission date (the step is not dated: it happens on that day).
    return {"step_date": case.submitted_on.isoformat()}


def _approval(case: Case, _extra: dict) -> dict:
    event = _last_step(case, LetterKind.APPROVAL)
    policy = case.policy
    # The terms of the version the case was judged by (a stay already started keeps its own
    # values on the case, but an approval comes before any arrival).
    stay = {"initial_months": policy.initial_stay_months,
            "extension_months": policy.extension_months,
            "extension_window_days": policy.extension_window_days,
            "job_offer_needed_to_extend": policy.job_offer_needed_to_extend,
            "quota": policy.has_quota,
            "child_age_limit": CHILD_AGE_LIMIT}
    steps = [_VISA, _ENTRY, _IDENTITY_CARD]
    if policy.job_offer_needed_to_extend:
        steps.append(_JOB_OFFER)
    steps.append(_EXTENSION)
    return {"step_date": _step_date(event), "stay": stay, "next_steps": steps,
            "dependants": [_person(d) for d in case.active_dependants]}


def _refusal(case: Case, extra: dict) -> dict:
    event = _last_step(case, LetterKind.REFUSAL)
    grounds = [{"key": ground.get("key"), "text": in_languages(describe_ground(ground))}
               for ground in _details(event, "refused_ineligible").get("grounds", [])]
    return {"step_date": _step_date(event), "grounds": grounds,
            "reason": _reason(event, extra)}


def _extension_granted(case: Case, _extra: dict) -> dict:
    event = _last_step(case, LetterKind.EXTENSION_GRANTED)
    said = _details(event, "stay_extended")
    # An older event says only the new end: the months are then the stay's extension length.
    months = said.get("months", case.stay_extension_months)
    return {"step_date": _step_date(event), "months": months,
            "stay_ends_on": case.stay_ends_on.isoformat(),
            "previous_stay_ends_on": said.get("was"),
            "extension_window_days": case.extension_window_days}


def _extension_refused(case: Case, extra: dict) -> dict:
    event = _last_step(case, LetterKind.EXTENSION_REFUSED)
    return {"step_date": _step_date(event), "stay_ends_on": case.stay_ends_on.isoformat(),
            "requested_on": (case.extension_requested_on.isoformat()
                             if case.extension_requested_on else None),
            "reason": _reason(event, extra)}


def _reason(event: CaseEvent, extra: dict) -> dict[str, str] | None:
    """The reason for a refusal in each language: the caller's (worded for the applicant,
    one text or one per language), else the caseworker's as typed (the same in both)."""
    given = extra.get("reason")
    if isinstance(given, str):
        given = given.strip()
    reason = given or event.reason
    return _worded(reason) if reason else None


def _documents_request(case: Case, extra: dict) -> dict:
    items = list(extra.get("items") or [])
    if not items:
        raise LetterDataError("A request for documents needs extra['items'], the documents "
                              "asked for.")
    due_on = extra.get("due_on")
    if isinstance(due_on, str):
        due_on = date.fromisoformat(due_on)
    if not isinstance(due_on, date):
        raise LetterDataError("A request for documents needs extra['due_on'], the date they "
                              "are due.")
    return {"items": [_item(item) for item in items], "due_on": due_on.isoformat()}


def _item(item: Mapping[str, object]) -> dict:
    if "label" not in item:
        raise LetterDataError(f"A document asked for needs a label: {dict(item)!r}.")
    hint = item.get("hint")
    person = item.get("person")
    return {"label": _worded(item["label"]),
            "hint": _worded(hint) if hint else None,
            "person": str(person) if person else None}


def _worded(value: object) -> dict[str, str]:
    """A label already worded per language, or a message to word now."""
    if isinstance(value, Mapping):
        missing = [code for code in LANGUAGES if not value.get(code)]
        if missing:
            raise LetterDataError(f"{dict(value)!r} has no words in {', '.join(missing)}.")
        return {code: str(value[code]) for code in LANGUAGES}
    return in_languages(value)


_BY_KIND = {
    LetterKind.ACKNOWLEDGEMENT: _acknowledgement,
    LetterKind.DOCUMENTS_REQUEST: _documents_request,
    LetterKind.APPROVAL: _approval,
    LetterKind.REFUSAL: _refusal,
    LetterKind.EXTENSION_GRANTED: _extension_granted,
    LetterKind.EXTENSION_REFUSED: _extension_refused,
}
