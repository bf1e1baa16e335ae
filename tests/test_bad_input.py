"""Bad input, everywhere: never a 5xx, always a message on the page it came from, and nothing
saved when it is refused.

The product rule: bad input always gets a clear message on the page it came from, and never a
500, a lost record or a half-written change. This file sends hostile values to every form and
every query parameter, one field at a time, signed in as a role allowed to use the route and
with a valid CSRF token taken from the page that shows the form.

Each row is one hostile value for one field and says what must happen:

* ``refused(message)``: a 4xx (or a redirect whose flash says why), ``message`` on the page,
  and every table exactly as before;
* ``SAVED``: the submission is accepted (the value is harmless, or a documented fallback
  applies) and something was written;
* for a step whose consequences are checked first: ``CHECK`` (the answers accepted and
  shown with what the step will do and its button, nothing written yet) or ``ASKED`` ("Change
  your answers": the questions again);
* for pages: ``SHOWN`` (200, the value used or ignored), ``explained(message)`` (422 and the
  message beside the filter), ``NOT_FOUND`` (404 in the site layout), ``CSV`` (the file), or
  ``back_to(page, message)`` (an export refuses a filter by sending the user back to the page
  that explains it).

The values are a representative subset per kind of field (text, number, date, id, choice),
not a cross product: text fields get the whole text table, other fields their own kinds.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from urllib.parse import parse_qs

import pytest
from bs4 import BeautifulSoup
from sqlalchemy import select

from backoffice.auth.models import Role, User
from backoffice.cases import services, stay
from backoffice.cases.models import Case, CaseEvent, EventKind, Relationship
from backoffice.cases.schemes import CaseStatus, Scheme
from backoffice.core.dates import hk_today
from backoffice.extensions import db as _db
from backoffice.quota.models import QuotaPeriod
from tests.cases.factories import dependant_data, make_case, receive_documents, step_data
from tests.conftest import PASSWORD, read_csv

ANON, CW, SUP, ADMIN = None, Role.CASEWORKER, Role.SUPERVISOR, Role.ADMIN

# --- Hostile values -------------------------------------------------------------------------

EMPTY = ""
BLANK = " \t  "
HUGE = "x" * 10_000
NUL = "Lee\x00Mei"
ESCAPE = "Lee\x1b[2J"  # another control character (terminal escape)
EMOJI = "Lee 🐉 \U0001d544ei"  # 4-byte UTF-8: a dragon and a double-struck M
RTL = "Lee\u202egnp.exe"  # right-to-left override
SQL = "' OR 1=1 --"
SCRIPT = "<script>alert(1)</script>"
BEYOND_INT64 = "99999999999999999999"
INT64_OVERFLOW = str(2**63)
NO_SUCH_ID = "987654"


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING = _Missing()  # the field is left out of the submission


class _Stale:
    def __repr__(self) -> str:
        return "STALE"


STALE = _Stale()  # the version the case had before its last change


@dataclass(frozen=True)
class Twice:
    """The parameter sent twice (a list where one value is expected). The forms read the
    first; the control-character check reads both."""

    first: str
    second: str

    def __repr__(self) -> str:
        return f"Twice({self.first[:12]!r}, {self.second[:12]!r})"


# --- Outcomes -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Outcome:
    kind: str
    message: str = ""
    page: str = ""

    def __repr__(self) -> str:
        return f"{self.kind}({self.message[:30]!r})" if self.message else self.kind


def refused(message: str) -> Outcome:
    return Outcome("refused", message)


def explained(message: str) -> Outcome:
    return Outcome("explained", message)


def back_to(page: str, message: str) -> Outcome:
    return Outcome("back_to", message, page)


SAVED = Outcome("saved")
# A step whose consequences are checked first: the answers are accepted and shown with what
# the step will do and the button that takes it (200); nothing is written yet.
CHECK = Outcome("check")
# "Change your answers": the step's questions again, as answered (200); nothing written.
ASKED = Outcome("asked")
SHOWN = Outcome("shown")
CSV = Outcome("csv")
NOT_FOUND = Outcome("not_found", "There is no page at this address.")

CONTROL = "Remove the invisible control characters from this field."
NOT_A_CHOICE = "Not a valid choice."
NOT_A_DATE = "Not a valid date value."
NOT_COERCED = "could not be coerced"
NOT_AN_INTEGER = "Not a valid integer value."
STALE_CASE = "This case was changed by someone else while you were working on it."


def too_long(limit: int) -> str:
    return f"Field cannot be longer than {limit} characters."


# --- Query parameters -----------------------------------------------------------------------
# Filters are read, never stored: a bad one is explained beside the filter (422) and the list
# shown unfiltered; a harmless one is used as typed.

SEARCH = [
    (EMPTY, SHOWN), (BLANK, SHOWN), (HUGE, explained(too_long(100))),
    (NUL, explained(CONTROL)), (ESCAPE, explained(CONTROL)), (EMOJI, SHOWN), (RTL, SHOWN),
    (SQL, SHOWN), (SCRIPT, SHOWN), ("%_\\", SHOWN), (Twice(SQL, NUL), explained(CONTROL)),
]
CHOICE_FILTER = [
    (EMPTY, SHOWN), (SQL, explained(NOT_A_CHOICE)), (HUGE, explained(NOT_A_CHOICE)),
    (NUL, explained(CONTROL)), (EMOJI, explained(NOT_A_CHOICE)),
]
DATE_FILTER = [
    (EMPTY, SHOWN), ("0001-01-01", SHOWN), ("9999-12-31", SHOWN),
    ("2026-02-30", explained(NOT_A_DATE)), ("10000-01-01", explained(NOT_A_DATE)),
    (BEYOND_INT64, explained(NOT_A_DATE)), (SQL, explained(NOT_A_DATE)),
    (NUL, explained(CONTROL)), (Twice("2026-02-30", "2026-01-01"), explained(NOT_A_DATE)),
]
ASSIGNEE_FILTER = [
    (EMPTY, SHOWN), (NO_SUCH_ID, explained(NOT_A_CHOICE)), ("-1", explained(NOT_A_CHOICE)),
    ("0", explained(NOT_A_CHOICE)), (INT64_OVERFLOW, explained(NOT_A_CHOICE)),
    (BEYOND_INT64, explained(NOT_A_CHOICE)), ("1e309", explained("could not coerce")),
    ("NaN", explained("could not coerce")), (SQL, explained("could not coerce")),
]
# The keyset cursor is written by the app; one it cannot read starts again at the first page.
CURSOR = [
    (EMPTY, SHOWN), ("-1", SHOWN), ("0", SHOWN), (INT64_OVERFLOW, SHOWN), (BEYOND_INT64, SHOWN),
    ("1e309", SHOWN), ("NaN", SHOWN), (SQL, SHOWN), (HUGE, SHOWN), (NUL, SHOWN),
    ("0001-01-01~1", SHOWN), ("9999-12-31~" + BEYOND_INT64, SHOWN), ("2026-02-30~1", SHOWN),
]
# Sorted by submission date the cursor is a date and an id.
DATE_CURSOR = [
    ("0001-01-01~1", SHOWN), ("9999-12-31~" + BEYOND_INT64, SHOWN), ("2026-02-30~1", SHOWN),
    ("2026-03-02~-1", SHOWN), ("2026-03-02~" + INT64_OVERFLOW, SHOWN), (SQL + "~1", SHOWN),
    ("~", SHOWN), (NUL, SHOWN),
]
# Sorted by next deadline the cursor is a date (empty: a case with none) and an id.
NEXT_DEADLINE_CURSOR = [
    ("~1", SHOWN), ("~-1", SHOWN), ("~" + BEYOND_INT64, SHOWN), ("2026-02-30~1", SHOWN),
    ("9999-12-31~1", SHOWN), ("~~", SHOWN), ("~" + SQL, SHOWN), (NUL + "~1", SHOWN),
]
# Sorted by last change: an instant (with its zone) and an id.
UPDATED_CURSOR = [
    ("2026-03-02T10:00:00+00:00~1", SHOWN), ("2026-03-02T10:00:00~1", SHOWN),
    ("9999-12-31T23:59:59-14:00~1", SHOWN), ("0001-01-01T00:00:00+14:00~1", SHOWN),
    ("2026-13-01T00:00:00+00:00~1", SHOWN), (SQL + "~1", SHOWN), (HUGE, SHOWN),
]
# Sorted by reference: a reference.
REFERENCE_CURSOR = [
    ("QMAS-2026-000001", SHOWN), (SQL, SHOWN), (HUGE, SHOWN), (NUL, SHOWN), (EMOJI, SHOWN),
    ("a~b", SHOWN),
]
# Page numbers of short lists fall back to the nearest real page.
PAGE_NUMBER = [
    (EMPTY, SHOWN), ("-1", SHOWN), ("0", SHOWN), (INT64_OVERFLOW, SHOWN), (BEYOND_INT64, SHOWN),
    ("1e309", SHOWN), ("NaN", SHOWN), ("Infinity", SHOWN), (SQL, SHOWN), (NUL, SHOWN),
]
YEAR = "Choose a year between 2000 and 2100."
YEAR_TEXT = "Enter the year as four digits, e.g. 2026."
QUOTA_YEAR = [
    (EMPTY, SHOWN), ("2026", SHOWN), ("2000", SHOWN), ("2100", SHOWN), ("1999", explained(YEAR)),
    ("2101", explained(YEAR)), ("-1", explained(YEAR)), ("0", explained(YEAR)),
    ("0001", explained(YEAR)), ("9999", explained(YEAR)), (BEYOND_INT64, explained(YEAR_TEXT)),
    ("1e309", explained(YEAR_TEXT)), ("NaN", explained(YEAR_TEXT)),
    ("Infinity", explained(YEAR_TEXT)), (SQL, explained(YEAR_TEXT)), (NUL, explained(CONTROL)),
    (Twice("-1", "2026"), explained(YEAR)),
]

# The header search explains a query it cannot run (empty, too short to be a name or a
# number, too long) beside its box; anything else is searched for as typed.
SEARCH_EVERYTHING = "Type what to search for: a reference, a name, a passport or HKID number"
SEARCH_TOO_SHORT = "Type at least 2 letters of a name, or a whole reference"
HEADER_SEARCH = [
    (EMPTY, explained(SEARCH_EVERYTHING)), (BLANK, explained(SEARCH_EVERYTHING)),
    (HUGE, explained(too_long(100))), (NUL, explained(CONTROL)), (ESCAPE, explained(CONTROL)),
    (EMOJI, SHOWN), (RTL, SHOWN), (SQL, SHOWN), (SCRIPT, SHOWN),
    ("%_\\", explained(SEARCH_TOO_SHORT)), ("x", explained(SEARCH_TOO_SHORT)),
    (BEYOND_INT64, SHOWN), (Twice(SQL, NUL), explained(CONTROL)),
]

QUEUE_FILTERS = {
    "q": SEARCH, "scheme": CHOICE_FILTER, "status": CHOICE_FILTER, "sort": CHOICE_FILTER,
    "nationality": CHOICE_FILTER, "submitted_from": DATE_FILTER, "submitted_to": DATE_FILTER,
    "after": CURSOR,
}

# (url, role, parameter, values): every parameter a page reads.
GET_PARAMETERS = [
    *(("/cases/", CW, name, values) for name, values in QUEUE_FILTERS.items()),
    ("/cases/?sort=submitted_asc", CW, "after", DATE_CURSOR),
    ("/cases/search", CW, "q", HEADER_SEARCH),
    ("/cases/?sort=next_deadline", CW, "after", NEXT_DEADLINE_CURSOR),
    ("/cases/queue/all?sort=updated_desc", CW, "after", UPDATED_CURSOR),
    ("/cases/queue/all?sort=reference", SUP, "after", REFERENCE_CURSOR),
    ("/cases/queue/all", SUP, "assignee", ASSIGNEE_FILTER),
    ("/cases/queue/all", SUP, "q", SEARCH[2:5]),
    ("/cases/queue/unassigned", CW, "submitted_to", DATE_FILTER[3:6]),
    ("/cases/queue/awaiting-quota", CW, "status", CHOICE_FILTER[1:3]),
    ("/cases/due-soon", CW, "scope", [
        (EMPTY, SHOWN), (SQL, SHOWN), (HUGE, SHOWN), (NUL, SHOWN),
        (Twice("mine", "office"), SHOWN)]),
    ("/cases/due-soon", SUP, "scope", [("office", SHOWN), (Twice("office", NUL), SHOWN)]),
    ("/quota/", SUP, "year", QUOTA_YEAR),
    ("/quota/", SUP, "page", PAGE_NUMBER),
    ("/admin/users", ADMIN, "page", PAGE_NUMBER),
    ("/admin/security-log", ADMIN, "page", PAGE_NUMBER[1:6]),
    ("/admin/security-log", ADMIN, "email", [
        *SEARCH[:2], (HUGE, explained(too_long(254))), *SEARCH[3:]]),
    ("/admin/security-log", ADMIN, "kind", CHOICE_FILTER),
    ("/admin/security-log", ADMIN, "date_from", DATE_FILTER),
    ("/admin/security-log", ADMIN, "date_to", DATE_FILTER[3:6]),
    ("/admin/security-log", ADMIN, "after", [
        *CURSOR, ("1764140000123456~1", SHOWN), ("-99999999999999999999~1", SHOWN),
        ("1764140000123456~" + INT64_OVERFLOW, SHOWN)]),
    ("/login", ANON, "next", [
        (EMPTY, SHOWN), (HUGE, SHOWN), (NUL, SHOWN), (SCRIPT, SHOWN), ("//evil.example", SHOWN)]),
    # Pages that read no parameter ignore whatever is sent.
    ("/cases/calendar", CW, "page", [(NUL, SHOWN), (HUGE, SHOWN)]),
    ("/notifications/", CW, "page", [(NUL, SHOWN), (HUGE, SHOWN)]),
    ("/notifications/failed", SUP, "page", [(NUL, SHOWN)]),
]

# An export has no page of its own to explain a bad filter on: it sends the user back to the
# page that does, with the same filters, and exports nothing.
QUEUE = "/cases/queue/mine"
LOG = "/admin/security-log"
GET_EXPORTS = [
    ("/cases/queue/mine/export.csv", CW, "q", [
        (SQL, CSV), (EMOJI, CSV), (HUGE, back_to(QUEUE, too_long(100))),
        (NUL, back_to(QUEUE, CONTROL))]),
    ("/cases/queue/mine/export.csv", CW, "submitted_from", [
        ("0001-01-01", CSV), ("9999-12-31", CSV), ("2026-02-30", back_to(QUEUE, NOT_A_DATE)),
        (SQL, back_to(QUEUE, NOT_A_DATE))]),
    ("/cases/queue/mine/export.csv", CW, "status", [
        (EMPTY, CSV), (SQL, back_to(QUEUE, NOT_A_CHOICE))]),
    ("/cases/queue/all/export.csv", SUP, "assignee", [
        (EMPTY, CSV), (INT64_OVERFLOW, back_to("/cases/queue/all", NOT_A_CHOICE)),
        ("NaN", back_to("/cases/queue/all", "could not coerce"))]),
    ("/admin/security-log/export.csv", ADMIN, "email", [
        (SQL, CSV), (EMOJI, CSV), (HUGE, back_to(LOG, too_long(254))),
        (NUL, back_to(LOG, CONTROL))]),
    ("/admin/security-log/export.csv", ADMIN, "kind", [
        (EMPTY, CSV), ("login", CSV), (SQL, back_to(LOG, NOT_A_CHOICE))]),
    ("/admin/security-log/export.csv", ADMIN, "date_to", [
        ("9999-12-31", CSV), ("2026-02-30", back_to(LOG, NOT_A_DATE))]),
    ("/quota/export.csv", SUP, "year", [
        (EMPTY, CSV), ("2026", CSV), ("-1", back_to("/quota/", YEAR)),
        (BEYOND_INT64, back_to("/quota/", YEAR_TEXT)), ("NaN", back_to("/quota/", YEAR_TEXT)),
        (NUL, back_to("/quota/", CONTROL))]),
]

# Ids and names in the address itself: anything that is not a row is "not found".
BAD_IDS = ["0", "-1", NO_SUCH_ID, INT64_OVERFLOW, BEYOND_INT64, "1e309", "NaN", "%27%20OR%201=1"]
GET_PATHS = [
    *((f"/cases/{bad}", CW) for bad in BAD_IDS),
    *((f"/cases/{bad}/edit", SUP) for bad in BAD_IDS[2:5]),
    *((f"/cases/{bad}/step/withdraw", CW) for bad in BAD_IDS),
    *((f"/cases/{bad}/scheme", CW) for bad in BAD_IDS[2:5]),
    *((f"/notifications/case/{bad}", CW) for bad in BAD_IDS[2:5]),
    *((f"/admin/users/{bad}", ADMIN) for bad in BAD_IDS[2:5]),
    ("/cases/queue/nope", CW), ("/cases/queue/%00", CW), ("/cases/queue/" + "x" * 5000, CW),
    ("/cases/calendar/nope.ics", ANON), ("/cases/calendar/%00.ics", ANON),
    ("/cases/calendar/%27%20OR%201=1%20--.ics", ANON),
    ("/cases/calendar/" + "x" * 5000 + ".ics", ANON), ("/cases/calendar/%F0%9F%90%89.ics", ANON),
]


# Bytes that are not UTF-8, straight in the address.
RAW_QUERIES = [
    ("/cases/?q=%FF%FE", CW, 200), ("/cases/search?q=%FF%FE", CW, 200),
    ("/cases/?submitted_from=%C0%80", CW, 422),
    ("/quota/?year=%FF", SUP, 422), ("/admin/users?page=%FF", ADMIN, 200),
    ("/login?next=%FF%00", ANON, 200),
]


def _get_cases():
    for url, role, name, values in GET_PARAMETERS + GET_EXPORTS:
        for value, outcome in values:
            yield pytest.param(url, role, name, value, outcome,
                               id=f"{url} {name}={value!r:.40} {outcome!r}")


# --- Forms ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Form:
    """A form: where it posts, who posts it, the page that shows it, and a submission the app
    accepts. Placeholders: ``{case}`` a case in state ``case`` (assigned to the signed-in
    caseworker; to another caseworker when a supervisor posts; to nobody when ``unassigned``),
    ``{version}`` its version, ``{dependant}`` a child on it, ``{last_step}`` the id of its
    latest step's event, ``{job_offer}`` its job offer (an ``extension_window`` case has one),
    ``{today}`` (and ``{tomorrow}``) the Hong Kong date, ``{visa_until}`` 90 days after it,
    ``{user}`` another caseworker's account, ``{id}`` an id no row has. ``audit`` names tables
    a refusal may still write (failed sign-ins are recorded). ``checked``: the form is a
    step's questions whose answers are checked first, so its valid submission is answered
    with the check page (:data:`CHECK`), whose confirm button takes the step."""

    url: str
    role: Role | None
    token_from: str
    valid: dict
    case: str | None = None
    audit: frozenset[str] = field(default_factory=frozenset)
    checked: bool = False


CASE_FORM = {
    "scheme": "QMAS", "submitted_on": "2026-03-01", "family_name": "Lee",
    "given_names": "Mei Ling", "chinese_name": "李美玲", "date_of_birth": "1990-04-05",
    "nationality": "GB", "passport_number": "K1234567", "hkid": "A123456(3)",
    "email": "mei@example.org", "phone": "+852 5555 0000", "programme": "",
}
NEW_PASSWORD = "a new and rather long passphrase"

FORMS = {
    "sign in": Form("/login", ANON, "/login",
                    {"email": "known@example.org", "password": PASSWORD, "next": ""},
                    audit=frozenset({"security_events", "users", "sign_in_locks"})),
    "password": Form("/account/password", CW, "/account/password",
                     {"current_password": PASSWORD, "new_password": NEW_PASSWORD,
                      "confirm": NEW_PASSWORD}),
    "new user": Form("/admin/users/new", ADMIN, "/admin/users/new",
                     {"full_name": "Wong Ka Yan", "email": "ka.yan@example.org",
                      "role": "caseworker", "language": "zh_Hant_HK", "password": NEW_PASSWORD,
                      "confirm": NEW_PASSWORD}),
    "role": Form("/admin/users/{user}/role", ADMIN, "/admin/users/{user}",
                 {"role": "supervisor"}),
    "language": Form("/account/language", CW, "/account/password", {"language": "zh_Hant_HK"}),
    "user language": Form("/admin/users/{user}/language", ADMIN, "/admin/users/{user}",
                          {"language": "zh_Hant_HK"}),
    "deactivate": Form("/admin/users/{user}/deactivate", ADMIN, "/admin/users/{user}", {}),
    "reset password": Form("/admin/users/{user}/password", ADMIN, "/admin/users/{user}",
                           {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD, "sure": "y"}),
    "new case": Form("/cases/new", CW, "/cases/new", CASE_FORM),
    "edit": Form("/cases/{case}/edit", CW, "/cases/{case}/edit",
                 {**CASE_FORM, "family_name": "Leung", "version": "{version}"}, case="draft"),
    # A step without a page of its own is posted from the case page's inline form.
    "submit": Form("/cases/{case}/step/submit", CW, "/cases/{case}",
                   {"version": "{version}"}, case="draft"),
    # A step with its own page is posted from it. A step that is checked first is taken in
    # one request by posting its answers with ``confirmed`` (what the check page's button
    # sends); "refuse" posts the questions alone and is answered with the check page.
    "withdraw": Form("/cases/{case}/step/withdraw", CW, "/cases/{case}/step/withdraw",
                     {"on": "{today}", "reason": "The applicant asked.", "confirmed": "1",
                      "version": "{version}"}, case="draft"),
    "refuse as ineligible": Form("/cases/{case}/step/refuse_ineligible", CW,
                                 "/cases/{case}/step/refuse_ineligible",
                                 {"on": "{today}", "reason": "Under 18 on the submission date.",
                                  "confirmed": "1", "version": "{version}"}, case="ineligible"),
    "refuse": Form("/cases/{case}/step/refuse", CW, "/cases/{case}/step/refuse",
                   {"on": "{today}", "reason": "Salary below the market level.",
                    "version": "{version}"}, case="under_review", checked=True),
    "approve": Form("/cases/{case}/step/approve", CW, "/cases/{case}/step/approve",
                    {"on": "{today}", "confirmed": "1", "version": "{version}"},
                    case="under_review"),
    "issue visa": Form("/cases/{case}/step/issue_visa", CW, "/cases/{case}/step/issue_visa",
                       {"on": "{today}", "visa_number": "ID1234567",
                        "visa_valid_until": "{visa_until}", "version": "{version}"},
                       case="approved"),
    # The visa was issued ten days ago and allows entry for 90 days.
    "record arrival": Form("/cases/{case}/step/record_arrival", CW,
                           "/cases/{case}/step/record_arrival",
                           {"on": "{today}", "confirmed": "1", "version": "{version}"},
                           case="visa_issued"),
    # An arrival recorded after the fact: the factory's visa, issued on 16 Mar 2026, allowed
    # entry until 14 Jun 2026, and the applicant arrived on 20 Mar 2026.
    "record a past arrival": Form("/cases/{case}/step/record_arrival", CW,
                                  "/cases/{case}/step/record_arrival",
                                  {"on": "2026-03-20", "confirmed": "1",
                                   "version": "{version}"}, case="visa_expired"),
    "request extension": Form("/cases/{case}/step/request_extension", CW,
                              "/cases/{case}/step/request_extension",
                              {"on": "{today}", "months": "12", "job_offer_id": "{job_offer}",
                               "grounds": "Still with the same employer.",
                               "version": "{version}"}, case="extension_window"),
    "grant extension": Form("/cases/{case}/step/grant_extension", CW,
                            "/cases/{case}/step/grant_extension",
                            {"on": "{today}", "months": "24", "confirmed": "1",
                             "version": "{version}"}, case="extension_requested"),
    # A draft's change of scheme is checked first, like a step: posted with ``confirmed``
    # (what the check page's button sends) it is made in one request.
    "change scheme": Form("/cases/{case}/scheme", CW, "/cases/{case}/scheme",
                          {"scheme": "GEP_ENT", "business_plan": "A design studio in Kwun Tong.",
                           "programme": "", "reason": "Applied on the wrong form.",
                           "confirmed": "1", "version": "{version}"}, case="draft"),
    # The same, its answers posted alone: answered with the check page, whose button makes
    # the change with the answers it carries as hidden fields.
    "check scheme change": Form("/cases/{case}/scheme", CW, "/cases/{case}/scheme",
                                {"scheme": "GEP_PRO", "job_employer": "Harbour Analytics Ltd",
                                 "job_post": "Data engineer", "job_salary": "60000.50",
                                 "job_relevance": "Six years of data platforms.",
                                 "job_local_unavailability": "Advertised for three months.",
                                 "programme": "", "reason": "Applied on the wrong form.",
                                 "version": "{version}"}, case="draft", checked=True),
    "add dependant": Form("/cases/{case}/dependants", CW, "/cases/{case}",
                          {"relation": "spouse", "family_name": "Lee", "given_names": "Wing",
                           "date_of_birth": "1991-02-03", "nationality": "GB",
                           "passport_number": "K7654321", "version": "{version}"},
                          case="draft"),
    "remove dependant": Form("/cases/{case}/dependants/{dependant}/remove", CW, "/cases/{case}",
                             {"reason": "Added by mistake.", "version": "{version}"},
                             case="draft"),
    "take": Form("/cases/{case}/take", CW, "/cases/{case}", {"version": "{version}"},
                 case="unassigned"),
    "reassign": Form("/cases/{case}/reassign", SUP, "/cases/{case}",
                     {"assignee": "{user}", "version": "{version}"}, case="draft"),
    "bulk reassign": Form("/cases/reassign", SUP, "/cases/queue/all",
                          {"case_ids": "{case}", "assignee": "{user}", "back": ""},
                          case="draft"),
    "approve in line": Form("/cases/waiting-line/approve", SUP, "/cases/waiting-line/approve",
                            {"shown": "{case}:{version}"}, case="awaiting_quota"),
    "save filters": Form("/cases/queue/all/saved-filters", CW, "/cases/queue/all",
                         {"name": "My QMAS, oldest first", "query": "scheme=QMAS&sort=oldest"}),
    "delete saved filters": Form("/cases/saved-filters/{id}/delete", CW, "/cases/queue/all", {}),
    # The factory's case arrived on 16 Mar 2026 (the day its visa was issued).
    "correct date": Form("/cases/{case}/dates", CW, "/cases/{case}",
                         {"which": "{last_step}", "corrected": "2026-03-18",
                          "reason": "Misread the stamp.", "version": "{version}"},
                         case="in_stay"),
    "job offer": Form("/cases/{case}/job-offers", CW, "/cases/{case}",
                      {"employer": "Harbour Analytics Ltd", "post": "Data engineer",
                       "salary": "60000", "start_date": "2026-06-01",
                       "offered_on": "2026-03-10", "version": "{version}"},
                      case="in_stay"),
    "add note": Form("/cases/{case}/notes", CW, "/cases/{case}",
                     {"text": "Called the applicant.", "corrects": ""}, case="draft"),
    "quota limit": Form("/quota/limit", SUP, "/quota/",
                        {"year": "2026", "limit": "4000", "note": "Policy address."}),
    # A draft's documents are all missing (its child's too): received, waived, requested.
    "receive document": Form("/cases/{case}/documents/receive", CW, "/cases/{case}/documents",
                             {"item": "passport/applicant", "received_on": "{today}"},
                             case="draft"),
    "waive document": Form("/cases/{case}/documents/waive", CW, "/cases/{case}/documents",
                           {"item": "passport/applicant", "reason": "Seen at the counter."},
                           case="draft"),
    "request documents": Form("/cases/{case}/documents/request", CW, "/cases/{case}/documents",
                              {"items": "passport/applicant", "due_on": "{tomorrow}",
                               "message": ""}, case="draft"),
    "calendar reset": Form("/cases/calendar/reset", CW, "/cases/calendar", {}),
    "mark read": Form("/notifications/{id}/read", CW, "/notifications/", {}),
    "retry": Form("/notifications/reminders/{id}/retry", SUP, "/notifications/failed", {}),
}

NAME = "Enter the family name."
LANGUAGE = "Choose one of the languages offered."
SALARY = "Enter a monthly salary above 0 and at most 10,000,000."
REASON_TO_WITHDRAW = "Give a reason to withdraw this case"
REASON_TO_REFUSE_INELIGIBLE = "Give a reason to refuse this application as ineligible"
REASON_TO_REFUSE = "Give a reason to refuse this case"
SCHEME_REASON = "Give a reason for changing the scheme; it is recorded in the case history."
ENTER_DATE = "Enter the date as YYYY-MM-DD."
IN_THE_FUTURE = "is in the future"
BEFORE_THE_STEP = "is before the step it follows"
MONTHS = "Number must be between 1 and 120."
GROUNDS = "Give the grounds of the"  # the form's words, or (blank) the rule's
CORRECTION_REASON = "Give a reason for the correction."
TICK = "Tick at least one case."
NONE_REASSIGNED = "No case was reassigned."
NOTE_EMPTY = "The note is empty; write what is to be kept."
NOT_A_NOTE = "The note to correct is not one of this case's notes"
PASSPORT = "passport"
HKID = "HKID"

# The text table every required free-text field gets (family name of a case).
REQUIRED_TEXT = [
    (EMPTY, refused(NAME)), (BLANK, refused(NAME)), (MISSING, refused(NAME)),
    (HUGE, refused(too_long(100))), (NUL, refused(CONTROL)), (ESCAPE, refused(CONTROL)),
    (EMOJI, SAVED), (RTL, SAVED), (SQL, SAVED), (SCRIPT, SAVED), (Twice("Lee", SQL), SAVED),
]
VERSION = [
    (MISSING, refused("The form is missing its version; reload the case.")),
    (EMPTY, refused("The form is missing its version; reload the case.")),
    (STALE, refused(STALE_CASE)), ("-1", refused(STALE_CASE)), ("0", refused(STALE_CASE)),
    (INT64_OVERFLOW, refused(STALE_CASE)), (BEYOND_INT64, refused(STALE_CASE)),
    ("1e309", refused(NOT_AN_INTEGER)), ("NaN", refused(NOT_AN_INTEGER)),
    (SQL, refused(NOT_AN_INTEGER)), (NUL, refused(NOT_AN_INTEGER)),
    (Twice("-1", "{version}"), refused(STALE_CASE)),
]
SALARIES = [
    (EMPTY, refused("Enter the monthly salary.")), ("-1", refused(SALARY)),
    ("0", refused(SALARY)), ("1e309", refused(SALARY)), (BEYOND_INT64, refused(SALARY)),
    ("NaN", refused(SALARY)), ("sNaN", refused(SALARY)), ("Infinity", refused(SALARY)),
    ("-Infinity", refused(SALARY)), ("60000.125", refused("at most two decimal places")),
    (SQL, refused("Not a valid decimal value.")),
    (NUL, refused(CONTROL)),
]

# The date a step happened (its guard's refusal of a date before the step it follows is
# added per step, in its words).
STEP_DATE = [
    (EMPTY, refused(ENTER_DATE)), (BLANK, refused(NOT_A_DATE)), (MISSING, refused(ENTER_DATE)),
    ("2026-02-30", refused(NOT_A_DATE)), ("10000-01-01", refused(NOT_A_DATE)),
    (BEYOND_INT64, refused(NOT_A_DATE)), (SQL, refused(NOT_A_DATE)), (NUL, refused(CONTROL)),
    (Twice("2026-02-30", "{today}"), refused(NOT_A_DATE)),
    ("9999-12-31", refused(IN_THE_FUTURE)),
]
# What the check page's button sends: without it the answers are shown to check.
CONFIRMED = [
    (MISSING, CHECK), (EMPTY, CHECK), (BLANK, CHECK), (NUL, refused(CONTROL)),
    (Twice("1", NUL), refused(CONTROL)),
]
# The check page's "Change your answers": the questions again, whatever else is sent.
CHANGE = [("1", ASKED), (NUL, refused(CONTROL))]
VISA_NUMBER = "Enter the visa or entry permit number."
VISA_VALID_UNTIL = "Enter the last day the visa allows entry, as YYYY-MM-DD."

# (form, field, values)
POST_FIELDS = [
    ("sign in", "email", [
        (EMPTY, refused("Enter your email address.")), (HUGE, refused(too_long(254))),
        (NUL, refused(CONTROL)), (SQL, refused("The email address or password is incorrect.")),
        (Twice(SQL, "known@example.org"), refused("The email address or password is incorrect.")),
    ]),
    ("sign in", "password", [
        (MISSING, refused("Enter your password.")), (HUGE, refused(too_long(128))),
        (NUL, refused(CONTROL)),
    ]),
    ("sign in", "next", [
        (HUGE, SAVED), (SCRIPT, SAVED), ("//evil.example/", SAVED), ("/\r\nSet-Cookie: a=b", SAVED),
        (EMOJI, SAVED), (NUL, refused(CONTROL)),
    ]),
    ("password", "current_password", [
        (EMPTY, refused("Enter your current password.")),
        (HUGE, refused("Your current password is not correct.")), (NUL, refused(CONTROL)),
    ]),
    ("password", "new_password", [
        (" " * 20, refused("The password cannot be only spaces.")),
        (HUGE, refused("Use at most 128 characters.")), ("short", refused("Use at least 12")),
        (NUL * 3, refused(CONTROL)), (EMOJI * 3, refused("The two new passwords do not match.")),
    ]),
    ("password", "confirm", [
        (MISSING, refused("Repeat the new password.")),
        (SQL, refused("The two new passwords do not match.")),
    ]),
    ("new user", "full_name", [
        (EMPTY, refused("Enter the person's full name.")),
        (BLANK, refused("Enter the person's full name.")), (HUGE, refused(too_long(200))),
        (NUL, refused(CONTROL)), (EMOJI, SAVED), (RTL, SAVED), (SCRIPT, SAVED),
    ]),
    ("new user", "email", [
        (SQL, refused("Enter a valid email address")), (HUGE, refused(too_long(254))),
        (SCRIPT, refused("Enter a valid email address")), (NUL, refused(CONTROL)),
    ]),
    ("new user", "role", [
        (EMPTY, refused("Choose a role.")), (SQL, refused(NOT_A_CHOICE)),
        (HUGE, refused(NOT_A_CHOICE)), (Twice("god", "caseworker"), refused(NOT_A_CHOICE)),
        (Twice("caseworker", "admin"), SAVED),
    ]),
    ("role", "role", [
        (EMPTY, refused("Choose a role.")), (SQL, refused(NOT_A_CHOICE)),
        (NUL, refused(CONTROL)), (MISSING, refused("Choose a role.")),
    ]),
    ("new user", "language", [
        (MISSING, SAVED), ("en", SAVED), (EMPTY, refused(LANGUAGE)), (SQL, refused(LANGUAGE)),
        ("zh_Hans_CN", refused(LANGUAGE)), (NUL, refused(CONTROL)),
    ]),
    ("language", "language", [
        (EMPTY, refused(LANGUAGE)), (MISSING, refused(LANGUAGE)),
        (SQL, refused(LANGUAGE)), (HUGE, refused(LANGUAGE)), ("ZH_HANT_HK", refused(LANGUAGE)),
        (NUL, refused(CONTROL)), (Twice("fr", "en"), refused(LANGUAGE)),
    ]),
    ("user language", "language", [
        (EMPTY, refused(LANGUAGE)), (SQL, refused(LANGUAGE)), (NUL, refused(CONTROL)),
    ]),
    ("new case", "family_name", REQUIRED_TEXT),
    ("new case", "chinese_name", [
        (BLANK, SAVED), (EMOJI, SAVED), (HUGE, refused(too_long(50))), (NUL, refused(CONTROL)),
    ]),
    ("new case", "date_of_birth", [
        (EMPTY, refused("Enter the date of birth as YYYY-MM-DD.")),
        ("2026-02-30", refused(NOT_A_DATE)), ("9999-12-31", refused("is in the future")),
        ("0001-01-01", refused("would make the person older than 120")),
        (BEYOND_INT64, refused(NOT_A_DATE)), (SQL, refused(NOT_A_DATE)),
        (Twice("2026-02-30", "1990-04-05"), refused(NOT_A_DATE)),
    ]),
    ("new case", "submitted_on", [
        ("0001-01-01", refused("policy")), ("9999-12-31", refused("is in the future")),
        ("2026-02-30", refused(NOT_A_DATE)), (MISSING, refused("Enter the date the application")),
    ]),
    ("new case", "nationality", [
        (EMPTY, refused("Choose the nationality.")), (SQL, refused(NOT_A_CHOICE)),
        ("gb", refused(NOT_A_CHOICE)), (HUGE, refused(NOT_A_CHOICE)), (NUL, refused(CONTROL)),
    ]),
    ("new case", "passport_number", [
        (SQL, refused(PASSPORT)), (HUGE, refused(PASSPORT)), (EMOJI, refused(PASSPORT)),
        (BLANK, refused("Enter the passport number.")), ("k 123 4567", SAVED),
    ]),
    ("new case", "hkid", [
        (SQL, refused(HKID)), (HUGE, refused(HKID)), (BLANK, SAVED), (NUL, refused(CONTROL)),
    ]),
    ("new case", "email", [
        (SCRIPT, refused("Enter a valid email address.")), (HUGE, refused(too_long(254))),
        (BLANK, SAVED),
    ]),
    ("new case", "phone", [(HUGE, refused(too_long(30))), (SQL, SAVED), (NUL, refused(CONTROL))]),
    ("new case", "scheme", [
        (SQL, refused(NOT_A_CHOICE)), (MISSING, refused("Choose the scheme.")),
        (Twice("QMAS", "ASSG"), SAVED),
    ]),
    ("new case", "programme", [(SQL, refused(NOT_A_CHOICE))]),
    # Saving anyway: read only when the person matches someone in another case (none here),
    # but its reason is held to its length and to visible characters all the same.
    ("new case", "duplicate_reason", [
        (HUGE, refused(too_long(1000))), (NUL, refused(CONTROL)), (SCRIPT, SAVED), (EMOJI, SAVED),
        (BLANK, SAVED),
    ]),
    ("new case", "accept_duplicates", [(SQL, SAVED), (EMPTY, SAVED)]),
    ("new case", "job_salary", [(EMPTY, SAVED), *SALARIES[1:]]),
    ("new case", "business_plan", [
        (HUGE, SAVED), ("x" * 20_001, refused(too_long(20000))), (SCRIPT, SAVED),
    ]),
    ("edit", "version", [
        (MISSING, refused(STALE_CASE)), (EMPTY, refused(STALE_CASE)), (STALE, refused(STALE_CASE)),
        (INT64_OVERFLOW, refused(STALE_CASE)), ("1e309", refused(NOT_AN_INTEGER)),
    ]),
    ("edit", "family_name", REQUIRED_TEXT[:6]),
    ("edit", "submitted_on", [("9999-12-31", refused("is in the future"))]),
    ("edit", "duplicate_reason", [(HUGE, refused(too_long(1000))), (NUL, refused(CONTROL))]),
    ("submit", "version", VERSION),
    # A step's own page: its date, what the step needs, and the check page's confirmation.
    ("withdraw", "on", [*STEP_DATE, ("0001-01-01", refused("is before the submission date"))]),
    ("withdraw", "reason", [
        (EMPTY, refused(REASON_TO_WITHDRAW)), (BLANK, refused(REASON_TO_WITHDRAW)),
        (MISSING, refused(REASON_TO_WITHDRAW)), (HUGE, refused(too_long(2000))),
        (NUL, refused(CONTROL)), (EMOJI, SAVED), (SCRIPT, SAVED), (SQL, SAVED),
    ]),
    ("withdraw", "confirmed", CONFIRMED),
    ("withdraw", "change", CHANGE),
    ("withdraw", "version", VERSION[:6]),
    ("refuse as ineligible", "reason", [
        (EMPTY, refused(REASON_TO_REFUSE_INELIGIBLE)),
        (BLANK, refused(REASON_TO_REFUSE_INELIGIBLE)),
        (MISSING, refused(REASON_TO_REFUSE_INELIGIBLE)), (HUGE, refused(too_long(2000))),
        (NUL, refused(CONTROL)), (EMOJI, SAVED), (SCRIPT, SAVED),
    ]),
    ("refuse as ineligible", "version", VERSION),
    # The questions of a step checked first: what they accept is shown to check, not saved.
    ("refuse", "on", [*STEP_DATE, ("0001-01-01", refused(BEFORE_THE_STEP))]),
    ("refuse", "reason", [
        (EMPTY, refused(REASON_TO_REFUSE)), (BLANK, refused(REASON_TO_REFUSE)),
        (MISSING, refused(REASON_TO_REFUSE)), (HUGE, refused(too_long(2000))),
        (NUL, refused(CONTROL)), (EMOJI, CHECK), (SCRIPT, CHECK), (SQL, CHECK),
    ]),
    ("refuse", "version", [
        (STALE, refused(STALE_CASE)), (MISSING, refused("missing its version")),
        ("NaN", refused(NOT_AN_INTEGER)),
    ]),
    ("refuse", "confirmed", [("1", SAVED), (EMPTY, CHECK), (NUL, refused(CONTROL))]),
    ("refuse", "change", [("1", ASKED)]),
    ("approve", "on", [*STEP_DATE, ("0001-01-01", refused(BEFORE_THE_STEP))]),
    ("approve", "confirmed", CONFIRMED),
    ("approve", "change", CHANGE),
    ("approve", "version", VERSION),
    # Fields a step does not ask for are not read, whatever is sent.
    ("approve", "reason", [(NUL, SAVED), (HUGE, SAVED)]),
    ("issue visa", "on", [
        ("{tomorrow}", refused(IN_THE_FUTURE)), ("9999-12-31", refused(IN_THE_FUTURE)),
        ("0001-01-01", refused(BEFORE_THE_STEP)),
        (EMPTY, refused(ENTER_DATE)),
    ]),
    ("issue visa", "visa_number", [
        (EMPTY, refused(VISA_NUMBER)), (BLANK, refused(VISA_NUMBER)),
        (MISSING, refused(VISA_NUMBER)), (HUGE, refused(too_long(30))),
        ("V" * 31, refused(too_long(30))), (NUL, refused(CONTROL)), (ESCAPE, refused(CONTROL)),
        (SQL, SAVED), (SCRIPT, SAVED), (EMOJI, SAVED),
    ]),
    ("issue visa", "visa_valid_until", [
        (EMPTY, refused(VISA_VALID_UNTIL)), (MISSING, refused(VISA_VALID_UNTIL)),
        ("2026-02-30", refused(NOT_A_DATE)), (BEYOND_INT64, refused(NOT_A_DATE)),
        (SQL, refused(NOT_A_DATE)), (NUL, refused(CONTROL)),
        ("0001-01-01", refused("is before the day it was issued")),
        # Accepted: no rule bounds how long a visa allows entry.
        ("{today}", SAVED), ("9999-12-31", SAVED),
    ]),
    ("issue visa", "version", [(STALE, refused(STALE_CASE))]),
    ("record arrival", "on", [
        (EMPTY, refused(ENTER_DATE)), (MISSING, refused(ENTER_DATE)),
        ("2026-02-30", refused(NOT_A_DATE)),
        ("0001-01-01", refused("before the visa was issued")),
        ("{tomorrow}", refused(IN_THE_FUTURE)), (BEYOND_INT64, refused(NOT_A_DATE)),
        (NUL, refused(CONTROL)),
    ]),
    ("record arrival", "confirmed", CONFIRMED[:2]),
    ("record arrival", "version", [(STALE, refused(STALE_CASE))]),
    ("request extension", "on", [
        ("9999-12-31", refused(IN_THE_FUTURE)),
        ("0001-01-01", refused("The extension window opens on")), (EMPTY, refused(ENTER_DATE)),
    ]),
    ("request extension", "grounds", [
        (EMPTY, refused(GROUNDS)), (BLANK, refused(GROUNDS)), (MISSING, refused(GROUNDS)),
        (HUGE, refused(too_long(2000))), (NUL, refused(CONTROL)), (EMOJI, SAVED),
        (SCRIPT, SAVED), (SQL, SAVED),
    ]),
    ("request extension", "months", [
        (EMPTY, refused("Enter the length in months.")), (MISSING, refused("Enter the length")),
        ("0", refused(MONTHS)), ("-1", refused(MONTHS)), ("121", refused(MONTHS)),
        (BEYOND_INT64, refused(MONTHS)),
        ("25", refused("An extension can be asked for between 1 and 24 months.")),
        ("1e309", refused(NOT_AN_INTEGER)), ("NaN", refused(NOT_AN_INTEGER)),
        (SQL, refused(NOT_AN_INTEGER)), (NUL, refused(CONTROL)), ("24", SAVED), ("1", SAVED),
    ]),
    ("request extension", "job_offer_id", [
        (EMPTY, refused("Choose the job offer.")), (NO_SUCH_ID, refused(NOT_A_CHOICE)),
        (INT64_OVERFLOW, refused(NOT_A_CHOICE)), (SQL, refused("could not coerce")),
        (NUL, refused(CONTROL)),
    ]),
    ("request extension", "version", [(STALE, refused(STALE_CASE))]),
    ("grant extension", "months", [
        (EMPTY, refused("Enter the length in months.")), ("0", refused(MONTHS)),
        ("-1", refused(MONTHS)), ("121", refused(MONTHS)), (BEYOND_INT64, refused(MONTHS)),
        ("25", refused("An extension is granted for between 1 and 24 months.")),
        ("NaN", refused(NOT_AN_INTEGER)), (NUL, refused(CONTROL)), ("6", SAVED),
    ]),
    ("grant extension", "on", [
        ("9999-12-31", refused(IN_THE_FUTURE)), ("0001-01-01", refused(BEFORE_THE_STEP)),
    ]),
    ("grant extension", "confirmed", CONFIRMED[:2]),
    ("grant extension", "version", [(STALE, refused(STALE_CASE))]),
    # A draft's change of scheme: the new scheme, its facts, the reason, the check page's
    # confirmation (tests/cases/test_scheme_change_pages.py has the rest of its refusals).
    ("change scheme", "scheme", [
        (EMPTY, refused("Choose the new scheme.")), (MISSING, refused("Choose the new scheme.")),
        (SQL, refused(NOT_A_CHOICE)), (HUGE, refused(NOT_A_CHOICE)), ("gep_ent", refused(
            NOT_A_CHOICE)), (NUL, refused(CONTROL)),
        ("QMAS", refused("is already a QMAS case: choose another scheme.")),
        (Twice("GEP_ENT", "QMAS"), SAVED), (Twice("QMAS", "GEP_ENT"), refused("already")),
    ]),
    ("change scheme", "business_plan", [
        (EMPTY, refused("A business plan is required")),
        (BLANK, refused("A business plan is required")),
        (MISSING, refused("A business plan is required")), (HUGE, SAVED),
        ("x" * 20_001, refused(too_long(20000))), (NUL, refused(CONTROL)), (SCRIPT, SAVED),
        (EMOJI, SAVED),
    ]),
    ("change scheme", "programme", [(SQL, refused(NOT_A_CHOICE)), ("cyberport_incubation", SAVED)]),
    # Another scheme's section is not kept, but it is read by the same rules.
    ("change scheme", "job_salary", [(EMPTY, SAVED), ("60000", SAVED), *SALARIES[1:6]]),
    ("change scheme", "reason", [
        (EMPTY, refused(SCHEME_REASON)), (BLANK, refused(SCHEME_REASON)),
        (MISSING, refused(SCHEME_REASON)), (HUGE, refused(too_long(2000))),
        ("R" * 2001, refused(too_long(2000))), (NUL, refused(CONTROL)),
        (ESCAPE, refused(CONTROL)), (EMOJI, SAVED), (SCRIPT, SAVED), (SQL, SAVED),
    ]),
    ("change scheme", "version", [
        (STALE, refused(STALE_CASE)), (MISSING, refused("missing its version")),
        (EMPTY, refused("missing its version")), ("-1", refused(STALE_CASE)),
        (INT64_OVERFLOW, refused(STALE_CASE)), ("NaN", refused(NOT_AN_INTEGER)),
        (NUL, refused(NOT_AN_INTEGER)),
    ]),
    ("change scheme", "confirmed", CONFIRMED),
    ("change scheme", "change", CHANGE),
    # Asked first, the answers are checked: what they accept is shown to check, not saved.
    ("check scheme change", "job_employer", [
        (EMPTY, refused("requires a confirmed job offer; missing: employer.")),
        (HUGE, refused(too_long(200))), (NUL, refused(CONTROL)), (SCRIPT, CHECK), (EMOJI, CHECK),
    ]),
    ("check scheme change", "job_salary", [(EMPTY, refused("missing: salary.")), *SALARIES[1:]]),
    ("check scheme change", "reason", [(EMPTY, refused(SCHEME_REASON)), (SQL, CHECK)]),
    ("check scheme change", "confirmed", [("1", SAVED), (EMPTY, CHECK), (NUL, refused(CONTROL))]),
    ("add dependant", "relation", [
        (EMPTY, refused("Choose spouse or child.")), (SQL, refused(NOT_A_CHOICE)),
    ]),
    ("add dependant", "family_name", REQUIRED_TEXT[:6]),
    ("add dependant", "date_of_birth", [
        ("9999-12-31", refused("is in the future")), ("2026-02-30", refused(NOT_A_DATE)),
    ]),
    ("add dependant", "version", [(STALE, refused(STALE_CASE)), (MISSING, refused("version"))]),
    ("add dependant", "duplicate_reason", [
        (HUGE, refused(too_long(1000))), (NUL, refused(CONTROL)), (SCRIPT, SAVED),
    ]),
    ("add dependant", "accept_duplicates", [(SQL, SAVED)]),
    ("remove dependant", "reason", [
        (EMPTY, refused("Give a reason for removing the dependant.")),
        (BLANK, refused("Give a reason for removing the dependant.")),
        (HUGE, refused(too_long(2000))), (NUL, refused(CONTROL)), (SCRIPT, SAVED),
        ("R" * 501, refused("Keep the reason for removing a dependant to 500 characters")),
    ]),
    ("remove dependant", "version", [
        (STALE, refused(STALE_CASE)), ("NaN", refused(NOT_AN_INTEGER)),
    ]),
    ("take", "version", VERSION[:6]),
    ("reassign", "assignee", [
        (EMPTY, refused("Choose a caseworker.")), (NO_SUCH_ID, refused(NOT_A_CHOICE)),
        (INT64_OVERFLOW, refused(NOT_A_CHOICE)), (BEYOND_INT64, refused(NOT_A_CHOICE)),
        ("NaN", refused("could not coerce")), (SQL, refused("could not coerce")),
    ]),
    ("reassign", "version", [(STALE, refused(STALE_CASE))]),
    # Ids that are no case change nothing, and the flash says so.
    ("bulk reassign", "case_ids", [
        (MISSING, refused(TICK)), (SQL, refused(TICK)), (Twice("{case}", "NaN"), refused(TICK)),
        (NO_SUCH_ID, refused(NONE_REASSIGNED)), (INT64_OVERFLOW, refused(NONE_REASSIGNED)),
        ("-1", refused(NONE_REASSIGNED)),
    ]),
    ("bulk reassign", "assignee", [
        (EMPTY, refused("Choose a caseworker.")), (INT64_OVERFLOW, refused(NOT_A_CHOICE)),
        ("1e309", refused("could not coerce")),
    ]),
    # The versions the queue showed: one that cannot be read is explained; a case changed
    # since it was shown is named and left alone (tests/cases/test_queues.py).
    ("bulk reassign", "shown", [
        (EMPTY, refused(NOT_COERCED)), ("{case}", refused(NOT_COERCED)),
        ("{case}:x", refused(NOT_COERCED)), ("{case}:" + BEYOND_INT64, refused(NOT_COERCED)),
        ("-1:1", refused(NOT_COERCED)), (NUL, refused(CONTROL)),
        (NO_SUCH_ID + ":1", SAVED),  # a case not ticked: its version is not looked at
    ]),
    # The cases the waiting line's confirmation named (id:version): one that cannot be read
    # is explained; one that does not exist approves nothing, and the page says so.
    ("approve in line", "shown", [
        (EMPTY, refused("No case was named to approve")),
        (MISSING, refused("No case was named to approve")),
        ("{case}", refused(NOT_COERCED)), ("{case}:x", refused(NOT_COERCED)),
        ("{case}:" + BEYOND_INT64, refused(NOT_COERCED)), ("-1:1", refused(NOT_COERCED)),
        (NUL, refused(CONTROL)), (NO_SUCH_ID + ":1", refused("No case was approved.")),
    ]),  # a case changed since the page was shown: tests/cases/test_approve_in_line.py
    # A saved filter's name: required, at most 60 characters, one of a kind per user.
    ("save filters", "name", [
        (EMPTY, refused("Give these filters a name.")),
        (BLANK, refused("Give these filters a name.")),
        (MISSING, refused("Give these filters a name.")),
        (HUGE, refused(too_long(60))), ("x" * 60, SAVED), (NUL, refused(CONTROL)),
        (EMOJI, SAVED), (RTL, SAVED), (SQL, SAVED), (SCRIPT, SAVED),
    ]),
    # The filters saved: those the queue page reads (others are dropped), read as it reads
    # them; filters it would explain cannot be saved.
    ("save filters", "query", [
        (EMPTY, SAVED), (MISSING, SAVED), (SQL, SAVED), ("after=42&x=1", SAVED),
        ("status=nope", refused("These filters cannot be saved as they are")),
        ("submitted_from=2026-02-30", refused("These filters cannot be saved as they are")),
        (HUGE, refused(too_long(1000))), (NUL, refused(CONTROL)),
    ]),
    # Where to go back to after the change: only a page of this site's cases.
    ("bulk reassign", "back", [
        ("/cases/" + HUGE, SAVED), ("https://evil.example/cases/", SAVED),
        ("/cases/\r\nSet-Cookie: a=b", SAVED), ("/cases/" + EMOJI, SAVED),
        ("/cases/" + NUL, SAVED),
    ]),
    # The date correction: which date (a step's event, or the visa's validity), to what, why.
    ("correct date", "reason", [
        (EMPTY, refused(CORRECTION_REASON)), (BLANK, refused(CORRECTION_REASON)),
        (MISSING, refused(CORRECTION_REASON)), (HUGE, refused(too_long(500))),
        ("R" * 501, refused(too_long(500))), (NUL, refused(CONTROL)), (SCRIPT, SAVED),
        (EMOJI, SAVED),
    ]),
    ("correct date", "corrected", [
        (EMPTY, refused("Enter the corrected date as YYYY-MM-DD.")),
        (MISSING, refused("Enter the corrected date as YYYY-MM-DD.")),
        ("2026-02-30", refused(NOT_A_DATE)), (BEYOND_INT64, refused(NOT_A_DATE)),
        (SQL, refused(NOT_A_DATE)), (NUL, refused(CONTROL)),
        ("9999-12-31", refused("cannot be in the future")),
        ("0001-01-01", refused("cannot be before 16 Mar 2026")),
        ("2026-06-15", refused("cannot be after 14 Jun 2026")),
        ("2026-03-16", refused("is already 16 Mar 2026")),
    ]),
    # The visa's validity end is no longer corrected once the applicant has arrived.
    ("correct date", "which", [
        (EMPTY, refused("Choose the date to correct.")),
        (MISSING, refused("Choose the date to correct.")), (NO_SUCH_ID, refused(NOT_A_CHOICE)),
        (INT64_OVERFLOW, refused(NOT_A_CHOICE)), ("-1", refused(NOT_A_CHOICE)),
        (SQL, refused(NOT_A_CHOICE)), (HUGE, refused(NOT_A_CHOICE)), (NUL, refused(CONTROL)),
        ("visa_valid_until", refused(NOT_A_CHOICE)),
        (Twice(NO_SUCH_ID, "{last_step}"), refused(NOT_A_CHOICE)),
    ]),
    ("correct date", "version", [
        (STALE, refused(STALE_CASE)), (MISSING, refused("missing its version")),
        ("NaN", refused(NOT_AN_INTEGER)),
    ]),
    ("job offer", "employer", [
        (BLANK, refused("Enter the employer.")), (HUGE, refused(too_long(200))),
        (NUL, refused(CONTROL)), (SCRIPT, SAVED), (EMOJI, SAVED),
    ]),
    ("job offer", "salary", SALARIES),
    ("job offer", "start_date", [
        (EMPTY, refused("Enter the start date as YYYY-MM-DD.")),
        ("2026-02-30", refused(NOT_A_DATE)), (BEYOND_INT64, refused(NOT_A_DATE)),
        # Accepted: no rule bounds a job's start date (an open question).
        ("0001-01-01", SAVED), ("9999-12-31", SAVED),
    ]),
    ("job offer", "offered_on", [
        (EMPTY, refused("Enter the date of the offer as YYYY-MM-DD.")),
        (MISSING, refused("Enter the date of the offer as YYYY-MM-DD.")),
        ("2026-02-30", refused(NOT_A_DATE)), (NUL, refused(CONTROL)),
        ("9999-12-31", refused(IN_THE_FUTURE)),
        ("0001-01-01", refused("is before the application was submitted")),
    ]),
    ("job offer", "version", [(STALE, refused(STALE_CASE))]),
    ("add note", "text", [
        (EMPTY, refused(NOTE_EMPTY)), (BLANK, refused(NOTE_EMPTY)), (MISSING, refused(NOTE_EMPTY)),
        ("N" * 4001, refused("Keep a note to 4,000 characters (this one has 4,001)")),
        (HUGE, refused("(this one has 10,000)")), (NUL, refused(CONTROL)),
        (ESCAPE, refused(CONTROL)), (EMOJI, SAVED), (RTL, SAVED), (SQL, SAVED), (SCRIPT, SAVED),
        (Twice("Called.", NUL), refused(CONTROL)),
    ]),
    ("add note", "corrects", [
        (MISSING, SAVED), (NO_SUCH_ID, refused(NOT_A_NOTE)),
        (INT64_OVERFLOW, refused(NOT_A_NOTE)), (BEYOND_INT64, refused(NOT_A_NOTE)),
        ("-1", refused(NOT_A_NOTE)), ("0", refused(NOT_A_NOTE)),
        ("NaN", refused("could not coerce")), ("1e309", refused("could not coerce")),
        (SQL, refused("could not coerce")), (NUL, refused(CONTROL)),
    ]),
    ("quota limit", "year", [
        (EMPTY, refused("Enter the year.")), ("-1", refused(YEAR)), ("0", refused(YEAR)),
        (BEYOND_INT64, refused(YEAR_TEXT)), ("1e309", refused(YEAR_TEXT)),
        ("NaN", refused(YEAR_TEXT)), ("Infinity", refused(YEAR_TEXT)), (NUL, refused(CONTROL)),
        (Twice("1999", "2026"), refused(YEAR)),
    ]),
    ("quota limit", "limit", [
        (EMPTY, SAVED), ("-1", refused("Enter a limit between 0 and 1,000,000 places")),
        ("1000001", refused("Enter a limit between 0 and 1,000,000 places")),
        (BEYOND_INT64, refused("Enter the limit as a whole number")),
        ("1e309", refused("Enter the limit as a whole number")),
        ("NaN", refused("Enter the limit as a whole number")), (SQL, refused("Enter the limit")),
    ]),
    ("quota limit", "note", [
        (HUGE, refused("Keep the note to 500 characters.")), (NUL, refused(CONTROL)),
        (BLANK, SAVED), (SCRIPT, SAVED),
    ]),
    # The year the form was shown for and its limit's version then (the year is not set
    # here): none is not checked, nor is another year's; a version of a year that is not set
    # is someone else's change (tests/quota/test_limit_versions.py has the real race).
    ("quota limit", "version", [
        (EMPTY, SAVED), (MISSING, SAVED), ("2026:0", SAVED), ("2025:4", SAVED),
        ("2026:1", refused("was changed by someone else while you were working on it")),
        ("abc", refused("The form could not be read")),
        ("2026:" + BEYOND_INT64, refused("The form could not be read")),
        (SQL, refused("The form could not be read")), (NUL, refused(CONTROL)),
    ]),
    ("receive document", "item", [
        (EMPTY, refused("The form does not say which document")),
        (MISSING, refused("The form does not say which document")),
        ("passport/dependant:99", refused("not on this case's checklist")),
        (SQL, refused("not on this case's checklist")), (HUGE, refused("not on this case's")),
        (NUL, refused(CONTROL)), (Twice("nonsense", "passport/applicant"),
                                  refused("not on this case's checklist")),
    ]),
    ("receive document", "received_on", [
        (EMPTY, refused("Enter the date the document was received.")),
        (MISSING, refused("Enter the date the document was received.")),
        ("2026-02-30", refused("Not a valid date value.")),
        ("9999-12-31", refused("is in the future")), ("{tomorrow}", refused("is in the future")),
        (SQL, refused("Not a valid date value.")), (NUL, refused(CONTROL)),
        ("{today}", SAVED),
    ]),
    ("waive document", "reason", [
        (EMPTY, refused("Give the reason the document is not needed.")),
        (BLANK, refused("Give the reason the document is not needed.")),
        (MISSING, refused("Give the reason the document is not needed.")),
        ("x" * 501, refused("Field cannot be longer than 500 characters.")),
        (NUL, refused(CONTROL)), (SCRIPT, SAVED), (SQL, SAVED),
    ]),
    ("request documents", "items", [
        (MISSING, refused("Choose at least one document to request.")),
        (EMPTY, refused("That document is not on this case's checklist.")),
        (SQL, refused("not on this case's checklist")), (NUL, refused(CONTROL)),
        (Twice("passport/applicant", "passport/applicant"), SAVED),
    ]),
    ("request documents", "due_on", [
        (EMPTY, refused("Enter the date the documents are due.")),
        (MISSING, refused("Enter the date the documents are due.")),
        ("{today}", refused("must be due after today")),
        ("2026-02-30", refused("Not a valid date value.")),
        ("99999999999999999999", refused("Not a valid date value.")), (NUL, refused(CONTROL)),
    ]),
    ("request documents", "message", [
        ("x" * 1001, refused("Field cannot be longer than 1000 characters.")),
        (NUL, refused(CONTROL)), (SCRIPT, SAVED), (BLANK, SAVED),
    ]),
    # Forms with no fields: extra, hostile fields are ignored.
    ("calendar reset", "extra", [(NUL, SAVED), (HUGE, SAVED)]),
    ("deactivate", "extra", [(NUL, SAVED)]),
    ("reset password", "password", [
        (EMPTY, refused("Enter a temporary password.")), ("short", refused("Use at least 12")),
        (HUGE, refused("Use at most 128 characters.")), (NUL * 3, refused(CONTROL)),
        ("password1234", refused("one of the most common passwords")),
    ]),
    ("reset password", "confirm", [
        (MISSING, refused("Repeat the temporary password.")),
        (SQL, refused("The two passwords do not match.")),
    ]),
    ("reset password", "sure", [
        (MISSING, refused("Tick the box to confirm the reset.")),
        (EMPTY, refused("Tick the box to confirm the reset.")), (NUL, refused(CONTROL)),
    ]),
]

# Ids in the address of a form's target: anything that is not a row is "not found".
POST_PATHS = [
    *(("role", {"user": bad}) for bad in (NO_SUCH_ID, INT64_OVERFLOW, "-1")),
    *(("user language", {"user": bad}) for bad in (NO_SUCH_ID, INT64_OVERFLOW)),
    *(("deactivate", {"user": bad}) for bad in (NO_SUCH_ID, INT64_OVERFLOW)),
    *(("reset password", {"user": bad}) for bad in (NO_SUCH_ID, INT64_OVERFLOW, "-1")),
    *(("submit", {"case": bad}) for bad in (NO_SUCH_ID, INT64_OVERFLOW, BEYOND_INT64, "0")),
    *(("withdraw", {"case": bad}) for bad in (NO_SUCH_ID, INT64_OVERFLOW)),
    *(("change scheme", {"case": bad}) for bad in (NO_SUCH_ID, INT64_OVERFLOW, "0")),
    *(("correct date", {"case": bad}) for bad in (NO_SUCH_ID, INT64_OVERFLOW)),
    *(("remove dependant", {"dependant": bad}) for bad in (NO_SUCH_ID, INT64_OVERFLOW)),
    *(("job offer", {"case": bad}) for bad in (NO_SUCH_ID, INT64_OVERFLOW)),
    *(("add note", {"case": bad}) for bad in (NO_SUCH_ID, INT64_OVERFLOW)),
    *(("mark read", {"id": bad}) for bad in (INT64_OVERFLOW, "0")),
    *(("retry", {"id": bad}) for bad in (NO_SUCH_ID, INT64_OVERFLOW)),
    *(("delete saved filters", {"id": bad}) for bad in (NO_SUCH_ID, INT64_OVERFLOW, "0")),
]
# A step name nobody defined: neither its page nor its form exists.
BAD_STEPS = ["nope", "x" * 5000, "%00", "%27%20OR%201=1%20--", "%F0%9F%90%89", "submit%0A"]


def _post_cases():
    for form, name, values in POST_FIELDS:
        for value, outcome in values:
            yield pytest.param(form, name, value, outcome,
                               id=f"{form} {name}={value!r:.40} {outcome!r}")


# --- Helpers --------------------------------------------------------------------------------

def text_of(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def confirm_on_check_page(client, check):
    """Press the check page's button named after the step: post what its form holds (the
    answers as hidden fields, ``confirmed``, the token and the version), as a browser does."""
    page = BeautifulSoup(check.get_data(as_text=True), "html.parser")
    form = page.find(id="confirm-step").find_parent("form")
    data = {i["name"]: i.get("value", "") for i in form.find_all("input") if i.get("name")}
    return client.post(form["action"], data=data)


def snapshot() -> dict[str, list[tuple]]:
    """Every row of every table, to prove a refusal wrote nothing."""
    _db.session.rollback()
    return {table.name: sorted((tuple(row) for row in _db.session.execute(select(table))),
                               key=repr)
            for table in _db.metadata.sorted_tables}


def placeholders() -> dict[str, str]:
    """The placeholders every form may use besides its rows': today's Hong Kong date, and the
    last day of entry of a visa issued today."""
    today = hk_today()
    return {"today": today.isoformat(), "tomorrow": (today + timedelta(days=1)).isoformat(),
            "visa_until": (today + timedelta(days=90)).isoformat()}


def _walked(owner: User, submitted: date, *steps: tuple[str, date]) -> Case:
    """A GEP (Professionals) case submitted on ``submitted`` that took ``steps`` (name,
    date), each on its real date: the factory's fixed dates would leave a visa's days of
    entry in the past, or an extension window in the future."""
    case = make_case(owner, Scheme.GEP_PRO, submitted_on=submitted, today=submitted)
    receive_documents(owner, case, submitted)  # the application came with its documents
    for name, on in steps:
        services.transition(case, name, owner, data=step_data(name, on))
    return case


def _in_extension_window(owner: User, *then: str) -> Case:
    """A case whose 24-month stay ends in about ten days, inside its 28-day extension
    window; then ``then``, taken today."""
    today = hk_today()
    ends = today + timedelta(days=10)
    arrived = date(ends.year - 2, ends.month, min(ends.day, 28))
    submitted = arrived - timedelta(days=120)
    return _walked(owner, submitted, ("submit", submitted),
                   ("start_review", submitted + timedelta(days=3)),
                   ("approve", submitted + timedelta(days=30)),
                   ("issue_visa", submitted + timedelta(days=40)), ("record_arrival", arrived),
                   *((name, today) for name in then))


def case_in(kind: str, owner: User) -> tuple[Case, dict[str, str]]:
    """A case of ``kind`` (a :attr:`Form.case`) assigned to ``owner``, with a child on it
    (and, in its extension window, a job offer), committed; and the placeholders it fills.
    GEP (Professionals) for the steps after review: a scheme without a quota, so no year
    needs opening."""
    job_offer = None
    today = hk_today()
    if kind in ("draft", "unassigned"):
        case = make_case(owner)
    elif kind == "ineligible":  # QMAS, under 18 on the submission date: permanent
        case = make_case(owner, date_of_birth=date(2010, 1, 1))
    elif kind == "extension_window":
        case = _in_extension_window(owner)
        job_offer = stay.record_job_offer(owner, case, stay.JobOfferData(
            employer="Harbour Analytics Ltd", post="Data engineer", salary=Decimal("60000"),
            start_date=case.arrived_on, offered_on=case.arrived_on))
    elif kind == "extension_requested":
        case = _in_extension_window(owner, "request_extension")
    elif kind == "visa_issued":  # ten days ago, so its 90 days of entry are not over
        submitted = today - timedelta(days=60)
        case = _walked(owner, submitted, ("submit", submitted),
                       ("start_review", submitted + timedelta(days=3)),
                       ("approve", today - timedelta(days=30)),
                       ("issue_visa", today - timedelta(days=10)))
    elif kind == "awaiting_quota":  # QMAS, waiting in line while this year's quota has room
        _db.session.add(QuotaPeriod(scheme="QMAS", year=today.year, quota_limit=None,
                                    allocated=0, set_by_id=owner.id))
        case = make_case(owner, Scheme.QMAS, CaseStatus.UNDER_REVIEW)
        services.transition(case, "hold_for_quota", owner,
                            data=step_data("hold_for_quota", today))
    elif kind == "visa_expired":  # the factory's: issued on 16 Mar 2026, for 90 days
        case = make_case(owner, Scheme.GEP_PRO, CaseStatus.VISA_ISSUED)
    else:
        case = make_case(owner, Scheme.GEP_PRO, CaseStatus(kind))
    dependant = services.add_dependant(owner, case, Relationship.CHILD, dependant_data(), False,
                                       case.version)
    if case.is_open and kind not in ("draft", "unassigned", "ineligible"):
        receive_documents(owner, case, today)  # the child's documents too
    if kind == "unassigned":
        case.assignee_id = None
    _db.session.commit()
    last_step = _db.session.scalar(
        select(CaseEvent.id).where(CaseEvent.case_id == case.id,
                                   CaseEvent.kind == EventKind.TRANSITION)
        .order_by(CaseEvent.id.desc()).limit(1))
    return case, {"case": str(case.id), "version": str(case.version),
                  "dependant": str(dependant.id), "last_step": str(last_step),
                  "job_offer": str(job_offer.id) if job_offer else ""}


@pytest.fixture
def scene(db, make_user, as_role):
    """Sign in as the form's role and make the rows it acts on; return the placeholders."""

    def build(form: Form) -> dict[str, str]:
        me = as_role(form.role) or make_user(CW, email="known@example.org")
        other = make_user(CW)
        values = {"user": str(other.id), "id": NO_SUCH_ID, "me": str(me.id), **placeholders()}
        if form.case is None:
            return values
        # A supervisor acts on a caseworker's case (not the one it is given to).
        owner = make_user(CW) if form.role is SUP or form.case == "unassigned" else me
        _case, filled = case_in(form.case, owner)
        return values | filled

    return build


def filled(value: str, values: dict[str, str]) -> str:
    """A table's value with its placeholder (a whole value such as ``{today}``) filled; any
    other value is sent as it is written, braces and all."""
    return value.format(**values) if re.fullmatch(r"\{\w+\}", value) else value


def submission(form: Form, name: str, value, values: dict[str, str]) -> dict:
    data = {key: v.format(**values) for key, v in form.valid.items()}
    if value is MISSING:
        data.pop(name, None)
    elif value is STALE:
        data[name] = str(int(values["version"]) - 1)
    elif isinstance(value, Twice):
        data[name] = [filled(value.first, values), filled(value.second, values)]
    else:
        data[name] = filled(value, values)
    return data


def assert_outcome(client, response, outcome: Outcome, before, after,
                   audit: frozenset[str] = frozenset()) -> None:
    """The rule: never a 5xx; a refusal says why on the page and writes nothing (but to the
    ``audit`` tables)."""
    assert response.status_code < 500, text_of(response)[:2000]
    written = {name for name in before if before[name] != after[name]}
    if outcome is SAVED:
        assert response.status_code == 302, text_of(response)[:2000]
        assert written, "accepted, but nothing was written"
        return
    if outcome in (CHECK, ASKED):
        assert response.status_code == 200, text_of(response)[:2000]
        page = BeautifulSoup(response.get_data(as_text=True), "html.parser")
        if outcome is CHECK:
            assert page.find(id="consequences") and page.find(id="confirm-step"), \
                text_of(response)[:3000]
        else:
            assert page.find(id="continue-step") and not page.find(id="consequences"), \
                text_of(response)[:3000]
        assert not written, f"not yet confirmed, but {sorted(written)} changed"
        return
    if response.status_code == 302:  # refused with a flash on the page it came back to
        assert response.headers["Location"].startswith("/")
        response = client.get(response.headers["Location"])
        assert response.status_code < 500
    else:
        assert 400 <= response.status_code < 500
    assert outcome.message in text_of(response), text_of(response)[:3000]
    assert not written - audit, f"refused, but {sorted(written - audit)} changed"


# --- Tests ----------------------------------------------------------------------------------

@pytest.fixture
def quota_2026(db, make_user):
    """A QMAS quota for 2026, so the quota pages have a year with rows to show."""
    setter = make_user(SUP, email="quota-setter@example.org")
    _db.session.add(QuotaPeriod(scheme="QMAS", year=2026, quota_limit=None, allocated=0,
                                set_by_id=setter.id))
    _db.session.commit()


@pytest.mark.parametrize(("url", "role", "name", "value", "outcome"), list(_get_cases()))
def test_a_query_parameter_is_used_or_explained(client, as_role, quota_2026, url, role, name,
                                                value, outcome):
    me = as_role(role)
    if me is not None and me.can_work_cases():
        make_case(me)  # a row to filter, page and export
    path, _, fixed = url.partition("?")
    query = [value.first, value.second] if isinstance(value, Twice) else value
    before = snapshot()
    response = client.get(path, query_string={**parse_qs(fixed), name: query})
    text = text_of(response)
    assert response.status_code < 500, text[:2000]
    if outcome is SHOWN:
        assert response.status_code == 200, text[:2000]
    elif outcome is CSV:
        assert response.status_code == 200, text[:2000]
        assert response.mimetype == "text/csv"
        # The byte order mark, then the columns headed in the reader's words.
        assert text.startswith(("\ufeffReference,", "\ufeffTime (Hong Kong time),")), text[:200]
    elif outcome.kind == "explained":
        assert response.status_code == 422, text[:2000]
        assert outcome.message in text, text[:3000]
    elif outcome.kind == "back_to":
        assert response.status_code == 302, text[:2000]
        assert response.headers["Location"].split("?")[0] == outcome.page
        page = client.get(response.headers["Location"])
        assert page.status_code == 422
        assert outcome.message in text_of(page), text_of(page)[:3000]
    after = snapshot()
    assert not [name for name in before if before[name] != after[name]], \
        "a page that only reads wrote to the database"


@pytest.mark.parametrize(("url", "role", "status"), RAW_QUERIES, ids=[u for u, *_ in RAW_QUERIES])
def test_a_query_that_is_not_utf8_is_read_safely(client, as_role, url, role, status):
    as_role(role)
    response = client.get(url)
    assert response.status_code == status, text_of(response)[:2000]


@pytest.mark.parametrize(("url", "role"), GET_PATHS, ids=[u[:60] for u, _ in GET_PATHS])
def test_an_address_that_names_no_row_is_not_found(client, as_role, url, role):
    as_role(role)
    response = client.get(url)
    assert response.status_code == 404, text_of(response)[:2000]
    assert NOT_FOUND.message in text_of(response)


@pytest.mark.parametrize(("form_name", "name", "value", "outcome"), list(_post_cases()))
def test_a_form_refuses_bad_input_with_a_message_and_writes_nothing(
        client, scene, form_name, name, value, outcome):
    form = FORMS[form_name]
    values = scene(form)
    url, token_from = form.url.format(**values), form.token_from.format(**values)
    before = snapshot()
    response = client.post_form(url, submission(form, name, value, values), token_from=token_from)
    assert_outcome(client, response, outcome, before, snapshot(), form.audit)


@pytest.mark.parametrize(("form_name", "bad"), POST_PATHS,
                         ids=[f"{f} {b}" for f, b in POST_PATHS])
def test_a_form_posted_to_a_row_that_does_not_exist_is_not_found(client, scene, form_name, bad):
    form = FORMS[form_name]
    values = scene(form)
    data = submission(form, "unused", MISSING, values)
    before = snapshot()
    response = client.post_form(form.url.format(**(values | bad)), data,
                                token_from=form.token_from.format(**values))
    assert_outcome(client, response, NOT_FOUND, before, snapshot())
    assert response.status_code == 404


@pytest.mark.parametrize("step", BAD_STEPS)
def test_a_step_nobody_defined_is_not_found(client, scene, step):
    """Its page and its form are both "not found" in the site layout; nothing changes."""
    form = FORMS["submit"]
    values = scene(form)
    before = snapshot()
    page = client.get(f"/cases/{values['case']}/step/{step}")
    assert_outcome(client, page, NOT_FOUND, before, snapshot())
    assert page.status_code == 404
    response = client.post_form(f"/cases/{values['case']}/step/{step}",
                                {"version": values["version"], "on": values["today"]},
                                token_from=form.token_from.format(**values))
    assert_outcome(client, response, NOT_FOUND, before, snapshot())
    assert response.status_code == 404


# Steps a draft cannot take: not from its status, or (refusing as ineligible) only for a
# draft that can never be accepted.
NOT_NOW = {
    "approve": "“Approve” is not possible for a case with the status “Draft”.",
    "record_arrival": "“Record arrival” is not possible for a case with the status “Draft”.",
    "refuse_ineligible": "meets the scheme's rules, so it cannot be refused as ineligible",
}


@pytest.mark.parametrize("step", list(NOT_NOW))
def test_a_step_the_case_cannot_take_now_says_why_on_the_page_it_came_from(client, scene,
                                                                           step):
    """Its page sends the user back to the case, which says the step is not possible now;
    its form, posted all the same, is refused on the step's page with the reason."""
    form = FORMS["submit"]
    values = scene(form)
    before = snapshot()
    page = client.get(f"/cases/{values['case']}/step/{step}")
    assert page.status_code == 302
    assert page.headers["Location"] == f"/cases/{values['case']}"
    assert "is not possible" in text_of(client.get(page.headers["Location"]))
    response = client.post_form(f"/cases/{values['case']}/step/{step}",
                                {"version": values["version"], "on": values["today"],
                                 "reason": "Why not.", "confirmed": "1"},
                                token_from=form.token_from.format(**values))
    assert_outcome(client, response, refused(NOT_NOW[step]), before, snapshot())
    assert response.status_code == 422


@pytest.mark.parametrize(("field_name", "value"), [
    ("family_name", EMOJI), ("family_name", RTL), ("family_name", SQL),
    ("family_name", SCRIPT), ("business_plan", HUGE),
])
def test_odd_but_harmless_text_is_kept_exactly_and_shown_escaped(client, as_role, db, field_name,
                                                                  value):
    """What is accepted is stored as typed, not trimmed or mangled, and never becomes markup."""
    as_role(CW)
    # A business plan is kept for the scheme that asks for one (a new case keeps only its
    # scheme's section).
    scheme = "GEP_ENT" if field_name == "business_plan" else CASE_FORM["scheme"]
    response = client.post_form("/cases/new", {**CASE_FORM, "scheme": scheme, field_name: value},
                                token_from="/cases/new")
    assert response.status_code == 302
    case = db.session.scalar(select(Case))
    stored = case.business_plan if field_name == "business_plan" else case.applicant.family_name
    assert stored == value
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "<script>alert(1)</script>" not in page.lower()


def _a_row_for_id(form_name: str, values: dict[str, str]) -> dict[str, str]:
    """The forms whose ``{id}`` names no row (so their bad-input rows change nothing) get a
    real one to act on: a notification of the signed-in user, a reminder that failed."""
    from datetime import timedelta

    from backoffice.notifications.models import Notification, Reminder, ReminderState
    from tests.cases.factories import TODAY
    from tests.notifications.test_planning import plan, stay_case

    if form_name == "mark read":
        row = Notification(user_id=int(values["me"]), title="Due soon", body="Due soon.")
        _db.session.add(row)
    elif form_name == "delete saved filters":
        from backoffice.cases.models import SavedFilter

        row = SavedFilter(user_id=int(values["me"]), name="Mine", queue="all", query="")
        _db.session.add(row)
    elif form_name == "retry":
        stay_case(_db.session.get(User, int(values["user"])), TODAY + timedelta(days=14))
        plan()
        row = _db.session.scalars(select(Reminder)).first()
        row.state, row.attempts = ReminderState.FAILED, 5
    else:
        return values
    _db.session.commit()
    return values | {"id": str(row.id)}


@pytest.mark.parametrize("form_name", list(FORMS))
def test_every_form_answers_its_valid_submission_with_a_redirect(client, scene, form_name):
    """Post/redirect/get: a submission that is accepted goes to a page by GET (302/303), so a
    refresh or the back button never posts it again; only a refusal is shown in place."""
    form = FORMS[form_name]
    values = _a_row_for_id(form_name, scene(form))
    shown = client.get(form.token_from.format(**values), follow_redirects=True)
    assert shown.request.path == form.token_from.format(**values), \
        f"the page that shows the form sent the user to {shown.request.path}: " + " ".join(
            a.get_text(" ", strip=True) for a in
            BeautifulSoup(shown.get_data(as_text=True), "html.parser").select(".alert"))
    before = snapshot()
    response = client.post_form(form.url.format(**values), submission(form, "", MISSING, values),
                                token_from=form.token_from.format(**values))
    if form.checked:  # the answers to check first, then the check page's button
        assert_outcome(client, response, CHECK, before, snapshot())
        response = confirm_on_check_page(client, response)
    assert response.status_code in (302, 303), text_of(response)[:2000]
    location = response.headers["Location"]
    assert location.startswith("/") and not location.startswith("//")
    assert client.get(location).status_code < 400
    assert before != snapshot(), "accepted, but nothing was written"


# The documents forms that need a file on the case first (an upload, a check of what was
# received, a withdrawal): their refusals and redirects are in tests/documents/test_pages.py.
DOCUMENT_FORMS_TESTED_WITH_FILES = {
    "/cases/{case}/documents/upload", "/cases/{case}/documents/accept",
    "/cases/{case}/documents/reject", "/cases/{case}/documents/files/987654/withdraw"}


# POST routes that are not in FORMS (they send only their token, or are tested elsewhere):
# where their success is checked to be a redirect.
REDIRECT_CHECKED_ELSEWHERE = {
    "/logout": "tests/test_routes_by_role.py (302 to /login)",
    "/admin/users/{user}/reactivate": "tests/test_routes_by_role.py (302 to the account)",
    "/notifications/read-all": "tests/test_routes_by_role.py (302 to the centre)",
    "/language": "tests/test_routes_by_role.py (302 back), tests/core/test_i18n.py",
    "/admin/users/{user}/unlock": "tests/auth/test_throttling.py (an admin unlocks: 302)",
    **{url: "tests/documents/test_pages.py (302 back to the documents page)"
       for url in DOCUMENT_FORMS_TESTED_WITH_FILES},
}


def test_every_post_route_is_checked_for_post_redirect_get():
    from tests.test_routes_by_role import ROUTES

    posted = {url for method, url, _ in ROUTES if method == "POST"}
    walked = {form.url.replace("{id}", NO_SUCH_ID) for form in FORMS.values()}
    assert posted - walked == set(REDIRECT_CHECKED_ELSEWHERE)


# The longest (and widest) value each form accepts must fit where it is stored: a value the
# form lets through and the database refuses is a 500 on PostgreSQL and nothing on SQLite.
LONGEST_EMAIL = "a" * 64 + "@" + "b" * 63 + "." + "c" * 63 + "." + "d" * 57 + ".org"  # 254
WIDE = "\u0130"  # İ: one letter, two when lower-cased (i and a combining dot)
NUMBERS = {"salary", "year", "limit", "months"}  # stored as numbers, not as the text sent
LONGEST = [
    # A new case keeps only its scheme's section: the job offer on a GEP (Professionals)
    # case, the business plan on a GEP (Entrepreneurs) one.
    ("new case", {"family_name": "F" * 100, "given_names": "G" * 150, "chinese_name": "陳" * 50,
                  "phone": "9" * 30, "email": LONGEST_EMAIL, "scheme": "GEP_PRO",
                  "job_employer": "E" * 200, "job_post": "P" * 200}),
    ("new case", {"scheme": "GEP_ENT", "business_plan": "B" * 20_000}),
    ("new case", {"family_name": WIDE * 100, "given_names": WIDE * 150}),
    ("edit", {"family_name": WIDE * 100, "given_names": WIDE * 150}),
    ("add dependant", {"family_name": "F" * 100, "given_names": "G" * 150,
                       "chinese_name": "陳" * 50}),
    ("withdraw", {"reason": "R" * 2000}),
    ("refuse as ineligible", {"reason": "R" * 2000}),
    # Through the check page: the answers go back as hidden fields, whole.
    ("refuse", {"reason": "R" * 1999 + WIDE}),
    ("issue visa", {"visa_number": "V" * 29 + WIDE}),
    ("check scheme change", {"job_employer": "E" * 199 + WIDE, "job_post": "P" * 200,
                             "job_relevance": "R" * 5000, "job_local_unavailability": "L" * 5000,
                             "reason": "R" * 1999 + WIDE}),
    ("check scheme change", {"scheme": "GEP_ENT", "business_plan": "B" * 19_999 + WIDE}),
    ("request extension", {"grounds": "G" * 2000, "months": "24"}),
    ("remove dependant", {"reason": "R" * 500}),
    ("correct date", {"reason": "R" * 500}),
    ("job offer", {"employer": "E" * 200, "post": "P" * 200, "salary": "10000000"}),
    ("add note", {"text": "N" * 4000}),
    ("waive document", {"reason": "R" * 500}),
    ("request documents", {"message": "M" * 1000}),
    ("add note", {"text": "陳" * 4000}),
    ("quota limit", {"year": "2100", "limit": "1000000", "note": "N" * 500}),
    ("new user", {"full_name": "N" * 200, "email": LONGEST_EMAIL}),
]


@pytest.mark.parametrize(("form_name", "longest"), LONGEST,
                         ids=[f"{f} {','.join(v)}"[:60] for f, v in LONGEST])
def test_the_longest_value_a_form_accepts_is_saved_whole(client, scene, form_name, longest):
    form = FORMS[form_name]
    values = scene(form)
    data = {key: v.format(**values) for key, v in form.valid.items()} | longest
    before = snapshot()
    response = client.post_form(form.url.format(**values), data,
                                token_from=form.token_from.format(**values))
    if form.checked:
        assert_outcome(client, response, CHECK, before, snapshot())
        response = confirm_on_check_page(client, response)
    after = snapshot()
    assert_outcome(client, response, SAVED, before, after)
    # JSON columns (an event's detail_data) hold no form value and cannot go in a set.
    stored = {value for rows in after.values() for row in rows for value in row
              if not isinstance(value, dict | list)}
    assert {key for key, value in longest.items() if value not in stored} <= NUMBERS


FORMULA = "=HYPERLINK(\"https://evil.example\",\"Lee\")"


@pytest.mark.parametrize("export", ["/cases/queue/mine/export.csv", "/cases/queue/all/export.csv"])
def test_a_name_that_looks_like_a_formula_is_exported_inert(client, as_role, export):
    """A spreadsheet runs a cell that starts with = + - @; the export keeps the text, inert."""
    me = as_role(SUP)
    make_case(me, family_name=FORMULA)
    rows = read_csv(client.get(export))
    assert rows[1][rows[0].index("Family name")] == "'" + FORMULA


# Pages that read no query parameter (their ids are in GET_PATHS), and forms that send
# nothing but their token, as test_routes_by_role names them.
READS_NO_PARAMETER = {
    "/", "/account/password", "/admin/users/new", "/admin/users/{user}", "/cases/new",
    "/cases/{case}", "/cases/{case}/edit", "/cases/{case}/step/withdraw",
    "/cases/{case}/scheme", "/cases/calendar/not-a-real-token.ics",
    "/notifications/worker", "/notifications/case/{case}",
    "/cases/{case}/documents", "/cases/{case}/documents/files/987654",
    "/cases/{case}/letters/987654",
    "/healthz", "/readyz", "/cases/waiting-line/approve",
}
SENDS_ONLY_ITS_TOKEN = {"/logout", "/admin/users/{user}/reactivate", "/notifications/read-all",
                        "/admin/users/{user}/unlock"}
# Forms whose bad input is tested where they live: the language switcher's unknown codes and
# off-site addresses (tests/core/test_i18n.py); the documents forms that need a file.
TESTED_ELSEWHERE = {"/language", *DOCUMENT_FORMS_TESTED_WITH_FILES}


def test_the_tables_name_every_form_and_every_page():
    """A new form or page needs a row here (or a reason it reads no input)."""
    from tests.test_routes_by_role import ROUTES

    posted = {url for method, url, _ in ROUTES if method == "POST"}
    tested = {form.url.replace("{id}", NO_SUCH_ID) for form in FORMS.values()}
    assert posted - tested - SENDS_ONLY_ITS_TOKEN - TESTED_ELSEWHERE == set()
    pages = {url for method, url, _ in ROUTES if method == "GET"}
    read = {url for url, *_ in GET_PARAMETERS + GET_EXPORTS}
    assert pages - read - READS_NO_PARAMETER == set()
