"""Queues that say what is next: the next deadline (kept on the case), waiting since and
nationality columns, every sort with its keyset cursor, the capped count, bulk reassignment
that names what it skipped, the case page's way back, saved filters, All cases for
caseworkers, and the export with the new sorts. Both databases."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import pytest
from bs4 import BeautifulSoup
from sqlalchemy import select

from backoffice.auth.models import Role
from backoffice.cases import deadline_sweep, queries, routes, services, stay
from backoffice.cases.models import (
    Case,
    Deadline,
    DeadlineKind,
    DeadlineState,
    Relationship,
    SavedFilter,
)
from backoffice.cases.queries import SORTS, Filters, Queue
from backoffice.cases.schemes import CaseStatus as S
from backoffice.cases.schemes import Scheme
from backoffice.core.i18n import format_date
from tests.cases.factories import (
    FACTORY_REASON,
    TODAY,
    correct_step_date,
    dependant_data,
    hk_morning,
    make_case,
    step_data,
)
from tests.conftest import read_csv


def soup(response) -> BeautifulSoup:
    return BeautifulSoup(response.get_data(as_text=True), "html.parser")


def text(response) -> str:
    return soup(response).get_text(" ", strip=True)


def shown_references(response) -> list[str]:
    return [a.get_text(strip=True) for a in soup(response).select("tbody a.mono")]


# --- The next deadline, kept on the case ----------------------------------------------------

def first_open(db, case_id: int) -> tuple[date | None, DeadlineKind | None]:
    """The case's next open deadline, worked out from its rows (the rule, said again)."""
    rows = list(db.session.scalars(select(Deadline).where(
        Deadline.case_id == case_id, Deadline.state == DeadlineState.OPEN)))
    if not rows:
        return None, None
    best = min(rows, key=lambda d: (d.due_on, stay.NEXT_DEADLINE_ORDER[d.kind]))
    return best.due_on, best.kind


def assert_every_case_tracked(db) -> None:
    db.session.expire_all()
    for case in db.session.scalars(select(Case)):
        assert (case.next_deadline_on, case.next_deadline_kind) == first_open(db, case.id), \
            f"{case.reference} ({case.status}) keeps the wrong next deadline"


def arrive(case, actor, on: date) -> None:
    services.transition(case, "record_arrival", actor, now=hk_morning(on),
                        data=step_data("record_arrival", on))


def record_job_offer(case, actor, on: date) -> None:
    stay.record_job_offer(actor, case, stay.JobOfferData(
        employer="Harbour Analytics Ltd", post="Engineer", salary=Decimal("50000"),
        start_date=on, offered_on=on), now=hk_morning(on))


def sweep(on: date) -> None:
    deadline_sweep.sweep(on, hk_morning(on))


# Each road: the moves one case makes, each followed by the same check on every case.
ROADS = {
    "visa, arrival, job offer, window opens, stay missed and lapsed": [
        lambda c, a: arrive(c, a, TODAY),
        lambda c, a: record_job_offer(c, a, TODAY + timedelta(days=20)),
        lambda c, a: sweep(c.extension_window_opens_on),
        lambda c, a: sweep(c.stay_ends_on + timedelta(days=1)),
    ],
    "arrival corrected, then the entry deadline and the stay move": [
        lambda c, a: arrive(c, a, TODAY),
        lambda c, a: correct_step_date(a, c, "record_arrival", TODAY + timedelta(days=3),
                                       "Misread the stamp.", today=TODAY + timedelta(days=5),
                                       now=hk_morning(TODAY + timedelta(days=5))),
        lambda c, a: sweep(TODAY + timedelta(days=40)),
    ],
    "withdrawn with its visa": [
        lambda c, a: services.transition(c, "withdraw", a, reason=FACTORY_REASON,
                                         now=hk_morning(TODAY + timedelta(days=1)),
                                         data=step_data("withdraw", TODAY + timedelta(days=1))),
    ],
    "entry missed, then the approval lapses": [
        lambda c, a: sweep(c.visa_valid_until + timedelta(days=1)),
        lambda c, a: services.transition(c, "lapse", a,
                                         now=hk_morning(c.visa_valid_until + timedelta(days=2)),
                                         data=step_data("lapse", c.visa_valid_until
                                                        + timedelta(days=2))),
    ],
}


@pytest.mark.parametrize("scheme", [Scheme.QMAS, Scheme.GEP_PRO])
@pytest.mark.parametrize("road", list(ROADS))
def test_the_next_deadline_on_the_case_is_its_earliest_open_deadline_after_every_move(
        db, caseworker, scheme, road):
    bystander = make_case(caseworker, Scheme.ASSG, S.IN_STAY)  # untouched by the moves
    case = make_case(caseworker, scheme, S.VISA_ISSUED, now=hk_morning(TODAY))
    assert_every_case_tracked(db)
    assert case.next_deadline_kind == DeadlineKind.ENTRY
    for move in ROADS[road]:
        move(db.session.get(Case, case.id), caseworker)
        db.session.commit()
        assert_every_case_tracked(db)
    assert bystander.id != case.id


def test_a_case_whose_stay_ends_has_the_job_offer_first_on_the_same_day(db, caseworker):
    case = make_case(caseworker, Scheme.QMAS, S.IN_STAY)
    assert (case.next_deadline_on, case.next_deadline_kind) == (
        case.extension_window_opens_on, DeadlineKind.EXTENSION_WINDOW)
    sweep(case.extension_window_opens_on)
    db.session.commit()
    db.session.expire_all()
    case = db.session.get(Case, case.id)
    assert (case.next_deadline_on, case.next_deadline_kind) == (case.stay_ends_on,
                                                                DeadlineKind.JOB_OFFER)


def test_a_deadline_copied_onto_the_case_leaves_its_version_and_last_change(db, caseworker):
    case = make_case(caseworker, Scheme.QMAS, S.IN_STAY)
    version, updated = case.version, case.updated_at
    sweep(case.extension_window_opens_on)
    db.session.commit()
    db.session.expire_all()
    case = db.session.get(Case, case.id)
    assert case.next_deadline_kind == DeadlineKind.JOB_OFFER
    assert (case.version, case.updated_at) == (version, updated)


# --- Columns --------------------------------------------------------------------------------

@pytest.mark.parametrize(("kind", "days", "colour", "words"), [
    (DeadlineKind.STAY_END, -3, "danger", "3 days overdue"),
    (DeadlineKind.ENTRY, -1, "danger", "1 day overdue"),
    (DeadlineKind.EXTENSION_WINDOW, -2, "success", "opened 2 days ago"),
    (DeadlineKind.JOB_OFFER, 0, "warning", "today"),
    (DeadlineKind.JOB_OFFER, 1, "warning", "1 day"),
    (DeadlineKind.STAY_END, 7, "warning", "7 days"),
    (DeadlineKind.STAY_END, 8, "info", "8 days"),
    (DeadlineKind.STAY_END, 30, "info", "30 days"),
    (DeadlineKind.STAY_END, 31, "light", "31 days"),
])
def test_the_urgency_of_a_deadline_is_the_case_pages(app, kind, days, colour, words):
    with app.test_request_context():
        urgency = stay.urgency(kind, TODAY + timedelta(days=days), TODAY)
        assert (urgency.colour, str(urgency.countdown), urgency.days_left) == (colour, words,
                                                                               days)


@pytest.fixture
def frozen_today(monkeypatch):
    monkeypatch.setattr(routes, "hk_today", lambda: TODAY)
    return TODAY


def row_of(response, reference: str):
    link = soup(response).find("a", string=reference)
    return link.find_parent("tr")


@pytest.mark.parametrize(("status", "kind_words", "due", "badge", "countdown"), [
    (S.VISA_ISSUED, "Entry by (visa valid until)", TODAY + timedelta(days=90), "light",
     "90 days"),
    (S.IN_STAY, "Extension window opens", None, "light", None),
    (S.UNDER_REVIEW, None, None, None, None),
])
def test_each_row_shows_its_next_deadline_waiting_since_and_nationality_by_name(
        client, as_role, frozen_today, app, status, kind_words, due, badge, countdown):
    me = as_role(Role.CASEWORKER)
    case = make_case(me, Scheme.QMAS, status, nationality="JP")
    row = row_of(client.get("/cases/queue/mine"), case.reference)
    cells = {th.get_text(strip=True): td for th, td in zip(
        soup(client.get("/cases/queue/mine")).select("thead th"), row.find_all("td"),
        strict=True)}
    with app.test_request_context():
        waiting = format_date(case.status_since)
        due_words = format_date(due or case.next_deadline_on) if kind_words else None
    deadline = cells["Next deadline"]
    if kind_words is None:
        assert deadline.get_text(strip=True) == "None open"
    else:
        assert kind_words in deadline.get_text(" ", strip=True)
        assert due_words in deadline.get_text(" ", strip=True)
        assert f"text-bg-{badge}" in deadline.select_one(".badge")["class"]
        if countdown:
            assert deadline.select_one(".badge").get_text(strip=True) == countdown
    assert cells["Waiting since"].get_text(strip=True) == waiting
    assert cells["Nationality"].get_text(strip=True) == "Japan"


def test_nationality_is_named_in_the_readers_language(client, as_role):
    me = as_role(Role.CASEWORKER)
    case = make_case(me, nationality="JP")
    client.post_form("/language", {"language": "zh_Hant_HK"}, token_from="/cases/")
    row = row_of(client.get("/cases/queue/mine"), case.reference)
    assert "日本" in row.get_text()


# --- Sorts and their cursors ----------------------------------------------------------------

def mixed_cases(actor) -> list[Case]:
    """Cases with deadlines on different days, two on one day, and several with none."""
    return [
        make_case(actor, Scheme.QMAS, S.VISA_ISSUED, now=hk_morning(TODAY)),
        make_case(actor, Scheme.GEP_PRO, S.VISA_ISSUED, now=hk_morning(TODAY)),  # same day
        make_case(actor, Scheme.ASSG, S.VISA_ISSUED, now=hk_morning(TODAY - timedelta(5))),
        make_case(actor, Scheme.QMAS, S.IN_STAY),
        make_case(actor, Scheme.QMAS, submitted_on=date(2026, 1, 5)),  # no deadline
        make_case(actor, Scheme.ASSG, S.UNDER_REVIEW),  # no deadline
        make_case(actor, Scheme.GEP_ENT, S.SUBMITTED, submitted_on=date(2026, 2, 1)),  # none
    ]


def _nulls_last(value):
    return (value is None, value or date.min)


# sort → the order it must give, as a key on the case (ids break ties).
ORDERS = {
    "newest": (lambda c: -c.id),
    "oldest": (lambda c: c.id),
    "submitted_desc": (lambda c: (-c.submitted_on.toordinal(), -c.id)),
    "submitted_asc": (lambda c: (c.submitted_on, c.id)),
    "next_deadline": (lambda c: (*_nulls_last(c.next_deadline_on), c.id)),
    "updated_desc": (lambda c: (-c.updated_at.timestamp(), -c.id)),
    "reference": (lambda c: c.reference),
    "waiting": (lambda c: (*_nulls_last(c.status_since), c.reference)),
}


def test_every_sort_has_its_expected_order():
    assert set(ORDERS) == set(SORTS)


@pytest.mark.parametrize("page_size", [1, 2, 3, 50])
@pytest.mark.parametrize("sort", list(ORDERS))
def test_each_sort_pages_by_cursor_through_every_case_once_in_order(db, supervisor, sort,
                                                                    page_size):
    cases = mixed_cases(supervisor)
    db.session.expire_all()
    expected = [c.reference for c in sorted(db.session.scalars(select(Case)), key=ORDERS[sort])]
    seen, cursor, pages = [], None, 0
    while True:
        page = queries.queue_page(Queue.ALL, supervisor, Filters(sort=sort), cursor, page_size)
        seen += [row.reference for row in page.rows]
        pages += 1
        assert pages <= len(cases) + 1, "the cursor went round in circles"
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert seen == expected


def test_the_queue_pages_by_next_deadline_across_cases_with_none(client, as_role, monkeypatch):
    me = as_role(Role.SUPERVISOR)
    mixed_cases(me)
    monkeypatch.setattr(queries, "PAGE_SIZE", 2)
    expected = [r.reference for r in queries.queue_page(
        Queue.ALL, me, Filters(sort="next_deadline"), page_size=50).rows]
    url, seen = "/cases/queue/all?sort=next_deadline", []
    while url:
        response = client.get(url)
        assert response.status_code == 200
        seen += shown_references(response)
        link = soup(response).find("a", string="Next page")
        url = link["href"] if link else None
    assert seen == expected
    assert expected[-3:] == [r for r in expected if r in expected[-3:]]  # the three with none


@pytest.mark.parametrize(("sort", "cursor"), [
    ("next_deadline", "~x"), ("next_deadline", "garbage"), ("updated_desc", "yesterday~1"),
    ("reference", "\x01"), ("nonsense", "1"), ("next_deadline", "~"),
])
def test_a_bad_sort_or_cursor_falls_back_to_a_page(client, as_role, sort, cursor):
    me = as_role(Role.CASEWORKER)
    case = make_case(me)
    response = client.get("/cases/queue/mine", query_string={"sort": sort, "after": cursor})
    assert response.status_code in (200, 422)
    assert case.reference in shown_references(response) or "Not a valid choice" in text(response)


# --- The count ------------------------------------------------------------------------------

@pytest.mark.parametrize(("cases", "limit", "page_size", "words"), [
    (0, 3, 50, "0 cases match."),
    (1, 3, 50, "1 case matches."),
    (3, 3, 2, "3 cases match."),  # more than a page: counted, within the limit
    (4, 3, 2, "More than 3 cases match."),
    (4, 3, 50, "4 cases match."),  # one page holds them all: the page is the count
])
def test_the_count_is_exact_when_cheap_and_capped_otherwise(client, as_role, monkeypatch,
                                                            cases, limit, page_size, words):
    me = as_role(Role.CASEWORKER)
    for _ in range(cases):
        make_case(me)
    monkeypatch.setattr(queries, "COUNT_LIMIT", limit)
    monkeypatch.setattr(queries, "PAGE_SIZE", page_size)
    assert soup(client.get("/cases/queue/mine")).select_one("#result-count").get_text(
        strip=True) == words


def test_the_count_reads_at_most_one_row_past_its_limit(db, supervisor, monkeypatch):
    for _ in range(5):
        make_case(supervisor)
    monkeypatch.setattr(queries, "COUNT_LIMIT", 2)
    assert queries.queue_count(Queue.ALL, supervisor, Filters()) is None
    monkeypatch.setattr(queries, "COUNT_LIMIT", 5)
    assert queries.queue_count(Queue.ALL, supervisor, Filters()) == 5
    assert queries.queue_count(Queue.ALL, supervisor, Filters(scheme=Scheme.ASSG)) == 0


# --- Bulk reassignment ----------------------------------------------------------------------

def test_bulk_reassignment_names_every_case_skipped_and_why(client, as_role, make_user,
                                                              db):
    boss = as_role(Role.SUPERVISOR)
    owner, target = make_user(Role.CASEWORKER), make_user(Role.CASEWORKER, full_name="Ada Lee")
    moving = make_case(owner)
    ended = make_case(owner, status=S.WITHDRAWN)
    theirs = make_case(target)
    changed = make_case(owner)
    page = soup(client.get("/cases/queue/all"))
    shown = [i["value"] for i in page.select("input[name=shown]")]
    assert f"{changed.id}:{changed.version}" in shown
    # Its owner changes it after the queue was shown (a dependant added moves its version).
    services.add_dependant(owner, changed, Relationship.CHILD, dependant_data(), False,
                           expected_version=changed.version)
    db.session.commit()
    response = client.post_form("/cases/reassign", {
        "case_ids": [str(c.id) for c in (moving, ended, theirs, changed)], "shown": shown,
        "assignee": str(target.id), "back": "/cases/queue/all?sort=reference"},
        token_from="/cases/queue/all")
    assert response.headers["Location"] == "/cases/queue/all?sort=reference"
    said = text(client.get(response.headers["Location"]))
    assert "1 case reassigned to Ada Lee." in said
    assert f"Not reassigned, because the case has ended: {ended.reference}." in said
    assert f"Not reassigned, because already assigned to Ada Lee: {theirs.reference}." in said
    assert "someone else changed the case after the queue was shown" in said
    assert changed.reference in said.split("someone else changed")[1]
    assert boss is not None


def test_the_select_all_box_is_offered_to_a_script_and_works_without_one(client, as_role):
    me = as_role(Role.SUPERVISOR)
    make_case(me)
    page = soup(client.get("/cases/queue/unassigned"))
    page_all = soup(client.get("/cases/queue/all"))
    box = page_all.select_one("input[data-select-all=case_ids]")
    assert box is not None and box.has_attr("hidden")  # shown by app.js
    assert page_all.select("input[name=case_ids]")  # each box works on its own
    assert page.select_one("form#bulk") is not None


# --- The way back from a case ---------------------------------------------------------------

def test_the_case_page_goes_back_to_the_queue_filters_and_page_it_came_from(client, as_role,
                                                                            monkeypatch):
    me = as_role(Role.SUPERVISOR)
    for _ in range(3):
        make_case(me, Scheme.QMAS)
    monkeypatch.setattr(queries, "PAGE_SIZE", 2)
    first = client.get("/cases/queue/all?scheme=QMAS&sort=oldest")
    second_url = soup(first).find("a", string="Next page")["href"]
    second = client.get(second_url)
    link = soup(second).select_one("tbody a.mono")["href"]
    back = parse_qs(urlsplit(link).query)["back"][0]
    assert back.startswith("/cases/queue/all?") and "after=" in back and "scheme=QMAS" in back
    case_page = client.get(link)
    back_link = soup(case_page).find("a", string=lambda s: s and s.startswith("←"))
    assert back_link["href"] == back
    assert back_link.get_text(strip=True) == "← All cases"
    assert shown_references(client.get(back_link["href"])) == shown_references(second)


@pytest.mark.parametrize("forged", [
    "https://evil.example/cases/queue/all", "//evil.example/cases/queue/all",
    "/admin/users", "/cases/queue/nonsense", "/cases/queue/all/export.csv",
    "javascript:alert(1)", "/cases/queue/all\\@evil.example", "/cases/queue/all\r\nX: y",
    "/cases/" + "x" * 3000, "",
])
def test_a_forged_back_falls_back_to_my_cases(client, as_role, forged):
    me = as_role(Role.CASEWORKER)
    case = make_case(me)
    page = client.get(f"/cases/{case.id}", query_string={"back": forged})
    assert page.status_code == 200
    back_link = soup(page).find("a", string=lambda s: s and s.startswith("←"))
    assert back_link["href"] == "/cases/"
    assert back_link.get_text(strip=True) == "← My cases"


def test_the_case_page_remembers_the_queue_last_shown(client, as_role):
    me = as_role(Role.CASEWORKER)
    case = make_case(me)
    client.get("/cases/queue/all?scheme=QMAS")
    back_link = soup(client.get(f"/cases/{case.id}")).find(
        "a", string=lambda s: s and s.startswith("←"))
    assert back_link["href"] == "/cases/queue/all?scheme=QMAS"


# --- Saved filters --------------------------------------------------------------------------

def save(client, name: str, query: str = "scheme=QMAS&sort=oldest", queue: str = "all"):
    return client.post_form(f"/cases/queue/{queue}/saved-filters",
                            {"name": name, "query": query}, token_from=f"/cases/queue/{queue}")


def tabs(response) -> list[str]:
    return [a.get_text(" ", strip=True).removeprefix("Saved filters: ")
            for a in soup(response).select(".queue-tabs a.saved-filter")]


def test_saved_filters_are_kept_shown_as_tabs_and_deleted(client, as_role, db):
    as_role(Role.CASEWORKER)
    response = save(client, "  My QMAS,   oldest first ")
    assert response.status_code == 302
    assert response.headers["Location"] == "/cases/queue/all?scheme=QMAS&sort=oldest"
    page = client.get(response.headers["Location"])
    assert tabs(page) == ["My QMAS, oldest first"]
    active = soup(page).select_one(".queue-tabs a.active")
    assert "My QMAS, oldest first" in active.get_text()
    assert soup(page).select_one("form[action$='/delete']") is not None
    # The same filters in another spelling are the same saved filters.
    assert "active" in soup(client.get("/cases/queue/all?sort=oldest&scheme=QMAS&q=")) \
        .select_one(".queue-tabs a.saved-filter")["class"]

    saved = db.session.scalars(select(SavedFilter)).one()
    response = client.post_form(f"/cases/saved-filters/{saved.id}/delete", {},
                                token_from=response.headers["Location"])
    assert response.headers["Location"] == "/cases/queue/all"
    assert tabs(client.get("/cases/queue/all")) == []


@pytest.mark.parametrize(("name", "query", "error"), [
    ("", "scheme=QMAS", "Give these filters a name."),
    ("   ", "scheme=QMAS", "Give these filters a name."),
    ("x" * 61, "scheme=QMAS", "Field cannot be longer than 60 characters."),
    ("Mine", "scheme=QMAS", "You already have saved filters called “Mine”"),
    ("mine two", "status=nonsense", "These filters cannot be saved as they are"),
])
def test_a_saved_filter_is_refused_with_a_clear_message(client, as_role, name, query, error):
    as_role(Role.CASEWORKER)
    assert save(client, "Mine", "sort=oldest").status_code == 302
    response = save(client, name, query)
    assert response.status_code == 422
    assert error in text(response)
    assert tabs(response) == ["Mine"]


def test_saved_filters_are_their_owners_alone(client, as_role, login, make_user, db):
    as_role(Role.CASEWORKER)
    save(client, "Mine")
    theirs = db.session.scalars(select(SavedFilter)).one()
    client.post_form("/logout", {}, token_from="/cases/")
    other = make_user(Role.CASEWORKER)
    login(other)
    assert tabs(client.get("/cases/queue/all")) == []
    assert save(client, "Mine").status_code == 302  # the same name is free for another user
    response = client.post_form(f"/cases/saved-filters/{theirs.id}/delete", {},
                                token_from="/cases/queue/all")
    assert response.status_code == 404
    assert db.session.get(SavedFilter, theirs.id) is not None


def test_at_most_twenty_saved_filters(client, as_role, monkeypatch):
    as_role(Role.CASEWORKER)
    monkeypatch.setattr(services, "SAVED_FILTERS_PER_USER", 2)
    assert save(client, "One").status_code == 302
    assert save(client, "Two").status_code == 302
    response = save(client, "Three")
    assert response.status_code == 422
    assert "at most 2 saved filters" in text(response)


# --- All cases for caseworkers, read-only ---------------------------------------------------

@pytest.mark.parametrize(("role", "bulk", "export"), [
    (Role.CASEWORKER, False, False),
    (Role.SUPERVISOR, True, True),
])
def test_all_cases_is_everyones_but_reassignment_and_export_are_supervisors(
        client, as_role, make_user, role, bulk, export):
    as_role(role)
    colleague = make_user(Role.CASEWORKER)
    case = make_case(colleague)
    response = client.get("/cases/queue/all")
    assert response.status_code == 200
    page = soup(response)
    assert case.reference in shown_references(response)
    assert (page.select_one("form#bulk") is not None) is bulk
    assert bool(page.select("input[name=case_ids]")) is bulk
    assert (page.find("a", string="Export CSV") is not None) is export
    assert "All cases" in [a.get_text(strip=True) for a in page.select(".queue-tabs a")]


# --- Small screens --------------------------------------------------------------------------

def test_the_filters_fold_under_a_toggle_and_the_table_scrolls_in_its_own_box(client,
                                                                             as_role):
    as_role(Role.CASEWORKER)
    page = soup(client.get("/cases/queue/mine"))
    details = page.select_one("details.queue-filters")
    assert details.has_attr("open")  # without a script the filters are there
    assert details.has_attr("data-fold-below-md")  # app.js folds them on a narrow screen
    assert details.select_one("summary").get_text(strip=True) == "Filters"
    assert details.select_one("form[role=search]") is not None
    box = page.select_one("div.table-responsive")
    assert box["tabindex"] == "0" and box.select_one("table") is not None


# --- The export with the new sorts ----------------------------------------------------------

@pytest.mark.parametrize("sort", list(ORDERS))
def test_the_export_follows_every_sort(client, as_role, sort):
    me = as_role(Role.SUPERVISOR)
    mixed_cases(me)
    expected = [r.reference for r in queries.queue_page(Queue.ALL, me, Filters(sort=sort),
                                                        page_size=50).rows]
    response = client.get("/cases/queue/all/export.csv", query_string={"sort": sort})
    assert response.status_code == 200
    rows = read_csv(response)
    assert [row[0] for row in rows[1:]] == expected


def test_the_bulk_loader_keeps_the_next_deadline_as_the_services_do(app, db):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["seed-demo", "--cases", "300", "--chunk-size", "100"])
    assert result.exit_code == 0, result.output
    assert_every_case_tracked(db)
    assert db.session.scalar(select(Case.id).where(Case.next_deadline_on.is_not(None)).limit(1))


def test_a_hand_made_queue_address_too_long_to_remember_is_not_kept(client, as_role):
    me = as_role(Role.CASEWORKER)
    case = make_case(me)
    client.get("/cases/queue/all?scheme=QMAS")
    client.get("/cases/queue/all", query_string={"after": "9" * 3000})
    back_link = soup(client.get(f"/cases/{case.id}")).find(
        "a", string=lambda s: s and s.startswith("←"))
    assert back_link["href"] == "/cases/queue/all?scheme=QMAS"


# --- The statements kept per page ----------------------------------------------------------------

def test_the_same_page_again_reuses_its_statements(db, make_user):
    me = make_user(Role.SUPERVISOR)
    make_case(me, Scheme.QMAS, S.UNDER_REVIEW)
    filters = Filters(scheme=Scheme.QMAS, sort="next_deadline")
    first = queries._page_statements(Queue.ALL, None, filters, None, 51)

    queries.queue_page(Queue.ALL, me, filters)

    assert queries._page_statements(Queue.ALL, None, filters, None, 51) is first
    assert queries._page_statements(Queue.ALL, None, Filters(scheme=Scheme.ASSG,
                                                             sort="next_deadline"),
                                    None, 51) is not first


def test_each_caseworker_sees_only_their_own_cases_in_mine_however_often_asked(client,
                                                                              make_user, login):
    ann, ben = make_user(Role.CASEWORKER), make_user(Role.CASEWORKER)
    references = {ann.id: make_case(ann).reference, ben.id: make_case(ben).reference}

    for user, other in ((ann, ben), (ben, ann), (ann, ben), (ben, ann)):
        login(user)
        html = client.get("/cases/queue/mine").get_data(as_text=True)
        assert references[user.id] in html and references[other.id] not in html
        client.post_form("/logout", token_from="/cases/queue/mine")


# (where the app is mounted, the start of every tab's address): the addresses are kept per
# mount point, so one app served under two prefixes links each to its own.
@pytest.mark.parametrize("mount", ["", "/office", "", "/office"])
def test_the_queue_tabs_link_each_queue_under_the_apps_own_mount_point(client, as_role, mount):
    as_role(Role.SUPERVISOR)
    page = soup(client.get("/cases/queue/all", base_url=f"http://localhost{mount}"))
    tabs = [a["href"] for a in page.select(".queue-tabs a.nav-link")]
    assert tabs == [f"{mount}/cases/queue/{q.value}" for q in Queue]
    assert page.select_one("details.queue-filters form")["action"] == f"{mount}/cases/queue/all"


def test_the_assignee_options_are_kept_per_list_of_people_and_follow_a_change():
    from backoffice.cases.forms import assignee_choices

    class Person:
        def __init__(self, id_: int, name: str) -> None:
            self.id, self.full_name = id_, name

    team = [Person(1, "Chan Tai Man"), Person(2, "Lee Ka Yan")]
    first = assignee_choices(team)
    assert assignee_choices(list(team)) is first
    assert [(c.value, c.label) for c in first] == [(1, "Chan Tai Man"), (2, "Lee Ka Yan")]
    grown = assignee_choices([*team, Person(3, "Wong Mei Ling")])
    assert [c.value for c in grown] == [1, 2, 3]
    renamed = assignee_choices([Person(1, "Chan Siu Ming"), team[1]])
    assert renamed[0].label == "Chan Siu Ming"
    with_anyone = assignee_choices(team, anyone=True)
    assert [c.value for c in with_anyone] == ["", 1, 2]
