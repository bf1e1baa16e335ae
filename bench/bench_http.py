"""Benchmark the app over real HTTP: gunicorn (2 sync workers) over the loaded database,
driven by wrk, next to a trivial signed-in route of the same app and a bare WSGI
hello-world under the same gunicorn, interleaved, 3 rounds.

Each round runs every target once, in the same order, for ``--seconds`` with ``--connections``
connections (wrk -t2); the report gives each target's req/s, p50 and p99 (median of the
rounds, with the spread), and the ratios page / trivial and trivial / hello-world. The app
runs with the production settings (PostgreSQL, Redis for the sign-in limits, a real secret
key), signed in as a supervisor whose session cookie wrk sends::

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/bench_scratch \\
        .venv/bin/python bench/bench_http.py --write docs/PERFORMANCE.md

wrk comes from Debian (``apt-get install -y wrk``). Nothing is written to the database except
the sign-in account of bench_pages.py.
"""

from __future__ import annotations

import argparse
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.probe import Spread, report_machine  # noqa: E402

APP_PORT, HELLO_PORT = 8731, 8732
BENCH_EMAIL = "bench-supervisor@example.org"
BENCH_PASSWORD = "bench-supervisor-password"  # noqa: S105  (a local benchmark account)


# --- What gunicorn serves ---------------------------------------------------------------------

def serving_app():
    """The app as production runs it, plus one trivial signed-in route: the floor of a
    request that pays the session, the user, CSRF and the headers, and renders nothing."""
    from flask_login import login_required

    from backoffice import create_app

    app = create_app()

    @app.get("/bench-trivial")
    @login_required
    def bench_trivial():
        return "ok"

    return app


def hello(environ, start_response):
    """A bare WSGI hello-world: what gunicorn itself costs per request."""
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "2")])
    return [b"ok"]


# --- Running it -------------------------------------------------------------------------------

LOG = ROOT / "instance" / "logs" / "bench_http.log"


def gunicorn(target: str, port: int, env: dict) -> subprocess.Popen:
    # The app logs every request: to a file, as production does, never to a pipe nobody
    # reads (a full pipe would stop the workers mid-benchmark).
    LOG.parent.mkdir(parents=True, exist_ok=True)
    with LOG.open("a") as log:
        return subprocess.Popen(
            [str(ROOT / ".venv/bin/gunicorn"), "--workers", "2", "--worker-class", "sync",
             "--bind", f"127.0.0.1:{port}", "--log-level", "warning", target],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=log)


def wait_until_serving(url: str, process: subprocess.Popen, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            sys.exit(f"gunicorn stopped: see {LOG}")
        try:
            urllib.request.urlopen(url, timeout=1)
            return
        except urllib.error.HTTPError:
            return  # it answers
        except OSError:
            time.sleep(0.2)
    sys.exit(f"nothing served at {url} after {seconds} s")


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def _cookies(headers) -> dict[str, str]:
    found = {}
    for value in headers.get_all("Set-Cookie") or []:
        name, _, rest = value.partition("=")
        found[name.strip()] = rest.split(";", 1)[0]
    return found


def sign_in(base: str) -> str:
    """Sign in through the real form; the Cookie header a signed-in browser would send."""
    opener = urllib.request.build_opener(_NoRedirect)
    with opener.open(f"{base}/login") as response:
        cookies = _cookies(response.headers)
        page = response.read().decode()
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    data = urllib.parse.urlencode({"email": BENCH_EMAIL, "password": BENCH_PASSWORD,
                                   "csrf_token": token}).encode()
    request = urllib.request.Request(f"{base}/login", data=data, headers={
        "Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items()),
        "Referer": f"{base}/login"})
    try:
        opener.open(request)
        sys.exit("sign-in did not redirect: wrong bench account or password?")
    except urllib.error.HTTPError as answer:
        if answer.code != 302:
            sys.exit(f"sign-in answered {answer.code}")
        cookies.update(_cookies(answer.headers))
    return "; ".join(f"{k}={v}" for k, v in cookies.items())


def fetch(url: str, cookie: str) -> str:
    request = urllib.request.Request(url, headers={"Cookie": cookie})
    with urllib.request.urlopen(request) as response:
        assert response.status == 200, (url, response.status)
        return response.read().decode()


def deep_page(base: str, cookie: str, start: str, pages: int) -> str:
    """The address of the queue's page ``pages`` deep, reached by its own Next links (a
    keyset cursor, as a caseworker paging on would hold)."""
    url = start
    for _ in range(pages):
        page = fetch(base + url, cookie)
        link = re.search(r'<a[^>]+href="([^"]+)"[^>]*>\s*Next page', page)
        if not link:
            break
        url = link.group(1).replace("&amp;", "&")
    return url


@dataclass
class Target:
    name: str
    url: str
    cookie: str | None = None
    rps: list[float] = field(default_factory=list)
    p50: list[float] = field(default_factory=list)
    p99: list[float] = field(default_factory=list)


_UNIT_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def _ms(text: str) -> float:
    value, unit = re.fullmatch(r"([0-9.]+)(us|ms|s)", text).groups()
    return float(value) * _UNIT_MS[unit]


def run_wrk(target: Target, seconds: int, connections: int) -> None:
    command = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency"]
    if target.cookie:
        command += ["-H", f"Cookie: {target.cookie}"]
    output = subprocess.run([*command, target.url], capture_output=True, text=True,
                            check=True).stdout
    if "Non-2xx" in output:
        sys.exit(f"{target.name}: some answers were not 200:\n{output}")
    target.rps.append(float(re.search(r"Requests/sec:\s+([0-9.]+)", output).group(1)))
    target.p50.append(_ms(re.search(r"\s50%\s+([0-9.]+\w+)", output).group(1)))
    target.p99.append(_ms(re.search(r"\s99%\s+([0-9.]+\w+)", output).group(1)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--deep", type=int, default=200, help="how many pages deep")
    parser.add_argument("--write", type=Path, help="append the results to this Markdown file")
    args = parser.parse_args()
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgresql"):
        sys.exit("Set DATABASE_URL to the PostgreSQL database loaded with `flask seed-demo "
                 "--cases 1000000`.")
    if shutil.which("wrk") is None:
        sys.exit("wrk is missing: apt-get install -y wrk")

    # The bench account and a case to open, through the app (bench_pages.py makes the same).
    from backoffice import create_app
    from bench.bench_pages import ensure_account, sample_ids
    from config import DevelopmentConfig
    setup = create_app(DevelopmentConfig, SQLALCHEMY_DATABASE_URI=url.replace(
        "postgresql://", "postgresql+psycopg://", 1))
    ensure_account(setup)
    sample = sample_ids(setup)

    env = os.environ | {"BACKOFFICE_ENV": "production", "SECRET_KEY": secrets.token_hex(32),
                        "REDIS_URL": os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"),
                        "PYTHONPATH": str(ROOT)}
    started = report_machine("at start")
    servers = [gunicorn("bench.bench_http:serving_app()", APP_PORT, env),
               gunicorn("bench.bench_http:hello", HELLO_PORT, env)]
    try:
        base = f"http://127.0.0.1:{APP_PORT}"
        wait_until_serving(f"{base}/healthz", servers[0])
        wait_until_serving(f"http://127.0.0.1:{HELLO_PORT}/", servers[1])
        cookie = sign_in(base)
        queue = "/cases/queue/all?scheme=QMAS&status=under_review"
        deep = deep_page(base, cookie, "/cases/queue/all", args.deep)
        targets = [
            Target("bare WSGI hello-world", f"http://127.0.0.1:{HELLO_PORT}/"),
            Target("trivial signed-in route", f"{base}/bench-trivial", cookie),
            Target("All cases, QMAS + under review", base + queue, cookie),
            Target(f"All cases, {args.deep} pages deep (keyset)", base + deep, cookie),
            Target("Case page", f"{base}/cases/{sample['case_id']}", cookie),
        ]
        for target in targets:  # warm every worker on every path
            run_wrk(target, 2, args.connections)
            target.rps.clear(), target.p50.clear(), target.p99.clear()
        for round_no in range(1, args.rounds + 1):
            for target in targets:
                run_wrk(target, args.seconds, args.connections)
            print(f"round {round_no}: " + ", ".join(
                f"{t.name} {t.rps[-1]:,.0f}/s" for t in targets), flush=True)
    finally:
        for server in servers:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=30)
    ended = report_machine("at end")

    hello_t, trivial = targets[0], targets[1]
    lines = [
        f"### Over HTTP at {sample['total']:,} cases "
        f"({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())})",
        "",
        f"gunicorn 2 sync workers, wrk -t2 -c{args.connections} -d{args.seconds}s, "
        f"{args.rounds} rounds interleaved; {started.line('at start')}; "
        f"{ended.line('at end')}. Median of the rounds (lowest to highest).",
        "",
        "| target | req/s | p50 ms | p99 ms | req/s ratio to the trivial route |",
        "|---|---|---|---|---|",
    ]
    for target in targets:
        ratios = [t / p for t, p in zip(trivial.rps, target.rps, strict=True)]
        lines.append(f"| {target.name} | {Spread.of(target.rps).format(',.0f')} | "
                     f"{Spread.of(target.p50).format('.1f')} | "
                     f"{Spread.of(target.p99).format('.1f')} | "
                     f"{Spread.of(ratios).format('.2f', 'x')} |")
    floor = [h / t for h, t in zip(hello_t.rps, trivial.rps, strict=True)]
    lines += ["", f"The trivial route serves {Spread.of(floor).format('.1f', 'x')} fewer "
                  "requests a second than the bare hello-world."]
    text = "\n".join(lines) + "\n"
    print(text)
    if args.write:
        with args.write.open("a") as out:
            out.write("\n" + text)


if __name__ == "__main__":
    main()
