"""Measurement: wrk runs, rows measured in rounds, CPU accounting, start-ups, probes.

A load row is a LoadJob (a server, an operation's bodies, a label) measured by
measure_rounds(); each wrk run records the server's CPU (/proc/PID/stat), its run-queue wait
(/proc/PID/task/*/schedstat) and wrk's own CPU (RUSAGE_CHILDREN) around it.
"""
from __future__ import annotations

import os
import resource
import shutil
import signal
import subprocess
import time
from typing import TYPE_CHECKING, Any, Callable

from kmsdbench import parse, procfs, stats
from kmsdbench.bodies import TARGET
from kmsdbench.client import BenchError
from kmsdbench.floors import CONTENDED_WAIT_PCT
from kmsdbench.fmt import fmt, fmt_us, log
from kmsdbench.paths import LUA
from kmsdbench.servers import Kmsd, Server

if TYPE_CHECKING:
    from kmsdbench.context import Context

Row = dict[str, Any]


def wrk_command(pin: list[str], port: int, duration: int, conns: int = 16,
                threads: int = 1) -> list[str]:
    """wrk with bench/wrk/kms.lua against 127.0.0.1:port (`pin`: a taskset prefix)."""
    return pin + ["wrk", "-t%d" % threads, "-c%d" % conns, "-d%ds" % duration, "--latency",
                  "-T", "10s", "-s", LUA, "http://127.0.0.1:%d/" % port]


def run_wrk(ctx: "Context", port: int, target: str, bodies_path: str, duration: int,
            conns: int = 16, threads: int = 1, cpu: int | None = 1, keys_out: str | None = None,
            label: str | None = None, stop_when: Callable[[], bool] | None = None,
            timeout_extra: int = 60) -> dict[str, Any]:
    """Run wrk once; return the KMSD_RESULT dict (plus rps). stop_when(): polled every
    0.1 s; when it returns True wrk gets SIGINT (it then stops and reports)."""
    env = {"KMSD_TARGET": target, "KMSD_BODIES": bodies_path}
    if keys_out:
        env["KMSD_KEYS_OUT"] = keys_out
    cmd = wrk_command(ctx.pin(cpu), port, duration, conns, threads)
    if label:
        ctx.commands.add(label, cmd, env)
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         env=dict(os.environ, **env), stdin=subprocess.DEVNULL)
    ctx.registry.add(p)
    deadline = time.monotonic() + duration + timeout_extra
    try:
        if stop_when is not None:
            while p.poll() is None and time.monotonic() < deadline:
                if stop_when():
                    p.send_signal(signal.SIGINT)
                    break
                time.sleep(0.1)
        out, err = p.communicate(timeout=max(1, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:
        p.kill()
        p.communicate()
        raise BenchError("wrk did not finish in time")
    finally:
        ctx.registry.discard(p)
    text = out.decode(errors="replace")
    result = parse.wrk_result(text)
    if result is None:
        raise BenchError("wrk failed (exit %s): %s %s" % (p.returncode, text[-500:],
                                                          err.decode(errors="replace")[-500:]))
    return result


class LoadJob:
    """One load row in the making: `op`'s bodies (a file) sent to `server`, reported as
    `label`; `runs` collects its wrk runs."""

    def __init__(self, server: Server, op: str, bodies_path: str, label: str):
        self.server, self.op, self.bodies_path, self.label = server, op, bodies_path, label
        self.runs: list[dict[str, Any]] = []


def measure_load(ctx: "Context", server: Server, op: str, bodies_path: str, label: str,
                 **kw: Any) -> Row:
    """One row: see measure_rounds."""
    return measure_rounds(ctx, [LoadJob(server, op, bodies_path, label)], **kw)[0]


def measure_rounds(ctx: "Context", jobs: list[LoadJob], wrk_cpu: int | None = 1,
                   reps: int | None = None, duration: int | None = None,
                   server_label: str = "", contention_check: bool = True) -> list[Row]:
    """Warm up every job, then wrk runs in rounds, one run of each job per round, until each
    has `reps` runs; per run: req/s, latency, server CPU per request. Returns a row per job.

    Rounds, not one job's runs back to back: this host has slow phases of a minute or so
    (other tenants; 13 -> 19 µs per request with nothing changed in kmsd). Back to back, one
    phase can cover every run of one row and move its median; in rounds it reaches one or two
    runs of each row, and the rows' medians are taken over the same stretch of time.

    contention_check (one pinned server thread only): a run in which the server's thread
    waited for a CPU more than CONTENDED_WAIT_PCT of the time measured the machine's other
    load, not kmsd. Up to `reps` extra runs are made to get `reps` uncontended ones; the
    figures are the medians of the uncontended runs (of all runs when there is none, and
    the row says so)."""
    reps = reps or ctx.reps
    duration = duration or ctx.duration
    max_runs = 2 * reps if contention_check and ctx.args.retry_contended else reps
    if ctx.warmup:
        for job in jobs:
            run_wrk(ctx, job.server.port, TARGET[job.op], job.bodies_path, ctx.warmup,
                    cpu=wrk_cpu)
    while not all(stats.enough_runs(job.runs, reps, max_runs) for job in jobs):
        for job in jobs:
            if not stats.enough_runs(job.runs, reps, max_runs):
                job.runs.append(one_run(ctx, job, duration, wrk_cpu, server_label,
                                        contention_check, named=len(jobs) > 1))
    return [load_row(job, contention_check) for job in jobs]


def one_run(ctx: "Context", job: LoadJob, duration: int, wrk_cpu: int | None,
            server_label: str, contention_check: bool, named: bool) -> dict[str, Any]:
    """One wrk run of `job`, with the server's CPU, run-queue wait and wrk's own CPU."""
    server = job.server
    c0 = server.cpu()
    w0 = procfs.runqueue_wait_seconds(server.pid)
    ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    r = run_wrk(ctx, server.port, TARGET[job.op], job.bodies_path, duration, cpu=wrk_cpu,
                label="load: %s%s" % (job.label, server_label))
    c1 = server.cpu()
    w1 = procfs.runqueue_wait_seconds(server.pid)
    ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    wait = w1 - w0 if w0 is not None and w1 is not None else None
    wrk_cpu_s = ru1.ru_utime - ru0.ru_utime + ru1.ru_stime - ru0.ru_stime
    stats.run_figures(r, c1 - c0, wait, wrk_cpu_s, contention_check, CONTENDED_WAIT_PCT)
    log(run_line(job.label + " " if named else "", len(job.runs) + 1, r))
    if not server.alive():
        raise BenchError("%s exited during the load (code %s)" % (server.name,
                                                                  server.proc.returncode))
    return r


def run_line(prefix: str, number: int, r: dict[str, Any]) -> str:
    """The progress line of one run."""
    bad = r["errors_status"] + r["socket_errors"]
    return ("    %srun %d: %s req/s  p50 %s  p99 %s  p99.9 %s  cpu %s µs/req  "
            "server %s%% (waiting for a CPU %s%%) wrk %s%% of a core%s" % (
                prefix, number, fmt(r["rps"]),
                fmt_us(r["p50_us"]), fmt_us(r["p99_us"]), fmt_us(r["p999_us"]),
                fmt(r["cpu_us"], 1), fmt(r["srv_util"]), fmt(r["srv_wait"]), fmt(r["wrk_util"]),
                ("  FAILED RUN: %d non-2xx, %d socket errors" % (r["errors_status"],
                                                                r["socket_errors"]) if bad else "")
                + ("  (contended: core 0 was busy with other work)" if r["contended"] else "")))


def load_row(job: LoadJob, contention_check: bool) -> Row:
    """A job's row: medians of its uncontended runs (of all, when every run was contended),
    and the server's memory after the runs."""
    row = dict(scenario=job.label)
    row.update(stats.aggregate_runs(job.runs, contention_check))
    row["rss"] = procfs.rss_mib(job.server.pid)
    row["hwm"] = procfs.hwm_mib(job.server.pid)
    return row


def fsync_latency_ms(directory: str, n: int = 40) -> float | None:
    """Median wall time of a 4 KiB pwrite + fdatasync in `directory` (the data dir's disk)."""
    os.makedirs(directory, exist_ok=True)
    path = os.path.join(directory, "fsync.probe")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        samples = []
        for i in range(n):
            start = time.perf_counter()
            os.pwrite(fd, b"\0" * 4096, (i % 64) * 4096)
            os.fdatasync(fd)
            samples.append((time.perf_counter() - start) * 1000.0)
    finally:
        os.close(fd)
        os.unlink(path)
    return stats.median(samples)


SPEED_ALGORITHM = {"p256": "ecdsap256", "rsa2048": "rsa2048"}


def openssl_cost_us(ctx: "Context", kind: str, what: str) -> float | None:
    """CPU cost of one signature / verification (`what`) with key type `kind` ("p256",
    "rsa2048"), from a 1-second `openssl speed` on core 0; None without openssl. Measured
    anew at each call: this machine's speed drifts by tens of percent within minutes, so a
    Sign/Verify row is held against openssl figures taken right around its own runs."""
    if not shutil.which("openssl"):
        return None
    cmd = ctx.pin(0) + ["openssl", "speed", "-mr", "-seconds", "1", SPEED_ALGORITHM[kind]]
    ctx.commands.add("openssl speed (Sign/Verify floor), before and after each Sign/Verify row",
                     cmd)
    out = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         timeout=120).stdout.decode(errors="replace")
    return parse.openssl_speed_us(out, what)


def startup_row(label: str, lines: list[float | None], firsts: list[float],
                rss: list[float | None]) -> Row:
    """A start-up row: medians of the starts' times and idle RSS, and the range."""
    return dict(scenario=label, n=len(firsts), line_ms=stats.median(lines),
                first_ms=stats.median(firsts), first_min=min(firsts), first_max=max(firsts),
                rss_idle=stats.median(rss))


def measure_startups(ctx: "Context", data_dir: str, n: int, label: str,
                     expect_keys: int | None = None) -> Row:
    """n starts of kmsd (1 thread, unpinned) on data_dir: spawn -> listening line and
    spawn -> first served request (GET /_kmsd/health on a fresh connection)."""
    lines, firsts, rss, hwm = [], [], [], []
    keys = None
    for _ in range(n):
        s = Kmsd(ctx, data_dir, threads=1, cpu=None, label="server (start-up)")
        lines.append(s.t_line_ms)
        firsts.append(s.t_first_ms)
        rss.append(s.rss_idle)
        hwm.append(s.hwm_idle)
        keys = s.health.get("keys")
        s.stop()
    row = startup_row(label, lines, firsts, rss)
    row.update(hwm_idle=max(hwm), keys=keys)
    log("    %s: to listening line %.2f ms, to first served request %.2f ms (median of %d; "
        "min %.2f, max %.2f), idle RSS %.1f MiB, keys %s" % (
            label, row["line_ms"], row["first_ms"], n, row["first_min"], row["first_max"],
            row["rss_idle"], keys))
    if expect_keys is not None and keys is not None and keys < expect_keys:
        ctx.results.notes.append("%s: the database held %d keys, fewer than the %d asked for"
                                 % (label, keys, expect_keys))
    return row


def measure_spawn_floor(n: int) -> Row:
    """What this harness pays to start any process: n spawns of /bin/true, exactly as Kmsd
    spawns the server, each timed until the process has exited (a server start cannot be
    quicker). An info row beside the start-up figures: on a host where process creation is
    slow, it is part of every start-up figure above."""
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        p = subprocess.Popen(["/bin/true"], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL)
        p.communicate()
        times.append((time.perf_counter() - t0) * 1000)
    row = startup_row("harness: spawn and exit of /bin/true (no server)", [None], times, [None])
    row.update(line_ms=None, rss_idle=None, keys=None, floor="(info)")
    log("    harness spawn floor: /bin/true spawned and exited in %.2f ms (median of %d)"
        % (row["first_ms"], n))
    return row
