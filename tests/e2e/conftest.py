"""Browser tests against the app served for real.

Once for the package: the database is built by ``flask db upgrade`` and filled by ``flask
seed-demo`` (the commands a newcomer runs), then gunicorn serves the app on a free port of
127.0.0.1, a Celery worker runs on the embedded filesystem broker and mails through an
aiosmtpd server in this process. Debian's Chromium, driven by Playwright, is the browser; each
person in a journey gets a browser context of their own (their own cookies).

Chromium, and axe-core from ``npm ci`` (``make install-dev``), are tools the suite needs: in
CI (``CI=true``) a missing one fails the run, locally it skips with a loud reason, like a
missing PostgreSQL or Redis (tests/conftest.py).

Artifacts go to ``test-artifacts/`` (kept out of git): screenshots of every journey, the
README's screenshots in ``screenshots/readme/`` (``make screenshots`` copies them into
``docs/screenshots/``), the server logs, and a screenshot of every page open when a test
fails (``playwright/``).
"""

from __future__ import annotations

import functools
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from flask import Flask
from playwright.sync_api import Page, expect

from backoffice.auth import services as accounts
from backoffice.auth.models import Role
from backoffice.extensions import db as _db
from tests.conftest import IN_CI, PASSWORD, build_app
from tests.notifications.test_end_to_end import Collect, free_port

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
SCREENSHOTS = ARTIFACTS / "screenshots"
README_SCREENSHOTS = SCREENSHOTS / "readme"
LOGS = ARTIFACTS / "logs"
CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
AXE_JS = ROOT / "node_modules" / "axe-core" / "axe.min.js"
BIN = Path(sys.executable).parent
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
# Every browser context: the size of the README's screenshots, Hong Kong time, US English
# (so date fields read mm/dd/yyyy), and no animations, so styles such as focus rings are
# final the moment they are checked (Bootstrap honours prefers-reduced-motion).
CONTEXT_OPTIONS = {"viewport": {"width": 1366, "height": 820}, "locale": "en-US",
                   "timezone_id": "Asia/Hong_Kong", "reduced_motion": "reduce"}
# How long a page may take to show what a step expects (CI machines are small and shared).
expect.set_options(timeout=15_000)


def tool_missing(what: str, how: str) -> None:
    """Like ``service_missing``: fail in CI, skip loudly elsewhere."""
    message = f"{what} is missing. {how}"
    if IN_CI:
        pytest.fail(f"CI needs every tool: {message}", pytrace=False)
    pytest.skip(f"!!! SKIPPED, TOOL MISSING: {message}")


def pytest_configure(config: pytest.Config) -> None:
    # pytest-playwright keeps a screenshot of every page open when a test fails; put it with
    # the other artifacts unless the command line says otherwise.
    if config.getoption("--output", "test-results") == "test-results":
        config.option.output = str(ARTIFACTS / "playwright")
    if config.getoption("--screenshot", "off") == "off":
        config.option.screenshot = "only-on-failure"
    # pytest-playwright 0.10's stand-in for pytest-base-url defines its session fixture on a
    # class, which pytest 9 deprecates; nothing here uses it, and the warning is theirs.
    config.addinivalue_line(
        "filterwarnings", "ignore:Session-scoped fixtures defined as instance methods"
                          ":pytest.PytestRemovedIn10Warning")


# --- The browser ---------------------------------------------------------------------------

@pytest.fixture(scope="session")
def chromium() -> Path:
    if not CHROMIUM.exists():
        tool_missing(f"Chromium ({CHROMIUM})",
                     "Install Debian's package: apt-get install -y chromium (.ci/run does).")
    return CHROMIUM


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict, chromium: Path) -> dict:
    """Debian's Chromium, never a downloaded one (``playwright install`` is not used)."""
    return {**browser_type_launch_args, "executable_path": str(chromium), "args": CHROMIUM_ARGS}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict) -> dict:
    # The address is the live server's, given to each context by ``browse``.
    args = {key: value for key, value in browser_context_args.items() if key != "base_url"}
    return args | CONTEXT_OPTIONS


# --- The system, served for real ------------------------------------------------------------

@dataclass
class LiveServer:
    url: str
    app: Flask  # in this process, on the same database: for setting the scene, sending tasks
    mailbox: Collect  # what the SMTP server received
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)

    def send_task(self, name: str) -> None:
        """Ring the worker through the embedded broker, as beat does."""
        self.app.extensions["celery"].send_task(name)

    def emails_to(self, address: str) -> list:
        return [e for e in self.mailbox.envelopes if address in e.rcpt_tos]

    def check_running(self) -> None:
        for name, process in self.processes.items():
            if process.poll() is not None:
                raise AssertionError(f"the {name} stopped (exit {process.returncode}); "
                                     f"see {LOGS / (name + '.log')}:\n{_tail(name)}")


def _tail(name: str, lines: int = 30) -> str:
    path = LOGS / f"{name}.log"
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() \
        else ""


def _run(command: list[str], env: dict) -> None:
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode == 0, f"{' '.join(command)} failed:\n{done.stdout}\n{done.stderr}"


def _executable(name: str) -> str:
    path = BIN / name
    return str(path) if path.exists() else (shutil.which(name) or name)


def _wait_until_serving(url: str, server: LiveServer, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        server.check_running()
        try:
            with urllib.request.urlopen(f"{url}/login", timeout=2) as response:  # noqa: S310
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.2)
    raise AssertionError(f"the web app did not answer on {url} within {seconds} s:\n"
                         f"{_tail('web')}")


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="package")
def live_server(tmp_path_factory, chromium) -> Iterator[LiveServer]:
    """Migrate and seed a fresh SQLite database, then run gunicorn and a Celery worker on it
    with mail to an in-process SMTP server, as ``make run`` does (without beat: the tests
    ring the worker themselves, so nothing happens behind a test's back)."""
    instance_dir = tmp_path_factory.mktemp("e2e-instance")
    database_uri = f"sqlite:///{instance_dir / 'backoffice.sqlite3'}"
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    mailbox = Collect()
    smtp = Controller(mailbox, hostname="127.0.0.1", port=free_port())
    smtp.start()

    env = {key: value for key, value in os.environ.items()
           if key not in {"REDIS_URL", "SMTP_USERNAME", "SMTP_PASSWORD", "MAIL_FROM"}}
    env |= {
        "FLASK_APP": "backoffice:create_app", "BACKOFFICE_ENV": "development",
        "SECRET_KEY": secrets.token_hex(32), "DATABASE_URL": database_uri,
        "INSTANCE_DIR": str(instance_dir), "MAIL_OUTBOX_DIR": str(instance_dir / "mail"),
        "SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(smtp.port), "SMTP_STARTTLS": "false",
        "PUBLIC_URL": url, "PYTHONUNBUFFERED": "1",
    }
    commands = {
        "web": [_executable("gunicorn"), "--workers", "2", "--bind", f"127.0.0.1:{port}",
                "--access-logfile", "-", "backoffice:create_app()"],
        "worker": [_executable("celery"), "-A", "worker", "worker", "--pool", "solo",
                   "--loglevel", "INFO", "--without-gossip", "--without-mingle",
                   "--without-heartbeat", "--hostname", "e2e@%h"],
    }
    server = None
    try:
        _run([_executable("flask"), "db", "upgrade"], env)
        _run([_executable("flask"), "seed-demo"], env)
        server = LiveServer(url=url, app=build_app(database_uri, instance_dir), mailbox=mailbox)
        LOGS.mkdir(parents=True, exist_ok=True)
        for name, command in commands.items():
            with open(LOGS / f"{name}.log", "w") as log:
                server.processes[name] = subprocess.Popen(
                    command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        _wait_until_serving(url, server)
        yield server
    finally:
        if server is not None:
            for process in server.processes.values():
                _stop(process)
            with server.app.app_context():
                _db.engine.dispose()
        smtp.stop()


# --- People ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Person:
    id: int
    email: str
    full_name: str
    role: Role
    password: str = PASSWORD


# The demo accounts `flask seed-demo` made (README, "Two commands").
DEMO_ADMIN = ("admin@example.org", "Ada Admin", Role.ADMIN, "demo-admin-password")
DEMO_SUPERVISOR = ("supervisor@example.org", "Sam Supervisor", Role.SUPERVISOR,
                   "demo-supervisor-password")


def demo_person(live_server: LiveServer, account: tuple) -> Person:
    email, name, role, password = account
    with live_server.app.app_context():
        user = accounts.get_user_by_email(email)
        assert user is not None, f"flask seed-demo did not make {email}"
        person = Person(user.id, email, name, role, password)
        _db.session.remove()
    return person


@pytest.fixture(autouse=True)
def fresh_factory_identities() -> None:
    """Unlike tests/conftest.py's: the journeys share one served database all session, so
    the factories' people are not started again for each test (each case made by a factory
    stays another person, never a duplicate of an earlier journey's)."""


@pytest.fixture
def make_person(live_server: LiveServer) -> Callable[..., Person]:
    """Create an account through the accounts service (the journey does not say how it was
    made), with a unique email so journeys never share one."""

    def make(role: Role, full_name: str) -> Person:
        email = f"{re.sub(r'[^a-z]+', '.', full_name.lower()).strip('.')}." \
                f"{secrets.token_hex(3)}@example.org"
        with live_server.app.app_context():
            user = accounts.create_user(None, email=email, full_name=full_name, role=role,
                                        password=PASSWORD, temporary=False)
            _db.session.commit()
            person = Person(user.id, email, full_name, role)
            _db.session.remove()
        return person

    return make


@pytest.fixture
def scene(live_server: LiveServer) -> Callable:
    """Run ``function(*args)`` in an app context on the served database and commit: for the
    facts a journey starts from. Returns what the function returns."""

    def run(function: Callable, *args, **kwargs):
        with live_server.app.app_context():
            try:
                result = function(*args, **kwargs)
                _db.session.commit()
                return result
            finally:
                _db.session.remove()

    return run


# --- Browsing -------------------------------------------------------------------------------

@pytest.fixture
def browse(new_context, live_server: LiveServer) -> Callable[..., Page]:
    """``browse(person)``: a page in a fresh browser context, signed in through the sign-in
    form; ``browse()`` stays signed out."""

    def open_page(person: Person | None = None) -> Page:
        live_server.check_running()
        page = new_context(base_url=live_server.url).new_page()
        if person is not None:
            sign_in(page, person)
        return page

    return open_page


def sign_in(page: Page, person: Person) -> None:
    page.goto("/login")
    page.get_by_label("Email address").fill(person.email)
    page.get_by_label("Password").fill(person.password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("status").filter(has_text="Signed in as")).to_have_text(
        f"Signed in as {person.full_name}.")


class Camera:
    """Screenshots of a journey, numbered in the order taken, in test-artifacts/screenshots/."""

    def __init__(self, name: str) -> None:
        self.folder = SCREENSHOTS / name
        shutil.rmtree(self.folder, ignore_errors=True)
        self.folder.mkdir(parents=True)
        self.count = 0

    def shoot(self, page: Page, what: str, full_page: bool = True, readme: str | None = None,
              ) -> Path:
        """Save the page; ``readme="queue"`` also saves it as the README's queue.png."""
        self.count += 1
        path = self.folder / f"{self.count:02d}-{what}.png"
        page.screenshot(path=path, full_page=full_page)
        if readme:
            README_SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, README_SCREENSHOTS / f"{readme}.png")
        return path


@pytest.fixture
def camera(request) -> Camera:
    return Camera(request.node.originalname.removeprefix("test_"))


# --- Accessibility --------------------------------------------------------------------------

@pytest.fixture(scope="session")
def axe_source() -> Path:
    if not AXE_JS.exists():
        tool_missing(f"axe-core ({AXE_JS.relative_to(ROOT)})",
                     "Run `make install-dev` (it runs `npm ci`).")
    return AXE_JS


FAILING_IMPACTS = ("serious", "critical")


def axe_violations(page: Page, axe_js: Path) -> list[dict]:
    """Run axe-core (WCAG 2 A and AA rules) on the page as it is now; return the violations.

    The test puts axe into this page itself; the app never serves it. Not as a <script> tag
    (``page.add_script_tag``): the app's Content-Security-Policy (``script-src 'self'``)
    rightly refuses inline scripts, and turning the CSP off for the check (``bypass_csp``)
    would also let through inline styles the real pages cannot have, so the colours axe
    judges could differ from what people see. DevTools evaluation is not subject to the CSP.
    """
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.evaluate(_read(axe_js))
    return page.evaluate(
        """async () => {
            const result = await axe.run(document, {
                runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa']},
                resultTypes: ['violations'],
            });
            return result.violations.map(v => ({
                id: v.id, impact: v.impact, help: v.help, helpUrl: v.helpUrl,
                nodes: v.nodes.map(n => ({target: n.target.join(' '), summary: n.failureSummary,
                                          html: n.html.slice(0, 200)})),
            }));
        }""")


@functools.cache
def _read(path: Path) -> str:
    return path.read_text()


def describe_violations(violations: list[dict]) -> str:
    lines = []
    for v in violations:
        lines.append(f"[{v['impact']}] {v['id']}: {v['help']} ({v['helpUrl']})")
        for node in v["nodes"][:8]:
            summary = " ".join((node["summary"] or "").split())
            lines.append(f"    at {node['target']}: {node['html']}\n        {summary}")
        if len(v["nodes"]) > 8:
            lines.append(f"    ... and {len(v['nodes']) - 8} more")
    return "\n".join(lines)
