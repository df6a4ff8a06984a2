"""Reading /proc for one process: CPU time, run-queue wait, RSS; and host facts for the report."""
from __future__ import annotations

import os

from kmsdbench import parse

CLK_TCK = os.sysconf("SC_CLK_TCK")


def _read(path: str) -> str:
    with open(path) as f:
        return f.read()


def cpu_seconds(pid: int) -> float:
    """utime + stime of the whole process (all threads, including exited ones)."""
    return parse.stat_cpu_ticks(_read("/proc/%d/stat" % pid)) / CLK_TCK


def runqueue_wait_seconds(pid: int) -> float | None:
    """Time the process's threads spent runnable but waiting for a CPU (schedstat field 2,
    summed over the live threads); None when the kernel has no schedstat."""
    total = 0
    try:
        tids = os.listdir("/proc/%d/task" % pid)
    except OSError:
        return None
    for tid in tids:
        try:
            total += parse.schedstat_wait_ns(_read("/proc/%d/task/%s/schedstat" % (pid, tid)))
        except (OSError, IndexError, ValueError):
            pass
    return total / 1e9


def status_mib(pid: int, name: str) -> float | None:
    """A /proc/PID/status memory field (VmRSS, VmHWM) in MiB; None when absent."""
    kib = parse.status_kib(_read("/proc/%d/status" % pid), name)
    return kib / 1024 if kib is not None else None


def rss_mib(pid: int) -> float | None:
    return status_mib(pid, "VmRSS")


def hwm_mib(pid: int) -> float | None:
    return status_mib(pid, "VmHWM")


def loadavg() -> str:
    try:
        return parse.loadavg(_read("/proc/loadavg"))
    except OSError:
        return "unknown"


def machine_info() -> dict:
    """nproc, CPU model, kernel release and total memory (MiB), for the RESULTS.md header."""
    try:
        model = parse.cpu_model(_read("/proc/cpuinfo"))
    except OSError:
        model = "unknown"
    try:
        mem = parse.mem_total_mib(_read("/proc/meminfo"))
    except (OSError, IndexError, ValueError):
        mem = None
    return dict(nproc=os.cpu_count(), model=model, kernel=os.uname().release, mem_mib=mem)
