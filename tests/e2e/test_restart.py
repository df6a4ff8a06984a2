"""Durability across restarts on the same data dir: graceful (SIGTERM) and abrupt (SIGKILL right
after the 200s: nothing acknowledged may be lost). Also: a port already in use is fatal."""
from __future__ import annotations

import base64
import json
import socket
import subprocess

from e2e_support import (KMSD_BIN, LISTEN_PREFIX, OTHER_REGION, REGION, assert_error, call,
                         call_ok, key_arn, server_env)

CONTEXT = {"purpose": "restart", "tenant": "t1"}
POLICY = {"Version": "2012-10-17", "Id": "restart-policy", "Statement": [{
    "Sid": "Root", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:root"},
    "Action": "kms:*", "Resource": "*"}]}


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def build_state(url: str) -> dict:
    """Create a varied state through raw JSON calls; return what must survive a restart."""
    main = call_ok(url, "CreateKey", {"Description": "main key", "Policy": json.dumps(POLICY),
                                      "Tags": [{"TagKey": "env", "TagValue": "prod"}]})
    main_id = main["KeyMetadata"]["KeyId"]
    call_ok(url, "TagResource", {"KeyId": main_id, "Tags": [{"TagKey": "team", "TagValue": "core"}]})
    call_ok(url, "EnableKeyRotation", {"KeyId": main_id, "RotationPeriodInDays": 180})

    disabled_id = call_ok(url, "CreateKey", {"Description": "disabled"})["KeyMetadata"]["KeyId"]
    pending_id = call_ok(url, "CreateKey", {})["KeyMetadata"]["KeyId"]
    cancelled_id = call_ok(url, "CreateKey", {})["KeyMetadata"]["KeyId"]
    call_ok(url, "CreateAlias", {"AliasName": "alias/main", "TargetKeyId": main_id})
    call_ok(url, "CreateAlias", {"AliasName": "alias/moved", "TargetKeyId": main_id})
    call_ok(url, "UpdateAlias", {"AliasName": "alias/moved", "TargetKeyId": disabled_id})
    call_ok(url, "CreateAlias", {"AliasName": "alias/gone", "TargetKeyId": main_id})
    call_ok(url, "DeleteAlias", {"AliasName": "alias/gone"})
    call_ok(url, "UntagResource", {"KeyId": main_id, "TagKeys": ["env"]})
    call_ok(url, "TagResource", {"KeyId": main_id, "Tags": [{"TagKey": "env", "TagValue": "again"}]})

    eu_id = call_ok(url, "CreateKey", {"Description": "eu"}, region=OTHER_REGION)["KeyMetadata"]["KeyId"]
    call_ok(url, "CreateAlias", {"AliasName": "alias/main", "TargetKeyId": eu_id}, region=OTHER_REGION)

    blobs = []  # (region, blob, context, plaintext)
    enc = call_ok(url, "Encrypt", {"KeyId": "alias/main", "Plaintext": b64(b"hello restart"),
                                   "EncryptionContext": CONTEXT})
    blobs.append((REGION, enc["CiphertextBlob"], CONTEXT, b"hello restart"))
    gdk = call_ok(url, "GenerateDataKey", {"KeyId": main_id, "KeySpec": "AES_256",
                                           "EncryptionContext": CONTEXT})
    blobs.append((REGION, gdk["CiphertextBlob"], CONTEXT, base64.b64decode(gdk["Plaintext"])))
    wp = call_ok(url, "GenerateDataKeyWithoutPlaintext", {"KeyId": main_id, "KeySpec": "AES_128"})
    wp_plain = base64.b64decode(call_ok(url, "Decrypt", {"CiphertextBlob": wp["CiphertextBlob"]})["Plaintext"])
    blobs.append((REGION, wp["CiphertextBlob"], None, wp_plain))
    re = call_ok(url, "ReEncrypt", {"CiphertextBlob": enc["CiphertextBlob"],
                                    "SourceEncryptionContext": CONTEXT,
                                    "DestinationKeyId": cancelled_id})
    blobs.append((REGION, re["CiphertextBlob"], None, b"hello restart"))  # key is Disabled now
    call_ok(url, "ScheduleKeyDeletion", {"KeyId": pending_id, "PendingWindowInDays": 7})
    call_ok(url, "ScheduleKeyDeletion", {"KeyId": cancelled_id})
    call_ok(url, "CancelKeyDeletion", {"KeyId": cancelled_id})
    call_ok(url, "UpdateKeyDescription", {"KeyId": cancelled_id, "Description": "was cancelled"})
    eu_enc = call_ok(url, "Encrypt", {"KeyId": "alias/main", "Plaintext": b64(b"eu data")},
                     region=OTHER_REGION)
    blobs.append((OTHER_REGION, eu_enc["CiphertextBlob"], None, b"eu data"))
    # A blob of the key that will be disabled, made while it was enabled.
    dis_blob = call_ok(url, "Encrypt", {"KeyId": disabled_id, "Plaintext": b64(b"disabled later")})
    call_ok(url, "DisableKey", {"KeyId": disabled_id})
    blobs.append((REGION, dis_blob["CiphertextBlob"], None, b"disabled later"))
    # An on-demand rotation of "main": its blobs sealed before (above) and after it must both
    # survive a restart.
    call_ok(url, "RotateKeyOnDemand", {"KeyId": main_id})
    rotated = call_ok(url, "Encrypt", {"KeyId": main_id, "Plaintext": b64(b"after rotation")})
    blobs.append((REGION, rotated["CiphertextBlob"], None, b"after rotation"))

    return {"ids": {"main": main_id, "disabled": disabled_id, "pending": pending_id,
                    "cancelled": cancelled_id, "eu": eu_id},
            "blobs": blobs, "snapshot": snapshot(url)}


def snapshot(url: str, exclude: frozenset = frozenset()) -> dict:
    """Everything observable about the state, as raw JSON (keys in `exclude` left out)."""
    out: dict = {}
    for region in (REGION, OTHER_REGION):
        keys = [k for k in call_ok(url, "ListKeys", {}, region=region)["Keys"]
                if k["KeyId"] not in exclude]
        out[f"{region} keys"] = sorted(keys, key=lambda k: k["KeyId"])
        aliases = [a for a in call_ok(url, "ListAliases", {}, region=region)["Aliases"]
                   if not a["AliasName"].startswith("alias/aws/")]
        out[f"{region} aliases"] = sorted(aliases, key=lambda a: a["AliasName"])
        for k in keys:
            kid = k["KeyId"]
            out[f"{region} {kid} describe"] = call_ok(url, "DescribeKey", {"KeyId": kid}, region=region)
            tags = call_ok(url, "ListResourceTags", {"KeyId": kid}, region=region)["Tags"]
            out[f"{region} {kid} tags"] = sorted(tags, key=lambda t: t["TagKey"])
            out[f"{region} {kid} policy"] = json.loads(call_ok(
                url, "GetKeyPolicy", {"KeyId": kid, "PolicyName": "default"}, region=region)["Policy"])
            out[f"{region} {kid} rotation"] = call_ok(url, "GetKeyRotationStatus", {"KeyId": kid},
                                                      region=region)
    return out


def check_state(url: str, state: dict, exclude: frozenset = frozenset()) -> None:
    now = snapshot(url, exclude)
    before = state["snapshot"]
    assert now.keys() == before.keys(), (
        f"keys/aliases differ after restart:\nmissing {sorted(before.keys() - now.keys())}\n"
        f"extra {sorted(now.keys() - before.keys())}")
    for name in before:
        assert now[name] == before[name], f"{name} changed across the restart:\n{before[name]}\n{now[name]}"

    ids = state["ids"]
    md = {n: now[f"{REGION} {ids[n]} describe"]["KeyMetadata"] for n in
          ("main", "disabled", "pending", "cancelled")}
    assert md["main"]["KeyState"] == "Enabled" and md["main"]["Description"] == "main key"
    assert md["disabled"]["KeyState"] == "Disabled" and md["disabled"]["Enabled"] is False
    assert md["pending"]["KeyState"] == "PendingDeletion" and "DeletionDate" in md["pending"]
    assert md["cancelled"]["KeyState"] == "Disabled" and "DeletionDate" not in md["cancelled"]
    rot = now[f"{REGION} {ids['main']} rotation"]
    assert rot["KeyRotationEnabled"] is True and rot["RotationPeriodInDays"] == 180, rot
    assert now[f"{REGION} {ids['main']} policy"] == POLICY
    assert {t["TagKey"]: t["TagValue"] for t in now[f"{REGION} {ids['main']} tags"]} == {
        "env": "again", "team": "core"}
    aliases = {a["AliasName"]: a["TargetKeyId"] for a in now[f"{REGION} aliases"]}
    assert aliases == {"alias/main": ids["main"], "alias/moved": ids["disabled"]}, aliases
    eu_aliases = {a["AliasName"]: a["TargetKeyId"] for a in now[f"{OTHER_REGION} aliases"]}
    assert eu_aliases == {"alias/main": ids["eu"]}, eu_aliases

    # Every blob still decrypts (the disabled keys after they are enabled again).
    for key_name in ("disabled", "cancelled"):
        assert_error(call(url, "Decrypt", {"CiphertextBlob": _blob_for(state, key_name)}),
                     "DisabledException", f"{key_arn(ids[key_name])} is disabled.")
        call_ok(url, "EnableKey", {"KeyId": ids[key_name]})
    for region, blob, ctx, plaintext in state["blobs"]:
        body = {"CiphertextBlob": blob} | ({"EncryptionContext": ctx} if ctx else {})
        dec = call_ok(url, "Decrypt", body, region=region)
        assert base64.b64decode(dec["Plaintext"]) == plaintext, f"blob in {region} decrypts wrongly"
    # The key pending deletion is still refused, and new work still works.
    assert_error(call(url, "Encrypt", {"KeyId": ids["pending"], "Plaintext": b64(b"x")}),
                 "KMSInvalidStateException", f"{key_arn(ids['pending'])} is pending deletion.")
    fresh = call_ok(url, "CreateKey", {})["KeyMetadata"]["KeyId"]
    assert fresh not in ids.values()
    call_ok(url, "Encrypt", {"KeyId": fresh, "Plaintext": b64(b"x")})


def _blob_for(state: dict, key_name: str) -> str:
    # Blob 3 was re-encrypted under "cancelled"; blob 5 was made by "disabled".
    return state["blobs"][3][1] if key_name == "cancelled" else state["blobs"][5][1]


def test_graceful_restart_keeps_everything(fresh_server):
    srv = fresh_server()
    state = build_state(srv.url)
    srv.stop()
    assert srv.stdout_lines == [], f"kmsd printed more than its one stdout line: {srv.stdout_lines}"
    srv.start()
    check_state(srv.url, state)
    # And once more, to be sure a restarted store restarts again.
    srv.stop()
    srv.start()
    assert call_ok(srv.url, "DescribeKey", {"KeyId": state["ids"]["main"]})["KeyMetadata"]["Enabled"]


def test_kill9_loses_nothing_acknowledged(fresh_server):
    srv = fresh_server()
    state = build_state(srv.url)
    # A burst of writes whose 200s arrive just before the kill.
    burst = []
    for i in range(20):
        kid = call_ok(srv.url, "CreateKey", {"Description": f"burst {i}"})["KeyMetadata"]["KeyId"]
        call_ok(srv.url, "TagResource", {"KeyId": kid, "Tags": [{"TagKey": "i", "TagValue": str(i)}]})
        burst.append(kid)
    call_ok(srv.url, "CreateAlias", {"AliasName": "alias/burst", "TargetKeyId": burst[0]})
    call_ok(srv.url, "DisableKey", {"KeyId": burst[1]})
    call_ok(srv.url, "ScheduleKeyDeletion", {"KeyId": burst[2], "PendingWindowInDays": 7})
    call_ok(srv.url, "EnableKeyRotation", {"KeyId": burst[3]})
    last = call_ok(srv.url, "CreateKey", {"Description": "the very last"})["KeyMetadata"]["KeyId"]
    srv.kill9()
    srv.start()
    for i, kid in enumerate(burst):
        md = call_ok(srv.url, "DescribeKey", {"KeyId": kid})["KeyMetadata"]
        assert md["Description"] == f"burst {i}", md
        tags = call_ok(srv.url, "ListResourceTags", {"KeyId": kid})["Tags"]
        assert tags == [{"TagKey": "i", "TagValue": str(i)}], f"burst key {i} lost its tag: {tags}"
    assert call_ok(srv.url, "DescribeKey", {"KeyId": last})["KeyMetadata"]["Description"] == "the very last"
    assert call_ok(srv.url, "DescribeKey", {"KeyId": "alias/burst"})["KeyMetadata"]["KeyId"] == burst[0]
    assert call_ok(srv.url, "DescribeKey", {"KeyId": burst[1]})["KeyMetadata"]["KeyState"] == "Disabled"
    assert call_ok(srv.url, "DescribeKey", {"KeyId": burst[2]})["KeyMetadata"]["KeyState"] == "PendingDeletion"
    assert call_ok(srv.url, "GetKeyRotationStatus", {"KeyId": burst[3]})["KeyRotationEnabled"] is True
    call_ok(srv.url, "DeleteAlias", {"AliasName": "alias/burst"})
    check_state(srv.url, state, exclude=frozenset(burst + [last]))
    srv.stop()


def test_in_memory_keeps_nothing(fresh_server):
    srv = fresh_server(extra_args=["--in-memory"], data_dir=None)
    kid = call_ok(srv.url, "CreateKey", {})["KeyMetadata"]["KeyId"]
    call_ok(srv.url, "Encrypt", {"KeyId": kid, "Plaintext": b64(b"x")})
    srv.stop()
    srv.start()
    assert call_ok(srv.url, "ListKeys", {})["Keys"] == [], "--in-memory state survived a restart"


def _run_second_kmsd(port: int, data_dir) -> subprocess.CompletedProcess:
    args = [str(KMSD_BIN), "--host", "127.0.0.1", "--port", str(port), "--data-dir", str(data_dir)]
    try:
        return subprocess.run(args, capture_output=True, timeout=10, env=server_env(),
                              stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as e:
        raise AssertionError(f"kmsd kept running on a port that is in use: {e.stderr!r}") from e


def test_port_in_use_is_fatal(fresh_server, tmp_path):
    srv = fresh_server()
    other = tmp_path / "other"
    other.mkdir(mode=0o700)
    proc = _run_second_kmsd(srv.port, other)
    out = (proc.stdout + proc.stderr).decode("utf-8", "replace")
    assert proc.returncode != 0, f"second kmsd on port {srv.port} exited 0: {out}"
    assert "address in use" in out.lower(), f"no 'address in use' message: {out!r}"
    assert LISTEN_PREFIX not in proc.stdout.decode("utf-8", "replace"), out
    # The first server is unaffected.
    call_ok(srv.url, "ListKeys", {})

    # A port held by some other program.
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        proc = _run_second_kmsd(port, other)
        out = (proc.stdout + proc.stderr).decode("utf-8", "replace")
        assert proc.returncode != 0, f"kmsd on a taken port {port} exited 0: {out}"
        assert "address in use" in out.lower(), f"no 'address in use' message: {out!r}"
