"""Passwords are argon2id hashes; weak ones are refused; old-cost hashes are upgraded."""

from __future__ import annotations

import pytest

from backoffice.auth import services as accounts
from backoffice.auth.models import Role
from tests.conftest import PASSWORD


def test_hash_is_argon2id_and_never_the_password(make_user):
    user = make_user(Role.CASEWORKER)
    assert user.password_hash.startswith("$argon2id$v=19$")
    assert PASSWORD not in user.password_hash


def test_standard_profile_uses_rfc9106_parameters(app, db):
    app.config["PASSWORD_HASH_PROFILE"] = "standard"
    try:
        hashed = accounts.hash_password("a long enough password")
    finally:
        app.config["PASSWORD_HASH_PROFILE"] = "fast"
    assert hashed.startswith("$argon2id$v=19$m=65536,t=3,p=4$")


def test_configs_other_than_testing_use_the_standard_profile():
    from config import Config, DevelopmentConfig, ProductionConfig

    for config in (Config, DevelopmentConfig, ProductionConfig):
        assert config.PASSWORD_HASH_PROFILE == "standard"


def test_sign_in_upgrades_a_cheaper_hash(app, make_user, db):
    user = make_user(Role.CASEWORKER)  # hashed with the test suite's cheap profile
    app.config["PASSWORD_HASH_PROFILE"] = "standard"
    try:
        with app.test_request_context():
            assert accounts.sign_in(user.email, PASSWORD).ok
            db.session.commit()
    finally:
        app.config["PASSWORD_HASH_PROFILE"] = "fast"
    db.session.refresh(user)
    assert user.password_hash.startswith("$argon2id$v=19$m=65536,t=3,p=4$")


@pytest.mark.parametrize(
    ("password", "problem"),
    [
        ("short", "Use at least 12 characters."),
        ("x" * 11, "Use at least 12 characters."),
        ("x" * 12, accounts.TOO_COMMON),  # a repeated letter is no password
        ("abababababab", accounts.TOO_COMMON),
        ("a quiet harbour at dawn", None),
        (" " * 12, "The password cannot be only spaces."),
        ("x" * 129, "Use at most 128 characters."),
        ("correct horse battery staple", None),
    ],
)
def test_password_rules(password, problem):
    assert accounts.password_problem(password) == problem


@pytest.mark.parametrize("password", [
    "password1234", "PASSWORD1234", "  qwerty123456 ", "1q2w3e4r5t6y", "123456123456",
    "qwertyqwerty", "iloveyouiloveyou", "q w e r t y 1 2 3 4 5 6",
])
def test_common_passwords_are_refused_however_they_are_written(password):
    assert accounts.password_problem(password) == accounts.TOO_COMMON


def test_the_shipped_list_is_read_and_is_long():
    common = accounts.common_passwords()
    assert len(common) > 19_000
    assert {"123456", "password", "qwerty123456"} <= common
