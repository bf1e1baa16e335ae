"""The systemd units in deploy/systemd: one per process, each restarted on failure, the one
beat, the worker's flags, and an example environment that names only settings that exist."""

from __future__ import annotations

import configparser
import re
import shlex
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
UNITS = ROOT / "deploy" / "systemd"
VENV_BIN = "/opt/backoffice/.venv/bin/"


def unit(name: str) -> configparser.SectionProxy:
    parser = configparser.ConfigParser(interpolation=None, strict=True)
    parser.optionxform = str  # systemd keys are case-sensitive
    parser.read(UNITS / name)
    return parser["Service"]


def command(name: str) -> list[str]:
    return shlex.split(unit(name)["ExecStart"])


@pytest.mark.parametrize(("name", "program", "first_args"), [
    ("backoffice-web.service", "gunicorn", None),
    ("backoffice-worker.service", "celery", ["-A", "worker", "worker"]),
    ("backoffice-beat.service", "celery", ["-A", "worker", "beat"]),
])
def test_each_process_has_a_unit_that_restarts_it(name, program, first_args):
    service = unit(name)
    assert service["Restart"] == "always"
    assert int(service["RestartSec"]) > 0
    assert service["EnvironmentFile"] == "/etc/backoffice/backoffice.env"
    argv = command(name)
    assert argv[0] == VENV_BIN + program
    if first_args:
        assert argv[1:4] == first_args


def test_gunicorn_serves_the_app_factory():
    assert command("backoffice-web.service")[-1] == "backoffice:create_app()"


def test_the_worker_runs_without_gossip_and_mingle():
    argv = command("backoffice-worker.service")
    assert {"--without-gossip", "--without-mingle"} <= set(argv)


def test_there_is_exactly_one_beat_unit():
    beats = [path.name for path in UNITS.glob("*.service")
             if " beat" in unit(path.name)["ExecStart"]]
    assert beats == ["backoffice-beat.service"]


def test_the_example_environment_names_only_real_settings():
    names = re.findall(r"^([A-Z_]+)=", (UNITS / "backoffice.env.example").read_text(), re.M)
    read = set(re.findall(r"""environ(?:\.get)?\(\s*["']([A-Z_]+)["']""",
                          (ROOT / "config.py").read_text()))
    read |= set(re.findall(r"_bool\(\s*\"([A-Z_]+)\"", (ROOT / "config.py").read_text()))
    read.add("FLASK_APP")  # read by the flask command, not by config.py
    assert names and set(names) <= read, sorted(set(names) - read)
