"""Read side of the security log: filters, keyset pages and the CSV export.

The log only grows, so it is paged by keyset — "the events before this one", newest first —
never by OFFSET: the hundredth page costs what the first does (index ix_security_events_at_id).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from flask import g, request
from sqlalchemy import Select, and_, or_, select
from sqlalchemy.orm import aliased

from backoffice.auth.models import SecurityEvent, SecurityEventKind, User
from backoffice.auth.services import describe_detail
from backoffice.core.dates import HK_TZ
from backoffice.core.export import csv_instant, csv_text, download_name
from backoffice.core.i18n import lazy_gettext as _l
from backoffice.extensions import db

PAGE_SIZE = 100
DB_INT_MAX = 2**31 - 1
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


@dataclass(frozen=True)
class LogFilters:
    email: str | None = None  # the account's address, or a part of it
    kind: str | None = None
    date_from: date | None = None  # Hong Kong dates, both ends included
    date_to: date | None = None


@dataclass
class LogPage:
    events: list[SecurityEvent]
    next_cursor: str | None
    first_page: bool = True


def _hk_midnight(day: date, days_later: int = 0) -> datetime | None:
    """The UTC instant a Hong Kong day starts; None past the calendar's ends (no bound)."""
    try:
        return datetime.combine(day + timedelta(days=days_later), time.min, HK_TZ) \
            .astimezone(UTC)
    except OverflowError:
        return None


def log_query(filters: LogFilters) -> Select:
    """The filtered log, newest first (without paging)."""
    query = select(SecurityEvent)
    if filters.email:
        text = filters.email.strip().lower()
        pattern = "%" + text.replace("\\", "\\\\").replace("%", r"\%").replace("_", r"\_") + "%"
        query = query.where(SecurityEvent.email.like(pattern, escape="\\"))
    if filters.kind:
        query = query.where(SecurityEvent.kind == SecurityEventKind(filters.kind))
    if filters.date_from and (start := _hk_midnight(filters.date_from)):
        query = query.where(SecurityEvent.at >= start)
    if filters.date_to and (end := _hk_midnight(filters.date_to, days_later=1)):
        query = query.where(SecurityEvent.at < end)
    return query.order_by(SecurityEvent.at.desc(), SecurityEvent.id.desc())


def encode_cursor(event: SecurityEvent) -> str:
    """The sort key of the last event shown: microseconds since 1970 (exact, unlike a float
    timestamp) and the id, e.g. ``1764140000123456~42``."""
    return f"{(event.at - _EPOCH) // _MICROSECOND}~{event.id}"


def decode_cursor(cursor: str | None) -> tuple[datetime, int] | None:
    """A cursor the app cannot have written reads as None: the first page."""
    if not cursor:
        return None
    parts = cursor.split("~")
    if len(parts) != 2:
        return None
    try:
        micros, event_id = int(parts[0]), int(parts[1])
        at = _EPOCH + micros * _MICROSECOND
    except (ValueError, OverflowError):
        return None
    if not 0 <= event_id <= DB_INT_MAX or at.year < 2000:
        return None
    return at, event_id


def log_page(filters: LogFilters, cursor: str | None = None,
             page_size: int = PAGE_SIZE) -> LogPage:
    query = log_query(filters)
    after = decode_cursor(cursor)
    if after is not None:
        at, event_id = after
        query = query.where(or_(SecurityEvent.at < at,
                                and_(SecurityEvent.at == at, SecurityEvent.id < event_id)))
    events = list(db.session.scalars(query.limit(page_size + 1)))
    next_cursor = encode_cursor(events[page_size - 1]) if len(events) > page_size else None
    return LogPage(events=events[:page_size], next_cursor=next_cursor, first_page=after is None)


def recent_events_of(user: User, limit: int = 25) -> list[SecurityEvent]:
    return list(db.session.scalars(
        select(SecurityEvent).where(SecurityEvent.user_id == user.id)
        .order_by(SecurityEvent.at.desc(), SecurityEvent.id.desc()).limit(limit)))


# The export's columns, headed in the reader's language. The event comes twice: its code
# (what a formula or a script compares) and, next to it, its name as the reader says it.
CSV_HEADER = [_l("Time (Hong Kong time)"), _l("Event (code)"), _l("Event"),
              _l("Account email"), _l("By"), _l("IP address"), _l("Browser"), _l("Detail")]


def log_csv_rows(filters: LogFilters, batch: int = 2000) -> Iterator[list]:
    """Every event of the filtered log, streamed in batches (constant memory). Emails, user
    agents and details come from outside (a user agent is whatever the client sends), so
    none can run as a spreadsheet formula."""
    yield [str(name) for name in CSV_HEADER]
    kinds = {kind: str(kind.label) for kind in SecurityEventKind}  # once, not once a row
    actor = aliased(User)
    query = log_query(filters).with_only_columns(
        SecurityEvent.at, SecurityEvent.kind, SecurityEvent.email, actor.email.label("by"),
        SecurityEvent.ip, SecurityEvent.user_agent, SecurityEvent.detail,
        SecurityEvent.detail_data,
    ).outerjoin(actor, actor.id == SecurityEvent.actor_id).execution_options(yield_per=batch)
    for row in db.session.execute(query):
        # The detail is a sentence for people, in the reader's language; addresses stay as
        # stored.
        yield [csv_instant(row.at), row.kind.value, kinds[row.kind], csv_text(row.email),
               csv_text(row.by), csv_text(row.ip), csv_text(row.user_agent),
               csv_text(describe_detail(row))]


def log_csv_filename(filters: LogFilters, at: datetime | None = None) -> str:
    """The export's file name: only the filters in use, then when, e.g.
    ``security-log-email_wong-login_failed-from_2026-03-01-2026-12-02T1405.csv``."""
    return download_name(
        "security-log", filters.email and f"email_{filters.email.strip().lower()}",
        filters.kind,
        filters.date_from and f"from_{filters.date_from.isoformat()}",
        filters.date_to and f"to_{filters.date_to.isoformat()}", at=at)


def loaded_with_user(name: str) -> object | None:
    """The value ``name`` read with the signed-in user at the start of this request, or None
    when there is none to trust: no user loaded, or a request other than GET or HEAD, which
    may have changed it since (a GET changes nothing of what a page shows)."""
    if request.method not in ("GET", "HEAD"):
        return None
    return g.get("loaded_with_user", {}).get(name)
