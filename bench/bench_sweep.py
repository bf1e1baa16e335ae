"""Benchmark the deadline sweep (missed deadlines, lapsed stays) at realistic size.

Runs ``backoffice.cases.deadline_sweep.sweep`` through the app and, interleaved, the same set-based
statements through psycopg directly, each inside a transaction that is rolled back so every
round sees the same work. ``--today`` picks the sweep date; the default, a year from now,
makes a large share of the loaded stays lapse, which is the worst case::

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/bench_scratch \\
        .venv/bin/python bench/bench_sweep.py --rounds 5 --write docs/PERFORMANCE.md
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from datetime import date, timedelta
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from backoffice import create_app
from backoffice.cases import deadline_sweep
from backoffice.core.dates import hk_today, utcnow
from backoffice.extensions import db
from bench.probe import Spread, report_machine
from bench.sqlcapture import capture, replay
from config import DevelopmentConfig


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--today", type=date.fromisoformat,
                        default=hk_today() + timedelta(days=365))
    parser.add_argument("--write", type=Path)
    args = parser.parse_args()
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgresql"):
        sys.exit("Set DATABASE_URL to the PostgreSQL database with the bulk-loaded cases.")
    app = create_app(DevelopmentConfig, SQLALCHEMY_DATABASE_URI=url.replace(
        "postgresql://", "postgresql+psycopg://", 1))
    now = utcnow()
    started = report_machine("at start")
    app_times, raw_times, counts = [], [], {}
    with psycopg.connect(url) as conn, app.app_context():
        statements = capture(lambda: deadline_sweep.sweep(args.today, now))
        for _ in range(args.rounds):
            start = time.perf_counter()
            counts = deadline_sweep.sweep(args.today, now)
            db.session.flush()
            app_times.append(time.perf_counter() - start)
            db.session.rollback()
            start = time.perf_counter()
            replay(conn, statements)
            raw_times.append(time.perf_counter() - start)
    ended = report_machine("at end")
    app_ms, raw_ms = statistics.median(app_times) * 1000, statistics.median(raw_times) * 1000
    ratios = Spread.of([a / r for a, r in zip(app_times, raw_times, strict=True)])
    text = "\n".join([
        f"### Deadline sweep ({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())})", "",
        f"Sweep date {args.today}: {counts.get('missed', 0):,} deadlines missed, "
        f"{counts.get('window_opened', 0):,} extension windows opened, "
        f"{counts.get('lapsed', 0):,} stays lapsed per run ({args.rounds} runs, each rolled "
        "back). Target: the app's sweep within 1.5 x the same SQL run raw. "
        f"{started.line('at start')}; {ended.line('at end')}.", "",
        "| | median ms |", "|---|---|",
        f"| `deadline_sweep.sweep` through the app | {app_ms:,.0f} |",
        f"| the same statements through psycopg | {raw_ms:,.0f} |",
        f"| ratio of the medians | {app_ms / raw_ms:.2f} |",
        f"| ratio per run, median (lowest to highest) | {ratios.format('.2f')} |", ""])
    print(text)
    if args.write:
        with args.write.open("a") as out:
            out.write(text + "\n")


if __name__ == "__main__":
    main()
