"""A full disk: writes fail with an AWS-shaped error, reads keep working, nothing is corrupted.

The disk is made "full" for kmsd alone with RLIMIT_FSIZE (SIGXFSZ ignored, so a write past the
limit fails with EFBIG as a write to a full disk fails with ENOSPC): no mount or privileges
needed. After a restart without the limit, everything acknowledged is there, nothing that
failed is, and SQLite's integrity check passes.
"""
from __future__ import annotations

import base64
import resource
import signal
import sqlite3

from e2e_support import KmsdServer, assert_error, call, call_ok

LIMIT_BYTES = 512 * 1024
CONTEXT = {"disk": "full"}


def _limit_file_size() -> None:
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (LIMIT_BYTES, resource.RLIM_INFINITY))


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def test_full_disk_fails_writes_keeps_reads_and_loses_nothing(tmp_path):
    data_dir = tmp_path / "data"
    data_dir.mkdir(mode=0o700)
    srv = KmsdServer(data_dir, tmp_path / "kmsd.log", preexec_fn=_limit_file_size)
    try:
        srv.start()
        url = srv.url
        keys, blobs = [], []
        failed = None
        for i in range(5000):
            r = call(url, "CreateKey", {"Description": f"key {i} " + "d" * 200})
            if r.status != 200:
                failed = r
                break
            key = r.json["KeyMetadata"]["KeyId"]
            keys.append(key)
            out = call_ok(url, "Encrypt", {"KeyId": key, "Plaintext": _b64(b"p%d" % i),
                                           "EncryptionContext": CONTEXT})
            blobs.append((key, out["CiphertextBlob"], b"p%d" % i))
        assert failed is not None, "the file size limit was never reached"
        assert len(keys) > 10, "the limit was reached before any real work"
        assert_error(failed, "KMSInternalException", status=500, what="CreateKey on a full disk")
        # Issue #17: the client learns nothing internal (no SQLite text, no file path), only
        # the request id, under which kmsd's log has the detail.
        request_id = failed.headers["x-amzn-requestid"]
        assert request_id in failed.json["message"], failed.describe()
        for internal in ("sqlite", "SQL", "disk", "kms.db", "/", "errno", "EFBIG"):
            assert internal not in failed.json["message"], failed.describe()
        logged = [line for line in srv.log_tail(200000).splitlines() if request_id in line]
        assert logged and "could not be stored" in logged[0], srv.log_tail()
        print(f"\ndisk full: {len(keys)} keys and {len(blobs)} blobs acknowledged before the "
              f"{LIMIT_BYTES // 1024} KiB limit; then CreateKey -> HTTP {failed.status} "
              f"{failed.type}")

        # Reads keep working, on the same connections and new ones.
        call_ok(url, "DescribeKey", {"KeyId": keys[0]})
        call_ok(url, "ListKeys", {"Limit": 10})
        call_ok(url, "GenerateDataKey", {"KeyId": keys[-1], "KeySpec": "AES_256"})
        key, blob, plaintext = blobs[0]
        out = call_ok(url, "Decrypt", {"CiphertextBlob": blob, "EncryptionContext": CONTEXT})
        assert base64.b64decode(out["Plaintext"]) == plaintext
        # Other writes fail the same way and leave nothing behind.
        tagged = call(url, "TagResource", {"KeyId": keys[0],
                                           "Tags": [{"TagKey": "lost", "TagValue": "1"}]})
        assert_error(tagged, "KMSInternalException", status=500, what="TagResource, disk full")
        tags = call_ok(url, "ListResourceTags", {"KeyId": keys[0]})["Tags"]
        assert all(t["TagKey"] != "lost" for t in tags)
        assert call_ok(url, "ListKeys", {"Limit": 1000})["Keys"].__len__() == len(keys)
        srv.stop()  # a clean exit, not a crash

        srv.preexec_fn = None  # space again
        srv.start()
        url = srv.url
        listed = {k["KeyId"] for k in call_ok(url, "ListKeys", {"Limit": 1000})["Keys"]}
        assert listed == set(keys)
        for key, blob, plaintext in blobs:
            out = call_ok(url, "Decrypt", {"CiphertextBlob": blob, "EncryptionContext": CONTEXT})
            assert base64.b64decode(out["Plaintext"]) == plaintext
        call_ok(url, "CreateKey", {})
        call_ok(url, "TagResource", {"KeyId": keys[0],
                                     "Tags": [{"TagKey": "kept", "TagValue": "1"}]})
        srv.stop()
        db = sqlite3.connect(data_dir / "kms.db")
        try:
            assert db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        finally:
            db.close()
        print(f"disk full: after a restart with space, all {len(keys)} keys listed, all "
              f"{len(blobs)} blobs decrypt, PRAGMA integrity_check ok")
    finally:
        srv.cleanup()
