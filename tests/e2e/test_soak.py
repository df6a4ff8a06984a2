"""Soak: a bounded run of mixed operations at a high rate, with kmsd's memory, descriptors and
latency sampled throughout. Nothing may leak or creep, and no call may fail.

Worker threads, each on its own keep-alive connection, run CreateKey, Encrypt, Decrypt,
GenerateDataKey, DescribeKey, TagResource, CreateAlias/UpdateAlias, ListKeys, Sign/Verify
(ECDSA P-256) and GenerateMac/VerifyMac (HMAC-SHA-256) as fast as they can. The run is cut into rounds of ROUND_SECONDS; between rounds the workers pause and
the state is cleared (POST /_kmsd/reset), so every round builds up the same amount of state
and resident memory must level off: a leak shows as growth from round to round.

After a warm-up (the first round), the samples are split into quarters and compared:
  * resident memory (VmRSS): median of the last quarter <= median of the first + RSS_MARGIN
    (not under AddressSanitizer, whose quarantine grows by design);
  * open descriptors: the last quarter's highest <= the first quarter's highest;
  * latency: p99 of the last quarter <= 2 x p99 of the first + LATENCY_SLACK (a shared,
    noisy machine);
  * every call answers 200, and every Decrypt returns what was encrypted.

KMSD_SOAK_SECONDS lengthens the run (default 60); KMSD_SOAK_WORKERS sets the threads (6).
The figures are printed (run pytest with -s to see them) and recorded in RELIABILITY.md.
"""
from __future__ import annotations

import base64
import http.client
import json
import os
import random
import statistics
import threading
import time
from dataclasses import dataclass, field

from e2e_support import RSS_CHECKED, rss_kib

SOAK_SECONDS = float(os.environ.get("KMSD_SOAK_SECONDS", "60"))
WORKERS = int(os.environ.get("KMSD_SOAK_WORKERS", "6"))
ROUND_SECONDS = 5.0
KEYS_PER_WORKER = 8  # keys a worker uses at once; a CreateKey replaces its oldest
ALIASES_PER_WORKER = 3
RSS_MARGIN_KIB = 4 * 1024
# RSS_CHECKED (e2e_support): under AddressSanitizer resident memory grows by design, so only
# LeakSanitizer's report at exit speaks for leaks there and the RSS bound is not checked.
LATENCY_SLACK_S = 0.005
JSON_CT = "application/x-amz-json-1.1"

# Operation mix: weights out of 100.
MIX = [("Encrypt", 20), ("Decrypt", 15), ("GenerateDataKey", 15), ("DescribeKey", 10),
       ("CreateKey", 8), ("TagResource", 8), ("Alias", 7), ("ListKeys", 5), ("SignVerify", 6),
       ("Mac", 6)]
# The asymmetric and HMAC keys each worker signs and MACs with (made once per round, since a
# reset deletes them): their private keys and prepared contexts go through kmsd's per-thread
# caches, which must stay bounded as keys come and go.
SIGN_KEY = {"KeySpec": "ECC_NIST_P256", "KeyUsage": "SIGN_VERIFY"}
MAC_KEY = {"KeySpec": "HMAC_256", "KeyUsage": "GENERATE_VERIFY_MAC"}


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


@dataclass
class Sample:
    at: float  # seconds since the run began
    rss_kib: int
    fds: int


@dataclass
class WorkerResult:
    latencies: list[tuple[float, float]] = field(default_factory=list)  # (ended at, seconds)
    errors: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)


def _fd_count(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


class Worker(threading.Thread):
    """Runs the mix on one keep-alive connection until each round's end; then waits at the
    barrier twice (the main thread resets the server in between) and starts afresh."""

    def __init__(self, index: int, port: int, begin: float, rounds: int, barrier: threading.Barrier):
        super().__init__(daemon=True)
        self.index, self.port, self.begin, self.rounds = index, port, begin, rounds
        self.barrier = barrier
        self.rng = random.Random(1000 + index)
        self.result = WorkerResult()
        self.ops = [name for name, weight in MIX for _ in range(weight)]

    def run(self) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            for round_ in range(self.rounds):
                self.keys: list[str] = []
                self.blobs: list[tuple[str, dict, bytes]] = []  # blob, context, plaintext
                self.aliases: set[str] = set()
                self.special: dict[str, str] = {}  # "sign" / "mac" -> this round's key
                round_end = self.begin + (round_ + 1) * ROUND_SECONDS
                while time.monotonic() < round_end and not self.result.errors:
                    self.step(conn)
                self.barrier.wait()  # the main thread resets the server ...
                self.barrier.wait()  # ... and lets everyone go on
        except threading.BrokenBarrierError:
            pass  # the main thread gave up (another worker failed)
        except Exception as e:  # noqa: BLE001 - any failure is reported by the test
            self.result.errors.append(f"worker {self.index}: {type(e).__name__}: {e}")
            self.barrier.abort()
        finally:
            conn.close()

    def call(self, conn: http.client.HTTPConnection, op: str, payload: dict) -> dict:
        body = json.dumps(payload).encode()
        started = time.monotonic()
        conn.request("POST", "/", body, {"X-Amz-Target": f"TrentService.{op}",
                                         "Content-Type": JSON_CT})
        resp = conn.getresponse()
        data = resp.read()
        ended = time.monotonic()
        self.result.latencies.append((ended - self.begin, ended - started))
        self.result.counts[op] = self.result.counts.get(op, 0) + 1
        if resp.status != 200:
            raise AssertionError(f"{op} -> HTTP {resp.status} {data[:300]!r}")
        return json.loads(data)

    def step(self, conn: http.client.HTTPConnection) -> None:
        op = self.rng.choice(self.ops)
        if not self.keys or op == "CreateKey":
            key = self.call(conn, "CreateKey", {"Description": f"soak w{self.index}"})
            self.keys.append(key["KeyMetadata"]["KeyId"])
            if len(self.keys) > KEYS_PER_WORKER:
                self.keys.pop(0)  # stays on the server until the round's reset
            return
        key = self.rng.choice(self.keys)
        if op == "Encrypt" or (op == "Decrypt" and not self.blobs):
            plaintext = self.rng.randbytes(self.rng.randint(1, 512))
            context = {"worker": str(self.index), "n": str(self.rng.randint(0, 9))}
            out = self.call(conn, "Encrypt", {"KeyId": key, "Plaintext": _b64(plaintext),
                                              "EncryptionContext": context})
            self.blobs.append((out["CiphertextBlob"], context, plaintext))
            if len(self.blobs) > 32:
                self.blobs.pop(0)
        elif op == "Decrypt":
            blob, context, plaintext = self.rng.choice(self.blobs)
            out = self.call(conn, "Decrypt", {"CiphertextBlob": blob,
                                              "EncryptionContext": context})
            if base64.b64decode(out["Plaintext"]) != plaintext:
                raise AssertionError("Decrypt returned a different plaintext")
        elif op == "GenerateDataKey":
            out = self.call(conn, "GenerateDataKey", {"KeyId": key, "KeySpec": "AES_256"})
            if len(base64.b64decode(out["Plaintext"])) != 32:
                raise AssertionError("GenerateDataKey returned a data key that is not 32 bytes")
        elif op == "DescribeKey":
            out = self.call(conn, "DescribeKey", {"KeyId": key})
            if out["KeyMetadata"]["KeyId"] != key:
                raise AssertionError(f"DescribeKey {key} described {out['KeyMetadata']['KeyId']}")
        elif op == "TagResource":  # a few tag keys, overwritten: bounded per key
            self.call(conn, "TagResource", {"KeyId": key, "Tags": [
                {"TagKey": f"t{self.rng.randint(0, 4)}", "TagValue": str(self.rng.random())}]})
        elif op == "Alias":
            name = f"alias/soak-w{self.index}-{self.rng.randrange(ALIASES_PER_WORKER)}"
            if name in self.aliases:
                self.call(conn, "UpdateAlias", {"AliasName": name, "TargetKeyId": key})
            else:
                self.call(conn, "CreateAlias", {"AliasName": name, "TargetKeyId": key})
                self.aliases.add(name)
        elif op in ("SignVerify", "Mac"):
            self.sign_or_mac(conn, op)
        else:  # ListKeys
            out = self.call(conn, "ListKeys", {"Limit": 50})
            if not out["Keys"]:
                raise AssertionError("ListKeys listed no keys")


    def sign_or_mac(self, conn: http.client.HTTPConnection, op: str) -> None:
        kind, spec = ("sign", SIGN_KEY) if op == "SignVerify" else ("mac", MAC_KEY)
        if kind not in self.special:
            self.special[kind] = self.call(conn, "CreateKey", spec)["KeyMetadata"]["KeyId"]
        key = self.special[kind]
        message = _b64(self.rng.randbytes(self.rng.randint(1, 256)))
        if kind == "sign":
            request = {"KeyId": key, "Message": message, "SigningAlgorithm": "ECDSA_SHA_256"}
            signature = self.call(conn, "Sign", request)["Signature"]
            if not self.call(conn, "Verify", {**request, "Signature": signature})["SignatureValid"]:
                raise AssertionError("Verify rejected kmsd's own signature")
        else:
            request = {"KeyId": key, "Message": message, "MacAlgorithm": "HMAC_SHA_256"}
            mac = self.call(conn, "GenerateMac", request)["Mac"]
            if not self.call(conn, "VerifyMac", {**request, "Mac": mac})["MacValid"]:
                raise AssertionError("VerifyMac rejected kmsd's own MAC")


def _p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def test_soak_memory_descriptors_and_latency_stay_flat(fresh_server):
    srv = fresh_server()
    pid = srv.proc.pid
    rounds = max(4, round(SOAK_SECONDS / ROUND_SECONDS))
    barrier = threading.Barrier(WORKERS + 1)
    begin = time.monotonic()
    workers = [Worker(i, srv.port, begin, rounds, barrier) for i in range(WORKERS)]
    samples: list[Sample] = []
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            samples.append(Sample(time.monotonic() - begin, rss_kib(pid), _fd_count(pid)))
            done.wait(1.0)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    for w in workers:
        w.start()
    try:
        for _ in range(rounds):
            barrier.wait()  # every worker has finished its round
            srv.reset()
            barrier.wait()
    except threading.BrokenBarrierError:
        pass  # a worker failed: its error is reported below
    finally:
        done.set()
        for w in workers:
            w.join(timeout=60)
        sampler.join(timeout=5)
    elapsed = time.monotonic() - begin

    errors = [e for w in workers for e in w.result.errors]
    assert not errors, f"{len(errors)} failed: {errors[:5]}"
    assert srv.running(), f"kmsd died during the soak:\n{srv.log_tail()}"
    latencies = sorted((t, l) for w in workers for t, l in w.result.latencies)
    counts: dict[str, int] = {}
    for w in workers:
        for op, n in w.result.counts.items():
            counts[op] = counts.get(op, 0) + n
    requests = len(latencies)

    # After the warm-up round, quarters by time.
    warmup = ROUND_SECONDS
    steady = [s for s in samples if s.at >= warmup]
    assert len(steady) >= 8, f"too few samples after warm-up: {len(steady)}"
    quarter = len(steady) // 4
    first, last = steady[:quarter], steady[-quarter:]
    rss_first = statistics.median(s.rss_kib for s in first)
    rss_last = statistics.median(s.rss_kib for s in last)
    fds_first = max(s.fds for s in first)
    fds_last = max(s.fds for s in last)
    span = elapsed - warmup
    lat_first = [l for t, l in latencies if warmup <= t < warmup + span / 4]
    lat_last = [l for t, l in latencies if t >= elapsed - span / 4]
    p99_first, p99_last = _p(lat_first, 0.99), _p(lat_last, 0.99)

    print(f"\nsoak: {elapsed:.0f} s, {WORKERS} workers, {rounds} rounds of {ROUND_SECONDS:.0f} s, "
          f"{requests} requests ({requests / elapsed:.0f}/s), 0 errors")
    print("soak: requests by operation: " + ", ".join(f"{op} {n}" for op, n in sorted(counts.items())))
    print(f"soak: VmRSS start {samples[0].rss_kib} KiB, after warm-up (first-quarter median) "
          f"{rss_first:.0f} KiB, last-quarter median {rss_last:.0f} KiB, end {samples[-1].rss_kib} "
          f"KiB, peak {max(s.rss_kib for s in samples)} KiB")
    print(f"soak: open fds start {samples[0].fds}, first-quarter max {fds_first}, "
          f"last-quarter max {fds_last}, end {samples[-1].fds}")
    print(f"soak: latency p50/p99 first quarter {_p(lat_first, 0.5) * 1e3:.2f}/"
          f"{p99_first * 1e3:.2f} ms, last quarter {_p(lat_last, 0.5) * 1e3:.2f}/"
          f"{p99_last * 1e3:.2f} ms, whole run p99 {_p([l for _, l in latencies], 0.99) * 1e3:.2f} ms")

    assert requests > 20 * elapsed, f"only {requests} requests in {elapsed:.0f} s: no real load"
    assert all(counts.get(op, 0) > 0 for op in ("CreateKey", "Encrypt", "Decrypt", "GenerateDataKey",
                                                "DescribeKey", "TagResource", "CreateAlias",
                                                "UpdateAlias", "ListKeys", "Sign", "Verify",
                                                "GenerateMac", "VerifyMac")), counts
    if not RSS_CHECKED:
        print("soak: VmRSS bound not checked under AddressSanitizer (LeakSanitizer checks at exit)")
    assert not RSS_CHECKED or rss_last <= rss_first + RSS_MARGIN_KIB, (
        f"resident memory grew from {rss_first:.0f} KiB to {rss_last:.0f} KiB (medians)")
    assert fds_last <= fds_first, f"open descriptors grew from {fds_first} to {fds_last}"
    assert p99_last <= 2 * p99_first + LATENCY_SLACK_S, (
        f"p99 latency crept from {p99_first * 1e3:.2f} ms to {p99_last * 1e3:.2f} ms")
