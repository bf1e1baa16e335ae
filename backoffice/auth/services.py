"""Account rules: passwords, sign-in with lockout, and account administration.

Sign-in failures lock an account only for the client address they came from (SignInLock);
the limits per address and over all addresses are the web edge's (auth/throttling.py).

Services change rows, write the security event and flush; the request or CLI commits once.
"""

from __future__ import annotations

import gzip
import ipaddress
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from email_validator import EmailNotValidError, validate_email
from flask import current_app
from flask_babel import gettext, ngettext
from sqlalchemy import case, delete, func, select

from backoffice.auth.models import (
    Role,
    SecurityEvent,
    SecurityEventKind,
    SignInLock,
    User,
    new_session_token,
)
from backoffice.core.dates import utcnow
from backoffice.core.db import dialect_insert
from backoffice.core.i18n import DEFAULT_LANGUAGE, LANGUAGES, format_datetime
from backoffice.core.i18n import LazyText as LazyString
from backoffice.core.i18n import lazy_gettext as _l
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
    """A rule refused the change; the message (a lazy string: a message id and its values)
    is shown to the user in their language."""


@dataclass(frozen=True)
class RequestInfo:
    """Where a request came from, for the security log."""

    ip: str | None = None
    user_agent: str | None = None


@dataclass(frozen=True)
class SignInResult:
    user: User | None
    error: str | LazyString | None = None
    # A password was checked and did not open the account: the web edge counts these
    # toward the limits per address and over all addresses.
    failed: bool = False
    # Set when this address is locked out of the account: the edge answers 429 and says when.
    locked_until: datetime | None = None

    @property
    def ok(self) -> bool:
        return self.user is not None


def hash_password(password: str) -> str:
    return _hasher().hash(password)


_COMMON_PASSWORDS = Path(__file__).parent / "data" / "common-passwords.txt.gz"
TOO_COMMON = _l("This is one of the most common passwords, so it is among the first an "
                "attacker tries. Choose another, such as a short sentence.")


@cache
def common_passwords() -> frozenset[str]:
    """The shipped list of common passwords (data/README.md), read once per process."""
    with gzip.open(_COMMON_PASSWORDS, "rt", encoding="utf-8") as lines:
        return frozenset(line.strip() for line in lines if line.strip())


def is_common_password(password: str) -> bool:
    """True for a listed password, however it is cased or spaced, or one repeated
    ("qwertyqwerty"): the variations guessing tools try first."""
    common = common_passwords()
    lowered = password.strip().lower()
    squeezed = "".join(lowered.split())
    for text in {lowered, squeezed}:
        if text in common:
            return True
        for size in range(1, len(text) // 2 + 1):
            if len(text) % size == 0 and text[:size] * (len(text) // size) == text \
                    and (text[:size] in common or size <= 2):
                return True
    return False


def password_problem(password: str) -> LazyString | None:
    """Why ``password`` is not acceptable (a lazy sentence), or None. Length and not being a
    known common password are what matter (ASVS 5 §6.2)."""
    if len(password) < PASSWORD_MIN_LENGTH:
        return _l("Use at least %(num)d characters.", num=PASSWORD_MIN_LENGTH)
    if len(password) > PASSWORD_MAX_LENGTH:
        return _l("Use at most %(num)d characters.", num=PASSWORD_MAX_LENGTH)
    if not password.strip():
        return _l("The password cannot be only spaces.")
    if is_common_password(password):
        return TOO_COMMON
    return None


EMAIL_MESSAGE = _l("Enter a valid email address, like name@example.org.")


def email_problem(email: str) -> LazyString | None:
    """Why ``email`` cannot be an account's address, or None: the one rule the admin form
    and ``flask create-user`` share (email-validator, without asking DNS)."""
    try:
        validate_email(email.strip(), check_deliverability=False)
    except EmailNotValidError:
        return EMAIL_MESSAGE
    return None


def normalise_email(email: str) -> str:
    return email.strip().lower()


def address_key(ip: str | None) -> str:
    """The client address as sign-in locks and limits count it: an IPv4 address as it is,
    an IPv6 address by its /64 network (one subscriber's line holds a whole /64, so counting
    single IPv6 addresses would give one attacker billions of fresh ones); "" when unknown."""
    if not ip:
        return ""
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return ip[:45]
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:  # ::ffff:192.0.2.1 is the IPv4 address itself
            return str(address.ipv4_mapped)
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


def get_user_by_email(email: str) -> User | None:
    return db.session.scalar(select(User).where(User.email == normalise_email(email)))


def _log(kind: SecurityEventKind, *, email: str, user: User | None = None,
         actor: User | None = None, info: RequestInfo | None = None,
         detail: dict | None = None) -> SecurityEvent:
    info = info or RequestInfo()
    event = SecurityEvent(
        kind=kind,
        email=email[:254],
        user_id=user.id if user else None,
        actor_id=actor.id if actor else None,
        ip=(info.ip or None) and info.ip[:45],
        user_agent=(info.user_agent or None) and info.user_agent[:255],
        detail_data=detail,
    )
    db.session.add(event)
    return event


def _password_matches(user: User | None, password: str) -> bool:
    try:
        _hasher().verify(user.password_hash if user else _dummy_hash(), password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False
    return user is not None


def _locked_message(until: datetime) -> LazyString:
    # The time is formatted when the sentence is, in the same language (a lazy value).
    return _l("Too many failed sign-in attempts for this account from your network address. "
              "Try again after %(time)s Hong Kong time, or ask an administrator to unlock "
              "the account.", time=LazyString(format_datetime, until))


def _lock_of(user: User, address: str) -> SignInLock | None:
    return db.session.scalar(select(SignInLock).where(SignInLock.user_id == user.id,
                                                      SignInLock.address == address))


def active_locks(user: User, now: datetime | None = None) -> list[SignInLock]:
    """The addresses locked out of ``user``'s account now, soonest to end first."""
    return list(db.session.scalars(
        select(SignInLock).where(SignInLock.user_id == user.id,
                                 SignInLock.locked_until > (now or utcnow()))
        .order_by(SignInLock.locked_until)))


def locked_user_ids(user_ids: list[int], now: datetime | None = None) -> set[int]:
    """Which of ``user_ids`` have at least one address locked out now (for lists)."""
    if not user_ids:
        return set()
    return set(db.session.scalars(
        select(SignInLock.user_id).where(SignInLock.user_id.in_(user_ids),
                                         SignInLock.locked_until > (now or utcnow()))))


def sign_in(email: str, password: str, info: RequestInfo | None = None,
            now: datetime | None = None) -> SignInResult:
    """Check a sign-in attempt; count failures per account and client address.

    After ``LOGIN_MAX_FAILURES`` failures in a row from one address (each within
    ``LOGIN_LOCKOUT`` of the one before) that address is locked out of that account for
    ``LOGIN_LOCKOUT``; while locked even the right password is refused from there. Other
    addresses are not affected, so nobody can lock a colleague out by mistyping (or guessing
    at) their account. Every outcome is logged. The caller commits whatever the result, so
    failures are never lost.
    """
    now = now or utcnow()
    email = normalise_email(email)
    address = address_key(info.ip if info else None)
    user = get_user_by_email(email)
    wrong = SignInResult(None, _l("The email address or password is incorrect."), failed=True)

    if user is not None:
        lock = _lock_of(user, address)
        if lock is not None and lock.locked_until is not None and lock.locked_until > now:
            _log(SecurityEventKind.LOGIN_WHILE_LOCKED, email=email, user=user, info=info)
            return SignInResult(None, _locked_message(lock.locked_until), failed=True,
                                locked_until=lock.locked_until)

    if not _password_matches(user, password):
        _log(SecurityEventKind.LOGIN_FAILED, email=email, user=user, info=info)
        if user is None:
            return wrong
        return _count_failure(user, email, address, info, now) or wrong

    if not user.active:
        _log(SecurityEventKind.LOGIN_INACTIVE, email=email, user=user, info=info)
        return SignInResult(None, _l("This account is deactivated. Ask an administrator."))

    db.session.execute(delete(SignInLock).where(SignInLock.user_id == user.id,
                                                SignInLock.address == address))
    user.last_login_at = now
    if _hasher().check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    _log(SecurityEventKind.LOGIN, email=email, user=user, info=info)
    db.session.flush()
    return SignInResult(user)


def _count_failure(user: User, email: str, address: str, info: RequestInfo | None,
                   now: datetime) -> SignInResult | None:
    """Add one failure for this account and address in one statement (not read, then
    written), so parallel attempts all count; a failure long after the last starts again."""
    limit = current_app.config["LOGIN_MAX_FAILURES"]
    window = current_app.config["LOGIN_LOCKOUT"]
    table = SignInLock.__table__
    insert = dialect_insert(SignInLock)
    failures = db.session.scalar(
        insert.values(user_id=user.id, address=address, failures=1, last_failure_at=now)
        .on_conflict_do_update(
            index_elements=[table.c.user_id, table.c.address],
            set_={"failures": case((table.c.last_failure_at < now - window, 1),
                                   else_=table.c.failures + 1),
                  "last_failure_at": now})
        .returning(table.c.failures))
    if failures < limit:
        return None
    until = now + window
    lock = _lock_of(user, address)
    lock.failures = 0
    lock.locked_until = until
    _log(SecurityEventKind.LOCKED_OUT, email=email, user=user, info=info,
         detail=detail_of("locked_out", failures=failures, address=address,
                          until=until.isoformat()))
    db.session.flush()
    return SignInResult(None, _locked_message(until), failed=True, locked_until=until)


def unlock(actor: User, user: User, info: RequestInfo | None = None) -> int:
    """Lift every sign-in lock on ``user``'s account (an admin, after checking with the
    person); returns how many addresses were locked out."""
    locks = active_locks(user)
    if not locks:
        raise AccountError(_l("%(name)s's account is not locked.", name=user.full_name))
    db.session.execute(delete(SignInLock).where(SignInLock.user_id == user.id))
    _log(SecurityEventKind.UNLOCKED, email=user.email, user=user, actor=actor, info=info,
         detail=detail_of("unlocked", addresses=[lock.address for lock in locks]))
    db.session.flush()
    return len(locks)


def sign_out(user: User, info: RequestInfo | None = None) -> None:
    """End every session of ``user``: the old session token stops matching anything."""
    user.session_token = new_session_token()
    _log(SecurityEventKind.LOGOUT, email=user.email, user=user, info=info)
    db.session.flush()


def create_user(actor: User | None, *, email: str, full_name: str, role: Role,
                password: str, temporary: bool = True, language: str = DEFAULT_LANGUAGE,
                info: RequestInfo | None = None) -> User:
    """Create an account. ``actor`` is None only from the command line.

    The password is ``temporary`` unless told otherwise: someone other than the user chose
    it, so the user must choose their own at first sign-in. ``language`` is what the user
    reads pages, emails and notifications in (a core/i18n.py code).
    """
    problem = email_problem(email)
    if problem:
        raise AccountError(problem)
    email = normalise_email(email)
    if not full_name.strip():
        raise AccountError(_l("Enter the person's full name."))
    problem = password_problem(password)
    if problem:
        raise AccountError(problem)
    exists = db.session.scalar(select(func.count()).select_from(User).where(User.email == email))
    if exists:
        raise AccountError(_l("An account with the email %(email)s already exists.",
                              email=email))
    if language not in LANGUAGES:
        raise AccountError(UNKNOWN_LANGUAGE)
    user = User(email=email, full_name=full_name.strip(), role=Role(role),
                password_hash=hash_password(password), must_change_password=temporary,
                language=language)
    db.session.add(user)
    db.session.flush()
    key = "user_created_temporary" if temporary else "user_created"
    _log(SecurityEventKind.USER_CREATED, email=email, user=user, actor=actor, info=info,
         detail=detail_of(key, role=user.role.value))
    db.session.flush()
    return user


def change_role(actor: User, user: User, role: Role, info: RequestInfo | None = None) -> None:
    role = Role(role)
    if user.id == actor.id and role != actor.role:
        raise AccountError(_l("You cannot change your own role; ask another administrator."))
    if role == user.role:
        return
    old = user.role
    user.role = role
    # A role change ends the user's sessions so a demoted user keeps no open page of power.
    user.session_token = new_session_token()
    _log(SecurityEventKind.ROLE_CHANGED, email=user.email, user=user, actor=actor, info=info,
         detail=detail_of("role_changed", old=old.value, new=role.value))
    db.session.flush()


def set_active(actor: User, user: User, active: bool, info: RequestInfo | None = None) -> None:
    if user.id == actor.id and not active:
        raise AccountError(_l("You cannot deactivate your own account."))
    if user.active == active:
        return
    user.active = active
    user.session_token = new_session_token()
    if active:
        db.session.execute(delete(SignInLock).where(SignInLock.user_id == user.id))
    kind = SecurityEventKind.REACTIVATED if active else SecurityEventKind.DEACTIVATED
    _log(kind, email=user.email, user=user, actor=actor, info=info)
    db.session.flush()


def change_password(user: User, current: str, new: str, info: RequestInfo | None = None) -> None:
    """Change one's own password; ends every other session of this user."""
    if not _password_matches(user, current):
        raise AccountError(_l("Your current password is not correct."))
    problem = password_problem(new)
    if problem:
        raise AccountError(problem)
    if current == new:
        raise AccountError(_l("Choose a password different from the current one."))
    user.password_hash = hash_password(new)
    user.password_changed_at = utcnow()
    user.must_change_password = False
    user.session_token = new_session_token()
    _log(SecurityEventKind.PASSWORD_CHANGED, email=user.email, user=user, actor=user, info=info)
    db.session.flush()


def reset_password(actor: User, user: User, password: str,
                   info: RequestInfo | None = None) -> None:
    """An admin gives ``user`` a temporary password: every session of theirs ends, their
    sign-in locks are lifted, and they must choose their own password at next sign-in."""
    if user.id == actor.id:
        raise AccountError(_l("Change your own password on your account page, not here."))
    problem = password_problem(password)
    if problem:
        raise AccountError(problem)
    user.password_hash = hash_password(password)
    user.password_changed_at = utcnow()
    user.must_change_password = True
    user.session_token = new_session_token()
    db.session.execute(delete(SignInLock).where(SignInLock.user_id == user.id))
    _log(SecurityEventKind.PASSWORD_RESET, email=user.email, user=user, actor=actor, info=info,
         detail=detail_of("password_reset"))
    db.session.flush()


UNKNOWN_LANGUAGE = _l("Choose one of the languages offered.")


def set_language(user: User, language: str) -> None:
    """Save the language the user reads pages, emails and notifications in."""
    if language not in LANGUAGES:
        raise ValueError(f"unknown language {language!r}")
    user.language = language
    db.session.flush()


# --- The security log's details -------------------------------------------------------------
# An event stores what the system has to say about it as a message key and its values
# (SecurityEvent.detail_data), and the sentence is written when someone reads the log, in
# their language. Older events carry an English sentence in ``detail`` instead.

def detail_of(key: str, **values: Any) -> dict:
    """``detail_data`` for an event: the message key (one of ``DETAILS``) and its values,
    which must be JSON (codes, counts, ISO timestamps; never a translated word)."""
    if key not in DETAILS:
        raise ValueError(f"unknown security event detail {key!r}")
    return {"key": key, "values": values}


def _address(address: str | None) -> str:
    return address or gettext("unknown address")


def _role(code: str) -> str:
    try:
        return str(Role(code).label)
    except ValueError:  # a role that no longer exists: its code is all there is
        return code


def _when(iso: str) -> str:
    try:
        return format_datetime(datetime.fromisoformat(iso))
    except (TypeError, ValueError):
        return str(iso)


# key -> the sentence in the reader's language, from the stored values.
DETAILS: dict[str, Callable[[Mapping[str, Any]], str]] = {
    "locked_out": lambda v: ngettext(
        "%(num)d failed attempt from %(address)s; that address is locked out until %(until)s.",
        "%(num)d failed attempts from %(address)s; that address is locked out until "
        "%(until)s.", v["failures"], address=_address(v.get("address")),
        until=_when(v["until"])),
    "unlocked": lambda v: gettext(
        "Unlocked for %(addresses)s.",
        addresses=gettext(", ").join(_address(a) for a in v["addresses"])),
    "user_created": lambda v: gettext(
        "Role: %(role)s; the password was chosen by the user.", role=_role(v["role"])),
    "user_created_temporary": lambda v: gettext(
        "Role: %(role)s; temporary password.", role=_role(v["role"])),
    "role_changed": lambda v: gettext(
        "%(old)s → %(new)s", old=_role(v["old"]), new=_role(v["new"])),
    "password_reset": lambda _v: gettext(
        "Temporary password; a new one must be chosen at next sign-in."),
    "document_downloaded": lambda v: gettext(
        "File “%(file)s” (no. %(file_id)d) of case %(reference)s.", file=v["file"],
        file_id=v["file_id"], reference=v["reference"]),
}


def record_download(actor: User, info: RequestInfo, *, reference: str, file_id: int,
                    file_name: str) -> SecurityEvent:
    """Log that ``actor`` read a file of case ``reference``: every download of a case's
    documents is in the security log."""
    return _log(SecurityEventKind.DOCUMENT_DOWNLOADED, email=actor.email, user=actor,
                info=info, detail=detail_of("document_downloaded", reference=reference,
                                            file_id=file_id, file=file_name))


def describe_detail(event: Any) -> str:
    """What the log says about ``event`` (a SecurityEvent or a row with ``detail`` and
    ``detail_data``), in the reader's language: the message its key names, or an older
    event's stored sentence as it is, or "" when there is nothing to add."""
    data = event.detail_data
    if data:
        describe = DETAILS.get(data.get("key", ""))
        if describe is not None:
            try:
                return describe(data.get("values") or {})
            except (KeyError, TypeError):  # values of another shape: show the key at least
                return data["key"]
        return str(data.get("key", ""))
    return event.detail or ""
