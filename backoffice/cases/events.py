"""The one writer of a case's append-only history (``case_events``), and its one reader in
words.

What the system says about an event is stored as a message key and its values in
``detail_data`` (e.g. ``{"key": "fields_changed", "changes": [{"field": "phone", "from":
None, "to": "+852 5555 0000"}]}``), never as a sentence, so :func:`describe_event` says it
in the reader's language whenever the history is shown. ``detail`` keeps words as they were
written: an older event's English.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date, datetime
from decimal import Decimal
from enum import Enum

from sqlalchemy import Select, literal

from backoffice.auth.models import User
from backoffice.cases import bp, duplicates
from backoffice.cases.models import CaseEvent, EventKind
from backoffice.cases.schemes import (
    GovernmentProgramme,
    Scheme,
    describe_ground,
    requirement_label,
    step_label,
)
from backoffice.cases.words import (
    LazyCountry,
    LazyDate,
    LazyList,
    LazyNumber,
    Sentences,
    lazy_gettext,
    lazy_ngettext,
)
from backoffice.core.dates import utcnow
from backoffice.core.db import UTCDateTime
from backoffice.core.i18n import DEFAULT_LANGUAGE, LANGUAGES, current_language
from backoffice.core.identity import mask_hkid, mask_passport
from backoffice.extensions import db


def record(case_id: int, actor: User | None, kind: EventKind, *, at: datetime | None = None,
           **values) -> CaseEvent:
    """Add one event to a case's history (flushed with the change it records)."""
    event = CaseEvent(case_id=case_id, actor_id=actor.id if actor else None, kind=kind,
                      at=at or utcnow(), **values)
    db.session.add(event)
    return event


def record_many(rows: Select, *, kind: EventKind, at: datetime, **constants) -> int:
    """Add one event per row of ``rows`` in a single INSERT ... SELECT (the set-based form).

    ``rows`` selects ``case_id`` and whatever per-case columns the events take (labelled by
    their column names, e.g. ``from_status``); ``constants`` are the values every event
    shares (``detail_data`` a dict, written as JSON as the one-by-one path writes it). Rows
    carry no actor: a set-based change is the system's.
    """
    table = CaseEvent.__table__
    shared = {"at": literal(at, UTCDateTime()), "kind": literal(kind.value)}
    # The JSON column's own type, so the dict is bound as JSON on every database.
    shared |= {name: literal(value, table.c[name].type) if name == "detail_data"
               else literal(value) for name, value in constants.items()}
    # Returns how many events were written where the driver says (-1 where it does not), so
    # the caller can skip the rest of a change that chose no case.
    select_from = rows.add_columns(*(value.label(name) for name, value in shared.items()))
    columns = [c.name for c in select_from.selected_columns]
    return db.session.execute(table.insert().from_select(columns, select_from)).rowcount


def redate(event: CaseEvent, on: date) -> None:
    """The one change an event ever takes: its step's date, corrected. The correction is an
    event of its own that keeps the old date (``corrections``)."""
    event.occurred_on = on


def combined(details: Iterable[dict]) -> dict | None:
    """One event's ``detail_data`` from what each part of a step said: None, the one, or
    all of them in order."""
    details = [d for d in details if d]
    if not details:
        return None
    if len(details) == 1:
        return details[0]
    return {"key": "several", "parts": details}


def stored_value(value: object) -> object:
    """A field's value as the history keeps it (JSON): a date in ISO form, an amount as its
    digits, a code (an enum) by its value; text, booleans and None as they are."""
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, Enum):
        return value.value
    return value


def fields_changed(changes: Iterable[tuple[str, object, object]]) -> dict:
    """An edit's ``detail_data``: each changed field (by its name) with its old and new value,
    in the order given. Identity numbers are kept whole (the record is the audit) and masked
    only when shown."""
    return {"key": "fields_changed",
            "changes": [{"field": name, "from": stored_value(before), "to": stored_value(after)}
                        for name, before, after in changes]}


def scheme_changed(before: Scheme, after: Scheme, old_reference: str, new_reference: str,
                   changes: Iterable[tuple[str, object, object]]) -> dict:
    """A change of scheme's ``detail_data``: both schemes (by code), both references, and
    each scheme fact set or cleared with its old and new value (as :func:`fields_changed`)."""
    return {"key": "scheme_changed", "from": before.value, "to": after.value,
            "from_reference": old_reference, "to_reference": new_reference,
            "changes": fields_changed(changes)["changes"]}


def former_references(history: Iterable[CaseEvent]) -> list[str]:
    """The references the case had before, oldest first, read from its history's changes
    of scheme (the case page has the history already: no query of its own)."""
    return [event.detail_data["from_reference"] for event in sorted(history, key=_order)
            if event.kind == EventKind.SCHEME_CHANGED and isinstance(event.detail_data, dict)
            and event.detail_data.get("from_reference")]


def _order(event: CaseEvent) -> tuple:
    return event.at, event.id or 0


# --- In words -----------------------------------------------------------------------------

# The fields an edit can change (services.ApplicantData and CaseFacts), as the history
# names them.
_FIELD_LABELS: dict[str, str] = {
    "family_name": lazy_gettext("Family name"),
    "given_names": lazy_gettext("Given names"),
    "chinese_name": lazy_gettext("Chinese name"),
    "date_of_birth": lazy_gettext("Date of birth"),
    "nationality": lazy_gettext("Nationality"),
    "passport_number": lazy_gettext("Passport number"),
    "hkid": lazy_gettext("HKID number"),
    "email": lazy_gettext("Email"),
    "phone": lazy_gettext("Phone"),
    "email_consent": lazy_gettext("Consent to email reminders"),
    "language": lazy_gettext("Preferred language for correspondence"),
    "submitted_on": lazy_gettext("Submission date"),
    "business_plan": lazy_gettext("Business plan"),
    "programme": lazy_gettext("Government-backed programme"),
    "job_employer": lazy_gettext("Employer"),
    "job_post": lazy_gettext("Post"),
    "job_salary": lazy_gettext("Monthly salary (HKD)"),
    "job_relevance": lazy_gettext("Relevance to qualifications or experience"),
    "job_local_unavailability": lazy_gettext("Why it cannot readily be filled locally"),
    "has_hk_parent": lazy_gettext("Parent who is a Chinese Hong Kong permanent resident"),
    "emigrated_overseas": lazy_gettext("Emigrated overseas"),
}


def field_label(name: str) -> str:
    """A changed field as people read it (its code, for a field this list does not know)."""
    return _FIELD_LABELS.get(name, name)


def _day(iso: str) -> LazyDate:
    return LazyDate(date.fromisoformat(iso))


_YES_NO = {True: lazy_gettext("Yes"), False: lazy_gettext("No")}
# Long texts (a business plan) are shown by their beginning; the event keeps them whole.
SHOWN_TEXT_LENGTH = 80


def _shortened(text: str) -> str:
    text = " ".join(text.split())
    if len(text) <= SHOWN_TEXT_LENGTH:
        return text
    return text[:SHOWN_TEXT_LENGTH - 1].rstrip() + "…"


def _language(code: str) -> str:
    language = LANGUAGES.get(code)
    return language.name if language else code


# How a changed field's stored value is shown, by field (text as it is, for the others).
_SHOWN_VALUES: dict[str, Callable[[object], object]] = {
    "date_of_birth": _day,
    "submitted_on": _day,
    "nationality": LazyCountry,
    "passport_number": mask_passport,
    "hkid": mask_hkid,
    "language": _language,
    "email_consent": _YES_NO.__getitem__,
    "has_hk_parent": _YES_NO.__getitem__,
    "emigrated_overseas": _YES_NO.__getitem__,
    "programme": lambda code: GovernmentProgramme(code).label,
    "job_salary": lambda digits: LazyNumber(Decimal(digits)),
    "business_plan": _shortened,
    "job_relevance": _shortened,
    "job_local_unavailability": _shortened,
}


def _shown_value(name: str, value: object) -> object:
    if value is None or value == "":
        return lazy_gettext("(none)")
    show = _SHOWN_VALUES.get(name)
    return show(value) if show else value


def _change_line(change: dict) -> object:
    name = change["field"]
    return lazy_gettext("%(field)s: %(before)s → %(after)s", field=field_label(name),
                        before=_shown_value(name, change["from"]),
                        after=_shown_value(name, change["to"]))


class Lines:
    """Lines a page shows one under another (:func:`describe_lines`); as one piece of text,
    separated the reader's way ("; " in English, "；" in Chinese)."""

    __slots__ = ("items",)

    def __init__(self, items: Iterable[object]) -> None:
        self.items = tuple(items)

    def __str__(self) -> str:
        separator = "; " if current_language().code == DEFAULT_LANGUAGE else "；"
        return separator.join(str(item) for item in self.items)


def _fields_changed(data: dict) -> object:
    if "changes" in data:
        return Lines(_change_line(change) for change in data["changes"])
    # An older edit's event names the fields only.
    return lazy_gettext("Changed: %(fields)s",
                        fields=LazyList(field_label(name) for name in data["fields"]))


def _scheme_changed(data: dict) -> object:
    lines = [
        lazy_gettext("Scheme changed from %(before)s to %(after)s.",
                     before=Scheme(data["from"]).short_label,
                     after=Scheme(data["to"]).short_label),
        lazy_gettext("Reference changed from %(before)s to %(after)s; the old reference still "
                     "finds the case.", before=data["from_reference"],
                     after=data["to_reference"]),
    ]
    return Lines([*lines, *(_change_line(change) for change in data.get("changes", ()))])


def _dependant(data: dict) -> str:
    if data.get("relation") == "spouse":
        return lazy_gettext("Spouse: %(name)s", name=data["name"])
    if data.get("relation") == "child":
        return lazy_gettext("Child: %(name)s", name=data["name"])
    return data["name"]


def _assigned(data: dict) -> str:
    before, after = data.get("from"), data.get("to")
    if before and after:
        return lazy_gettext("Reassigned from %(before)s to %(after)s.", before=before,
                            after=after)
    if after:
        return lazy_gettext("Assigned to %(after)s.", after=after)
    if before:
        return lazy_gettext("Returned to the unassigned queue (was %(before)s).",
                            before=before)
    return lazy_gettext("Left unassigned.")


def _stay_extended(data: dict) -> object:
    if "was" not in data:  # an older event
        return lazy_gettext("Stay extended to %(ends)s.", ends=_day(data["stay_ends_on"]))
    return lazy_ngettext(
        "Stay extended by %(num)d month, to %(ends)s (was %(was)s).",
        "Stay extended by %(num)d months, to %(ends)s (was %(was)s).", data["months"],
        ends=_day(data["stay_ends_on"]), was=_day(data["was"]))


def _extension_requested(data: dict) -> object:
    asked = lazy_ngettext("Extension of %(num)d month requested.",
                          "Extension of %(num)d months requested.", data["months"])
    lines = [asked, lazy_gettext("Grounds: %(grounds)s", grounds=_shortened(data["grounds"]))]
    if data.get("post"):
        lines.append(lazy_gettext("On the job offer: %(post)s at %(employer)s.",
                                  post=data["post"], employer=data["employer"]))
    return Lines(lines)


def _date_corrected(data: dict) -> object:
    if data.get("what") == "job_offer":
        return lazy_gettext("Date of the job offer (%(post)s at %(employer)s) corrected from "
                            "%(before)s to %(after)s.", post=data["post"],
                            employer=data["employer"], before=_day(data["from"]),
                            after=_day(data["to"]))
    if data.get("what") == "visa_valid_until":
        return lazy_gettext("Visa valid until corrected from %(before)s to %(after)s.",
                            before=_day(data["from"]), after=_day(data["to"]))
    return lazy_gettext("Date of “%(step)s” corrected from %(before)s to %(after)s.",
                        step=step_label(data["step"]), before=_day(data["from"]),
                        after=_day(data["to"]))


def _duplicates_accepted(data: dict) -> object:
    return Lines(lazy_gettext(
        "Saved anyway, although the person matched someone in another case: %(reference)s, "
        "%(who)s (%(rules)s).", reference=m["reference"], who=duplicates.who_label(m["who"]),
        rules=LazyList(duplicates.rule_label(r) for r in m["rules"]))
        for m in data["matches"])


def document_label(code: str, holder_name: str | None) -> object:
    """A checklist item in words: "Passport", or "Proof of identity (CHAN, Mei)" for a
    dependant's."""
    if holder_name:
        return lazy_gettext("%(document)s (%(name)s)", document=requirement_label(code),
                            name=holder_name)
    return requirement_label(code)


def _document(data: dict) -> object:
    action = data["action"]
    if action == "requested":
        return lazy_ngettext(
            "%(num)d document requested from the applicant, due %(date)s: %(documents)s.",
            "%(num)d documents requested from the applicant, due %(date)s: %(documents)s.",
            len(data["items"]), date=_day(data["due_on"]),
            documents=LazyList(document_label(i["requirement"], i.get("holder_name"))
                               for i in data["items"]))
    if action == "request_met":
        return lazy_gettext("Every document requested on %(date)s has been received or "
                            "waived.", date=_day(data["requested_on"]))
    document = document_label(data["requirement"], data.get("holder_name"))
    if action == "uploaded" and data.get("replaces"):
        return lazy_gettext("“%(document)s”: %(file)s uploaded, replacing %(old)s.",
                            document=document, file=data["file"], old=data["replaces"])
    if action == "uploaded":
        return lazy_gettext("“%(document)s”: %(file)s uploaded.", document=document,
                            file=data["file"])
    if action == "received":
        return lazy_gettext("“%(document)s” received on %(date)s (on paper).",
                            document=document, date=_day(data["received_on"]))
    if action == "withdrawn":
        return lazy_gettext("“%(document)s”: %(file)s withdrawn.", document=document,
                            file=data["file"])
    words = {"accepted": lazy_gettext("“%(document)s” accepted.", document=document),
             "rejected": lazy_gettext("“%(document)s” rejected.", document=document),
             "waived": lazy_gettext("“%(document)s” waived.", document=document),
             "missing": lazy_gettext("“%(document)s” is missing again: no file is left on it.",
                                     document=document)}
    return words[action]


_DESCRIPTIONS: dict[str, Callable[[dict], object]] = {
    "document": _document,
    "duplicates_accepted": _duplicates_accepted,
    "fields_changed": _fields_changed,
    "scheme_changed": _scheme_changed,
    "dependant_added": _dependant,
    "dependant_removed": _dependant,
    "assigned": _assigned,
    "job_offer": lambda d: lazy_gettext(
        "Job offer recorded: %(post)s at %(employer)s, from %(start_date)s.", post=d["post"],
        employer=d["employer"], start_date=_day(d["start_date"])),
    "arrival_corrected": lambda d: lazy_gettext(
        "Arrival corrected from %(before)s to %(after)s; the stay now ends on %(ends)s (was "
        "%(ended)s).", before=_day(d["from"]), after=_day(d["to"]),
        ends=_day(d["stay_ends_on"]), ended=_day(d["was"])),
    "arrived": lambda d: lazy_gettext(
        "Arrived on %(arrived_on)s; the stay ends on %(ends)s.",
        arrived_on=_day(d["arrived_on"]), ends=_day(d["stay_ends_on"])),
    "stay_extended": _stay_extended,
    "visa_issued": lambda d: lazy_gettext(
        "Visa or entry permit %(number)s, valid for entry until %(until)s.",
        number=d["number"], until=_day(d["valid_until"])),
    "extension_requested": _extension_requested,
    "date_corrected": _date_corrected,
    "stay_end_moved": lambda d: lazy_gettext(
        "The stay now ends on %(after)s (was %(before)s).", after=_day(d["to"]),
        before=_day(d["from"])),
    "quota_year_moved": lambda d: lazy_gettext(
        "The %(scheme)s quota place moved from %(before)d to %(after)d.", scheme=d["scheme"],
        before=d["from"], after=d["to"]),
    "lapsed": lambda d: lazy_gettext("The stay ended without an extension (deadline sweep)."),
    "quota_full": lambda d: lazy_gettext(
        "The %(scheme)s quota for %(year)d was full (%(allocated)d of %(limit)d places "
        "allocated).", scheme=d["scheme"], year=d["year"], allocated=d["allocated"],
        limit=d["limit"]),
    "quota_not_set": lambda d: lazy_gettext(
        "The %(scheme)s quota for %(year)d had not been set.", scheme=d["scheme"],
        year=d["year"]),
    "refused_ineligible": lambda d: lazy_gettext(
        "Refused as ineligible: %(grounds)s",
        grounds=Sentences(describe_ground(ground) for ground in d["grounds"])),
    "several": lambda d: Sentences(_described(part) or "" for part in d["parts"]),
}


def _described(data: dict | None) -> str | None:
    lines = _described_lines(data)
    return None if lines is None else str(Lines(lines))


def _described_lines(data: dict | None) -> list[str] | None:
    describe = _DESCRIPTIONS.get(data.get("key")) if isinstance(data, dict) else None
    if describe is None:
        return None
    try:
        described = describe(data)
        if isinstance(described, Lines):
            return [str(line) for line in described.items]
        return [str(described)]
    except (KeyError, TypeError, ValueError):
        return None  # a row written by other code: shown by its stored words instead


def describe_event(event: CaseEvent) -> str:
    """What the system said about ``event``, in the reader's language: its ``detail_data``
    in words, or the ``detail`` stored with it (typed words, or an older event's); "" when
    there is nothing to say."""
    described = _described(event.detail_data)
    if described is not None:
        return described
    return event.detail or ""


def describe_lines(event: CaseEvent) -> list[str]:
    """:func:`describe_event` as the lines a page shows one under another (an edit: one line
    per changed field, "Family name: CHAN → CHEN"); [] when there is nothing to say."""
    lines = _described_lines(event.detail_data)
    if lines is not None:
        return lines
    return [event.detail] if event.detail else []


# The case page's history calls them (``{{ describe_lines(e) }}``); registered here, with the
# words they render, so no view needs to pass them in.
bp.add_app_template_global(describe_event, "describe_event")
bp.add_app_template_global(describe_lines, "describe_lines")
