"""The demo accounts: one per role for the embedded run, and 20 bulk caseworkers."""

from __future__ import annotations

import click
from sqlalchemy import select

from backoffice.auth import services as accounts
from backoffice.auth.models import Role, User
from backoffice.extensions import db

# Printed by `make run`; only ever created outside production.
DEMO_ACCOUNTS = [
    ("admin@example.org", "Ada Admin", Role.ADMIN, "demo-admin-password"),
    ("supervisor@example.org", "Sam Supervisor", Role.SUPERVISOR, "demo-supervisor-password"),
    ("caseworker@example.org", "Chan Tai Man", Role.CASEWORKER, "demo-caseworker-password"),
    ("caseworker2@example.org", "Wong Siu Ling", Role.CASEWORKER, "demo-caseworker-password"),
]
# One demo caseworker reads the office in Chinese, so the first `make run` shows both.
DEMO_LANGUAGES = {"caseworker2@example.org": "zh_Hant_HK"}
DEMO_SUPERVISOR = "supervisor@example.org"
DEMO_CASEWORKERS = ("caseworker@example.org", "caseworker2@example.org")

# `--cases N` spreads the bulk cases over the existing caseworkers plus these 20 accounts.
BULK_CASEWORKERS = 20
BULK_PASSWORD = "bulk-caseworker-password"  # noqa: S105  (a published demo password)
_BULK_NAMES = (
    "Lam Ka Yan", "Cheung Ho Yin", "Leung Wing Kin", "Ho Mei Kuen", "Ng Chi Ming",
    "Tsang Hiu Tung", "Yip Man Hon", "Kwok Sze Wan", "Chow Tsz Chun", "Mak Hoi Ting",
    "Priya Raman", "Daniel Fischer", "Maria Santos", "Tom Harris", "Aisha Khan",
    "Kenji Sato", "Lucy Evans", "Siddharth Rao", "Fung Chun Hei", "Tang Siu Ling",
)


def seed_demo_accounts() -> list[str]:
    """Create the demo accounts that do not exist yet; return the emails created."""
    created = []
    for email, name, role, password in DEMO_ACCOUNTS:
        if accounts.get_user_by_email(email) is None:
            # Published demo passwords: chosen already, so `make run` signs straight in.
            accounts.create_user(None, email=email, full_name=name, role=role, password=password,
                                 temporary=False, language=DEMO_LANGUAGES.get(email, "en"))
            created.append(email)
    return created


def demo_user(email: str, can: str) -> User:
    """The demo account ``email``, which must be active and able to ``can`` (a permission
    method such as ``can_supervise``)."""
    user = accounts.get_user_by_email(email)
    if user is None or not user.active or not getattr(user, can)():
        raise click.ClickException(
            f"The demo account {email} is missing, inactive or has another role; "
            "demo cases need the demo caseworkers and supervisor.")
    return user


def bulk_caseworker_emails() -> list[str]:
    return [f"bulk-caseworker-{i:02d}@example.org" for i in range(1, BULK_CASEWORKERS + 1)]


def seed_bulk_caseworkers() -> int:
    """Make sure the 20 bulk caseworker accounts exist; return how many were created.

    The password is hashed once (argon2id costs tens of milliseconds) and the hash reused.
    """
    emails = bulk_caseworker_emails()
    existing = set(db.session.scalars(select(User.email).where(User.email.in_(emails))))
    missing = [(email, name) for email, name in zip(emails, _BULK_NAMES, strict=True)
               if email not in existing]
    if missing:
        password_hash = accounts.hash_password(BULK_PASSWORD)
        db.session.add_all(User(email=email, full_name=name, role=Role.CASEWORKER,
                                password_hash=password_hash) for email, name in missing)
        db.session.flush()
    return len(missing)


def bulk_caseworker_ids() -> list[int]:
    """The ids of the active bulk caseworkers (the curated demo's background cases)."""
    return list(db.session.scalars(
        select(User.id).where(User.email.in_(bulk_caseworker_emails()),
                              User.role == Role.CASEWORKER, User.active.is_(True))
        .order_by(User.id)))


def bulk_workers() -> list[int]:
    """The ids of the active caseworkers bulk cases are spread over."""
    return list(db.session.scalars(
        select(User.id).where(User.role == Role.CASEWORKER, User.active.is_(True))
        .order_by(User.id)))
