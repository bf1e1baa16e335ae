"""Passwords someone else chose are temporary: the first page is the one that changes them.
Admins can reset a forgotten password to a temporary one."""

from __future__ import annotations

from html import unescape

import pytest
from sqlalchemy import select

from backoffice.auth.models import Role, SecurityEvent, SecurityEventKind, User
from backoffice.extensions import db as _db
from tests.conftest import PASSWORD

OWN = "my very own sign-in sentence"
TEMPORARY = "a temporary one for today"
CHANGE = "/account/password"


def text(response) -> str:
    return unescape(response.get_data(as_text=True))


def fresh(user: User) -> User:
    _db.session.rollback()
    _db.session.expire_all()
    return _db.session.get(User, user.id)


def choose(client, current: str = PASSWORD, new: str = OWN, confirm: str | None = None):
    return client.post_form(CHANGE, {"current_password": current, "new_password": new,
                                     "confirm": new if confirm is None else confirm})


# Every other kind of page, for each role: all of them lead to the change page first.
ELSEWHERE = {
    Role.CASEWORKER: [("GET", "/"), ("GET", "/cases/"), ("GET", "/cases/new"),
                      ("POST", "/cases/new"), ("GET", "/notifications/"),
                      ("GET", "/cases/queue/mine/export.csv"), ("GET", "/admin/users")],
    Role.SUPERVISOR: [("GET", "/quota/"), ("POST", "/quota/limit"),
                      ("GET", "/notifications/worker")],
    Role.ADMIN: [("GET", "/admin/users"), ("GET", "/admin/security-log"),
                 ("POST", "/admin/users/new"), ("GET", "/admin/security-log/export.csv")],
}


@pytest.mark.parametrize("role", list(ELSEWHERE))
def test_a_temporary_password_opens_only_the_change_page(client, make_user, login, role):
    user = make_user(role, temporary=True)
    response = login(user)
    assert response.headers["Location"] == CHANGE
    page = text(client.get(CHANGE))
    assert "Choose your own password" in page
    for method, url in ELSEWHERE[role]:
        response = client.get(url) if method == "GET" else \
            client.post_form(url, {}, token_from=CHANGE)
        assert (response.status_code, response.headers.get("Location")) == (302, CHANGE), url
    assert "Choose your own password before you go on" in text(client.get(CHANGE))

    response = choose(client)
    assert response.status_code == 302
    assert fresh(user).must_change_password is False
    first, *_ = ELSEWHERE[role]
    assert client.get(first[1]).headers.get("Location") != CHANGE
    kinds = [e.kind for e in _db.session.scalars(
        select(SecurityEvent).where(SecurityEvent.user_id == user.id).order_by(SecurityEvent.id))]
    assert kinds[-1] == SecurityEventKind.PASSWORD_CHANGED


def test_sign_out_still_works_with_a_temporary_password(client, make_user, login):
    user = make_user(Role.CASEWORKER, temporary=True)
    login(user)
    response = client.post_form("/logout", token_from=CHANGE)
    assert response.headers["Location"] == "/login"
    assert client.get(CHANGE).headers["Location"].startswith("/login")
    assert fresh(user).must_change_password is True  # still to be chosen next time


@pytest.mark.parametrize(("new", "confirm", "message"), [
    (PASSWORD, PASSWORD, "Choose a password different from the current one."),
    ("password1234", "password1234", "one of the most common passwords"),
    ("short", "short", "Use at least 12 characters."),
    (OWN, "something else entirely", "The two new passwords do not match."),
])
def test_the_new_password_follows_the_rules(client, make_user, login, new, confirm, message):
    user = make_user(Role.CASEWORKER, temporary=True)
    login(user)
    response = choose(client, new=new, confirm=confirm)
    assert response.status_code == 422
    assert message in text(response)
    assert fresh(user).must_change_password is True
    assert client.get("/cases/").headers["Location"] == CHANGE


def test_an_account_made_by_an_admin_changes_its_password_first(client, make_user, login):
    admin = make_user(Role.ADMIN)
    login(admin)
    client.post_form("/admin/users/new", {
        "full_name": "New Person", "email": "new.person@example.org", "role": "caseworker",
        "password": TEMPORARY, "confirm": TEMPORARY})
    client.post_form("/logout", token_from="/admin/users")
    response = client.post_form("/login", {"email": "new.person@example.org",
                                           "password": TEMPORARY})
    assert response.headers["Location"] == CHANGE
    assert choose(client, current=TEMPORARY).status_code == 302
    assert client.get("/cases/").status_code == 200


# --- An admin resets a password ----------------------------------------------------------

def reset(client, user: User, **changes):
    data = {"password": TEMPORARY, "confirm": TEMPORARY, "sure": "y"} | changes
    return client.post_form(f"/admin/users/{user.id}/password", data,
                            token_from=f"/admin/users/{user.id}")


def test_reset_password_ends_sessions_lifts_locks_and_is_logged(app, client, make_user,
                                                                 as_role):
    admin = as_role(Role.ADMIN)
    worker = make_user(Role.CASEWORKER)
    their_browser = app.test_client()
    assert their_browser.post_form("/login", {"email": worker.email, "password": PASSWORD}
                                   ).status_code == 302
    typist = app.test_client()  # and, in another tab, they had locked themselves out
    for _ in range(app.config["LOGIN_MAX_FAILURES"]):
        typist.post_form("/login", {"email": worker.email, "password": "wrong wrong!"})
    assert typist.post_form("/login", {"email": worker.email, "password": PASSWORD}
                            ).status_code == 429

    response = reset(client, worker)
    assert response.status_code == 302
    assert "has a temporary password" in text(client.get(response.headers["Location"]))
    assert fresh(worker).must_change_password is True
    event = _db.session.scalar(select(SecurityEvent).where(
        SecurityEvent.kind == SecurityEventKind.PASSWORD_RESET))
    assert (event.user_id, event.actor_id) == (worker.id, admin.id)

    assert their_browser.get("/cases/").status_code == 302  # their session has ended
    response = their_browser.post_form("/login", {"email": worker.email, "password": TEMPORARY})
    assert response.headers["Location"] == CHANGE  # no longer locked, and must change
    assert choose(their_browser, current=TEMPORARY).status_code == 302


@pytest.mark.parametrize(("changes", "message"), [
    ({"sure": ""}, "Tick the box to confirm the reset."),
    ({"confirm": "another long password"}, "The two passwords do not match."),
    ({"password": "qwerty123456", "confirm": "qwerty123456"}, "one of the most common"),
    ({"password": "", "confirm": ""}, "Enter a temporary password."),
])
def test_reset_password_refusals_show_on_the_users_page(client, make_user, as_role, changes,
                                                       message):
    as_role(Role.ADMIN)
    worker = make_user(Role.CASEWORKER)
    before = worker.password_hash
    response = reset(client, worker, **changes)
    assert response.status_code == 422
    page = text(response)
    assert message in page
    assert "There is a problem" in page
    assert fresh(worker).password_hash == before
    assert fresh(worker).must_change_password is False


def test_an_admin_cannot_reset_their_own_password_here(client, as_role):
    admin = as_role(Role.ADMIN)
    response = reset(client, admin)
    assert response.status_code == 422
    assert "Change your own password on your account page" in text(response)
    assert fresh(admin).must_change_password is False


def test_reset_password_needs_the_forms_token(client, make_user, as_role):
    as_role(Role.ADMIN)
    worker = make_user(Role.CASEWORKER)
    response = client.post(f"/admin/users/{worker.id}/password",
                           data={"password": TEMPORARY, "confirm": TEMPORARY, "sure": "y"})
    assert response.status_code == 400
    assert fresh(worker).must_change_password is False
