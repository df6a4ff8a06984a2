"""The shared launcher (tests/support/kmsd_process.py) against a stand-in server: a Python
child that prints a listening line, so no kmsd build is needed."""
from __future__ import annotations

import signal
import sys

import pytest

from kmsdbench.paths import SUPPORT_DIR

if SUPPORT_DIR not in sys.path:
    sys.path.insert(0, SUPPORT_DIR)
from kmsd_process import KmsdProcess, LaunchError  # noqa: E402


def stand_in(tmp_path, body: str) -> KmsdProcess:
    script = tmp_path / "server.py"
    script.write_text("import signal, sys, time\n" + body)
    return KmsdProcess([sys.executable, str(script)], tmp_path / "server.log")


LISTENS = ("signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))\n"
           "sys.stderr.write('ready\\n'); sys.stderr.flush()\n"
           "print('kmsd listening on http://127.0.0.1:4242', flush=True)\n"
           "time.sleep(30)\n")


def test_start_reads_the_port_and_times_the_line(tmp_path):
    proc = stand_in(tmp_path, LISTENS)
    assert proc.start(timeout=10) == 4242
    assert proc.first_line == "kmsd listening on http://127.0.0.1:4242"
    assert proc.running() and proc.pid > 0
    assert proc.line_at > proc.spawned_at
    assert proc.terminate() == 0
    assert not proc.running()
    log = (tmp_path / "server.log").read_text()
    assert log.startswith("==== start ") and "ready" in log


def test_later_stdout_lines_are_collected(tmp_path):
    proc = stand_in(tmp_path, "print('kmsd listening on http://127.0.0.1:7', flush=True)\n"
                              "print('stray', flush=True)\n")
    proc.start(timeout=10)
    proc.proc.wait(timeout=10)
    assert proc.terminate() == 0
    assert proc.finish() == ["stray"]


def test_no_listening_line_is_a_launch_error_with_the_stderr_tail(tmp_path):
    proc = stand_in(tmp_path, "sys.stderr.write('address in use\\n'); sys.exit(3)\n")
    with pytest.raises(LaunchError, match=r"(?s)exit code 3.*address in use"):
        proc.start(timeout=10)


def test_a_silent_process_is_killed_at_the_deadline(tmp_path):
    proc = stand_in(tmp_path, "time.sleep(30)\n")
    with pytest.raises(LaunchError, match="within 0.3s"):
        proc.start(timeout=0.3)
    assert not proc.running()


def test_terminate_kills_what_ignores_the_signal(tmp_path):
    proc = stand_in(tmp_path, "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
                              "print('kmsd listening on http://127.0.0.1:9', flush=True)\n"
                              "time.sleep(30)\n")
    proc.start(timeout=10)
    assert proc.terminate(signal.SIGTERM, timeout=0.3) is None
    assert proc.proc.returncode == -signal.SIGKILL
