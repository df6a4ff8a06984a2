"""Statistics of runs and rows (kmsdbench/stats.py)."""
from __future__ import annotations

import pytest

from kmsdbench import parse, stats


def run(rps=1000.0, p50=100, p99=300, p999=900, cpu=10.0, util=99, wait=0, wrk=90,
        contended=False, requests=5000, status=0, sock=0):
    return dict(rps=rps, p50_us=p50, p99_us=p99, p999_us=p999, cpu_us=cpu, srv_util=util,
                srv_wait=wait, wrk_util=wrk, contended=contended, requests=requests,
                errors_status=status, socket_errors=sock)


def test_median_skips_missing_values():
    assert stats.median([3, None, 1, 2]) == 2
    assert stats.median([4, 1]) == 2.5
    assert stats.median([None, None]) is None
    assert stats.median([]) is None


def test_ratio():
    assert stats.ratio(3.0, 2.0) == 1.5
    assert stats.ratio(None, 2.0) is None
    assert stats.ratio(1.0, 0) is None
    assert stats.ratio(1.0, None) is None


def test_capacity():
    assert stats.capacity(16.0) == 62500
    assert stats.capacity(None) is None
    assert stats.capacity(0) is None


def test_run_figures_from_a_real_wrk_run(sample):
    r = parse.wrk_result(sample("wrk_gdkwp.txt"))
    secs = r["duration_us"] / 1e6
    stats.run_figures(r, cpu_seconds=0.5 * secs, wait_seconds=0.2 * secs,
                      wrk_cpu_seconds=0.9 * secs, contention_check=True, contended_wait_pct=10)
    assert r["cpu_us"] == pytest.approx(0.5 * secs * 1e6 / r["requests"])
    assert r["srv_util"] == pytest.approx(50)
    assert r["srv_wait"] == pytest.approx(20)
    assert r["wrk_util"] == pytest.approx(90)
    assert r["contended"] is True


def test_run_figures_contention_needs_the_check_and_a_wait():
    base = dict(requests=1000, duration_us=1_000_000)
    r = stats.run_figures(dict(base), 1.0, 0.5, 0.1, contention_check=False,
                          contended_wait_pct=10)
    assert r["contended"] is False
    r = stats.run_figures(dict(base), 1.0, None, 0.1, contention_check=True,
                          contended_wait_pct=10)
    assert r["srv_wait"] is None and r["contended"] is False
    r = stats.run_figures(dict(base), 1.0, 0.1, 0.1, contention_check=True,
                          contended_wait_pct=10)
    assert r["contended"] is False  # exactly 10 % is not above 10 %


def test_run_figures_without_requests():
    r = stats.run_figures(dict(requests=0, duration_us=0), 0.0, 0.0, 0.0, True, 10)
    assert r["cpu_us"] is None and r["srv_util"] is None and r["wrk_util"] is None


def test_enough_runs():
    clean, busy = run(), run(contended=True)
    assert not stats.enough_runs([clean, clean], reps=3, max_runs=6)
    assert stats.enough_runs([clean] * 3, reps=3, max_runs=6)
    assert not stats.enough_runs([clean, busy, clean], reps=3, max_runs=6)
    assert stats.enough_runs([busy] * 6, reps=3, max_runs=6)
    assert stats.enough_runs([busy] * 3, reps=3, max_runs=3)  # --no-retry-contended


def test_aggregate_uses_medians_of_the_uncontended_runs():
    runs = [run(rps=100, cpu=10), run(rps=300, cpu=30), run(rps=200, cpu=20),
            run(rps=50, cpu=99, contended=True, status=2, sock=1)]
    row = stats.aggregate_runs(runs, contention_check=True)
    assert row["rps"] == 200 and row["cpu_us"] == 20
    assert row["used"] == "3 of 4" and row["runs"] == 3
    assert row["rps_runs"] == [100, 300, 200]
    assert row["contended_only"] is False
    # Totals cover every run, the contended one included.
    assert row["requests"] == 20000 and row["non2xx"] == 2 and row["socket_errors"] == 1


def test_aggregate_falls_back_to_all_runs_when_every_run_was_contended():
    runs = [run(rps=r, contended=True) for r in (10, 30, 20)]
    row = stats.aggregate_runs(runs, contention_check=True)
    assert row["rps"] == 20
    assert row["used"] == "3 of 3, all contended"
    assert row["contended_only"] is True


def test_aggregate_of_unchecked_rows_says_nothing_about_contention():
    row = stats.aggregate_runs([run(), run(), run()], contention_check=False)
    assert row["used"] == "3 of 3"
