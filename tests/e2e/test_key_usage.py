"""GetKeyLastUsage end to end: which calls count as a use, what the response holds, and what
survives a graceful restart and a SIGKILL. Raw JSON: Debian's boto3 predates the operation."""
from __future__ import annotations

import re
import sqlite3
import time

from e2e_support import (OTHER_REGION, REGION, assert_error, b64, call, call_ok, key_arn)

UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


def new_key(url: str, region: str | None = None, **members) -> str:
    return call_ok(url, "CreateKey", members, region=region)["KeyMetadata"]["KeyId"]


def use(url: str, op: str, payload: dict, region: str | None = None) -> tuple[dict, str]:
    """A successful call and the request id kmsd answered it with."""
    r = call(url, op, payload, region=region)
    assert r.status == 200, f"{op} failed: {r.describe()}"
    return r.json, r.headers["x-amzn-requestid"]


def last_usage(url: str, key_ref: str, region: str | None = None) -> dict:
    return call_ok(url, "GetKeyLastUsage", {"KeyId": key_ref}, region=region)


def test_a_fresh_key_has_an_empty_key_last_usage(url):
    key = new_key(url)
    created = call_ok(url, "DescribeKey", {"KeyId": key})["KeyMetadata"]["CreationDate"]
    r = last_usage(url, key)
    assert r == {"KeyId": key, "KeyLastUsage": {}, "TrackingStartDate": created,
                 "KeyCreationDate": created}


def test_encrypt_is_recorded_with_its_request_id(url):
    key = new_key(url)
    before = time.time()
    _, request_id = use(url, "Encrypt", {"KeyId": key, "Plaintext": b64(b"hello")})
    r = last_usage(url, key_arn(key))  # the key ARN works as well as the id
    assert r["KeyId"] == key
    usage = r["KeyLastUsage"]
    assert usage["Operation"] == "Encrypt"
    assert usage["KmsRequestId"] == request_id
    assert UUID.match(usage["CloudTrailEventId"]), usage
    assert int(before) - 1 <= usage["Timestamp"] <= time.time() + 1
    # Reading it is not a use, and it reads the same again.
    assert last_usage(url, key) == r


def test_every_kind_of_cryptographic_call_counts(url):
    hmac = new_key(url, KeySpec="HMAC_256", KeyUsage="GENERATE_VERIFY_MAC")
    mac, _ = use(url, "GenerateMac", {"KeyId": hmac, "Message": b64(b"m"),
                                      "MacAlgorithm": "HMAC_SHA_256"})
    _, verified = use(url, "VerifyMac", {"KeyId": hmac, "Message": b64(b"m"),
                                         "MacAlgorithm": "HMAC_SHA_256", "Mac": mac["Mac"]})
    assert last_usage(url, hmac)["KeyLastUsage"]["Operation"] == "VerifyMac"
    assert last_usage(url, hmac)["KeyLastUsage"]["KmsRequestId"] == verified

    signing = new_key(url, KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")
    use(url, "Sign", {"KeyId": signing, "Message": b64(b"m"), "SigningAlgorithm": "ECDSA_SHA_256"})
    assert last_usage(url, signing)["KeyLastUsage"]["Operation"] == "Sign"

    symmetric = new_key(url)
    use(url, "GenerateDataKeyPairWithoutPlaintext", {"KeyId": symmetric,
                                                     "KeyPairSpec": "ECC_NIST_P256"})
    assert (last_usage(url, symmetric)["KeyLastUsage"]["Operation"]
            == "GenerateDataKeyPairWithoutPlaintext")
    # Not cryptographic uses: the last use stays.
    call_ok(url, "DescribeKey", {"KeyId": symmetric})
    call_ok(url, "EnableKeyRotation", {"KeyId": symmetric})
    call_ok(url, "RotateKeyOnDemand", {"KeyId": symmetric})
    assert (last_usage(url, symmetric)["KeyLastUsage"]["Operation"]
            == "GenerateDataKeyPairWithoutPlaintext")


def test_a_failed_decrypt_does_not_count(url):
    key = new_key(url)
    enc, request_id = use(url, "Encrypt", {"KeyId": key, "Plaintext": b64(b"x"),
                                           "EncryptionContext": {"a": "1"}})
    r = call(url, "Decrypt", {"CiphertextBlob": enc["CiphertextBlob"],
                              "EncryptionContext": {"a": "2"}})
    assert_error(r, "InvalidCiphertextException", message="")
    r = call(url, "Decrypt", {"CiphertextBlob": enc["CiphertextBlob"],
                              "EncryptionContext": {"a": "1"}, "DryRun": True})
    assert_error(r, "DryRunOperationException")
    usage = last_usage(url, key)["KeyLastUsage"]
    assert (usage["Operation"], usage["KmsRequestId"]) == ("Encrypt", request_id)

    _, decrypted = use(url, "Decrypt", {"CiphertextBlob": enc["CiphertextBlob"],
                                        "EncryptionContext": {"a": "1"}})
    usage = last_usage(url, key)["KeyLastUsage"]
    assert (usage["Operation"], usage["KmsRequestId"]) == ("Decrypt", decrypted)


def test_reencrypt_counts_on_both_keys(url):
    source = new_key(url)
    destination = new_key(url)
    enc, _ = use(url, "Encrypt", {"KeyId": source, "Plaintext": b64(b"x")})
    _, request_id = use(url, "ReEncrypt", {"CiphertextBlob": enc["CiphertextBlob"],
                                           "DestinationKeyId": destination})
    for key in (source, destination):
        usage = last_usage(url, key)["KeyLastUsage"]
        assert (usage["Operation"], usage["KmsRequestId"]) == ("ReEncrypt", request_id)


def test_errors_name_the_key_as_other_key_operations_do(url):
    key = new_key(url)
    call_ok(url, "CreateAlias", {"AliasName": "alias/usage", "TargetKeyId": key})
    assert_error(call(url, "GetKeyLastUsage", {"KeyId": "alias/usage"}), "NotFoundException",
                 "Invalid keyId 'alias/usage'")
    missing = "12345678-1234-4234-8234-123456789012"
    assert_error(call(url, "GetKeyLastUsage", {"KeyId": missing}), "NotFoundException",
                 f"Key '{key_arn(missing)}' does not exist")
    assert_error(call(url, "GetKeyLastUsage", {"KeyId": key}, region=OTHER_REGION),
                 "NotFoundException", f"Key '{key_arn(key, OTHER_REGION)}' does not exist")
    assert_error(call(url, "GetKeyLastUsage", {}), "ValidationException")


def test_regions_track_their_own_keys(url):
    east = new_key(url)
    west = new_key(url, region=OTHER_REGION)
    _, request_id = use(url, "Encrypt", {"KeyId": west, "Plaintext": b64(b"x")},
                        region=OTHER_REGION)
    assert last_usage(url, west, region=OTHER_REGION)["KeyLastUsage"]["KmsRequestId"] == request_id
    assert last_usage(url, east, region=REGION)["KeyLastUsage"] == {}


def test_usage_survives_a_graceful_restart(fresh_server):
    srv = fresh_server()
    key = new_key(srv.url)
    other = new_key(srv.url)
    enc, _ = use(srv.url, "Encrypt", {"KeyId": key, "Plaintext": b64(b"x")})
    _, request_id = use(srv.url, "ReEncrypt", {"CiphertextBlob": enc["CiphertextBlob"],
                                               "DestinationKeyId": other})
    before = {k: last_usage(srv.url, k) for k in (key, other)}
    srv.stop()  # right after the use: the shutdown flush stores it
    srv.start()
    for k in (key, other):
        assert last_usage(srv.url, k) == before[k]
        assert before[k]["KeyLastUsage"]["KmsRequestId"] == request_id
    # Tracking goes on after the restart.
    _, later = use(srv.url, "Decrypt", {"CiphertextBlob": enc["CiphertextBlob"]})
    assert last_usage(srv.url, key)["KeyLastUsage"]["KmsRequestId"] == later
    srv.stop()


def stored_request_ids(srv) -> set[str]:
    db = sqlite3.connect(f"file:{srv.data_dir / 'kms.db'}?mode=ro", uri=True)
    try:
        return {row[0] for row in db.execute("SELECT request_id FROM key_last_usage")}
    finally:
        db.close()


def test_a_flushed_use_survives_sigkill(fresh_server):
    srv = fresh_server()
    key = new_key(srv.url)
    _, request_id = use(srv.url, "Encrypt", {"KeyId": key, "Plaintext": b64(b"x")})
    # kmsd stores uses once a second: wait (at most 10 s) until this one is in the database.
    deadline = time.monotonic() + 10
    while request_id not in stored_request_ids(srv):
        assert time.monotonic() < deadline, "the use was not stored within 10 s"
        time.sleep(0.05)
    srv.kill9()
    srv.start()
    usage = last_usage(srv.url, key)["KeyLastUsage"]
    assert (usage["Operation"], usage["KmsRequestId"]) == ("Encrypt", request_id)
    srv.stop()


def test_disabled_and_pending_deletion_keys_still_report_usage(url):
    key = new_key(url)
    _, request_id = use(url, "Encrypt", {"KeyId": key, "Plaintext": b64(b"x")})
    call_ok(url, "DisableKey", {"KeyId": key})
    assert last_usage(url, key)["KeyLastUsage"]["KmsRequestId"] == request_id
    call_ok(url, "ScheduleKeyDeletion", {"KeyId": key, "PendingWindowInDays": 7})
    assert last_usage(url, key)["KeyLastUsage"]["KmsRequestId"] == request_id


def test_reset_drops_the_usage_with_the_keys(fresh_server):
    srv = fresh_server()
    key = new_key(srv.url)
    use(srv.url, "Encrypt", {"KeyId": key, "Plaintext": b64(b"x")})
    srv.stop()
    assert stored_request_ids(srv)
    srv.start()
    srv.reset()
    srv.stop()
    assert stored_request_ids(srv) == set()
