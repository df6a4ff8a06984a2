"""What a hostile client or a web page in the developer's browser could do to kmsd (issue #17).

* Every byte a request makes kmsd hold counts against a limit, whatever the framing: multi-MiB
  chunk extensions and trailers get 431 and the process stays small.
* HTTP framing as RFC 9112 says: a Transfer-Encoding other than exactly "chunked" is 400 and
  close (no request smuggling); HEAD gets no body; Expect: 100-continue is answered at once.
* DNS rebinding: a request whose Host is not one kmsd answers to is refused, unless
  --allowed-hosts names it; a web page's cross-site POST cannot reset kmsd.
"""
from __future__ import annotations

import json
import socket
import time

import pytest

from e2e_support import JSON_CT, RSS_CHECKED, call, call_ok, make_client, raw, rss_kib

HEAD_LIMIT = 16 * 1024


def head(extra: str = "", target: str = "GenerateRandom", host: str = "127.0.0.1") -> bytes:
    return (f"POST / HTTP/1.1\r\nHost: {host}\r\nContent-Type: {JSON_CT}\r\n"
            f"X-Amz-Target: TrentService.{target}\r\n{extra}\r\n").encode()


def read_all(sock: socket.socket, timeout: float = 5.0) -> bytes:
    """What the server sends until it closes (or `timeout` passes without a byte)."""
    sock.settimeout(timeout)
    data = b""
    while True:
        try:
            chunk = sock.recv(65536)
        except socket.timeout:
            return data
        except ConnectionResetError:
            return data
        if not chunk:
            return data
        data += chunk


# ---- every byte bounded --------------------------------------------------------------------
@pytest.mark.parametrize("part", ["chunk extensions", "trailers"])
def test_multi_mib_chunk_framing_gets_431_and_memory_stays_bounded(server, part):
    """Eight connections each send 4 MiB of one chunk-size line (or of trailer fields). Before
    the fix kmsd buffered all of it: 8 x 4 MiB resident. Now each stops at the header limit."""
    pid = server.proc.pid
    idle = rss_kib(pid)
    socks = []
    for _ in range(8):
        s = socket.create_connection(("127.0.0.1", server.port), timeout=10)
        s.sendall(head("Transfer-Encoding: chunked\r\n"))
        socks.append(s)
    peak = idle
    for s in socks:
        try:
            if part == "chunk extensions":
                s.sendall(b"5;" + b"e" * 100)
                for _ in range(64):
                    s.sendall(b"e" * 65536)
            else:
                s.sendall(b"5\r\n{\"Num\r\n0\r\n")
                for _ in range(64):
                    s.sendall(b"X-Trailer: " + b"t" * 65000 + b"\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass  # kmsd answered and closed; what we still sent went nowhere
        peak = max(peak, rss_kib(pid))
    for s in socks:
        got = read_all(s)
        s.close()
        assert got.startswith(b"HTTP/1.1 431 "), f"{part}: {got[:300]!r}"
        body = json.loads(got.partition(b"\r\n\r\n")[2])
        assert body["__type"] == "RequestHeaderFieldsTooLargeException", body
        assert str(HEAD_LIMIT) in body["message"], body
        assert b"Connection: close\r\n" in got
    after = rss_kib(pid)
    print(f"\n{part}: 8 x 4 MiB sent; kmsd RSS idle {idle} KiB, peak {peak} KiB, after {after} KiB")
    if RSS_CHECKED:
        assert peak - idle < 4 * 1024, f"{part}: RSS grew from {idle} to {peak} KiB"
        assert after - idle < 2 * 1024, f"{part}: RSS did not return to idle: {idle} -> {after}"
    assert call_ok(server.url, "GenerateRandom", {"NumberOfBytes": 4})


def test_many_small_chunks_count_their_framing(server):
    """No line is long, but 1-byte chunks with extensions add up past the header limit."""
    payload = b"".join(b"1;" + b"x" * 40 + b"\r\n{\r\n" for _ in range(1000)) + b"0\r\n\r\n"
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as s:
        try:
            s.sendall(head("Transfer-Encoding: chunked\r\n") + payload)
        except (BrokenPipeError, ConnectionResetError):
            pass
        got = read_all(s)
    assert got.startswith(b"HTTP/1.1 431 "), got[:300]


# ---- framing as RFC 9112 says ----------------------------------------------------------------
@pytest.mark.parametrize("coding", ["gzip", "chunked, gzip", "gzip, chunked", "identity",
                                    "chunked\r\nTransfer-Encoding: chunked"])
def test_transfer_encoding_other_than_chunked_is_400_and_close(server, coding):
    smuggled = (b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Amz-Target: TrentService.CreateKey\r\n"
                b"Content-Length: 2\r\n\r\n{}")
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as s:
        s.sendall(head(f"Transfer-Encoding: {coding}\r\n", target="ListKeys") + smuggled)
        got = read_all(s)
    assert got.startswith(b"HTTP/1.1 400 "), got[:300]
    assert got.count(b"HTTP/1.1 ") == 1, f"more than one answer: {got!r}"
    body = json.loads(got.partition(b"\r\n\r\n")[2])
    assert body["__type"] == "SerializationException", body
    assert call_ok(server.url, "ListKeys", {})["Keys"] == [], "the smuggled CreateKey ran"


def test_head_response_has_no_body(server):
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as s:
        s.sendall(b"HEAD /_kmsd/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
                  b"GET /_kmsd/health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        got = read_all(s)
    first, _, rest = got.partition(b"\r\n\r\n")
    assert first.startswith(b"HTTP/1.1 200 "), got
    length = int(next(line.split(b":")[1] for line in first.split(b"\r\n")
                      if line.lower().startswith(b"content-length:")))
    assert length > 0, "HEAD should announce the length GET would send"
    assert rest.startswith(b"HTTP/1.1 200 "), f"HEAD sent a body: {rest[:100]!r}"
    assert json.loads(rest.partition(b"\r\n\r\n")[2])["status"] == "ok"


def test_expect_100_continue_is_answered_at_once(server):
    body = b'{"NumberOfBytes": 6}'
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as s:
        s.sendall(head(f"Expect: 100-continue\r\nContent-Length: {len(body)}\r\n"))
        s.settimeout(0.5)  # clients give up waiting after about a second and send anyway
        begin = time.monotonic()
        interim = s.recv(100)
        waited = time.monotonic() - begin
        assert interim == b"HTTP/1.1 100 Continue\r\n\r\n", interim
        assert waited < 0.4, f"100 Continue took {waited:.3f} s"
        s.sendall(body)
        s.settimeout(5)
        final = s.recv(4096)
    assert final.startswith(b"HTTP/1.1 200 "), final


def test_boto3_with_expect_continue_header_is_not_delayed(server, kms):
    """An SDK that sends Expect: 100-continue (boto3 does for large bodies) is not held up."""
    def add_expect(request, **_kwargs):
        request.headers["Expect"] = "100-continue"
    kms.meta.events.register("before-send.kms.GenerateRandom", add_expect)
    begin = time.monotonic()
    out = kms.generate_random(NumberOfBytes=16)
    assert len(out["Plaintext"]) == 16
    assert time.monotonic() - begin < 0.5


# ---- web pages -----------------------------------------------------------------------------
def test_dns_rebinding_host_is_refused_for_the_kms_api_and_admin(server):
    key = call_ok(server.url, "CreateKey", {})["KeyMetadata"]["KeyId"]
    for host in ("evil.example", f"evil.example:{server.port}", "127.0.0.1.nip.io"):
        r = raw(server.url, "ListKeys", b"{}", headers={"Host": host})
        assert r.status == 400 and r.type == "AccessDeniedException", f"{host}: {r.describe()}"
        assert key not in r.body.decode(), r.describe()
        h = raw(server.url, None, b"", method="GET", path="/_kmsd/health", headers={"Host": host})
        assert h.type == "AccessDeniedException", h.describe()
    for host in ("localhost", f"localhost:{server.port}", f"127.0.0.1:{server.port}",
                 f"[::1]:{server.port}"):
        r = raw(server.url, "ListKeys", b"{}", headers={"Host": host})
        assert r.status == 200, f"{host}: {r.describe()}"


def test_a_web_pages_cross_site_post_cannot_reset(server):
    """What fetch('http://127.0.0.1:4599/_kmsd/reset', {method: 'POST', mode: 'no-cors'}) or a
    form on another site sends: a simple request, which the browser does not preflight."""
    key = call_ok(server.url, "CreateKey", {})["KeyMetadata"]["KeyId"]
    page = {"Origin": "http://evil.example"}
    for content_type in ("text/plain;charset=UTF-8", "application/x-www-form-urlencoded",
                         "multipart/form-data; boundary=x"):
        r = raw(server.url, None, b"a=b", method="POST", path="/_kmsd/reset",
                headers={**page, "Content-Type": content_type})
        assert r.type == "AccessDeniedException", f"{content_type}: {r.describe()}"
        r = raw(server.url, None, b"a=b", method="POST", path="/_kmsd/reset",
                headers={"Content-Type": content_type})
        assert r.type == "AccessDeniedException", f"{content_type}, no Origin: {r.describe()}"
    r = raw(server.url, None, b"{}", method="POST", path="/_kmsd/reset",
            headers={**page, "Content-Type": "application/json"})
    assert r.type == "AccessDeniedException", r.describe()
    assert call_ok(server.url, "DescribeKey", {"KeyId": key}), "the key was reset away"
    # A script of the developer's (or kmsd's own origin) may reset.
    own = {"Origin": f"http://127.0.0.1:{server.port}", "Content-Type": "application/json"}
    r = raw(server.url, None, b"{}", method="POST", path="/_kmsd/reset", headers=own)
    assert r.status == 200, r.describe()
    assert call_ok(server.url, "ListKeys", {})["Keys"] == []


def test_allowed_hosts_adds_names_for_containers(fresh_server):
    srv = fresh_server(extra_args=["--allowed-hosts", "kms,kms.internal"])
    assert raw(srv.url, "ListKeys", b"{}", headers={"Host": "kms:4599"}).status == 200
    assert raw(srv.url, "ListKeys", b"{}", headers={"Host": "KMS.internal"}).status == 200
    assert raw(srv.url, "ListKeys", b"{}", headers={"Host": "other:4599"}).type == (
        "AccessDeniedException")
    env_srv = fresh_server(env={"KMS_ALLOWED_HOSTS": "kmsd"})
    assert raw(env_srv.url, "ListKeys", b"{}", headers={"Host": "kmsd"}).status == 200
    assert raw(env_srv.url, "ListKeys", b"{}", headers={"Host": "kms"}).status == 400


def test_every_client_still_works_on_the_default_bind(server, kms):
    """boto3 (and the CLI and the JS SDK, in their own tests) send Host: 127.0.0.1:PORT."""
    key = kms.create_key()["KeyMetadata"]["KeyId"]
    assert kms.describe_key(KeyId=key)["KeyMetadata"]["KeyId"] == key
    local = make_client(server.url.replace("127.0.0.1", "localhost"))
    assert local.describe_key(KeyId=key)["KeyMetadata"]["KeyId"] == key


# ---- errors reveal nothing internal ---------------------------------------------------------
def test_the_error_scan_records_what_clients_receive_and_flags_internal_detail(server, kms):
    """conftest.py scans every error message the suite received when the session ends; this
    checks that the scan sees errors from boto3 and raw HTTP, and what it flags."""
    from e2e_support import RECEIVED_ERRORS, internal_detail
    before = len(RECEIVED_ERRORS)
    with pytest.raises(Exception):
        kms.describe_key(KeyId="alias/none")
    call(server.url, "DescribeKey", {"KeyId": "alias/none"})
    wheres = [where for where, _, _ in RECEIVED_ERRORS[before:]]
    assert wheres == ["boto3 DescribeKey", "raw HTTP"], RECEIVED_ERRORS[before:]
    for leaked in ("sqlite3_step: disk I/O error", "INSERT INTO keys (id) VALUES (?1)",
                   "open /tmp/x/kms.db failed", "crypto/aes_gcm.cpp:42",
                   "error:1E08010C:DECODER routines::unsupported", "EVP_PKEY_sign failed",
                   "kms::storage::Registry::Apply", "uncaught exception: std::bad_alloc"):
        assert internal_detail(leaked), leaked
    for fine in ("Alias arn:aws:kms:us-east-1:111122223333:alias/none is not found.",
                 "Invalid keyId 'alias/aws/x'", "Algorithm RSAES_OAEP_SHA_1 and key spec "
                 "RSA_2048 cannot encrypt data larger than 214 bytes.",
                 "User: arn:aws:iam::111122223333:root is not authorized to perform: "
                 "kms:DisableKey on resource: arn:aws:kms:us-east-1:111122223333:key/x"):
        assert not internal_detail(fine), fine
