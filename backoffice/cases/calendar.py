"""The iCalendar (.ics) feed of a caseworker's open deadlines."""

from __future__ import annotations

import re
import secrets
from datetime import timedelta

from flask import url_for
from flask_babel import gettext as _
from icalendar import Calendar, Event
from sqlalchemy import select

from backoffice.auth.models import User
from backoffice.cases import queries
from backoffice.core.dates import utcnow
from backoffice.core.i18n import force_language
from backoffice.extensions import db

# What ``secrets.token_urlsafe`` writes. Anything else is no token of ours, and some of it
# (a NUL byte) PostgreSQL would refuse to even compare.
_TOKEN_SHAPE = re.compile(r"[A-Za-z0-9_-]{1,64}")


def reset_token(user: User) -> str:
    """Give the user a new secret feed address; the old one stops working at once."""
    user.calendar_token = secrets.token_urlsafe(32)
    db.session.flush()
    return user.calendar_token


def user_for_token(token: str) -> User | None:
    if not _TOKEN_SHAPE.fullmatch(token or ""):
        return None
    return db.session.scalar(select(User).where(User.calendar_token == token,
                                                User.active.is_(True)))


def feed(user: User) -> bytes:
    """All-day events, one per open deadline, with stable UIDs so calendar apps update them.

    Written in the owner's language, not the request's: a calendar app fetches the feed with
    no sign-in and its own Accept-Language, and the owner reads it.
    """
    with force_language(user.language):
        return _feed(user)


def _feed(user: User) -> bytes:
    calendar = Calendar()
    calendar.add("prodid", "-//Talent Admission Back Office//Deadlines//EN")
    calendar.add("version", "2.0")
    calendar.add("x-wr-calname", _("Deadlines — %(name)s", name=user.full_name))
    calendar.add("x-wr-timezone", "Asia/Hong_Kong")
    stamp = utcnow()
    for row in queries.open_deadlines_of(user):
        event = Event()
        event.add("uid", f"deadline-{row.id}@talent-admission-backoffice")
        event.add("dtstamp", stamp)
        event.add("dtstart", row.due_on)
        event.add("dtend", row.due_on + timedelta(days=1))
        event.add("summary", _("%(deadline)s: %(reference)s %(family_name)s, %(given_names)s",
                               deadline=row.kind.label, reference=row.reference,
                               family_name=row.family_name.upper(),
                               given_names=row.given_names))
        event.add("url", url_for("cases.show", case_id=row.case_id, _external=True))
        event.add("description", _("%(deadline)s for case %(reference)s (%(scheme)s).",
                                   deadline=row.kind.label, reference=row.reference,
                                   scheme=row.scheme.short_label))
        calendar.add_component(event)
    return calendar.to_ical()
