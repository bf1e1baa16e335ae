"""The stages of a long command and the share of its wall time each took.

A ``Stopwatch`` is read as laps: ``lap(name)`` charges the time since the previous lap to
``name`` (a name seen again adds to its seconds), so every moment between the first reading
and the last belongs to exactly one stage and the stages add up to the total by
construction: no gap can hide between two stages. The first stage can be the time before the
stopwatch existed, since the process started (``since_process_start``), so that the printed
total is the wall time an outside timer (``/usr/bin/time``) reports for the whole command.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator


def since_process_start() -> float | None:
    """Seconds since this process started (Linux: its start in clock ticks since boot, from
    ``/proc/self/stat``, against the boot-time clock), or None where that is not readable."""
    try:
        with open("/proc/self/stat") as stat:
            # Field 22 (starttime), counted after the command name, which may hold spaces.
            started = int(stat.read().rsplit(")", 1)[1].split()[19])
        return time.clock_gettime(time.CLOCK_BOOTTIME) - started / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, AttributeError):
        return None


class Stopwatch:
    """Laps charged to named stages, in the order each stage was first seen."""

    def __init__(self, before: tuple[str, float] | None = None) -> None:
        """``before``: a stage that ended as the stopwatch started (its name and seconds)."""
        self.seconds: dict[str, float] = {}
        if before is not None:
            self.seconds[before[0]] = before[1]
        self._last = time.perf_counter()

    def lap(self, stage: str) -> float:
        """Charge the time since the previous lap to ``stage``; return that time."""
        now = time.perf_counter()
        spent = now - self._last
        self._last = now
        self.seconds[stage] = self.seconds.get(stage, 0.0) + spent
        return spent

    @property
    def total(self) -> float:
        return sum(self.seconds.values())

    def table(self) -> Iterator[str]:
        """The stages, one line each with its seconds and share of the total, then the
        total."""
        total = self.total
        width = max(len(stage) for stage in (*self.seconds, "total"))
        for stage, seconds in self.seconds.items():
            share = 100 * seconds / total if total else 0.0
            yield f"  {stage:<{width}}  {seconds:8.2f} s  {share:5.1f} %"
        yield f"  {'total':<{width}}  {total:8.2f} s  100.0 %"
