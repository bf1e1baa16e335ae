"""What a reminder says, in words: its subject and bodies, for staff and for applicants.

A reminder's context (``services._context``) holds facts in no language; this module writes
them in the language being rendered, as whole sentences with named placeholders, one per
deadline kind. Staff and applicants are written to differently:

- **staff** (the case's caseworker, and supervisors for an escalation) get the case's
  details, who holds it and a link to it (``notifications/email/reminder.*``);
- **an applicant** gets what is due, what to do about it and whom to contact, with their
  reference to quote, and nothing of the back office: no link into it, no internal labels,
  and no staff name unless ``APPLICANT_EMAIL_NAMES_CASEWORKER`` is set
  (``notifications/email/applicant_reminder.*``).

Every kind of deadline has its own words in each; an unknown kind is an error, not the
words of another kind.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from flask import current_app, render_template
from flask_babel import gettext as _
from flask_babel import ngettext

from backoffice.cases.models import DeadlineKind
from backoffice.core.i18n import force_language, format_date, holiday_name


@dataclass(frozen=True)
class ReminderMessage:
    subject: str
    text: str
    html: str


def render_reminder(context: dict) -> ReminderMessage:
    """Write a reminder in its recipient's language (``context["language"]``), whatever the
    language of the request or worker writing it: an applicant's in the applicant's own
    words (:func:`render_applicant_reminder`), a staff member's with the case's details."""
    if context["for_applicant"]:
        return render_applicant_reminder(context)
    with force_language(context["language"]):
        due_on = context["due_on"]
        values = {
            "escalation": context["escalation"], "for_applicant": False,
            "opening": _opening(context["kind"], context["escalation"], due_on,
                                context["days"], context["reference"]),
            "reference": context["reference"],
            "scheme": str(context["scheme"].short_label),
            "kind_label": str(DeadlineKind(context["kind"]).label),
            "applicant": context["applicant"],
            "due": _due(due_on),
            "assignee": context["assignee"], "case_url": context["case_url"],
        }
        return ReminderMessage(
            subject=reminder_subject(context["kind"], context["escalation"], due_on,
                                     context["days"], context["reference"]),
            text=render_template("notifications/email/reminder.txt", **values),
            html=render_template("notifications/email/reminder.html", **values))


def _due(due_on: date) -> str:
    """The due date, with the Hong Kong public holiday it falls on beside it."""
    holiday = holiday_name(due_on)
    return (_("%(date)s (%(holiday)s)", date=format_date(due_on), holiday=holiday)
            if holiday else format_date(due_on))


def _unknown(kind: str) -> ValueError:
    return ValueError(f"No words for deadline kind {kind!r}: add them to "
                      "backoffice/notifications/wording.py.")


# --- Staff: the caseworker's reminder and the supervisors' escalation ---------------------------

def reminder_subject(kind: str, escalation: bool, due_on: date, days: int,
                     reference: str) -> str:
    """The subject of a staff reminder (and the title of its in-app notification). ``days``:
    from the day it is written to the due date (negative once past)."""
    v = {"date": format_date(due_on), "reference": reference}
    if escalation:
        if kind == DeadlineKind.STAY_END:
            return _("Missed deadline: Stay ends for %(reference)s", **v)
        if kind == DeadlineKind.JOB_OFFER:
            return _("Missed deadline: Job offer due for %(reference)s", **v)
        if kind == DeadlineKind.EXTENSION_WINDOW:
            return _("Missed deadline: Extension window opens for %(reference)s", **v)
        if kind == DeadlineKind.ENTRY:
            return _("Missed deadline: Entry to Hong Kong for %(reference)s", **v)
        if kind == DeadlineKind.DOCUMENTS_DUE:
            return _("Missed deadline: Documents due for %(reference)s", **v)
        raise _unknown(kind)
    if kind == DeadlineKind.STAY_END:
        if days > 0:
            return ngettext("Stay ends on %(date)s (in %(num)d day): %(reference)s",
                            "Stay ends on %(date)s (in %(num)d days): %(reference)s", days, **v)
        if days == 0:
            return _("Stay ends on %(date)s (today): %(reference)s", **v)
        return ngettext("Stay ends on %(date)s (%(num)d day ago): %(reference)s",
                        "Stay ends on %(date)s (%(num)d days ago): %(reference)s", -days, **v)
    if kind == DeadlineKind.JOB_OFFER:
        if days > 0:
            return ngettext("Job offer due on %(date)s (in %(num)d day): %(reference)s",
                            "Job offer due on %(date)s (in %(num)d days): %(reference)s",
                            days, **v)
        if days == 0:
            return _("Job offer due on %(date)s (today): %(reference)s", **v)
        return ngettext("Job offer due on %(date)s (%(num)d day ago): %(reference)s",
                        "Job offer due on %(date)s (%(num)d days ago): %(reference)s",
                        -days, **v)
    if kind == DeadlineKind.EXTENSION_WINDOW:
        if days > 0:
            return ngettext(
                "Extension window opens on %(date)s (in %(num)d day): %(reference)s",
                "Extension window opens on %(date)s (in %(num)d days): %(reference)s",
                days, **v)
        if days == 0:
            return _("Extension window opens on %(date)s (today): %(reference)s", **v)
        return ngettext("Extension window opens on %(date)s (%(num)d day ago): %(reference)s",
                        "Extension window opens on %(date)s (%(num)d days ago): %(reference)s",
                        -days, **v)
    if kind == DeadlineKind.ENTRY:
        if days > 0:
            return ngettext("Entry to Hong Kong by %(date)s (in %(num)d day): %(reference)s",
                            "Entry to Hong Kong by %(date)s (in %(num)d days): %(reference)s",
                            days, **v)
        if days == 0:
            return _("Entry to Hong Kong by %(date)s (today): %(reference)s", **v)
        return ngettext("Entry to Hong Kong by %(date)s (%(num)d day ago): %(reference)s",
                        "Entry to Hong Kong by %(date)s (%(num)d days ago): %(reference)s",
                        -days, **v)
    if kind == DeadlineKind.DOCUMENTS_DUE:
        if days > 0:
            return ngettext("Documents due on %(date)s (in %(num)d day): %(reference)s",
                            "Documents due on %(date)s (in %(num)d days): %(reference)s",
                            days, **v)
        if days == 0:
            return _("Documents due on %(date)s (today): %(reference)s", **v)
        return ngettext("Documents due on %(date)s (%(num)d day ago): %(reference)s",
                        "Documents due on %(date)s (%(num)d days ago): %(reference)s",
                        -days, **v)
    raise _unknown(kind)


def _opening(kind: str, escalation: bool, due_on: date, days: int, reference: str) -> str:
    """The first sentence of a staff reminder's body."""
    v = {"date": format_date(due_on), "reference": reference}
    if escalation:
        return _escalation_opening(kind, max(-days, 0), v)
    if kind == DeadlineKind.STAY_END:
        if days > 0:
            return ngettext(
                "Reminder: the stay of case %(reference)s ends on %(date)s (in %(num)d day).",
                "Reminder: the stay of case %(reference)s ends on %(date)s (in %(num)d days).",
                days, **v)
        if days == 0:
            return _("Reminder: the stay of case %(reference)s ends today, %(date)s.", **v)
        return ngettext(
            "Reminder: the stay of case %(reference)s ended on %(date)s (%(num)d day ago).",
            "Reminder: the stay of case %(reference)s ended on %(date)s (%(num)d days ago).",
            -days, **v)
    if kind == DeadlineKind.JOB_OFFER:
        if days > 0:
            return ngettext(
                "Reminder: a job offer for case %(reference)s must be recorded by %(date)s "
                "(in %(num)d day).",
                "Reminder: a job offer for case %(reference)s must be recorded by %(date)s "
                "(in %(num)d days).", days, **v)
        if days == 0:
            return _("Reminder: a job offer for case %(reference)s must be recorded today, "
                     "%(date)s.", **v)
        return ngettext(
            "Reminder: a job offer for case %(reference)s had to be recorded by %(date)s "
            "(%(num)d day ago).",
            "Reminder: a job offer for case %(reference)s had to be recorded by %(date)s "
            "(%(num)d days ago).", -days, **v)
    if kind == DeadlineKind.EXTENSION_WINDOW:
        if days > 0:
            return ngettext(
                "Reminder: the extension window of case %(reference)s opens on %(date)s "
                "(in %(num)d day).",
                "Reminder: the extension window of case %(reference)s opens on %(date)s "
                "(in %(num)d days).", days, **v)
        if days == 0:
            return _("Reminder: the extension window of case %(reference)s opens today, "
                     "%(date)s.", **v)
        return ngettext(
            "Reminder: the extension window of case %(reference)s opened on %(date)s "
            "(%(num)d day ago).",
            "Reminder: the extension window of case %(reference)s opened on %(date)s "
            "(%(num)d days ago).", -days, **v)
    if kind == DeadlineKind.ENTRY:
        if days > 0:
            return ngettext(
                "Reminder: the applicant of case %(reference)s must enter Hong Kong by "
                "%(date)s, the last day the visa allows (in %(num)d day).",
                "Reminder: the applicant of case %(reference)s must enter Hong Kong by "
                "%(date)s, the last day the visa allows (in %(num)d days).", days, **v)
        if days == 0:
            return _("Reminder: the applicant of case %(reference)s must enter Hong Kong "
                     "today, %(date)s, the last day the visa allows.", **v)
        return ngettext(
            "Reminder: the applicant of case %(reference)s had to enter Hong Kong by "
            "%(date)s, the last day the visa allowed (%(num)d day ago).",
            "Reminder: the applicant of case %(reference)s had to enter Hong Kong by "
            "%(date)s, the last day the visa allowed (%(num)d days ago).", -days, **v)
    if kind == DeadlineKind.DOCUMENTS_DUE:
        if days > 0:
            return ngettext(
                "Reminder: the documents asked of the applicant of case %(reference)s are "
                "due on %(date)s (in %(num)d day).",
                "Reminder: the documents asked of the applicant of case %(reference)s are "
                "due on %(date)s (in %(num)d days).", days, **v)
        if days == 0:
            return _("Reminder: the documents asked of the applicant of case %(reference)s "
                     "are due today, %(date)s.", **v)
        return ngettext(
            "Reminder: the documents asked of the applicant of case %(reference)s were due "
            "on %(date)s (%(num)d day ago).",
            "Reminder: the documents asked of the applicant of case %(reference)s were due "
            "on %(date)s (%(num)d days ago).", -days, **v)
    raise _unknown(kind)


def _escalation_opening(kind: str, ago: int, v: dict) -> str:
    if kind == DeadlineKind.STAY_END:
        return ngettext(
            "Missed deadline: the stay of case %(reference)s ends on %(date)s, and that "
            "date has passed (%(num)d day ago). Please make sure the case is dealt with.",
            "Missed deadline: the stay of case %(reference)s ends on %(date)s, and that "
            "date has passed (%(num)d days ago). Please make sure the case is dealt with.",
            ago, **v)
    if kind == DeadlineKind.JOB_OFFER:
        return ngettext(
            "Missed deadline: a job offer for case %(reference)s had to be recorded by "
            "%(date)s, and that date has passed (%(num)d day ago). Please make sure the "
            "case is dealt with.",
            "Missed deadline: a job offer for case %(reference)s had to be recorded by "
            "%(date)s, and that date has passed (%(num)d days ago). Please make sure the "
            "case is dealt with.", ago, **v)
    if kind == DeadlineKind.EXTENSION_WINDOW:
        return ngettext(
            "Missed deadline: the extension window of case %(reference)s opened on %(date)s, "
            "and that date has passed (%(num)d day ago). Please make sure the case is dealt "
            "with.",
            "Missed deadline: the extension window of case %(reference)s opened on %(date)s, "
            "and that date has passed (%(num)d days ago). Please make sure the case is dealt "
            "with.", ago, **v)
    if kind == DeadlineKind.ENTRY:
        return ngettext(
            "Missed deadline: the applicant of case %(reference)s had to enter Hong Kong by "
            "%(date)s, and that date has passed (%(num)d day ago) with no arrival recorded. "
            "Please make sure the case is dealt with.",
            "Missed deadline: the applicant of case %(reference)s had to enter Hong Kong by "
            "%(date)s, and that date has passed (%(num)d days ago) with no arrival recorded. "
            "Please make sure the case is dealt with.", ago, **v)
    if kind == DeadlineKind.DOCUMENTS_DUE:
        return ngettext(
            "Missed deadline: the documents asked of the applicant of case %(reference)s were "
            "due on %(date)s, and that date has passed (%(num)d day ago). Please make sure "
            "the case is dealt with.",
            "Missed deadline: the documents asked of the applicant of case %(reference)s were "
            "due on %(date)s, and that date has passed (%(num)d days ago). Please make sure "
            "the case is dealt with.", ago, **v)
    raise _unknown(kind)


# --- Applicants ----------------------------------------------------------------------------------

def render_applicant_reminder(context: dict) -> ReminderMessage:
    """Write an applicant's email in the applicant's language: what is due and when, what
    to do, their reference to quote and whom to contact (the ``APPLICANT_CONTACT_*``
    settings). The caseworker is named only when ``APPLICANT_EMAIL_NAMES_CASEWORKER`` is
    set; nothing links into the back office.

    Beside the reminder's facts the context may carry, for a ``documents_due`` deadline,
    ``items`` (the documents' labels, lazy or plain strings: listed; absent or empty: "the
    documents listed in our letter") and ``request`` (true: the first email of a request,
    "we need the following documents", rather than a reminder of it). An escalation is for
    supervisors only and is refused here.
    """
    if context["escalation"]:
        raise ValueError("An escalation is for supervisors; it is never sent to an applicant.")
    config = current_app.config
    with force_language(context["language"]):
        request = bool(context.get("request")) and context["kind"] == DeadlineKind.DOCUMENTS_DUE
        values = {
            "greeting": _("Dear %(name)s,", name=context["addressee"]),
            "what": _applicant_what(context),
            "timing": _applicant_timing(context, request),
            "todo": _applicant_todo(context),
            "items": [str(item) for item in context.get("items") or ()],
            "holiday_note": (_("Our office is closed on Hong Kong public holidays; please "
                               "allow for this.") if holiday_name(context["due_on"]) else None),
            "done_note": (None if request else
                          _("If you have already done so, please disregard this reminder.")),
            "quote": _("Please quote your reference %(reference)s whenever you contact us.",
                       reference=context["reference"]),
            "contact": _contact(config.get("APPLICANT_CONTACT_EMAIL"),
                                config.get("APPLICANT_CONTACT_PHONE")),
            "caseworker": (_("The officer handling your application is %(name)s.",
                             name=context["assignee"])
                           if config.get("APPLICANT_EMAIL_NAMES_CASEWORKER")
                           and context.get("assignee") else None),
        }
        return ReminderMessage(
            subject=applicant_subject(context["kind"], context["due_on"], context["reference"],
                                      request=request),
            text=render_template("notifications/email/applicant_reminder.txt", **values),
            html=render_template("notifications/email/applicant_reminder.html", **values))


def applicant_subject(kind: str, due_on: date, reference: str, request: bool = False) -> str:
    """The subject of an applicant's email, in the language being rendered: what it is
    about, the date and the reference to quote."""
    v = {"date": format_date(due_on), "reference": reference}
    if kind == DeadlineKind.STAY_END:
        return _("End of your permitted stay in Hong Kong: %(date)s (reference %(reference)s)",
                 **v)
    if kind == DeadlineKind.JOB_OFFER:
        return _("Job offer needed by %(date)s to extend your stay (reference %(reference)s)",
                 **v)
    if kind == DeadlineKind.EXTENSION_WINDOW:
        return _("You may apply to extend your stay from %(date)s (reference %(reference)s)",
                 **v)
    if kind == DeadlineKind.ENTRY:
        return _("Last day to enter Hong Kong on your visa/entry permit: %(date)s "
                 "(reference %(reference)s)", **v)
    if kind == DeadlineKind.DOCUMENTS_DUE:
        if request:
            return _("Documents needed by %(date)s (reference %(reference)s)", **v)
        return _("Reminder: documents due by %(date)s (reference %(reference)s)", **v)
    raise _unknown(kind)


def _has_items(context: dict) -> bool:
    return bool(context.get("items"))


def _applicant_what(context: dict) -> str:
    """What is due and when: the first sentence of an applicant's email."""
    kind, days = context["kind"], context["days"]
    v = {"date": _due(context["due_on"])}
    if kind == DeadlineKind.STAY_END:
        if days >= 0:
            return _("Your permitted stay in Hong Kong ends on %(date)s.", **v)
        return ngettext("Your permitted stay in Hong Kong ended on %(date)s (%(num)d day ago).",
                        "Your permitted stay in Hong Kong ended on %(date)s (%(num)d days ago).",
                        -days, **v)
    if kind == DeadlineKind.JOB_OFFER:
        if days >= 0:
            return _("To be able to extend your stay, you need a job offer recorded with us by "
                     "%(date)s.", **v)
        return ngettext(
            "To be able to extend your stay, you needed a job offer recorded with us by "
            "%(date)s (%(num)d day ago).",
            "To be able to extend your stay, you needed a job offer recorded with us by "
            "%(date)s (%(num)d days ago).", -days, **v)
    if kind == DeadlineKind.EXTENSION_WINDOW:
        if days > 0:
            return _("You may apply to extend your stay in Hong Kong from %(date)s.", **v)
        return _("You may now apply to extend your stay in Hong Kong: applications are "
                 "accepted from %(date)s.", **v)
    if kind == DeadlineKind.ENTRY:
        if days >= 0:
            return _("Your visa/entry permit allows you to enter Hong Kong until %(date)s.",
                     **v)
        return ngettext(
            "Your visa/entry permit allowed you to enter Hong Kong until %(date)s "
            "(%(num)d day ago).",
            "Your visa/entry permit allowed you to enter Hong Kong until %(date)s "
            "(%(num)d days ago).", -days, **v)
    if kind == DeadlineKind.DOCUMENTS_DUE:
        if context.get("request"):
            if _has_items(context):
                return _("We need the following documents from you by %(date)s:", **v)
            return _("We need the documents listed in our letter from you by %(date)s.", **v)
        if days >= 0:
            if _has_items(context):
                return _("We asked you for the documents below. Please send them to us by "
                         "%(date)s.", **v)
            return _("We asked you for the documents listed in our letter. Please send them "
                     "to us by %(date)s.", **v)
        if _has_items(context):
            return ngettext(
                "The documents below, which we asked you for, were due on %(date)s (%(num)d "
                "day ago). Please send them to us as soon as possible.",
                "The documents below, which we asked you for, were due on %(date)s (%(num)d "
                "days ago). Please send them to us as soon as possible.", -days, **v)
        return ngettext(
            "The documents listed in our letter were due on %(date)s (%(num)d day ago). "
            "Please send them to us as soon as possible.",
            "The documents listed in our letter were due on %(date)s (%(num)d days ago). "
            "Please send them to us as soon as possible.", -days, **v)
    raise _unknown(kind)


def _applicant_timing(context: dict, request: bool) -> str | None:
    """How far off the date is, for a date still to come (a past one says so itself; an
    extension window that has opened is news, not a countdown)."""
    days = context["days"]
    if days > 0:
        return ngettext("That date is %(num)d day away.", "That date is %(num)d days away.",
                        days)
    if days == 0 and (request or context["kind"] != DeadlineKind.EXTENSION_WINDOW):
        return _("That date is today.")
    return None


def _applicant_todo(context: dict) -> str | None:
    """What the applicant should do, where the first sentence does not already say it."""
    kind, days = context["kind"], context["days"]
    today = context["due_on"] - timedelta(days=days)
    if kind == DeadlineKind.STAY_END:
        if days < 0:
            return _("If you have not yet applied for an extension of stay, please contact us "
                     "immediately.")
        opens = context.get("extension_opens_on")
        if opens is None:
            return _("Applications for an extension of stay are accepted in the weeks before "
                     "a stay ends. If you wish to stay longer, your application must reach us "
                     "before your stay ends.")
        if opens > today:
            return _("You may apply for an extension of stay from %(opens)s. If you wish to "
                     "stay longer, your application must reach us before your stay ends.",
                     opens=format_date(opens))
        return _("You may apply for an extension of stay now. If you wish to stay longer, "
                 "your application must reach us before your stay ends.")
    if kind == DeadlineKind.JOB_OFFER:
        return _("Please send us your job offer (a copy of the offer letter or employment "
                 "contract) as soon as you have it.")
    if kind == DeadlineKind.EXTENSION_WINDOW:
        ends = context.get("stay_ends_on")
        if ends is not None:
            return _("If you wish to stay in Hong Kong after %(ends)s, please send us your "
                     "application for an extension before that date.", ends=format_date(ends))
        return _("If you wish to stay in Hong Kong longer, please send us your application "
                 "for an extension before your stay ends.")
    if kind == DeadlineKind.ENTRY:
        if days < 0:
            return _("If you have not entered Hong Kong, please contact us.")
        return _("Please enter Hong Kong by then. If you cannot travel by that date, please "
                 "contact us before it.")
    if kind == DeadlineKind.DOCUMENTS_DUE:
        return None  # the first sentence asks for them
    raise _unknown(kind)


def _contact(email: str | None, phone: str | None) -> str:
    """Whom the applicant may ask, from the contact settings that are set."""
    if email and phone:
        return _("If you have any questions, please contact us by email at %(email)s or by "
                 "phone on %(phone)s.", email=email, phone=phone)
    if email:
        return _("If you have any questions, please contact us by email at %(email)s.",
                 email=email)
    if phone:
        return _("If you have any questions, please contact us by phone on %(phone)s.",
                 phone=phone)
    return _("If you have any questions, please contact us.")
