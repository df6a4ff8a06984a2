"""bench/run's command line: the options, the tools it finds or builds, and main().

    bench/run                  full suite (each load scenario 5 s x 3 repetitions, median)
    bench/run --quick          CI regression guard: hot-path ops (and Decrypt of a key with 100
                               rotations) + start-up, a few seconds
                               each; exits 1 when a figure is worse than half its floor
    bench/run --write-results  full suite, then rewrite bench/RESULTS.md
    bench/run --big            also the opt-in 1,000,000-key scenario

Exit codes: 0 done (quick/--strict: every check passed), 1 a failed run or (quick/--strict)
a missed floor, 2 wrk missing, 130 interrupted.
"""
from __future__ import annotations

import argparse
import datetime
import os
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from typing import Sequence

from kmsdbench import procfs
from kmsdbench.client import BenchError
from kmsdbench.context import Context
from kmsdbench.floors import FLOOR_KEYS
from kmsdbench.fmt import log
from kmsdbench.paths import DEFAULT_KMSD, ROOT
from kmsdbench.report import print_report, write_results
from kmsdbench.scenarios import ALL_SCENARIOS, QUICK_SCENARIOS, run_scenario


BUILD_COMMAND = ["cmake", "-S", ".", "-B", "build/release", "-DCMAKE_BUILD_TYPE=Release",
                 "-DKMSD_BUILD_TESTS=OFF", "-DKMSD_STATIC=ON"]


def ensure_kmsd(path: str, default: str) -> tuple[str, bool]:
    """`path`, built first when it is the default build and missing; (path, built)."""
    if os.path.exists(path):
        return path, False
    if path != default:
        sys.exit("bench: %s does not exist" % path)
    build = os.path.join(ROOT, "build", "release")
    cmds = [["cmake", "-S", ROOT, "-B", build, "-DCMAKE_BUILD_TYPE=Release",
             "-DKMSD_BUILD_TESTS=OFF", "-DKMSD_STATIC=ON"],
            ["cmake", "--build", build, "-j%d" % (os.cpu_count() or 2), "--target", "kmsd"]]
    for c in cmds:
        log("bench: building kmsd: " + " ".join(shlex.quote(x) for x in c))
        if subprocess.run(c).returncode != 0:
            sys.exit("bench: building kmsd failed")
    return path, True


def find_bench_tool(args: argparse.Namespace, name: str, needed: bool) -> str | None:
    """<build of --kmsd>/bench/<name>, built first (default build only) when `needed`;
    None when there is none."""
    # The build tree of --kmsd: <build>/server/kmsd -> <build>/bench/<name>.
    guess = os.path.join(os.path.dirname(os.path.dirname(args.kmsd)), "bench", name)
    if os.path.exists(guess):
        return guess
    if args.kmsd == DEFAULT_KMSD and needed:
        build = os.path.join(ROOT, "build", "release")
        c = ["cmake", "--build", build, "-j%d" % (os.cpu_count() or 2), "--target", name]
        log("bench: building %s: %s" % (name, " ".join(shlex.quote(x) for x in c)))
        if subprocess.run(c).returncode == 0 and os.path.exists(guess):
            return guess
    return None


def find_populate_tool(args: argparse.Namespace) -> str | None:
    """The kmsd_populate to fill large databases with, or None (then CreateKey is used)."""
    if args.populate_api:
        return None
    if args.populate_tool:
        if not os.path.exists(args.populate_tool):
            sys.exit("bench: %s does not exist" % args.populate_tool)
        return os.path.abspath(args.populate_tool)
    tool = find_bench_tool(args, "kmsd_populate",
                           any(s in args.selected for s in ("keys", "big")))
    if tool is None:
        log("bench: kmsd_populate not found; large databases are populated through CreateKey")
    return tool


def find_reference_tool(args: argparse.Namespace) -> str | None:
    """The reference server binary (bench/reference_server.cpp), or None."""
    if args.reference:
        if not os.path.exists(args.reference):
            sys.exit("bench: %s does not exist" % args.reference)
        return os.path.abspath(args.reference)
    return find_bench_tool(args, "kmsd_bench_reference", "reference" in args.selected)


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    """bench/run's options (unchanged from the single-file script), with the defaults that
    depend on --quick filled in and the scenario list resolved into `selected`."""
    p = argparse.ArgumentParser(
        prog="bench/run", description="kmsd benchmark suite (see bench/README.md)",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="scenarios: " + ", ".join(ALL_SCENARIOS))
    p.add_argument("--quick", action="store_true",
                   help="CI regression guard: %s; exit 1 below half a floor" %
                   ",".join(QUICK_SCENARIOS))
    p.add_argument("--write-results", action="store_true", help="rewrite bench/RESULTS.md")
    p.add_argument("--scenarios", help="comma-separated list (default: all but big)")
    p.add_argument("--big", action="store_true",
                   help="add the opt-in 1,000,000-key scenario (populates through kmsd)")
    p.add_argument("--kmsd", default=DEFAULT_KMSD,
                   help="server binary (default build/release/server/kmsd, built if missing)")
    p.add_argument("--no-moto", action="store_true", help="skip the moto baseline")
    p.add_argument("--moto-python", default="python3",
                   help="python with moto installed (default: python3 on PATH)")
    p.add_argument("--keys", type=int, default=FLOOR_KEYS,
                   help="keys for the large-database scenario 'keys' (default 100000)")
    p.add_argument("--big-keys", type=int, default=1000000, help="keys for 'big'")
    p.add_argument("--keys-dir", help="persistent data dir for 'keys' (reused, topped up)")
    p.add_argument("--big-dir", help="persistent data dir for 'big' (reused, topped up)")
    p.add_argument("--populate-tool",
                   help="kmsd_populate binary for 'keys'/'big' (default: bench/kmsd_populate "
                        "of the --kmsd build tree when it exists)")
    p.add_argument("--reference",
                   help="reference server binary for 'reference' (default: "
                        "bench/kmsd_bench_reference of the --kmsd build tree)")
    p.add_argument("--populate-api", action="store_true",
                   help="populate through kmsd's CreateKey even when kmsd_populate exists")
    p.add_argument("--populate-timeout", type=int, default=1800,
                   help="bound on populating a large database, seconds (default 1800)")
    p.add_argument("--duration", type=int, help="seconds per load run (5; quick 2)")
    p.add_argument("--reps", type=int, help="runs per load figure (3; quick 3)")
    p.add_argument("--warmup", type=int, help="warm-up seconds before the runs (1)")
    p.add_argument("--starts", type=int, help="starts per start-up figure (10; quick 5)")
    p.add_argument("--moto-starts", type=int, default=3, help="moto starts (3)")
    p.add_argument("--memory-requests", type=int, default=1000000)
    p.add_argument("--memory-max-seconds", type=int, default=180)
    p.add_argument("--no-pin", action="store_true", help="do not use taskset")
    p.add_argument("--no-retry-contended", dest="retry_contended", action="store_false",
                   help="do not re-run load runs in which core 0 was busy with other work")
    p.add_argument("--strict", action="store_true",
                   help="full mode: exit 1 when any floor is missed, too")
    p.add_argument("--work", help="work directory (default: a new temporary one, removed)")
    p.add_argument("--keep", action="store_true", help="keep the work directory")
    a = p.parse_args(argv)
    a.duration = a.duration or (2 if a.quick else 5)
    a.reps = a.reps or 3
    a.warmup = 1 if a.warmup is None else a.warmup
    a.starts = a.starts or (5 if a.quick else 10)
    if a.scenarios:
        a.selected = [s.strip() for s in a.scenarios.split(",") if s.strip()]
        bad = [s for s in a.selected if s not in ALL_SCENARIOS]
        if bad:
            p.error("unknown scenario(s) %s; known: %s" % (",".join(bad), ",".join(ALL_SCENARIOS)))
    elif a.quick:
        a.selected = list(QUICK_SCENARIOS)
    else:
        a.selected = [s for s in ALL_SCENARIOS if s != "big"]
    if a.big and "big" not in a.selected:
        a.selected.append("big")
    if a.no_moto and "moto" in a.selected:
        a.selected.remove("moto")
    return a


def prepare(args: argparse.Namespace) -> tuple[Context, bool]:
    """Finds (or builds) the binaries, decides on pinning, makes the work directory;
    returns the run's Context and whether the work directory is removed at the end."""
    kmsd, built = ensure_kmsd(os.path.abspath(args.kmsd), DEFAULT_KMSD)
    args.kmsd = os.path.abspath(kmsd)
    args.populate_tool = find_populate_tool(args)
    args.reference_tool = find_reference_tool(args)
    args.pinning = not args.no_pin and (os.cpu_count() or 1) >= 2 and bool(shutil.which("taskset"))
    if not args.pinning and not args.no_pin:
        log("bench: WARNING: no pinning (needs 2 cores and taskset); figures are not comparable")
    cleanup = args.work is None and not args.keep
    args.work = os.path.abspath(args.work or tempfile.mkdtemp(prefix="kmsd-bench-"))
    os.makedirs(args.work, exist_ok=True)
    ctx = Context(args)
    if built:
        ctx.commands.add("build", BUILD_COMMAND)
    ctx.commands.subst = [(args.work, "$WORK"), (ROOT + "/", "")]
    ctx.loadavg_start = procfs.loadavg()
    return ctx, cleanup


def run_selected(ctx: Context) -> str | None:
    """Runs every selected scenario (a BenchError fails that scenario only); stops every
    process the run started. Returns "interrupted" after SIGINT/SIGTERM, else None."""
    try:
        for s in ctx.args.selected:
            try:
                run_scenario(ctx, s)
            except BenchError as e:
                log("    ERROR in %s: %s" % (s, e))
                ctx.results.failed.append((s, str(e)))
    except KeyboardInterrupt:
        return "interrupted"
    finally:
        ctx.registry.stop_all()
    return None


def exit_code(ctx: Context) -> int:
    """1 for a failed run; in quick or --strict mode also for a missed floor; else 0."""
    args, res = ctx.args, ctx.results
    failed_checks = [c for c in res.checks if not c["ok"]]
    if res.failed:
        log("bench: FAILED: %d scenario(s) had failed runs or errors" % len(res.failed))
        return 1
    if args.quick or args.strict:
        if failed_checks:
            log("bench: FAILED: %d check(s) below the floor%s" % (
                len(failed_checks), " (quick mode: half the floor)" if args.quick else ""))
            return 1
        log("bench: all %d checks passed" % len(res.checks))
        return 0
    log("bench: done (%d of %d checks passed; full mode reports, --strict fails on misses)" % (
        len(res.checks) - len(failed_checks), len(res.checks)))
    return 0


def _raise_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else list(argv))
    if not shutil.which("wrk"):
        print("bench: wrk is not installed: run scripts/setup.sh --bench "
              "(or apt-get install -y wrk).", file=sys.stderr)
        return 2
    ctx, cleanup = prepare(args)
    signal.signal(signal.SIGTERM, _raise_interrupt)
    started = datetime.datetime.now(datetime.timezone.utc)
    t0 = time.monotonic()
    log("bench: kmsd %s, work dir %s, scenarios %s%s" % (
        args.kmsd, args.work, ",".join(args.selected), " (quick)" if args.quick else ""))
    crashed = run_selected(ctx)
    elapsed = time.monotonic() - t0
    print_report(ctx, args.quick)
    if crashed:
        log("bench: %s" % crashed)
        return 130
    if args.write_results:
        write_results(ctx, started, elapsed)
    if cleanup:
        shutil.rmtree(args.work, ignore_errors=True)
    return exit_code(ctx)
