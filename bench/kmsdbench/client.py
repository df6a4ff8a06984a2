"""A keep-alive KMS JSON client over http.client, and the suite's two error types."""
from __future__ import annotations

import http.client
import json
from typing import Any

AUTH = ("AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/kms/aws4_request, "
        "SignedHeaders=host, Signature=00")


class NotImplementedYet(Exception):
    """The server answered UnsupportedOperationException: the scenario is skipped."""


class BenchError(Exception):
    """A scenario cannot go on (a server did not start, a setup request failed, ...)."""


class Client:
    """One keep-alive connection, reopened once when the server closed it."""

    def __init__(self, port: int, host: str = "127.0.0.1", timeout: float = 30):
        self.host, self.port, self.timeout = host, port, timeout
        self.conn: http.client.HTTPConnection | None = None

    def _conn(self) -> http.client.HTTPConnection:
        if self.conn is None:
            self.conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        return self.conn

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def request(self, method: str, path: str, body: str | None = None,
                headers: dict[str, str] | None = None) -> tuple[int, bytes]:
        for attempt in range(2):
            try:
                c = self._conn()
                c.request(method, path, body=body, headers=headers or {})
                r = c.getresponse()
                data = r.read()
                if r.getheader("Connection", "").lower() == "close":
                    self.close()
                return r.status, data
            except (ConnectionError, http.client.HTTPException, OSError):
                self.close()
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def call(self, target: str, body: dict) -> tuple[int, Any]:
        status, data = self.request("POST", "/", json.dumps(body), {
            "X-Amz-Target": "TrentService." + target,
            "Content-Type": "application/x-amz-json-1.1",
            "Authorization": AUTH,
        })
        try:
            doc = json.loads(data) if data else {}
        except ValueError:
            doc = {"raw": data[:200].decode(errors="replace")}
        return status, doc

    def ok(self, target: str, body: dict) -> dict:
        """The response of a call that must answer 200."""
        status, doc = self.call(target, body)
        if status != 200:
            err = doc.get("__type", "") if isinstance(doc, dict) else ""
            if err.endswith("UnsupportedOperationException"):
                raise NotImplementedYet("%s: %s" % (target, doc.get("message", err)))
            raise BenchError("%s answered %d: %s" % (target, status, json.dumps(doc)[:300]))
        return doc

    def health(self) -> dict:
        status, data = self.request("GET", "/_kmsd/health")
        if status != 200:
            raise BenchError("health answered %d" % status)
        return json.loads(data)
