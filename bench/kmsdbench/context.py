"""A run's configuration and results, passed to every scenario (no module-level state)."""
from __future__ import annotations

import argparse
import itertools
import os
from dataclasses import replace
from typing import Any

from kmsdbench.commands import Commands
from kmsdbench.floors import Floor
from kmsdbench.servers import ProcessRegistry


class Results:
    """Rows of the three tables, the floor checks, skipped and failed scenarios, notes."""

    def __init__(self) -> None:
        self.load: list[dict[str, Any]] = []     # throughput/latency rows
        self.startup: list[dict[str, Any]] = []
        self.memory: list[dict[str, Any]] = []
        self.checks: list[dict[str, Any]] = []   # dict(name, value, op, floor, unit, ok)
        self.skipped: list[tuple[str, str]] = []  # (scenario, reason)
        self.failed: list[tuple[str, str]] = []   # runs with non-2xx or socket errors, crashes
        self.notes: list[str] = []
        self.extra: dict[str, Any] = {}

    def check(self, name: str, value: float | None, floor: Floor,
              limit: float | None = None) -> bool:
        """Records `value` against `floor` (against `limit` instead of its value, when given:
        a floor computed in the run, such as openssl's cost + 16 µs)."""
        if limit is not None:
            floor = replace(floor, value=limit)
        ok = floor.holds(value)
        self.checks.append(dict(name=name, value=value, op=floor.op, floor=floor.value,
                                unit=floor.unit, ok=ok))
        return ok

    def find_load(self, scenario: str) -> dict[str, Any] | None:
        for r in self.load:
            if r["scenario"] == scenario:
                return r
        return None


class Context:
    """The options (`args`), the work directory, the command log, the processes started and
    the results of one run of the suite."""

    def __init__(self, args: argparse.Namespace):
        self.args = args
        self.kmsd: str = args.kmsd
        self.work: str = args.work
        self.duration: int = args.duration
        self.reps: int = args.reps
        self.warmup: int = args.warmup
        self.counter = itertools.count(1)
        self.pinning: bool = args.pinning
        self.moto_python: str = args.moto_python
        self.results = Results()
        self.commands = Commands()
        self.registry = ProcessRegistry()
        self.loadavg_start = "unknown"

    def pin(self, cpu: int | None) -> list[str]:
        """The `taskset -c CPU` prefix (empty when unpinned or pinning is off)."""
        if cpu is None or not self.pinning:
            return []
        return ["taskset", "-c", str(cpu)]

    def data_dir(self, name: str) -> str:
        """A new empty directory in the work directory."""
        d = os.path.join(self.work, "data-%s-%d" % (name, next(self.counter)))
        os.makedirs(d)
        return d
