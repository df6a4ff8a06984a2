"""Multi-region keys end to end: ReplicateKey, UpdatePrimaryRegion, DescribeKey's
MultiRegionConfiguration, blobs that decrypt in every related region, rotation reaching the
replicas, the deletion rules of a primary with replicas, and a restart in the middle.

Two boto3 clients in different regions talk to the same kmsd: kmsd takes the region from the
SigV4 credential scope, as AWS does."""
from __future__ import annotations

import os
import sqlite3
import time

import botocore.exceptions
import pytest

from e2e_support import ACCOUNT, assert_error, call, call_ok, key_arn, make_client

PRIMARY = "us-east-1"
REPLICA = "eu-west-1"
THIRD = "ap-southeast-2"


def wait_enabled(client, key_id: str, timeout: float = 5.0) -> dict:
    """Polls DescribeKey, as AWS tells clients to, until the replica is no longer Creating.
    kmsd finishes a replica one second (of its clock) after ReplicateKey."""
    deadline = time.monotonic() + timeout
    while True:
        md = client.describe_key(KeyId=key_id)["KeyMetadata"]
        if md["KeyState"] != "Creating" or time.monotonic() > deadline:
            return md
        time.sleep(0.05)


def material_id(url: str, key_id: str, region: str) -> str:
    """CurrentKeyMaterialId (2025) through raw JSON: Debian's botocore drops the member."""
    return call_ok(url, "DescribeKey", {"KeyId": key_id}, region=region)["KeyMetadata"][
        "CurrentKeyMaterialId"]


def error_of(fn, **kwargs) -> tuple[str, str]:
    with pytest.raises(botocore.exceptions.ClientError) as e:
        fn(**kwargs)
    return e.value.response["Error"]["Code"], e.value.response["Error"].get("Message", "")


@pytest.fixture
def us(server):
    return make_client(server.url, PRIMARY)


@pytest.fixture
def eu(server):
    return make_client(server.url, REPLICA)


@pytest.fixture
def ap(server):
    return make_client(server.url, THIRD)


def replica_keys(md: dict) -> list[tuple[str, str]]:
    return [(k["Arn"], k["Region"]) for k in md["MultiRegionConfiguration"]["ReplicaKeys"]]


def test_replicate_describe_and_decrypt_across_regions(us, eu, ap, url):
    key_id = us.create_key(MultiRegion=True, Description="primary")["KeyMetadata"]["KeyId"]
    assert key_id.startswith("mrk-")
    # Not visible in another region before it is replicated there.
    code, message = error_of(eu.describe_key, KeyId=key_id)
    assert (code, message) == ("NotFoundException",
                               f"Key '{key_arn(key_id, REPLICA)}' does not exist")

    r = us.replicate_key(KeyId=key_id, ReplicaRegion=REPLICA, Description="eu copy",
                         Tags=[{"TagKey": "team", "TagValue": "eu"}])
    md = r["ReplicaKeyMetadata"]
    assert md["KeyId"] == key_id and md["Arn"] == key_arn(key_id, REPLICA)
    assert md["AWSAccountId"] == ACCOUNT
    assert md["KeyState"] == "Creating" and md["Enabled"] is False
    assert md["Description"] == "eu copy"
    raw_md = call_ok(url, "DescribeKey", {"KeyId": key_id}, region=REPLICA)["KeyMetadata"]
    if raw_md["KeyState"] == "Creating":  # none while Creating (recorded from AWS)
        assert "CurrentKeyMaterialId" not in raw_md
    assert md["MultiRegionConfiguration"]["MultiRegionKeyType"] == "REPLICA"
    assert md["MultiRegionConfiguration"]["PrimaryKey"] == {"Arn": key_arn(key_id),
                                                            "Region": PRIMARY}
    assert replica_keys(md) == [(key_arn(key_id, REPLICA), REPLICA)]
    assert '"key-default-1"' in r["ReplicaPolicy"]
    assert r["ReplicaTags"] == [{"TagKey": "team", "TagValue": "eu"}]

    # The primary lists it; its description was not touched.
    pmd = us.describe_key(KeyId=key_id)["KeyMetadata"]
    assert pmd["MultiRegionConfiguration"]["MultiRegionKeyType"] == "PRIMARY"
    assert replica_keys(pmd) == [(key_arn(key_id, REPLICA), REPLICA)]
    assert pmd["Description"] == "primary"

    # Creating, then Enabled within a second or so, with the primary's material.
    emd = wait_enabled(eu, key_id)
    assert emd["KeyState"] == "Enabled" and emd["Enabled"] is True
    assert material_id(url, key_id, REPLICA) == material_id(url, key_id, PRIMARY)
    assert emd["MultiRegionConfiguration"]["PrimaryKey"]["Region"] == PRIMARY

    # A blob of either region decrypts in the other, with or without KeyId.
    ctx = {"purpose": "multi-region"}
    from_us = us.encrypt(KeyId=key_id, Plaintext=b"sealed in us", EncryptionContext=ctx)["CiphertextBlob"]
    from_eu = eu.encrypt(KeyId=key_arn(key_id, REPLICA), Plaintext=b"sealed in eu")["CiphertextBlob"]
    got = eu.decrypt(CiphertextBlob=from_us, EncryptionContext=ctx)
    assert got["Plaintext"] == b"sealed in us" and got["KeyId"] == key_arn(key_id, REPLICA)
    assert eu.decrypt(CiphertextBlob=from_us, EncryptionContext=ctx, KeyId=key_id)["Plaintext"] == b"sealed in us"
    got = us.decrypt(CiphertextBlob=from_eu, KeyId=key_arn(key_id))
    assert got["Plaintext"] == b"sealed in eu" and got["KeyId"] == key_arn(key_id)
    dk = eu.generate_data_key(KeyId=key_id, KeySpec="AES_256")
    assert us.decrypt(CiphertextBlob=dk["CiphertextBlob"])["Plaintext"] == dk["Plaintext"]
    # A region without a related key cannot open it.
    assert error_of(ap.decrypt, CiphertextBlob=from_us, EncryptionContext=ctx)[0] == \
        "InvalidCiphertextException"

    # A second replica: every related key lists all replicas (a replica lists itself too).
    us.replicate_key(KeyId=key_arn(key_id), ReplicaRegion=THIRD)
    wait_enabled(ap, key_id)
    expected = [(key_arn(key_id, THIRD), THIRD), (key_arn(key_id, REPLICA), REPLICA)]
    for client in (us, eu, ap):
        assert replica_keys(client.describe_key(KeyId=key_id)["KeyMetadata"]) == expected

    # Aliases, tags, state and description are each region's own.
    eu.create_alias(AliasName="alias/mr", TargetKeyId=key_id)
    assert eu.describe_key(KeyId="alias/mr")["KeyMetadata"]["KeyId"] == key_id
    assert error_of(us.describe_key, KeyId="alias/mr")[0] == "NotFoundException"
    assert eu.list_resource_tags(KeyId=key_id)["Tags"] == [{"TagKey": "team", "TagValue": "eu"}]
    assert us.list_resource_tags(KeyId=key_id)["Tags"] == []
    us.disable_key(KeyId=key_id)
    assert eu.decrypt(CiphertextBlob=from_us, EncryptionContext=ctx)["Plaintext"] == b"sealed in us"


def test_replicate_key_errors(us, eu, url):
    key_id = us.create_key(MultiRegion=True)["KeyMetadata"]["KeyId"]
    single = us.create_key()["KeyMetadata"]["KeyId"]
    assert error_of(us.replicate_key, KeyId=single, ReplicaRegion=REPLICA) == (
        "UnsupportedOperationException", f"{key_arn(single)} is not a multi-region primary key.")
    us.replicate_key(KeyId=key_id, ReplicaRegion=REPLICA)
    # Replicating a replica (recorded from AWS: the primary check comes before the region's).
    assert error_of(eu.replicate_key, KeyId=key_id, ReplicaRegion=REPLICA) == (
        "UnsupportedOperationException",
        f"{key_arn(key_id, REPLICA)} is not a multi-region primary key.")
    code, message = error_of(us.replicate_key, KeyId=key_id, ReplicaRegion=REPLICA)
    assert code == "AlreadyExistsException" and key_arn(key_id, REPLICA) in message
    assert error_of(us.replicate_key, KeyId=key_id, ReplicaRegion=PRIMARY)[0] == "ValidationException"
    assert error_of(us.replicate_key, KeyId=key_id, ReplicaRegion="us-fake-1")[0] == \
        "UnsupportedOperationException"
    assert error_of(us.replicate_key, KeyId=key_id, ReplicaRegion="eu-west-2x")[0] == \
        "ValidationException"  # the model's Region pattern
    missing = "mrk-0123456789abcdef0123456789abcdef"
    assert error_of(us.replicate_key, KeyId=missing, ReplicaRegion="us-west-2", Policy="{") == (
        "NotFoundException", f"Key '{key_arn(missing)}' does not exist")
    assert error_of(us.replicate_key, KeyId=key_id, ReplicaRegion="us-west-2",
                    Policy='{"Version":"2012-10-17"}')[0] == "MalformedPolicyDocumentException"
    assert error_of(us.replicate_key, KeyId=key_id, ReplicaRegion="us-west-2",
                    Tags=[{"TagKey": "aws:x", "TagValue": "y"}]) == (
        "TagException", "Tags beginning with aws: are reserved")
    # While it is Creating the replica is refused for cryptography with AWS's state error.
    r = call(url, "Encrypt", {"KeyId": key_id, "Plaintext": "aGk="}, region=REPLICA)
    if r.status != 200:  # the creation may already be over
        assert_error(r, "KMSInvalidStateException", f"{key_arn(key_id, REPLICA)} is creating.")
    us.disable_key(KeyId=key_id)
    assert error_of(us.replicate_key, KeyId=key_id, ReplicaRegion="us-west-2") == (
        "DisabledException", f"{key_arn(key_id)} is disabled.")


def test_rotation_of_the_primary_reaches_the_replica(us, eu, url):
    key_id = us.create_key(MultiRegion=True)["KeyMetadata"]["KeyId"]
    us.replicate_key(KeyId=key_id, ReplicaRegion=REPLICA)
    wait_enabled(eu, key_id)
    old_blob = eu.encrypt(KeyId=key_id, Plaintext=b"before rotation")["CiphertextBlob"]
    before = material_id(url, key_id, PRIMARY)

    # RotateKeyOnDemand (2024) is newer than Debian's botocore: raw JSON.
    call_ok(url, "RotateKeyOnDemand", {"KeyId": key_id}, region=PRIMARY)
    after = material_id(url, key_id, PRIMARY)
    assert after != before
    assert material_id(url, key_id, REPLICA) == after
    new_blob = us.encrypt(KeyId=key_id, Plaintext=b"after rotation")["CiphertextBlob"]
    assert eu.decrypt(CiphertextBlob=new_blob)["Plaintext"] == b"after rotation"
    assert us.decrypt(CiphertextBlob=old_blob)["Plaintext"] == b"before rotation"

    us.enable_key_rotation(KeyId=key_id)
    assert eu.get_key_rotation_status(KeyId=key_id)["KeyRotationEnabled"] is True
    # Rotation belongs to the primary.
    r = call(url, "RotateKeyOnDemand", {"KeyId": key_id}, region=REPLICA)
    assert r.status == 400 and r.type == "UnsupportedOperationException", r.describe()


def test_automatic_rotation_made_late_reaches_the_replica(fresh_server):
    """kmsd's clock is the system's: like tests/e2e/test_rotation.py, the test moves the rotation
    date into the past in the stopped kmsd's database (of every related key, whose schedules are
    one) and checks what the first use after the restart does: the primary rotates, once per
    elapsed period, and its replicas get the same material, even when a replica is used first."""
    srv = fresh_server()
    url = srv.url
    us, eu = make_client(url, PRIMARY), make_client(url, REPLICA)
    key_id = us.create_key(MultiRegion=True)["KeyMetadata"]["KeyId"]
    us.replicate_key(KeyId=key_id, ReplicaRegion=REPLICA)
    wait_enabled(eu, key_id)
    us.enable_key_rotation(KeyId=key_id)  # 365 days
    assert eu.get_key_rotation_status(KeyId=key_id)["KeyRotationEnabled"] is True
    blob = us.encrypt(KeyId=key_id, Plaintext=b"before the rotations")["CiphertextBlob"]

    srv.stop()
    past = int(time.time()) - 400 * 86400  # two rotation dates have passed since then
    db = sqlite3.connect(os.path.join(srv.data_dir, "kms.db"))
    with db:
        assert db.execute("UPDATE keys SET next_rotation_date = ? WHERE key_id = ?",
                          (past, key_id)).rowcount == 2
    db.close()
    srv.start()
    url = srv.url
    us, eu = make_client(url, PRIMARY), make_client(url, REPLICA)

    new_blob = eu.encrypt(KeyId=key_id, Plaintext=b"after")["CiphertextBlob"]  # replica first
    listed = {region: call_ok(url, "ListKeyRotations", {"KeyId": key_id}, region=region)["Rotations"]
              for region in (PRIMARY, REPLICA)}
    assert [r["RotationType"] for r in listed[PRIMARY]] == ["AUTOMATIC"] * 2
    assert listed[REPLICA] == listed[PRIMARY]
    assert material_id(url, key_id, REPLICA) == material_id(url, key_id, PRIMARY) == \
        listed[PRIMARY][-1]["KeyMaterialId"]
    assert us.decrypt(CiphertextBlob=new_blob)["Plaintext"] == b"after"
    assert eu.decrypt(CiphertextBlob=blob)["Plaintext"] == b"before the rotations"
    srv.stop()


def test_update_primary_region(us, eu, ap):
    key_id = us.create_key(MultiRegion=True)["KeyMetadata"]["KeyId"]
    us.replicate_key(KeyId=key_id, ReplicaRegion=REPLICA)
    wait_enabled(eu, key_id)  # (a replica still Creating is refused: unit tests cover it)
    blob = us.encrypt(KeyId=key_id, Plaintext=b"before the move")["CiphertextBlob"]

    assert error_of(us.update_primary_region, KeyId=key_id, PrimaryRegion=THIRD) == (
        "NotFoundException", f"Key '{key_arn(key_id, THIRD)}' does not exist")
    us.update_primary_region(KeyId=key_arn(key_id), PrimaryRegion=REPLICA)

    emd = eu.describe_key(KeyId=key_id)["KeyMetadata"]
    umd = us.describe_key(KeyId=key_id)["KeyMetadata"]
    assert emd["MultiRegionConfiguration"]["MultiRegionKeyType"] == "PRIMARY"
    assert umd["MultiRegionConfiguration"]["MultiRegionKeyType"] == "REPLICA"
    for md in (emd, umd):
        assert md["MultiRegionConfiguration"]["PrimaryKey"] == {"Arn": key_arn(key_id, REPLICA),
                                                                "Region": REPLICA}
        assert replica_keys(md) == [(key_arn(key_id, PRIMARY), PRIMARY)]
        assert md["KeyState"] == "Enabled"
    assert eu.decrypt(CiphertextBlob=blob)["Plaintext"] == b"before the move"
    # Only the new primary replicates; the old one answers as a replica.
    assert error_of(us.replicate_key, KeyId=key_id, ReplicaRegion=THIRD)[0] == \
        "UnsupportedOperationException"
    eu.replicate_key(KeyId=key_id, ReplicaRegion=THIRD)
    amd = wait_enabled(ap, key_id)
    assert amd["MultiRegionConfiguration"]["PrimaryKey"]["Region"] == REPLICA
    assert error_of(us.update_primary_region, KeyId=key_id, PrimaryRegion=REPLICA)[0] == \
        "UnsupportedOperationException"


def test_deletion_rules(us, eu):
    key_id = us.create_key(MultiRegion=True)["KeyMetadata"]["KeyId"]
    us.replicate_key(KeyId=key_id, ReplicaRegion=REPLICA)
    wait_enabled(eu, key_id)

    r = us.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=7)
    assert r["KeyState"] == "PendingReplicaDeletion" and r["PendingWindowInDays"] == 7
    assert "DeletionDate" not in r  # unknown until the last replica is deleted
    md = us.describe_key(KeyId=key_id)["KeyMetadata"]
    assert md["KeyState"] == "PendingReplicaDeletion" and md["PendingDeletionWindowInDays"] == 7
    assert "DeletionDate" not in md
    assert error_of(us.encrypt, KeyId=key_id, Plaintext=b"x") == (
        "KMSInvalidStateException", f"{key_arn(key_id)} is pending replica deletion.")
    assert eu.encrypt(KeyId=key_id, Plaintext=b"x")["KeyId"] == key_arn(key_id, REPLICA)

    # The replica is scheduled on its own; the primary keeps waiting for it.
    rr = eu.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=7)
    assert rr["KeyState"] == "PendingDeletion" and "DeletionDate" in rr
    assert us.describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"] == "PendingReplicaDeletion"
    assert replica_keys(us.describe_key(KeyId=key_id)["KeyMetadata"]) == [
        (key_arn(key_id, REPLICA), REPLICA)]
    assert error_of(us.replicate_key, KeyId=key_id, ReplicaRegion=REPLICA) == (
        "KMSInvalidStateException", f"{key_arn(key_id)} is pending replica deletion.")

    us.cancel_key_deletion(KeyId=key_id)
    assert us.describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"] == "Disabled"
    eu.cancel_key_deletion(KeyId=key_id)
    assert eu.describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"] == "Disabled"


def test_replica_survives_restart(fresh_server):
    srv = fresh_server()
    us, eu = make_client(srv.url, PRIMARY), make_client(srv.url, REPLICA)
    key_id = us.create_key(MultiRegion=True, Description="p")["KeyMetadata"]["KeyId"]
    us.replicate_key(KeyId=key_id, ReplicaRegion=REPLICA, Description="r",
                     Tags=[{"TagKey": "k", "TagValue": "v"}])
    blob = us.encrypt(KeyId=key_id, Plaintext=b"across the restart")["CiphertextBlob"]
    before = {region: client.describe_key(KeyId=key_id)["KeyMetadata"]
              for region, client in ((PRIMARY, us), (REPLICA, eu))}

    srv.stop()
    srv.start()
    us, eu = make_client(srv.url, PRIMARY), make_client(srv.url, REPLICA)
    emd = wait_enabled(eu, key_id)
    assert emd["KeyState"] == "Enabled" and emd["Description"] == "r"
    assert emd["MultiRegionConfiguration"] == before[REPLICA]["MultiRegionConfiguration"]
    umd = us.describe_key(KeyId=key_id)["KeyMetadata"]
    assert umd == before[PRIMARY]
    assert eu.list_resource_tags(KeyId=key_id)["Tags"] == [{"TagKey": "k", "TagValue": "v"}]
    assert eu.decrypt(CiphertextBlob=blob)["Plaintext"] == b"across the restart"

    # Move the primary, restart again: the swap is durable.
    us.update_primary_region(KeyId=key_id, PrimaryRegion=REPLICA)
    srv.kill9()
    srv.start()
    us, eu = make_client(srv.url, PRIMARY), make_client(srv.url, REPLICA)
    assert eu.describe_key(KeyId=key_id)["KeyMetadata"]["MultiRegionConfiguration"][
        "MultiRegionKeyType"] == "PRIMARY"
    assert us.describe_key(KeyId=key_id)["KeyMetadata"]["MultiRegionConfiguration"][
        "PrimaryKey"]["Region"] == REPLICA
    assert us.decrypt(CiphertextBlob=blob)["Plaintext"] == b"across the restart"
    srv.stop()
