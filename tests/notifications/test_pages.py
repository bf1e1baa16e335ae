"""The notification pages: the centre (unread first, mark read, mark all read; resolved
notifications are tests/notifications/test_resolution.py's), a case's
reminders, failed reminders and the worker's queue counts. Run on SQLite and PostgreSQL."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from backoffice.auth.models import Role
from backoffice.core.dates import utcnow
from backoffice.notifications.models import Channel, Notification, Reminder, ReminderState
from tests.cases.factories import NOW, TODAY
from tests.notifications.test_planning import plan, stay_case

BADGE = re.compile(r'(\d+)<span class="visually-hidden"> unread</span>')


def add_notifications(user, *titles_and_read: tuple[str, bool]) -> list[Notification]:
    """Notifications for ``user`` in the order given (later = newer)."""
    from backoffice.extensions import db

    rows = []
    for title, read in titles_and_read:
        row = Notification(user_id=user.id, title=title, body=f"Body of {title}.",
                           read_at=utcnow() if read else None)
        db.session.add(row)
        db.session.flush()
        rows.append(row)
    db.session.commit()
    return rows


def unread_badge(html: str) -> int:
    match = BADGE.search(html)
    return int(match.group(1)) if match else 0


def read_states(*rows: Notification) -> list[bool]:
    from backoffice.extensions import db

    for row in rows:
        db.session.refresh(row)
    states = [row.read_at is not None for row in rows]
    db.session.rollback()
    return states


# --- The centre ----------------------------------------------------------------------------------

def test_the_centre_lists_unread_first_then_newest_first(client, as_role, make_user):
    user = as_role(Role.CASEWORKER)
    add_notifications(user, ("Alpha old read", True), ("Bravo old unread", False),
                      ("Charlie new read", True), ("Delta new unread", False))
    add_notifications(make_user(Role.CASEWORKER), ("Echo someone else's", False))
    html = client.get("/notifications/").get_data(as_text=True)
    order = [html.index(title) for title in
             ("Delta new unread", "Bravo old unread", "Charlie new read", "Alpha old read")]
    assert order == sorted(order)
    assert "Echo someone else" not in html
    assert html.count("Unread: ") == 2
    assert html.count(">Mark as read</button>") == 2
    assert "Mark all as read" in html
    assert unread_badge(html) == 2


def test_an_empty_centre_says_so_and_shows_no_badge(client, as_role):
    as_role(Role.SUPERVISOR)
    html = client.get("/notifications/").get_data(as_text=True)
    assert "No notifications." in html
    assert "Mark all as read" not in html
    assert unread_badge(html) == 0


def test_marking_one_notification_read(client, as_role):
    user = as_role(Role.CASEWORKER)
    first, second = add_notifications(user, ("First", False), ("Second", False))
    response = client.post_form(f"/notifications/{first.id}/read", token_from="/notifications/")
    assert response.status_code == 302
    assert response.headers["Location"] == "/notifications/"
    assert read_states(first, second) == [True, False]
    html = client.get("/notifications/").get_data(as_text=True)
    assert unread_badge(html) == 1
    assert html.index("Second") < html.index("First")  # read ones go below


def test_marking_all_read(client, as_role, make_user):
    user = as_role(Role.CASEWORKER)
    mine = add_notifications(user, ("One", False), ("Two", False), ("Three", True))
    (theirs,) = add_notifications(make_user(Role.CASEWORKER), ("Theirs", False))
    response = client.post_form("/notifications/read-all", token_from="/notifications/",
                                follow_redirects=True)
    html = response.get_data(as_text=True)
    assert "2 notifications marked as read." in html
    assert read_states(*mine, theirs) == [True, True, True, False]
    assert unread_badge(html) == 0
    assert "Mark all as read" not in html


@pytest.mark.parametrize("url", ["/notifications/{id}/read", "/notifications/read-all"])
def test_marking_read_needs_the_csrf_token(client, as_role, url):
    user = as_role(Role.CASEWORKER)
    (row,) = add_notifications(user, ("Unread", False))
    response = client.post(url.format(id=row.id), data={})
    assert response.status_code == 400
    assert read_states(row) == [False]


def test_a_user_cannot_mark_another_users_notification(client, as_role, make_user):
    as_role(Role.CASEWORKER)
    (theirs,) = add_notifications(make_user(Role.CASEWORKER), ("Theirs", False))
    response = client.post_form(f"/notifications/{theirs.id}/read",
                                token_from="/notifications/")
    assert response.status_code == 404
    assert read_states(theirs) == [False]


def test_the_unread_badge_shows_on_every_page(client, as_role):
    user = as_role(Role.CASEWORKER)
    add_notifications(user, ("One", False), ("Two", False), ("Three", False))
    html = client.get("/cases/").get_data(as_text=True)
    assert unread_badge(html) == 3


def test_admins_have_no_notification_centre(client, as_role):
    as_role(Role.ADMIN)
    assert client.get("/notifications/").status_code == 403


# --- A case's reminders --------------------------------------------------------------------------

def test_the_case_reminders_page_lists_that_case_only(db, client, as_role, make_user):
    caseworker = make_user(Role.CASEWORKER)
    case, _ = stay_case(caseworker, TODAY + timedelta(days=14))
    other, _ = stay_case(caseworker, TODAY + timedelta(days=60),
                         email="someone.else@example.net")
    plan(now=NOW)
    email = db.session.scalars(select(Reminder).where(
        Reminder.case_id == case.id, Reminder.channel == Channel.EMAIL,
        Reminder.user_id.is_not(None))).one()
    email.state, email.sent_at = ReminderState.SENT, NOW
    db.session.commit()
    reference, case_id, other_id = case.reference, case.id, other.id

    as_role(Role.CASEWORKER)  # any caseworker may read any case
    response = client.get(f"/notifications/case/{case_id}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert f"Reminders for {reference}" in html
    assert html.count("14 days before") == 3
    assert "60 days before" not in html
    assert f"case {other_id}<" not in html
    assert caseworker.email in html
    assert "mei.ling.chan@example.com" in html
    assert "someone.else@example.net" not in html
    assert html.count("<td>Pending</td>") == 2
    assert html.count("<td>Sent</td>") == 1
    assert "In the app" in html


def test_the_case_reminders_page_of_a_missing_case_is_not_found(client, as_role):
    as_role(Role.SUPERVISOR)
    assert client.get("/notifications/case/987654").status_code == 404


def test_the_case_page_links_to_its_reminders(client, as_role):
    user = as_role(Role.CASEWORKER)
    case, _ = stay_case(user, TODAY + timedelta(days=14))
    html = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert f'href="/notifications/case/{case.id}"' in html


# --- Failed reminders and the worker ---------------------------------------------------------

def _reminders_in_every_state(db, caseworker) -> dict[str, Reminder]:
    stay_case(caseworker, TODAY + timedelta(days=14))
    stay_case(caseworker, TODAY + timedelta(days=20))
    plan(now=NOW)
    rows = list(db.session.scalars(select(Reminder).order_by(Reminder.id)))
    assert len(rows) == 6
    wanted = {1: ReminderState.SENT, 2: ReminderState.SENT, 3: ReminderState.FAILED,
              4: ReminderState.CANCELLED}  # rows 0 and 5 stay pending
    for index, state in wanted.items():
        rows[index].state = state
    rows[3].attempts, rows[3].last_error = 5, "SMTPDataError: (550, b'mailbox unavailable')"
    db.session.commit()
    return {"failed": rows[3]}


def test_the_worker_page_shows_the_queue_counts(db, client, as_role, make_user):
    _reminders_in_every_state(db, make_user(Role.CASEWORKER))
    as_role(Role.SUPERVISOR)
    response = client.get("/notifications/worker")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    queue = html[html.index("Reminder queue"):]
    counts = dict(re.findall(r'<dt class="col-sm-3">([^<]+)</dt><dd class="col-sm-9">(\d+)',
                             queue))
    assert counts == {"Waiting to be sent": "2", "Sent": "2", "Failed": "1", "Cancelled": "1"}
    assert 'href="/notifications/failed"' in queue


def test_the_worker_page_has_a_plain_title(client, as_role):
    as_role(Role.SUPERVISOR)
    html = client.get("/notifications/worker").get_data(as_text=True)
    assert "<title>Worker status · Talent Admission Back Office</title>" in html
    assert html.count("Reminder queue") == 1


def test_the_failed_page_lists_only_failed_reminders(db, client, as_role, make_user):
    failed = _reminders_in_every_state(db, make_user(Role.CASEWORKER))["failed"]
    failed_id = failed.id
    as_role(Role.SUPERVISOR)
    html = client.get("/notifications/failed").get_data(as_text=True)
    assert html.count(">Retry</button>") == 1
    assert f'action="/notifications/reminders/{failed_id}/retry"' in html
    assert "mailbox unavailable" in html
    assert "<td>Failed</td>" in html
    assert "<td>Pending</td>" not in html


@pytest.mark.parametrize(("method", "url"), [
    ("GET", "/notifications/failed"),
    ("GET", "/notifications/worker"),
    ("POST", "/notifications/reminders/{id}/retry"),
])
def test_caseworkers_cannot_see_or_retry_failed_reminders(db, client, as_role, make_user,
                                                          method, url):
    failed = _reminders_in_every_state(db, make_user(Role.CASEWORKER))["failed"]
    failed_id = failed.id
    as_role(Role.CASEWORKER)
    path = url.format(id=failed_id)
    if method == "GET":
        response = client.get(path)
    else:
        response = client.post_form(path, token_from="/notifications/")
    assert response.status_code == 403
    db.session.refresh(failed)
    assert (failed.state, failed.attempts) == (ReminderState.FAILED, 5)


def test_retrying_a_reminder_that_does_not_exist_is_not_found(client, as_role):
    as_role(Role.SUPERVISOR)
    response = client.post_form("/notifications/reminders/987654/retry",
                                token_from="/notifications/failed")
    assert response.status_code == 404


# --- The badge read with the user ----------------------------------------------------------------

def test_the_badge_follows_every_change_from_one_page_view_to_the_next(client, as_role):
    user = as_role(Role.CASEWORKER)
    first, *_ = add_notifications(user, ("One", False), ("Two", False), ("Three", False))
    assert unread_badge(client.get("/cases/").get_data(as_text=True)) == 3

    add_notifications(user, ("Four", False))
    assert unread_badge(client.get("/cases/").get_data(as_text=True)) == 4

    client.post_form(f"/notifications/{first.id}/read", token_from="/notifications/")
    assert unread_badge(client.get("/cases/").get_data(as_text=True)) == 3


def test_no_statement_of_a_page_counts_the_notifications_on_its_own(client, as_role):
    from tests.cases.test_page_statements import statements_for

    user = as_role(Role.CASEWORKER)
    add_notifications(user, ("One", False))
    statements = statements_for(client, "/cases/")
    alone = [s for s in statements if s.lstrip().upper().startswith("SELECT COUNT(*)")
             and "FROM notifications" in s]
    assert alone == []
    assert any("FROM notifications" in s and "FROM users" in s for s in statements)


# (the request's method, what a value read with the user gives): only a request that changes
# nothing may show what was read at its start.
@pytest.mark.parametrize(("method", "expected"), [("GET", 5), ("HEAD", 5), ("POST", None)])
def test_a_value_read_with_the_user_is_trusted_on_a_read_only_request(app, method, expected):
    from flask import g

    from backoffice.auth.queries import loaded_with_user

    with app.test_request_context("/", method=method):
        assert loaded_with_user("unread") is None  # nothing loaded yet
        g.loaded_with_user = {"unread": 5}
        assert loaded_with_user("unread") == expected
