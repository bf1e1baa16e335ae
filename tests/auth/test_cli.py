"""``flask create-user`` and ``flask seed-demo``, run through Click's test runner."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from backoffice.auth.models import Role, SecurityEvent, SecurityEventKind, User
from backoffice.demo.accounts import BULK_CASEWORKERS, bulk_caseworker_emails
from backoffice.demo.commands import DEMO_ACCOUNTS
from backoffice.extensions import db as _db
from tests.conftest import PASSWORD


def user_count() -> int:
    _db.session.rollback()
    return _db.session.scalar(select(func.count()).select_from(User))


def create_user(app, email="first.admin@example.org", name="First Admin", role="admin",
                password=PASSWORD, *flags: str):
    return app.test_cli_runner().invoke(args=[
        "create-user", "--email", email, "--name", name, "--role", role,
        "--password", password, *flags])


def test_create_user_makes_an_account_whose_password_is_temporary(app, client, db):
    result = create_user(app, email="First.Admin@Example.org")
    assert result.exit_code == 0, result.output
    user = db.session.scalar(select(User).where(User.email == "first.admin@example.org"))
    assert user is not None
    assert result.output.strip() == (f"Created admin first.admin@example.org (id {user.id}). "
                                     "They choose a new password at first sign-in.")
    assert (user.full_name, user.role, user.active) == ("First Admin", Role.ADMIN, True)
    assert user.must_change_password is True
    event = db.session.scalar(select(SecurityEvent).where(SecurityEvent.user_id == user.id))
    assert (event.kind, event.actor_id) == (SecurityEventKind.USER_CREATED, None)

    response = client.post_form("/login", {"email": user.email, "password": PASSWORD})
    assert response.headers["Location"] == "/account/password"
    assert client.get("/admin/users").headers["Location"] == "/account/password"
    new = "the first admin's own passphrase"
    response = client.post_form("/account/password", {
        "current_password": PASSWORD, "new_password": new, "confirm": new})
    assert response.status_code == 302
    assert client.get("/admin/users").status_code == 200


def test_password_chosen_flag_lets_a_scripted_account_sign_straight_in(app, client, db):
    result = create_user(app, "robot@example.org", "Set Up Script", "supervisor", PASSWORD,
                         "--password-chosen")
    assert result.exit_code == 0, result.output
    assert result.output.strip().endswith(").")
    user = db.session.scalar(select(User).where(User.email == "robot@example.org"))
    assert user.must_change_password is False
    response = client.post_form("/login", {"email": user.email, "password": PASSWORD})
    assert response.headers["Location"] == "/"
    assert client.get("/cases/").status_code == 200


# The admin form's rule (email-validator, no DNS), word for word.
BAD_EMAIL = "Enter a valid email address, like name@example.org."


@pytest.mark.parametrize(
    ("options", "exit_code", "message"),
    [
        ({"email": "TAKEN@example.org"}, 1,
         "An account with the email taken@example.org already exists."),
        ({"password": "short"}, 1, "Use at least 12 characters."),
        ({"password": " " * 12}, 1, "The password cannot be only spaces."),
        ({"email": "not-an-email"}, 1, BAD_EMAIL),
        ({"email": "two@@example.org"}, 1, BAD_EMAIL),
        ({"email": "someone@localhost"}, 1, BAD_EMAIL),
        ({"email": "a b@example.org"}, 1, BAD_EMAIL),
        ({"email": "name@example..org"}, 1, BAD_EMAIL),
        ({"email": "@example.org"}, 1, BAD_EMAIL),
        ({"email": "name@"}, 1, BAD_EMAIL),
        ({"password": "password1234"}, 1, "one of the most common passwords"),
        ({"password": "Qwerty123456"}, 1, "one of the most common passwords"),
        ({"name": "   "}, 1, "Enter the person's full name."),
        ({"role": "superuser"}, 2, "Invalid value for '--role'"),
        ({"role": "Admin"}, 2, "Invalid value for '--role'"),
    ],
)
def test_create_user_refusals(app, make_user, options, exit_code, message):
    make_user(Role.CASEWORKER, email="taken@example.org")
    before = user_count()
    result = create_user(app, **options)
    assert result.exit_code == exit_code, result.output
    assert message in result.output
    assert user_count() == before


def test_seed_demo_creates_the_demo_accounts_once(app, client, db):
    runner = app.test_cli_runner()
    first = runner.invoke(args=["seed-demo"])
    assert first.exit_code == 0, first.output
    assert "4 created, 0 already there" in first.output
    emails = set(db.session.scalars(select(User.email)))
    # And the bulk caseworkers, who work the demo year's background cases.
    assert emails == {email for email, *_ in DEMO_ACCOUNTS} | set(bulk_caseworker_emails())
    roles = {user.role for user in db.session.scalars(select(User))}
    assert roles == {Role.ADMIN, Role.SUPERVISOR, Role.CASEWORKER}

    second = runner.invoke(args=["seed-demo"])
    assert second.exit_code == 0, second.output
    assert "0 created, 4 already there" in second.output
    assert user_count() == 4 + BULK_CASEWORKERS

    # The demo passwords are published and chosen: each account signs straight in.
    for email, _name, _role, password in DEMO_ACCOUNTS:
        response = client.post_form("/login", {"email": email, "password": password})
        assert response.headers["Location"] == "/", email
        client.post_form("/logout", token_from="/account/password")


def test_seed_demo_fills_in_only_missing_accounts(app, make_user):
    make_user(Role.ADMIN, email=DEMO_ACCOUNTS[0][0])
    result = app.test_cli_runner().invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    assert "3 created, 1 already there" in result.output
    assert user_count() == 4 + BULK_CASEWORKERS


def test_seed_demo_is_refused_in_production(app, db, monkeypatch):
    monkeypatch.setitem(app.config, "ENV_NAME", "production")
    result = app.test_cli_runner().invoke(args=["seed-demo"])
    assert result.exit_code == 1
    assert "refused in production" in result.output
    assert user_count() == 0
