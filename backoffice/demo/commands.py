"""``flask seed-demo``: demo accounts and demo cases for the embedded run, and bulk cases for
benchmarks (``--cases N``)."""

from __future__ import annotations

import time

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import select

from backoffice.auth import services as accounts
from backoffice.auth.models import Role, User
from backoffice.core.dates import hk_today
from backoffice.demo import data as demo_data
from backoffice.extensions import db

# Printed by `make run`; only ever created outside production.
DEMO_ACCOUNTS = [
    ("admin@example.org", "Ada Admin", Role.ADMIN, "demo-admin-password"),
    ("supervisor@example.org", "Sam Supervisor", Role.SUPERVISOR, "demo-supervisor-password"),
    ("caseworker@example.org", "Chan Tai Man", Role.CASEWORKER, "demo-caseworker-password"),
    ("caseworker2@example.org", "Wong Siu Ling", Role.CASEWORKER, "demo-caseworker-password"),
]
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
                                 temporary=False)
            created.append(email)
    return created


def _demo_user(email: str, can: str) -> User:
    user = accounts.get_user_by_email(email)
    if user is None or not user.active or not getattr(user, can)():
        raise click.ClickException(
            f"The demo account {email} is missing, inactive or has another role; "
            "demo cases need the demo caseworkers and supervisor.")
    return user


def seed_bulk_caseworkers() -> int:
    """Make sure the 20 bulk caseworker accounts exist; return how many were created.

    The password is hashed once (argon2id costs tens of milliseconds) and the hash reused.
    """
    emails = [f"bulk-caseworker-{i:02d}@example.org" for i in range(1, BULK_CASEWORKERS + 1)]
    existing = set(db.session.scalars(select(User.email).where(User.email.in_(emails))))
    missing = [(email, name) for email, name in zip(emails, _BULK_NAMES, strict=True)
               if email not in existing]
    if missing:
        password_hash = accounts.hash_password(BULK_PASSWORD)
        db.session.add_all(User(email=email, full_name=name, role=Role.CASEWORKER,
                                password_hash=password_hash) for email, name in missing)
        db.session.flush()
    return len(missing)


def _bulk_workers() -> list[int]:
    return list(db.session.scalars(
        select(User.id).where(User.role == Role.CASEWORKER, User.active.is_(True))
        .order_by(User.id)))


@click.command("seed-demo")
@click.option("--cases", "bulk_cases", type=click.IntRange(min=1), default=None,
              metavar="N", help="Bulk-load N synthetic cases for benchmarks instead of the "
                                "curated demo cases.")
@click.option("--seed", type=int, default=demo_data.DEMO_SEED, show_default=True,
              help="Random seed: the same seed gives the same data.")
@click.option("--chunk-size", type=click.IntRange(min=100), default=20_000, show_default=True,
              help="Rows generated and sent per chunk with --cases.")
@with_appcontext
def seed_demo_command(bulk_cases: int | None, seed: int, chunk_size: int) -> None:
    """Create demo accounts for every role and about sixty demo cases.

    Safe to run twice (nothing is created twice); refused in production. With --cases N,
    load N synthetic cases (applicants, events, some dependants) as fast as the database
    allows, for benchmarks; every run adds N more.
    """
    if current_app.config["ENV_NAME"] == "production":
        raise click.ClickException(
            "seed-demo creates known passwords; it is refused in production.")
    created = seed_demo_accounts()
    db.session.commit()
    click.echo(f"Demo accounts: {len(created)} created, "
               f"{len(DEMO_ACCOUNTS) - len(created)} already there.")
    if bulk_cases is None:
        _seed_demo_cases(seed)
    else:
        _bulk_load(bulk_cases, seed, chunk_size)


def _seed_demo_cases(seed: int) -> None:
    caseworkers = [_demo_user(email, "can_work_cases") for email in DEMO_CASEWORKERS]
    supervisor = _demo_user(DEMO_SUPERVISOR, "can_supervise")
    _ensure_demo_quota(supervisor)
    report = demo_data.seed_demo_cases(caseworkers, supervisor, seed=seed)
    db.session.commit()
    if not report.created:
        click.echo("Demo cases: already there, none created.")
        return
    statuses = ", ".join(f"{status.label.lower()} {count}"
                         for status, count in sorted(report.by_status.items(),
                                                     key=lambda item: -item[1]))
    click.echo(f"Demo cases: {report.created} created ({statuses}).")
    for note in report.notes:
        click.echo(f"  {note}")


def _ensure_demo_quota(supervisor: User) -> None:
    """QMAS approvals take a quota place: give the demo years a quota where none is set."""
    from backoffice.quota import services as quota

    this_year = hk_today().year
    for year in range(this_year - 3, this_year + 1):
        if quota.get_period("QMAS", year) is None:
            quota.set_limit(supervisor, "QMAS", year, 4000, note="Demo data")


def _bulk_load(n: int, seed: int, chunk_size: int) -> None:
    new_accounts = seed_bulk_caseworkers()
    if new_accounts:
        click.echo(f"Bulk caseworkers: {new_accounts} created "
                   f"(bulk-caseworker-NN@example.org, password {BULK_PASSWORD}).")
    workers = _bulk_workers()
    click.echo(f"Loading {n:,} cases over {len(workers)} caseworkers "
               f"({db.engine.dialect.name})...")
    result = demo_data.bulk_load_cases(n, workers, seed=seed, chunk_size=chunk_size,
                                       progress=lambda line: click.echo(f"  {line}"))
    derived = demo_data.derive_bulk_rows(_demo_user(DEMO_SUPERVISOR, "can_supervise").id)
    click.echo("  derived: " + ", ".join(f"{v:,} {k}" for k, v in derived.items()))
    started = time.perf_counter()
    db.session.commit()
    commit_seconds = time.perf_counter() - started
    started = time.perf_counter()
    demo_data.analyze()
    db.session.commit()
    analyze_seconds = time.perf_counter() - started
    total = result.seconds + commit_seconds
    click.echo(
        f"Loaded {result.cases:,} cases, {result.applicants:,} applicants, "
        f"{result.events:,} events and {result.dependants:,} dependants "
        f"({result.rows:,} rows) in {total:,.1f} s: {result.cases / total:,.0f} cases/s, "
        f"{result.rows / total:,.0f} rows/s (ANALYZE {analyze_seconds:,.1f} s).")
