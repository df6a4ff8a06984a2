"""AWS managed keys through boto3 (raw JSON where botocore 1.29's model is older than the
server's): the predefined alias/aws/* aliases ListAliases shows in a fresh account and region,
the key their first use creates (KeyManager AWS), the management operations AWS refuses on it,
and that key and alias across restarts and concurrent first uses."""
from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import pytest

from e2e_support import (ACCOUNT, OTHER_REGION, REGION, alias_arn, assert_error, call, call_ok,
                         expect_error, key_arn, make_client)

# The predefined aliases kmsd lists (server/ops/aws_managed.hpp), in name order.
PREDEFINED = ["alias/aws/" + s for s in (
    "acm", "dynamodb", "ebs", "elasticfilesystem", "es", "glue", "kinesisvideo", "lambda", "rds",
    "redshift", "s3", "secretsmanager", "ssm", "xray")]
S3_DESCRIPTION = "Default key that protects my S3 objects when no other key is defined"


def all_aliases(kms, **kwargs) -> list[dict]:
    return [a for page in kms.get_paginator("list_aliases").paginate(**kwargs)
            for a in page["Aliases"]]


def alias_entry(kms, name: str) -> dict:
    return {a["AliasName"]: a for a in all_aliases(kms)}[name]


def access_denied(op: str, key_id: str) -> str:
    return (f"User: arn:aws:iam::{ACCOUNT}:root is not authorized to perform: kms:{op} on "
            f"resource: {key_arn(key_id)} because no resource-based policy allows the kms:{op} "
            f"action")


def test_fresh_account_lists_predefined_aliases_without_targets(kms, kms_eu):
    for client, region in ((kms, REGION), (kms_eu, OTHER_REGION)):
        aliases = all_aliases(client)
        assert [a["AliasName"] for a in aliases] == PREDEFINED, aliases
        for a in aliases:
            assert a == {"AliasName": a["AliasName"],
                         "AliasArn": alias_arn(a["AliasName"], region)}, a
    assert kms.list_keys()["Keys"] == []


def test_predefined_aliases_page_with_customer_aliases(kms):
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    mine = ["alias/app", "alias/aws-x", "alias/awsome", "alias/zz"]
    for name in mine:
        kms.create_alias(AliasName=name, TargetKeyId=key_id)
    names = [a["AliasName"] for a in all_aliases(kms, PaginationConfig={"PageSize": 3})]
    assert names == sorted(PREDEFINED + mine), names
    assert [a["AliasName"] for a in all_aliases(kms, KeyId=key_id)] == mine


def test_first_use_creates_the_aws_managed_key(kms):
    sealed = kms.encrypt(KeyId="alias/aws/s3", Plaintext=b"managed data",
                         EncryptionContext={"bucket": "b1"})
    keys = kms.list_keys()["Keys"]
    assert len(keys) == 1, keys
    key_id = keys[0]["KeyId"]
    assert sealed["KeyId"] == key_arn(key_id)

    entry = alias_entry(kms, "alias/aws/s3")
    assert entry["TargetKeyId"] == key_id, entry
    assert "CreationDate" in entry and "LastUpdatedDate" in entry, entry
    assert "TargetKeyId" not in alias_entry(kms, "alias/aws/ebs")

    md = kms.describe_key(KeyId="alias/aws/s3")["KeyMetadata"]
    assert md["KeyId"] == key_id
    assert md["KeyManager"] == "AWS"
    assert md["Description"] == S3_DESCRIPTION
    assert md["KeySpec"] == "SYMMETRIC_DEFAULT" and md["KeyUsage"] == "ENCRYPT_DECRYPT"
    assert md["KeyState"] == "Enabled" and md["Enabled"] is True

    opened = kms.decrypt(CiphertextBlob=sealed["CiphertextBlob"],
                         EncryptionContext={"bucket": "b1"})
    assert opened["Plaintext"] == b"managed data"
    assert opened["KeyId"] == key_arn(key_id)

    # Every later use, by alias name or alias ARN, finds the same key.
    assert kms.generate_data_key(KeyId=alias_arn("alias/aws/s3"),
                                 KeySpec="AES_256")["KeyId"] == key_arn(key_id)
    assert len(kms.list_keys()["Keys"]) == 1

    rotation = kms.get_key_rotation_status(KeyId=key_id)
    assert rotation["KeyRotationEnabled"] is True, rotation
    policy = json.loads(kms.get_key_policy(KeyId=key_id, PolicyName="default")["Policy"])
    condition = policy["Statement"][0]["Condition"]["StringEquals"]
    assert condition == {"kms:CallerAccount": ACCOUNT,
                         "kms:ViaService": f"s3.{REGION}.amazonaws.com"}, policy


def test_describe_key_creates_it_too(kms, kms_eu):
    md = kms_eu.describe_key(KeyId="alias/aws/lambda")["KeyMetadata"]
    assert md["KeyManager"] == "AWS"
    assert md["Description"] == "Default key that protects my Lambda functions when no other key is defined"
    assert alias_entry(kms_eu, "alias/aws/lambda")["TargetKeyId"] == md["KeyId"]
    # Another region's predefined alias is untouched.
    assert "TargetKeyId" not in alias_entry(kms, "alias/aws/lambda")
    assert kms.list_keys()["Keys"] == []


def test_unknown_aws_alias_is_not_found(kms):
    expect_error(kms.encrypt, "NotFoundException",
                 f"Alias {alias_arn('alias/aws/nope')} is not found.",
                 KeyId="alias/aws/nope", Plaintext=b"x")
    assert kms.list_keys()["Keys"] == []


def test_aws_managed_keys_cannot_be_managed(kms, url):
    key_id = kms.describe_key(KeyId="alias/aws/ebs")["KeyMetadata"]["KeyId"]
    for ref in (key_id, key_arn(key_id)):
        refusals = [
            ("DisableKey", kms.disable_key, {}),
            ("EnableKey", kms.enable_key, {}),
            ("ScheduleKeyDeletion", kms.schedule_key_deletion, {"PendingWindowInDays": 7}),
            ("CancelKeyDeletion", kms.cancel_key_deletion, {}),
            ("UpdateKeyDescription", kms.update_key_description, {"Description": "mine"}),
            ("PutKeyPolicy", kms.put_key_policy,
             {"PolicyName": "default", "Policy": json.dumps({"Statement": {}})}),
            ("TagResource", kms.tag_resource, {"Tags": [{"TagKey": "k", "TagValue": "v"}]}),
            ("UntagResource", kms.untag_resource, {"TagKeys": ["k"]}),
            ("EnableKeyRotation", kms.enable_key_rotation, {}),
            ("DisableKeyRotation", kms.disable_key_rotation, {}),
        ]
        for op, fn, kwargs in refusals:
            expect_error(fn, "AccessDeniedException", access_denied(op, key_id), KeyId=ref, **kwargs)
        # RotateKeyOnDemand (2024) is newer than Debian's botocore: raw JSON for it.
        assert_error(call(url, "RotateKeyOnDemand", {"KeyId": ref}), "AccessDeniedException",
                     access_denied("RotateKeyOnDemand", key_id))

    # Customer aliases cannot point at it.
    mine = kms.create_key()["KeyMetadata"]["KeyId"]
    kms.create_alias(AliasName="alias/mine", TargetKeyId=mine)
    expect_error(kms.create_alias, "AccessDeniedException", access_denied("CreateAlias", key_id),
                 AliasName="alias/other", TargetKeyId=key_id)
    expect_error(kms.update_alias, "AccessDeniedException", access_denied("UpdateAlias", key_id),
                 AliasName="alias/mine", TargetKeyId=key_id)

    md = kms.describe_key(KeyId=key_id)["KeyMetadata"]
    assert md["KeyState"] == "Enabled" and md["KeyManager"] == "AWS", md
    assert kms.list_resource_tags(KeyId=key_id)["Tags"] == []
    assert kms.get_key_rotation_status(KeyId=key_id)["KeyRotationEnabled"] is True


@pytest.mark.parametrize("used", [False, True], ids=["before first use", "after first use"])
def test_aws_managed_aliases_cannot_be_changed(kms, used):
    mine = kms.create_key()["KeyMetadata"]["KeyId"]
    if used:
        kms.encrypt(KeyId="alias/aws/s3", Plaintext=b"x")
    for fn, kwargs in ((kms.create_alias, {"TargetKeyId": mine}),
                       (kms.update_alias, {"TargetKeyId": mine}),
                       (kms.delete_alias, {})):
        expect_error(fn, "NotAuthorizedException", "", AliasName="alias/aws/s3", **kwargs)
    entry = alias_entry(kms, "alias/aws/s3")
    assert ("TargetKeyId" in entry) == used, entry
    assert entry.get("TargetKeyId") != mine


@pytest.mark.parametrize("stop", ["sigterm", "sigkill"])
def test_aws_managed_key_survives_a_restart(fresh_server, stop):
    srv = fresh_server()
    kms = srv.client()
    sealed = kms.encrypt(KeyId="alias/aws/secretsmanager", Plaintext=b"secret")
    key_id = kms.describe_key(KeyId="alias/aws/secretsmanager")["KeyMetadata"]["KeyId"]
    if stop == "sigterm":
        srv.stop()
    else:
        srv.kill9()  # the 200s above were acknowledged: they must be on disk
    srv.start()
    kms = srv.client()

    assert alias_entry(kms, "alias/aws/secretsmanager")["TargetKeyId"] == key_id
    assert "TargetKeyId" not in alias_entry(kms, "alias/aws/ssm")
    md = kms.describe_key(KeyId="alias/aws/secretsmanager")["KeyMetadata"]
    assert md["KeyId"] == key_id and md["KeyManager"] == "AWS", md
    assert kms.decrypt(CiphertextBlob=sealed["CiphertextBlob"])["Plaintext"] == b"secret"
    expect_error(kms.disable_key, "AccessDeniedException", access_denied("DisableKey", key_id),
                 KeyId=key_id)
    assert [k["KeyId"] for k in kms.list_keys()["Keys"]] == [key_id]


def test_concurrent_first_uses_create_one_key(server):
    threads = 16
    clients = [make_client(server.url) for _ in range(threads)]

    def first_use(client) -> str:
        return client.encrypt(KeyId="alias/aws/glue", Plaintext=b"race")["KeyId"]

    with ThreadPoolExecutor(max_workers=threads) as pool:
        arns = set(pool.map(first_use, clients))
    assert len(arns) == 1, arns
    keys = call_ok(server.url, "ListKeys", {})["Keys"]
    assert [k["KeyArn"] for k in keys] == list(arns), keys
    glue = [a for a in call_ok(server.url, "ListAliases", {})["Aliases"]
            if a["AliasName"] == "alias/aws/glue"]
    assert len(glue) == 1 and key_arn(glue[0]["TargetKeyId"]) in arns, glue
