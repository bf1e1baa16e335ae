"""Bulk loading of synthetic cases for benchmarks (``flask seed-demo --cases N``).

Fast and set-based, but with no rule of its own: each case is planned (``roads``), its road
is walked on a case in memory by the lifecycle's and the stay's own functions (``rows``), and
the rows that walk produced go to the database by ``COPY`` (``sinks``) in chunks, generated in
worker processes for big loads. The quota's periods are set through ``quota.services``; each
year's ``allocated`` is then raised by the places loaded, as ``take_place`` would have, the
limit first where the bulk approvals need more than it allows, and their month and nationality
counters are counted again from the allocations (``quota.rebuild_counters``), and the cases'
status counts from the cases (``cases.counts.rebuild_status_counts``). ``tests/demo/
test_bulk_matches_services.py`` replays the same plans through the services and compares
every row.

The current year's QMAS places are planned apart (``demo.year``): a share of the limit on a
curve over the months so far, and a few cases waiting for a place. Its cases are the load's
last chunk, after the ``n`` asked for, made by the same roads and rows (``Planner.
plan_year_case``); the other roads take no place in the current year. A year that already
holds its planned places (the curated demo filled it, or an earlier load) gets none more.
``flask seed-demo`` without ``--cases`` loads that chunk alone, behind the curated stories.

Not written: the "assigned" event of a case handed back to the queue and the "dependant
added" events (their sentences belong to the cases service, which has no row form yet).
Nothing here commits: the ``flask seed-demo`` command does, once.
"""

from __future__ import annotations

import multiprocessing
import os
import random
import time as clock
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select, text, update

from backoffice.auth.models import User
from backoffice.cases import counts
from backoffice.cases.models import Applicant, Case
from backoffice.cases.schemes import CaseStatus, Scheme
from backoffice.core.dates import hk_today
from backoffice.demo import rows as row_form
from backoffice.demo.roads import CasePlan, Planner
from backoffice.demo.sinks import CoreSink, PostgresSink, deferrable_schema, lines, number
from backoffice.demo.stopwatch import Stopwatch
from backoffice.demo.stories import DEMO_SEED
from backoffice.demo.year import YearPlan, plan_year
from backoffice.extensions import db
from backoffice.quota import services as quota
from backoffice.quota.models import QuotaAllocation, QuotaPeriod

# A bulk year's quota, as the demo years have; raised where the bulk approvals need more.
BULK_QUOTA_LIMIT = 4000
_TABLES = ("applicants", "cases", "case_events", "dependants", "deadlines", "job_offers",
           "quota_allocations")
# Fork where there is one: the generator process must not re-run the caller's script (spawn
# would, and a script without a __main__ guard would then wait on this load's locks).
_START_METHOD = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"

# The stages a load's stopwatch is lapped at (``flask seed-demo --cases N`` prints them).
PLANNING_YEAR = "planning the current year"
DROPPING_INDEXES = "dropping indexes and foreign keys"
GENERATING = "generating rows"
WAITING = "waiting for the generator processes"
MAIN_PROCESS = "numbering and rendering in the main process"
SENDING = "sending rows (COPY or INSERT, until the server is done)"
REBUILDING_INDEXES = "re-creating indexes and foreign keys"
SETTLING_QUOTA = "quota settle and counters rebuild"
COUNTING_STATUSES = "status counts rebuild"


@dataclass
class BulkResult:
    cases: int = 0
    applicants: int = 0
    events: int = 0
    dependants: int = 0
    deadlines: int = 0
    job_offers: int = 0
    places: int = 0
    seconds: float = 0.0
    generating: float = 0.0  # seconds the generator processes spent on their chunks, summed
    processes: int = 0  # generator processes (0: the rows were made in this process)
    year: YearPlan | None = None  # the current year's plan, as loaded

    @property
    def rows(self) -> int:
        return (self.cases + self.applicants + self.events + self.dependants + self.deadlines
                + self.job_offers + self.places)

    def add(self, chunk: dict[str, int]) -> None:
        for name, count in chunk.items():
            setattr(self, name, getattr(self, name) + count)

    def progress(self, n: int, started: float) -> str:
        elapsed = clock.perf_counter() - started
        return (f"{self.cases:,}/{n:,} cases ({self.rows:,} rows) in {elapsed:,.1f} s, "
                f"{self.cases / elapsed:,.0f} cases/s")


def chunk_plans(seed: int, number_: int, size: int, today: date, workers: Sequence[int],
                serial: int, year: YearPlan | None = None) -> list[CasePlan]:
    """The plans of chunk ``number_``: its own random stream, so any process can make it.
    With ``year``, the chunk is the year plan's cases instead (all ``size`` of them)."""
    if year is not None:
        return year_plans(year, seed, workers, serial)
    rng = random.Random(f"{seed}:{number_}")  # noqa: S311  (reproducible data, not secrets)
    planner = Planner(rng, today, list(workers))
    return [planner.plan(serial + i + 1) for i in range(size)]


def year_plans(year: YearPlan, seed: int, workers: Sequence[int], serial: int
               ) -> list[CasePlan]:
    """The cases of the year's plan: one approved on each day of its approvals, then one
    held for the quota on each of its waiting days."""
    rng = random.Random(f"{seed}:year-cases:{year.year}")  # noqa: S311  (demo data)
    planner = Planner(rng, year.today, list(workers))
    marks = [(CaseStatus.IN_STAY, day) for day in year.approvals]
    marks += [(CaseStatus.AWAITING_QUOTA, day) for day in year.waiting]
    return [planner.plan_year_case(serial + i + 1, final, day)
            for i, (final, day) in enumerate(marks)]


def plans(n: int, workers: Sequence[int], *, seed: int = DEMO_SEED, chunk_size: int = 20_000,
          today: date, serial: int = 0, year: YearPlan | None = None) -> Iterator[CasePlan]:
    """Every plan a load of ``n`` cases walks, in load order, the year's last (the comparison
    test replays them through the services)."""
    for number_, start in enumerate(range(0, n, chunk_size)):
        yield from chunk_plans(seed, number_, min(chunk_size, n - start), today, workers,
                               serial + start)
    if year is not None:
        yield from year_plans(year, seed, workers, serial + n)


def plan_current_year(seed: int, today: date) -> YearPlan:
    """The plan of the current QMAS year for a load on ``today``: against the year's limit
    (the bulk limit where none is set), counting the places the year already holds, held
    days kept apart from those of the cases already waiting. A year with no place left to
    plan gets no waiting cases either: it is left as it is."""
    year = today.year
    period = quota.get_period(Scheme.QMAS.value, year)
    limit = BULK_QUOTA_LIMIT if period is None or period.quota_limit is None else (
        period.quota_limit)
    taken: Counter = Counter()
    if period is not None:
        taken.update(day.month for day in db.session.scalars(
            select(QuotaAllocation.allocated_on).where(QuotaAllocation.period_id == period.id,
                                                       QuotaAllocation.released_at.is_(None))))
    avoid = frozenset(db.session.scalars(select(Case.status_since).where(
        Case.scheme == Scheme.QMAS, Case.status == CaseStatus.AWAITING_QUOTA,
        Case.status_since.is_not(None))))
    plan = plan_year(today, limit, seed, taken=taken, avoid=avoid)
    if not plan.approvals:
        return YearPlan(year=year, today=today, limit=limit, share=plan.share, approvals=(),
                        waiting=())
    return plan


def chunk_rows(seed: int, number_: int, today: date, workers: Sequence[int],
               applicant_ids: range, case_ids: range, job_offer_ids: range,
               serial: int, year: YearPlan | None = None) -> row_form.ChunkRows:
    """The rows of chunk ``number_`` (or of the year's plan), every case walked by the
    rules. ``job_offer_ids`` has one id per case, for the job offer its road may record (the
    unused ones are gaps)."""
    chunk = row_form.ChunkRows()
    for plan, applicant_id, case_id, job_offer_id in zip(
            chunk_plans(seed, number_, len(case_ids), today, workers, serial, year),
            applicant_ids, case_ids, job_offer_ids, strict=True):
        chunk.add(row_form.walk(plan, applicant_id, case_id, job_offer_id), plan)
    return chunk


def _chunk_text(args) -> tuple[row_form.ChunkRows, dict[str, str], float]:
    """A chunk rendered for COPY (each case's line without its id and reference, places
    without their period), and the seconds that took; runs in a worker process."""
    started = clock.perf_counter()
    chunk = chunk_rows(*args)
    rendered = {name: lines(getattr(chunk, name)) for name in (
        "applicants", "dependants", "events", "deadlines", "job_offers")}
    # Each case's line after its id and reference as one string: pickled to the loading
    # process in 5 ms a chunk instead of 120 ms (and as long to unpickle) for its fields.
    tails = row_form.ChunkRows(cases=["\t".join(row[2:]) for row in chunk.cases],
                               places=chunk.places, keys=chunk.keys)
    return tails, rendered, clock.perf_counter() - started


class _Periods:
    """The quota periods the bulk places go into: each year set through the quota service
    where it is missing, and its ``allocated`` raised at the end by the active places."""

    def __init__(self, supervisor: User) -> None:
        self.supervisor = supervisor
        self.ids: dict[tuple[str, int], int] = {}
        self.active: Counter = Counter()

    def rows(self, places: Iterable[tuple]) -> list[tuple[str, ...]]:
        out = []
        for (scheme, year), *rest in places:
            key = (scheme, year)
            if key not in self.ids:
                period = quota.get_period(scheme, year) or quota.set_limit(
                    self.supervisor, scheme, year, BULK_QUOTA_LIMIT, note="Bulk demo data")
                self.ids[key] = period.id
            if rest[-3] == row_form.NULL:  # not released
                self.active[key] += 1
            out.append((str(self.ids[key]), *rest))
        return out

    def settle(self) -> None:
        for key, held in self.active.items():
            period = db.session.get(QuotaPeriod, self.ids[key])
            needed = period.allocated + held
            if period.quota_limit is not None and needed > period.quota_limit:
                quota.set_limit(self.supervisor, *key, needed,
                                note="Raised to hold the bulk demo data's approvals")
            db.session.execute(update(QuotaPeriod).where(QuotaPeriod.id == period.id)
                               .values(allocated=QuotaPeriod.allocated + held))
        # The places went in by COPY, around the services that keep the dashboard's counters.
        if self.ids:
            quota.rebuild_counters(sorted(self.ids.values()))
        db.session.flush()


def bulk_load_cases(n: int, workers: Sequence[int], *, supervisor: User,
                    seed: int = DEMO_SEED, chunk_size: int = 20_000, today: date | None = None,
                    fill_year: bool = True, fast_ddl: bool | None = None,
                    processes: int | None = None,
                    progress: Callable[[str], None] | None = None,
                    stopwatch: Stopwatch | None = None) -> BulkResult:
    """Load ``n`` synthetic cases with everything the services would have written for them,
    and (``fill_year``) the cases of the current year's plan after them (``n`` may be 0).

    ``workers`` are the user ids cases are assigned to; ``supervisor`` sets the quota years.
    Everything happens in the session's transaction; the caller commits. On PostgreSQL the
    rows go by COPY; for big loads (``fast_ddl``, default n >= 200,000) the non-unique
    indexes and foreign keys of the tables loaded are dropped and re-created in the same
    transaction (several times faster than checking them row by row, and all-or-nothing),
    and the rows are generated in ``processes`` worker processes (default: one per core from
    two chunks on) while this one sends them. Elsewhere the rows go by chunked
    executemany. The same ``seed`` gives the same rows. ``stopwatch`` gets a lap per stage
    (the names above); ``BulkResult.generating`` is the generators' own busy time.
    """
    laps = stopwatch or Stopwatch()
    today = today or hk_today()
    year = plan_current_year(seed, today) if fill_year else None
    extra = len(year.approvals) + len(year.waiting) if year else 0
    if n + extra <= 0:
        return BulkResult(year=year)
    if not workers:
        raise ValueError("bulk_load_cases needs at least one caseworker to assign cases to")
    say = progress or (lambda _message: None)
    started = clock.perf_counter()
    workers = list(workers)
    periods = _Periods(supervisor)
    result = BulkResult(year=year)
    # A serial that keeps bulk applicants' emails unique across runs.
    serial = db.session.scalar(select(func.count()).select_from(Applicant)) or 0
    laps.lap(PLANNING_YEAR)
    # (number, size, first serial, year plan or None): the chunks asked for, then the year's.
    chunks = [(number_, min(chunk_size, n - start), serial + start, None)
              for number_, start in enumerate(range(0, n, chunk_size))]
    if extra:
        chunks.append((len(chunks), extra, serial + n, year))
    if db.session.get_bind().dialect.name != "postgresql":
        _load_with_core(seed, chunks, today, workers, periods, result,
                        lambda: say(result.progress(n + extra, started)), laps)
    else:
        _load_with_copy(seed, chunks, today, workers, periods, result,
                        lambda: say(result.progress(n + extra, started)), say,
                        n >= 200_000 if fast_ddl is None else fast_ddl, processes, laps)
    periods.settle()
    laps.lap(SETTLING_QUOTA)
    # The cases went in around the services that keep their status counts.
    counts.rebuild_status_counts()
    laps.lap(COUNTING_STATUSES)
    result.seconds = clock.perf_counter() - started
    return result


def _load_with_core(seed, chunks, today, workers, periods, result, report, laps) -> None:
    sink = CoreSink()
    for number_, size, serial, year in chunks:
        chunk = chunk_rows(seed, number_, today, workers, sink.ids("applicants", size),
                           sink.ids("cases", size), sink.ids("job_offers", size),
                           serial, year)
        result.generating += laps.lap(GENERATING)
        for row, reference in zip(chunk.cases, number(chunk.keys), strict=True):
            row[1] = reference
        laps.lap(MAIN_PROCESS)
        for table, columns, table_rows in (
                ("applicants", row_form.APPLICANT_COLUMNS, chunk.applicants),
                ("cases", row_form.CASE_COLUMNS, chunk.cases),
                ("dependants", row_form.DEPENDANT_COLUMNS, chunk.dependants),
                ("case_events", row_form.EVENT_COLUMNS, chunk.events),
                ("deadlines", row_form.DEADLINE_COLUMNS, chunk.deadlines),
                ("job_offers", row_form.JOB_OFFER_COLUMNS, chunk.job_offers),
                ("quota_allocations", ("period_id", *row_form.PLACE_COLUMNS),
                 periods.rows(chunk.places))):
            laps.lap(MAIN_PROCESS)
            sink.write(table, columns, table_rows)
            laps.lap(SENDING)
        result.add({"applicants": size, "cases": size, "events": len(chunk.events),
                    "dependants": len(chunk.dependants), "deadlines": len(chunk.deadlines),
                    "job_offers": len(chunk.job_offers), "places": len(chunk.places)})
        report()
        laps.lap(MAIN_PROCESS)
    db.session.flush()
    laps.lap(SENDING)


def _load_with_copy(seed, chunks, today, workers, periods, result, report, say, fast_ddl,
                    processes, laps) -> None:
    sink = PostgresSink()
    drop, create = deferrable_schema(_TABLES) if fast_ddl else ([], [])
    for statement in drop:
        db.session.execute(text(statement))
    if drop:
        say(f"dropped {len(drop)} non-unique indexes and foreign keys; re-created at the end")
    laps.lap(DROPPING_INDEXES)
    jobs = [(seed, number_, today, workers, sink.ids("applicants", size),
             sink.ids("cases", size), sink.ids("job_offers", size), serial, year)
            for number_, size, serial, year in chunks]
    if processes is None:
        # One per core, not per spare core: this process waits for the generators four
        # fifths of the load (71 of 89 s at 200,000 on two cores), so a core left to it idles.
        processes = (os.cpu_count() or 1) if len(jobs) > 1 else 0
    pool = multiprocessing.get_context(_START_METHOD).Pool(processes) if processes else None
    result.processes = processes
    try:
        chunks = pool.imap(_chunk_text, jobs) if pool else map(_chunk_text, jobs)
        for job, (tails, rendered, busy) in zip(jobs, chunks, strict=True):
            laps.lap(WAITING if pool else GENERATING)
            result.generating += busy
            case_ids = job[5]
            cases = lines((str(case_id), reference, tail) for case_id, reference, tail
                          in zip(case_ids, number(tails.keys), tails.cases, strict=True))
            places = lines(periods.rows(tails.places))
            laps.lap(MAIN_PROCESS)
            sink.write_text("applicants", row_form.APPLICANT_COLUMNS, rendered["applicants"])
            sink.write_text("cases", row_form.CASE_COLUMNS, cases)
            sink.write_text("dependants", row_form.DEPENDANT_COLUMNS, rendered["dependants"])
            sink.write_text("case_events", row_form.EVENT_COLUMNS, rendered["events"])
            sink.write_text("deadlines", row_form.DEADLINE_COLUMNS, rendered["deadlines"])
            sink.write_text("job_offers", row_form.JOB_OFFER_COLUMNS, rendered["job_offers"])
            sink.write_text("quota_allocations", ("period_id", *row_form.PLACE_COLUMNS),
                            places)
            laps.lap(SENDING)
            result.add({"applicants": len(case_ids), "cases": len(case_ids),
                        **{name: rendered[name].count("\n") for name in (
                            "events", "dependants", "deadlines", "job_offers")},
                        "places": len(tails.places)})
            report()
            laps.lap(MAIN_PROCESS)
    finally:
        if pool:
            pool.terminate()
    laps.lap(MAIN_PROCESS)
    if create:
        db.session.execute(text("SET LOCAL maintenance_work_mem = '512MB'"))
        for statement in create:
            db.session.execute(text(statement))
        say(f"re-created {len(create)} indexes and foreign keys in "
            f"{laps.lap(REBUILDING_INDEXES):,.1f} s")


def analyze(tables: Iterable[str] = (*_TABLES, "quota_periods", "reference_counters",
                                     "users")) -> None:
    """Refresh the planner's statistics after a bulk load (PostgreSQL; a no-op elsewhere)."""
    if db.session.get_bind().dialect.name != "postgresql":
        return
    for table in tables:
        db.session.execute(text(f"ANALYZE {table}"))
