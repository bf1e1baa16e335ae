"""What the machine was doing while a benchmark ran: the load average and a short CPU probe,
printed at the start and the end of every run, and the median and spread of repeated rounds.

The probe times a fixed piece of pure-Python work (no I/O, no allocation to speak of) a few
times and keeps the fastest: on a quiet 2-core machine it is steady to a few per cent, and a
probe several times slower than the quiet figure says the run shared the CPU, so its absolute
times are not to be compared with a quiet run's (ratios measured interleaved still are).
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass

# The probe's work: this many additions in a Python loop (about 20 ms on a quiet core).
PROBE_LOOP = 1_000_000
PROBE_TRIES = 5


def cpu_probe_ms() -> float:
    """The fastest of a few timings of the fixed loop, in milliseconds."""
    best = float("inf")
    for _ in range(PROBE_TRIES):
        started = time.perf_counter()
        total = 0
        for i in range(PROBE_LOOP):
            total += i
        best = min(best, time.perf_counter() - started)
    return best * 1000


@dataclass(frozen=True)
class MachineState:
    load: tuple[float, float, float]
    probe_ms: float

    def line(self, when: str) -> str:
        one, five, fifteen = self.load
        return (f"machine {when}: load average {one:.2f} {five:.2f} {fifteen:.2f} "
                f"({os.cpu_count()} cores), CPU probe {self.probe_ms:.1f} ms")


def machine_state() -> MachineState:
    return MachineState(load=os.getloadavg(), probe_ms=cpu_probe_ms())


def report_machine(when: str) -> MachineState:
    """Read and print the machine's state (``when``: "at start", "at end")."""
    state = machine_state()
    print(state.line(when), flush=True)
    return state


@dataclass(frozen=True)
class Spread:
    """The median of repeated rounds' figures, with the lowest and highest."""

    median: float
    low: float
    high: float

    @classmethod
    def of(cls, values: Sequence[float]) -> Spread:
        return cls(statistics.median(values), min(values), max(values))

    def format(self, spec: str = ".2f", unit: str = "") -> str:
        return (f"{self.median:{spec}}{unit} ({self.low:{spec}} to {self.high:{spec}})")
