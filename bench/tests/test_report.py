"""The report formats (kmsdbench/report.py): RESULTS.md's layout must stay the one the
committed bench/RESULTS.md has, and the console check lines the ones CI and the README show."""
from __future__ import annotations

import argparse
import datetime
from pathlib import Path

import pytest

from kmsdbench import report
from kmsdbench.context import Context
from kmsdbench.floors import FLOORS

COMMITTED = (Path(__file__).resolve().parents[1] / "RESULTS.md").read_text()
HOST = dict(machine=dict(nproc=2, model="AMD EPYC", kernel="6.18.44", mem_mib=24105),
            git="8111038", wrk="wrk debian/4.1.0-3+b2 [epoll]", loadavg_end="2.46 / 2.46 / 1.86",
            fs="ext4")


@pytest.fixture
def ctx(tmp_path) -> Context:
    args = argparse.Namespace(kmsd="/repo/build/release/server/kmsd", work=str(tmp_path),
                              duration=5, reps=3, warmup=1, pinning=True, moto_python="python3",
                              starts=10)
    c = Context(args)
    c.loadavg_start = "1.08 / 1.21 / 1.31"
    c.commands.subst = [(str(tmp_path), "$WORK"), ("/repo/", "")]
    c.commands.add("server (1 thread, pinned)",
                   ["taskset", "-c", "0", "/repo/build/release/server/kmsd", "--data-dir",
                    str(tmp_path) + "/data-gdkwp-1"])
    res = c.results
    gdkwp = dict(scenario="gdkwp", rps=79434.2, p50=142, p99=384, p999=1790, cpu_us=12.46,
                 srv_util=99.2, srv_wait=0.1, wrk_util=99, rss=7.0, moto_rps=443,
                 moto_ratio=179.3, used="3 of 3", floor="≥ 60,000 req/s, ≤ 16 µs, p99 < 1 ms")
    seal = dict(scenario="reference: parse + 32 random bytes + AES-GCM seal", rps=61644,
                p50=237, p99=439, p999=1750, cpu_us=16.1, srv_util=99, srv_wait=0, wrk_util=89,
                rss=6.1, used="3 of 3", floor="(same-run baseline)")
    res.load += [gdkwp, seal, dict(scenario="generatemac", skipped="not implemented yet")]
    res.extra["reference_seal"] = seal
    res.startup.append(dict(scenario="startup, empty data dir (new database)", n=10,
                            line_ms=6.59, first_ms=8.61, first_min=6.32, first_max=146.34,
                            rss_idle=6.2, floor="≤ 10 ms"))
    res.memory.append(dict(scenario="idle, empty data dir (right after start)", rss=6.2,
                           floor="≤ 10 MiB"))
    res.check("gdkwp req/s", gdkwp["rps"], FLOORS["hot_rps"])
    res.check("gdkwp p99 latency", 1200, FLOORS["hot_p99_us"])
    res.skipped.append(("moto", "moto not importable by python3"))
    res.notes.append("a note")
    return c


def render(ctx: Context) -> str:
    started = datetime.datetime(2026, 12, 3, 10, 41, tzinfo=datetime.timezone.utc)
    return report.render_results(ctx, started, 635.2, HOST,
                                 ["/repo/bench/run", "--write-results"])


def lines_starting(text: str, prefix: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith(prefix)]


def test_sections_are_the_committed_ones(ctx):
    assert lines_starting(render(ctx), "#") == lines_starting(COMMITTED, "#")


def test_table_headers_are_the_committed_ones(ctx):
    text = render(ctx)
    for first_cell in ("| scenario | req/s |", "| scenario | to listening line",
                       "| scenario | RSS (VmRSS"):
        assert lines_starting(text, first_cell) == lines_starting(COMMITTED, first_cell)[:1]


def test_header_bullets(ctx):
    text = render(ctx)
    assert "- Date: 2026-12-03 10:41 UTC (suite took 635 s)" in text
    assert "- Machine: 2 cores (`nproc`), AMD EPYC, 24,105 MiB RAM, Linux 6.18.44" in text
    assert "- kmsd: `build/release/server/kmsd` built from commit 8111038" in text
    assert ("- Load average (1/5/15 min) when the suite started: 1.08 / 1.21 / 1.31; "
            "when it ended: 2.46 / 2.46 / 1.86") in text
    bullets = [line.split(":")[0] for line in lines_starting(text, "- ")][:8]
    committed = [line.split(":")[0] for line in lines_starting(COMMITTED, "- ")][:9]
    assert bullets == [b for b in committed if b != "- Baseline"]


def test_rows(ctx):
    text = render(ctx)
    assert ("| gdkwp | 79,434 | 142 µs | 384 µs | 1.79 ms | 12.5 | 80,257 | 99 | 0 | 99 | 7.0 "
            "| 443 | 179× | 0.77 | 3 of 3 | ≥ 60,000 req/s, ≤ 16 µs, p99 < 1 ms |") in text
    assert "| generatemac | not implemented yet |" + "  |" * 14 in text
    assert ("| startup, empty data dir (new database) | 6.59 | 8.61 | 6.32 – 146.34 | 10 | 6.2 "
            "| ≤ 10 ms |") in text


def test_checks_commands_and_notes(ctx):
    text = render(ctx)
    assert "- PASS gdkwp req/s: 79,434 req/s (floor >= 60,000 req/s)" in text
    assert "- **FAIL** gdkwp p99 latency: 1.20 ms (floor < 1.00 ms)" in text
    assert "- SKIP moto: moto not importable by python3" in text
    assert "bench/run --write-results" in text
    assert "  taskset -c 0 build/release/server/kmsd --data-dir $WORK/data-gdkwp-1" in text
    assert text.rstrip().endswith("- a note")


def test_write_results_to_another_path(ctx, tmp_path, monkeypatch):
    monkeypatch.setattr(report, "host_facts", lambda c: HOST)
    out = tmp_path / "RESULTS.md"
    report.write_results(ctx, datetime.datetime.now(datetime.timezone.utc), 1.0, str(out))
    assert out.read_text().startswith("# kmsd benchmark results\n")


def test_console_check_lines(ctx, capsys):
    report.print_report(ctx, quick=True)
    out = capsys.readouterr().out
    assert "  PASS  gdkwp req/s: 79,434 req/s (floor >= 60,000 req/s)" in out
    assert "  FAIL  gdkwp p99 latency: 1.20 ms (floor < 1.00 ms)" in out
    assert "  SKIP  moto: moto not importable by python3" in out
    assert "  NOTE  a note" in out
    assert "Throughput and latency (median of 3 runs of 5 s; wrk -t1 -c16)" in out


def test_check_lines_print_ratios_near_one_with_two_decimals():
    from kmsdbench.fmt import fmt_check
    assert fmt_check(0.45, "×") == "0.45×"
    assert fmt_check(0.98, "×") == "0.98×"
    assert fmt_check(179.4, "×") == "179.4×"
