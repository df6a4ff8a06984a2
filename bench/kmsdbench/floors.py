"""The floors of the benchmark issue, as one data table.

Every figure the suite holds kmsd to is a row of FLOORS: the scenarios it applies to, its
value, unit, comparison and why.
"One server thread" unless a row says otherwise. Scenarios look rows up by name and record a
check with `Results.check(label, measured, FLOORS[name])` (context.py); quick mode scales
the req/s and start-up rows (QUICK_RPS_FACTOR, QUICK_STARTUP_FACTOR).
"""
from __future__ import annotations

from dataclasses import dataclass, replace

OPS = (">=", "<=", "<")


@dataclass(frozen=True)
class Floor:
    """One floor: a measured value must satisfy `value OP floor`."""

    name: str
    scenario: str   # the scenario(s) whose rows are held to it
    value: float
    unit: str
    op: str
    note: str

    def holds(self, measured: float | None) -> bool:
        return compare(measured, self.op, self.value)

    def scaled(self, factor: float) -> "Floor":
        """The same floor with its value multiplied by `factor` (quick mode)."""
        return replace(self, value=self.value * factor)


def compare(measured: float | None, op: str, floor: float) -> bool:
    """`measured OP floor`; a missing measurement never passes."""
    if op not in OPS:
        raise ValueError(op)
    if measured is None:
        return False
    if op == ">=":
        return measured >= floor
    if op == "<=":
        return measured <= floor
    return measured < floor


_TABLE = (
    Floor("hot_rps", "gdkwp, gdk, encrypt, decrypt (also with keys, big)", 60000, "req/s", ">=",
          "each of the four hot-path operations"),
    Floor("hot_cpu_us", "gdkwp, gdk, encrypt, decrypt (also with keys, big)", 16.0, "µs", "<=",
          "server CPU per hot-path request"),
    Floor("hot_p99_us", "gdkwp, gdk, encrypt, decrypt (also with keys, big)", 1000, "µs", "<",
          "p99 latency at 16 connections (strictly below)"),
    Floor("moto_ratio", "moto", 100.0, "×", ">=", "kmsd req/s over moto req/s, same run"),
    Floor("rotated_decrypt_ratio", "decrypt-rotated", 0.9, "×", ">=",
          "Decrypt of the oldest blob of a key with 100 rotations: req/s over the same-run "
          "decrypt row's (within noise of plain Decrypt)"),
    Floor("startup_empty_ms", "startup", 10.0, "ms", "<=",
          "spawn -> first served request, empty data dir"),
    Floor("startup_keys_ms", "keys", 250.0, "ms", "<=",
          "spawn -> first served request, 100,000 keys"),
    Floor("rss_idle_mib", "startup", 10.0, "MiB", "<=",
          "idle RSS right after start, empty data dir"),
    Floor("rss_1m_req_mib", "memory", 20.0, "MiB", "<=",
          "RSS (and peak) after a million requests"),
    Floor("rss_growth_mib", "memory", 1.0, "MiB", "<=",
          "'no growth': RSS after 1M requests minus RSS after the first chunk"),
    Floor("rss_keys_mib", "keys", 150.0, "MiB", "<=", "RSS and peak with 100,000 keys"),
    Floor("createkey_rps", "createkey", 5000, "keys/s", ">=",
          "durable CreateKey, 16 connections"),
    Floor("sign_extra_us", "sign-p256, verify-p256, sign-rsa2048, verify-rsa2048", 16.0, "µs",
          "<=", "CPU per request <= openssl speed cost of one operation + this"),
)

FLOORS: dict[str, Floor] = {f.name: f for f in _TABLE}

# Quick mode (CI) fails only far below a floor: half the req/s, twice the start-up time.
QUICK_RPS_FACTOR = 0.5
QUICK_STARTUP_FACTOR = 2.0

# Not floors, but the conditions they are stated for.
FLOOR_KEYS = 100000          # the key count the with-keys floors are stated for
CONTENDED_WAIT_PCT = 10.0    # a pinned 1-thread server runnable-but-waiting > 10 % of a run
