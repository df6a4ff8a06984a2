"""The console report and the RESULTS.md writer.

render_results() builds RESULTS.md's text from a finished run (tested for its format in
bench/tests/test_report.py); write_results() writes it to bench/RESULTS.md or any path.
"""
from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from typing import TYPE_CHECKING, Any, Sequence

from kmsdbench import procfs, stats
from kmsdbench.floors import CONTENDED_WAIT_PCT
from kmsdbench.fmt import fmt, fmt_check, fmt_us, log
from kmsdbench.paths import RESULTS_MD, ROOT
from kmsdbench.procfs import CLK_TCK
from kmsdbench.scenarios import reference_ratio

if TYPE_CHECKING:
    import datetime

    from kmsdbench.context import Context


def print_report(ctx: "Context", quick: bool) -> None:
    """The console report: the three tables, the checks, skipped, failed, notes."""
    res = ctx.results
    out = []
    out.append("")
    out.append("Throughput and latency (median of %d runs of %d s; wrk -t1 -c16)" % (
        ctx.reps, ctx.duration))
    hdr = ["scenario", "req/s", "p50", "p99", "p99.9", "CPU µs/req", "1e6/CPU", "srv%",
           "srv wait%", "wrk%", "RSS MiB", "moto req/s", "×moto", "CPU ÷ ref", "runs used",
           "floor"]
    out += table_text(hdr, [load_cells(ctx, r) for r in res.load])
    if res.startup:
        out.append("")
        out.append("Start-up (spawn -> listening line / -> first served request)")
        rows = [[s["scenario"], fmt(s.get("line_ms"), 2), fmt(s["first_ms"], 2),
                 "%s–%s" % (fmt(s["first_min"], 2), fmt(s["first_max"], 2)), str(s["n"]),
                 fmt(s.get("rss_idle"), 1), s.get("floor", "")] for s in res.startup]
        out += table_text(["scenario", "line ms", "first req ms", "range", "starts",
                           "idle RSS MiB", "floor"], rows)
    if res.memory:
        out.append("")
        out.append("Memory")
        rows = [[m["scenario"], fmt(m.get("rss"), 1), fmt(m.get("peak"), 1), m.get("floor", "")]
                for m in res.memory]
        out += table_text(["scenario", "RSS MiB", "peak MiB", "floor"], rows)
    out.append("")
    out.append("Checks")
    for c in res.checks:
        out.append("  %s  %s: %s (floor %s %s)" % (
            "PASS" if c["ok"] else "FAIL", c["name"], fmt_check(c["value"], c["unit"]),
            c["op"], fmt_check(c["floor"], c["unit"])))
    for s, why in res.skipped:
        out.append("  SKIP  %s: %s" % (s, why))
    for s, why in res.failed:
        out.append("  FAIL  %s: failed run: %s" % (s, why))
    for n in res.notes:
        out.append("  NOTE  %s" % n)
    log("\n".join(out))


def load_cells(ctx: "Context", r: dict[str, Any]) -> list[str]:
    """One throughput row's cells, in the column order of both load tables."""
    if r.get("skipped"):
        return [r["scenario"], r["skipped"]] + [""] * 14
    return [r["scenario"], fmt(r.get("rps")), fmt_us(r.get("p50")), fmt_us(r.get("p99")),
            fmt_us(r.get("p999")), fmt(r.get("cpu_us"), 1), capacity(r),
            fmt(r.get("srv_util")), fmt(r.get("srv_wait")), fmt(r.get("wrk_util")),
            fmt(r.get("rss"), 1), fmt(r.get("moto_rps")),
            fmt(r.get("moto_ratio"), 0, "×") if r.get("moto_ratio") else "—",
            fmt(reference_ratio(ctx, r), 2), r.get("used", ""), r.get("floor", "")]


def capacity(r: dict[str, Any]) -> str:
    """Derived, not measured: requests one fully available core could serve at the measured
    CPU cost (only meaningful for one server thread)."""
    return fmt(stats.capacity(r.get("cpu_us")))


def table_text(hdr: Sequence[str], rows: list[list[str]]) -> list[str]:
    """A plain-text table, columns padded to their widest cell."""
    widths = [max(len(str(x)) for x in col) for col in zip(hdr, *rows)] if rows else [
        len(h) for h in hdr]
    lines = ["  " + "  ".join(str(h).ljust(w) for h, w in zip(hdr, widths))]
    lines.append("  " + "  ".join("-" * w for w in widths))
    for r in rows:
        lines.append("  " + "  ".join(str(x).ljust(w) for x, w in zip(r, widths)))
    return lines


def md_table(hdr: Sequence[str], rows: list[list[str]]) -> list[str]:
    """A Markdown table."""
    lines = ["| " + " | ".join(hdr) + " |", "|" + "|".join("---" for _ in hdr) + "|"]
    for r in rows:
        lines.append("| " + " | ".join(str(x) for x in r) + " |")
    return lines


def git_info() -> str:
    """The short HEAD commit, flagged when tracked files are modified."""
    try:
        head = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"],
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                              timeout=10).stdout.decode().strip()
        dirty = subprocess.run(["git", "-C", ROOT, "status", "--porcelain",
                                "--untracked-files=no"], stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL, timeout=10).stdout.decode().strip()
        return head + (" (with uncommitted changes)" if dirty else "")
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"


def fs_type(path: str) -> str:
    try:
        out = subprocess.run(["df", "--output=fstype", path], stdout=subprocess.PIPE,
                             timeout=10).stdout.decode().split()
        return out[-1] if out else "unknown"
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"

def wrk_version() -> str:
    out = subprocess.run(["wrk", "-v"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    return out.stdout.decode(errors="replace").splitlines()[0].strip()


def host_facts(ctx: "Context") -> dict[str, Any]:
    """What RESULTS.md's header says about the machine, gathered when the run ends."""
    return dict(machine=procfs.machine_info(), git=git_info(), wrk=wrk_version(),
                loadavg_end=procfs.loadavg(), fs=fs_type(ctx.work))


def command_line(argv: Sequence[str]) -> str:
    """The command as typed from the repository root: bench/run and its options."""
    return " ".join(shlex.quote(a) for a in [os.path.relpath(argv[0], ROOT)] + list(argv[1:]))


def write_results(ctx: "Context", started: "datetime.datetime", elapsed: float,
                  path: str = RESULTS_MD) -> None:
    """Writes RESULTS.md (or `path`) for the finished run."""
    text = render_results(ctx, started, elapsed, host_facts(ctx), sys.argv)
    with open(path, "w") as f:
        f.write(text)
    log("wrote %s" % path)


def render_results(ctx: "Context", started: "datetime.datetime", elapsed: float,
                   host: dict[str, Any], argv: Sequence[str]) -> str:
    """RESULTS.md's text: header, the three tables, checks, commands and notes."""
    L = _header(ctx, started, elapsed, host)
    for section in (_load_section(ctx), _startup_section(ctx), _memory_section(ctx),
                    _checks_section(ctx), _commands_section(ctx, argv), _notes_section(ctx)):
        L += section
    return "\n".join(L)


def _header(ctx: "Context", started: "datetime.datetime", elapsed: float,
            host: dict[str, Any]) -> list[str]:
    """Title and the bullets on the machine, the binary and the setup."""
    res = ctx.results
    L: list[str] = []
    mi = host["machine"]
    L.append("# kmsd benchmark results")
    L.append("")
    L.append("Written by `bench/run --write-results` (see bench/README.md). Every figure is "
             "measured, including the ones that miss their floor.")
    L.append("")
    L.append("- Date: %s (suite took %.0f s)" % (started.strftime("%Y-%m-%d %H:%M UTC"), elapsed))
    L.append("- Machine: %d cores (`nproc`), %s, %s MiB RAM, Linux %s" % (
        mi["nproc"], mi["model"], fmt(mi["mem_mib"]), mi["kernel"]))
    L.append("- kmsd: `%s` built from commit %s" % (ctx.commands.pretty(ctx.kmsd), host["git"]))
    L.append("- Load average (1/5/15 min) when the suite started: %s; when it ended: %s" % (
        ctx.loadavg_start, host["loadavg_end"]))
    L.append("- Load generator: %s, Lua script `bench/wrk/kms.lua`" % host["wrk"])
    if res.extra.get("moto_version"):
        L.append("- Baseline: moto %s standalone server (`%s -m moto.server`)" % (
            res.extra["moto_version"], ctx.moto_python))
    L.append("- Data directories: %s (%s file system), SQLite durable (not `--in-memory`)" % (
        "a fresh temporary directory per scenario", host["fs"]))
    L.append("- Pinning: %s" % ("kmsd (and moto) on core 0 with `taskset -c 0`, wrk on core 1 "
                                 "with `taskset -c 1`, unless a row says unpinned"
                                 if ctx.pinning else "none (fewer than 2 cores or --no-pin)"))
    L.append("- Repetitions: each load figure is the median of %d runs of %d s (after a %d s "
             "warm-up), 16 keep-alive connections, one wrk thread; the hot-path rows (gdkwp, "
             "gdk, encrypt, decrypt, with 1 key and with many) are measured in rounds, one run "
             "of each per round; start-up figures are medians of %d starts" % (
                 ctx.reps, ctx.duration, ctx.warmup, ctx.args.starts))
    L.append("")
    return L


def _load_section(ctx: "Context") -> list[str]:
    """The throughput table and the notes on its columns."""
    res = ctx.results
    L: list[str] = []
    L.append("## Throughput, latency, CPU")
    L.append("")
    hdr = ["scenario", "req/s", "p50", "p99", "p99.9", "server CPU µs/req",
           "1e6 / CPU µs", "server CPU %", "server waiting for a CPU %", "wrk CPU %",
           "RSS after MiB", "moto req/s", "kmsd/moto", "CPU ÷ reference", "runs used",
           "floor"]
    L += md_table(hdr, [load_cells(ctx, r) for r in res.load])
    L.append("")
    L.append("Operations and their request bodies: gdkwp = GenerateDataKeyWithoutPlaintext "
             "(AES_256), gdk = GenerateDataKey (AES_256), encrypt = Encrypt of 32 bytes, decrypt "
             "= Decrypt of such a blob, reencrypt = ReEncrypt to a second key, describekey = "
             "DescribeKey (gdkwp, gdk, encrypt and decrypt each bind a two-pair "
             "EncryptionContext), createkey = CreateKey `{}` (durable), sign/verify = Sign/Verify of a "
             "32-byte RAW message (ECDSA_SHA_256 on ECC_NIST_P256, RSASSA_PKCS1_V1_5_SHA_256 on "
             "RSA_2048), generatemac = GenerateMac HMAC_SHA_256 on an HMAC_256 key. Rows "
             "\"N keys\" spread the requests round-robin over 1,024 random keys of a database "
             "holding N keys.")
    if res.extra.get("reference_seal"):
        ref = res.extra["reference_seal"]
        fixed = res.extra.get("reference_fixed") or {}
        L.append("")
        L.append("*CPU ÷ reference*: the row's server CPU per request over that of the "
                 "matching \"reference\" row measured in this run: `bench/reference_server.cpp`, "
                 "the storage-free Boost.Beast server issue 3 states its ceiling with (parse the "
                 "JSON, draw 32 random bytes, AES-256-GCM-seal them, write the JSON reply; about "
                 "16 µs on the machine the issue was measured on; %s µs here), or for a "
                 "Sign/Verify row the same server signing/verifying with a key of its own. Its "
                 "fixed-`{}` variant (HTTP and the kernel alone) took %s µs here. Below 1.00, "
                 "kmsd, with key lookup, validation and durable storage, costs less than that "
                 "server; the absolute floors are checked as stated regardless." % (
                     fmt(ref.get("cpu_us"), 1), fmt(fixed.get("cpu_us"), 1)))
    if res.extra.get("openssl"):
        o = res.extra["openssl"]
        L.append("")
        L.append("`openssl speed -seconds 1` on core 0, right before and right after each "
                 "Sign/Verify row's runs (its floor uses their mean): " + ", ".join(
                     "%s %.1f and %.1f µs" % (k, v[0], v[1]) for k, v in sorted(o.items())))
    L.append("")
    return L


def _startup_section(ctx: "Context") -> list[str]:
    """The start-up table."""
    res = ctx.results
    L: list[str] = []
    L.append("## Start-up")
    L.append("")
    L.append("From spawn to the `kmsd listening on` line, and to the first served request "
             "(`GET /_kmsd/health` on a fresh connection, sent right after the line); one "
             "server thread, unpinned.")
    L.append("")
    rows = [[s["scenario"], fmt(s.get("line_ms"), 2), fmt(s["first_ms"], 2),
             "%s – %s" % (fmt(s["first_min"], 2), fmt(s["first_max"], 2)), str(s["n"]),
             fmt(s.get("rss_idle"), 1), s.get("floor", "")] for s in res.startup]
    L += md_table(["scenario", "to listening line (ms)", "to first served request (ms)",
                   "min – max (ms)", "starts", "idle RSS (MiB)", "floor"], rows)
    if res.extra.get("startup_ratio"):
        L.append("")
        L.append("moto takes %.0f× as long as kmsd to serve its first request." %
                 res.extra["startup_ratio"])
    L.append("")
    return L


def _memory_section(ctx: "Context") -> list[str]:
    """The memory table and the memory scenario's summary."""
    res = ctx.results
    L: list[str] = []
    L.append("## Memory")
    L.append("")
    rows = [[m["scenario"], fmt(m.get("rss"), 1), fmt(m.get("peak"), 1), m.get("floor", "")]
            for m in res.memory]
    L += md_table(["scenario", "RSS (VmRSS, MiB)", "peak (VmHWM, MiB)", "floor"], rows)
    mem = [m for m in res.memory if m.get("after_first") is not None]
    if mem:
        m = mem[0]
        L.append("")
        L.append("Memory scenario: RSS %.1f MiB idle, %.1f MiB after the first 5 s chunk, %.1f "
                 "MiB after %s requests (growth %.2f MiB), peak %.1f MiB; %d one-second samples, "
                 "largest %.1f MiB." % (m["idle"], m["after_first"], m["rss"], fmt(m["requests"]),
                                        m["rss"] - m["after_first"], m["peak"], m["samples"],
                                        m["max_sample"] or 0))
    L.append("")
    return L


def _checks_section(ctx: "Context") -> list[str]:
    """Every check, skip and failed run."""
    res = ctx.results
    L: list[str] = []
    L.append("## Checks against the floors")
    L.append("")
    for c in res.checks:
        L.append("- %s %s: %s (floor %s %s)" % ("PASS" if c["ok"] else "**FAIL**", c["name"],
                                                fmt_check(c["value"], c["unit"]), c["op"],
                                                fmt_check(c["floor"], c["unit"])))
    for s, why in res.skipped:
        L.append("- SKIP %s: %s" % (s, why))
    for s, why in res.failed:
        L.append("- **FAILED RUN** %s: %s" % (s, why))
    L.append("")
    return L


def _commands_section(ctx: "Context", argv: Sequence[str]) -> list[str]:
    """The command line and every command the run used."""
    L: list[str] = []
    L.append("## Commands")
    L.append("")
    L.append("`$WORK` is the temporary work directory, `PORT` the port kmsd picked (`--port 0`).")
    L.append("")
    L.append("```sh")
    L.append("cd %s" % ROOT)
    L.append(command_line(argv))
    L.append("```")
    L.append("")
    for label, cmd in ctx.commands.items:
        L.append("- %s:" % label)
        L.append("  ```sh")
        L.append("  " + re.sub(r"http://127\.0\.0\.1:\d+/", "http://127.0.0.1:PORT/", cmd))
        L.append("  ```")
    L.append("")
    return L


def _notes_section(ctx: "Context") -> list[str]:
    """Notes on the method, then the run's own notes."""
    res = ctx.results
    L: list[str] = []
    L.append("## Notes")
    L.append("")
    L.append("- The machine is shared and noisy (2 cores, other work running): figures move by "
             "10–30 % between runs. Each figure is the median of the repetitions above; ratios "
             "(kmsd/moto, 2 threads / 1 thread, N keys / 1 key) compare figures measured in the "
             "same run.")
    L.append("- Server CPU per request = (utime + stime of the server process from "
             "`/proc/PID/stat`, after minus before the run) / requests completed in the run; "
             "clock ticks of 1/%d s." % CLK_TCK)
    L.append("- With one server thread pinned to core 0 and wrk on core 1, req/s is bounded by "
             "the server's CPU per request (1 s / CPU per request) plus the loopback and "
             "scheduling costs, which are charged to the server's system time.")
    L.append("- *server CPU %* is the share of one core the server process used during the run "
             "(CPU seconds / wall seconds); with one pinned server thread, well below 100 % "
             "means other processes on core 0 took the rest, so req/s and latency measure the "
             "machine's load more than kmsd. *1e6 / CPU µs* is derived, not measured: the req/s "
             "one fully available core would give at the measured CPU cost (the 60,000 req/s "
             "floor corresponds to 16.7 µs). *wrk CPU %* shows whether the load generator was "
             "the limit (it is, near 100 %). *server waiting for a CPU %* is the time the "
             "server's threads were runnable but not running (`/proc/PID/task/*/schedstat`, "
             "second field), as a share of the run: large means CPU contention on the machine.")
    L.append("- *runs used*: a run in which the pinned one-thread server waited for a CPU more "
             "than %g %% of the time is *contended* (core 0 was busy with other work); up to "
             "as many extra runs are made to get %d uncontended ones, and the figures are the "
             "medians of the uncontended runs (of all runs, flagged, when none was "
             "uncontended). Unpinned and moto rows are never filtered." % (
                 CONTENDED_WAIT_PCT, ctx.reps))
    L.append("- Latency percentiles are wrk's (recorded per request, closed-loop: 16 requests "
             "in flight at all times).")
    L.append("- moto's development server answers with `Connection: close`, so wrk reconnects "
             "for every moto request; that is moto's normal behaviour, not a handicap added here.")
    for n in res.notes:
        L.append("- " + n)
    L.append("")
    return L
