"""Benchmark one worker's email dispatch against the SMTP floor, interleaved in one run.

* The floor: the messages the dispatch would send (built beforehand by ``services.prepare``
  and ``services.build_email``, untimed), sent by a bare loop over one ``smtplib.SMTP``
  connection.
* The dispatch: the same reminders, reset to pending, sent by the dispatch task as a worker
  runs it (claim, build, send, commit per message: docs/ARCHITECTURE.md, DESIGN §5).

Both go to the same local SMTP server (aiosmtpd's Sink, in its own process, on a free port).
Each round runs both (their order alternates), and the report gives the median and spread of
the rounds, the load average and the CPU probe at the start and the end. ``--profile``
profiles one more dispatch afterwards (cProfile) and prints its top entries. The reminders it
planned and the notifications it wrote are deleted at the end.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/bench_scratch \\
        .venv/bin/python bench/bench_dispatch.py --emails 2000 --rounds 3 --profile

The database needs the schema (``flask db upgrade``) and some cases with open deadlines
(``flask seed-demo --cases 20000`` is plenty: the dispatch's cost does not grow with them).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import smtplib
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import psycopg
from sqlalchemy import select, text

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from backoffice import create_app
from backoffice.core.dates import hk_today
from backoffice.extensions import db
from backoffice.notifications import services
from backoffice.notifications.models import Channel, Reminder, ReminderState
from bench.probe import Spread, report_machine
from config import DevelopmentConfig


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_sink(port: int) -> subprocess.Popen:
    """aiosmtpd's Sink in its own process, as a real server would be: in this process it
    would compete with the sender for the interpreter."""
    # Our own interpreter and a port we chose: nothing in the command comes from input.
    server = subprocess.Popen([sys.executable, "-m", "aiosmtpd", "-n", "-l",
                               f"127.0.0.1:{port}", "-c", "aiosmtpd.handlers.Sink"])
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            with smtplib.SMTP("127.0.0.1", port, timeout=1) as smtp:
                smtp.noop()
            return server
        except OSError:
            time.sleep(0.1)
    server.terminate()
    sys.exit("the SMTP sink did not start")


def plan_email_reminders(count: int) -> tuple[int, list[int]]:
    """Plan for real and keep the first ``count`` new email reminders; the other new ones
    are cancelled. Returns the id the new ones start after, and the kept ids."""
    first_id = db.session.scalar(text("SELECT coalesce(max(id), 0) FROM reminders"))
    services.plan_reminders(hk_today())
    db.session.commit()
    kept = list(db.session.scalars(
        select(Reminder.id).where(Reminder.id > first_id, Reminder.channel == Channel.EMAIL,
                                  Reminder.state == ReminderState.PENDING)
        .order_by(Reminder.id).limit(count)))
    db.session.execute(text("UPDATE reminders SET state = 'cancelled' WHERE id > :f "
                            "AND NOT (id = ANY(:kept))"), {"f": first_id, "kept": kept})
    db.session.commit()
    return first_id, kept


def reset(kept: list[int]) -> None:
    """The kept reminders due again, as planning left them."""
    db.session.execute(text(
        "UPDATE reminders SET state = 'pending', attempts = 0, claim = NULL, sent_at = NULL, "
        "last_error = NULL, next_attempt_at = now() - interval '1 minute' "
        "WHERE id = ANY(:kept)"), {"kept": kept})
    db.session.commit()
    due = db.session.scalar(text("SELECT count(*) FROM reminders WHERE state = 'pending' "
                                 "AND next_attempt_at <= now()"))
    if due != len(kept):
        sys.exit(f"{due} reminders are due, not the {len(kept)} of the benchmark: use a "
                 "scratch database with no other pending reminders.")


def prepared_messages(kept: list[int], batch: int) -> list:
    """The messages the dispatch would send for ``kept``, built as it builds them."""
    messages = []
    for start in range(0, len(kept), batch):
        ids = kept[start:start + batch]
        prepared = services.prepare(ids)
        for reminder_id in ids:
            row, context = prepared[reminder_id].row, prepared[reminder_id].context
            if context is not None:
                messages.append(services.build_email(row, context))
    return messages


@dataclass(frozen=True)
class Rate:
    per_second: float
    cpu_ms: float  # this process's CPU time per email (the rest is waiting)


def timed(count: int, run) -> Rate:
    start, cpu = time.perf_counter(), time.process_time()
    run()
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    return Rate(count / seconds, cpu / count * 1000)


def floor(host: str, port: int, messages: list, commit_to: str | None = None,
          ids: list[int] | None = None) -> Rate:
    """A bare loop over one SMTP connection. With ``commit_to``, each send is followed by
    the least a durable commit per message can cost: one UPDATE of that reminder's row in
    autocommit (one round trip and the WAL flush), through psycopg."""

    def run():
        smtp = smtplib.SMTP(host, port, timeout=10)
        if commit_to is None:
            for message in messages:
                smtp.send_message(message)
        else:
            with psycopg.connect(commit_to, autocommit=True) as conn:
                for message, reminder_id in zip(messages, ids, strict=True):
                    smtp.send_message(message)
                    conn.execute("UPDATE reminders SET last_error = NULL WHERE id = %s",
                                 (reminder_id,))
        smtp.quit()

    return timed(len(messages), run)


def dispatch(expected: int) -> Rate:
    """The dispatch task, run as a worker runs it."""
    from backoffice.notifications.tasks import dispatch_reminders

    outcome = {}
    rate = timed(expected, lambda: outcome.update(dispatch_reminders.run()))
    if outcome.get("sent", 0) != expected:
        sys.exit(f"dispatch sent {outcome}, not {expected} emails")
    return rate


def profile_dispatch(expected: int, top: int, dump: Path | None) -> str:
    profiler = cProfile.Profile()
    profiler.enable()
    rate = dispatch(expected).per_second
    profiler.disable()
    if dump:
        profiler.dump_stats(dump)
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("tottime").print_stats(top)
    stats.sort_stats("cumulative").print_stats(top)
    return f"profiled dispatch (cProfile slows it): {rate:,.0f} emails/s\n{out.getvalue()}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--emails", type=int, default=2000)
    parser.add_argument("--profile", action="store_true",
                        help="profile one more dispatch and print its top entries")
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--profile-out", type=Path, help="also write the profile (pstats) here")
    args = parser.parse_args()
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgresql"):
        sys.exit("Set DATABASE_URL to a scratch PostgreSQL database with cases in it.")
    started = report_machine("at start")
    port = free_port()
    server = start_sink(port)
    batch = 500
    app = create_app(DevelopmentConfig, SQLALCHEMY_DATABASE_URI=url.replace(
        "postgresql://", "postgresql+psycopg://", 1), SMTP_HOST="127.0.0.1", SMTP_PORT=port,
        SMTP_STARTTLS=False, REMINDER_BATCH=batch)
    runs: dict[str, list[Rate]] = {"floor": [], "floor + commit": [], "dispatch": []}
    profile = None
    first_id = None
    try:
        with app.app_context():
            first_id, kept = plan_email_reminders(args.emails)
            if len(kept) < args.emails:
                sys.exit(f"only {len(kept)} email reminders could be planned: load more cases")
            reset(kept)
            messages = prepared_messages(kept, batch)
            if len(messages) != len(kept):
                sys.exit(f"{len(kept) - len(messages)} reminders no longer apply")
            # One untimed warm-up of each (connections, caches, the sink's first accept).
            floor("127.0.0.1", port, messages[:50])
            order = list(runs)
            for n in range(args.rounds):
                for which in order if n % 2 == 0 else reversed(order):
                    if which == "floor":
                        rate = floor("127.0.0.1", port, messages)
                    elif which == "floor + commit":
                        rate = floor("127.0.0.1", port, messages, url, kept)
                    else:
                        reset(kept)
                        rate = dispatch(len(kept))
                    runs[which].append(rate)
                    print(f"round {n + 1} {which}: {rate.per_second:,.0f} emails/s, "
                          f"{rate.cpu_ms:.2f} ms CPU an email", flush=True)
            if args.profile:
                reset(kept)
                profile = profile_dispatch(len(kept), args.top, args.profile_out)
    finally:
        if first_id is not None:
            with app.app_context():
                db.session.rollback()
                db.session.execute(text("DELETE FROM notifications WHERE reminder_id > :f"),
                                   {"f": first_id})
                db.session.execute(text("DELETE FROM reminders WHERE id > :f"),
                                   {"f": first_id})
                db.session.commit()
        server.terminate()
        server.wait(timeout=10)
    ended = report_machine("at end")
    def ratios(of: str, to: str) -> Spread:
        return Spread.of([a.per_second / b.per_second
                          for a, b in zip(runs[of], runs[to], strict=True)])

    labels = {"floor": "floor: bare loop, one smtplib connection",
              "floor + commit": "floor + one durable commit an email (psycopg, autocommit)",
              "dispatch": "dispatch: claim, build, send, commit each"}
    print(f"\n### Dispatch against the SMTP floor "
          f"({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())})\n")
    print(f"{args.emails:,} emails a round, {args.rounds} rounds interleaved, one worker, "
          "aiosmtpd's Sink in its own process, PostgreSQL on this machine.\n")
    print("| | emails/s, median (low to high) | CPU ms an email |\n|---|---|---|")
    for which, rates in runs.items():
        print(f"| {labels[which]} | {Spread.of([r.per_second for r in rates]).format(',.0f')} "
              f"| {Spread.of([r.cpu_ms for r in rates]).format('.2f')} |")
    print(f"| ratio dispatch / floor (each round's) | {ratios('dispatch', 'floor').format('.0%')}"
          " | |")
    print(f"| ratio floor + commit / floor | {ratios('floor + commit', 'floor').format('.0%')}"
          " | |")
    print(f"| ratio dispatch / floor + commit | "
          f"{ratios('dispatch', 'floor + commit').format('.0%')} | |")
    print(f"\n{started.line('at start')}\n{ended.line('at end')}")
    if profile:
        print("\n" + profile)


if __name__ == "__main__":
    main()
