"""``flask create-user`` and ``flask seed-demo``, run through Click's test runner."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from backoffice.auth.models import Role, SecurityEvent, SecurityEventKind, User
from backoffice.demo.commands import DEMO_ACCOUNTS
from backoffice.extensions import db as _db
from tests.conftest import PASSWORD


def user_count() -> int:
    _db.session.rollback()
    return _db.session.scalar(select(func.count()).select_from(User))


def create_user(app, email="first.admin@example.org", name="First Admin", role="admin",
                password=PASSWORD):
    return app.test_cli_runner().invoke(args=[
        "create-user", "--email", email, "--name", name, "--role", role,
        "--password", password])


def test_create_user_makes_an_account_that_can_sign_in(app, client, db):
    result = create_user(app, email="First.Admin@Example.org")
    assert result.exit_code == 0, result.output
    user = db.session.scalar(select(User).where(User.email == "first.admin@example.org"))
    assert user is not None
    assert result.output.strip() == f"Created admin first.admin@example.org (id {user.id})."
    assert (user.full_name, user.role, user.active) == ("First Admin", Role.ADMIN, True)
    event = db.session.scalar(select(SecurityEvent).where(SecurityEvent.user_id == user.id))
    assert (event.kind, event.actor_id) == (SecurityEventKind.USER_CREATED, None)

    response = client.post_form("/login", {"email": user.email, "password": PASSWORD})
    assert response.status_code == 302
    assert client.get("/admin/users").status_code == 200


@pytest.mark.parametrize(
    ("options", "exit_code", "message"),
    [
        ({"email": "TAKEN@example.org"}, 1,
         "An account with the email taken@example.org already exists."),
        ({"password": "short"}, 1, "Use at least 12 characters."),
        ({"password": " " * 12}, 1, "The password cannot be only spaces."),
        ({"email": "not-an-email"}, 1, "Enter a valid email address."),
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
    assert emails == {email for email, *_ in DEMO_ACCOUNTS}
    roles = {user.role for user in db.session.scalars(select(User))}
    assert roles == {Role.ADMIN, Role.SUPERVISOR, Role.CASEWORKER}

    second = runner.invoke(args=["seed-demo"])
    assert second.exit_code == 0, second.output
    assert "0 created, 4 already there" in second.output
    assert user_count() == 4

    email, _name, _role, password = DEMO_ACCOUNTS[0]
    assert client.post_form("/login", {"email": email, "password": password}
                            ).status_code == 302


def test_seed_demo_fills_in_only_missing_accounts(app, make_user):
    make_user(Role.ADMIN, email=DEMO_ACCOUNTS[0][0])
    result = app.test_cli_runner().invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    assert "3 created, 1 already there" in result.output
    assert user_count() == 4


def test_seed_demo_is_refused_in_production(app, db, monkeypatch):
    monkeypatch.setitem(app.config, "ENV_NAME", "production")
    result = app.test_cli_runner().invoke(args=["seed-demo"])
    assert result.exit_code == 1
    assert "refused in production" in result.output
    assert user_count() == 0
