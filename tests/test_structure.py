"""The shape of the code: dependencies point one way, and every signal is heard.

Layers, lowest first (docs/ARCHITECTURE.md): core (with ``extensions``), auth, quota, cases,
notifications, then the packages that read several features (reports, demo), then the
application factory that assembles them. A module may import its own package and anything
below it, never above or beside.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

import backoffice
from backoffice.cases import signals as case_signals
from backoffice.core import signals as core_signals
from backoffice.documents import signals as document_signals

ROOT = Path(backoffice.__file__).parent

# Package → layer. Equal layers may not import each other; ``extensions`` (the bare extension
# objects) belongs to core.
SAME_PACKAGE = {"extensions": "core"}
LAYERS = {
    "core": 0,
    "auth": 1,
    "quota": 2,
    "cases": 3,
    "documents": 4,
    "letters": 5,
    "notifications": 6,
    "reports": 7, "demo": 7,
    "__init__": 8,  # create_app: the one place that knows every feature
}


def _package(module: str) -> str | None:
    """The top-level package of a ``backoffice.*`` module name, or None for anything else."""
    parts = module.split(".")
    if parts[0] != "backoffice":
        return None
    package = parts[1] if len(parts) > 1 else "__init__"
    return SAME_PACKAGE.get(package, package)


def _imports(path: Path) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module == "backoffice":
            # "from backoffice import cases" names the package in the alias.
            found += [(node.lineno, f"backoffice.{alias.name}") for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
    return found


def upward_imports(root: Path) -> list[str]:
    problems = []
    for path in sorted(root.rglob("*.py")):
        relative = path.relative_to(root)
        own = relative.parts[0].removesuffix(".py")
        own = SAME_PACKAGE.get(own, own)
        if own not in LAYERS:
            problems.append(f"{relative}: package {own!r} has no layer in LAYERS")
            continue
        for line, module in _imports(path):
            target = _package(module)
            if target is None or target == own or (own == "__init__"):
                continue
            if target not in LAYERS:
                problems.append(f"{relative}:{line} imports {module}, which has no layer")
            elif LAYERS[target] >= LAYERS[own]:
                problems.append(f"{relative}:{line} imports {module} ({target} is not below "
                                f"{own})")
    return problems


def test_every_import_points_downwards():
    assert upward_imports(ROOT) == []


def test_the_check_reports_an_upward_import_with_its_file_and_line(tmp_path):
    (tmp_path / "quota").mkdir()
    (tmp_path / "quota" / "dashboard.py").write_text(
        "import os\n\nfrom backoffice.cases.models import Case\n")
    (tmp_path / "core").mkdir()
    (tmp_path / "core" / "routes.py").write_text("from backoffice import auth\n")
    assert upward_imports(tmp_path) == [
        "core/routes.py:1 imports backoffice.auth (auth is not below core)",
        "quota/dashboard.py:3 imports backoffice.cases.models (cases is not below quota)",
    ]


# Signals no feature listens to yet, each documented as an extension point in its own doc and
# in docs/ARCHITECTURE.md.
EXTENSION_POINTS = {"case-reassigned"}
SIGNALS = [core_signals.menu_items, core_signals.header_templates, core_signals.beat_schedule,
           core_signals.language_chosen,
           case_signals.deadline_closed, case_signals.case_status_changed,
           case_signals.case_reassigned, case_signals.documents_outstanding,
           case_signals.case_changed, case_signals.case_page_panels,
           document_signals.documents_requested]


def test_the_list_of_signals_is_complete():
    declared = {value for module in (core_signals, case_signals, document_signals)
                for value in vars(module).values() if hasattr(value, "receivers_for")}
    assert declared == set(SIGNALS)


@pytest.mark.parametrize("signal", SIGNALS, ids=lambda s: s.name)
def test_every_signal_has_a_listener_or_is_a_documented_extension_point(app, signal):
    architecture = (ROOT.parent / "docs" / "ARCHITECTURE.md").read_text()
    assert f"`{signal.name}`" in architecture
    if signal.name in EXTENSION_POINTS:
        assert "extension point" in signal.__doc__.lower()
        assert not signal.receivers, f"{signal.name} has a listener now: take it off the list"
    else:
        assert signal.receivers, f"nothing listens to {signal.name}"


# --- One writer of a case's status and of its history --------------------------------------

STATUS_WRITER = ROOT / "cases" / "lifecycle.py"
EVENT_WRITER = ROOT / "cases" / "events.py"


def _writes(path: Path) -> list[str]:
    """Where ``path`` sets a ``status`` (an attribute, or a ``.values(status=...)`` of an
    UPDATE) or builds a case event (``CaseEvent(...)``, an insert into its table)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        targets = node.targets if isinstance(node, ast.Assign) else (
            [node.target] if isinstance(node, ast.AugAssign | ast.AnnAssign) else [])
        found += [f"status:{node.lineno}" for t in targets
                  if isinstance(t, ast.Attribute) and t.attr == "status"]
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                and node.func.attr == "values":
            keys = [k.arg for k in node.keywords]
            keys += [k.value for a in node.args if isinstance(a, ast.Dict)
                     for k in a.keys if isinstance(k, ast.Constant)]
            found += [f"status:{node.lineno}" for k in keys if k == "status"]
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) \
                and node.func.id == "CaseEvent":
            found.append(f"event:{node.lineno}")
        if isinstance(node, ast.Attribute) and node.attr == "__table__" \
                and isinstance(node.value, ast.Name) and node.value.id == "CaseEvent":
            found.append(f"event:{node.lineno}")
    return found


def test_only_the_lifecycle_writes_a_status_and_only_events_writes_the_history():
    strays = []
    for path in sorted(ROOT.rglob("*.py")):
        for write in _writes(path):
            kind, line = write.split(":")
            allowed = STATUS_WRITER if kind == "status" else EVENT_WRITER
            if path != allowed:
                strays.append(f"{path.relative_to(ROOT)}:{line} writes a {kind}")
    assert strays == []


def test_the_writer_check_sees_a_stray_status_and_event(tmp_path):
    stray = tmp_path / "stray.py"
    stray.write_text("case.status = 'lapsed'\nupdate(Case).values(status='lapsed')\n"
                     "CaseEvent(case_id=1)\n")
    assert _writes(stray) == ["status:1", "status:2", "event:3"]


def test_lazy_messages_come_from_core_only():
    """Flask-Babel's LazyString calls itself safe HTML, so a name inside one would reach a page
    unescaped; core.i18n's lazy messages escape themselves. No module takes Flask-Babel's."""
    offenders = []
    for path in sorted(ROOT.rglob("*.py")):
        if path.relative_to(ROOT).as_posix() == "core/i18n.py":
            continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if line.startswith("from flask_babel") and re.search(
                    r"\b(lazy_gettext|lazy_ngettext|lazy_pgettext|LazyString)\b", line):
                offenders.append(f"{path.relative_to(ROOT)}:{number}")
    assert offenders == []
