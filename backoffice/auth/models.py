"""Accounts, roles and the security log."""

from __future__ import annotations

import secrets
from datetime import datetime
from enum import StrEnum

from flask_login import UserMixin
from sqlalchemy import CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backoffice.core.dates import utcnow
from backoffice.core.db import UTCDateTime, enum_column
from backoffice.extensions import db


class Role(StrEnum):
    CASEWORKER = "caseworker"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"

    @property
    def label(self) -> str:
        return self.value.capitalize()


class Permission(StrEnum):
    """What a role may do. Views ask for a permission, never for a role by name."""

    WORK_CASES = "work_cases"
    SUPERVISE = "supervise"
    MANAGE_USERS = "manage_users"


# A supervisor can do everything a caseworker can. Admins manage accounts only: keeping
# account management apart from case decisions means no one can grant themselves a role and
# then act with it unseen.
ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.CASEWORKER: frozenset({Permission.WORK_CASES}),
    Role.SUPERVISOR: frozenset({Permission.WORK_CASES, Permission.SUPERVISE}),
    Role.ADMIN: frozenset({Permission.MANAGE_USERS}),
}


def roles_with(permission: Permission) -> list[Role]:
    """The roles that have ``permission``, for queries that find the users who may do a thing
    (never a role by name)."""
    return [role for role, permissions in ROLE_PERMISSIONS.items() if permission in permissions]


def new_session_token() -> str:
    return secrets.token_urlsafe(32)


class User(UserMixin, db.Model):
    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint("failed_logins >= 0", name="failed_logins_not_negative"),
        CheckConstraint("email = lower(email)", name="email_lower_case"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    full_name: Mapped[str] = mapped_column(String(200))
    role: Mapped[Role] = mapped_column(enum_column(Role, "role"))
    password_hash: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(default=True)
    # Part of the Flask-Login id: rotating it ends every session of this user at once, so a
    # cookie copied before sign-out is worthless afterwards (DESIGN §5).
    session_token: Mapped[str] = mapped_column(String(64), unique=True, default=new_session_token)
    # Secret in the URL of the user's deadline calendar feed (.ics); reset to revoke it.
    calendar_token: Mapped[str | None] = mapped_column(String(64), unique=True)
    failed_logins: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    password_changed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    def __repr__(self) -> str:
        return f"<User {self.id} {self.email} {self.role}>"

    # Flask-Login ------------------------------------------------------------------------
    def get_id(self) -> str:
        return self.session_token

    @property
    def is_active(self) -> bool:
        return self.active

    # Permissions --------------------------------------------------------------------------
    @property
    def permissions(self) -> frozenset[Permission]:
        return ROLE_PERMISSIONS[self.role]

    def can(self, permission: Permission) -> bool:
        return permission in self.permissions

    def can_work_cases(self) -> bool:
        return self.can(Permission.WORK_CASES)

    def can_supervise(self) -> bool:
        return self.can(Permission.SUPERVISE)

    def is_locked(self, now: datetime) -> bool:
        return self.locked_until is not None and self.locked_until > now


class SecurityEventKind(StrEnum):
    LOGIN = "login"
    LOGIN_FAILED = "login_failed"
    LOCKED_OUT = "locked_out"
    LOGIN_WHILE_LOCKED = "login_while_locked"
    LOGIN_INACTIVE = "login_inactive"
    LOGOUT = "logout"
    USER_CREATED = "user_created"
    ROLE_CHANGED = "role_changed"
    DEACTIVATED = "deactivated"
    REACTIVATED = "reactivated"
    PASSWORD_CHANGED = "password_changed"  # noqa: S105  (an event name, not a secret)

    @property
    def label(self) -> str:
        return self.value.replace("_", " ").capitalize()


class SecurityEvent(db.Model):
    """Append-only log of sign-ins, failures, lockouts and account changes."""

    __tablename__ = "security_events"
    __table_args__ = (Index("ix_security_events_user_id_at", "user_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    kind: Mapped[SecurityEventKind] = mapped_column(enum_column(SecurityEventKind, "kind"))
    # The account concerned, when there is one (a failure for an unknown email has none).
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # Who did it, when that is someone other than the account (an admin changing a role).
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    email: Mapped[str] = mapped_column(String(254))
    ip: Mapped[str | None] = mapped_column(String(45))
    user_agent: Mapped[str | None] = mapped_column(String(255))
    detail: Mapped[str | None] = mapped_column(String(500))

    user: Mapped[User | None] = relationship(foreign_keys=[user_id])
    actor: Mapped[User | None] = relationship(foreign_keys=[actor_id])
