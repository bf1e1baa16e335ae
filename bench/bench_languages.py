"""What the second language costs: the busiest pages in English, in Chinese, and in English
with no catalogue looked up at all, interleaved in one run.

Three signed-in supervisors (accounts in English, in Chinese, and in English served by a
second app whose gettext returns its argument without any lookup) request the same pages in
turn, request by request, so machine noise hits all three alike. Reported per page and round:
the medians, Chinese / English and English / no-lookup ratios. Run over a loaded database::

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/bench_scratch \\
        .venv/bin/python bench/bench_languages.py --requests 200 --rounds 3

It writes nothing but its own three sign-in accounts.
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import sys
import time
from pathlib import Path

from babel.support import NullTranslations

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import flask_babel

from backoffice import create_app
from backoffice.auth import services as accounts
from backoffice.auth.models import Role
from backoffice.core import i18n
from backoffice.extensions import db
from bench.bench_pages import sample_ids, signed_in_client
from bench.probe import report_machine
from config import DevelopmentConfig

PASSWORD = "bench-language-password"  # noqa: S105  (local benchmark accounts)
ACCOUNTS = {"en": "bench-en@example.org", "zh_Hant_HK": "bench-zh@example.org",
            "none": "bench-none@example.org"}


def build(url: str):
    app = create_app(DevelopmentConfig, SQLALCHEMY_DATABASE_URI=url.replace(
        "postgresql://", "postgresql+psycopg://", 1), WTF_CSRF_ENABLED=True)
    with app.app_context():
        for language, email in ACCOUNTS.items():
            user = accounts.get_user_by_email(email)
            if user is None:
                user = accounts.create_user(None, email=email, full_name=f"Bench {language}",
                                            role=Role.SUPERVISOR, password=PASSWORD,
                                            temporary=False)
            user.language = "en" if language == "none" else language
        db.session.commit()
    return app


class _NullDomain(flask_babel.Domain):
    def get_translations(self):
        return NULL


NULL = NullTranslations()


class NoLookup:
    """The app's message domain replaced by one that looks nothing up (the floor)."""

    def __enter__(self):
        self.original = i18n.babel.domain_instance
        i18n.babel.domain_instance = _NullDomain()
        return self

    def __exit__(self, *exc):
        i18n.babel.domain_instance = self.original


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    url = os.environ.get("DATABASE_URL")
    if not url or not url.startswith("postgresql"):
        sys.exit("Set DATABASE_URL to a PostgreSQL database loaded with `flask seed-demo`.")
    app = build(url)
    # The request log line is the same in every language; keep it off the terminal.
    logging.getLogger("backoffice.request").setLevel(logging.WARNING)
    clients = {language: signed_in_client(app, email, PASSWORD)
               for language, email in ACCOUNTS.items()}
    sample = sample_ids(app)
    pages = {
        "All cases, QMAS under review": "/cases/queue/all?scheme=QMAS&status=under_review",
        "Case page": f"/cases/{sample['case_id']}",
        "Quota dashboard": "/quota/",
    }
    print(f"{sample['total']:,} cases")
    report_machine("at start")
    for name, page in pages.items():
        for language, client in clients.items():
            assert client.get(page).status_code == 200, (name, language)
        for round_ in range(1, args.rounds + 1):
            times: dict[str, list[float]] = {language: [] for language in clients}
            for _ in range(args.requests):
                for language, client in clients.items():
                    start = time.perf_counter()
                    if language == "none":
                        with NoLookup():
                            client.get(page)
                    else:
                        client.get(page)
                    times[language].append(time.perf_counter() - start)
            medians = {k: statistics.median(v) * 1000 for k, v in times.items()}
            print(f"| {name} | {round_} | {medians['en']:.2f} | {medians['zh_Hant_HK']:.2f} | "
                  f"{medians['none']:.2f} | {medians['zh_Hant_HK'] / medians['en']:.3f} | "
                  f"{medians['en'] / medians['none']:.3f} | "
                  f"{os.getloadavg()[0]:.2f} |", flush=True)
    report_machine("at end")


if __name__ == "__main__":
    main()
