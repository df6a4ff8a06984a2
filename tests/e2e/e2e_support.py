"""Shared helpers for the kmsd end-to-end suite (imported by conftest.py and the test files).

KmsdServer runs the real binary as a child process (through KmsdProcess,
tests/support/kmsd_process.py, the launcher bench/ uses too); raw() speaks HTTP/1.1 to it directly for
the inputs an SDK would refuse to send; expect_error() runs a boto3 call that must fail.
"""
from __future__ import annotations

import base64
import http.client
import json
import os
import re
import signal
import socket
import subprocess
import sys
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import boto3
import botocore.config
import botocore.exceptions

REPO_ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO_ROOT / "tests" / "support"))
from kmsd_process import KmsdProcess  # noqa: E402  (the launcher shared with bench/)

KMSD_BIN = Path(os.environ.get("KMSD_BIN", REPO_ROOT / "build" / "server" / "kmsd"))

ACCOUNT = "111122223333"
REGION = "us-east-1"
OTHER_REGION = "eu-west-2"
JSON_CT = "application/x-amz-json-1.1"
STARTUP_TIMEOUT_S = 10.0
LISTEN_PREFIX = "kmsd listening on http://127.0.0.1:"

# Under AddressSanitizer (scripts/sanitize.sh sets KMSD_SANITIZER=asan) resident memory is the
# allocator's quarantine and shadow, not kmsd's: tests that bound kmsd's memory skip the bound.
RSS_CHECKED = os.environ.get("KMSD_SANITIZER", "") not in ("asan",)


def rss_kib(pid: int) -> int:
    """A process's resident memory (VmRSS), in KiB."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError(f"no VmRSS in /proc/{pid}/status")


# Variables that would change the server's defaults; the fixtures start kmsd without them.
_SERVER_ENV_VARS = ("KMS_PORT", "PORT", "KMS_REGION", "KMS_ACCOUNT_ID", "KMS_DATA_PATH",
                    "KMS_SEED_PATH", "KMS_MAX_CONNECTIONS", "KMS_ALLOWED_HOSTS")


def partition_of(region: str) -> str:
    """The AWS partition of a region, as kmsd maps it (server/ops/context.hpp: PartitionOf)."""
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


def key_arn(key_id: str, region: str = REGION, account: str = ACCOUNT) -> str:
    return f"arn:{partition_of(region)}:kms:{region}:{account}:key/{key_id}"


def alias_arn(alias_name: str, region: str = REGION, account: str = ACCOUNT) -> str:
    return f"arn:{partition_of(region)}:kms:{region}:{account}:{alias_name}"


def server_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _SERVER_ENV_VARS}
    env.update(extra or {})
    return env


class KmsdServer:
    """One kmsd child process bound to 127.0.0.1 on a port the kernel picks.

    start() may be called again after stop()/kill9(); it reuses the same data dir (the port
    usually changes, so build clients from .url after each start()). The process itself is a
    KmsdProcess (tests/support/kmsd_process.py, shared with bench/); this class adds the
    suite's defaults and its assertions.
    """

    def __init__(self, data_dir: Path | None, log_path: Path, extra_args: list[str] | None = None,
                 env: dict[str, str] | None = None, port_arg: str | None = "0",
                 preexec_fn: Callable[[], None] | None = None):
        self.data_dir = data_dir
        self.preexec_fn = preexec_fn  # runs in the child before exec (resource limits)
        self.port_arg = port_arg  # None: no --port flag (the port comes from the environment)
        self.log_path = log_path
        self.extra_args = list(extra_args or [])
        self.env = env
        self.process: KmsdProcess | None = None
        self.url: str | None = None
        self.port: int | None = None
        self.stdout_lines: list[str] = []

    @property
    def proc(self) -> subprocess.Popen | None:
        return self.process.proc if self.process is not None else None

    # ---- lifecycle -------------------------------------------------------------------------
    def args(self) -> list[str]:
        args = [str(KMSD_BIN), "--host", "127.0.0.1"]
        if self.port_arg is not None:
            args += ["--port", self.port_arg]
        if self.data_dir is not None:
            args += ["--data-dir", str(self.data_dir)]
        return args + self.extra_args

    def start(self) -> "KmsdServer":
        assert not self.running(), "kmsd is already running"
        assert KMSD_BIN.exists(), (
            f"kmsd binary not found at {KMSD_BIN}; build it with `cmake -S . -B build && "
            f"cmake --build build --target kmsd` or set KMSD_BIN")
        self.stdout_lines = []
        self.process = KmsdProcess(self.args(), self.log_path, env=server_env(self.env),
                                   preexec_fn=self.preexec_fn)
        self.process.spawn()
        line = self.process.read_first_line(STARTUP_TIMEOUT_S)
        if line is None:
            rc = self.process.proc.poll()
            self.process.kill()
            self._finish()
            raise AssertionError(
                f"kmsd did not print its listening line within {STARTUP_TIMEOUT_S}s "
                f"(exit code {rc}); stderr:\n{self.log_tail()}")
        assert line.startswith(LISTEN_PREFIX), f"unexpected first stdout line {line!r}"
        port_text = line[len(LISTEN_PREFIX):]
        assert port_text.isdigit() and 0 < int(port_text) < 65536, f"bad port in {line!r}"
        self.port = int(port_text)
        self.url = f"http://127.0.0.1:{self.port}"
        return self

    def _finish(self) -> None:
        if self.process is not None:
            self.stdout_lines = self.process.finish()

    def running(self) -> bool:
        return self.process is not None and self.process.running()

    def stop(self, timeout: float = 10.0, sig: int = signal.SIGTERM) -> int:
        """SIGTERM (or sig), wait, and require a clean exit (code 0)."""
        assert self.process is not None, "kmsd was never started"
        assert self.process.running(), (
            f"kmsd died before stop() (exit code {self.proc.returncode}); stderr:\n{self.log_tail()}")
        rc = self.process.terminate(sig, timeout)
        self._finish()
        if rc is None:
            raise AssertionError(f"kmsd did not exit within {timeout}s of signal {sig}; stderr:\n"
                                 f"{self.log_tail()}")
        assert rc == 0, f"kmsd exited with {rc} after signal {sig} (expected 0); stderr:\n{self.log_tail()}"
        return rc

    def kill9(self) -> None:
        assert self.running(), "kmsd is not running"
        self.process.terminate(signal.SIGKILL, 10)
        self._finish()

    def cleanup(self) -> None:
        """Teardown without assertions: whatever state the test left the process in."""
        if self.process is not None:
            self.process.terminate(signal.SIGTERM, 5)
            self._finish()

    def log_tail(self, n: int = 4000) -> str:
        try:
            return self.log_path.read_bytes()[-n:].decode("utf-8", "replace")
        except OSError:
            return "<no log>"

    # ---- clients ---------------------------------------------------------------------------
    def client(self, region: str = REGION):
        assert self.url, "server not started"
        return make_client(self.url, region)

    def reset(self) -> None:
        r = raw(self.url, None, b"", method="POST", path="/_kmsd/reset",
                headers={"Content-Type": "application/json"})
        assert r.status == 200, f"POST /_kmsd/reset -> {r.status} {r.body[:300]!r}"


def make_client(url: str, region: str = REGION):
    cfg = botocore.config.Config(retries={"max_attempts": 1}, connect_timeout=5, read_timeout=20)
    client = boto3.client("kms", endpoint_url=url, region_name=region, aws_access_key_id="AKIDTEST",
                          aws_secret_access_key="secret", config=cfg)
    watch_errors(client)
    return client


# ---- every error message the suite receives (issue #17) -----------------------------------
# kmsd must never tell a client anything internal: no SQL, SQLite text, file path, function
# name or OpenSSL string. Every error message the suite's clients receive (raw HTTP, boto3, the
# AWS CLI, the JS SDK) is recorded here, and conftest.py scans them all when the session ends.
RECEIVED_ERRORS: list[tuple[str, str, str]] = []  # (where, error type, message)

INTERNAL_DETAIL = [
    (re.compile(r"(?i)sqlite"), "SQLite"),
    (re.compile(r"(?i)\bsql\b|\b(?:SELECT|INSERT INTO|UPDATE|DELETE FROM)\s+\w"), "SQL"),
    (re.compile(r"\.(?:cpp|hpp|cc|h)\b"), "a source file"),
    (re.compile(r"(?:^|[\s'\"(=])/(?:tmp|work|home|var|usr|proc|etc|root|data|opt|srv|run)/"),
     "a file path"),
    (re.compile(r"(?i)\bkms\.db\b"), "the database file"),
    # OpenSSL's error strings ("error:1E08010C:DECODER routines::unsupported") and function
    # names. Naming the OpenSSL version a feature needs is not one (UnsupportedOperation).
    (re.compile(r"error:[0-9A-Fa-f]{8}:|\broutines\b|\b(?:EVP|OSSL|PEM|BIO|ERR|OPENSSL)_\w+"),
     "an OpenSSL error string"),
    # An IAM ARN's "iam::<12-digit account>:" is AWS's own text (AccessDeniedException names
    # the principal), not a C++ scope.
    (re.compile(r"\w::(?!\d{12}:)\w|\bstd::|what\(\)|bad_alloc"), "a C++ name"),
    (re.compile(r"(?i)\b(?:errno|EIO|ENOSPC|EFBIG|EACCES)\b|(?i:uncaught|threw)"),
     "a system error or exception"),
]


def internal_detail(message: str) -> list[str]:
    """What in `message` looks internal (empty when nothing does)."""
    return [what for pattern, what in INTERNAL_DETAIL if pattern.search(message or "")]


def record_error(where: str, error_type: str | None, message: str | None) -> None:
    RECEIVED_ERRORS.append((where, error_type or "", message or ""))


def watch_errors(client) -> None:
    """Records every error response a boto3 KMS client parses."""
    def after_call(http_response, parsed, model, **_kwargs):
        error = parsed.get("Error") if isinstance(parsed, dict) else None
        if error:
            record_error(f"boto3 {model.name}", error.get("Code"), error.get("Message"))
    client.meta.events.register("after-call.kms", after_call)


# ---- raw HTTP ------------------------------------------------------------------------------
@dataclass
class RawResponse:
    status: int
    headers: dict[str, str]  # lower-cased names
    body: bytes
    json: Any = field(default=None)

    @property
    def type(self) -> str | None:
        return self.json.get("__type") if isinstance(self.json, dict) else None

    @property
    def message(self) -> str | None:
        return self.json.get("message") if isinstance(self.json, dict) else None

    def describe(self) -> str:
        return f"HTTP {self.status} {self.body[:500]!r}"


def fake_authorization(region: str) -> str:
    """A SigV4-shaped Authorization header; kmsd reads the region from its credential scope."""
    return (f"AWS4-HMAC-SHA256 Credential=AKIDTEST/20250101/{region}/kms/aws4_request, "
            f"SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature={'0' * 64}")


def _read_response(resp: http.client.HTTPResponse) -> RawResponse:
    body = resp.read()
    headers = {k.lower(): v for k, v in resp.getheaders()}
    parsed = None
    try:
        parsed = json.loads(body) if body else None
    except ValueError:
        parsed = None
    if resp.status >= 400:
        if isinstance(parsed, dict):
            record_error("raw HTTP", parsed.get("__type"), parsed.get("message"))
        else:
            record_error("raw HTTP", str(resp.status), body.decode("utf-8", "replace"))
    return RawResponse(resp.status, headers, body, parsed)


def raw(url: str, target: str | None, body_bytes: bytes, headers: dict[str, str] | None = None,
        method: str = "POST", path: str = "/", conn: http.client.HTTPConnection | None = None,
        ) -> RawResponse:
    """Send one request with http.client. target None sends no X-Amz-Target header; a target
    without a dot gets the "TrentService." prefix. headers may override Content-Type; a value
    of None removes a header. Pass conn to reuse a keep-alive connection."""
    parts = urllib.parse.urlsplit(url)
    own = conn is None
    if own:
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=20)
    hdrs: dict[str, str | None] = {}
    if method != "GET":
        hdrs["Content-Type"] = JSON_CT
    if target is not None:
        hdrs["X-Amz-Target"] = target if "." in target else f"TrentService.{target}"
    hdrs.update(headers or {})
    try:
        conn.putrequest(method, path, skip_accept_encoding=True,
                        skip_host=any(k.lower() == "host" for k in hdrs))
        for k, v in hdrs.items():
            if v is not None:
                conn.putheader(k, v)
        if method != "GET" or body_bytes:
            conn.putheader("Content-Length", str(len(body_bytes)))
        conn.endheaders(body_bytes if body_bytes else None)
        return _read_response(conn.getresponse())
    finally:
        if own:
            conn.close()


def call(url: str, op: str, payload: Any, region: str | None = None,
         conn: http.client.HTTPConnection | None = None) -> RawResponse:
    """A raw JSON request; region puts a SigV4-shaped Authorization header on it."""
    headers = {"Authorization": fake_authorization(region)} if region else None
    return raw(url, op, json.dumps(payload).encode(), headers=headers, conn=conn)


def call_ok(url: str, op: str, payload: Any, region: str | None = None) -> dict:
    r = call(url, op, payload, region)
    assert r.status == 200, f"{op} {payload!r} failed: {r.describe()}"
    assert isinstance(r.json, dict), f"{op} returned a non-object body: {r.describe()}"
    return r.json


def assert_error(r: RawResponse, code: str, message: str | None = None, status: int = 400,
                 what: str = "") -> None:
    """An AWS-shaped JSON error: status, __type, and (when given) the exact message.
    message="" means the body must have no message field at all."""
    label = f"{what}: " if what else ""
    assert r.status == status, f"{label}expected HTTP {status} {code}, got {r.describe()}"
    assert isinstance(r.json, dict), f"{label}error body is not a JSON object: {r.describe()}"
    assert r.type == code, f"{label}expected __type {code}, got {r.describe()}"
    assert "x-amzn-requestid" in r.headers, f"{label}no x-amzn-RequestId header: {r.headers}"
    if message == "":
        assert "message" not in r.json and "Message" not in r.json, (
            f"{label}expected no message field: {r.describe()}")
    elif message is not None:
        assert r.message == message, f"{label}expected message {message!r}, got {r.describe()}"


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


# ---- boto3 errors --------------------------------------------------------------------------
def expect_error(fn: Callable[..., Any], code: str, message: str | None = None,
                 **kwargs) -> botocore.exceptions.ClientError:
    """Call fn(**kwargs); it must raise a ClientError with this code (and exact message, when
    given; "" means empty). Returns the error for further checks."""
    try:
        result = fn(**kwargs)
    except botocore.exceptions.ClientError as e:
        err = e.response.get("Error", {})
        got_code, got_msg = err.get("Code"), err.get("Message", "")
        assert got_code == code, (
            f"{fn.__name__}({kwargs!r}): expected {code}, got {got_code}: {got_msg!r}")
        if message is not None:
            assert got_msg == message, (
                f"{fn.__name__}: expected {code} message {message!r}, got {got_msg!r}")
        status = e.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        assert status == (500 if code == "KMSInternalException" else 400), (
            f"{fn.__name__}: {code} came with HTTP {status}")
        return e
    result = {k: v for k, v in result.items() if k != "ResponseMetadata"}
    raise AssertionError(f"{fn.__name__}({kwargs!r}) succeeded ({result!r}); expected {code}")


def port_is_free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True
