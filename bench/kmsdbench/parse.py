"""Parsing of what the suite reads: wrk's KMSD_RESULT line, `openssl speed -mr`, /proc files.

Text in, values out; no I/O (procfs.py reads the files). Unit-tested with real samples in
bench/tests/data/.
"""
from __future__ import annotations

import json
import re
from typing import Any

_RESULT = re.compile(r"^KMSD_RESULT (\{.*\})$", re.M)
SOCKET_ERRORS = ("errors_connect", "errors_read", "errors_write", "errors_timeout")


def wrk_result(output: str) -> dict[str, Any] | None:
    """The KMSD_RESULT object bench/wrk/kms.lua's done() prints, plus `rps` (requests / wrk's
    measured duration) and `socket_errors` (connect + read + write + timeout); None when the
    output holds no such line (wrk failed)."""
    match = _RESULT.search(output)
    if match is None:
        return None
    result = json.loads(match.group(1))
    duration_us = result["duration_us"]
    result["rps"] = result["requests"] / (duration_us / 1e6) if duration_us else 0.0
    result["socket_errors"] = sum(result[k] for k in SOCKET_ERRORS)
    return result


def openssl_speed_us(output: str, what: str) -> float | None:
    """µs per signature (`what` "sign") or verification ("verify") from `openssl speed -mr`
    output for one RSA or ECDSA algorithm; None when it has no such line."""
    for line in output.splitlines():
        # -mr lines: +F2:<n>:2048:<sign/s>:<verify/s> (RSA), +F4:<n>:256:<sign/s>:<verify/s>
        parts = line.split(":")
        if line.startswith(("+F2:", "+F4:")) and len(parts) >= 5:
            return 1e6 / float(parts[3] if what == "sign" else parts[4])
    return None


def stat_cpu_ticks(stat: str) -> int:
    """utime + stime (fields 14 and 15) of a /proc/PID/stat line, in clock ticks. The command
    name (field 2) may hold spaces and parentheses, so fields are counted after the last ')'."""
    fields = stat.rsplit(")", 1)[1].split()
    # fields[0] is field 3 (state); utime is field 14, stime field 15.
    return int(fields[11]) + int(fields[12])


def schedstat_wait_ns(schedstat: str) -> int:
    """Time runnable but waiting for a CPU: the second field of /proc/PID/task/TID/schedstat."""
    return int(schedstat.split()[1])


def status_kib(status: str, name: str) -> int | None:
    """A `Name:  value kB` field of /proc/PID/status (VmRSS, VmHWM), in KiB."""
    for line in status.splitlines():
        if line.startswith(name + ":"):
            return int(line.split()[1])
    return None


def loadavg(text: str) -> str:
    """'1 / 5 / 15' minute load averages from /proc/loadavg."""
    return " / ".join(text.split()[:3])


def cpu_model(cpuinfo: str) -> str:
    """The first `model name` of /proc/cpuinfo, or 'unknown'."""
    for line in cpuinfo.splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return "unknown"


def mem_total_mib(meminfo: str) -> int:
    """MemTotal (the first line of /proc/meminfo) in MiB."""
    return int(meminfo.splitlines()[0].split()[1]) // 1024
