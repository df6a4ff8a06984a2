"""The scenarios of the suite, one function each, and the floor checks of their rows.

Each scenario takes the run's Context, starts its own servers (and stops them), and appends
rows, checks, notes, skipped and failed entries to ctx.results. The order and names are in
SCENARIOS below and in bench/README.md.
"""
from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
import threading
import time
from typing import TYPE_CHECKING, Any

from kmsdbench import procfs, stats
from kmsdbench.bodies import CONTEXT, HOT_OPS, TARGET, bodies_for, create_key, encrypt, write_bodies
from kmsdbench.client import BenchError, Client, NotImplementedYet
from kmsdbench.floors import (CONTENDED_WAIT_PCT, FLOOR_KEYS, FLOORS, QUICK_RPS_FACTOR,
                              QUICK_STARTUP_FACTOR)
from kmsdbench.fmt import fmt, log
from kmsdbench.measure import (LoadJob, fsync_latency_ms, measure_load, measure_rounds,
                               measure_spawn_floor, measure_startups, openssl_cost_us, run_wrk,
                               startup_row)
from kmsdbench.paths import SUPPORT_DIR
from kmsdbench.servers import Kmsd, Moto, Reference

if SUPPORT_DIR not in sys.path:
    sys.path.insert(0, SUPPORT_DIR)
from rotation_schedule import backdate_rotation_schedule  # noqa: E402 (shared with tests/e2e)

if TYPE_CHECKING:
    from kmsdbench.context import Context

Row = dict[str, Any]

# Decrypt of the oldest blob of a key rotated ROTATIONS times, measured in the hot-path rounds
# beside `decrypt` and held to its same-run figure (floor rotated_decrypt_ratio).
ROTATED_OP = "decrypt-rotated"
ROTATIONS = 100
ROTATION_PERIOD_DAYS = 90
ROUND_OPS = HOT_OPS + [ROTATED_OP]  # measured together, in rounds
LOAD_OPS = ROUND_OPS + ["reencrypt", "describekey", "createkey",
                        "sign-p256", "verify-p256", "sign-rsa2048", "verify-rsa2048",
                        "generatemac"]
ALL_SCENARIOS = (["startup"] + LOAD_OPS + ["reference", "memory", "threads2", "keys", "moto",
                                           "big"])
QUICK_SCENARIOS = ["startup"] + ROUND_OPS

# With two cores, wrk needs one of them to drive the hot ops at full speed, so their 2-thread
# rows show what sharing the cores costs rather than scaling; Sign RSA_2048 keeps the server
# busy while wrk needs little (5-18 % of a core measured), so its row shows how kmsd scales.
THREADS2_OPS = ("gdkwp", "decrypt", "sign-rsa2048")

REFERENCE_MODES = [
    # (name, server arguments, operation whose bodies it is sent, row label)
    ("seal", [], "gdkwp", "reference: parse + 32 random bytes + AES-GCM seal"),
    ("fixed", ["--fixed-reply"], "gdkwp", "reference: fixed {} reply"),
    ("sign-p256", ["--sign", "p256"], "sign-p256", "reference: sign-p256"),
    ("verify-p256", ["--verify", "p256"], "verify-p256", "reference: verify-p256"),
    ("sign-rsa2048", ["--sign", "rsa2048"], "sign-rsa2048", "reference: sign-rsa2048"),
    ("verify-rsa2048", ["--verify", "rsa2048"], "verify-rsa2048", "reference: verify-rsa2048"),
]


# ---- shared by the load scenarios -------------------------------------------------------

def record_failed_runs(ctx: "Context", row: Row, server_name: str = "kmsd") -> None:
    """Notes a row whose runs were all contended; records a failure for any non-2xx response
    or socket error."""
    if row.get("contended_only"):
        ctx.results.notes.append(
            "%s: every run was contended (the server waited for core 0 more than %g %% of the "
            "time): its figures measure the machine's other load as much as kmsd" % (
                row["scenario"], CONTENDED_WAIT_PCT))
    if row["non2xx"] or row["socket_errors"]:
        ctx.results.failed.append((row["scenario"], "%s: %d non-2xx responses, %d socket errors"
                                   % (server_name, row["non2xx"], row["socket_errors"])))


def start_rotated_server(ctx: "Context", data_dir: str) -> tuple[Kmsd, str]:
    """kmsd on `data_dir` with a key rotated ROTATIONS times and the path of the bodies that
    decrypt the key's oldest blob. The blob is made first; then, with kmsd stopped, the key's
    rotation date is moved ROTATIONS periods back (tests/support/rotation_schedule.py: what a
    kmsd stopped that long sees), and kmsd makes the rotations on the key's next use, before
    the load (RotateKeyOnDemand stops at 25 per key)."""
    server = Kmsd(ctx, data_dir, threads=1, cpu=0, label="server (1 thread, pinned)")
    try:
        client = server.client
        key = create_key(client, "sym")
        client.ok("EnableKeyRotation", {"KeyId": key, "RotationPeriodInDays": ROTATION_PERIOD_DAYS})
        body = {"CiphertextBlob": encrypt(client, key, CONTEXT), "EncryptionContext": CONTEXT}
    finally:
        server.stop()
    backdate_rotation_schedule(data_dir, key, ROTATIONS, ROTATION_PERIOD_DAYS)
    server = Kmsd(ctx, data_dir, threads=1, cpu=0, label="server (1 thread, pinned)")
    try:
        listed = server.client.ok("ListKeyRotations", {"KeyId": key, "Limit": 1000})["Rotations"]
        if len(listed) != ROTATIONS:
            raise BenchError("%s: the key has %d rotations, not %d" % (
                ROTATED_OP, len(listed), ROTATIONS))
        return server, write_bodies(ctx, server.client, ROTATED_OP, [body], ROTATED_OP)
    except BaseException:
        server.stop()
        raise


def start_load_server(ctx: "Context", op: str) -> tuple[Kmsd | None, str | None]:
    """A fresh kmsd for `op` (durable data dir, 1 thread, pinned) and the path of the bodies
    written for it; (None, None), recorded as skipped, when kmsd does not implement `op`."""
    server = None
    try:
        if op == ROTATED_OP:
            return start_rotated_server(ctx, ctx.data_dir(op))
        server = Kmsd(ctx, ctx.data_dir(op), threads=1, cpu=0, label="server (1 thread, pinned)")
        client = server.client
        keys = [create_key(client, "sym")] if op not in ("createkey",) else []
        path = write_bodies(ctx, client, op, bodies_for(client, op, keys), op)
        return server, path
    except NotImplementedYet as e:
        if server is not None:
            server.stop()
        log("    %s: not implemented yet (%s): skipped" % (op, e))
        ctx.results.skipped.append((op, "not implemented yet: %s" % e))
        ctx.results.load.append(dict(scenario=op, skipped="not implemented yet"))
        return None, None
    except BaseException:
        if server is not None:
            server.stop()
        raise


def hot_floor_text(note: str = "") -> str:
    return "≥ %s req/s, ≤ %g µs, p99 < 1 ms%s" % (
        fmt(FLOORS["hot_rps"].value), FLOORS["hot_cpu_us"].value, note)


def check_hot_floors(ctx: "Context", row: Row, note: str = "") -> None:
    """Checks a hot-path row (1 key or many) against the hot-path floors; the checks are
    named by the row's scenario, and `note` is added to its floor column."""
    res, label = ctx.results, row["scenario"]
    row["floor"] = hot_floor_text(note)
    res.check("%s req/s" % label, row["rps"], FLOORS["hot_rps"])
    res.check("%s server CPU per request" % label, row["cpu_us"], FLOORS["hot_cpu_us"])
    res.check("%s p99 latency" % label, row["p99"], FLOORS["hot_p99_us"])


def check_quick_hot_floor(ctx: "Context", op: str, row: Row) -> None:
    """Quick mode: the req/s floor only, scaled by QUICK_RPS_FACTOR (half)."""
    full = FLOORS["hot_rps"]
    quick = full.scaled(QUICK_RPS_FACTOR)
    row["floor"] = "≥ %s req/s (quick: half of %s)" % (fmt(quick.value), fmt(full.value))
    ctx.results.check("%s req/s (quick, half floor)" % op, row["rps"], quick)


def check_rotated_floor(ctx: "Context", row: Row, quick: bool) -> None:
    """decrypt-rotated: its req/s over the same-run decrypt row's (measured in the same rounds)
    must be within noise of 1 (floor rotated_decrypt_ratio; quick mode: half of it)."""
    floor = FLOORS["rotated_decrypt_ratio"]
    if quick:
        floor = floor.scaled(QUICK_RPS_FACTOR)
    row["floor"] = "≥ %.2f× decrypt req/s%s" % (floor.value, " (quick: half)" if quick else "")
    base = ctx.results.find_load("decrypt")
    if not base or not base.get("rps"):
        ctx.results.notes.append("%s: no decrypt row in this run, so its ratio to plain Decrypt "
                                 "was not checked (run it with decrypt)" % ROTATED_OP)
        return
    ratio = stats.ratio(row.get("rps") or None, base["rps"])
    row["vs_decrypt"] = ratio
    log("    %s / decrypt req/s: %s" % (ROTATED_OP, "%.3f" % ratio if ratio else "—"))
    ctx.results.check("%s req/s over decrypt's%s" % (ROTATED_OP, " (quick, half floor)"
                                                     if quick else ""), ratio, floor)


def createkey_note(row: Row) -> str:
    """Durable CreateKey waits for an fsync; with group commit, 16 connections give at most
    16 keys per fsync. The disk's fsync, measured in the same run, sets that ceiling."""
    sync_before, sync_after = row["fsync_ms"]
    return ("createkey: this disk's median 4 KiB write+fdatasync was %.2f ms right before the "
            "runs and %.2f ms right after (it varies with the host's load); at a latency L, "
            "16 connections are capped near 16 / L keys/s (16 keys per fsync): %s and %s keys/s. "
            "kmsd reached %s." % (
                sync_before, sync_after, fmt(16 / (sync_before / 1000.0)),
                fmt(16 / (sync_after / 1000.0)), fmt(row["rps"])))


def finish_load_row(ctx: "Context", op: str, row: Row, quick: bool) -> None:
    """Records a load row of `op` and checks it against its floor."""
    row["target"] = TARGET[op]
    record_failed_runs(ctx, row)
    ctx.results.load.append(row)
    res = ctx.results
    if op in HOT_OPS:
        if quick:
            check_quick_hot_floor(ctx, op, row)
        else:
            check_hot_floors(ctx, row)
    elif op == ROTATED_OP:
        check_rotated_floor(ctx, row, quick)
    elif op == "createkey":
        row["floor"] = "≥ %s keys/s" % fmt(FLOORS["createkey_rps"].value)
        res.notes.append(createkey_note(row))
        if not quick:
            res.check("createkey keys/s (durable)", row["rps"], FLOORS["createkey_rps"])
    elif row.get("openssl_us"):
        cost = sum(row["openssl_us"]) / 2  # before and after the runs, on the same core
        extra = FLOORS["sign_extra_us"]
        limit = cost + extra.value
        row["floor"] = "≤ %.1f µs CPU (openssl %.1f + %g)" % (limit, cost, extra.value)
        res.check("%s server CPU per request" % op, row["cpu_us"], extra, limit=limit)


# ---- load scenarios ---------------------------------------------------------------------

def scenario_hot_path(ctx: "Context", ops: list[str], quick: bool = False) -> None:
    """The hot-path operations, each against its own fresh kmsd, measured in rounds (see
    measure_rounds): their rows share the floors and are compared with each other."""
    log("== %s (in rounds: one run of each per round)" % ", ".join(
        "%s (%s)" % (op, TARGET[op]) for op in ops))
    jobs = []
    try:
        for op in ops:
            server, path = start_load_server(ctx, op)
            if server is not None:
                jobs.append(LoadJob(server, op, path, op))
        rows = measure_rounds(ctx, jobs)
    finally:
        for job in jobs:
            job.server.stop()
    for job, row in zip(jobs, rows):
        finish_load_row(ctx, job.op, row, quick)


def scenario_load(ctx: "Context", op: str, quick: bool = False) -> None:
    """One operation against a fresh kmsd (durable data dir, 1 thread, pinned)."""
    log("== %s (%s)" % (op, TARGET[op]))
    server, path = start_load_server(ctx, op)
    if server is None:
        return
    try:
        sync_before = fsync_latency_ms(ctx.data_dir("fsync-probe")) if op == "createkey" else None
        signing = op.startswith(("sign-", "verify-"))
        if signing:
            what, kind = op.split("-", 1)  # "sign-p256": sign, p256
            speed_before = openssl_cost_us(ctx, kind, what)
        row = measure_load(ctx, server, op, path, op)
        if op == "createkey":
            row["fsync_ms"] = (sync_before, fsync_latency_ms(ctx.data_dir("fsync-probe")))
        if signing:
            speed_after = openssl_cost_us(ctx, kind, what)
            if speed_before is not None and speed_after is not None:
                row["openssl_us"] = (speed_before, speed_after)
                ctx.results.extra.setdefault("openssl", {})[op] = row["openssl_us"]
    finally:
        server.stop()
    finish_load_row(ctx, op, row, quick)


# ---- start-up ---------------------------------------------------------------------------

def scenario_startup(ctx: "Context", quick: bool = False) -> None:
    log("== startup (empty data dir)")
    n = ctx.args.starts
    res = ctx.results
    # Every start gets a fresh, empty data dir: kmsd creates it and the database.
    lines, firsts, rss = [], [], []
    for _ in range(n):
        d = os.path.join(ctx.work, "data-startup-%d" % next(ctx.counter))
        s = Kmsd(ctx, d, threads=1, cpu=None, label="server (start-up)")
        lines.append(s.t_line_ms)
        firsts.append(s.t_first_ms)
        rss.append(s.rss_idle)
        s.stop()
    row = startup_row("startup, empty data dir (new database)", lines, firsts, rss)
    row["keys"] = 0
    log("    new database: to listening line %.2f ms, to first served request %.2f ms (median "
        "of %d; min %.2f, max %.2f); idle RSS %.1f MiB" % (
            row["line_ms"], row["first_ms"], n, row["first_min"], row["first_max"],
            row["rss_idle"]))
    ceiling = FLOORS["startup_empty_ms"]
    if quick:
        twice = ceiling.scaled(QUICK_STARTUP_FACTOR)
        row["floor"] = "≤ %g ms (quick: twice %g)" % (twice.value, ceiling.value)
        res.check("startup to first served request, empty data dir (quick, twice the ceiling)",
                  row["first_ms"], twice)
    else:
        row["floor"] = "≤ %g ms" % ceiling.value
        res.check("startup to first served request, empty data dir", row["first_ms"], ceiling)
        idle = FLOORS["rss_idle_mib"]
        res.memory.append(dict(scenario="idle, empty data dir (right after start)",
                               rss=row["rss_idle"], floor="≤ %g MiB" % idle.value))
        res.check("idle RSS, empty data dir", row["rss_idle"], idle)
    res.startup.append(row)
    # For comparison: restarts on a database that exists and holds no key (kmsd already
    # created it once), so the database creation is not in the figure.
    d = ctx.data_dir("startup-existing")
    Kmsd(ctx, d, threads=1, cpu=None).stop()
    row2 = measure_startups(ctx, d, n, "startup, existing empty database")
    row2["floor"] = "(info)"
    res.startup.append(row2)
    res.startup.append(measure_spawn_floor(n))


# ---- memory -----------------------------------------------------------------------------

class RssSampler:
    """Samples a server's VmRSS every second on a thread, until stop()."""

    def __init__(self, server: Kmsd):
        self.server = server
        self.samples: list[tuple[float, float]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        t0 = time.monotonic()
        while not self._stop.is_set():
            v = procfs.rss_mib(self.server.pid) if self.server.alive() else None
            if v is not None:
                self.samples.append((time.monotonic() - t0, v))
            self._stop.wait(1.0)

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)


def scenario_memory(ctx: "Context") -> None:
    """~1,000,000 hot-path requests against one server; RSS sampled every second."""
    log("== memory (1,000,000 requests, RSS sampled every second)")
    target_requests = ctx.args.memory_requests
    server = Kmsd(ctx, ctx.data_dir("memory"), threads=1, cpu=0,
                  label="server (1 thread, pinned)")
    sampler = RssSampler(server)
    try:
        client = server.client
        key = create_key(client, "sym")
        paths = {op: write_bodies(ctx, client, op, bodies_for(client, op, [key]), "memory-" + op)
                 for op in HOT_OPS}
        idle = procfs.rss_mib(server.pid)
        sampler.start()
        total, chunks, after_first = 0, 0, None
        t_end = time.monotonic() + ctx.args.memory_max_seconds
        non2xx = sock = 0
        while total < target_requests and time.monotonic() < t_end:
            op = HOT_OPS[chunks % len(HOT_OPS)]
            r = run_wrk(ctx, server.port, TARGET[op], paths[op], 5, cpu=1,
                        label="load: memory (5 s chunks of %s)" % op)
            total += r["requests"]
            non2xx += r["errors_status"]
            sock += r["socket_errors"]
            chunks += 1
            if after_first is None:
                after_first = procfs.rss_mib(server.pid)
            if not server.alive():
                raise BenchError("kmsd exited during the memory scenario")
        end = procfs.rss_mib(server.pid)
        peak = procfs.hwm_mib(server.pid)
        sampler.stop()
    finally:
        sampler.stop()
        server.stop()
    samples = sampler.samples
    limit, growth = FLOORS["rss_1m_req_mib"], FLOORS["rss_growth_mib"]
    row = dict(scenario="after %s requests (4 hot ops, 16 conns)" % fmt(total), rss=end,
               idle=idle, after_first=after_first, peak=peak, requests=total,
               samples=len(samples), max_sample=max(v for _, v in samples) if samples else None,
               floor="≤ %g MiB, growth ≤ %g MiB" % (limit.value, growth.value))
    log("    %s requests in %d chunks: RSS idle %.1f, after first chunk %.1f, end %.1f, "
        "peak (VmHWM) %.1f MiB" % (fmt(total), chunks, idle, after_first, end, peak))
    res = ctx.results
    res.memory.append(row)
    if non2xx or sock:
        res.failed.append(("memory", "%d non-2xx responses, %d socket errors" % (non2xx, sock)))
    if total < target_requests:
        res.notes.append("memory: only %s of %s requests within %d s" % (
            fmt(total), fmt(target_requests), ctx.args.memory_max_seconds))
    res.check("RSS after %s requests" % fmt(total), end, limit)
    res.check("peak RSS (VmHWM) during %s requests" % fmt(total), peak, limit)
    res.check("RSS growth from first chunk to end", end - after_first, growth)


# ---- two threads ------------------------------------------------------------------------

def scenario_threads2(ctx: "Context") -> None:
    log("== threads2 (2 server threads, server and wrk unpinned)")
    for op in THREADS2_OPS:
        server = Kmsd(ctx, ctx.data_dir("threads2-" + op), threads=2, cpu=None,
                      label="server (2 threads, unpinned)")
        try:
            client = server.client
            try:
                key = create_key(client, "sym")
                bodies = bodies_for(client, op, [key])
            except NotImplementedYet as e:
                log("    %s: not implemented yet (%s): skipped" % (op, e))
                continue
            path = write_bodies(ctx, client, op, bodies, "threads2-" + op)
            row = measure_load(ctx, server, op, path, op + ", 2 threads", wrk_cpu=None,
                               server_label=" (unpinned)", contention_check=False)
        finally:
            server.stop()
        record_failed_runs(ctx, row)
        base = ctx.results.find_load(op)
        if base and base.get("rps"):
            row["vs1"] = row["rps"] / base["rps"]
        row["floor"] = "(scaling; × 1-thread pinned: %s)" % (
            fmt(row.get("vs1"), 2) if row.get("vs1") else "—")
        ctx.results.load.append(row)


# ---- large databases --------------------------------------------------------------------

def populate_with_tool(ctx: "Context", data_dir: str, have: int, n: int, keys_file: str,
                       label: str) -> tuple[int, float | None]:
    """Adds n - have keys with bench's kmsd_populate (kmsd's own storage library, large
    transactions, real random key material). kmsd must not be running on data_dir."""
    cmd = [ctx.args.populate_tool, "--data-dir", data_dir, "--add", str(n - have),
           "--key-ids", keys_file]
    ctx.commands.add("populate: " + label, cmd)
    log("    populating %s keys with %s ..." % (fmt(n - have), os.path.basename(cmd[0])))
    t0 = time.monotonic()
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=ctx.args.populate_timeout)
    elapsed = time.monotonic() - t0
    if r.returncode != 0:
        raise BenchError("kmsd_populate failed (%d): %s" % (
            r.returncode, r.stderr.decode(errors="replace")[-600:]))
    rate = (n - have) / elapsed if elapsed > 0 else None
    log("    %s keys added in %.1f s (%s keys/s, kmsd_populate)" % (fmt(n - have), elapsed,
                                                                    fmt(rate)))
    return n, rate


class PopulationWatch:
    """stop_when() for the wrk run that populates through CreateKey: polls /_kmsd/health
    every 0.2 s, logs the rate every 10 s, and says when `target` keys are there."""

    def __init__(self, client: Client, have: int, target: int):
        now = time.monotonic()
        self.client, self.target = client, target
        self.t0 = now
        self.last, self.keys, self.mark = now, have, (now, have)
        self.progress: list[tuple[float, int, float]] = []  # (s since start, keys, keys/s)

    def __call__(self) -> bool:
        now = time.monotonic()
        if now - self.last >= 0.2:
            self.last = now
            self.keys = self.client.health().get("keys", 0)
            t_mark, k_mark = self.mark
            if now - t_mark >= 10:
                rate_now = (self.keys - k_mark) / (now - t_mark)
                self.progress.append((now - self.t0, self.keys, rate_now))
                log("      %5.0f s: %s keys, %s keys/s over the last %.0f s" % (
                    now - self.t0, fmt(self.keys), fmt(rate_now), now - t_mark))
                self.mark = (now, self.keys)
        return self.keys >= self.target


def populate_with_api(ctx: "Context", server: Kmsd, have: int, n: int, keys_file: str,
                      label: str) -> tuple[int, float | None]:
    """CreateKey from 16 connections (wrk) until /_kmsd/health reports n keys."""
    log("    populating %s keys through CreateKey (16 connections; bounded by %d s) ..."
        % (fmt(n - have), ctx.args.populate_timeout))
    body = os.path.join(ctx.work, "createkey.bodies")
    with open(body, "w") as f:
        f.write("{}\n")
    hc = Client(server.port)
    watch = PopulationWatch(hc, have, n)
    r = run_wrk(ctx, server.port, "CreateKey", body, ctx.args.populate_timeout, cpu=None,
                keys_out=keys_file, stop_when=watch, label="populate: " + label)
    elapsed = time.monotonic() - watch.t0
    got = hc.health().get("keys", 0)
    hc.close()
    rate = (got - have) / elapsed if elapsed > 0 else None
    log("    %s keys in %.1f s (%s keys/s, 2 threads unpinned); %d non-2xx" % (
        fmt(got), elapsed, fmt(rate), r["errors_status"]))
    progress = watch.progress
    if len(progress) >= 2:
        ctx.results.notes.append(
            "%s: population rate (CreateKey, 16 connections, 2 threads) went from %s keys/s "
            "in the first 10 s to %s keys/s in the last 10 s (at %s keys)" % (
                label, fmt(progress[0][2]), fmt(progress[-1][2]), fmt(progress[-1][1])))
    if got < n:
        ctx.results.notes.append(
            "%s: population reached only %s of %s keys within %d s (%s keys/s)" % (
                label, fmt(got), fmt(n), ctx.args.populate_timeout, fmt(rate)))
    return got, rate


def populate(ctx: "Context", data_dir: str, n: int, keys_file: str,
             label: str) -> tuple[int, float | None]:
    """Fill data_dir to n keys: with kmsd_populate (--populate-tool, the default when it is
    built), else through kmsd: CreateKey from 16 connections (wrk), kmsd with 2 threads
    unpinned; wrk is stopped once /_kmsd/health reports n keys. Bounded by
    --populate-timeout. Key ids are appended to keys_file. Returns (keys, keys/s or None)."""
    server = Kmsd(ctx, data_dir, threads=2, cpu=None, label="server (population, 2 threads)")
    try:
        have = server.health.get("keys", 0)
        if have >= n:
            log("    %s already holds %s keys" % (data_dir, fmt(have)))
            return have, None
        if ctx.args.populate_tool:
            server.stop()
            return populate_with_tool(ctx, data_dir, have, n, keys_file, label)
        return populate_with_api(ctx, server, have, n, keys_file, label)
    finally:
        server.stop()


def scenario_keys(ctx: "Context", n: int, name: str, keys_dir: str | None = None) -> None:
    """Large database: populate n keys, then start-up, idle RSS, and the hot path over
    1,024 randomly chosen keys."""
    log("== %s (%s keys)" % (name, fmt(n)))
    res = ctx.results
    if keys_dir:
        data_dir = keys_dir
        os.makedirs(data_dir, exist_ok=True)
    else:
        data_dir = ctx.data_dir(name)
    keys_file = os.path.join(data_dir, "bench-keyids.txt")
    got, rate = populate(ctx, data_dir, n, keys_file, name)
    if rate is not None:
        how = "kmsd_populate" if ctx.args.populate_tool else "createkey, 2 threads"
        res.load.append(dict(scenario="populating %s (%s)" % (name, how), rps=rate,
                             floor="(info)"))
    at_floor = n >= FLOOR_KEYS and name == "keys"
    startup_keys_row(ctx, data_dir, got, n, at_floor)
    with open(keys_file) as f:
        ids = [line.strip() for line in f if line.strip()]
    rng = random.Random(42)
    sample = rng.sample(ids, min(1024, len(ids))) if ids else []
    if not sample:
        res.notes.append("%s: no key ids recorded; hot path with keys skipped" % name)
        return
    hot_path_with_keys(ctx, data_dir, name, got, sample, at_floor)


def startup_keys_row(ctx: "Context", data_dir: str, got: int, n: int, at_floor: bool) -> None:
    """Start-up and idle memory with the keys."""
    res = ctx.results
    ceiling, rss_floor = FLOORS["startup_keys_ms"], FLOORS["rss_keys_mib"]
    row = measure_startups(ctx, data_dir, ctx.args.starts, "startup, %s keys" % fmt(got),
                           expect_keys=n)
    row["floor"] = ("≤ %g ms" % ceiling.value) if at_floor else "(floor is for %s keys)" % fmt(
        FLOOR_KEYS)
    res.startup.append(row)
    res.memory.append(dict(scenario="idle with %s keys (right after start)" % fmt(got),
                           rss=row["rss_idle"], peak=row["hwm_idle"],
                           floor=("≤ %g MiB" % rss_floor.value) if at_floor else "—"))
    if at_floor:
        res.check("startup to first served request, %s keys" % fmt(got), row["first_ms"],
                  ceiling)
        res.check("idle RSS with %s keys" % fmt(got), row["rss_idle"], rss_floor)


def hot_path_with_keys(ctx: "Context", data_dir: str, name: str, got: int, sample: list[str],
                       at_floor: bool) -> None:
    """The four hot ops spread round-robin over `sample` keys of a large database."""
    res = ctx.results
    rss_floor = FLOORS["rss_keys_mib"]
    server = Kmsd(ctx, data_dir, threads=1, cpu=0, label="server (1 thread, pinned)")
    try:
        log("  -- %s, %s keys (1,024 random keys, round-robin; in rounds)" % (
            ", ".join(HOT_OPS), fmt(got)))
        jobs = []
        for op in HOT_OPS:
            bodies = bodies_for(server.client, op, sample)
            path = write_bodies(ctx, server.client, op, bodies, "%s-%s" % (name, op))
            jobs.append(LoadJob(server, op, path, "%s, %s keys" % (op, fmt(got))))
        for job, row in zip(jobs, measure_rounds(ctx, jobs)):
            record_failed_runs(ctx, row)
            base = res.find_load(job.op)
            if base and base.get("rps"):
                row["vs_empty"] = row["rps"] / base["rps"]
            res.load.append(row)
            check_hot_floors(ctx, row, "; × 1-key figure: %.2f" % row["vs_empty"]
                             if row.get("vs_empty") else "")
        after, peak = procfs.rss_mib(server.pid), procfs.hwm_mib(server.pid)
        res.memory.append(dict(scenario="after hot-path load with %s keys" % fmt(got),
                               rss=after, peak=peak,
                               floor=("≤ %g MiB" % rss_floor.value) if at_floor else "—"))
        if at_floor:
            res.check("peak RSS (VmHWM, start-up included) with %s keys" % fmt(got), peak,
                      rss_floor)
    finally:
        server.stop()


# ---- the same-run reference -------------------------------------------------------------

def scenario_reference(ctx: "Context") -> None:
    """The same-run baseline: the storage-free Beast server (bench/reference_server.cpp),
    pinned like kmsd, sent the very bodies kmsd's rows were: sealing (gdkwp) and with a
    fixed `{}` reply, and signing/verifying for each Sign/Verify row of this run. kmsd's rows
    then show their CPU per request as a multiple of it (this machine's speed varies from
    hour to hour)."""
    log("== reference: storage-free Beast server (%s)" % ctx.args.reference_tool)
    res = ctx.results
    if not ctx.args.reference_tool:
        log("    kmsd_bench_reference not found: skipped")
        res.skipped.append(("reference", "kmsd_bench_reference not built"))
        return
    for name, mode, op, label in REFERENCE_MODES:
        path = os.path.join(ctx.work, op + ".bodies")  # written by scenario_load
        if name in ("seal", "fixed") and not os.path.exists(path):
            body = bodies_for(None, "gdkwp", ["1234abcd-12ab-34cd-56ef-1234567890ab"])
            path = write_bodies(ctx, None, "gdkwp", body, "reference-gdkwp")
        if not os.path.exists(path):
            continue  # that kmsd row did not run
        log("  -- %s" % label)
        server = Reference(ctx, mode=mode, label="reference server (pinned)")
        try:
            with open(path) as f:
                server.client.ok(TARGET[op], json.loads(f.readline()))
            row = measure_load(ctx, server, op, path, label, server_label=" (reference)")
        finally:
            server.stop()
        record_failed_runs(ctx, row, "reference")
        row["floor"] = "(same-run baseline)"
        row["target"] = TARGET[op]
        res.load.append(row)
        res.extra["reference_" + name] = row


def reference_ratio(ctx: "Context", row: Row) -> float | None:
    """A kmsd row's CPU per request over the same-run reference's for the same work: the
    matching sign/verify reference for Sign/Verify rows, the sealing one for the others."""
    scenario = row.get("scenario", "")
    if scenario.startswith("reference") or scenario.startswith("moto"):
        return None
    extra = ctx.results.extra
    ref = extra.get("reference_" + scenario) if scenario.startswith(("sign-", "verify-")) \
        else extra.get("reference_seal")
    if not ref:
        return None
    return stats.ratio(row.get("cpu_us") or None, ref.get("cpu_us"))


# ---- moto -------------------------------------------------------------------------------

def moto_available(python: str | None) -> bool:
    if not python or not shutil.which(python) and not os.path.exists(python):
        return False
    try:
        return subprocess.run([python, "-c", "import moto.server"], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, timeout=60).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def moto_startups(ctx: "Context", version: str) -> Row:
    """moto's start-up row (and its idle-memory row)."""
    res = ctx.results
    starts = []
    for _ in range(ctx.args.moto_starts):
        m = Moto(ctx, cpu=0, label="moto server (pinned)")
        starts.append((m.t_first_ms, m.rss_idle))
        m.stop()
    srow = startup_row("moto %s startup" % version, [None], [s[0] for s in starts],
                       [s[1] for s in starts])
    srow.update(line_ms=None, keys=0, floor="(baseline)")
    log("    start-up to first served request %.0f ms (median of %d), idle RSS %.1f MiB" % (
        srow["first_ms"], len(starts), srow["rss_idle"]))
    res.startup.append(srow)
    res.memory.append(dict(scenario="moto idle (right after start)", rss=srow["rss_idle"],
                           floor="(baseline)"))
    return srow


def scenario_moto(ctx: "Context", ops: list[str]) -> None:
    log("== moto baseline (%s -m moto.server, pinned to core 0)" % ctx.moto_python)
    res = ctx.results
    if not moto_available(ctx.moto_python):
        log("    moto is not installed for %s: baseline skipped" % ctx.moto_python)
        res.skipped.append(("moto", "moto not importable by %s" % ctx.moto_python))
        return
    version = subprocess.run([ctx.moto_python, "-c", "import moto; print(moto.__version__)"],
                             stdout=subprocess.PIPE, timeout=60).stdout.decode().strip()
    res.extra["moto_version"] = version
    srow = moto_startups(ctx, version)
    for op in ops:
        log("  -- moto %s" % op)
        m = Moto(ctx, cpu=0)
        try:
            key = create_key(m.client, "sym")
            path = write_bodies(ctx, m.client, op, bodies_for(m.client, op, [key]), "moto-" + op)
            row = measure_load(ctx, m, op, path, "moto " + op, server_label=" (moto)",
                               contention_check=False)
        finally:
            m.stop()
        record_failed_runs(ctx, row, "moto")
        row["floor"] = "(baseline)"
        res.load.append(row)
        k = res.find_load(op)
        if k and k.get("rps") and row["rps"]:
            ratio = k["rps"] / row["rps"]
            k["moto_rps"] = row["rps"]
            k["moto_ratio"] = ratio
            log("    kmsd/moto %s: %.1f×" % (op, ratio))
            res.check("%s kmsd/moto req/s ratio" % op, ratio, FLOORS["moto_ratio"])
        srow_k = [s for s in res.startup
                  if s["scenario"] == "startup, empty data dir (new database)"]
        if srow_k and op == ops[0]:
            res.extra["startup_ratio"] = srow["first_ms"] / srow_k[0]["first_ms"]


# ---- dispatch ---------------------------------------------------------------------------

def run_scenario(ctx: "Context", name: str) -> None:
    """Runs one selected scenario. The hot-path operations (and decrypt-rotated) run together,
    in rounds, at the first of them that is selected."""
    args = ctx.args
    hot = [s for s in args.selected if s in ROUND_OPS]
    if name == "startup":
        scenario_startup(ctx, quick=args.quick)
    elif name in ROUND_OPS:
        if name == hot[0]:
            scenario_hot_path(ctx, hot, quick=args.quick)
    elif name in LOAD_OPS:
        scenario_load(ctx, name, quick=args.quick)
    elif name == "reference":
        scenario_reference(ctx)
    elif name == "memory":
        scenario_memory(ctx)
    elif name == "threads2":
        scenario_threads2(ctx)
    elif name == "keys":
        scenario_keys(ctx, args.keys, "keys", args.keys_dir)
    elif name == "big":
        scenario_keys(ctx, args.big_keys, "big", args.big_dir)
    elif name == "moto":
        scenario_moto(ctx, [o for o in HOT_OPS if o in args.selected] or ["gdkwp"])
