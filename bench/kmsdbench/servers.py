"""The servers the suite measures: kmsd, moto's standalone server and the reference server.

kmsd and the reference server are started through KmsdProcess (tests/support/kmsd_process.py,
the launcher the end-to-end fixtures use too). Every process is registered with the run's
ProcessRegistry, so an interrupted run still stops all of them, by pid.
"""
from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from typing import TYPE_CHECKING, Sequence

from kmsdbench import procfs
from kmsdbench.client import BenchError, Client
from kmsdbench.paths import SUPPORT_DIR

if SUPPORT_DIR not in sys.path:
    sys.path.insert(0, SUPPORT_DIR)
from kmsd_process import KMSD_LISTENING, KmsdProcess, LaunchError  # noqa: E402

if TYPE_CHECKING:
    from kmsdbench.context import Context

REFERENCE_LISTENING = re.compile(r"reference listening on http://[^:\s]+:(\d+)")


def free_port() -> int:
    """A port that was free a moment ago (for moto, which cannot pick its own)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ProcessRegistry:
    """Every process a run started and has not stopped yet; stop_all() stops them by pid."""

    def __init__(self) -> None:
        self.procs: list[subprocess.Popen] = []

    def add(self, proc: subprocess.Popen) -> None:
        self.procs.append(proc)

    def discard(self, proc: subprocess.Popen) -> None:
        if proc in self.procs:
            self.procs.remove(proc)

    def stop(self, proc: subprocess.Popen, timeout: float = 15) -> None:
        """SIGTERM, then SIGKILL after `timeout` seconds."""
        if proc.poll() is None:
            try:
                proc.send_signal(signal.SIGTERM)
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)
        self.discard(proc)

    def stop_all(self) -> None:
        for proc in list(self.procs):
            try:
                self.stop(proc, timeout=5)
            except Exception:  # noqa: BLE001  (best effort at exit)
                pass


class Server:
    """What the measurement needs of any server: pid, port, CPU, liveness, stop."""

    name = "server"

    def __init__(self, ctx: "Context"):
        self.ctx = ctx
        self.proc: subprocess.Popen | None = None
        self.port: int | None = None
        self.client: Client | None = None
        self.t_line_ms: float | None = None
        self.t_first_ms: float | None = None
        self.rss_idle: float | None = None

    @property
    def pid(self) -> int:
        return self.proc.pid

    def cpu(self) -> float:
        return procfs.cpu_seconds(self.pid)

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self) -> None:
        if self.client is not None:
            self.client.close()
        if self.proc is not None:
            self.ctx.registry.stop(self.proc)


class _Launched(Server):
    """A server that prints a listening line: started through KmsdProcess."""

    def _launch(self, cmd: Sequence[str], stem: str, listening: re.Pattern[str],
                timeout: float) -> None:
        ctx = self.ctx
        stderr_path = os.path.join(ctx.work, "%s-%d.stderr" % (stem, next(ctx.counter)))
        self.process = KmsdProcess(cmd, stderr_path, listening=listening, name=self.name)
        self.process.spawn()
        self.proc = self.process.proc
        ctx.registry.add(self.proc)
        try:
            # Draining stdout starts after the first request (start_draining): starting a
            # thread here would land in the start-up figures.
            self.port = self.process.wait_listening(timeout, drain=False)
        except LaunchError as e:
            self.ctx.registry.discard(self.proc)
            raise BenchError(str(e)) from None
        self.client = Client(self.port)

    def stderr_tail(self) -> str:
        return self.process.stderr_tail(600)

    def stop(self) -> None:
        if self.client is not None:
            self.client.close()
        if self.proc is not None:
            self.process.terminate(signal.SIGTERM, 15)
            self.ctx.registry.discard(self.proc)


class Kmsd(_Launched):
    """kmsd on `data_dir`, `threads` io threads, pinned to `cpu` (None: unpinned). Started
    means: the listening line was read and GET /_kmsd/health (the first served request, on a
    fresh connection) answered; t_line_ms / t_first_ms time both from just before the spawn."""

    name = "kmsd"

    def __init__(self, ctx: "Context", data_dir: str, threads: int = 1, cpu: int | None = 0,
                 in_memory: bool = False, label: str | None = None):
        super().__init__(ctx)
        cmd = [ctx.kmsd, "--host", "127.0.0.1", "--port", "0", "--data-dir", data_dir,
               "--threads", str(threads), "--log-level", "warn"]
        if in_memory:
            cmd.append("--in-memory")
        cmd = ctx.pin(cpu) + cmd
        if label:
            ctx.commands.add(label, cmd)
        self._launch(cmd, "kmsd", KMSD_LISTENING, timeout=600)
        self.health = self.client.health()  # the first served request (a fresh connection)
        t_first = time.perf_counter()
        self.process.start_draining()
        self.t_line_ms = (self.process.line_at - self.process.spawned_at) * 1000
        self.t_first_ms = (t_first - self.process.spawned_at) * 1000
        self.rss_idle = procfs.rss_mib(self.pid)
        self.hwm_idle = procfs.hwm_mib(self.pid)  # the start-up (load) peak


class Reference(_Launched):
    """bench/reference_server.cpp: the storage-free Beast server of the issue's ceiling.
    mode: [] seals, ["--fixed-reply"] answers `{}` (HTTP and the kernel alone),
    ["--sign", "p256"] / ["--verify", "rsa2048"] ... sign or verify with a key of its own."""

    name = "reference"

    def __init__(self, ctx: "Context", mode: Sequence[str] = (), cpu: int | None = 0,
                 label: str | None = None):
        super().__init__(ctx)
        cmd = ctx.pin(cpu) + [ctx.args.reference_tool, "--port", "0"] + list(mode)
        if label:
            ctx.commands.add(label, cmd)
        try:
            self._launch(cmd, "reference", REFERENCE_LISTENING, timeout=30)
        except BenchError as e:
            raise BenchError("the reference server did not start (%s)" % e) from None
        self.process.start_draining()


class Moto(Server):
    """moto's standalone server on a free port, ready once ListKeys answers 200."""

    name = "moto"

    def __init__(self, ctx: "Context", cpu: int | None = 0, label: str | None = None):
        super().__init__(ctx)
        self.port = free_port()
        cmd = ctx.pin(cpu) + [ctx.moto_python, "-m", "moto.server", "-H", "127.0.0.1",
                               "-p", str(self.port)]
        if label:
            ctx.commands.add(label, cmd)
        errf = open(os.path.join(ctx.work, "moto-%d.stderr" % next(ctx.counter)), "wb")
        t0 = time.perf_counter()
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=errf, stderr=errf)
        errf.close()
        ctx.registry.add(self.proc)
        self._wait_ready(t0 + 120)
        self.t_first_ms = (time.perf_counter() - t0) * 1000
        self.client = Client(self.port)
        self.rss_idle = procfs.rss_mib(self.pid)

    def _wait_ready(self, deadline: float) -> None:
        while True:
            if self.proc.poll() is not None:
                raise BenchError("moto exited with %s" % self.proc.returncode)
            try:
                c = Client(self.port, timeout=5)
                status, _ = c.call("ListKeys", {})
                c.close()
                if status == 200:
                    return
            except OSError:
                pass
            if time.perf_counter() > deadline:
                self.stop()
                raise BenchError("moto did not answer within 120 s")
            time.sleep(0.01)
