"""Read side of cases: the work queues, search, keyset pagination and the CSV export.

Queues select only the columns a list shows (no ORM objects) and page by keyset — "the rows
after this one" — never by OFFSET, so the hundredth page costs what the first does at a
million cases.
"""

from __future__ import annotations

import heapq
import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from functools import lru_cache

from sqlalchemy import Select, bindparam, func, inspect, literal, or_, select, tuple_
from sqlalchemy.orm import joinedload
from sqlalchemy.orm.attributes import set_committed_value

from backoffice.auth.models import User
from backoffice.cases.counts import status_counts
from backoffice.cases.models import (
    MISSABLE_DEADLINE_KINDS,
    Applicant,
    Case,
    CaseEvent,
    CaseNote,
    Deadline,
    DeadlineState,
    FormerReference,
    JobOffer,
    SavedFilter,
)
from backoffice.cases.schemes import OPEN_STATUSES, CaseStatus, Scheme
from backoffice.core.converters import DB_INT_MAX
from backoffice.core.db import read
from backoffice.core.export import csv_country, csv_date, csv_instant, csv_text, download_name
from backoffice.core.i18n import LazyText
from backoffice.core.i18n import lazy_gettext as _l
from backoffice.core.identity import mask_hkid, mask_passport, normalise_hkid
from backoffice.extensions import db

PAGE_SIZE = 50
REFERENCE_RE = re.compile(r"^(QMAS|GEP_ENT|GEP_PRO|ASSG)-\d{4}-\d{6}$")


# The case page's statements are built once, at import: building a select costs about as much
# as running it. The applicant comes joined by the relationship itself; the assignee and
# the dependants (a handful) are joined here, so one round trip brings the whole case.
_CASE_BY_ID = (select(Case).where(Case.id == bindparam("case_id"))
               .options(joinedload(Case.assignee), joinedload(Case.dependants)))
_CASE_EVENTS = (select(CaseEvent).where(CaseEvent.case_id == bindparam("case_id"))
                .options(joinedload(CaseEvent.actor)).order_by(CaseEvent.id.desc()))

_CASE_NOTES = (select(CaseNote).where(CaseNote.case_id == bindparam("case_id"))
               .options(joinedload(CaseNote.author)).order_by(CaseNote.id.desc()))

_CASE_LISTS = {
    "deadlines": select(Deadline).where(Deadline.case_id == bindparam("case_id"))
    .order_by(Deadline.due_on, Deadline.id),
    "job_offers": select(JobOffer).where(JobOffer.case_id == bindparam("case_id"))
    .order_by(JobOffer.id),
}


def case_by_id(case_id: int) -> Case | None:
    """The case with its applicant, assignee and dependants, in one statement."""
    return db.session.scalars(_CASE_BY_ID, {"case_id": case_id}).unique().one_or_none()


def load_case_lists(case: Case) -> None:
    """Fill the case's deadlines, and its job offers when the stay needs one, for the page.

    The same rows a lazy load would bring, through the prebuilt statements: a lazy load
    builds its statement each time and cost twice as much on the case page.
    """
    wanted = {"deadlines"} | ({"job_offers"} if case.job_offer_needed_to_extend else set())
    unloaded = inspect(case).unloaded
    for name, statement in _CASE_LISTS.items():
        if name in wanted and name in unloaded:
            set_committed_value(case, name,
                                list(db.session.scalars(statement, {"case_id": case.id})))


def case_events(case_id: int) -> list[CaseEvent]:
    """The case's timeline, newest first, each with who did it."""
    return list(db.session.scalars(_CASE_EVENTS, {"case_id": case_id}))


def case_notes(case_id: int) -> list[CaseNote]:
    """The case's notes, newest first, each with who wrote it."""
    return list(db.session.scalars(_CASE_NOTES, {"case_id": case_id}))


@dataclass(frozen=True)
class HistoryEntry:
    """One line of the case page's history: an event or a note."""

    at: datetime
    event: CaseEvent | None = None
    note: CaseNote | None = None


@dataclass(frozen=True)
class History:
    """The case page's history as asked for: every event and note (``notes_only``: the notes
    alone), the notes narrowed to those containing ``search``; and which later note corrects
    each corrected note, among all the case's notes (a correction is named even when the
    search leaves it out)."""

    entries: list[HistoryEntry]
    notes_only: bool = False
    search: str | None = None
    corrected_by: dict[int, CaseNote] = field(default_factory=dict)
    notes_by_id: dict[int, CaseNote] = field(default_factory=dict)
    shown_note_ids: frozenset[int] = frozenset()
    note_count: int = 0


def matches(text: str, search: str) -> bool:
    """The notes search: the words anywhere in the note, whatever their case (casefold, so
    "STRASSE" finds "Straße"; SQLite's LIKE folds ASCII letters only)."""
    return search.casefold() in text.casefold()


def history(events: list[CaseEvent], notes: list[CaseNote], *, notes_only: bool = False,
            search: str | None = None) -> History:
    """Events and notes (each newest first) merged by time, newest first.

    Each list keeps its own order (events by id: a step dated for an earlier moment stays
    where it was recorded); a note goes among the events by the time it was written. The
    search runs here, not in SQL: a case's notes are all read anyway (for the corrections),
    they are few, and the same folding then holds on both databases."""
    shown_notes = [n for n in notes if not search or matches(n.text, search)]
    streams = [[HistoryEntry(n.written_at, note=n) for n in shown_notes]]
    if not notes_only:
        streams.append([HistoryEntry(e.at, event=e) for e in events])
    return History(
        entries=list(heapq.merge(*streams, key=lambda entry: entry.at, reverse=True)),
        notes_only=notes_only, search=search,
        corrected_by={n.corrects_note_id: n for n in notes if n.corrects_note_id is not None},
        notes_by_id={n.id: n for n in notes},
        shown_note_ids=frozenset(n.id for n in shown_notes), note_count=len(notes))


class Queue(StrEnum):
    MINE = "mine"
    UNASSIGNED = "unassigned"
    AWAITING_QUOTA = "awaiting-quota"
    ALL = "all"

    @property
    def label(self) -> LazyText:
        """The queue's name in the reader's language (a lazy string)."""
        return _QUEUE_LABELS[self]

    @property
    def export_supervisors_only(self) -> bool:
        """Every caseworker may read All cases (to find a colleague's case), but the whole
        office's cases leave the system as a file only with a supervisor."""
        return self is Queue.ALL

    @property
    def default_sort(self) -> str:
        """Awaiting quota is a waiting line: first come, first in line."""
        return WAITING_SORT if self is Queue.AWAITING_QUOTA else DEFAULT_SORT

    @property
    def offers_bulk_reassignment(self) -> bool:
        """The queues where a supervisor may tick cases to give to someone."""
        return self is not Queue.MINE


_QUEUE_LABELS = {Queue.MINE: _l("My cases"), Queue.UNASSIGNED: _l("Unassigned"),
                 Queue.AWAITING_QUOTA: _l("Awaiting quota"), Queue.ALL: _l("All cases")}


@dataclass(frozen=True)
class Filters:
    q: str | None = None
    scheme: Scheme | None = None
    status: CaseStatus | None = None
    assignee_id: int | None = None
    nationality: str | None = None
    submitted_from: date | None = None
    submitted_to: date | None = None
    sort: str = "newest"


@dataclass(frozen=True)
class Sort:
    """A queue's order: the keys (the last one unique, so a cursor names one row) and the
    direction. ``nulls_last``: the first key may be None (no open deadline), and those rows
    come after all the others, by id."""

    keys: tuple
    descending: bool = False
    nulls_last: bool = False


SORTS = {
    "newest": Sort((Case.id,), descending=True),
    "oldest": Sort((Case.id,)),
    "submitted_desc": Sort((Case.submitted_on, Case.id), descending=True),
    "submitted_asc": Sort((Case.submitted_on, Case.id)),
    "next_deadline": Sort((Case.next_deadline_on, Case.id), nulls_last=True),
    "updated_desc": Sort((Case.updated_at, Case.id), descending=True),
    "reference": Sort((Case.reference,)),
    # The waiting line: by the day the case began to wait (the hold's date), then reference.
    "waiting": Sort((Case.status_since, Case.reference), nulls_last=True),
}
DEFAULT_SORT = "newest"
WAITING_SORT = "waiting"

# A count of the results is exact up to this many; past it the page says "more than" it,
# so no page view counts a million rows.
COUNT_LIMIT = 1000

_COLUMNS = (
    Case.id, Case.reference, Case.scheme, Case.status, Case.submitted_on, Case.updated_at,
    Case.assignee_id, Case.version, Case.status_since, Case.next_deadline_on,
    Case.next_deadline_kind, Case.documents_missing, Applicant.family_name,
    Applicant.given_names, Applicant.chinese_name, Applicant.nationality,
    Applicant.passport_number, Applicant.hkid,
    User.full_name.label("assignee_name"),
)


def sort_of(filters: Filters) -> Sort:
    return SORTS.get(filters.sort, SORTS[DEFAULT_SORT])


@dataclass
class QueuePage:
    rows: list
    next_cursor: str | None
    filters: Filters
    first_page: bool = True


def normalise(raw: str | None) -> str:
    """What was typed, as the search reads it: full-width forms made half-width (NFKC, which
    Chinese input methods type: U+FF21 "full-width A" is "A"), whitespace collapsed to single
    spaces, the ends stripped. Case is folded by each kind of match (``Terms``). NFKC is
    right for a query, which is only compared, though not for what is stored (see
    ``core.identity``: it would also read a circled digit as a digit)."""
    return " ".join(unicodedata.normalize("NFKC", raw or "").split())


def _search_condition(q: str):
    """What the search box matches: a reference exactly (or one a case had before a change
    of scheme), an HKID, a passport number, or a partial name in Latin or Chinese script,
    case-insensitively; read as the header's search reads what was typed (``normalise``)."""
    text = normalise(q)
    if REFERENCE_RE.match(text.upper()):
        reference = text.upper()
        # Or the case that had it before a change of scheme: the subquery is one look-up on
        # its key, run once (each side of the OR stays an equality on an index).
        former = (select(FormerReference.case_id)
                  .where(FormerReference.reference == reference).scalar_subquery())
        return or_(Case.reference == reference, Case.id == former)
    try:
        return Applicant.hkid == normalise_hkid(text)
    except ValueError:
        pass
    compact = re.sub(r"\s+", "", text).upper()
    pattern = "%" + text.lower().replace("\\", "\\\\").replace("%", r"\%").replace("_", r"\_") + "%"
    conditions = [Applicant.name_search.like(pattern, escape="\\")]
    if re.fullmatch(r"[A-Z0-9]{5,20}", compact):
        conditions.append(Applicant.passport_number == compact)
    return or_(*conditions)


def queue_query(queue: Queue, user_id: int | None, filters: Filters, columns=_COLUMNS, *,
                counting: bool = False) -> Select:
    """The filtered, sorted query behind a queue (without pagination), for the user
    ``user_id`` (whose cases Mine shows; ``whose`` gives it). ``counting``: the
    cases' ids alone, unsorted, joined to the applicant only when a filter reads it, so that
    PostgreSQL counts from an index on cases alone (a QMAS + under review count: 8 ms with
    the join, at a million cases, under 1 ms without)."""
    if counting:
        query = select(Case.id)
        if filters.q or filters.nationality:
            query = query.join(Applicant, Applicant.id == Case.applicant_id)
    else:
        query = (select(*columns).select_from(Case)
                 .join(Applicant, Applicant.id == Case.applicant_id)
                 .outerjoin(User, User.id == Case.assignee_id))
    if queue is Queue.MINE:
        query = query.where(Case.assignee_id == user_id)
    elif queue is Queue.UNASSIGNED:
        query = query.where(Case.assignee_id.is_(None))
    elif queue is Queue.AWAITING_QUOTA:
        query = query.where(Case.status == CaseStatus.AWAITING_QUOTA)
    if filters.status:
        query = query.where(Case.status == filters.status)
    elif queue in (Queue.MINE, Queue.UNASSIGNED):
        # A work queue shows work: open cases, unless a closed status is asked for.
        query = query.where(Case.status.in_(OPEN_STATUSES))
    if filters.scheme:
        query = query.where(Case.scheme == filters.scheme)
    if filters.assignee_id and queue is Queue.ALL:
        query = query.where(Case.assignee_id == filters.assignee_id)
    if filters.nationality:
        query = query.where(Applicant.nationality == filters.nationality)
    if filters.submitted_from:
        query = query.where(Case.submitted_on >= filters.submitted_from)
    if filters.submitted_to:
        query = query.where(Case.submitted_on <= filters.submitted_to)
    if filters.q:
        query = query.where(_search_condition(filters.q))
    return query if counting else query.order_by(*_order(sort_of(filters)))


def _order(sort: Sort) -> list:
    first, *rest = sort.keys
    first = first.desc() if sort.descending else first.asc()
    if sort.nulls_last:
        # PostgreSQL puts NULLs last in ascending order (and so does the index); SQLite needs
        # telling.
        first = first.nulls_last()
    return [first, *(k.desc() if sort.descending else k.asc() for k in rest)]


_CURSOR_TEXT_LENGTH = 40  # longer than any reference or timestamp a cursor carries


def _decode_key(text: str, column) -> object:
    """One key of a cursor, as the column holds it; ValueError for what the app cannot have
    written (not a date, an id past the database's integer range, a naive timestamp)."""
    column_type = column.type
    # A TypeDecorator (UTCDateTime) names no Python type of its own: its implementation does.
    python_type = getattr(column_type, "impl_instance", column_type).python_type
    if python_type is int:
        value = int(text)
        if not 0 <= value <= DB_INT_MAX:
            raise ValueError(text)
        return value
    if python_type is datetime:
        value = datetime.fromisoformat(text)
        if value.tzinfo is None:
            raise ValueError(text)
        return value.astimezone(UTC)  # OverflowError past year 9999 in UTC
    if python_type is date:
        return date.fromisoformat(text)
    # Text (a reference): no control character, which PostgreSQL refuses in a string.
    if len(text) > _CURSOR_TEXT_LENGTH or any(ord(c) < 32 for c in text):
        raise ValueError(text)
    return text


def _decode_cursor(cursor: str | None, sort: Sort) -> tuple | None:
    """A cursor is the sort key of the last row shown, e.g. ``2026-03-01~42`` or ``42``; an
    empty first key is None (a case with no open deadline, in the ``nulls_last`` sort).

    One the app cannot have written reads as None: the first page."""
    if not cursor or len(cursor) > 2 * _CURSOR_TEXT_LENGTH:
        return None
    parts = cursor.split("~")
    if len(parts) != len(sort.keys):
        return None
    try:
        return tuple(None if (p == "" and i == 0 and sort.nulls_last) else _decode_key(p, key)
                     for i, (p, key) in enumerate(zip(parts, sort.keys, strict=True)))
    except (ValueError, TypeError, OverflowError):
        return None


def _encode_cursor(row, sort: Sort) -> str:
    values = (getattr(row, k.key) for k in sort.keys)
    return "~".join("" if v is None else v.isoformat() if isinstance(v, date) else str(v)
                    for v in values)


def _after(keys: tuple, values: tuple, descending: bool):
    """The rows past ``values`` in the order of ``keys``: one row-value comparison, which
    both databases answer from an index on the keys."""
    if len(keys) == 1:
        return keys[0] < values[0] if descending else keys[0] > values[0]
    left = tuple_(*keys)
    right = tuple_(*(literal(v, type_=k.type) for k, v in zip(keys, values, strict=True)))
    return left < right if descending else left > right


def _rows(query: Select | None) -> list:
    return read(query).all() if query is not None else []


def whose(queue: Queue, user: User) -> int | None:
    """The id ``queue_query`` builds the queue for: the user's on Mine, else None, since only
    Mine depends on who looks (every other queue's statements serve every user)."""
    return user.id if queue is Queue.MINE else None


# The statements of a page, built once per (queue, whose, filters, cursor, size) and kept:
# building a select and deriving its cache key cost about 0.3 ms of a page, and the same
# page is asked for again and again (a queue reloaded, the first page of each tab). A
# statement holds no data, only the values it filters by; the bound keeps it small.
@lru_cache(maxsize=256)
def _page_statements(queue: Queue, user_id: int | None, filters: Filters, cursor: str | None,
                     wanted: int) -> tuple[Select | None, Select | None, bool]:
    """(the rows with a key, the rows without one (``nulls_last`` sorts) or None, and whether
    a cursor was read): each limited to ``wanted`` rows."""
    sort = sort_of(filters)
    query = queue_query(queue, user_id, filters)
    after = _decode_cursor(cursor, sort)
    if not sort.nulls_last:
        if after is not None:
            query = query.where(_after(sort.keys, after, sort.descending))
        return query.limit(wanted), None, after is not None
    first, *rest = sort.keys
    with_key = None
    if after is None or after[0] is not None:
        with_key = query.where(first.is_not(None))
        if after is not None:
            with_key = with_key.where(_after(sort.keys, after, False))
        with_key = with_key.limit(wanted)
    without_key = query.where(first.is_(None))
    if after is not None and after[0] is None:
        without_key = without_key.where(_after(tuple(rest), after[1:], False))
    return with_key, without_key.limit(wanted), after is not None


def queue_page(queue: Queue, user: User, filters: Filters, cursor: str | None = None,
               page_size: int | None = None) -> QueuePage:
    """One page of the queue after ``cursor``. A ``nulls_last`` sort reads the rows with a
    key first and then, once those run out, the rows without one, by id: two index range
    scans, where one ``OR key IS NULL`` condition would have PostgreSQL filter the index
    from its start on every page."""
    page_size = page_size or PAGE_SIZE
    wanted = page_size + 1
    with_key, without_key, after = _page_statements(queue, whose(queue, user), filters,
                                                    cursor, wanted)
    rows = _rows(with_key)
    if without_key is not None and len(rows) < wanted:
        rows += _rows(without_key)[:wanted - len(rows)]
    next_cursor = _encode_cursor(rows[page_size - 1], sort_of(filters)) \
        if len(rows) > page_size else None
    return QueuePage(rows=rows[:page_size], next_cursor=next_cursor, filters=filters,
                     first_page=not after)


@dataclass(frozen=True)
class WaitingLine:
    """Where cases stand in their scheme's line for a quota place: ``places`` maps a case's
    id to its number in the line (1 is next); ``length`` is how many wait."""

    places: dict[int, int]
    length: int

    def place_of(self, case_id: int) -> int | None:
        return self.places.get(case_id)


def line_order() -> tuple:
    """The waiting line's order, as ORDER BY terms."""
    # The same order as the "waiting" sort: a case with no date of its own (recorded before
    # step dates were kept) after those that have one, by reference.
    return (Case.status_since.is_(None), Case.status_since, Case.reference)


def in_line(scheme: Scheme) -> tuple:
    """The condition of the scheme's waiting line: its cases Awaiting quota."""
    return (Case.status == CaseStatus.AWAITING_QUOTA, Case.scheme == scheme)


def waiting_count(scheme: Scheme) -> int:
    """The line's length: its stored count (``counts``), not a count of the waiting cases."""
    return status_counts(scheme, [CaseStatus.AWAITING_QUOTA])[CaseStatus.AWAITING_QUOTA]


def waiting_line(scheme: Scheme, case_ids: Iterable[int] | None = None) -> WaitingLine:
    """The scheme's waiting line (cases Awaiting quota), for ``case_ids`` (all when None):
    one statement, numbering the line by a window over the waiting cases alone."""
    waiting = in_line(scheme)
    numbered = select(Case.id, func.row_number().over(order_by=line_order()).label("place"),
                      func.count().over().label("length")).where(*waiting).subquery()
    query = select(numbered.c.id, numbered.c.place, numbered.c.length)
    if case_ids is not None:
        ids = list(case_ids)
        if not ids:
            return WaitingLine({}, waiting_count(scheme))
        query = query.where(numbered.c.id.in_(ids))
    rows = read(query).all()
    length = rows[0].length if rows else waiting_count(scheme)
    return WaitingLine({row.id: row.place for row in rows}, length)


def queue_count(queue: Queue, user: User, filters: Filters,
                page: QueuePage | None = None) -> int | None:
    """How many cases the filtered queue holds, or None for more than ``COUNT_LIMIT``: the
    count stops at the first ``COUNT_LIMIT + 1`` rows, so it never reads the whole table.
    A first ``page`` with no page after it is the whole result: counted without a query."""
    if page is not None and page.first_page and page.next_cursor is None:
        return len(page.rows)
    count = read(_count_statement(queue, whose(queue, user), filters,
                                  COUNT_LIMIT + 1)).scalar_one()
    return count if count <= COUNT_LIMIT else None


@lru_cache(maxsize=256)
def _count_statement(queue: Queue, user_id: int | None, filters: Filters,
                     limit: int) -> Select:
    # Kept as the page's statements are (``_page_statements``).
    limited = queue_query(queue, user_id, filters, counting=True).limit(limit).subquery()
    return select(func.count()).select_from(limited)


# The export's columns, headed in the reader's language. A coded value comes twice: its code
# (what a formula or a script compares) and, next to it, its name as the reader says it.
CSV_HEADER = [_l("Reference"), _l("Scheme (code)"), _l("Scheme"), _l("Status (code)"),
              _l("Status"), _l("Submitted on"), _l("Family name"), _l("Given names"),
              _l("Chinese name"), _l("Nationality (code)"), _l("Nationality"),
              _l("Passport (masked)"), _l("HKID (masked)"), _l("Assignee"),
              _l("Last updated (Hong Kong time)")]


def csv_header() -> list[str]:
    """The export's header row, rendered in the language being read in."""
    return [str(name) for name in CSV_HEADER]


def csv_rows(queue: Queue, user: User, filters: Filters, batch: int = 2000) -> Iterator[list]:
    """Every row of the filtered queue, streamed from a server-side cursor in batches, so an
    export of any size runs in constant memory. Identity numbers stay masked; names cannot
    run as spreadsheet formulas."""
    yield csv_header()
    # Named once per export, in the reader's language, rather than once per row.
    schemes = {scheme: str(scheme.label) for scheme in Scheme}  # the official name
    statuses = {status: str(status.label) for status in CaseStatus}
    query = queue_query(queue, whose(queue, user), filters).execution_options(
        yield_per=batch)
    for row in db.session.execute(query):
        yield [row.reference, row.scheme.value, schemes[row.scheme], row.status.value,
               statuses[row.status], csv_date(row.submitted_on), csv_text(row.family_name),
               csv_text(row.given_names), csv_text(row.chinese_name), row.nationality or "",
               csv_country(row.nationality), mask_passport(row.passport_number),
               mask_hkid(row.hkid), csv_text(row.assignee_name), csv_instant(row.updated_at)]


def _search_in_filename(q: str) -> str:
    """The search term as the file name may say it: an identity number masked as the
    export masks it (an HKID "A123xxxx", a passport "xxxxx678"), anything else as typed."""
    text = q.strip()
    try:
        masked = mask_hkid(normalise_hkid(text))  # A123***(*)
    except ValueError:
        pass
    else:
        return masked.replace("*", "x").replace("(", "").replace(")", "")
    compact = re.sub(r"\s+", "", text).upper()
    if re.fullmatch(r"[A-Z0-9]{5,20}", compact) and re.search(r"\d", compact):
        return mask_passport(compact).replace("\u2022", "x")
    return text


def csv_filename(queue: Queue, filters: Filters, assignee_name: str | None = None,
                 at: datetime | None = None) -> str:
    """The export's file name: the queue, then only the filters in use, then when, e.g.
    ``cases-all-QMAS-under_review-q_chan-2026-12-02T1405.csv``."""
    assignee = assignee_name or filters.assignee_id
    return download_name(
        "cases", queue.value,
        filters.scheme and filters.scheme.value, filters.status and filters.status.value,
        filters.assignee_id and queue is Queue.ALL and f"assignee_{assignee}",
        filters.nationality and f"nationality_{filters.nationality}",
        filters.submitted_from and f"from_{filters.submitted_from.isoformat()}",
        filters.submitted_to and f"to_{filters.submitted_to.isoformat()}",
        filters.q and f"q_{_search_in_filename(filters.q)}", at=at)


def cases_by_ids(ids: list[int]) -> list[Case]:
    ids = [i for i in ids if 0 < i <= DB_INT_MAX][:500]
    if not ids:
        return []
    return list(db.session.scalars(select(Case).where(Case.id.in_(ids))))



# --- Deadlines ----------------------------------------------------------------------------

DUE_SOON_DAYS = 30
DEADLINE_LIST_LIMIT = 100  # the most urgent first; a longer list is not read


def _deadline_rows(user: User, office: bool) -> Select:
    query = (select(Deadline.id, Deadline.kind, Deadline.due_on, Deadline.state,
                    Case.id.label("case_id"), Case.reference, Case.scheme, Case.status,
                    Applicant.family_name, Applicant.given_names,
                    User.full_name.label("assignee_name"))
             .join(Case, Case.id == Deadline.case_id)
             .join(Applicant, Applicant.id == Case.applicant_id)
             .outerjoin(User, User.id == Case.assignee_id))
    return query if office else query.where(Case.assignee_id == user.id)


def due_soon(user: User, office: bool, today: date) -> tuple[list, list]:
    """(open deadlines in the next 30 days, outstanding overdue deadlines), by date."""
    rows = _deadline_rows(user, office)
    upcoming = rows.where(Deadline.state == DeadlineState.OPEN,
                          Deadline.due_on >= today,
                          Deadline.due_on <= today + timedelta(days=DUE_SOON_DAYS))
    # Two index range scans rather than one OR, which the planner reads as a table scan:
    # stay ends and job offers past their date (the sweep has not reached them yet), and the
    # missed deadlines still outstanding (their case open, nothing newer in their place).
    not_swept = rows.where(Deadline.state == DeadlineState.OPEN, Deadline.due_on < today,
                           Deadline.kind.in_(MISSABLE_DEADLINE_KINDS))
    missed = rows.where(Deadline.state == DeadlineState.MISSED, Deadline.outstanding.is_(True))
    by_date = (Deadline.due_on, Deadline.id)
    overdue = sorted(
        [*read(not_swept.order_by(*by_date).limit(DEADLINE_LIST_LIMIT)),
         *read(missed.order_by(*by_date).limit(DEADLINE_LIST_LIMIT))],
        key=lambda row: (row.due_on, row.id))[:DEADLINE_LIST_LIMIT]
    return (
        read(upcoming.order_by(*by_date).limit(DEADLINE_LIST_LIMIT)).all(),
        overdue,
    )


def open_deadlines_of(user: User) -> list:
    """Every open deadline of the user's cases, for the calendar feed."""
    return db.session.execute(_deadline_rows(user, office=False)
                              .where(Deadline.state == DeadlineState.OPEN)
                              .order_by(Deadline.due_on, Deadline.id)).all()


# Every queue page shows the tabs: plain rows, not ORM objects (the identity map's work for
# a few rows cost as much as the statement itself).
_SAVED_FILTERS = (select(SavedFilter.id, SavedFilter.name, SavedFilter.queue, SavedFilter.query)
                  .where(SavedFilter.user_id == bindparam("user_id"))
                  .order_by(func.lower(SavedFilter.name), SavedFilter.id))


def saved_filters_of(user: User) -> list:
    """The user's saved filters, by name: rows of (id, name, queue, query)."""
    return list(read(_SAVED_FILTERS, {"user_id": user.id}))
