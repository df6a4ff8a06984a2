"""One kmsd child process: spawn it, read its listening line, stop it, keep its stderr.

The one launcher of the real binary, shared by the end-to-end fixtures
(tests/e2e/e2e_support.py: KmsdServer) and the benchmark package (bench/kmsdbench/servers.py,
bench/ab.py). Python standard library only, so the benchmark needs nothing installed.

    proc = KmsdProcess([kmsd, "--port", "0", "--in-memory"], Path("/tmp/kmsd.log"))
    port = proc.start(timeout=10)        # LaunchError when no listening line comes
    ...
    proc.terminate()                     # SIGTERM; exit code, or None when it had to be killed

kmsd binds the port itself (`--port 0`) and prints one line on stdout,
`kmsd listening on http://HOST:PORT`, once it accepts connections; nothing else goes to stdout.
The line is read straight from the pipe with a deadline (no thread in between, so start-up
timings stay exact); later stdout lines, which kmsd should never write, are collected by a
daemon thread (start_draining) and returned by `finish()`. stderr goes to a file, appended to, after a
`==== start <command>` header.

Not thread-safe: one owner drives a KmsdProcess.
"""
from __future__ import annotations

import os
import re
import select
import shlex
import signal
import subprocess
import threading
import time
from pathlib import Path
from typing import Callable, Mapping, Sequence

# What kmsd prints once it is listening (server/main.cpp); group 1 is the port.
KMSD_LISTENING = re.compile(r"kmsd listening on http://[^:\s]+:(\d+)")


class LaunchError(RuntimeError):
    """The process did not print its listening line in time (or exited first)."""


class KmsdProcess:
    """A server child process with a one-line "listening" handshake on stdout.

    `command` is the full argv (a `taskset -c N` prefix included, when wanted); `env` None
    inherits this process's environment. start() may be called again after the process has
    exited; the same stderr file is appended to.
    """

    def __init__(self, command: Sequence[str], stderr_path: Path | str,
                 env: Mapping[str, str] | None = None,
                 preexec_fn: Callable[[], None] | None = None,
                 listening: re.Pattern[str] = KMSD_LISTENING, name: str = "kmsd"):
        self.command = [str(c) for c in command]
        self.stderr_path = Path(stderr_path)
        self.env = dict(env) if env is not None else None
        self.preexec_fn = preexec_fn  # runs in the child before exec (resource limits, umask)
        self.listening = listening
        self.name = name
        self.proc: subprocess.Popen[bytes] | None = None
        self.port: int | None = None
        self.first_line: str | None = None
        self.spawned_at: float | None = None  # time.perf_counter() just before Popen
        self.line_at: float | None = None     # ... just after the listening line was read
        self._rest = b""
        self._extra: list[bytes] = []
        self._drain: threading.Thread | None = None
        self._eof = False  # stdout closed before a line came: the process is exiting

    # ---- start ---------------------------------------------------------------------------
    @property
    def pid(self) -> int:
        assert self.proc is not None, f"{self.name} was never started"
        return self.proc.pid

    def spawn(self) -> None:
        """Starts the process; does not wait for it."""
        assert not self.running(), f"{self.name} is already running"
        self.port = self.first_line = self.line_at = None
        self._rest, self._extra, self._drain, self._eof = b"", [], None, False
        with open(self.stderr_path, "ab") as err:
            err.write(f"==== start {shlex.join(self.command)}\n".encode())
            err.flush()
            self.spawned_at = time.perf_counter()
            self.proc = subprocess.Popen(self.command, stdin=subprocess.DEVNULL,
                                         stdout=subprocess.PIPE, stderr=err, env=self.env,
                                         preexec_fn=self.preexec_fn)

    def read_first_line(self, timeout: float, drain: bool = True) -> str | None:
        """The first stdout line (without its end of line), or None when none came within
        `timeout` seconds or the process closed stdout first. Then, with `drain`, starts
        collecting the rest (see start_draining)."""
        assert self.proc is not None and self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        deadline = time.perf_counter() + timeout
        buf = b""
        while b"\n" not in buf:
            left = deadline - time.perf_counter()
            if left <= 0:
                break
            ready, _, _ = select.select([fd], [], [], min(left, 0.5))
            if not ready:
                continue
            chunk = os.read(fd, 4096)
            if not chunk:
                self._eof = True
                break
            buf += chunk
        if b"\n" not in buf:
            self._rest = buf
            return None
        line, self._rest = buf.split(b"\n", 1)
        self.line_at = time.perf_counter()
        if drain:
            self.start_draining()
        return line.decode("utf-8", "replace").rstrip("\r")

    def start_draining(self) -> None:
        """Collects later stdout on a daemon thread, so the pipe never fills. Starting a
        thread waits until it runs, which costs milliseconds on a busy host: a caller that
        times what comes right after the listening line passes drain=False and calls this
        afterwards."""
        if (self._drain is None and self.proc is not None and self.proc.stdout is not None
                and not self.proc.stdout.closed):
            self._drain = threading.Thread(target=self._collect,
                                           args=(self.proc.stdout.fileno(),), daemon=True)
            self._drain.start()

    def start(self, timeout: float = 10.0) -> int:
        """spawn(), then wait_listening(timeout); returns the port."""
        self.spawn()
        return self.wait_listening(timeout)

    def wait_listening(self, timeout: float, drain: bool = True) -> int:
        """Waits for the listening line; returns the port. Raises LaunchError (after killing
        the process) when the line does not come within `timeout` seconds. `drain`: as for
        read_first_line."""
        line = self.read_first_line(timeout, drain)
        match = self.listening.search(line) if line is not None else None
        if match is None:
            rc = self._exit_code_after_eof()
            if rc is None:
                self.kill()
            self.finish()
            got = "" if line is None else f" (got {line!r})"
            raise LaunchError(f"{self.name} did not print its listening line within {timeout}s"
                              f"{got} (exit code {rc}); stderr:\n{self.stderr_tail()}")
        self.first_line = line
        self.port = int(match.group(1))
        return self.port

    def _exit_code_after_eof(self) -> int | None:
        """The exit code; after stdout's EOF the process is exiting, so give it a moment."""
        if self._eof:
            try:
                return self.proc.wait(timeout=2)
            except subprocess.TimeoutExpired:
                return None
        return self.proc.poll()

    def _collect(self, fd: int) -> None:
        while True:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                return
            if not chunk:
                return
            self._extra.append(chunk)

    # ---- state and stop ------------------------------------------------------------------
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def terminate(self, sig: int = signal.SIGTERM, timeout: float = 10.0) -> int | None:
        """Sends `sig` (when still running) and waits; the exit code, or None when the process
        did not exit within `timeout` and was killed (SIGKILL)."""
        assert self.proc is not None, f"{self.name} was never started"
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.kill()
                self.finish()
                return None
        self.finish()
        return self.proc.returncode

    def kill(self) -> None:
        """SIGKILL and reap (no-op when it has exited)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)

    def finish(self) -> list[str]:
        """After the process has exited: the stdout lines it wrote after the listening line."""
        if self._drain is not None:
            self._drain.join(timeout=5)
        data = self._rest + b"".join(self._extra)
        drained = self._drain is None or not self._drain.is_alive()
        if drained and self.proc is not None and self.proc.stdout is not None \
                and self.proc.poll() is not None:
            self.proc.stdout.close()
        text = data.decode("utf-8", "replace")
        return [line.rstrip("\r") for line in text.split("\n") if line] if text else []

    def stderr_tail(self, n: int = 4000) -> str:
        """The last `n` bytes of the stderr file."""
        try:
            return self.stderr_path.read_bytes()[-n:].decode("utf-8", "replace")
        except OSError:
            return "<no log>"
