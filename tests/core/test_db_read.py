"""``core.db.read``: a SELECT of plain columns through the session's own connection, around
the ORM, that still sees what the session has not yet flushed."""

from __future__ import annotations

import pytest
from sqlalchemy import event, select

from backoffice.auth.models import Role, User
from backoffice.core.db import read
from backoffice.extensions import db as _db

NAMES = select(User.full_name).order_by(User.full_name)


def test_it_returns_the_rows_of_a_select_of_columns(make_user):
    make_user(Role.CASEWORKER, full_name="Chan Tai Man")
    make_user(Role.SUPERVISOR, full_name="Au Yeung Siu Ling")

    assert [row.full_name for row in read(NAMES)] == ["Au Yeung Siu Ling", "Chan Tai Man"]


def test_it_takes_bound_parameters(make_user):
    me = make_user(Role.CASEWORKER, full_name="Chan Tai Man")
    by_id = select(User.full_name).where(User.id == me.id)

    assert read(by_id).scalar_one() == "Chan Tai Man"


def _pending(change: str, someone: User) -> None:
    if change == "added":
        _db.session.add(User(email="wong@example.org", full_name="Wong Mei Ling",
                             role=Role.CASEWORKER, password_hash="not-a-hash"))
    elif change == "changed":
        someone.full_name = "Chan Siu Ming"
    else:
        _db.session.delete(someone)


# (what the session holds unflushed, the names read)
@pytest.mark.parametrize(("change", "expected"), [
    ("added", ["Chan Tai Man", "Wong Mei Ling"]),
    ("changed", ["Chan Siu Ming"]),
    ("deleted", []),
])
def test_it_sees_what_the_session_holds_but_has_not_flushed(make_user, change, expected):
    someone = make_user(Role.CASEWORKER, full_name="Chan Tai Man")
    _pending(change, someone)

    assert [row.full_name for row in read(NAMES)] == expected


def test_it_builds_no_orm_objects(make_user, db):
    make_user(Role.CASEWORKER, full_name="Chan Tai Man")
    _db.session.commit()
    _db.session.expunge_all()
    loaded = []

    def on_load(target, _context) -> None:
        loaded.append(target)

    event.listen(User, "load", on_load)
    try:
        rows = read(select(User.id, User.full_name)).all()
    finally:
        event.remove(User, "load", on_load)
    assert rows and not loaded
    assert len(_db.session.identity_map) == 0
