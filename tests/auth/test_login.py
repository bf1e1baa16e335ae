"""Sign-in, sign-out, lockout, safe redirects and session ending."""

from __future__ import annotations

from datetime import timedelta
from html import unescape

import pytest
from sqlalchemy import select

from backoffice.auth import services as accounts
from backoffice.auth.models import Role, SecurityEvent, SecurityEventKind, SignInLock, User
from backoffice.core.dates import utcnow
from backoffice.extensions import db as _db
from tests.conftest import PASSWORD


def events(user: User | None = None) -> list[SecurityEventKind]:
    query = select(SecurityEvent.kind).order_by(SecurityEvent.id)
    if user is not None:
        query = query.where(SecurityEvent.user_id == user.id)
    return list(_db.session.scalars(query))


def test_login_page_has_labelled_fields(client):
    html = client.get("/login").get_data(as_text=True)
    assert '<label class="form-label" for="email">Email address</label>' in html
    assert '<label class="form-label" for="password">Password</label>' in html


def test_login_success_redirects_home_and_records_event(client, make_user, login):
    user = make_user(Role.CASEWORKER)
    response = login(user)
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    assert events(user) == [SecurityEventKind.USER_CREATED, SecurityEventKind.LOGIN]
    page = client.get("/cases/")
    assert page.status_code == 200
    assert user.full_name in page.get_data(as_text=True)


@pytest.mark.parametrize("email_case", ["Upper", "spaced"])
def test_email_is_case_and_space_insensitive(client, make_user, email_case):
    user = make_user(Role.CASEWORKER, email="chan@example.org")
    email = "CHAN@Example.org" if email_case == "Upper" else "  chan@example.org "
    response = client.post_form("/login", {"email": email, "password": PASSWORD})
    assert response.status_code == 302
    assert events(user)[-1] == SecurityEventKind.LOGIN


@pytest.mark.parametrize(
    ("email", "password", "message"),
    [
        ("", "", "Enter your email address."),
        ("someone@example.org", "", "Enter your password."),
        ("nobody@example.org", "whatever password", "The email address or password is incorrect."),
        ("known@example.org", "wrong password!!", "The email address or password is incorrect."),
        ("known@example.org", "x" * 500, "Field cannot be longer than 128 characters."),
    ],
)
def test_bad_sign_in_shows_message_on_the_page(client, make_user, email, password, message):
    make_user(Role.CASEWORKER, email="known@example.org")
    response = client.post_form("/login", {"email": email, "password": password})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert message in html
    assert "There is a problem" in html  # the summary at the top


def test_unknown_email_failure_is_recorded_without_user(client, db):
    client.post_form("/login", {"email": "ghost@example.org", "password": "nope nope nope"})
    event = db.session.scalar(select(SecurityEvent))
    assert event.kind == SecurityEventKind.LOGIN_FAILED
    assert event.user_id is None
    assert event.email == "ghost@example.org"
    assert event.ip == "127.0.0.1"


def lock_of(user: User, address: str = "127.0.0.1") -> SignInLock | None:
    _db.session.rollback()
    return _db.session.scalar(select(SignInLock).where(SignInLock.user_id == user.id,
                                                       SignInLock.address == address))


def test_five_failures_lock_the_account_for_that_address_for_15_minutes(client, make_user, db):
    user = make_user(Role.CASEWORKER)
    for attempt in range(1, 5):
        response = client.post_form("/login", {"email": user.email, "password": "wrong-wrong-1"})
        assert "incorrect" in response.get_data(as_text=True), attempt
    response = client.post_form("/login", {"email": user.email, "password": "wrong-wrong-1"})
    html = unescape(response.get_data(as_text=True))
    assert response.status_code == 429
    assert 0 < int(response.headers["Retry-After"]) <= 15 * 60
    assert "Too many failed sign-in attempts for this account from your network address" in html
    lock = lock_of(user)
    assert timedelta(minutes=14) < lock.locked_until - utcnow() <= timedelta(minutes=15)

    # Even the right password is refused from this address while it is locked.
    response = client.post_form("/login", {"email": user.email, "password": PASSWORD})
    assert response.status_code == 429
    assert "Retry-After" in response.headers
    assert events(user)[1:] == [SecurityEventKind.LOGIN_FAILED] * 5 + [
        SecurityEventKind.LOCKED_OUT, SecurityEventKind.LOGIN_WHILE_LOCKED]


def test_lockout_expires_after_15_minutes(app, make_user, db):
    user = make_user(Role.CASEWORKER)
    start = utcnow()
    here = accounts.RequestInfo(ip="192.0.2.7")
    with app.test_request_context():
        for _ in range(5):
            result = accounts.sign_in(user.email, "wrong-wrong-1", here, now=start)
        assert result.locked_until == start + timedelta(minutes=15)
        db.session.commit()
        just_before = accounts.sign_in(user.email, PASSWORD, here,
                                       now=start + timedelta(minutes=14))
        assert not just_before.ok
        after = accounts.sign_in(user.email, PASSWORD, here,
                                 now=start + timedelta(minutes=15, seconds=1))
        assert after.ok
        db.session.commit()
    assert lock_of(user, "192.0.2.7") is None


def test_success_resets_the_failure_count(app, make_user, db):
    user = make_user(Role.CASEWORKER)
    with app.test_request_context():
        for _ in range(4):
            accounts.sign_in(user.email, "wrong-wrong-1")
        assert accounts.sign_in(user.email, PASSWORD).ok
        for _ in range(4):
            result = accounts.sign_in(user.email, "wrong-wrong-1")
        db.session.commit()
    assert "incorrect" in result.error  # 4 + 4 failures with a success between: no lock
    assert lock_of(user, "").locked_until is None


def test_failures_far_apart_do_not_add_up_to_a_lock(app, make_user, db):
    user = make_user(Role.CASEWORKER)
    start = utcnow()
    with app.test_request_context():
        for day in range(10):  # one typo a day for ten days
            result = accounts.sign_in(user.email, "wrong-wrong-1",
                                      now=start + timedelta(days=day))
        db.session.commit()
    assert result.locked_until is None
    assert lock_of(user, "").failures == 1


def test_deactivated_account_cannot_sign_in(client, make_user):
    user = make_user(Role.CASEWORKER, active=False)
    response = client.post_form("/login", {"email": user.email, "password": PASSWORD})
    assert response.status_code == 422
    assert "deactivated" in response.get_data(as_text=True)
    assert events(user)[-1] == SecurityEventKind.LOGIN_INACTIVE


@pytest.mark.parametrize(
    ("next_url", "expected"),
    [
        ("/cases/", "/cases/"),
        ("/admin/users?page=2", "/"),  # allowed path, but a caseworker gets it as 403 later
        ("https://evil.example/", "/"),
        ("//evil.example/", "/"),
        ("/\\evil.example", "/"),
        ("\\\\evil.example", "/"),
        ("http:/evil.example", "/"),
        ("javascript:alert(1)", "/"),
        ("", "/"),
    ],
)
def test_next_redirect_stays_on_this_site(client, make_user, next_url, expected):
    user = make_user(Role.CASEWORKER)
    response = client.post_form("/login", {"email": user.email, "password": PASSWORD,
                                           "next": next_url})
    assert response.status_code == 302
    location = response.headers["Location"]
    if expected == "/":
        assert location in ("/", next_url) and not location.startswith(("//", "http", "\\"))
        assert "evil" not in location
    else:
        assert location == expected


def test_protected_page_sends_anonymous_user_to_login_with_next(client, db):
    response = client.get("/cases/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")


def test_logout_ends_the_session_even_for_a_copied_cookie(app, client, make_user, login):
    user = make_user(Role.CASEWORKER)
    login(user)
    assert client.get("/cases/").status_code == 200
    stolen = client.get_cookie("session").value

    response = client.post_form("/logout", token_from="/cases/")
    assert response.status_code == 302
    assert client.get("/cases/").status_code == 302

    thief = app.test_client()
    thief.set_cookie("session", stolen, domain="localhost")
    assert thief.get("/cases/").status_code == 302
    assert events(user)[-1] == SecurityEventKind.LOGOUT


def test_logout_needs_post_with_csrf(client, make_user, login):
    user = make_user(Role.CASEWORKER)
    login(user)
    assert client.get("/logout").status_code == 405
    assert client.post("/logout").status_code == 400
    assert client.get("/cases/").status_code == 200


def test_absolute_session_lifetime_ends_an_active_session(app, client, make_user, login):
    user = make_user(Role.CASEWORKER)
    login(user)
    with client.session_transaction() as session:
        session["auth_at"] = (utcnow() - timedelta(hours=13)).isoformat()
    response = client.get("/cases/")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_password_change_rotates_other_sessions(app, client, make_user, login, db):
    user = make_user(Role.CASEWORKER)
    login(user)
    other = app.test_client()
    other.set_cookie("session", client.get_cookie("session").value, domain="localhost")
    assert other.get("/cases/").status_code == 200

    new_password = "a brand new long password"
    response = client.post_form("/account/password", {
        "current_password": PASSWORD, "new_password": new_password, "confirm": new_password})
    assert response.status_code == 302
    assert client.get("/cases/").status_code == 200  # this browser stays signed in
    assert other.get("/cases/").status_code == 302  # the other session has ended
    client.post_form("/logout", token_from="/cases/")
    assert client.post_form("/login", {"email": user.email, "password": new_password}
                            ).status_code == 302


@pytest.mark.parametrize(
    ("current", "new", "confirm", "message"),
    [
        ("wrong current pw", "a brand new long password", "a brand new long password",
         "Your current password is not correct."),
        (PASSWORD, "short", "short", "Use at least 12 characters."),
        (PASSWORD, "a brand new long password", "different long password",
         "The two new passwords do not match."),
        (PASSWORD, PASSWORD, PASSWORD, "Choose a password different from the current one."),
    ],
)
def test_password_change_refusals(client, make_user, login, current, new, confirm, message):
    user = make_user(Role.CASEWORKER)
    login(user)
    response = client.post_form("/account/password", {
        "current_password": current, "new_password": new, "confirm": confirm})
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)


def test_session_cookie_flags(client, make_user, login):
    user = make_user(Role.CASEWORKER)
    response = login(user)
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie


# --- The idle timer: the cookie is signed again once a minute, not on every request ------------

def test_a_request_soon_after_the_last_sends_no_new_cookie(client, make_user, login):
    login(make_user(Role.CASEWORKER))
    assert "Set-Cookie" in client.get("/cases/").headers  # the first page marks it seen
    for _ in range(3):
        assert "Set-Cookie" not in client.get("/cases/").headers


@pytest.mark.parametrize(("seen_ago", "signed_again"), [
    (0, False), (59, False), (60, True), (3600, True), (-120, True), (None, True),
])
def test_a_session_seen_a_minute_ago_is_signed_again(client, make_user, login, seen_ago,
                                                      signed_again):
    login(make_user(Role.CASEWORKER))
    client.get("/cases/")  # the queue the case pages lead back to, kept in the session
    now = int(utcnow().timestamp())
    with client.session_transaction() as session:
        if seen_ago is None:
            session.pop("seen", None)
        else:
            session["seen"] = now - seen_ago
    response = client.get("/cases/")
    assert response.status_code == 200
    assert ("Set-Cookie" in response.headers) is signed_again
    if signed_again:
        with client.session_transaction() as session:
            assert abs(session["seen"] - now) <= 2


def test_a_refreshed_cookie_keeps_the_idle_lifetime(app, client, make_user, login):
    login(make_user(Role.CASEWORKER))
    with client.session_transaction() as session:
        session["seen"] = 0
    cookie = client.get("/cases/").headers["Set-Cookie"]
    assert "Expires=" in cookie  # a permanent session: the idle limit is on the cookie
    assert client.get("/cases/").status_code == 200
