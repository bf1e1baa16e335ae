"""Static security analysis: bandit finds nothing of medium or high severity in the app, and
every finding judged harmless says why on its own line.

``make bandit`` runs the same check before the tests; this keeps it true for a plain
``pytest`` run too, and checks what bandit cannot: that each ``# nosec`` gives its reason.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
import tokenize
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TARGETS = ["backoffice", "worker.py", "config.py"]
NOSEC = "# nosec"


def bandit(*targets: str | Path) -> tuple[int, list[dict]]:
    """Medium and high findings, as ``make bandit`` asks for them."""
    done = subprocess.run(
        [sys.executable, "-m", "bandit", "-c", "pyproject.toml", "--quiet",
         "--severity-level", "medium", "--format", "json", "-r", *map(str, targets)],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)
    return done.returncode, json.loads(done.stdout)["results"]


def where(finding: dict) -> str:
    path = Path(finding["filename"]).resolve().relative_to(ROOT).as_posix()
    return f"{path}:{finding['line_number']} {finding['test_id']} {finding['issue_text']}"


def test_bandit_finds_no_medium_or_high_issue():
    _, findings = bandit(*TARGETS)
    left = [where(f) for f in findings]
    assert left == [], "fix these, or mark each `# nosec BXXX  # why` on its line:\n" + \
        "\n".join(left)


def test_a_new_finding_fails_the_check(tmp_path):
    """The gate is real: the configuration skips no test, so a medium finding fails."""
    risky = tmp_path / "risky.py"
    risky.write_text("import subprocess\n\n\ndef run(command):\n"
                     "    return subprocess.run(command, shell=True)\n")
    status, findings = bandit(risky)
    assert status == 1
    assert [f["test_id"] for f in findings] == ["B602"]


def nosec_comments(path: Path) -> list[tuple[int, str]]:
    tokens = tokenize.generate_tokens(io.StringIO(path.read_text()).readline)
    return [(token.start[0], token.string) for token in tokens
            if token.type == tokenize.COMMENT and NOSEC in token.string]


SOURCES = sorted(p for target in TARGETS
                 for p in ([ROOT / target] if target.endswith(".py")
                           else (ROOT / target).rglob("*.py")))


def unexplained(path: Path) -> list[str]:
    problems = []
    for line, comment in nosec_comments(path):
        _, _, after = comment.partition(NOSEC)
        tests, sep, reason = after.partition("#")
        ids = [t.strip() for t in tests.replace(",", " ").split()]
        if not ids or not all(t[0] == "B" and t[1:].isdigit() for t in ids):
            problems.append(f"{path.name}:{line}: name the bandit test ids after '# nosec'")
        elif not sep or len(reason.strip()) < 10:
            problems.append(f"{path.name}:{line}: say why: '# nosec BXXX  # the reason'")
    return problems


def test_every_nosec_names_its_test_and_says_why():
    """``# nosec`` alone would silence every test on the line, and without a reason nobody
    can tell a judgement from a shortcut. The form: ``# nosec B704  # every value escaped``."""
    assert [p for path in SOURCES for p in unexplained(path)] == []


@pytest.mark.parametrize(("comment", "complaint"), [
    ("x = 1  # nosec B704  # every value was escaped above", None),
    ("x = 1  # nosec B608, B704  # built from constants only", None),
    ("x = 1  # nosec", "name the bandit test ids"),
    ("x = 1  # nosec  # because it is fine, honestly", "name the bandit test ids"),
    ("x = 1  # nosec B704", "say why"),
    ("x = 1  # nosec B704  # ok", "say why"),
])
def test_the_nosec_check_knows_a_reason_from_none(tmp_path, comment, complaint):
    source = tmp_path / "example.py"
    source.write_text(comment + "\n")
    problems = unexplained(source)
    if complaint is None:
        assert problems == []
    else:
        assert len(problems) == 1
        assert complaint in problems[0]
