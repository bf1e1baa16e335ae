"""Accounts, roles and the security log."""

from __future__ import annotations

import secrets
from datetime import datetime
from enum import StrEnum

from flask_login import UserMixin
from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.sql.expression import false

from backoffice.core.dates import utcnow
from backoffice.core.db import UTCDateTime, enum_column
from backoffice.core.i18n import DEFAULT_LANGUAGE
from backoffice.core.i18n import lazy_gettext as _l
from backoffice.extensions import db


class Role(StrEnum):
    CASEWORKER = "caseworker"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"

    @property
    def label(self) -> str:
        """The role's name in the reader's language (a lazy string)."""
        return _ROLE_LABELS[self]


_ROLE_LABELS = {
    Role.CASEWORKER: _l("Caseworker"),
    Role.SUPERVISOR: _l("Supervisor"),
    Role.ADMIN: _l("Admin"),
}


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
    # Set when someone else chose the password (an admin, `flask create-user`): the user
    # must choose their own before any other page opens.
    must_change_password: Mapped[bool] = mapped_column(default=False, server_default=false())
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The language the user reads pages, emails and notifications in (core/i18n.py codes).
    language: Mapped[str] = mapped_column(String(16), default=DEFAULT_LANGUAGE,
                                          server_default=DEFAULT_LANGUAGE)
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
    PASSWORD_RESET = "password_reset"  # noqa: S105  (an admin set a temporary password)
    UNLOCKED = "unlocked"
    DOCUMENT_DOWNLOADED = "document_downloaded"  # a case's file read (backoffice/documents)

    @property
    def label(self) -> str:
        """The kind's name in the reader's language (a lazy string)."""
        return _KIND_LABELS[self]


_KIND_LABELS = {
    SecurityEventKind.LOGIN: _l("Login"),
    SecurityEventKind.LOGIN_FAILED: _l("Login failed"),
    SecurityEventKind.LOCKED_OUT: _l("Locked out"),
    SecurityEventKind.LOGIN_WHILE_LOCKED: _l("Login while locked"),
    SecurityEventKind.LOGIN_INACTIVE: _l("Login inactive"),
    SecurityEventKind.LOGOUT: _l("Logout"),
    SecurityEventKind.USER_CREATED: _l("User created"),
    SecurityEventKind.ROLE_CHANGED: _l("Role changed"),
    SecurityEventKind.DEACTIVATED: _l("Deactivated"),
    SecurityEventKind.REACTIVATED: _l("Reactivated"),
    SecurityEventKind.PASSWORD_CHANGED: _l("Password changed"),
    SecurityEventKind.PASSWORD_RESET: _l("Password reset"),
    SecurityEventKind.UNLOCKED: _l("Unlocked"),
    SecurityEventKind.DOCUMENT_DOWNLOADED: _l("Document downloaded"),
}


class SecurityEvent(db.Model):
    """Append-only log of sign-ins, failures, lockouts and account changes."""

    __tablename__ = "security_events"
    __table_args__ = (
        Index("ix_security_events_user_id_at", "user_id", "at"),
        # The log's keyset order (newest first): each page is "the rows before this one".
        Index("ix_security_events_at_id", "at", "id"),
    )

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
    # The system's words about the event as a message key and its values, rendered in the
    # reader's language (None: nothing to add, or an older event's ``detail``).
    detail_data: Mapped[dict | None] = mapped_column(JSON)

    user: Mapped[User | None] = relationship(foreign_keys=[user_id])
    actor: Mapped[User | None] = relationship(foreign_keys=[actor_id])


class SignInLock(db.Model):
    """Failed sign-ins in a row for one account from one client address, and the lock they
    put on that pair. The lock keeps that address out of that account only: someone else
    mistyping (or guessing) a colleague's address cannot lock the colleague out."""

    __tablename__ = "sign_in_locks"
    __table_args__ = (
        UniqueConstraint("user_id", "address"),
        CheckConstraint("failures >= 0", name="failures_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    # The client address as the throttle keys it (IPv6 by its /64 network); "" when unknown.
    address: Mapped[str] = mapped_column(String(45))
    failures: Mapped[int] = mapped_column(default=0)
    last_failure_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
