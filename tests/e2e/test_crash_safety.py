"""Crash safety under load: SIGKILL at random moments while many connections write.

Workers drive CreateKey, CreateAlias, UpdateAlias, TagResource, ScheduleKeyDeletion, Encrypt
and GenerateDataKey concurrently, each over its own keep-alive connection, and record every
call that returned 200. The server is killed with SIGKILL at a random moment, restarted on the
same data directory, and everything acknowledged so far (in every round) must be there: keys
exist, aliases point where they were last set, tags are present, deletions are scheduled, and
every returned blob decrypts with its context to what was encrypted. A call that was in flight
at the kill may or may not have happened; the checks allow both outcomes for it and nothing
else. Finally SQLite's own integrity check must pass on the file the kills left behind.
"""
from __future__ import annotations

import base64
import http.client
import os
import random
import sqlite3
import threading
import time
from dataclasses import dataclass, field

from e2e_support import call

KILLS = int(os.environ.get("KMSD_CRASH_KILLS", "20"))
WORKERS = 8
CONTEXT_KEY = "crash-test"


@dataclass
class WorkerState:
    """What one worker was told succeeded. Only this worker touches its keys and aliases."""
    index: int
    keys: list[str] = field(default_factory=list)  # usable for Encrypt / aliases / tags
    doomed: dict[str, bool] = field(default_factory=dict)  # key -> deletion acknowledged
    aliases: dict[str, str] = field(default_factory=dict)  # alias -> acknowledged target
    alias_maybe: dict[str, set[str]] = field(default_factory=dict)  # in flight at a kill
    tags: list[tuple[str, str, str]] = field(default_factory=list)  # key, tag key, value
    blobs: list[tuple[str, bytes, dict, bytes]] = field(default_factory=list)
    counter: int = 0
    acknowledged: int = 0


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


class Worker(threading.Thread):
    def __init__(self, url: str, state: WorkerState, seed: int, stop: threading.Event):
        super().__init__(daemon=True)
        self.url, self.state, self.rng, self.stop_event = url, state, random.Random(seed), stop
        self.error: str | None = None

    def run(self) -> None:
        host, port = self.url.removeprefix("http://").split(":")
        conn = http.client.HTTPConnection(host, int(port), timeout=10)
        try:
            while not self.stop_event.is_set():
                self.step(conn)
        except (OSError, http.client.HTTPException):
            pass  # the server was killed mid-call: that call's outcome is unknown
        except AssertionError as e:  # a call answered something other than success
            self.error = str(e)
        finally:
            conn.close()

    def ok(self, conn, op: str, payload: dict) -> dict:
        r = call(self.url, op, payload, conn=conn)
        assert r.status == 200, f"{op} {payload} -> {r.describe()}"
        self.state.acknowledged += 1
        return r.json

    def step(self, conn) -> None:
        s = self.state
        s.counter += 1
        n = s.counter
        if len(s.keys) < 2 or self.rng.random() < 0.2:
            created = self.ok(conn, "CreateKey", {"Description": f"w{s.index} #{n}"})
            s.keys.append(created["KeyMetadata"]["KeyId"])
            return
        key = self.rng.choice(s.keys)
        choice = self.rng.random()
        if choice < 0.15:
            name = f"alias/w{s.index}-{n}"
            s.alias_maybe[name] = {key}  # if the kill lands now, it may or may not exist
            self.ok(conn, "CreateAlias", {"AliasName": name, "TargetKeyId": key})
            s.aliases[name] = key
            del s.alias_maybe[name]
        elif choice < 0.3 and s.aliases:
            name = self.rng.choice(sorted(s.aliases))
            # Until a call on this alias is acknowledged again, every target an unanswered
            # call asked for stays possible.
            s.alias_maybe[name] = s.alias_maybe.get(name, set()) | {s.aliases[name], key}
            self.ok(conn, "UpdateAlias", {"AliasName": name, "TargetKeyId": key})
            s.aliases[name] = key
            del s.alias_maybe[name]
        elif choice < 0.45 and sum(1 for t in s.tags if t[0] == key) < 40:  # AWS allows 50
            tag = (key, f"t{n}", f"v{n}")
            self.ok(conn, "TagResource", {"KeyId": key, "Tags": [{"TagKey": tag[1],
                                                                  "TagValue": tag[2]}]})
            s.tags.append(tag)
        elif choice < 0.55:
            doomed = self.ok(conn, "CreateKey", {"Description": "doomed"})["KeyMetadata"]["KeyId"]
            s.doomed[doomed] = False
            self.ok(conn, "ScheduleKeyDeletion", {"KeyId": doomed, "PendingWindowInDays": 7})
            s.doomed[doomed] = True
        elif choice < 0.8:
            plaintext = os.urandom(self.rng.randint(1, 64))
            context = {CONTEXT_KEY: f"w{s.index}-{n}"}
            out = self.ok(conn, "Encrypt", {"KeyId": key, "Plaintext": _b64(plaintext),
                                            "EncryptionContext": context})
            s.blobs.append((key, base64.b64decode(out["CiphertextBlob"]), context, plaintext))
        else:
            context = {CONTEXT_KEY: f"w{s.index}-{n}"}
            out = self.ok(conn, "GenerateDataKey", {"KeyId": key, "KeySpec": "AES_256",
                                                    "EncryptionContext": context})
            s.blobs.append((key, base64.b64decode(out["CiphertextBlob"]), context,
                            base64.b64decode(out["Plaintext"])))


def verify(url: str, states: list[WorkerState]) -> None:
    host, port = url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=10)

    def ok(op: str, payload: dict) -> dict:
        r = call(url, op, payload, conn=conn)
        assert r.status == 200, f"after restart, {op} {payload} -> {r.describe()}"
        return r.json

    aliases: dict[str, str] = {}
    page: dict = {"Limit": 100}
    while True:
        listed = ok("ListAliases", page)
        aliases.update({a["AliasName"]: a.get("TargetKeyId") for a in listed.get("Aliases", [])})
        if not listed.get("Truncated"):
            break
        page = {"Limit": 100, "Marker": listed["NextMarker"]}
    for s in states:
        for key in s.keys:
            state = ok("DescribeKey", {"KeyId": key})["KeyMetadata"]["KeyState"]
            assert state == "Enabled", f"acknowledged key {key} is {state}"
        for key, scheduled in s.doomed.items():
            r = call(url, "DescribeKey", {"KeyId": key}, conn=conn)
            assert r.status == 200, f"acknowledged key {key} is gone: {r.describe()}"
            state = r.json["KeyMetadata"]["KeyState"]
            if scheduled:
                assert state == "PendingDeletion", f"acknowledged deletion of {key}: {state}"
        for name, target in s.aliases.items():
            allowed = s.alias_maybe.get(name, set()) | {target}
            assert aliases.get(name) in allowed, (
                f"alias {name} points to {aliases.get(name)}, acknowledged {target}")
        for name, maybe in s.alias_maybe.items():
            if name not in s.aliases:  # a CreateAlias in flight: absent, or as requested
                assert aliases.get(name) in maybe | {None}
        for key, tag_key, value in s.tags:
            tags = {t["TagKey"]: t["TagValue"]
                    for t in ok("ListResourceTags", {"KeyId": key, "Limit": 50})["Tags"]}
            assert tags.get(tag_key) == value, f"tag {tag_key} of {key} lost: {tags}"
        for key, blob, context, plaintext in s.blobs:
            out = ok("Decrypt", {"CiphertextBlob": _b64(blob), "EncryptionContext": context})
            assert out["KeyId"].endswith(key)
            assert base64.b64decode(out["Plaintext"]) == plaintext, f"blob of {key} decrypts wrong"
    conn.close()


def test_sigkill_under_concurrent_writes_loses_nothing_acknowledged(fresh_server, tmp_path):
    srv = fresh_server()
    rng = random.Random(20261129)
    states = [WorkerState(i) for i in range(WORKERS)]
    acknowledged_at_kill = []
    for round_ in range(KILLS):
        stop = threading.Event()
        workers = [Worker(srv.url, s, rng.random(), stop) for s in states]
        for w in workers:
            w.start()
        time.sleep(rng.uniform(0.05, 0.6))
        srv.kill9()  # mid-flight: workers see their connections drop
        stop.set()
        for w in workers:
            w.join(timeout=15)
            assert not w.is_alive(), "a worker hung after the kill"
            assert w.error is None, f"round {round_}: {w.error}"
        acknowledged_at_kill.append(sum(s.acknowledged for s in states))
        srv.start()
        verify(srv.url, states)
    # Work was really done between kills (not a test that cannot fail).
    assert acknowledged_at_kill[-1] > KILLS * WORKERS, acknowledged_at_kill
    assert sum(len(s.blobs) for s in states) > 0 and sum(len(s.tags) for s in states) > 0
    # The figures for RELIABILITY.md (pytest -s shows them).
    print(f"\ncrash safety: {KILLS} SIGKILLs survived, {acknowledged_at_kill[-1]} acknowledged "
          f"calls, all verified after each restart; {sum(len(s.keys) for s in states)} keys, "
          f"{sum(len(s.aliases) for s in states)} aliases, {sum(len(s.tags) for s in states)} "
          f"tags, {sum(len(s.blobs) for s in states)} blobs verified after the last restart")

    srv.kill9()
    db = sqlite3.connect(srv.data_dir / "kms.db")
    try:
        assert db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert db.execute("PRAGMA foreign_key_check").fetchall() == []
    finally:
        db.close()
