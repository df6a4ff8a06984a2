#!/usr/bin/env python3
"""Compares two kmsd binaries on one hot-path operation, interleaved, on this noisy host.

    bench/ab.py OLD_KMSD NEW_KMSD [--op GenerateDataKeyWithoutPlaintext|Decrypt] [--pairs 8]

Both servers run at once (in memory, one io thread each, pinned to core 0; wrk on core 1, 16
connections, bench/wrk/kms.lua), and the load alternates between them: run i of OLD, run i of
NEW, then the other order, for --pairs pairs of --seconds each. The server CPU per request
(utime+stime from /proc over the run, divided by wrk's request count) of each run is printed,
with the medians and NEW/OLD. A slow phase of the host (they last about a minute here, see
bench/README.md) then lands on both binaries instead of on one, which is what a comparison of
two back-to-back bench/run invocations cannot promise.

Needs wrk and taskset (scripts/setup.sh --bench). Every process it starts is stopped at the end.
The servers start through tests/support/kmsd_process.py (the launcher bench/run and the e2e
suite use); wrk's command, its output's parsing and the medians come from bench/kmsdbench.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from kmsdbench import parse, procfs, stats  # noqa: E402
from kmsdbench.client import Client  # noqa: E402
from kmsdbench.measure import wrk_command  # noqa: E402
from kmsdbench.servers import KmsdProcess  # noqa: E402  (tests/support/kmsd_process.py)


def request_body(client: Client, op: str) -> dict:
    key = client.ok("CreateKey", {})["KeyMetadata"]["KeyId"]
    if op == "Decrypt":
        blob = client.ok("Encrypt", {"KeyId": key, "Plaintext": "aGVsbG8gd29ybGQ="})
        return {"CiphertextBlob": blob["CiphertextBlob"]}
    if op in ("GenerateDataKeyWithoutPlaintext", "GenerateDataKey"):
        return {"KeyId": key, "KeySpec": "AES_256"}
    if op == "Encrypt":
        return {"KeyId": key, "Plaintext": "aGVsbG8gd29ybGQ="}
    raise SystemExit(f"ab: unsupported --op {op}")


def start_server(binary: str, work: Path, name: str) -> KmsdProcess:
    """kmsd in memory, one io thread, pinned to core 0."""
    proc = KmsdProcess(["taskset", "-c", "0", binary, "--in-memory", "--port", "0",
                        "--threads", "1", "--log-level", "warn"], work / f"{name}.stderr")
    proc.start(timeout=30)
    return proc


def one_run(server: KmsdProcess, op: str, bodies: Path, seconds: int, label: str) -> float:
    """One wrk run against `server`; its server CPU per request, in µs."""
    before = procfs.cpu_seconds(server.pid)
    env = dict(os.environ, KMSD_TARGET=op, KMSD_BODIES=str(bodies))
    out = subprocess.run(wrk_command(["taskset", "-c", "1"], server.port, seconds),
                         env=env, capture_output=True, text=True, timeout=seconds + 30,
                         stdin=subprocess.DEVNULL).stdout
    used = procfs.cpu_seconds(server.pid) - before
    result = parse.wrk_result(out)
    if result is None:
        raise SystemExit(f"ab: {label}: wrk failed: {out[-500:]}")
    if result["errors_status"] + result["socket_errors"]:
        raise SystemExit(f"ab: {label} had errors: {result}")
    return used * 1e6 / result["requests"]


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("old")
    p.add_argument("new")
    p.add_argument("--op", default="GenerateDataKeyWithoutPlaintext")
    p.add_argument("--pairs", type=int, default=8)
    p.add_argument("--seconds", type=int, default=3)
    args = p.parse_args()

    servers: dict[str, KmsdProcess] = {}
    work = Path(tempfile.mkdtemp(prefix="kmsd-ab-"))
    try:
        bodies: dict[str, Path] = {}
        for name, binary in (("old", args.old), ("new", args.new)):
            servers[name] = start_server(binary, work, name)
            client = Client(servers[name].port)
            bodies[name] = work / f"{name}.body"
            bodies[name].write_text(json.dumps(request_body(client, args.op)) + "\n")
            client.close()

        per_request: dict[str, list[float]] = {"old": [], "new": []}
        for i in range(args.pairs):
            for name in ("old", "new") if i % 2 == 0 else ("new", "old"):
                per_request[name].append(one_run(servers[name], args.op, bodies[name],
                                                 args.seconds, f"{name} run {i + 1}"))
        medians = {name: stats.median(values) for name, values in per_request.items()}
        for name in ("old", "new"):
            runs = " ".join(f"{v:.1f}" for v in per_request[name])
            print(f"{name}: {medians[name]:.2f} us/request (median of {args.pairs}; runs {runs})")
        print(f"{args.op}: new/old = {medians['new'] / medians['old']:.3f}")
        return 0
    finally:
        for proc in servers.values():
            proc.terminate(timeout=10)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
