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
"""
from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import tempfile
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
LUA = REPO / "bench" / "wrk" / "kms.lua"


def call(port: int, target: str, body: dict) -> dict:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/", data=json.dumps(body).encode(),
        headers={"X-Amz-Target": "TrentService." + target,
                 "Content-Type": "application/x-amz-json-1.1"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def request_body(port: int, op: str) -> dict:
    key = call(port, "CreateKey", {})["KeyMetadata"]["KeyId"]
    if op == "Decrypt":
        blob = call(port, "Encrypt", {"KeyId": key, "Plaintext": "aGVsbG8gd29ybGQ="})
        return {"CiphertextBlob": blob["CiphertextBlob"]}
    if op in ("GenerateDataKeyWithoutPlaintext", "GenerateDataKey"):
        return {"KeyId": key, "KeySpec": "AES_256"}
    if op == "Encrypt":
        return {"KeyId": key, "Plaintext": "aGVsbG8gd29ybGQ="}
    raise SystemExit(f"ab: unsupported --op {op}")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("old")
    p.add_argument("new")
    p.add_argument("--op", default="GenerateDataKeyWithoutPlaintext")
    p.add_argument("--pairs", type=int, default=8)
    p.add_argument("--seconds", type=int, default=3)
    args = p.parse_args()

    servers: dict[str, subprocess.Popen] = {}
    ports: dict[str, int] = {}
    work = Path(tempfile.mkdtemp(prefix="kmsd-ab-"))
    try:
        bodies: dict[str, Path] = {}
        for name, binary in (("old", args.old), ("new", args.new)):
            proc = subprocess.Popen(
                ["taskset", "-c", "0", binary, "--in-memory", "--port", "0", "--threads", "1",
                 "--log-level", "warn"],
                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL,
                text=True)
            servers[name] = proc
            line = proc.stdout.readline()
            if "listening on" not in line:
                raise SystemExit(f"ab: {binary} did not start: {line!r}")
            ports[name] = int(line.rsplit(":", 1)[1])
            bodies[name] = work / f"{name}.body"
            bodies[name].write_text(json.dumps(request_body(ports[name], args.op)) + "\n")

        per_request: dict[str, list[float]] = {"old": [], "new": []}
        for i in range(args.pairs):
            for name in ("old", "new") if i % 2 == 0 else ("new", "old"):
                before = cpu_seconds(servers[name].pid)
                env = dict(os.environ, KMSD_TARGET=args.op, KMSD_BODIES=str(bodies[name]))
                out = subprocess.run(
                    ["taskset", "-c", "1", "wrk", "-t1", "-c16", f"-d{args.seconds}s", "-s",
                     str(LUA), f"http://127.0.0.1:{ports[name]}/"],
                    env=env, capture_output=True, text=True, timeout=args.seconds + 30,
                    stdin=subprocess.DEVNULL).stdout
                used = cpu_seconds(servers[name].pid) - before
                result = json.loads(re.search(r"KMSD_RESULT (\{.*\})", out).group(1))
                errors = sum(result.get(k, 0) for k in ("errors_connect", "errors_read",
                                                        "errors_write", "errors_timeout",
                                                        "errors_status"))
                if errors:
                    raise SystemExit(f"ab: {name} run {i + 1} had errors: {result}")
                per_request[name].append(used * 1e6 / result["requests"])
        medians = {name: statistics.median(values) for name, values in per_request.items()}
        for name in ("old", "new"):
            runs = " ".join(f"{v:.1f}" for v in per_request[name])
            print(f"{name}: {medians[name]:.2f} us/request (median of {args.pairs}; runs {runs})")
        print(f"{args.op}: new/old = {medians['new'] / medians['old']:.3f}")
        return 0
    finally:
        for proc in servers.values():
            proc.terminate()
            proc.wait(timeout=10)
        for f in work.iterdir():
            f.unlink()
        work.rmdir()


if __name__ == "__main__":
    raise SystemExit(main())
