"""Key management through boto3 (raw JSON where botocore 1.29's model is older than the
server's): metadata, listing, state changes, deletion, aliases, tags, policies, rotation,
GenerateRandom, unimplemented operations and DryRun (recorded from AWS)."""
from __future__ import annotations

import base64
import json
import re
import time

import pytest

from e2e_support import (ACCOUNT, REGION, alias_arn, assert_error, call, call_ok, expect_error,
                         key_arn)

UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
DAY = 86400


def new_key(kms, **kwargs) -> str:
    return kms.create_key(**kwargs)["KeyMetadata"]["KeyId"]


def validation_text(value, member: str, rule: str) -> str:
    return (f"1 validation error detected: Value '{value}' at '{member}' failed to satisfy "
            f"constraint: Member must {rule}")


# ---- CreateKey / DescribeKey -----------------------------------------------------------------
def check_symmetric_metadata(md: dict, description: str = "") -> None:
    key_id = md["KeyId"]
    assert UUID_RE.match(key_id), f"KeyId is not a lower-case UUID: {key_id!r}"
    expected = {
        "AWSAccountId": ACCOUNT,
        "Arn": key_arn(key_id),
        "CustomerMasterKeySpec": "SYMMETRIC_DEFAULT",
        "KeySpec": "SYMMETRIC_DEFAULT",
        "Description": description,
        "Enabled": True,
        "KeyManager": "CUSTOMER",
        "KeyState": "Enabled",
        "KeyUsage": "ENCRYPT_DECRYPT",
        "Origin": "AWS_KMS",
        "MultiRegion": False,
        "EncryptionAlgorithms": ["SYMMETRIC_DEFAULT"],
    }
    for name, value in expected.items():
        assert name in md, f"KeyMetadata lacks {name}: {sorted(md)}"
        assert md[name] == value, f"KeyMetadata.{name} = {md[name]!r}, expected {value!r}"
    for absent in ("DeletionDate", "SigningAlgorithms", "MacAlgorithms", "ExpirationModel",
                   "ValidTo", "MultiRegionConfiguration"):
        assert absent not in md, f"a new symmetric key should have no {absent}: {md[absent]!r}"


def test_create_key_metadata_boto3(kms):
    before = time.time()
    md = kms.create_key()["KeyMetadata"]
    check_symmetric_metadata(md)
    created = md["CreationDate"].timestamp()
    assert before - 5 <= created <= time.time() + 5, f"CreationDate {md['CreationDate']} is not now"
    described = kms.describe_key(KeyId=md["KeyId"])["KeyMetadata"]
    assert described == md, f"DescribeKey differs from CreateKey:\n{described}\n{md}"


def test_create_key_metadata_raw_has_new_members(url):
    md = call_ok(url, "CreateKey", {})["KeyMetadata"]
    check_symmetric_metadata(md)
    assert isinstance(md["CreationDate"], (int, float)), (
        f"CreationDate should be epoch seconds on the wire, got {md['CreationDate']!r}")
    assert abs(md["CreationDate"] - time.time()) < 60
    cmid = md.get("CurrentKeyMaterialId")
    assert isinstance(cmid, str) and cmid, f"CurrentKeyMaterialId missing or empty: {md}"
    desc = call_ok(url, "DescribeKey", {"KeyId": md["KeyId"]})["KeyMetadata"]
    assert desc == md, f"DescribeKey differs from CreateKey:\n{desc}\n{md}"
    # A second key has its own id and material id.
    md2 = call_ok(url, "CreateKey", {})["KeyMetadata"]
    assert md2["KeyId"] != md["KeyId"] and md2["CurrentKeyMaterialId"] != cmid


def test_create_key_with_description_tags_and_policy(kms):
    policy = json.dumps({"Version": "2012-10-17", "Id": "custom", "Statement": [{
        "Sid": "Everything", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
        "Action": "kms:*", "Resource": "*"}]})
    md = kms.create_key(Description="my key", Policy=policy,
                        KeyUsage="ENCRYPT_DECRYPT", KeySpec="SYMMETRIC_DEFAULT",
                        Tags=[{"TagKey": "env", "TagValue": "test"},
                              {"TagKey": "owner", "TagValue": ""}])["KeyMetadata"]
    check_symmetric_metadata(md, description="my key")
    tags = kms.list_resource_tags(KeyId=md["KeyId"])
    assert {t["TagKey"]: t["TagValue"] for t in tags["Tags"]} == {"env": "test", "owner": ""}, tags
    assert tags["Truncated"] is False
    got = kms.get_key_policy(KeyId=md["KeyId"], PolicyName="default")["Policy"]
    assert json.loads(got) == json.loads(policy), f"GetKeyPolicy returned {got}"


def test_create_key_bad_enums(kms):
    e = expect_error(kms.create_key, "ValidationException", KeySpec="HMAC_random")
    assert e.response["Error"]["Message"].startswith(
        "1 validation error detected: Value 'HMAC_random' at 'keySpec' failed to satisfy "
        "constraint: Member must satisfy enum value set: ["), e.response["Error"]
    e = expect_error(kms.create_key, "ValidationException", KeyUsage="BOGUS")
    assert "'BOGUS' at 'keyUsage'" in e.response["Error"]["Message"], e.response["Error"]


def test_describe_key_reference_forms_and_errors(kms):
    key_id = new_key(kms)
    kms.create_alias(AliasName="alias/desc", TargetKeyId=key_id)
    for ref in (key_id, key_arn(key_id), "alias/desc", alias_arn("alias/desc")):
        assert kms.describe_key(KeyId=ref)["KeyMetadata"]["KeyId"] == key_id, ref
    missing = "11111111-2222-3333-4444-555555555555"
    expect_error(kms.describe_key, "NotFoundException", f"Key '{key_arn(missing)}' does not exist",
                 KeyId=missing)
    expect_error(kms.describe_key, "NotFoundException",
                 f"Key '{key_arn(missing)}' does not exist", KeyId=key_arn(missing))
    for bad in ("fake-key-id", "mrk-fake-key-id", key_id.replace("-", "")):
        expect_error(kms.describe_key, "NotFoundException", f"Invalid keyId '{bad}'", KeyId=bad)
    expect_error(kms.describe_key, "NotFoundException", "Invalid arn eu-central-1",
                 KeyId=key_arn(key_id, region="eu-central-1"))


# ---- ListKeys --------------------------------------------------------------------------------
def test_list_keys_paging(kms, url):
    empty = kms.list_keys()
    assert (empty["Keys"], empty["Truncated"]) == ([], False), f"state not reset: {empty}"
    ids = {new_key(kms) for _ in range(5)}
    first = kms.list_keys()
    assert {k["KeyId"] for k in first["Keys"]} == ids and first["Truncated"] is False
    for entry in first["Keys"]:
        assert entry["KeyArn"] == key_arn(entry["KeyId"]), entry
    assert "NextMarker" not in first

    seen, marker, pages = [], None, 0
    while True:
        kwargs = {"Limit": 2} | ({"Marker": marker} if marker else {})
        page = kms.list_keys(**kwargs)
        pages += 1
        assert len(page["Keys"]) <= 2, f"Limit=2 returned {len(page['Keys'])} keys"
        seen += [k["KeyId"] for k in page["Keys"]]
        if not page["Truncated"]:
            assert "NextMarker" not in page, page
            break
        assert page["NextMarker"], f"Truncated page without NextMarker: {page}"
        marker = page["NextMarker"]
        assert pages < 10, "ListKeys paging does not terminate"
    assert pages == 3, f"5 keys at Limit=2 should take 3 pages, took {pages}"
    assert len(seen) == 5 and set(seen) == ids, f"paging lost or duplicated keys: {seen}"

    # A key listed once, paging via boto3's paginator too.
    paged = [k["KeyId"] for p in kms.get_paginator("list_keys").paginate(PaginationConfig={"PageSize": 4})
             for k in p["Keys"]]
    assert sorted(paged) == sorted(ids)

    assert_error(call(url, "ListKeys", {"Limit": 0}), "ValidationException",
                 validation_text(0, "limit", "have value greater than or equal to 1"))
    assert_error(call(url, "ListKeys", {"Limit": 1001}), "ValidationException",
                 validation_text(1001, "limit", "have value less than or equal to 1000"))
    r = call(url, "ListKeys", {"Marker": "not-a-marker"})
    assert_error(r, "InvalidMarkerException", what="ListKeys with a garbage Marker")


# ---- UpdateKeyDescription / Enable / Disable -------------------------------------------------
def test_update_key_description(kms, url):
    key_id = new_key(kms, Description="old")
    kms.update_key_description(KeyId=key_id, Description="new text ✓")
    assert kms.describe_key(KeyId=key_id)["KeyMetadata"]["Description"] == "new text ✓"
    kms.update_key_description(KeyId=key_id, Description="")
    assert kms.describe_key(KeyId=key_id)["KeyMetadata"]["Description"] == ""
    r = call(url, "UpdateKeyDescription", {"KeyId": key_id, "Description": "d" * 8193})
    assert_error(r, "ValidationException", what="8193-character description")
    assert "at 'description'" in (r.message or "") and "less than or equal to 8192" in r.message, r.describe()
    missing = "11111111-2222-3333-4444-555555555555"
    expect_error(kms.update_key_description, "NotFoundException",
                 f"Key '{key_arn(missing)}' does not exist", KeyId=missing, Description="x")


def test_enable_disable(kms):
    key_id = new_key(kms)
    kms.disable_key(KeyId=key_id)
    md = kms.describe_key(KeyId=key_id)["KeyMetadata"]
    assert (md["Enabled"], md["KeyState"]) == (False, "Disabled"), md
    kms.disable_key(KeyId=key_id)  # idempotent
    kms.enable_key(KeyId=key_id)
    md = kms.describe_key(KeyId=key_id)["KeyMetadata"]
    assert (md["Enabled"], md["KeyState"]) == (True, "Enabled"), md
    kms.enable_key(KeyId=key_id)  # idempotent
    kms.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=7)
    msg = f"{key_arn(key_id)} is pending deletion."
    expect_error(kms.enable_key, "KMSInvalidStateException", msg, KeyId=key_id)
    expect_error(kms.disable_key, "KMSInvalidStateException", msg, KeyId=key_id)


# ---- ScheduleKeyDeletion / CancelKeyDeletion -------------------------------------------------
def test_schedule_and_cancel_key_deletion(kms):
    key_id = new_key(kms)
    now = time.time()
    resp = kms.schedule_key_deletion(KeyId=key_id)
    assert resp["KeyId"] == key_arn(key_id), resp
    assert resp["KeyState"] == "PendingDeletion", resp
    assert resp["PendingWindowInDays"] == 30, f"default window should be 30 days: {resp}"
    assert abs(resp["DeletionDate"].timestamp() - (now + 30 * DAY)) < 2 * DAY, resp["DeletionDate"]
    md = kms.describe_key(KeyId=key_id)["KeyMetadata"]
    assert (md["Enabled"], md["KeyState"]) == (False, "PendingDeletion"), md
    assert "DeletionDate" in md, md
    # Still listed while pending.
    assert key_id in {k["KeyId"] for k in kms.list_keys()["Keys"]}
    expect_error(kms.schedule_key_deletion, "KMSInvalidStateException",
                 f"{key_arn(key_id)} is pending deletion.", KeyId=key_id)

    cancel = kms.cancel_key_deletion(KeyId=key_id)
    assert cancel["KeyId"] == key_arn(key_id), cancel
    md = kms.describe_key(KeyId=key_id)["KeyMetadata"]
    assert (md["Enabled"], md["KeyState"]) == (False, "Disabled"), (
        f"after CancelKeyDeletion the key must be Disabled: {md}")
    assert "DeletionDate" not in md, md
    e = expect_error(kms.cancel_key_deletion, "KMSInvalidStateException", KeyId=key_id)
    assert key_arn(key_id) in e.response["Error"]["Message"], e.response["Error"]

    resp = kms.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=7)
    assert resp["PendingWindowInDays"] == 7
    assert abs(resp["DeletionDate"].timestamp() - (time.time() + 7 * DAY)) < 2 * DAY, resp


@pytest.mark.parametrize("days", [1, 6, 31, 365])
def test_pending_window_outside_7_to_30_days(kms, days):
    key_id = new_key(kms)
    e = expect_error(kms.schedule_key_deletion, "ValidationException", KeyId=key_id,
                     PendingWindowInDays=days)
    assert "between 7 and 30" in e.response["Error"]["Message"], e.response["Error"]
    assert kms.describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"] == "Enabled"


@pytest.mark.parametrize("days,rule", [(0, "have value greater than or equal to 1"),
                                       (366, "have value less than or equal to 365")])
def test_pending_window_outside_model_range(url, days, rule):
    key_id = call_ok(url, "CreateKey", {})["KeyMetadata"]["KeyId"]
    assert_error(call(url, "ScheduleKeyDeletion", {"KeyId": key_id, "PendingWindowInDays": days}),
                 "ValidationException", validation_text(days, "pendingWindowInDays", rule))


# ---- Aliases ---------------------------------------------------------------------------------
def user_aliases(kms, **kwargs) -> dict[str, dict]:
    """Aliases except AWS-managed alias/aws/* entries (AWS may list those without targets)."""
    out = {}
    for page in kms.get_paginator("list_aliases").paginate(**kwargs):
        for a in page["Aliases"]:
            if not a["AliasName"].startswith("alias/aws/"):
                out[a["AliasName"]] = a
    return out


def test_alias_lifecycle(kms):
    k1, k2 = new_key(kms), new_key(kms)
    before = time.time()
    kms.create_alias(AliasName="alias/app", TargetKeyId=k1)
    kms.create_alias(AliasName="alias/app-2", TargetKeyId=key_arn(k1))
    kms.create_alias(AliasName="alias/other", TargetKeyId=k2)
    aliases = user_aliases(kms)
    assert set(aliases) == {"alias/app", "alias/app-2", "alias/other"}, aliases
    app = aliases["alias/app"]
    assert app["AliasArn"] == alias_arn("alias/app"), app
    assert app["TargetKeyId"] == k1, f"TargetKeyId should be the bare key id: {app}"
    assert aliases["alias/app-2"]["TargetKeyId"] == k1, "an ARN target should be stored as the id"
    assert abs(app["CreationDate"].timestamp() - before) < 60, app

    assert set(user_aliases(kms, KeyId=k1)) == {"alias/app", "alias/app-2"}
    assert set(user_aliases(kms, KeyId=key_arn(k2))) == {"alias/other"}
    first = kms.list_aliases(Limit=1)
    assert len(first["Aliases"]) == 1 and first["Truncated"] is True and first["NextMarker"], first

    e = expect_error(kms.create_alias, "AlreadyExistsException", AliasName="alias/app", TargetKeyId=k2)
    assert "alias/app" in e.response["Error"]["Message"], e.response["Error"]

    kms.update_alias(AliasName="alias/app", TargetKeyId=k2)
    assert kms.describe_key(KeyId="alias/app")["KeyMetadata"]["KeyId"] == k2
    assert set(user_aliases(kms, KeyId=k2)) == {"alias/app", "alias/other"}
    assert set(user_aliases(kms, KeyId=k1)) == {"alias/app-2"}
    assert kms.encrypt(KeyId="alias/app", Plaintext=b"x")["KeyId"] == key_arn(k2)

    kms.delete_alias(AliasName="alias/app")
    assert set(user_aliases(kms)) == {"alias/app-2", "alias/other"}
    e = expect_error(kms.describe_key, "NotFoundException", KeyId="alias/app")
    assert "alias/app" in e.response["Error"]["Message"], e.response["Error"]
    expect_error(kms.delete_alias, "NotFoundException", AliasName="alias/app")
    expect_error(kms.update_alias, "NotFoundException", AliasName="alias/app", TargetKeyId=k1)
    # The alias name is free again.
    kms.create_alias(AliasName="alias/app", TargetKeyId=k1)


def test_alias_name_rules(kms):
    key_id = new_key(kms)
    for name in ("alias/aws/mine", "alias/aws/s3"):
        expect_error(kms.create_alias, "NotAuthorizedException", AliasName=name, TargetKeyId=key_id)
    expect_error(kms.create_alias, "ValidationException",
                 'Alias must start with the prefix "alias/". Please see '
                 "https://docs.aws.amazon.com/kms/latest/developerguide/kms-alias.html",
                 AliasName="no-prefix", TargetKeyId=key_id)
    missing = "11111111-2222-3333-4444-555555555555"
    expect_error(kms.create_alias, "NotFoundException", f"Key '{key_arn(missing)}' does not exist",
                 AliasName="alias/dangling", TargetKeyId=missing)
    assert "alias/dangling" not in user_aliases(kms)


# ---- Tags ------------------------------------------------------------------------------------
def tags_of(kms, key_id) -> dict[str, str]:
    return {t["TagKey"]: t["TagValue"] for t in kms.list_resource_tags(KeyId=key_id)["Tags"]}


def test_tag_untag_list(kms):
    key_id = new_key(kms)
    assert tags_of(kms, key_id) == {}
    kms.tag_resource(KeyId=key_id, Tags=[{"TagKey": "a", "TagValue": "1"},
                                         {"TagKey": "b", "TagValue": "2"}])
    kms.tag_resource(KeyId=key_arn(key_id), Tags=[{"TagKey": "a", "TagValue": "changed"},
                                                  {"TagKey": "c", "TagValue": ""}])
    assert tags_of(kms, key_id) == {"a": "changed", "b": "2", "c": ""}
    kms.untag_resource(KeyId=key_id, TagKeys=["b", "not-there"])
    assert tags_of(kms, key_id) == {"a": "changed", "c": ""}

    page = kms.list_resource_tags(KeyId=key_id, Limit=1)
    assert len(page["Tags"]) == 1 and page["Truncated"] is True and page["NextMarker"], page
    rest = kms.list_resource_tags(KeyId=key_id, Marker=page["NextMarker"])
    assert {t["TagKey"] for t in page["Tags"] + rest["Tags"]} == {"a", "c"}, (page, rest)

    # Tags are per key.
    other = new_key(kms)
    assert tags_of(kms, other) == {}
    # TagResource takes a key id or key ARN only, not an alias.
    kms.create_alias(AliasName="alias/tagged", TargetKeyId=key_id)
    expect_error(kms.tag_resource, "NotFoundException", KeyId="alias/tagged",
                 Tags=[{"TagKey": "a", "TagValue": "1"}])


def test_tag_errors(kms):
    key_id = new_key(kms)
    expect_error(kms.tag_resource, "TagException", "Duplicate tag keys", KeyId=key_id,
                 Tags=[{"TagKey": "dup", "TagValue": "1"}, {"TagKey": "dup", "TagValue": "2"}])
    expect_error(kms.tag_resource, "TagException", "Too many tags", KeyId=key_id,
                 Tags=[{"TagKey": f"k{i}", "TagValue": "v"} for i in range(51)])
    for reserved in ("aws:owner", "AWS:owner", "Aws:x"):
        expect_error(kms.tag_resource, "TagException", "Tags beginning with aws: are reserved",
                     KeyId=key_id, Tags=[{"TagKey": reserved, "TagValue": "v"}])
    long_key = "k" * 129
    expect_error(kms.tag_resource, "ValidationException",
                 validation_text(long_key, "tags.1.member.tagKey",
                                 "have length less than or equal to 128"),
                 KeyId=key_id, Tags=[{"TagKey": long_key, "TagValue": "v"}])
    long_value = "v" * 257
    expect_error(kms.tag_resource, "ValidationException",
                 validation_text(long_value, "tags.1.member.tagValue",
                                 "have length less than or equal to 256"),
                 KeyId=key_id, Tags=[{"TagKey": "ok", "TagValue": long_value}])
    assert tags_of(kms, key_id) == {}, "a rejected TagResource changed the tags"
    # Exactly 50 is fine; one more in a later call is not.
    kms.tag_resource(KeyId=key_id, Tags=[{"TagKey": f"k{i}", "TagValue": "v"} for i in range(50)])
    expect_error(kms.tag_resource, "TagException", "Too many tags", KeyId=key_id,
                 Tags=[{"TagKey": "one-more", "TagValue": "v"}])
    expect_error(kms.create_key, "TagException", "Duplicate tag keys",
                 Tags=[{"TagKey": "d", "TagValue": "1"}, {"TagKey": "d", "TagValue": "1"}])


# ---- Policies --------------------------------------------------------------------------------
def test_default_policy_and_put_key_policy(kms, url):
    key_id = new_key(kms)
    policy = json.loads(kms.get_key_policy(KeyId=key_id, PolicyName="default")["Policy"])
    assert policy["Version"] == "2012-10-17" and policy["Id"] == "key-default-1", policy
    assert len(policy["Statement"]) == 1, policy
    stmt = policy["Statement"][0]
    assert stmt["Sid"] == "Enable IAM User Permissions", stmt
    assert stmt["Effect"] == "Allow", stmt
    assert stmt["Principal"] == {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, stmt
    assert stmt["Action"] == "kms:*" and stmt["Resource"] == "*", stmt

    listed = kms.list_key_policies(KeyId=key_id)
    assert listed["PolicyNames"] == ["default"] and listed["Truncated"] is False, listed

    # Newer model: PolicyName is optional and defaults to "default".
    r = call_ok(url, "GetKeyPolicy", {"KeyId": key_id})
    assert json.loads(r["Policy"]) == policy, r

    new_policy = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Sid": "Only root", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
         "Action": ["kms:Encrypt", "kms:Decrypt"], "Resource": "*"}]})
    kms.put_key_policy(KeyId=key_id, PolicyName="default", Policy=new_policy)
    got = kms.get_key_policy(KeyId=key_arn(key_id), PolicyName="default")["Policy"]
    assert json.loads(got) == json.loads(new_policy), got

    expect_error(kms.put_key_policy, "MalformedPolicyDocumentException", KeyId=key_id,
                 PolicyName="default", Policy="{not json")
    expect_error(kms.put_key_policy, "MalformedPolicyDocumentException", KeyId=key_id,
                 PolicyName="default", Policy='["an", "array"]')
    assert json.loads(kms.get_key_policy(KeyId=key_id, PolicyName="default")["Policy"]) == \
        json.loads(new_policy), "a rejected PutKeyPolicy changed the policy"
    expect_error(kms.get_key_policy, "NotFoundException", KeyId=key_id, PolicyName="other")
    expect_error(kms.create_key, "MalformedPolicyDocumentException", Policy="nope")


def policy_of_bytes(size: int) -> str:
    """A valid policy of exactly `size` bytes of UTF-8, padded mostly with the two-byte 'é'."""
    head, tail = '{"Statement": {}, "Pad": "', '"}'
    fill = size - len(head) - len(tail)
    policy = head + "x" * (fill % 2) + "é" * (fill // 2) + tail
    assert len(policy.encode()) == size
    return policy


def test_key_policy_size_quota(kms):
    # Issue #17: AWS's key policy document quota is 32768 bytes (the model allows 131072).
    too_big = "The key policy exceeds the maximum size of 32768 bytes."
    key_id = new_key(kms)
    fits = policy_of_bytes(32768)
    kms.put_key_policy(KeyId=key_id, PolicyName="default", Policy=fits)
    assert kms.get_key_policy(KeyId=key_id, PolicyName="default")["Policy"] == fits
    expect_error(kms.put_key_policy, "LimitExceededException", too_big, KeyId=key_id,
                 PolicyName="default", Policy=policy_of_bytes(32769))
    assert kms.get_key_policy(KeyId=key_id, PolicyName="default")["Policy"] == fits

    before = len(kms.list_keys()["Keys"])
    expect_error(kms.create_key, "LimitExceededException", too_big, Policy=policy_of_bytes(32769))
    assert len(kms.list_keys()["Keys"]) == before, "a refused CreateKey made a key"
    created = kms.create_key(Policy=fits)["KeyMetadata"]["KeyId"]
    assert kms.get_key_policy(KeyId=created, PolicyName="default")["Policy"] == fits


# ---- Rotation --------------------------------------------------------------------------------
def test_rotation_flags(kms, url):
    key_id = new_key(kms)
    assert kms.get_key_rotation_status(KeyId=key_id)["KeyRotationEnabled"] is False
    kms.enable_key_rotation(KeyId=key_id)
    assert kms.get_key_rotation_status(KeyId=key_arn(key_id))["KeyRotationEnabled"] is True
    status = call_ok(url, "GetKeyRotationStatus", {"KeyId": key_id})
    assert status["KeyRotationEnabled"] is True and status.get("RotationPeriodInDays") == 365, (
        f"default rotation period should be 365 days: {status}")
    assert abs(status["NextRotationDate"] - (time.time() + 365 * DAY)) < 2 * DAY, status
    kms.disable_key_rotation(KeyId=key_id)
    status = call_ok(url, "GetKeyRotationStatus", {"KeyId": key_id})
    assert status["KeyRotationEnabled"] is False, status
    assert "NextRotationDate" not in status, status

    # RotationPeriodInDays (newer than botocore 1.29): raw JSON.
    call_ok(url, "EnableKeyRotation", {"KeyId": key_id, "RotationPeriodInDays": 90})
    status = call_ok(url, "GetKeyRotationStatus", {"KeyId": key_id})
    assert status["KeyRotationEnabled"] is True, status
    assert status["RotationPeriodInDays"] == 90, status
    assert abs(status["NextRotationDate"] - (time.time() + 90 * DAY)) < 2 * DAY, status
    call_ok(url, "EnableKeyRotation", {"KeyId": key_id, "RotationPeriodInDays": 2560})
    assert call_ok(url, "GetKeyRotationStatus", {"KeyId": key_id})["RotationPeriodInDays"] == 2560
    assert_error(call(url, "EnableKeyRotation", {"KeyId": key_id, "RotationPeriodInDays": 89}),
                 "ValidationException",
                 validation_text(89, "rotationPeriodInDays", "have value greater than or equal to 90"))
    assert_error(call(url, "EnableKeyRotation", {"KeyId": key_id, "RotationPeriodInDays": 2561}),
                 "ValidationException",
                 validation_text(2561, "rotationPeriodInDays", "have value less than or equal to 2560"))

    kms.disable_key(KeyId=key_id)
    msg = f"{key_arn(key_id)} is disabled."
    expect_error(kms.enable_key_rotation, "DisabledException", msg, KeyId=key_id)
    kms.enable_key(KeyId=key_id)
    kms.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=7)
    expect_error(kms.enable_key_rotation, "KMSInvalidStateException",
                 f"{key_arn(key_id)} is pending deletion.", KeyId=key_id)



def test_rotate_key_on_demand(kms, url):
    # RotateKeyOnDemand (2024) is newer than Debian's botocore: raw JSON for it.
    key_id = new_key(kms)
    before = call_ok(url, "DescribeKey", {"KeyId": key_id})["KeyMetadata"]["CurrentKeyMaterialId"]
    old_blob = kms.encrypt(KeyId=key_id, Plaintext=b"sealed before")["CiphertextBlob"]

    assert call_ok(url, "RotateKeyOnDemand", {"KeyId": key_arn(key_id)}) == {"KeyId": key_id}
    after = call_ok(url, "DescribeKey", {"KeyId": key_id})["KeyMetadata"]["CurrentKeyMaterialId"]
    assert after != before, (before, after)
    new_blob = kms.encrypt(KeyId=key_id, Plaintext=b"sealed after")["CiphertextBlob"]
    assert kms.decrypt(CiphertextBlob=old_blob)["Plaintext"] == b"sealed before"
    assert kms.decrypt(CiphertextBlob=new_blob)["Plaintext"] == b"sealed after"
    # The automatic schedule is separate: still off.
    assert kms.get_key_rotation_status(KeyId=key_id)["KeyRotationEnabled"] is False

    for _ in range(24):
        call_ok(url, "RotateKeyOnDemand", {"KeyId": key_id})
    assert_error(call(url, "RotateKeyOnDemand", {"KeyId": key_id}), "LimitExceededException",
                 "The on-demand rotations limit has been reached for the given keyId. No more "
                 f"on-demand rotations can be performed for this key: {key_arn(key_id)}")
    assert kms.decrypt(CiphertextBlob=old_blob)["Plaintext"] == b"sealed before"

    hmac_id = kms.create_key(KeySpec="HMAC_256", KeyUsage="GENERATE_VERIFY_MAC")["KeyMetadata"]["KeyId"]
    assert_error(call(url, "RotateKeyOnDemand", {"KeyId": hmac_id}),
                 "UnsupportedOperationException", "")
    kms.disable_key(KeyId=key_id)
    assert_error(call(url, "RotateKeyOnDemand", {"KeyId": key_id}), "DisabledException",
                 f"{key_arn(key_id)} is disabled.")


def test_generate_random_validation(kms, url):
    assert_error(call(url, "GenerateRandom", {"NumberOfBytes": 0}), "ValidationException",
                 "1 validation error detected: Value '0' at 'numberOfBytes' failed to satisfy "
                 "constraint: Member must have value greater than or equal to 1")
    expect_error(kms.generate_random, "ValidationException",
                 "1 validation error detected: Value '1025' at 'numberOfBytes' failed to satisfy "
                 "constraint: Member must have value less than or equal to 1024",
                 NumberOfBytes=1025)
    assert_error(call(url, "GenerateRandom", {}), "ValidationException", "NumberOfBytes is required.")
    key_id = call_ok(url, "CreateKey", {})["KeyMetadata"]["KeyId"]
    assert_error(call(url, "GenerateDataKey", {"KeyId": key_id, "NumberOfBytes": 0}),
                 "ValidationException",
                 "1 validation error detected: Value '0' at 'numberOfBytes' failed to satisfy "
                 "constraint: Member must have value greater than or equal to 1")
    r = call_ok(url, "GenerateRandom", {"NumberOfBytes": 12})
    assert len(base64.b64decode(r["Plaintext"])) == 12, r


# ---- Unimplemented operations, DryRun ---------------------------------------------------------
@pytest.mark.parametrize("op,extra", [
    ("Encrypt", {"Plaintext": base64.b64encode(b"x").decode()}),
    ("GenerateDataKey", {"KeySpec": "AES_256"}),
    ("GenerateDataKeyWithoutPlaintext", {"KeySpec": "AES_256"}),
])
def test_dry_run(url, op, extra):
    key_id = call_ok(url, "CreateKey", {})["KeyMetadata"]["KeyId"]
    assert_error(call(url, op, {"KeyId": key_id, "DryRun": True, **extra}),
                 "DryRunOperationException",
                 "The request would have succeeded, but the DryRun option is set.", what=op)
    # DryRun=false is an ordinary call.
    assert call(url, op, {"KeyId": key_id, "DryRun": False, **extra}).status == 200
    # A request that would fail reports the real error, not DryRun.
    call_ok(url, "DisableKey", {"KeyId": key_id})
    assert_error(call(url, op, {"KeyId": key_id, "DryRun": True, **extra}), "DisabledException",
                 f"{key_arn(key_id)} is disabled.", what=f"{op} DryRun on a disabled key")


def test_dry_run_decrypt(url):
    key_id = call_ok(url, "CreateKey", {})["KeyMetadata"]["KeyId"]
    blob = call_ok(url, "Encrypt", {"KeyId": key_id, "Plaintext": base64.b64encode(b"x").decode()})
    assert_error(call(url, "Decrypt", {"CiphertextBlob": blob["CiphertextBlob"], "DryRun": True}),
                 "DryRunOperationException",
                 "The request would have succeeded, but the DryRun option is set.")
    dec = call_ok(url, "Decrypt", {"CiphertextBlob": blob["CiphertextBlob"]})
    assert base64.b64decode(dec["Plaintext"]) == b"x"
    assert dec["KeyId"] == key_arn(key_id) and dec["EncryptionAlgorithm"] == "SYMMETRIC_DEFAULT"
    assert dec.get("KeyMaterialId"), f"Decrypt should return KeyMaterialId (2025 member): {dec}"
    md = call_ok(url, "DescribeKey", {"KeyId": key_id})["KeyMetadata"]
    assert dec["KeyMaterialId"] == md["CurrentKeyMaterialId"], (dec, md)


def test_region_from_authorization_header_in_raw_requests(url):
    md = call_ok(url, "CreateKey", {}, region="ap-southeast-2")["KeyMetadata"]
    assert md["Arn"] == key_arn(md["KeyId"], region="ap-southeast-2"), md
    # No Authorization header -> the server's default region.
    assert_error(call(url, "DescribeKey", {"KeyId": md["KeyId"]}), "NotFoundException",
                 f"Key '{key_arn(md['KeyId'], region=REGION)}' does not exist")


def test_china_region_uses_the_aws_cn_partition(server):
    # Issue #17: the partition follows the region of the SigV4 credential scope.
    region = "cn-north-1"
    kms_cn = server.client(region)
    md = kms_cn.create_key(Description="china")["KeyMetadata"]
    arn = f"arn:aws-cn:kms:{region}:{ACCOUNT}:key/{md['KeyId']}"
    assert md["Arn"] == arn == key_arn(md["KeyId"], region), md
    assert kms_cn.describe_key(KeyId=arn)["KeyMetadata"]["KeyId"] == md["KeyId"]
    assert kms_cn.encrypt(KeyId=arn, Plaintext=b"x")["KeyId"] == arn
    kms_cn.create_alias(AliasName="alias/china", TargetKeyId=md["KeyId"])
    alias = f"arn:aws-cn:kms:{region}:{ACCOUNT}:alias/china"
    assert kms_cn.describe_key(KeyId=alias)["KeyMetadata"]["Arn"] == arn
    listed = {a["AliasName"]: a for a in kms_cn.list_aliases()["Aliases"]}
    assert listed["alias/china"]["AliasArn"] == alias, listed

    policy = json.loads(kms_cn.get_key_policy(KeyId=arn, PolicyName="default")["Policy"])
    assert policy["Statement"][0]["Principal"] == {"AWS": f"arn:aws-cn:iam::{ACCOUNT}:root"}

    # The aws-partition spelling of the same key names no key in cn-north-1.
    aws_arn = f"arn:aws:kms:{region}:{ACCOUNT}:key/{md['KeyId']}"
    expect_error(kms_cn.describe_key, "NotFoundException", f"Invalid arn {aws_arn}",
                 KeyId=aws_arn)
    aws_alias = f"arn:aws:kms:{region}:{ACCOUNT}:alias/china"
    expect_error(kms_cn.describe_key, "NotFoundException", f"Invalid arn {aws_alias}",
                 KeyId=aws_alias)
