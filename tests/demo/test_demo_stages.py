"""``flask seed-demo --cases N`` ends with its stages: every one the load goes through, each
with its seconds and share, adding up to a total that is the whole command's wall time."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from backoffice.demo import bulk, commands
from backoffice.demo.stopwatch import Stopwatch, since_process_start

STAGE_LINE = re.compile(r"^  (?P<stage>.+?)\s+(?P<seconds>\d+\.\d\d) s\s+(?P<share>\d+\.\d) %$")


def stages(output: str) -> dict[str, tuple[float, float]]:
    table = output.split("Stages, ", 1)[1].splitlines()[1:]
    found = {}
    for line in table:
        match = STAGE_LINE.match(line)
        if match is None:
            break
        found[match["stage"]] = (float(match["seconds"]), float(match["share"]))
    return found


def test_the_bulk_load_prints_its_stages_adding_up_to_its_wall_time(app, db):
    runner = app.test_cli_runner()
    before = since_process_start()
    started = time.perf_counter()
    result = runner.invoke(args=["seed-demo", "--cases", "300", "--chunk-size", "100"])
    wall = time.perf_counter() - started
    after = since_process_start()
    assert result.exit_code == 0, result.output
    table = stages(result.output)
    total, share = table.pop("total")
    assert share == 100.0
    expected = {commands.ACCOUNTS, bulk.PLANNING_YEAR, bulk.MAIN_PROCESS, bulk.SENDING,
                bulk.SETTLING_QUOTA, bulk.COUNTING_STATUSES, commands.COMMITTING,
                commands.ANALYZING, commands.REPORTING}
    assert expected <= set(table), table
    # Made here, or in generator processes that this one waited for (and that say so).
    assert len({bulk.GENERATING, bulk.WAITING} & set(table)) == 1, table
    assert (bulk.WAITING in table) == ("generator processes were busy" in result.output)
    # Each printed figure is rounded to 0.01 s (shares to 0.1 %).
    assert sum(seconds for seconds, _ in table.values()) == pytest.approx(
        total, abs=0.005 * len(table) + 0.005)
    assert sum(share for _, share in table.values()) == pytest.approx(100, abs=0.05 * len(table))
    # The summary line's total is the table's, to its 0.1 s (the table's 0.01 s rounds apart).
    said = re.search(r"in ([\d,]+\.\d) s of wall time", result.output)
    assert said is not None, result.output
    assert float(said[1].replace(",", "")) == pytest.approx(total, abs=0.051)
    if before is None:  # no /proc: the total is the command's own time
        assert "Python start-up and app creation not included" in result.output
        assert total == pytest.approx(wall, abs=0.05)
    else:
        # From the process's start: at least the time before the command was invoked, and
        # no more than until it returned (the clock ticks in hundredths of a second).
        assert commands.STARTING in table
        assert "Python start-up and app creation included" in result.output
        assert before - 0.02 <= total <= after + 0.02


def test_a_stopwatch_charges_every_moment_to_one_stage():
    laps = Stopwatch(("before", 1.5))
    time.sleep(0.01)
    first = laps.lap("a")
    laps.lap("b")
    time.sleep(0.01)
    again = laps.lap("a")
    assert list(laps.seconds) == ["before", "a", "b"]
    assert laps.seconds["a"] == first + again >= 0.02
    assert laps.total == pytest.approx(sum(laps.seconds.values()))
    lines = list(laps.table())
    assert lines[0].split()[0] == "before" and lines[-1].split()[0] == "total"
    assert lines[-1].endswith("100.0 %")


def test_the_time_since_the_process_started_is_read_where_proc_is():
    # Where the file exists the reading must work: a parse that broke would give None.
    if not Path("/proc/self/stat").exists():
        pytest.skip("no /proc/self/stat on this system")
    since = since_process_start()
    assert since is not None
    assert 0 < since < time.clock_gettime(time.CLOCK_BOOTTIME)
