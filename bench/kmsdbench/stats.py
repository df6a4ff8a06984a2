"""Statistics of load runs: medians, ratios, the figures of one wrk run and of one row.

Pure functions over plain dicts and numbers (no I/O), so they are unit-tested directly
(bench/tests/test_stats.py).
"""
from __future__ import annotations

import statistics
from typing import Any, Iterable

Run = dict[str, Any]


def median(values: Iterable[float | None]) -> float | None:
    """The median of the values that are not None; None when there is none."""
    present = [v for v in values if v is not None]
    return statistics.median(present) if present else None


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    """numerator / denominator, or None when either is missing or the denominator is 0."""
    if numerator is None or not denominator:
        return None
    return numerator / denominator


def run_figures(result: Run, cpu_seconds: float, wait_seconds: float | None,
                wrk_cpu_seconds: float, contention_check: bool,
                contended_wait_pct: float) -> Run:
    """Adds a run's derived figures to wrk's `result` (which has requests, duration_us):
    cpu_us (server CPU per request), srv_util / srv_wait / wrk_util (% of one core over the
    run) and contended (the server waited for its CPU more than `contended_wait_pct`)."""
    secs = result["duration_us"] / 1e6
    requests = result["requests"]
    result["cpu_us"] = cpu_seconds * 1e6 / requests if requests else None
    # Share of a core the server got (and wrk used) during the run: a server well below
    # 100 % (one thread) was starved by other work on its core, or by the load generator.
    result["srv_util"] = cpu_seconds / secs * 100 if secs else None
    result["srv_wait"] = wait_seconds / secs * 100 if secs and wait_seconds is not None else None
    result["wrk_util"] = wrk_cpu_seconds / secs * 100 if secs else None
    result["contended"] = bool(contention_check and result["srv_wait"] is not None
                               and result["srv_wait"] > contended_wait_pct)
    return result


def enough_runs(runs: list[Run], reps: int, max_runs: int) -> bool:
    """A row is complete with `reps` uncontended runs, or once it has `max_runs` runs."""
    clean = [r for r in runs if not r["contended"]]
    return len(runs) >= max_runs or (len(runs) >= reps and len(clean) >= reps)


def aggregate_runs(runs: list[Run], contention_check: bool) -> Run:
    """A row's figures: medians of its uncontended runs (of all, when every run was
    contended), totals of requests and errors over all runs, and the 'runs used' text."""
    clean = [r for r in runs if not r["contended"]]
    used_runs = clean or runs
    contended_only = not clean and any(r["contended"] for r in runs)
    used = "%d of %d" % (len(used_runs), len(runs))
    if contended_only and contention_check:
        used += ", all contended"

    def med(key: str) -> float | None:
        return median(r[key] for r in used_runs)

    return dict(
        used=used,
        contended_only=contended_only,
        rps=med("rps"), p50=med("p50_us"), p99=med("p99_us"), p999=med("p999_us"),
        cpu_us=med("cpu_us"), srv_util=med("srv_util"), srv_wait=med("srv_wait"),
        wrk_util=med("wrk_util"),
        requests=sum(r["requests"] for r in runs),
        non2xx=sum(r["errors_status"] for r in runs),
        socket_errors=sum(r["socket_errors"] for r in runs),
        runs=len(used_runs),
        rps_runs=[r["rps"] for r in used_runs],
    )


def capacity(cpu_us: float | None) -> float | None:
    """Derived, not measured: requests per second one fully available core could serve at
    `cpu_us` of CPU per request (only meaningful for one server thread)."""
    return 1e6 / cpu_us if cpu_us else None
