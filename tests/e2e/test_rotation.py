"""Key rotation end to end: RotateKeyOnDemand, ListKeyRotations (dates, types, paging), the
material ids Decrypt and DescribeKey report, automatic rotation, and all of it across restarts.

Debian's botocore predates ListKeyRotations, RotateKeyOnDemand, RotationPeriodInDays and the
KeyMaterialId members, so those go through raw JSON (`call`, `call_ok`); the rest uses boto3.

kmsd's clock is the system's. Automatic rotation is covered here the way a kmsd that was stopped
for a long time meets it: with kmsd stopped, the key's rotation date is moved periods back in its
database (tests/support/rotation_schedule.py), and kmsd makes the due rotations, one per elapsed
period dated at its schedule, on the key's next use after the restart. The unit tests
(tests/unit/server/ops/rotation_test.cpp) drive the same rules with a fake clock.
"""
from __future__ import annotations

import base64
import sys
import time

from e2e_support import REPO_ROOT, assert_error, b64, call, call_ok, key_arn

sys.path.insert(0, str(REPO_ROOT / "tests" / "support"))
from rotation_schedule import SECONDS_PER_DAY, backdate_rotation_schedule  # noqa: E402

CONTEXT = {"purpose": "rotation", "tenant": "t1"}


def rotations(url: str, key: str, **members) -> dict:
    return call_ok(url, "ListKeyRotations", {"KeyId": key, **members})


def all_material_ids(url: str, key: str) -> list[str]:
    """Every KeyMaterialId of the key, oldest first."""
    listed = rotations(url, key, IncludeKeyMaterial="ALL_KEY_MATERIAL", Limit=1000)
    assert listed["Truncated"] is False
    return [e["KeyMaterialId"] for e in listed["Rotations"]]


def current_material_id(url: str, key: str) -> str:
    return call_ok(url, "DescribeKey", {"KeyId": key})["KeyMetadata"]["CurrentKeyMaterialId"]


def decrypt_raw(url: str, blob: bytes, context: dict | None = None) -> dict:
    body = {"CiphertextBlob": b64(blob)} | ({"EncryptionContext": context} if context else {})
    return call_ok(url, "Decrypt", body)


def test_rotate_three_times_list_decrypt_and_restart(fresh_server):
    srv = fresh_server()
    url, kms = srv.url, srv.client()
    key_id = kms.create_key(Description="rotating")["KeyMetadata"]["KeyId"]
    assert rotations(url, key_id) == {"Rotations": [], "Truncated": False}  # never rotated

    started = int(time.time())
    blobs = [kms.encrypt(KeyId=key_id, Plaintext=b"blob 0", EncryptionContext=CONTEXT)
             ["CiphertextBlob"]]
    for i in range(1, 4):
        assert call_ok(url, "RotateKeyOnDemand", {"KeyId": key_id}) == {"KeyId": key_id}
        blobs.append(kms.encrypt(KeyId=key_id, Plaintext=b"blob %d" % i,
                                 EncryptionContext=CONTEXT)["CiphertextBlob"])
    finished = int(time.time())

    # The three rotations, oldest first, with their dates and types.
    listed = rotations(url, key_arn(key_id))
    assert listed["Truncated"] is False and "NextMarker" not in listed
    entries = listed["Rotations"]
    assert [e["RotationType"] for e in entries] == ["ON_DEMAND"] * 3
    assert [e["KeyMaterialState"] for e in entries] == ["NON_CURRENT", "NON_CURRENT", "CURRENT"]
    assert all(e["KeyId"] == key_id for e in entries)
    dates = [e["RotationDate"] for e in entries]
    assert dates == sorted(dates) and started <= dates[0] and dates[-1] <= finished + 1, dates
    assert all("ImportState" not in e and "ExpirationModel" not in e for e in entries)
    ids = all_material_ids(url, key_id)
    assert len(set(ids)) == 4 and ids[1:] == [e["KeyMaterialId"] for e in entries]
    assert current_material_id(url, key_id) == ids[-1]
    first = rotations(url, key_id, IncludeKeyMaterial="ALL_KEY_MATERIAL")["Rotations"][0]
    assert first == {"KeyId": key_id, "KeyMaterialId": ids[0], "KeyMaterialState": "NON_CURRENT"}

    # Paging: Limit and Marker.
    page = rotations(url, key_id, Limit=2)
    assert page["Truncated"] is True and len(page["Rotations"]) == 2
    rest = rotations(url, key_id, Limit=2, Marker=page["NextMarker"])
    assert rest["Truncated"] is False and "NextMarker" not in rest
    assert [e["KeyMaterialId"] for e in page["Rotations"] + rest["Rotations"]] == ids[1:]
    assert_error(call(url, "ListKeyRotations", {"KeyId": key_id, "Marker": "not-a-marker"}),
                 "InvalidMarkerException", "The marker 'not-a-marker' is not valid.")

    # Every blob decrypts, and Decrypt names the material that sealed it (raw JSON: boto3's
    # model here has no KeyMaterialId).
    def check_blobs() -> None:
        for i, blob in enumerate(blobs):
            assert kms.decrypt(CiphertextBlob=blob, EncryptionContext=CONTEXT)["Plaintext"] == (
                b"blob %d" % i)
            dec = decrypt_raw(url, blob, CONTEXT)
            assert dec["KeyMaterialId"] == ids[i], i
        re = call_ok(url, "ReEncrypt", {"CiphertextBlob": b64(blobs[0]),
                                        "SourceEncryptionContext": CONTEXT,
                                        "DestinationKeyId": key_id})
        assert re["SourceKeyMaterialId"] == ids[0] and re["DestinationKeyMaterialId"] == ids[-1]
    check_blobs()

    before = {"list": rotations(url, key_id, IncludeKeyMaterial="ALL_KEY_MATERIAL"),
              "status": call_ok(url, "GetKeyRotationStatus", {"KeyId": key_id})}
    assert before["status"] == {"KeyRotationEnabled": False, "KeyId": key_arn(key_id)}

    # A restart keeps every material, date and id.
    srv.stop()
    srv.start()
    url, kms = srv.url, srv.client()
    assert rotations(url, key_id, IncludeKeyMaterial="ALL_KEY_MATERIAL") == before["list"]
    assert call_ok(url, "GetKeyRotationStatus", {"KeyId": key_id}) == before["status"]
    assert current_material_id(url, key_id) == ids[-1]
    check_blobs()

    # A fourth rotation after the restart continues the history.
    call_ok(url, "RotateKeyOnDemand", {"KeyId": key_arn(key_id)})
    assert len(rotations(url, key_id)["Rotations"]) == 4
    assert kms.decrypt(CiphertextBlob=blobs[0], EncryptionContext=CONTEXT)["Plaintext"] == b"blob 0"


def test_list_key_rotations_errors(kms, url):
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    kms.create_alias(AliasName="alias/rotating", TargetKeyId=key_id)
    assert_error(call(url, "ListKeyRotations", {"KeyId": "alias/rotating"}), "NotFoundException",
                 "Invalid keyId 'alias/rotating'")
    missing = "11111111-2222-4333-8444-555555555555"
    assert_error(call(url, "ListKeyRotations", {"KeyId": missing}), "NotFoundException",
                 f"Key '{key_arn(missing)}' does not exist")
    hmac_id = kms.create_key(KeySpec="HMAC_256", KeyUsage="GENERATE_VERIFY_MAC")["KeyMetadata"]["KeyId"]
    assert_error(call(url, "ListKeyRotations", {"KeyId": hmac_id}),
                 "UnsupportedOperationException", "")
    assert_error(call(url, "ListKeyRotations", {"KeyId": key_id, "IncludeKeyMaterial": "SOME"}),
                 "ValidationException")
    # Allowed in every key state.
    kms.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=7)
    assert rotations(url, key_id) == {"Rotations": [], "Truncated": False}
    # While pending deletion, a key's automatic rotation status is false (AWS documents it).
    assert call_ok(url, "GetKeyRotationStatus", {"KeyId": key_id})["KeyRotationEnabled"] is False


def test_a_key_with_100_automatic_rotations_decrypts_its_first_blob(fresh_server):
    srv = fresh_server()
    url, kms = srv.url, srv.client()
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    blob = kms.encrypt(KeyId=key_id, Plaintext=b"the first blob",
                       EncryptionContext=CONTEXT)["CiphertextBlob"]
    first_material = current_material_id(url, key_id)
    call_ok(url, "EnableKeyRotation", {"KeyId": key_id, "RotationPeriodInDays": 90})

    # kmsd "was down" while 100 rotation periods passed.
    srv.stop()
    first_date = backdate_rotation_schedule(srv.data_dir, key_id, periods=100, period_days=90)
    srv.start()
    url, kms = srv.url, srv.client()

    # The first use of the key makes the 100 rotations, each dated at its schedule.
    period = 90 * SECONDS_PER_DAY
    status = call_ok(url, "GetKeyRotationStatus", {"KeyId": key_id})
    assert status["KeyRotationEnabled"] is True and status["RotationPeriodInDays"] == 90
    assert status["NextRotationDate"] == first_date + 100 * period > time.time()
    listed = rotations(url, key_id, Limit=1000)
    entries = listed["Rotations"]
    assert len(entries) == 100 and listed["Truncated"] is False
    assert [e["RotationType"] for e in entries] == ["AUTOMATIC"] * 100
    assert [e["RotationDate"] for e in entries] == [first_date + i * period for i in range(100)]
    assert current_material_id(url, key_id) == entries[-1]["KeyMaterialId"]

    def check() -> None:
        assert kms.decrypt(CiphertextBlob=blob, EncryptionContext=CONTEXT)["Plaintext"] == (
            b"the first blob")
        assert decrypt_raw(url, blob, CONTEXT)["KeyMaterialId"] == first_material
        new_blob = base64.b64decode(call_ok(url, "Encrypt", {
            "KeyId": key_id, "Plaintext": b64(b"new")})["CiphertextBlob"])
        assert decrypt_raw(url, new_blob)["KeyMaterialId"] == entries[-1]["KeyMaterialId"]
    check()

    # The rotations were stored: a restart (SIGKILL, nothing acknowledged may be lost) keeps
    # them, and makes no more.
    srv.kill9()
    srv.start()
    url, kms = srv.url, srv.client()
    assert rotations(url, key_id, Limit=1000) == listed
    assert len(all_material_ids(url, key_id)) == 101
    check()
