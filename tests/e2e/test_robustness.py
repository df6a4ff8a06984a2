"""Malformed and hostile input over raw HTTP/1.1 (http.client / sockets): every bad request
gets an AWS-shaped JSON error with x-amzn-RequestId, and the server keeps serving afterwards.
Also the /_kmsd/health and /_kmsd/reset endpoints."""
from __future__ import annotations

import base64
import http.client
import json
import socket
import threading
import urllib.parse

import pytest

from e2e_support import (JSON_CT, OTHER_REGION, assert_error, call, call_ok, key_arn, raw)


def still_serving(server) -> None:
    assert server.running(), f"kmsd died; stderr:\n{server.log_tail()}"
    r = call(server.url, "GenerateRandom", {"NumberOfBytes": 8})
    assert r.status == 200, f"server no longer serves normal requests: {r.describe()}"
    assert len(base64.b64decode(r.json["Plaintext"])) == 8


def host_port(url: str) -> tuple[str, int]:
    parts = urllib.parse.urlsplit(url)
    return parts.hostname, parts.port


# ---- bodies that are not the JSON the operation wants ------------------------------------------
BAD_BODIES = {
    "truncated JSON": ("DescribeKey", b'{"KeyId": '),
    "not JSON": ("DescribeKey", b"KeyId=abc"),
    "trailing garbage": ("ListKeys", b"{} {}"),
    # Issue #17: RapidJSON read a NUL byte as the end of the body, so these were served.
    "trailing NUL": ("DescribeKey", b'{"KeyId": "alias/x"}\x00'),
    "NUL then more JSON": ("DescribeKey", b'{"KeyId": "alias/x"}\x00{"KeyId": "alias/y"}'),
    "trailing letter": ("ListKeys", b"{}x"),
    "JSON array": ("DescribeKey", b'[{"KeyId": "x"}]'),
    "empty JSON array": ("ListKeys", b"[]"),
    "JSON string": ("ListKeys", b'"hello"'),
    "JSON number": ("ListKeys", b"5"),
    "JSON null": ("ListKeys", b"null"),
    "KeyId is a number": ("DescribeKey", b'{"KeyId": 5}'),
    "KeyId is an object": ("DescribeKey", b'{"KeyId": {"a": 1}}'),
    "NumberOfBytes is a string": ("GenerateRandom", b'{"NumberOfBytes": "x"}'),
    "NumberOfBytes is a float": ("GenerateRandom", b'{"NumberOfBytes": 1.5}'),
    "NumberOfBytes is a bool": ("GenerateRandom", b'{"NumberOfBytes": true}'),
    "Limit is a string": ("ListKeys", b'{"Limit": "10"}'),
    "context value is a number": ("Encrypt",
                                  b'{"KeyId": "alias/x", "Plaintext": "eA==", "EncryptionContext": {"a": 1}}'),
    "context is a list": ("Encrypt",
                          b'{"KeyId": "alias/x", "Plaintext": "eA==", "EncryptionContext": ["a"]}'),
    "Tags is an object": ("CreateKey", b'{"Tags": {"TagKey": "a", "TagValue": "b"}}'),
    "Plaintext is not base64": ("Encrypt", b'{"KeyId": "alias/x", "Plaintext": "!!not base64!!"}'),
    "DryRun is a string": ("Encrypt", b'{"KeyId": "alias/x", "Plaintext": "eA==", "DryRun": "yes"}'),
}


@pytest.mark.parametrize("name", list(BAD_BODIES))
def test_bad_body_is_serialization_exception(server, name):
    op, body = BAD_BODIES[name]
    r = raw(server.url, op, body)
    assert_error(r, "SerializationException", what=f"{name} ({body[:60]!r})")
    still_serving(server)


# Issue #17: a member name repeated in any object of a request used to be served (the first
# wins at the top level, the last inside a map): two readers could see two different requests.
DUPLICATE_BODIES = {
    "top-level KeyId": ("Encrypt", '{"KeyId": "%(key)s", "Plaintext": "eA==", "KeyId": "alias/x"}',
                        "KeyId"),
    "escaped twin": ("Encrypt", '{"KeyId": "%(key)s", "Plaintext": "eA==", "\\u004beyId": "x"}',
                     "KeyId"),
    "EncryptionContext key": ("Encrypt", '{"KeyId": "%(key)s", "Plaintext": "eA==", '
                              '"EncryptionContext": {"purpose": "a", "purpose": "b"}}', "purpose"),
    "Tags element": ("TagResource", '{"KeyId": "%(key)s", "Tags": [{"TagKey": "a", "TagValue": "1", '
                     '"TagKey": "b"}]}', "TagKey"),
    "unmodelled nested object": ("DescribeKey", '{"KeyId": "%(key)s", "X": [{"y": {"z": 1, "z": 2}}]}',
                                 "z"),
}


@pytest.mark.parametrize("name", list(DUPLICATE_BODIES))
def test_duplicate_member_names_are_serialization_exception(server, name):
    key_id = call_ok(server.url, "CreateKey", {})["KeyMetadata"]["KeyId"]
    op, body, member = DUPLICATE_BODIES[name]
    r = raw(server.url, op, (body % {"key": key_id}).encode())
    assert_error(r, "SerializationException", f'Duplicate member name "{member}" in a JSON object',
                 what=name)
    assert call_ok(server.url, "ListResourceTags", {"KeyId": key_id})["Tags"] == []
    still_serving(server)


def test_distinct_member_names_are_served(server):
    key_id = call_ok(server.url, "CreateKey", {})["KeyMetadata"]["KeyId"]
    body = ('{"KeyId": "%s", "Plaintext": "eA==", "EncryptionContext": {"a": "1", "A": "2", '
            '"a ": "3"}} \r\n' % key_id).encode()
    r = raw(server.url, "Encrypt", body)
    assert r.status == 200, r.describe()


def test_invalid_utf8_is_rejected_and_never_echoed(server):
    key_id = call_ok(server.url, "CreateKey", {})["KeyMetadata"]["KeyId"]
    body = b'{"KeyId": "%s", "Description": "bad \xff\xfe\xc3 bytes"}' % key_id.encode()
    r = raw(server.url, "UpdateKeyDescription", body)
    described = raw(server.url, "DescribeKey", json.dumps({"KeyId": key_id}).encode())
    try:
        json.loads(described.body.decode("utf-8"))
    except ValueError as e:
        raise AssertionError(f"after UpdateKeyDescription with invalid UTF-8 (-> HTTP {r.status}), "
                             f"DescribeKey returns a body that is not UTF-8 JSON: {e}") from e
    assert_error(r, "SerializationException", what="a body with invalid UTF-8")


@pytest.mark.parametrize("body", [b'{"NumberOfBytes": 99999999999999999999999999999}',
                                  b'{"NumberOfBytes": 4294967297}',
                                  b'{"NumberOfBytes": -99999999999999999999}',
                                  b'{"NumberOfBytes": 1e400}'])
def test_huge_integer(server, body):
    r = raw(server.url, "GenerateRandom", body)
    assert r.status == 400 and r.type in ("SerializationException", "ValidationException"), (
        f"{body!r}: expected a 400 Serialization/ValidationException, got {r.describe()}")
    assert "x-amzn-requestid" in r.headers
    still_serving(server)


def test_out_of_range_integer_validation_text(server):
    assert_error(raw(server.url, "GenerateRandom", b'{"NumberOfBytes": 2048}'), "ValidationException",
                 "1 validation error detected: Value '2048' at 'numberOfBytes' failed to satisfy "
                 "constraint: Member must have value less than or equal to 1024")
    assert_error(raw(server.url, "GenerateRandom", b'{"NumberOfBytes": -1}'), "ValidationException",
                 "1 validation error detected: Value '-1' at 'numberOfBytes' failed to satisfy "
                 "constraint: Member must have value greater than or equal to 1")


def test_deeply_nested_json_does_not_crash(server):
    # A recursive-descent parser overflows its stack on this; kmsd must answer instead.
    for body in (b"[" * 200_000, b'{"a":' * 100_000, b'{"KeyId": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"):
        try:
            r = raw(server.url, "DescribeKey", body)
        except (http.client.HTTPException, OSError) as e:
            raise AssertionError(f"no response to {body[:12]!r}... ({len(body)} bytes of nesting): "
                                 f"{e!r}; kmsd running: {server.running()}") from e
        assert r.status == 400 and r.type in ("SerializationException", "ValidationException"), (
            f"deep nesting ({len(body)} bytes): {r.describe()}")
        still_serving(server)


def test_unknown_member_is_ignored_or_rejected_cleanly(server):
    r = raw(server.url, "ListKeys", b'{"NoSuchMember": 1}')
    assert r.status in (200, 400), r.describe()
    if r.status == 400:
        assert r.type in ("SerializationException", "ValidationException"), r.describe()
    still_serving(server)


# ---- empty body, missing members ---------------------------------------------------------------
def test_empty_body(server):
    r = raw(server.url, "ListKeys", b"")
    assert r.status == 200 and r.json.get("Keys") == [], f"empty ListKeys body: {r.describe()}"
    assert_error(raw(server.url, "DescribeKey", b""), "ValidationException",
                 "1 validation error detected: Value null at 'keyId' failed to satisfy constraint: "
                 "Member must not be null")
    assert_error(raw(server.url, "DescribeKey", b"{}"), "ValidationException",
                 "1 validation error detected: Value null at 'keyId' failed to satisfy constraint: "
                 "Member must not be null")
    r = raw(server.url, "CreateKey", b"")
    assert r.status == 200 and r.json["KeyMetadata"]["KeyState"] == "Enabled", r.describe()
    still_serving(server)


def test_empty_plaintext_and_empty_key_id(server):
    assert_error(call(server.url, "Encrypt", {"KeyId": "alias/x", "Plaintext": ""}),
                 "ValidationException",
                 "1 validation error detected: Value at 'plaintext' failed to satisfy constraint: "
                 "Member must have length greater than or equal to 1")
    r = call(server.url, "DescribeKey", {"KeyId": ""})
    assert_error(r, "ValidationException", what="empty KeyId")
    assert "'keyId'" in (r.message or ""), r.describe()


# ---- body size ---------------------------------------------------------------------------------
def test_body_just_under_the_limit_gets_a_validation_error(server):
    # 1 MiB limit; the JSON wrapper is ~60 bytes.
    description = "d" * (1024 * 1024 - 200)
    body = json.dumps({"KeyId": "alias/none", "Description": description}).encode()
    assert len(body) < 1024 * 1024
    r = raw(server.url, "UpdateKeyDescription", body)
    assert_error(r, "ValidationException", what="~1 MiB description")
    assert "at 'description'" in r.message and "less than or equal to 8192" in r.message, (
        r.describe())
    still_serving(server)


def send_raw_bytes(url: str, head: bytes, body: bytes, timeout: float = 20.0) -> RawHttp:
    """Write a request over a plain socket, tolerating the server closing its read side early
    (it may answer an oversized request before reading the body), then read the response."""
    sock = socket.create_connection(host_port(url), timeout=timeout)
    send_error = None
    try:
        try:
            sock.sendall(head)
            view = memoryview(body)
            for start in range(0, len(body), 65536):
                sock.sendall(view[start:start + 65536])
        except (BrokenPipeError, ConnectionResetError) as e:
            send_error = e
        resp = http.client.HTTPResponse(sock)
        try:
            resp.begin()
        except (ConnectionResetError, http.client.RemoteDisconnected) as e:
            raise AssertionError(
                f"the connection was dropped without a response (send error: {send_error!r}, "
                f"read error: {e!r})") from e
        data = resp.read()
        headers = {k.lower(): v for k, v in resp.getheaders()}
        try:
            parsed = json.loads(data) if data else None
        except ValueError:
            parsed = None
        return RawHttp(resp.status, headers, data, parsed)
    finally:
        sock.close()


class RawHttp:
    def __init__(self, status, headers, body, parsed):
        self.status, self.headers, self.body, self.json = status, headers, body, parsed

    def describe(self) -> str:
        return f"HTTP {self.status} {self.body[:300]!r}"


def test_body_over_the_limit_gets_an_aws_error_not_a_dropped_connection(server):
    description = "d" * (1024 * 1024 + 4096)
    body = json.dumps({"KeyId": "alias/none", "Description": description}).encode()
    head = (f"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {JSON_CT}\r\n"
            f"X-Amz-Target: TrentService.UpdateKeyDescription\r\nContent-Length: {len(body)}\r\n"
            f"\r\n").encode()
    r = send_raw_bytes(server.url, head, body)
    assert r.status in (400, 413), f"oversized body: expected 400/413, got {r.describe()}"
    assert isinstance(r.json, dict) and r.json.get("__type"), (
        f"oversized body: expected an AWS-shaped JSON error, got {r.describe()}")
    assert "x-amzn-requestid" in r.headers, r.headers
    still_serving(server)


def test_headers_over_the_limit_get_an_aws_error_and_the_connection_closes(server):
    body = b'{"NumberOfBytes": 8}'
    head = (f"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {JSON_CT}\r\n"
            f"X-Amz-Target: TrentService.GenerateRandom\r\nX-Padding: {'p' * 20000}\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode()
    r = send_raw_bytes(server.url, head, body)
    assert r.status == 431, f"oversized headers: expected 431, got {r.describe()}"
    assert (isinstance(r.json, dict)
            and r.json.get("__type") == "RequestHeaderFieldsTooLargeException"), (
        f"oversized headers: expected RequestHeaderFieldsTooLargeException, got {r.describe()}")
    assert "16384" in r.json.get("message", ""), r.describe()
    assert r.headers.get("connection") == "close", r.headers
    assert "x-amzn-requestid" in r.headers, r.headers
    still_serving(server)


def test_chunked_request_body(server):
    body = b'{"NumberOfBytes": 24}'
    chunks = body[:7], body[7:]
    payload = b"".join(b"%x\r\n%s\r\n" % (len(c), c) for c in chunks) + b"0\r\n\r\n"
    head = (f"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {JSON_CT}\r\n"
            f"X-Amz-Target: TrentService.GenerateRandom\r\nTransfer-Encoding: chunked\r\n"
            f"Connection: close\r\n\r\n").encode()
    r = send_raw_bytes(server.url, head, payload)
    assert r.status == 200, f"chunked request: {r.describe()}"
    assert len(base64.b64decode(r.json["Plaintext"])) == 24


# ---- routing -----------------------------------------------------------------------------------
def test_unknown_target(server):
    assert_error(raw(server.url, "TrentService.DoesNotExist", b"{}"), "UnknownOperationException")
    assert_error(raw(server.url, "TrentService.", b"{}"), "UnknownOperationException")
    assert_error(raw(server.url, "TrentService.createkey", b"{}"), "UnknownOperationException",
                 what="operation names are case-sensitive")
    still_serving(server)


@pytest.mark.parametrize("target", ["Foo.CreateKey", "CreateKey", "trentservice.CreateKey",
                                    "TrentServiceCreateKey", "DynamoDB_20120810.ListTables"])
def test_wrong_target_prefix(server, target):
    headers = {"X-Amz-Target": target}
    assert_error(raw(server.url, None, b"{}", headers=headers), "UnknownOperationException",
                 what=f"X-Amz-Target {target!r}")
    assert call_ok(server.url, "ListKeys", {})["Keys"] == [], "a bad target created something"


def test_missing_target(server):
    r = raw(server.url, None, b"{}")
    assert 400 <= r.status < 500, f"no X-Amz-Target: {r.describe()}"
    assert isinstance(r.json, dict) and r.type, f"no X-Amz-Target: not an AWS-shaped error: {r.describe()}"
    assert "x-amzn-requestid" in r.headers
    still_serving(server)


@pytest.mark.parametrize("method,path", [("GET", "/"), ("GET", "/nope"), ("GET", "/_kmsd/nope")])
def test_other_methods_and_paths(server, method, path):
    r = raw(server.url, "ListKeys" if method != "GET" else None, b"{}" if method != "GET" else b"",
            method=method, path=path)
    assert 400 <= r.status < 500, f"{method} {path}: expected a 4xx, got {r.describe()}"
    assert isinstance(r.json, dict) and r.type, f"{method} {path}: not an AWS-shaped error: {r.describe()}"
    assert "x-amzn-requestid" in r.headers, f"{method} {path}: {r.headers}"
    still_serving(server)


def test_garbage_and_half_requests_do_not_hurt(server):
    host, port = host_port(server.url)
    for payload in (b"\x00\x01\x02garbage\r\n\r\n", b"NOT-HTTP\r\n\r\n",
                    b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"Key",
                    b"POST / HTTP/1.1\r\nHost: x\r\nX-Amz-Tar"):
        with socket.create_connection((host, port), timeout=5) as s:
            s.sendall(payload)
            s.shutdown(socket.SHUT_WR)
            s.settimeout(5)
            try:
                while s.recv(65536):
                    pass
            except (ConnectionResetError, socket.timeout):
                pass
        still_serving(server)


# ---- response shape ----------------------------------------------------------------------------
def test_every_response_has_a_request_id_and_json_content_type(server):
    responses = [
        call(server.url, "CreateKey", {}),
        call(server.url, "DescribeKey", {"KeyId": "fake-key-id"}),
        raw(server.url, "DescribeKey", b"{"),
        raw(server.url, "Nope", b"{}"),
        raw(server.url, None, b"", method="GET", path="/_kmsd/health"),
    ]
    ids = []
    for r in responses:
        rid = r.headers.get("x-amzn-requestid")
        assert rid, f"no x-amzn-RequestId on {r.describe()}"
        ids.append(rid)
    assert len(set(ids)) == len(ids), f"request ids repeat: {ids}"
    for r in responses[:4]:
        assert r.headers.get("content-type", "").startswith(JSON_CT), (
            f"Content-Type {r.headers.get('content-type')!r} on {r.describe()}")


def test_error_bodies_use_lowercase_message_or_none(server):
    key = call_ok(server.url, "CreateKey", {})["KeyMetadata"]["KeyId"]
    blob = call_ok(server.url, "Encrypt", {"KeyId": key, "Plaintext": "eA==",
                                           "EncryptionContext": {"a": "b"}})["CiphertextBlob"]
    r = call(server.url, "Decrypt", {"CiphertextBlob": blob})
    assert_error(r, "InvalidCiphertextException", "")
    assert set(r.json) == {"__type"}, f"InvalidCiphertextException body should be only __type: {r.body!r}"
    r = call(server.url, "GenerateRandom", {"NumberOfBytes": 8, "Recipient": {
        "KeyEncryptionAlgorithm": "RSAES_OAEP_SHA_256", "AttestationDocument": "ZG9j"}})
    assert_error(r, "UnsupportedOperationException")
    assert isinstance(r.json.get("message"), str) and "Recipient" in r.json["message"], (
        f"UnsupportedOperationException should carry a lowercase 'message': {r.body!r}")
    r = call(server.url, "DescribeKey", {"KeyId": "fake-key-id"})
    assert r.json == {"__type": "NotFoundException", "message": "Invalid keyId 'fake-key-id'"}, r.describe()


def test_keep_alive_survives_errors(server):
    host, port = host_port(server.url)
    conn = http.client.HTTPConnection(host, port, timeout=10)
    try:
        for _ in range(3):
            assert_error(raw(server.url, "DescribeKey", b"{bad", conn=conn), "SerializationException")
            assert_error(raw(server.url, "Nope", b"{}", conn=conn), "UnknownOperationException")
            assert_error(call(server.url, "DescribeKey", {"KeyId": "fake-key-id"}, conn=conn),
                         "NotFoundException", "Invalid keyId 'fake-key-id'")
            r = call(server.url, "GenerateRandom", {"NumberOfBytes": 4}, conn=conn)
            assert r.status == 200, f"keep-alive request after errors: {r.describe()}"
    finally:
        conn.close()


def test_concurrent_clients(server):
    key = call_ok(server.url, "CreateKey", {})["KeyMetadata"]["KeyId"]
    failures: list[str] = []

    def worker(n: int) -> None:
        host, port = host_port(server.url)
        conn = http.client.HTTPConnection(host, port, timeout=20)
        try:
            for i in range(15):
                pt = base64.b64encode(f"worker {n} message {i}".encode()).decode()
                enc = call(server.url, "Encrypt", {"KeyId": key, "Plaintext": pt,
                                                   "EncryptionContext": {"n": str(n)}}, conn=conn)
                if enc.status != 200:
                    failures.append(f"Encrypt {n}/{i}: {enc.describe()}")
                    return
                dec = call(server.url, "Decrypt", {"CiphertextBlob": enc.json["CiphertextBlob"],
                                                   "EncryptionContext": {"n": str(n)}}, conn=conn)
                if dec.status != 200 or dec.json["Plaintext"] != pt:
                    failures.append(f"Decrypt {n}/{i}: {dec.describe()}")
                    return
                if i % 5 == 0:
                    call_ok(server.url, "TagResource", {"KeyId": key, "Tags": [
                        {"TagKey": f"w{n}", "TagValue": str(i)}]})
        except Exception as e:  # noqa: BLE001 - reported below
            failures.append(f"worker {n}: {e!r}")
        finally:
            conn.close()

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not failures, "\n".join(failures)
    tags = call_ok(server.url, "ListResourceTags", {"KeyId": key})["Tags"]
    assert {t["TagKey"] for t in tags} == {f"w{n}" for n in range(8)}, tags


# ---- /_kmsd endpoints --------------------------------------------------------------------------
def test_health(server):
    r = raw(server.url, None, b"", method="GET", path="/_kmsd/health")
    assert r.status == 200, f"health: {r.describe()}"
    assert isinstance(r.json, dict), f"health is not JSON: {r.describe()}"
    assert isinstance(r.json.get("version"), str) and r.json["version"], r.json
    up = r.json.get("uptimeSeconds")
    assert isinstance(up, (int, float)) and not isinstance(up, bool) and up >= 0, r.json
    assert "x-amzn-requestid" in r.headers


def test_reset_empties_every_region(server):
    k1 = call_ok(server.url, "CreateKey", {"Tags": [{"TagKey": "a", "TagValue": "b"}]})
    call_ok(server.url, "CreateAlias", {"AliasName": "alias/r", "TargetKeyId": k1["KeyMetadata"]["KeyId"]})
    k2 = call_ok(server.url, "CreateKey", {}, region=OTHER_REGION)["KeyMetadata"]
    assert k2["Arn"] == key_arn(k2["KeyId"], OTHER_REGION)
    r = raw(server.url, None, b"", method="POST", path="/_kmsd/reset",
            headers={"Content-Type": "application/json"})
    assert r.status == 200, f"reset: {r.describe()}"
    assert call_ok(server.url, "ListKeys", {})["Keys"] == []
    assert call_ok(server.url, "ListKeys", {}, region=OTHER_REGION)["Keys"] == []
    aliases = [a for a in call_ok(server.url, "ListAliases", {})["Aliases"]
               if not a["AliasName"].startswith("alias/aws/")]
    assert aliases == [], aliases
    assert_error(call(server.url, "DescribeKey", {"KeyId": k2["KeyId"]}, region=OTHER_REGION),
                 "NotFoundException")
    still_serving(server)


def test_expect_100_continue(server):
    r = raw(server.url, "GenerateRandom", b'{"NumberOfBytes": 5}', headers={"Expect": "100-continue"})
    assert r.status == 200, f"Expect: 100-continue: {r.describe()}"
    assert len(base64.b64decode(r.json["Plaintext"])) == 5


class _SharedFile:
    """Lets several http.client.HTTPResponse objects read one socket stream in turn (a
    response closes its file when done; this one ignores that)."""

    def __init__(self, f):
        self.f = f

    def makefile(self, *_args, **_kwargs):
        return self

    def close(self):
        pass

    def __getattr__(self, name):
        return getattr(self.f, name)


def test_pipelined_requests_are_answered_in_order(server):
    def request(target: str, body: bytes) -> bytes:
        return (f"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {JSON_CT}\r\n"
                f"X-Amz-Target: TrentService.{target}\r\nContent-Length: {len(body)}\r\n\r\n"
                ).encode() + body

    batch = (request("GenerateRandom", b'{"NumberOfBytes": 3}') + request("DescribeKey", b"{")
             + request("GenerateRandom", b'{"NumberOfBytes": 7}'))
    with socket.create_connection(host_port(server.url), timeout=10) as sock:
        sock.sendall(batch)
        shared = _SharedFile(sock.makefile("rb"))
        results = []
        for _ in range(3):
            resp = http.client.HTTPResponse(shared)
            resp.begin()
            results.append((resp.status, json.loads(resp.read())))
    assert results[0][0] == 200 and len(base64.b64decode(results[0][1]["Plaintext"])) == 3, results
    assert results[1][0] == 400 and results[1][1]["__type"] == "SerializationException", results
    assert results[2][0] == 200 and len(base64.b64decode(results[2][1]["Plaintext"])) == 7, results
