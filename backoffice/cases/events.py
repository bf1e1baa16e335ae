"""The one writer of a case's append-only history (``case_events``), and its one reader in
words.

What the system says about an event is stored as a message key and its values in
``detail_data`` (e.g. ``{"key": "fields_changed", "fields": ["phone"]}``), never as a
sentence, so :func:`describe_event` says it in the reader's language whenever the history is
shown. ``detail`` keeps words as they were written: an older event's English.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date, datetime

from sqlalchemy import Select, literal

from backoffice.auth.models import User
from backoffice.cases import bp
from backoffice.cases.models import CaseEvent, EventKind
from backoffice.cases.schemes import describe_ground
from backoffice.cases.words import LazyDate, LazyList, Sentences, lazy_gettext
from backoffice.core.dates import utcnow
from backoffice.core.db import UTCDateTime
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


def combined(details: Iterable[dict]) -> dict | None:
    """One event's ``detail_data`` from what each part of a step said: None, the one, or
    all of them in order."""
    details = [d for d in details if d]
    if not details:
        return None
    if len(details) == 1:
        return details[0]
    return {"key": "several", "parts": details}


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


_DESCRIPTIONS: dict[str, Callable[[dict], object]] = {
    "fields_changed": lambda d: lazy_gettext(
        "Changed: %(fields)s", fields=LazyList(field_label(name) for name in d["fields"])),
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
    "stay_extended": lambda d: lazy_gettext(
        "Stay extended to %(ends)s.", ends=_day(d["stay_ends_on"])),
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
    describe = _DESCRIPTIONS.get(data.get("key")) if isinstance(data, dict) else None
    if describe is None:
        return None
    try:
        return str(describe(data))
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


# The case page's history calls it (``{{ describe_event(e) }}``); registered here, with the
# words it renders, so no view needs to pass it in.
bp.add_app_template_global(describe_event, "describe_event")
