"""Benchmark reminder planning and email dispatch at realistic size.

* Planning: ``plan_reminders`` through the app next to the same statements replayed through
  psycopg, each in a transaction that is rolled back (so every round plans the same rows).
* Dispatch: plans for real, then sends ``--emails`` email reminders through the dispatch task
  to an in-process SMTP server (aiosmtpd) on 127.0.0.1, and reports emails per second. The
  reminders and notifications it created are deleted afterwards.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/bench_scratch \\
        .venv/bin/python bench/bench_reminders.py --write docs/PERFORMANCE.md
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import psycopg
from sqlalchemy import select, text

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from backoffice import create_app
from backoffice.core.dates import hk_today
from backoffice.extensions import db
from backoffice.notifications import services
from backoffice.notifications.models import Channel, Reminder, ReminderState
from bench.probe import report_machine
from bench.sqlcapture import capture, replay
from config import DevelopmentConfig


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--emails", type=int, default=2000)
    parser.add_argument("--write", type=Path)
    args = parser.parse_args()
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgresql"):
        sys.exit("Set DATABASE_URL to the PostgreSQL database with the bulk-loaded cases.")
    report_machine("at start")
    # The SMTP server runs in its own process, as a real one would: in this process it would
    # compete with the sender for the interpreter.
    server = subprocess.Popen([sys.executable, "-m", "aiosmtpd", "-n", "-l", "127.0.0.1:8025",
                               "-c", "aiosmtpd.handlers.Sink"])
    time.sleep(1.5)
    app = create_app(DevelopmentConfig, SQLALCHEMY_DATABASE_URI=url.replace(
        "postgresql://", "postgresql+psycopg://", 1), SMTP_HOST="127.0.0.1", SMTP_PORT=8025,
        SMTP_STARTTLS=False, REMINDER_BATCH=500)
    today = hk_today()
    lines = [f"### Reminders ({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())})", ""]
    try:
        with app.app_context(), psycopg.connect(url) as conn:
            planned = {}

            def plan():
                planned.update(services.plan_reminders(today))

            statements = capture(plan)
            app_times, raw_times = [], []
            for _ in range(args.rounds):
                start = time.perf_counter()
                services.plan_reminders(today)
                db.session.flush()
                app_times.append(time.perf_counter() - start)
                db.session.rollback()
                start = time.perf_counter()
                replay(conn, statements)
                raw_times.append(time.perf_counter() - start)
            app_ms = statistics.median(app_times) * 1000
            raw_ms = statistics.median(raw_times) * 1000
            open_deadlines = db.session.scalar(text(
                "SELECT count(*) FROM deadlines WHERE state = 'open'"))
            lines += [
                f"Planning over {open_deadlines:,} open deadlines creates "
                f"{sum(v for k, v in planned.items() if k != 'cancelled'):,} reminder rows "
                f"({planned}); {args.rounds} runs each rolled back. Target: within 1.5 x the "
                "same SQL run raw.", "",
                "| | median ms |", "|---|---|",
                f"| `plan_reminders` through the app | {app_ms:,.0f} |",
                f"| the same statements through psycopg | {raw_ms:,.0f} |",
                f"| ratio | {app_ms / raw_ms:.2f} |", ""]

            # Dispatch: plan for real, keep only --emails email reminders due now.
            first_id = db.session.scalar(text("SELECT coalesce(max(id), 0) FROM reminders"))
            services.plan_reminders(today)
            db.session.commit()
            keep = select(Reminder.id).where(Reminder.id > first_id,
                                             Reminder.channel == Channel.EMAIL,
                                             Reminder.state == ReminderState.PENDING) \
                .order_by(Reminder.id).limit(args.emails)
            kept = list(db.session.scalars(keep))
            db.session.execute(text("UPDATE reminders SET state = 'cancelled' WHERE id > :f "
                                    "AND NOT (id = ANY(:kept))"), {"f": first_id, "kept": kept})
            db.session.commit()
            from backoffice.notifications.tasks import dispatch_reminders

            start = time.perf_counter()
            outcome = dispatch_reminders.run()
            seconds = time.perf_counter() - start
            lines += [
                f"Dispatch: {outcome.get('sent', 0):,} emails sent by one worker to a local SMTP "
                f"server (aiosmtpd's Sink, in its own process) in {seconds:,.1f} s: "
                f"**{outcome.get('sent', 0) / seconds:,.0f} emails/s** (target 200/s or more). "
                "Each reminder is claimed in a batch, sent, and committed on its own.", ""]
            db.session.execute(text("DELETE FROM notifications WHERE reminder_id > :f"),
                               {"f": first_id})
            db.session.execute(text("DELETE FROM reminders WHERE id > :f"), {"f": first_id})
            db.session.commit()
    finally:
        server.terminate()
        server.wait(timeout=10)
    report_machine("at end")
    out = "\n".join(lines)
    print(out)
    if args.write:
        with args.write.open("a") as handle:
            handle.write(out + "\n")


if __name__ == "__main__":
    main()
