"""The kmsd process contract: the listening line, signals, flags and environment variables,
the README's list of them, a clear error for a data directory kmsd cannot write, and a data
directory that is private and served by one kmsd at a time (issue 17)."""
from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

from e2e_support import (KMSD_BIN, LISTEN_PREFIX, REPO_ROOT, KmsdServer, call_ok, key_arn, raw,
                         server_env)


def run_kmsd(*args: str, timeout: float = 10) -> subprocess.CompletedProcess:
    return subprocess.run([str(KMSD_BIN), *args], capture_output=True, timeout=timeout,
                          env=server_env(), stdin=subprocess.DEVNULL)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_one_listening_line_and_sigterm_exits_zero(fresh_server):
    srv = fresh_server()
    assert srv.url.startswith("http://127.0.0.1:") and srv.port > 0
    assert call_ok(srv.url, "ListKeys", {})["Keys"] == []
    srv.stop()  # asserts exit code 0
    assert srv.stdout_lines == [], f"stdout should hold only the listening line: {srv.stdout_lines}"


def test_sigint_exits_zero(fresh_server):
    srv = fresh_server()
    call_ok(srv.url, "CreateKey", {})
    srv.stop(sig=signal.SIGINT)


def test_sigterm_with_an_idle_keep_alive_connection(fresh_server):
    import http.client
    srv = fresh_server()
    conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=5)
    try:
        assert raw(srv.url, "ListKeys", b"{}", conn=conn).status == 200
        srv.stop(timeout=10)  # an open idle connection must not block shutdown
    finally:
        conn.close()


def test_help_and_version():
    help_ = run_kmsd("--help")
    out = (help_.stdout + help_.stderr).decode()
    assert help_.returncode == 0, f"--help exited {help_.returncode}: {out}"
    for flag in ("--port", "--host", "--data-dir", "--in-memory", "--region", "--account-id"):
        assert flag in out, f"--help does not mention {flag}:\n{out}"
    version = run_kmsd("--version")
    vout = (version.stdout + version.stderr).decode().strip()
    assert version.returncode == 0 and vout, f"--version exited {version.returncode}: {vout!r}"


def test_version_matches_health(fresh_server):
    srv = fresh_server()
    health = raw(srv.url, None, b"", method="GET", path="/_kmsd/health").json
    vout = run_kmsd("--version").stdout.decode()
    assert health["version"] in vout, f"health version {health['version']!r} not in --version {vout!r}"


@pytest.mark.parametrize("args", [["--no-such-flag"], ["--port", "notaport"], ["--port", "70000"],
                                  ["--threads", "-1"]])
def test_bad_flags_fail(args, tmp_path):
    proc = run_kmsd("--data-dir", str(tmp_path), *args)
    out = (proc.stdout + proc.stderr).decode()
    assert proc.returncode != 0, f"kmsd {args} exited 0: {out}"
    assert LISTEN_PREFIX not in out, f"kmsd {args} started listening: {out}"


def test_region_and_account_flags(fresh_server):
    srv = fresh_server(extra_args=["--region", "eu-central-1", "--account-id", "444455556666",
                                   "--threads", "2", "--log-level", "debug"])
    md = call_ok(srv.url, "CreateKey", {})["KeyMetadata"]  # no Authorization: default region
    assert md["Arn"] == key_arn(md["KeyId"], "eu-central-1", "444455556666"), md["Arn"]
    assert md["AWSAccountId"] == "444455556666"
    policy = call_ok(srv.url, "GetKeyPolicy", {"KeyId": md["KeyId"], "PolicyName": "default"})
    assert "arn:aws:iam::444455556666:root" in policy["Policy"], policy
    # A signed request's region still wins over the default.
    md2 = call_ok(srv.url, "CreateKey", {}, region="us-west-2")["KeyMetadata"]
    assert md2["Arn"] == key_arn(md2["KeyId"], "us-west-2", "444455556666"), md2["Arn"]


def test_environment_variables(fresh_server, tmp_path):
    data = tmp_path / "env-data"
    data.mkdir(mode=0o700)
    port = free_port()
    env = {"KMS_PORT": str(port), "KMS_REGION": "ap-south-1", "KMS_ACCOUNT_ID": "999988887777",
           "KMS_DATA_PATH": str(data)}
    srv = fresh_server(env=env, data_dir=None, port_arg=None)
    assert srv.port == port, f"KMS_PORT={port} ignored: listening on {srv.port}"
    md = call_ok(srv.url, "CreateKey", {})["KeyMetadata"]
    assert md["Arn"] == key_arn(md["KeyId"], "ap-south-1", "999988887777"), md["Arn"]
    srv.stop()
    assert any(data.iterdir()), f"KMS_DATA_PATH={data} was not used (directory is empty)"
    srv.start()  # same env: the key is still there
    assert call_ok(srv.url, "DescribeKey", {"KeyId": md["KeyId"]})["KeyMetadata"]["KeyId"] == md["KeyId"]


def test_flags_beat_environment(fresh_server):
    srv = fresh_server(env={"KMS_REGION": "ap-south-1", "KMS_PORT": "1"},
                       extra_args=["--region", "sa-east-1"])
    md = call_ok(srv.url, "CreateKey", {})["KeyMetadata"]
    assert ":sa-east-1:" in md["Arn"], f"--region should beat KMS_REGION: {md['Arn']}"


def test_port_env_fallback(fresh_server):
    port = free_port()
    srv = fresh_server(env={"PORT": str(port)}, port_arg=None)
    assert srv.port == port, f"PORT={port} ignored: listening on {srv.port}"


def test_readme_documents_every_flag_and_environment_variable():
    """README's configuration table is kept by hand: it must list everything --help lists."""
    help_text = run_kmsd("--help").stdout.decode()
    flags = set(re.findall(r"^  (--[a-z-]+)", help_text, re.MULTILINE)) - {"--help", "--version"}
    env_vars = set(re.findall(r"\b(KMS_[A-Z_]+)\b", help_text))
    assert "--max-connections" in flags and "KMS_MAX_CONNECTIONS" in env_vars, help_text
    readme = (REPO_ROOT / "README.md").read_text()
    table = readme.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in table.splitlines() if line.startswith("| `--")]
    documented_flags = {re.match(r"\| `(--[a-z-]+)", row).group(1) for row in rows}
    assert flags <= documented_flags, f"README lacks {sorted(flags - documented_flags)}"
    missing_env = {v for v in env_vars if f"`{v}`" not in table}
    assert not missing_env, f"README's configuration table lacks {sorted(missing_env)}"


# ---- a data directory kmsd cannot write ----------------------------------------------------
class ReadOnlyDir:
    """A directory made read-only in the way that stops this process: for root, whom file modes
    do not stop, a tmpfs mount (remounted read-only); for anyone else, mode 0555."""

    def __init__(self, path: Path):
        self.path = path
        self.path.mkdir()
        self.as_root = os.geteuid() == 0
        self.mounted = False
        if self.as_root:
            # mode=0700: a tmpfs root is 1777 by default, which kmsd refuses (issue 17).
            done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m,mode=0700", "tmpfs",
                                   str(path)], capture_output=True)
            if done.returncode != 0:
                pytest.skip("running as root, where only a read-only mount stops writes, and "
                            f"mount is not permitted here: {done.stderr.decode().strip()}")
            self.mounted = True
        self.cause = "read-only file system" if self.as_root else "permission denied"

    def make_read_only(self) -> None:
        if self.as_root:
            subprocess.run(["mount", "-o", "remount,ro", str(self.path)], check=True)
        else:
            self.path.chmod(0o555)

    def cleanup(self) -> None:
        if self.mounted:
            subprocess.run(["umount", "-l", str(self.path)], check=False)
        elif self.path.exists():
            self.path.chmod(0o755)


@pytest.fixture
def read_only_dir(tmp_path):
    d = ReadOnlyDir(tmp_path / "ro")
    yield d
    d.cleanup()


def _start_fails_clearly(data_dir: Path, expected_line: str) -> None:
    before = sorted(p.name for p in data_dir.parent.rglob("*"))
    began = time.monotonic()
    proc = run_kmsd("--port", "0", "--data-dir", str(data_dir), timeout=10)
    took = time.monotonic() - began
    err = proc.stderr.decode()
    assert proc.returncode != 0, f"kmsd started on a read-only data directory: {err}"
    assert took < 1.0, f"kmsd took {took:.2f} s to give up"
    assert proc.stdout == b"", f"kmsd printed on stdout: {proc.stdout!r}"
    assert err.splitlines() == [expected_line], f"expected one clear line, got:\n{err}"
    assert sorted(p.name for p in data_dir.parent.rglob("*")) == before, "kmsd left files behind"


@pytest.mark.parametrize("existing", [False, True], ids=["empty", "with-database"])
def test_read_only_data_directory_is_one_clear_error(read_only_dir, tmp_path, existing):
    if existing:  # a database made by an earlier run, then the directory turned read-only
        srv = KmsdServer(read_only_dir.path, tmp_path / "kmsd.log")
        srv.start()
        call_ok(srv.url, "CreateKey", {})
        srv.stop()
        assert (read_only_dir.path / "kms.db").exists()
    read_only_dir.make_read_only()
    _start_fails_clearly(read_only_dir.path, f"kmsd: cannot open data directory "
                                             f"{read_only_dir.path}: {read_only_dir.cause}")


def test_data_directory_that_cannot_be_created_is_one_clear_error(read_only_dir):
    read_only_dir.make_read_only()
    missing = read_only_dir.path / "data"
    _start_fails_clearly(missing, f"kmsd: cannot create data directory {missing}: "
                                  f"{read_only_dir.cause}")


# ---- issue 17: a private data directory, served by one kmsd at a time ----------------------
def _start_is_refused(data_dir: Path, expected_line: str) -> None:
    """kmsd on data_dir exits 1 at once with exactly expected_line on stderr."""
    proc = run_kmsd("--port", "0", "--data-dir", str(data_dir), timeout=10)
    err = proc.stderr.decode()
    assert proc.returncode == 1, f"kmsd on {data_dir} exited {proc.returncode}: {err}"
    assert proc.stdout == b"", f"kmsd printed on stdout: {proc.stdout!r}"
    assert err.splitlines() == [expected_line], f"expected {expected_line!r}, got:\n{err}"


def _mode(path: Path) -> str:
    return oct(path.lstat().st_mode & 0o7777)


def test_second_kmsd_on_a_data_directory_is_refused_and_the_first_serves_on(fresh_server):
    first = fresh_server()
    key_id = call_ok(first.url, "CreateKey", {})["KeyMetadata"]["KeyId"]
    _start_is_refused(first.data_dir, f"kmsd: data directory {first.data_dir} is in use by "
                                      f"another kmsd (pid {first.proc.pid})")
    # The refused start touched nothing: the first still serves what it had, and writes.
    assert call_ok(first.url, "DescribeKey", {"KeyId": key_id})["KeyMetadata"]["KeyId"] == key_id
    key_id2 = call_ok(first.url, "CreateKey", {})["KeyMetadata"]["KeyId"]
    first.stop()
    # Once it has stopped, the directory is free again, with everything acknowledged in it.
    first.start()
    listed = {k["KeyId"] for k in call_ok(first.url, "ListKeys", {})["Keys"]}
    assert listed == {key_id, key_id2}, listed
    _start_is_refused(first.data_dir, f"kmsd: data directory {first.data_dir} is in use by "
                                      f"another kmsd (pid {first.proc.pid})")


def test_a_killed_kmsd_leaves_its_data_directory_free(fresh_server):
    srv = fresh_server()
    call_ok(srv.url, "CreateKey", {})
    srv.kill9()  # the lock goes with the process; the lock file, with its old pid, stays
    srv.start()
    assert len(call_ok(srv.url, "ListKeys", {})["Keys"]) == 1


def test_in_memory_takes_no_lock(fresh_server):
    first = fresh_server()
    fresh_server(extra_args=["--in-memory"], data_dir=first.data_dir)  # starts


def test_data_directory_and_database_files_are_private_whatever_the_umask(tmp_path):
    data = tmp_path / "parent" / "data"
    srv = KmsdServer(data, tmp_path / "kmsd.log", preexec_fn=lambda: os.umask(0))
    try:
        srv.start()
        call_ok(srv.url, "CreateKey", {})  # the database exists once a write is acknowledged
        names = ["kms.db", "kms.db-wal", "kms.db-shm"]  # -wal and -shm: while kmsd runs
        assert set(names) <= {p.name for p in data.iterdir()}, sorted(data.iterdir())
        assert _mode(data) == "0o700"
        assert {n: _mode(data / n) for n in names} == {n: "0o600" for n in names}
        assert _mode(data / "kmsd.lock") == "0o600"
        srv.stop()
        # Files an older kmsd made 0644 are made private at the next start.
        (data / "kms.db").chmod(0o644)
        srv.start()
        assert _mode(data / "kms.db") == "0o600"
        assert len(call_ok(srv.url, "ListKeys", {})["Keys"]) == 1
    finally:
        srv.cleanup()


@pytest.mark.parametrize("problem", ["group-writable", "other-writable", "other-owner"])
def test_a_data_directory_others_could_write_is_refused(tmp_path, problem):
    data = tmp_path / "data"
    data.mkdir(mode=0o700)
    if problem == "other-owner":
        if os.geteuid() != 0:
            pytest.skip("only root can give a directory to another user")
        os.chown(data, 65534, 65534)
        expected = (f"kmsd: data directory {data} is owned by uid 65534, not by kmsd's user "
                    f"(uid 0); run kmsd as its owner or use another directory")
    else:
        mode = 0o770 if problem == "group-writable" else 0o703
        data.chmod(mode)
        expected = (f"kmsd: data directory {data} is writable by group or others (mode "
                    f"{mode:04o}); run 'chmod go-w {data}'")
    before = data.stat()
    _start_is_refused(data, expected)
    after = data.stat()
    assert (after.st_mode, after.st_uid) == (before.st_mode, before.st_uid), "kmsd changed it"
    assert list(data.iterdir()) == []


def test_an_empty_database_file_is_refused(tmp_path):
    data = tmp_path / "data"
    data.mkdir(mode=0o700)
    (data / "kms.db").touch()
    _start_is_refused(data, f"kmsd: database file {data / 'kms.db'} is empty (0 bytes), so it "
                            f"is damaged: kmsd never leaves an empty one; move it away and kmsd "
                            f"will create a new database")
    assert (data / "kms.db").stat().st_size == 0


@pytest.mark.parametrize("name", ["kms.db", "kms.db-wal"])
def test_a_database_file_that_is_a_symbolic_link_is_refused(fresh_server, tmp_path, name):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir(mode=0o700)
    srv = fresh_server(data_dir=elsewhere)  # a real database kmsd would otherwise serve
    call_ok(srv.url, "CreateKey", {})
    srv.stop()
    data = tmp_path / "data"
    data.mkdir(mode=0o700)
    if name != "kms.db":
        (data / "kms.db").write_bytes((elsewhere / "kms.db").read_bytes())
    (data / name).symlink_to(elsewhere / name)
    _start_is_refused(data, f"kmsd: database file {data / name} is a symbolic link, which kmsd "
                            f"does not follow; put the file itself there")
