"""Account rules: passwords, sign-in with lockout, and account administration.

Services change rows, write the security event and flush; the request or CLI commits once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from flask import current_app
from sqlalchemy import func, select, update

from backoffice.auth.models import Role, SecurityEvent, SecurityEventKind, User, new_session_token
from backoffice.core.dates import to_hk, utcnow
from backoffice.core.refusals import Refusal
from backoffice.extensions import db

# argon2id with argon2-cffi's defaults (RFC 9106 low-memory profile: 64 MiB, 3 passes),
# above the OWASP minimum that Werkzeug's scrypt default misses (DESIGN §5). The test suite
# alone uses a cheap profile (PASSWORD_HASH_PROFILE = "fast"); a hash made with it is
# upgraded at the next sign-in by check_needs_rehash.
_HASHERS = {
    "standard": PasswordHasher(),
    "fast": PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1),
}
_DUMMY_HASHES: dict[str, str] = {}


def _hasher() -> PasswordHasher:
    return _HASHERS[current_app.config.get("PASSWORD_HASH_PROFILE", "standard")]


def _dummy_hash() -> str:
    """Verified against when the email is unknown, so a wrong email costs as long as a wrong
    password and response times do not reveal which accounts exist."""
    profile = current_app.config.get("PASSWORD_HASH_PROFILE", "standard")
    if profile not in _DUMMY_HASHES:
        _DUMMY_HASHES[profile] = _hasher().hash("not-a-real-password-used-for-timing-only")
    return _DUMMY_HASHES[profile]

PASSWORD_MIN_LENGTH = 12
PASSWORD_MAX_LENGTH = 128


class AccountError(Refusal):
    """A rule refused the change; the message is shown to the user as it is."""


@dataclass(frozen=True)
class RequestInfo:
    """Where a request came from, for the security log."""

    ip: str | None = None
    user_agent: str | None = None


@dataclass(frozen=True)
class SignInResult:
    user: User | None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.user is not None


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def password_problem(password: str) -> str | None:
    """Why ``password`` is not acceptable, or None. Length is what matters (ASVS 5 §6.2)."""
    if len(password) < PASSWORD_MIN_LENGTH:
        return f"Use at least {PASSWORD_MIN_LENGTH} characters."
    if len(password) > PASSWORD_MAX_LENGTH:
        return f"Use at most {PASSWORD_MAX_LENGTH} characters."
    if not password.strip():
        return "The password cannot be only spaces."
    return None


def normalise_email(email: str) -> str:
    return email.strip().lower()


def get_user_by_email(email: str) -> User | None:
    return db.session.scalar(select(User).where(User.email == normalise_email(email)))


def _log(kind: SecurityEventKind, *, email: str, user: User | None = None,
         actor: User | None = None, info: RequestInfo | None = None,
         detail: str | None = None) -> SecurityEvent:
    info = info or RequestInfo()
    event = SecurityEvent(
        kind=kind,
        email=email[:254],
        user_id=user.id if user else None,
        actor_id=actor.id if actor else None,
        ip=(info.ip or None) and info.ip[:45],
        user_agent=(info.user_agent or None) and info.user_agent[:255],
        detail=detail,
    )
    db.session.add(event)
    return event


def _password_matches(user: User | None, password: str) -> bool:
    try:
        _hasher().verify(user.password_hash if user else _dummy_hash(), password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False
    return user is not None


def _locked_message(until: datetime) -> str:
    return (
        "This account is locked after too many failed sign-in attempts. "
        f"Try again after {to_hk(until):%H:%M} Hong Kong time, or ask an administrator."
    )


def sign_in(email: str, password: str, info: RequestInfo | None = None,
            now: datetime | None = None) -> SignInResult:
    """Check a sign-in attempt, count failures and lock the account after too many.

    After ``LOGIN_MAX_FAILURES`` consecutive failures the account is locked for
    ``LOGIN_LOCKOUT``; while locked even the right password is refused. Every outcome is
    logged. The caller commits whatever the result, so failures are never lost.
    """
    now = now or utcnow()
    email = normalise_email(email)
    user = get_user_by_email(email)
    wrong = SignInResult(None, "The email address or password is incorrect.")

    if user is not None and user.is_locked(now):
        _log(SecurityEventKind.LOGIN_WHILE_LOCKED, email=email, user=user, info=info)
        return SignInResult(None, _locked_message(user.locked_until))

    if not _password_matches(user, password):
        _log(SecurityEventKind.LOGIN_FAILED, email=email, user=user, info=info)
        if user is None:
            return wrong
        return _count_failure(user, email, info, now) or wrong

    if not user.active:
        _log(SecurityEventKind.LOGIN_INACTIVE, email=email, user=user, info=info)
        return SignInResult(None, "This account is deactivated. Ask an administrator.")

    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = now
    if _hasher().check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    _log(SecurityEventKind.LOGIN, email=email, user=user, info=info)
    db.session.flush()
    return SignInResult(user)


def _count_failure(user: User, email: str, info: RequestInfo | None,
                   now: datetime) -> SignInResult | None:
    """Add one failure in the database (not in Python, so parallel attempts all count)."""
    limit = current_app.config["LOGIN_MAX_FAILURES"]
    failures = db.session.scalar(
        update(User)
        .where(User.id == user.id)
        .values(failed_logins=User.failed_logins + 1)
        .returning(User.failed_logins)
    )
    if failures < limit:
        db.session.refresh(user)
        return None
    until = now + current_app.config["LOGIN_LOCKOUT"]
    db.session.execute(
        update(User).where(User.id == user.id).values(failed_logins=0, locked_until=until)
    )
    db.session.refresh(user)
    _log(SecurityEventKind.LOCKED_OUT, email=email, user=user, info=info,
         detail=f"{failures} failed attempts; locked until {until.isoformat()}")
    db.session.flush()
    return SignInResult(None, _locked_message(until))


def sign_out(user: User, info: RequestInfo | None = None) -> None:
    """End every session of ``user``: the old session token stops matching anything."""
    user.session_token = new_session_token()
    _log(SecurityEventKind.LOGOUT, email=user.email, user=user, info=info)
    db.session.flush()


def create_user(actor: User | None, *, email: str, full_name: str, role: Role,
                password: str, info: RequestInfo | None = None) -> User:
    """Create an account. ``actor`` is None only from the command line."""
    email = normalise_email(email)
    if not email or "@" not in email:
        raise AccountError("Enter a valid email address.")
    if not full_name.strip():
        raise AccountError("Enter the person's full name.")
    problem = password_problem(password)
    if problem:
        raise AccountError(problem)
    exists = db.session.scalar(select(func.count()).select_from(User).where(User.email == email))
    if exists:
        raise AccountError(f"An account with the email {email} already exists.")
    user = User(email=email, full_name=full_name.strip(), role=Role(role),
                password_hash=hash_password(password))
    db.session.add(user)
    db.session.flush()
    _log(SecurityEventKind.USER_CREATED, email=email, user=user, actor=actor, info=info,
         detail=f"role {user.role.value}")
    db.session.flush()
    return user


def change_role(actor: User, user: User, role: Role, info: RequestInfo | None = None) -> None:
    role = Role(role)
    if user.id == actor.id and role != actor.role:
        raise AccountError("You cannot change your own role; ask another administrator.")
    if role == user.role:
        return
    old = user.role
    user.role = role
    # A role change ends the user's sessions so a demoted user keeps no open page of power.
    user.session_token = new_session_token()
    _log(SecurityEventKind.ROLE_CHANGED, email=user.email, user=user, actor=actor, info=info,
         detail=f"{old.value} → {role.value}")
    db.session.flush()


def set_active(actor: User, user: User, active: bool, info: RequestInfo | None = None) -> None:
    if user.id == actor.id and not active:
        raise AccountError("You cannot deactivate your own account.")
    if user.active == active:
        return
    user.active = active
    user.session_token = new_session_token()
    if active:
        user.failed_logins = 0
        user.locked_until = None
    kind = SecurityEventKind.REACTIVATED if active else SecurityEventKind.DEACTIVATED
    _log(kind, email=user.email, user=user, actor=actor, info=info)
    db.session.flush()


def change_password(user: User, current: str, new: str, info: RequestInfo | None = None) -> None:
    """Change one's own password; ends every other session of this user."""
    if not _password_matches(user, current):
        raise AccountError("Your current password is not correct.")
    problem = password_problem(new)
    if problem:
        raise AccountError(problem)
    if current == new:
        raise AccountError("Choose a password different from the current one.")
    user.password_hash = hash_password(new)
    user.password_changed_at = utcnow()
    user.session_token = new_session_token()
    _log(SecurityEventKind.PASSWORD_CHANGED, email=user.email, user=user, actor=user, info=info)
    db.session.flush()
