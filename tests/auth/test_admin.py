"""The admin's account pages: list, create, change role, deactivate and the security log."""

from __future__ import annotations

from html import unescape

import pytest
from flask import Flask
from sqlalchemy import func, select

from backoffice.auth.models import Role, SecurityEvent, SecurityEventKind, User
from backoffice.auth.services import describe_detail
from backoffice.extensions import db as _db
from tests.conftest import PASSWORD, Client

NEW_PASSWORD = "a long initial password"


def page_text(response) -> str:
    """The page as a reader sees it (``person's``, not ``person&#39;s``)."""
    return unescape(response.get_data(as_text=True))


def user_count() -> int:
    return _db.session.scalar(select(func.count()).select_from(User))


def fresh(user: User) -> User:
    """``user`` as the database has it now (the requests ran in their own sessions)."""
    _db.session.rollback()
    _db.session.expire_all()
    return _db.session.get(User, user.id)


def events_of(user: User) -> list[SecurityEvent]:
    _db.session.rollback()
    query = select(SecurityEvent).where(SecurityEvent.user_id == user.id)
    return list(_db.session.scalars(query.order_by(SecurityEvent.id)))


def signed_in_client(app: Flask, user: User) -> Client:
    """A second browser, signed in as ``user``."""
    other = app.test_client()
    assert isinstance(other, Client)
    response = other.post_form("/login", {"email": user.email, "password": PASSWORD})
    assert response.status_code == 302, response.get_data(as_text=True)
    assert other.get("/account/password").status_code == 200
    return other


def assert_sent_to_login(client: Client) -> None:
    response = client.get("/account/password")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")


def valid_new_user(**changes: str) -> dict[str, str]:
    return {"full_name": "Lee Ka Yan", "email": "lee@example.org", "role": "caseworker",
            "password": NEW_PASSWORD, "confirm": NEW_PASSWORD} | changes


# --- Listing ---------------------------------------------------------------------------------

def test_users_page_lists_every_account_with_role_and_status(client, make_user, as_role):
    admin = as_role(Role.ADMIN)
    worker = make_user(Role.CASEWORKER, full_name="Chan Tai Man")
    gone = make_user(Role.SUPERVISOR, full_name="Ho Wing Sze", active=False)
    response = client.get("/admin/users")
    assert response.status_code == 200
    html = page_text(response)
    for user in (admin, worker, gone):
        assert user.full_name in html
        assert user.email in html
        assert f'href="/admin/users/{user.id}"' in html
    assert "Supervisor" in html
    assert "Deactivated" in html
    assert 'href="/admin/users/new"' in html


# --- Creating accounts ------------------------------------------------------------------------

def test_create_user_redirects_to_its_page_and_records_who_did_it(client, as_role, db):
    admin = as_role(Role.ADMIN)
    response = client.post_form("/admin/users/new", valid_new_user(email="Lee@Example.ORG"))
    assert response.status_code == 302
    user = db.session.scalar(select(User).where(User.email == "lee@example.org"))
    assert user is not None
    assert response.headers["Location"] == f"/admin/users/{user.id}"
    assert (user.full_name, user.role, user.active) == ("Lee Ka Yan", Role.CASEWORKER, True)

    [event] = events_of(user)
    assert event.kind == SecurityEventKind.USER_CREATED
    assert event.actor_id == admin.id
    assert (event.detail, event.detail_data) == (
        None, {"key": "user_created_temporary", "values": {"role": "caseworker"}})
    assert describe_detail(event) == "Role: Caseworker; temporary password."

    page = client.get(response.headers["Location"])
    assert page.status_code == 200
    assert "Account created for Lee Ka Yan (Caseworker)." in page_text(page)
    # The new account works with the initial password, which opens only the page where
    # the person chooses their own.
    client.post_form("/logout", token_from="/admin/users")
    response = client.post_form("/login", {"email": "lee@example.org", "password": NEW_PASSWORD})
    assert response.status_code == 302
    assert response.headers["Location"] == "/account/password"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"full_name": ""}, "Enter the person's full name."),
        ({"full_name": "   "}, "Enter the person's full name."),
        ({"email": ""}, "Enter an email address."),
        ({"email": "not-an-email"}, "Enter a valid email address, like name@example.org."),
        ({"email": "TAKEN@Example.org"},
         "An account with the email taken@example.org already exists."),
        ({"password": "short", "confirm": "short"}, "Use at least 12 characters."),
        ({"password": " " * 12, "confirm": " " * 12}, "The password cannot be only spaces."),
        ({"password": "x" * 129, "confirm": "x" * 129}, "Use at most 128 characters."),
        ({"confirm": "a different long password"}, "The two passwords do not match."),
        ({"role": "superuser"}, "Not a valid choice."),
        ({"role": ""}, "Choose a role."),
        ({"full_name": "x" * 201}, "Field cannot be longer than 200 characters."),
    ],
)
def test_create_user_refusals_show_on_the_page(client, make_user, as_role, changes, message):
    as_role(Role.ADMIN)
    make_user(Role.CASEWORKER, email="taken@example.org")
    before = user_count()
    response = client.post_form("/admin/users/new", valid_new_user(**changes))
    assert response.status_code == 422
    html = page_text(response)
    assert message in html
    assert "There is a problem" in html
    assert user_count() == before


# --- Changing roles ---------------------------------------------------------------------------

def test_change_role_records_event_and_ends_that_users_sessions(app, client, make_user,
                                                                as_role):
    admin = as_role(Role.ADMIN)
    worker = make_user(Role.CASEWORKER)
    their_browser = signed_in_client(app, worker)

    response = client.post_form(f"/admin/users/{worker.id}/role", {"role": "supervisor"})
    assert response.status_code == 302
    assert response.headers["Location"] == f"/admin/users/{worker.id}"
    assert fresh(worker).role == Role.SUPERVISOR
    event = events_of(worker)[-1]
    assert event.kind == SecurityEventKind.ROLE_CHANGED
    assert event.actor_id == admin.id
    assert event.detail_data == {"key": "role_changed",
                                 "values": {"old": "caseworker", "new": "supervisor"}}
    assert describe_detail(event) == "Caseworker → Supervisor"
    assert "role is now Supervisor" in page_text(client.get(response.headers["Location"]))

    assert_sent_to_login(their_browser)


def test_setting_the_same_role_changes_nothing(app, client, make_user, as_role):
    as_role(Role.ADMIN)
    worker = make_user(Role.CASEWORKER)
    their_browser = signed_in_client(app, worker)
    response = client.post_form(f"/admin/users/{worker.id}/role", {"role": "caseworker"})
    assert response.status_code == 302
    assert SecurityEventKind.ROLE_CHANGED not in [e.kind for e in events_of(worker)]
    assert their_browser.get("/account/password").status_code == 200


@pytest.mark.parametrize("role", ["", "superuser", "ADMIN"])
def test_change_role_to_an_unknown_role_is_refused(client, make_user, as_role, role):
    as_role(Role.ADMIN)
    worker = make_user(Role.CASEWORKER)
    response = client.post_form(f"/admin/users/{worker.id}/role", {"role": role},
                                token_from=f"/admin/users/{worker.id}")
    assert response.status_code == 422
    assert ("Choose a role." if not role else "Not a valid choice.") in page_text(response)
    assert fresh(worker).role == Role.CASEWORKER


@pytest.mark.parametrize("role", ["caseworker", "supervisor"])
def test_admin_cannot_change_their_own_role(client, as_role, role):
    admin = as_role(Role.ADMIN)
    response = client.post_form(f"/admin/users/{admin.id}/role", {"role": role},
                                token_from=f"/admin/users/{admin.id}")
    assert response.status_code == 422
    assert "You cannot change your own role; ask another administrator." in page_text(response)
    assert fresh(admin).role == Role.ADMIN
    assert SecurityEventKind.ROLE_CHANGED not in [e.kind for e in events_of(admin)]
    assert client.get("/admin/users").status_code == 200  # still signed in, still admin


# --- Deactivating and reactivating ------------------------------------------------------------

def test_deactivate_ends_sessions_at_once_and_refuses_sign_in(app, client, make_user, as_role):
    admin = as_role(Role.ADMIN)
    worker = make_user(Role.CASEWORKER)
    their_browser = signed_in_client(app, worker)

    response = client.post_form(f"/admin/users/{worker.id}/deactivate",
                                token_from=f"/admin/users/{worker.id}")
    assert response.status_code == 302
    assert fresh(worker).active is False
    event = events_of(worker)[-1]
    assert (event.kind, event.actor_id) == (SecurityEventKind.DEACTIVATED, admin.id)
    page = page_text(client.get(response.headers["Location"]))
    assert "account is deactivated; their sessions have ended" in page
    assert "Reactivate account" in page

    assert_sent_to_login(their_browser)
    refused = their_browser.post_form("/login", {"email": worker.email, "password": PASSWORD})
    assert refused.status_code == 422
    assert "deactivated" in page_text(refused)


def test_reactivate_lets_the_user_sign_in_again(app, client, make_user, as_role):
    admin = as_role(Role.ADMIN)
    worker = make_user(Role.CASEWORKER, active=False)
    response = client.post_form(f"/admin/users/{worker.id}/reactivate",
                                token_from=f"/admin/users/{worker.id}")
    assert response.status_code == 302
    assert fresh(worker).active is True
    event = events_of(worker)[-1]
    assert (event.kind, event.actor_id) == (SecurityEventKind.REACTIVATED, admin.id)
    signed_in_client(app, worker)


def test_admin_cannot_deactivate_themselves(client, as_role):
    admin = as_role(Role.ADMIN)
    response = client.post_form(f"/admin/users/{admin.id}/deactivate",
                                token_from=f"/admin/users/{admin.id}")
    assert response.status_code == 422
    assert "You cannot deactivate your own account." in page_text(response)
    assert fresh(admin).active is True
    assert SecurityEventKind.DEACTIVATED not in [e.kind for e in events_of(admin)]
    assert client.get("/admin/users").status_code == 200


def test_user_detail_shows_the_account_and_its_events(client, make_user, as_role):
    as_role(Role.ADMIN)
    worker = make_user(Role.SUPERVISOR, full_name="Sam Supervisor")
    response = client.get(f"/admin/users/{worker.id}")
    assert response.status_code == 200
    html = page_text(response)
    assert "Sam Supervisor" in html
    assert worker.email in html
    assert "User created" in html
    assert "Deactivate account" in html


@pytest.mark.parametrize("url", ["/admin/users/999999", "/admin/users/999999/role",
                                 "/admin/users/999999/deactivate",
                                 "/admin/users/999999/reactivate",
                                 "/admin/users/999999/unlock", "/admin/users/999999/password"])
def test_unknown_user_is_404(client, as_role, url):
    as_role(Role.ADMIN)
    if url.endswith("999999"):
        response = client.get(url)
    else:
        response = client.post_form(url, {"role": "caseworker"}, token_from="/admin/users")
    assert response.status_code == 404
    assert "Not found" in page_text(response)


# --- The security log -------------------------------------------------------------------------

def test_security_log_lists_events_newest_first(client, make_user, as_role):
    admin = as_role(Role.ADMIN)
    worker = make_user(Role.CASEWORKER, email="worker@example.org")
    client.post_form(f"/admin/users/{worker.id}/role", {"role": "supervisor"})
    response = client.get("/admin/security-log")
    assert response.status_code == 200
    html = page_text(response)
    for label in ("User created", "Login", "Role changed"):
        assert f"<td>{label}</td>" in html
    assert "Caseworker → Supervisor" in html
    assert admin.full_name in html  # the actor of the role change
    assert html.index("<td>Role changed</td>") < html.index("<td>User created</td>")


# --- Bad input never gives a 500 --------------------------------------------------------------

BAD_INPUT = [
    # (id, method, url, form data); {user} is another account's id.
    ("page-not-a-number", "GET", "/admin/users?page=abc", None),
    ("page-negative", "GET", "/admin/users?page=-3", None),
    ("page-huge", "GET", "/admin/users?page=99999999999999999999", None),
    ("log-page-zero", "GET", "/admin/security-log?page=0", None),
    ("log-page-float", "GET", "/admin/security-log?page=1e9", None),
    ("user-id-zero", "GET", "/admin/users/0", None),
    ("user-id-negative", "GET", "/admin/users/-1", None),
    ("user-id-beyond-int32", "GET", "/admin/users/99999999999", None),
    ("user-id-not-a-number", "GET", "/admin/users/abc", None),
    ("role-of-user-id-beyond-int32", "POST", "/admin/users/99999999999/role",
     {"role": "admin"}),
    ("role-huge", "POST", "/admin/users/{user}/role", {"role": "x" * 10_000}),
    ("unknown-action", "POST", "/admin/users/{user}/promote", {}),
    ("name-huge", "POST", "/admin/users/new", {"full_name": "x" * 100_000}),
    ("email-too-long", "POST", "/admin/users/new", {"email": "a@" + "b" * 300 + ".org"}),
    ("email-two-ats", "POST", "/admin/users/new", {"email": "two@@example.org"}),
    ("name-with-nul-byte", "POST", "/admin/users/new", {"full_name": "Nul\x00Byte"}),
    ("email-with-nul-byte", "POST", "/admin/users/new", {"email": "nul\x00@example.org"}),
    ("role-with-nul-byte", "POST", "/admin/users/new", {"role": "admin\x00"}),
]


@pytest.mark.parametrize(("method", "url", "data"),
                         [pytest.param(*row[1:], id=row[0]) for row in BAD_INPUT])
def test_bad_input_never_gives_a_500(app, monkeypatch, client, make_user, as_role, method, url,
                                    data):
    # As in production: an unexpected exception becomes the 500 page instead of propagating.
    monkeypatch.setitem(app.config, "PROPAGATE_EXCEPTIONS", False)
    as_role(Role.ADMIN)
    target = make_user(Role.CASEWORKER)
    url = url.replace("{user}", str(target.id))
    before = user_count()
    if method == "GET":
        response = client.get(url)
    else:
        form = valid_new_user(**data) if url.endswith("/new") else data
        response = client.post_form(url, form, token_from="/admin/users/new")
    assert response.status_code < 500, response.get_data(as_text=True)
    assert response.status_code in {200, 404, 405, 422}
    assert user_count() == before
    assert fresh(target).role == Role.CASEWORKER
