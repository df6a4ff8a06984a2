"""Grants through boto3 (raw JSON for DryRun, which botocore 1.29's model lacks): CreateGrant,
ListGrants (paging, filters), ListRetirableGrants, RetireGrant (by token, by id), RevokeGrant,
the idempotent Name, constraints, grant tokens in other operations, a restart in the middle of
the lifecycle, grants going with a deleted key, and scopes."""
from __future__ import annotations

import re
import sqlite3
import time

from e2e_support import (ACCOUNT, OTHER_REGION, REGION, assert_error, b64, call, call_ok,
                         expect_error, key_arn, make_client)

GRANTEE = f"arn:aws:iam::{ACCOUNT}:role/app"
RETIREE = f"arn:aws:iam::{ACCOUNT}:role/admin"
GRANT_ID_RE = re.compile(r"^[0-9a-f]{64}$")
DRY_RUN = "The request would have succeeded, but the DryRun option is set."


def new_key(kms) -> str:
    return kms.create_key()["KeyMetadata"]["KeyId"]


def grant(kms, key_id: str, operations=("Decrypt",), **kwargs) -> dict:
    return kms.create_grant(KeyId=key_id, GranteePrincipal=GRANTEE, Operations=list(operations),
                            **kwargs)


def all_grants(list_fn, limit: int, **kwargs) -> list[dict]:
    """Every grant a list operation returns, page by page."""
    grants, marker = [], None
    for _ in range(1000):
        page = list_fn(Limit=limit, **({"Marker": marker} if marker else {}), **kwargs)
        assert len(page["Grants"]) <= limit, page
        grants += page["Grants"]
        if not page["Truncated"]:
            assert "NextMarker" not in page, page
            return grants
        assert len(page["Grants"]) == limit and page["NextMarker"], page
        marker = page["NextMarker"]
    raise AssertionError("more than 1000 pages")


def test_create_grant_and_list_it(kms):
    key_id = new_key(kms)
    before = time.time()
    created = grant(kms, key_id, ["Encrypt", "Decrypt", "DescribeKey"])
    assert GRANT_ID_RE.match(created["GrantId"]), created
    assert created["GrantToken"], created

    listed = kms.list_grants(KeyId=key_id)
    assert listed["Truncated"] is False and "NextMarker" not in listed, listed
    [entry] = listed["Grants"]
    assert abs(entry.pop("CreationDate").timestamp() - before) < 60, entry
    assert entry == {
        "KeyId": key_arn(key_id),
        "GrantId": created["GrantId"],
        "Name": "",  # as AWS's ListGrants examples show a grant made without a Name
        "GranteePrincipal": GRANTEE,
        "IssuingAccount": f"arn:aws:iam::{ACCOUNT}:root",
        "Operations": ["Encrypt", "Decrypt", "DescribeKey"],
    }, entry
    # The key ARN works as KeyId too; an alias does not.
    assert [g["GrantId"] for g in kms.list_grants(KeyId=key_arn(key_id))["Grants"]] == [
        created["GrantId"]]
    kms.create_alias(AliasName="alias/granted", TargetKeyId=key_id)
    expect_error(kms.create_grant, "NotFoundException", "Invalid keyId 'alias/granted'",
                 KeyId="alias/granted", GranteePrincipal=GRANTEE, Operations=["Decrypt"])


def test_constraints_name_and_retiring_principal_round_trip(kms):
    key_id = new_key(kms)
    subset = {"Department": "IT", "Purpose": "test"}
    a = grant(kms, key_id, ["GenerateDataKey", "Decrypt"], Name="with-subset",
              RetiringPrincipal=RETIREE, Constraints={"EncryptionContextSubset": subset})
    b = grant(kms, key_id, ["Encrypt"], Constraints={"EncryptionContextEquals": {"tenant": "42"}})
    by_id = {g["GrantId"]: g for g in kms.list_grants(KeyId=key_id)["Grants"]}
    assert by_id[a["GrantId"]]["Name"] == "with-subset"
    assert by_id[a["GrantId"]]["RetiringPrincipal"] == RETIREE
    assert by_id[a["GrantId"]]["Constraints"] == {"EncryptionContextSubset": subset}
    assert by_id[b["GrantId"]]["Constraints"] == {"EncryptionContextEquals": {"tenant": "42"}}
    assert "RetiringPrincipal" not in by_id[b["GrantId"]]

    expect_error(kms.create_grant, "ValidationException",
                 "A grant constraint can be EncryptionContextSubset or EncryptionContextEquals, "
                 "not both.", KeyId=key_id, GranteePrincipal=GRANTEE, Operations=["Decrypt"],
                 Constraints={"EncryptionContextSubset": {"a": "1"},
                              "EncryptionContextEquals": {"a": "1"}})


def test_name_makes_create_grant_idempotent(kms):
    key_id = new_key(kms)
    params = dict(Name="retry-safe", RetiringPrincipal=RETIREE,
                  Constraints={"EncryptionContextEquals": {"a": "1"}})
    first = grant(kms, key_id, ["Encrypt", "Decrypt"], **params)
    again = grant(kms, key_id, ["Decrypt", "Encrypt"], **params)
    assert again["GrantId"] == first["GrantId"]
    assert again["GrantToken"] != first["GrantToken"]
    assert len(kms.list_grants(KeyId=key_id)["Grants"]) == 1
    # Other parameters under the same Name: a new grant. No Name: a new grant every time.
    assert grant(kms, key_id, ["Encrypt"], **params)["GrantId"] != first["GrantId"]
    assert grant(kms, key_id)["GrantId"] != grant(kms, key_id)["GrantId"]
    assert len(kms.list_grants(KeyId=key_id)["Grants"]) == 4
    # The same Name on another key is that key's grant.
    other = new_key(kms)
    assert grant(kms, other, ["Encrypt", "Decrypt"], **params)["GrantId"] != first["GrantId"]
    # Either token of the retried grant retires it.
    kms.retire_grant(GrantToken=first["GrantToken"])
    expect_error(kms.retire_grant, "NotFoundException",
                 f"Grant '{first['GrantId']}' does not exist", GrantToken=again["GrantToken"])


def test_list_grants_pages_and_filters(kms):
    key_id = new_key(kms)
    made = [grant(kms, key_id)["GrantId"] for _ in range(7)]
    other = kms.create_grant(KeyId=key_id, GranteePrincipal=f"arn:aws:iam::{ACCOUNT}:user/other",
                             Operations=["Encrypt"])["GrantId"]
    everything = [g["GrantId"] for g in all_grants(kms.list_grants, 100, KeyId=key_id)]
    assert sorted(everything) == sorted(made + [other]) and len(everything) == 8
    for limit in (1, 3, 8):
        assert [g["GrantId"] for g in all_grants(kms.list_grants, limit, KeyId=key_id)] == everything

    assert [g["GrantId"] for g in kms.list_grants(KeyId=key_id, GrantId=made[3])["Grants"]] == [
        made[3]]
    assert [g["GrantId"] for g in kms.list_grants(
        KeyId=key_id, GranteePrincipal=f"arn:aws:iam::{ACCOUNT}:user/other")["Grants"]] == [other]
    assert kms.list_grants(KeyId=key_id, GrantId="0" * 64)["Grants"] == []
    expect_error(kms.list_grants, "InvalidGrantIdException", "Invalid grantId 'nope'",
                 KeyId=key_id, GrantId="nope")
    expect_error(kms.list_grants, "InvalidMarkerException", "The marker 'garbage' is not valid.",
                 KeyId=key_id, Marker="garbage")
    # A marker stays good when the grant it names is deleted between the pages.
    page = kms.list_grants(KeyId=key_id, Limit=3)
    kms.revoke_grant(KeyId=key_id, GrantId=page["Grants"][-1]["GrantId"])
    rest = [g["GrantId"] for g in kms.list_grants(KeyId=key_id, Marker=page["NextMarker"])["Grants"]]
    assert rest == everything[3:]
    missing = "11111111-2222-4333-8444-555555555555"
    expect_error(kms.list_grants, "NotFoundException",
                 f"Key '{key_arn(missing)}' does not exist", KeyId=missing)


def test_list_retirable_grants(kms):
    keys = [new_key(kms) for _ in range(3)]
    wanted = []
    for key_id in keys:
        wanted.append(grant(kms, key_id, RetiringPrincipal=RETIREE)["GrantId"])
        grant(kms, key_id)
        grant(kms, key_id, RetiringPrincipal=f"arn:aws:iam::{ACCOUNT}:role/someone-else")
    listed = all_grants(kms.list_retirable_grants, 1, RetiringPrincipal=RETIREE)
    assert sorted(g["GrantId"] for g in listed) == sorted(wanted)
    assert {g["KeyId"] for g in listed} == {key_arn(k) for k in keys}
    assert all(g["RetiringPrincipal"] == RETIREE for g in listed)
    assert kms.list_retirable_grants(RetiringPrincipal=f"arn:aws:iam::{ACCOUNT}:role/nobody")[
        "Grants"] == []


def test_retire_and_revoke(kms, url):
    key_id = new_key(kms)
    by_token, by_id, by_arn, revoked = (grant(kms, key_id) for _ in range(4))
    # DryRun (raw JSON: botocore 1.29 has no DryRun member): every check, no change.
    assert_error(call(url, "RetireGrant", {"GrantToken": by_token["GrantToken"], "DryRun": True}),
                 "DryRunOperationException", DRY_RUN)
    assert_error(call(url, "RevokeGrant", {"KeyId": key_id, "GrantId": revoked["GrantId"],
                                           "DryRun": True}), "DryRunOperationException", DRY_RUN)
    assert len(kms.list_grants(KeyId=key_id)["Grants"]) == 4

    kms.retire_grant(GrantToken=by_token["GrantToken"])
    kms.retire_grant(KeyId=key_id, GrantId=by_id["GrantId"])
    kms.retire_grant(KeyId=key_arn(key_id), GrantId=by_arn["GrantId"])
    kms.revoke_grant(KeyId=key_id, GrantId=revoked["GrantId"])
    assert kms.list_grants(KeyId=key_id)["Grants"] == []

    expect_error(kms.retire_grant, "NotFoundException",
                 f"Grant '{by_token['GrantId']}' does not exist", GrantToken=by_token["GrantToken"])
    expect_error(kms.revoke_grant, "NotFoundException",
                 f"Grant '{revoked['GrantId']}' does not exist", KeyId=key_id,
                 GrantId=revoked["GrantId"])
    expect_error(kms.revoke_grant, "InvalidGrantIdException", "Invalid grantId 'x'",
                 KeyId=key_id, GrantId="x")
    expect_error(kms.retire_grant, "ValidationException",
                 "Either GrantToken, or both KeyId and GrantId, must be specified.", KeyId=key_id)
    expect_error(kms.retire_grant, "InvalidGrantTokenException", "Invalid grant token",
                 GrantToken="not-a-grant-token")


def test_create_grant_errors(kms, url):
    key_id = new_key(kms)
    expect_error(kms.create_grant, "ValidationException",
                 "Grants must not contain only the CreateGrant operation.", KeyId=key_id,
                 GranteePrincipal=GRANTEE, Operations=["CreateGrant"])
    expect_error(kms.create_grant, "ValidationException",
                 f"Grant operation Sign is not valid for {key_arn(key_id)}: its KeySpec is "
                 "SYMMETRIC_DEFAULT and its KeyUsage is ENCRYPT_DECRYPT.", KeyId=key_id,
                 GranteePrincipal=GRANTEE, Operations=["Decrypt", "Sign"])
    hmac = kms.create_key(KeySpec="HMAC_256", KeyUsage="GENERATE_VERIFY_MAC")["KeyMetadata"]["KeyId"]
    grant(kms, hmac, ["GenerateMac", "VerifyMac"])
    expect_error(kms.create_grant, "ValidationException",
                 "Encryption context grant constraints are valid only for symmetric encryption "
                 f"KMS keys, and {key_arn(hmac)} has KeySpec HMAC_256.", KeyId=hmac,
                 GranteePrincipal=GRANTEE, Operations=["GenerateMac"],
                 Constraints={"EncryptionContextSubset": {"a": "1"}})
    assert_error(call(url, "CreateGrant", {"KeyId": key_id, "GranteePrincipal": GRANTEE,
                                           "Operations": ["Decrypt"], "DryRun": True}),
                 "DryRunOperationException", DRY_RUN)
    assert kms.list_grants(KeyId=key_id)["Grants"] == []
    kms.disable_key(KeyId=key_id)
    expect_error(kms.create_grant, "DisabledException", f"{key_arn(key_id)} is disabled.",
                 KeyId=key_id, GranteePrincipal=GRANTEE, Operations=["Decrypt"])
    kms.enable_key(KeyId=key_id)
    kms.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=7)
    expect_error(kms.create_grant, "KMSInvalidStateException",
                 f"{key_arn(key_id)} is pending deletion.", KeyId=key_id,
                 GranteePrincipal=GRANTEE, Operations=["Decrypt"])


def test_grant_token_is_accepted_at_once_and_a_malformed_one_refused(kms):
    key_id = new_key(kms)
    token = grant(kms, key_id, ["Encrypt", "Decrypt", "GenerateDataKey"])["GrantToken"]
    ctx = {"purpose": "grant"}
    blob = kms.encrypt(KeyId=key_id, Plaintext=b"granted", EncryptionContext=ctx,
                       GrantTokens=[token])["CiphertextBlob"]
    assert kms.decrypt(CiphertextBlob=blob, EncryptionContext=ctx,
                       GrantTokens=[token])["Plaintext"] == b"granted"
    dk = kms.generate_data_key(KeyId=key_id, KeySpec="AES_256", GrantTokens=[token])
    assert len(dk["Plaintext"]) == 32
    assert kms.describe_key(KeyId=key_id, GrantTokens=[token])["KeyMetadata"]["KeyId"] == key_id

    bad = token[:-8] + ("A" * 8 if not token.endswith("A" * 8) else "B" * 8)
    for fn, kwargs in [(kms.encrypt, dict(KeyId=key_id, Plaintext=b"x")),
                       (kms.generate_data_key, dict(KeyId=key_id, KeySpec="AES_256")),
                       (kms.decrypt, dict(CiphertextBlob=blob, EncryptionContext=ctx)),
                       (kms.describe_key, dict(KeyId=key_id))]:
        expect_error(fn, "InvalidGrantTokenException", "Invalid grant token",
                     GrantTokens=[token, bad], **kwargs)
        expect_error(fn, "InvalidGrantTokenException", "Invalid grant token",
                     GrantTokens=["not-a-token"], **kwargs)


def test_grants_of_another_region_are_not_visible(kms, kms_eu):
    us_key = new_key(kms)
    eu_key = new_key(kms_eu)
    us = grant(kms, us_key, RetiringPrincipal=RETIREE)
    eu = grant(kms_eu, eu_key, RetiringPrincipal=RETIREE)
    assert [g["GrantId"] for g in kms.list_retirable_grants(RetiringPrincipal=RETIREE)["Grants"]] == [
        us["GrantId"]]
    eu_listed = kms_eu.list_retirable_grants(RetiringPrincipal=RETIREE)["Grants"]
    assert [g["GrantId"] for g in eu_listed] == [eu["GrantId"]]
    assert eu_listed[0]["KeyId"] == key_arn(eu_key, OTHER_REGION)
    expect_error(kms.list_grants, "NotFoundException",
                 f"Key '{key_arn(eu_key)}' does not exist", KeyId=eu_key)
    expect_error(kms.revoke_grant, "NotFoundException", f"Invalid arn {OTHER_REGION}",
                 KeyId=key_arn(eu_key, OTHER_REGION), GrantId=eu["GrantId"])
    # The eu grant's token does not retire it from us-east-1.
    expect_error(kms.retire_grant, "NotFoundException", f"Grant '{eu['GrantId']}' does not exist",
                 GrantToken=eu["GrantToken"])
    kms_eu.retire_grant(GrantToken=eu["GrantToken"])
    assert kms_eu.list_grants(KeyId=eu_key)["Grants"] == []


def test_grants_survive_a_restart(fresh_server):
    srv = fresh_server()
    kms = make_client(srv.url, REGION)
    key_id = new_key(kms)
    a = grant(kms, key_id, ["Encrypt", "Decrypt"], Name="kept", RetiringPrincipal=RETIREE,
              Constraints={"EncryptionContextSubset": {"app": "x"}})
    b = grant(kms, key_id, ["DescribeKey", "RetireGrant"])
    c = grant(kms, key_id)
    kms.revoke_grant(KeyId=key_id, GrantId=c["GrantId"])
    before = kms.list_grants(KeyId=key_id)["Grants"]
    srv.stop()
    srv.start()

    kms = make_client(srv.url, REGION)
    assert kms.list_grants(KeyId=key_id)["Grants"] == before
    assert [g["GrantId"] for g in kms.list_retirable_grants(RetiringPrincipal=RETIREE)["Grants"]] == [
        a["GrantId"]]
    # Tokens from before the restart still work, in GrantTokens and in RetireGrant.
    kms.encrypt(KeyId=key_id, Plaintext=b"x", EncryptionContext={"app": "x"},
                GrantTokens=[a["GrantToken"]])
    assert grant(kms, key_id, ["Decrypt", "Encrypt"], Name="kept", RetiringPrincipal=RETIREE,
                 Constraints={"EncryptionContextSubset": {"app": "x"}})["GrantId"] == a["GrantId"]
    kms.retire_grant(GrantToken=a["GrantToken"])
    # An abrupt stop right after the 200 loses nothing either.
    d = grant(kms, key_id, ["Encrypt"])
    srv.kill9()
    srv.start()
    kms = make_client(srv.url, REGION)
    assert sorted(g["GrantId"] for g in kms.list_grants(KeyId=key_id)["Grants"]) == sorted(
        [b["GrantId"], d["GrantId"]])


def test_grants_go_with_a_deleted_key(fresh_server):
    srv = fresh_server()
    kms = make_client(srv.url, REGION)
    doomed, kept = new_key(kms), new_key(kms)
    g = grant(kms, doomed, RetiringPrincipal=RETIREE)
    k = grant(kms, kept, RetiringPrincipal=RETIREE)
    kms.schedule_key_deletion(KeyId=doomed, PendingWindowInDays=7)
    # Pending deletion: still listed, and still retirable.
    assert [x["GrantId"] for x in kms.list_grants(KeyId=doomed)["Grants"]] == [g["GrantId"]]
    srv.stop()
    # Seven days pass: kmsd reads the wall clock, so move the deletion date into the past.
    db = sqlite3.connect(srv.data_dir / "kms.db")
    try:
        with db:
            changed = db.execute("UPDATE keys SET deletion_date = ? WHERE key_id = ?",
                                 (int(time.time()) - 1, doomed)).rowcount
        assert changed == 1
    finally:
        db.close()
    srv.start()
    kms = make_client(srv.url, REGION)
    expect_error(kms.list_grants, "NotFoundException", f"Key '{key_arn(doomed)}' does not exist",
                 KeyId=doomed)
    expect_error(kms.retire_grant, "NotFoundException", f"Key '{key_arn(doomed)}' does not exist",
                 GrantToken=g["GrantToken"])
    assert [x["GrantId"] for x in kms.list_retirable_grants(RetiringPrincipal=RETIREE)["Grants"]] == [
        k["GrantId"]]
    # ListKeys purges the key; its grants leave the database with it.
    assert doomed not in [x["KeyId"] for x in kms.list_keys()["Keys"]]
    srv.stop()
    db = sqlite3.connect(f"file:{srv.data_dir / 'kms.db'}?mode=ro", uri=True)
    try:
        rows = db.execute("SELECT k.key_id, g.grant_id FROM key_grants g "
                          "JOIN keys k ON k.id = g.key_row").fetchall()
    finally:
        db.close()
    assert rows == [(kept, k["GrantId"])], rows
