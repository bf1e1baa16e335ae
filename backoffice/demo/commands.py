"""``flask seed-demo``: demo accounts and demo cases for the embedded run, and bulk cases for
benchmarks (``--cases N``)."""

from __future__ import annotations

from datetime import date

import click
from flask import current_app
from flask.cli import with_appcontext

from backoffice.auth.models import User
from backoffice.core.dates import hk_today
from backoffice.demo import bulk, stories
from backoffice.demo.accounts import (
    BULK_PASSWORD,
    DEMO_ACCOUNTS,
    DEMO_CASEWORKERS,
    DEMO_SUPERVISOR,
    bulk_caseworker_ids,
    bulk_workers,
    demo_user,
    seed_bulk_caseworkers,
    seed_demo_accounts,
)
from backoffice.demo.stopwatch import Stopwatch, since_process_start
from backoffice.extensions import db
from backoffice.quota import services as quota


@click.command("seed-demo")
@click.option("--cases", "bulk_cases", type=click.IntRange(min=1), default=None,
              metavar="N", help="Bulk-load N synthetic cases for benchmarks instead of the "
                                "curated demo cases (and fill the current QMAS year where "
                                "it is not yet filled).")
@click.option("--seed", type=int, default=stories.DEMO_SEED, show_default=True,
              help="Random seed: the same seed gives the same data.")
@click.option("--chunk-size", type=click.IntRange(min=100), default=20_000, show_default=True,
              help="Rows generated and sent per chunk with --cases.")
@click.option("--processes", type=click.IntRange(min=0), default=None,
              help="Processes generating the rows with --cases on PostgreSQL (0: this one; "
                   "default: one per core).")
@with_appcontext
def seed_demo_command(bulk_cases: int | None, seed: int, chunk_size: int,
                      processes: int | None) -> None:
    """Create demo accounts for every role and about sixty demo cases, in a QMAS year
    filled to a realistic share of its quota.

    Safe to run twice (nothing is created twice); refused in production. With --cases N,
    load N synthetic cases (applicants, events, some dependants) as fast as the database
    allows, for benchmarks; every run adds N more (and fills the current year where it is
    not yet filled).
    """
    # Read first: the time before the command (Python, imports, create_app) is part of the
    # wall time an outside timer reports, so the bulk load's table counts it.
    before = since_process_start()
    laps = Stopwatch(None if before is None else (STARTING, before))
    if current_app.config["ENV_NAME"] == "production":
        raise click.ClickException(
            "seed-demo creates known passwords; it is refused in production.")
    created = seed_demo_accounts()
    db.session.commit()
    laps.lap(ACCOUNTS)
    click.echo(f"Demo accounts: {len(created)} created, "
               f"{len(DEMO_ACCOUNTS) - len(created)} already there.")
    # The clock is read once: every date of the demo data is on or before this day.
    today = hk_today()
    if bulk_cases is None:
        _seed_demo_cases(seed, today)
    else:
        _bulk_load(bulk_cases, seed, chunk_size, today, laps, processes)


def _seed_demo_cases(seed: int, today: date) -> None:
    caseworkers = [demo_user(email, "can_work_cases") for email in DEMO_CASEWORKERS]
    supervisor = demo_user(DEMO_SUPERVISOR, "can_supervise")
    _ensure_demo_quota(supervisor, today)
    report = stories.seed_demo_cases(caseworkers, supervisor, seed=seed, today=today)
    if report.created:
        # The year's other QMAS cases, behind the stories: made by the bulk loader (cheap),
        # worked by the bulk caseworkers, so the demo caseworkers' queues hold the stories.
        new_accounts = seed_bulk_caseworkers()
        if new_accounts:
            click.echo(f"Bulk caseworkers: {new_accounts} created for the year's other cases "
                       f"(bulk-caseworker-NN@example.org, password {BULK_PASSWORD}).")
        background = bulk.bulk_load_cases(0, bulk_caseworker_ids(), supervisor=supervisor,
                                          seed=seed, today=today)
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
    _echo_year(background)


def _echo_year(result: bulk.BulkResult) -> None:
    plan = result.year
    if plan is None or not plan.approvals:
        return
    period = quota.get_period("QMAS", plan.year)
    of_limit = "" if period.quota_limit is None else f" of {period.quota_limit:,}"
    click.echo(f"QMAS {plan.year}: {len(plan.approvals):,} cases approved over the year so far "
               f"and {len(plan.waiting)} awaiting quota added; {period.allocated:,}{of_limit} "
               f"places allocated.")


def _ensure_demo_quota(supervisor: User, today: date) -> None:
    """QMAS approvals take a quota place: give the demo years a quota where none is set."""
    this_year = today.year
    for year in range(this_year - 3, this_year + 1):
        if quota.get_period("QMAS", year) is None:
            quota.set_limit(supervisor, "QMAS", year, 4000, note="Demo data")


# The stages of ``seed-demo --cases N`` outside the loader (``bulk`` names its own).
STARTING = "before the command: Python start-up, imports, create_app"
ACCOUNTS = "demo accounts and bulk caseworkers"
COMMITTING = "commit"
ANALYZING = "ANALYZE"
REPORTING = "the year's summary"


def _bulk_load(n: int, seed: int, chunk_size: int, today: date, laps: Stopwatch,
               processes: int | None) -> None:
    new_accounts = seed_bulk_caseworkers()
    if new_accounts:
        click.echo(f"Bulk caseworkers: {new_accounts} created "
                   f"(bulk-caseworker-NN@example.org, password {BULK_PASSWORD}).")
    workers = bulk_workers()
    laps.lap(ACCOUNTS)
    click.echo(f"Loading {n:,} cases over {len(workers)} caseworkers "
               f"({db.engine.dialect.name})...")
    result = bulk.bulk_load_cases(n, workers, supervisor=demo_user(DEMO_SUPERVISOR,
                                                                    "can_supervise"),
                                  seed=seed, chunk_size=chunk_size, today=today,
                                  processes=processes, stopwatch=laps,
                                  progress=lambda line: click.echo(f"  {line}"))
    click.echo(f"  with {result.deadlines:,} deadlines, {result.job_offers:,} job offers and "
               f"{result.places:,} quota places")
    db.session.commit()
    laps.lap(COMMITTING)
    bulk.analyze()
    db.session.commit()
    laps.lap(ANALYZING)
    _echo_year(result)
    laps.lap(REPORTING)
    total = laps.total
    click.echo(
        f"Loaded {result.cases:,} cases, {result.applicants:,} applicants, "
        f"{result.events:,} events and {result.dependants:,} dependants "
        f"({result.rows:,} rows) in {total:,.1f} s of wall time: "
        f"{result.cases / total:,.0f} cases/s, {result.rows / total:,.0f} rows/s.")
    since = ("since the process started (Python start-up and app creation included)"
             if STARTING in laps.seconds else
             "since the command started (Python start-up and app creation not included)")
    # The interpreter's exit comes after this table (0.8-1 s measured): no stage can count
    # it, an outside timer does.
    click.echo(f"Stages, {since}, until this table (not the interpreter's exit after it):")
    for line in laps.table():
        click.echo(line)
    if result.processes:
        click.echo(f"The {result.processes} generator processes were busy "
                   f"{result.generating:,.1f} s in all, this process waited for them "
                   f"{laps.seconds.get(bulk.WAITING, 0.0):,.1f} s.")
