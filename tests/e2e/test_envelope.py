"""Envelope encryption through boto3: data keys, Encrypt/Decrypt/ReEncrypt, contexts, key
references, key state and region isolation (recorded from AWS)."""
from __future__ import annotations

import botocore.exceptions
import pytest

from e2e_support import (ACCOUNT, OTHER_REGION, REGION, alias_arn, expect_error, key_arn)

CONTEXT = {"purpose": "test", "Team": "core"}
INCORRECT_KEY = ("The key ID in the request does not identify a CMK that can perform this "
                 "operation.")


def new_key(kms, **kwargs) -> str:
    return kms.create_key(**kwargs)["KeyMetadata"]["KeyId"]


def test_generate_data_key_without_plaintext_then_decrypt(kms):
    key_id = new_key(kms)
    gen = kms.generate_data_key_without_plaintext(KeyId=key_id, KeySpec="AES_256",
                                                  EncryptionContext=CONTEXT)
    assert "Plaintext" not in gen, f"WithoutPlaintext returned a plaintext: {gen.keys()}"
    assert gen["KeyId"] == key_arn(key_id), f"KeyId should be the full key ARN, got {gen['KeyId']}"
    blob = gen["CiphertextBlob"]
    assert isinstance(blob, bytes) and len(blob) > 32, f"implausible blob of {len(blob)} bytes"

    dec = kms.decrypt(CiphertextBlob=blob, EncryptionContext=CONTEXT)
    assert len(dec["Plaintext"]) == 32, f"AES_256 data key should be 32 bytes: {len(dec['Plaintext'])}"
    assert dec["KeyId"] == key_arn(key_id), f"Decrypt KeyId {dec['KeyId']}"
    assert dec["EncryptionAlgorithm"] == "SYMMETRIC_DEFAULT"

    # Same blob decrypts again to the same key; a second data key is a different key.
    assert kms.decrypt(CiphertextBlob=blob, EncryptionContext=CONTEXT)["Plaintext"] == dec["Plaintext"]
    other = kms.generate_data_key_without_plaintext(KeyId=key_id, KeySpec="AES_256",
                                                    EncryptionContext=CONTEXT)["CiphertextBlob"]
    assert other != blob, "two data keys produced the same ciphertext"
    assert kms.decrypt(CiphertextBlob=other, EncryptionContext=CONTEXT)["Plaintext"] != dec["Plaintext"]


@pytest.mark.parametrize("kwargs,size", [({"KeySpec": "AES_256"}, 32), ({"KeySpec": "AES_128"}, 16),
                                         ({"NumberOfBytes": 1}, 1), ({"NumberOfBytes": 64}, 64),
                                         ({"NumberOfBytes": 1024}, 1024)])
def test_generate_data_key_plaintext_matches_decrypt(kms, kwargs, size):
    key_id = new_key(kms)
    gen = kms.generate_data_key(KeyId=key_id, EncryptionContext=CONTEXT, **kwargs)
    assert gen["KeyId"] == key_arn(key_id)
    assert len(gen["Plaintext"]) == size, f"{kwargs}: plaintext has {len(gen['Plaintext'])} bytes"
    dec = kms.decrypt(CiphertextBlob=gen["CiphertextBlob"], EncryptionContext=CONTEXT)
    assert dec["Plaintext"] == gen["Plaintext"], "Decrypt did not return GenerateDataKey's plaintext"


def test_generate_data_key_spec_and_size_rules(kms):
    key_id = new_key(kms)
    expect_error(kms.generate_data_key, "ValidationException", KeyId=key_id, KeySpec="AES_256",
                 NumberOfBytes=32)
    expect_error(kms.generate_data_key, "ValidationException", KeyId=key_id)
    expect_error(kms.generate_data_key_without_plaintext, "ValidationException", KeyId=key_id)
    e = expect_error(kms.generate_data_key, "ValidationException", KeyId=key_id, NumberOfBytes=1025)
    assert e.response["Error"]["Message"] == (
        "1 validation error detected: Value '1025' at 'numberOfBytes' failed to satisfy "
        "constraint: Member must have value less than or equal to 1024")
    e = expect_error(kms.generate_data_key, "ValidationException", KeyId=key_id, KeySpec="AES_512")
    assert "'AES_512' at 'keySpec'" in e.response["Error"]["Message"], e.response["Error"]


WRONG_CONTEXTS = {
    "missing": None,
    "empty": {},
    "value changed": {"purpose": "prod", "Team": "core"},
    "pair added": {**CONTEXT, "extra": "1"},
    "pair removed": {"purpose": "test"},
    "key case changed": {"Purpose": "test", "Team": "core"},
    "value case changed": {"purpose": "Test", "Team": "core"},
    "pairs concatenated differently": {"purposet": "est", "Team": "core"},
}


@pytest.mark.parametrize("name", list(WRONG_CONTEXTS))
def test_decrypt_with_wrong_context_is_invalid_ciphertext(kms, name):
    key_id = new_key(kms)
    blob = kms.generate_data_key_without_plaintext(KeyId=key_id, KeySpec="AES_256",
                                                   EncryptionContext=CONTEXT)["CiphertextBlob"]
    ctx = WRONG_CONTEXTS[name]
    kwargs = {"CiphertextBlob": blob}
    if ctx is not None:
        kwargs["EncryptionContext"] = ctx
    expect_error(kms.decrypt, "InvalidCiphertextException", "", **kwargs)
    # The right context still works afterwards.
    assert len(kms.decrypt(CiphertextBlob=blob, EncryptionContext=CONTEXT)["Plaintext"]) == 32


def test_context_added_where_none_was_used_is_invalid_ciphertext(kms):
    key_id = new_key(kms)
    blob = kms.encrypt(KeyId=key_id, Plaintext=b"no context")["CiphertextBlob"]
    expect_error(kms.decrypt, "InvalidCiphertextException", "", CiphertextBlob=blob,
                 EncryptionContext={"a": "b"})
    assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"no context"
    # AWS treats an empty context like no context.
    assert kms.decrypt(CiphertextBlob=blob, EncryptionContext={})["Plaintext"] == b"no context"


@pytest.mark.parametrize("form", ["id", "arn", "alias name", "alias arn"])
def test_encrypt_decrypt_round_trip_with_each_key_reference(kms, form):
    key_id = new_key(kms)
    kms.create_alias(AliasName="alias/envelope", TargetKeyId=key_id)
    ref = {"id": key_id, "arn": key_arn(key_id), "alias name": "alias/envelope",
           "alias arn": alias_arn("alias/envelope")}[form]
    plaintext = bytes(range(256)) * 3
    enc = kms.encrypt(KeyId=ref, Plaintext=plaintext, EncryptionContext=CONTEXT)
    assert enc["KeyId"] == key_arn(key_id), f"Encrypt via {form}: KeyId {enc['KeyId']}"
    assert enc["EncryptionAlgorithm"] == "SYMMETRIC_DEFAULT"
    assert plaintext not in enc["CiphertextBlob"], "ciphertext contains the plaintext"

    for kwargs in ({}, {"KeyId": ref}):
        dec = kms.decrypt(CiphertextBlob=enc["CiphertextBlob"], EncryptionContext=CONTEXT, **kwargs)
        assert dec["Plaintext"] == plaintext, f"round trip via {form} {kwargs} lost data"
        assert dec["KeyId"] == key_arn(key_id)
        assert dec["EncryptionAlgorithm"] == "SYMMETRIC_DEFAULT"


def test_unicode_and_many_pair_contexts(kms):
    key_id = new_key(kms)
    contexts = [
        {"ключ": "значение ✓", "emoji": "🔐", "spaces in key": " padded "},
        {f"k{i:03d}": "v" * i for i in range(64)},
        {"a": "", "b": "="},
    ]
    for ctx in contexts:
        blob = kms.encrypt(KeyId=key_id, Plaintext=b"ctx", EncryptionContext=ctx)["CiphertextBlob"]
        # Pair order on the wire must not matter.
        reordered = dict(reversed(list(ctx.items())))
        assert kms.decrypt(CiphertextBlob=blob, EncryptionContext=reordered)["Plaintext"] == b"ctx"
        tweaked = dict(ctx)
        first = next(iter(tweaked))
        tweaked[first] += "x"
        expect_error(kms.decrypt, "InvalidCiphertextException", "", CiphertextBlob=blob,
                     EncryptionContext=tweaked)


def test_encrypt_plaintext_limits(kms):
    key_id = new_key(kms)
    blob = kms.encrypt(KeyId=key_id, Plaintext=b"x" * 4096)["CiphertextBlob"]
    assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"x" * 4096
    expect_error(kms.encrypt, "ValidationException",
                 "1 validation error detected: Value at 'plaintext' failed to satisfy constraint: "
                 "Member must have length less than or equal to 4096",
                 KeyId=key_id, Plaintext=b"x" * 4097)


def test_encrypt_unknown_keys(kms):
    missing = "0123abcd-0123-4567-89ab-0123456789ab"
    expect_error(kms.encrypt, "NotFoundException", f"Key '{key_arn(missing)}' does not exist",
                 KeyId=missing, Plaintext=b"x")
    expect_error(kms.encrypt, "NotFoundException", "Invalid keyId 'fake-key-id'",
                 KeyId="fake-key-id", Plaintext=b"x")
    e = expect_error(kms.encrypt, "NotFoundException", KeyId="alias/nope", Plaintext=b"x")
    assert "alias/nope" in e.response["Error"]["Message"], e.response["Error"]


def test_re_encrypt_moves_ciphertext_to_another_key_and_context(kms):
    src, dst = new_key(kms), new_key(kms)
    blob = kms.encrypt(KeyId=src, Plaintext=b"payload", EncryptionContext=CONTEXT)["CiphertextBlob"]
    new_ctx = {"purpose": "archive"}
    re = kms.re_encrypt(CiphertextBlob=blob, SourceEncryptionContext=CONTEXT,
                        DestinationKeyId=dst, DestinationEncryptionContext=new_ctx)
    assert re["KeyId"] == key_arn(dst), f"ReEncrypt KeyId {re['KeyId']}"
    assert re["SourceKeyId"] == key_arn(src), f"ReEncrypt SourceKeyId {re['SourceKeyId']}"
    assert re["SourceEncryptionAlgorithm"] == "SYMMETRIC_DEFAULT"
    assert re["DestinationEncryptionAlgorithm"] == "SYMMETRIC_DEFAULT"
    dec = kms.decrypt(CiphertextBlob=re["CiphertextBlob"], EncryptionContext=new_ctx)
    assert dec["Plaintext"] == b"payload" and dec["KeyId"] == key_arn(dst)
    expect_error(kms.decrypt, "InvalidCiphertextException", "",
                 CiphertextBlob=re["CiphertextBlob"], EncryptionContext=CONTEXT)
    # The original blob is untouched.
    assert kms.decrypt(CiphertextBlob=blob, EncryptionContext=CONTEXT)["Plaintext"] == b"payload"

    # Same key, new context; source key named explicitly (alias) is accepted.
    kms.create_alias(AliasName="alias/src", TargetKeyId=src)
    re2 = kms.re_encrypt(CiphertextBlob=blob, SourceEncryptionContext=CONTEXT,
                         SourceKeyId="alias/src", DestinationKeyId="alias/src")
    assert kms.decrypt(CiphertextBlob=re2["CiphertextBlob"])["Plaintext"] == b"payload"

    expect_error(kms.re_encrypt, "InvalidCiphertextException", "", CiphertextBlob=blob,
                 SourceEncryptionContext={"purpose": "wrong"}, DestinationKeyId=dst)
    expect_error(kms.re_encrypt, "IncorrectKeyException", INCORRECT_KEY, CiphertextBlob=blob,
                 SourceEncryptionContext=CONTEXT, SourceKeyId=dst, DestinationKeyId=dst)


def test_decrypt_with_another_keys_id_is_incorrect_key(kms):
    k1, k2 = new_key(kms), new_key(kms)
    blob = kms.encrypt(KeyId=k1, Plaintext=b"secret")["CiphertextBlob"]
    expect_error(kms.decrypt, "IncorrectKeyException", INCORRECT_KEY, CiphertextBlob=blob, KeyId=k2)
    expect_error(kms.decrypt, "IncorrectKeyException", INCORRECT_KEY, CiphertextBlob=blob,
                 KeyId=key_arn(k2))


def test_tampered_and_truncated_blobs_are_invalid_ciphertext(kms):
    key_id = new_key(kms)
    blob = kms.encrypt(KeyId=key_id, Plaintext=b"integrity matters",
                       EncryptionContext=CONTEXT)["CiphertextBlob"]
    n = len(blob)
    for pos in sorted({0, 1, n // 3, n // 2, n - 17, n - 1}):
        bad = bytearray(blob)
        bad[pos] ^= 0x01
        expect_error(kms.decrypt, "InvalidCiphertextException", "", CiphertextBlob=bytes(bad),
                     EncryptionContext=CONTEXT)
    for cut in (1, 10, n // 2, n - 1):
        expect_error(kms.decrypt, "InvalidCiphertextException", "", CiphertextBlob=blob[:cut],
                     EncryptionContext=CONTEXT)
    expect_error(kms.decrypt, "InvalidCiphertextException", "", CiphertextBlob=blob + b"\0",
                 EncryptionContext=CONTEXT)
    expect_error(kms.decrypt, "InvalidCiphertextException", "", CiphertextBlob=b"\x5a" * 200,
                 EncryptionContext=CONTEXT)
    # The genuine blob still decrypts.
    assert kms.decrypt(CiphertextBlob=blob, EncryptionContext=CONTEXT)["Plaintext"] == b"integrity matters"


def test_disabled_key_refuses_crypto_until_enabled(kms):
    key_id = new_key(kms)
    blob = kms.encrypt(KeyId=key_id, Plaintext=b"before")["CiphertextBlob"]
    kms.disable_key(KeyId=key_id)
    msg = f"{key_arn(key_id)} is disabled."
    expect_error(kms.encrypt, "DisabledException", msg, KeyId=key_id, Plaintext=b"x")
    expect_error(kms.decrypt, "DisabledException", msg, CiphertextBlob=blob)
    expect_error(kms.generate_data_key, "DisabledException", msg, KeyId=key_id, KeySpec="AES_256")
    expect_error(kms.generate_data_key_without_plaintext, "DisabledException", msg, KeyId=key_id,
                 KeySpec="AES_256")
    other = new_key(kms)
    expect_error(kms.re_encrypt, "DisabledException", msg, CiphertextBlob=blob,
                 DestinationKeyId=other)
    kms.create_alias(AliasName="alias/disabled", TargetKeyId=key_id)
    expect_error(kms.encrypt, "DisabledException", msg, KeyId="alias/disabled", Plaintext=b"x")

    kms.enable_key(KeyId=key_id)
    assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"before"
    assert kms.encrypt(KeyId=key_id, Plaintext=b"after")["KeyId"] == key_arn(key_id)


def test_key_pending_deletion_refuses_crypto(kms):
    key_id = new_key(kms)
    blob = kms.encrypt(KeyId=key_id, Plaintext=b"x")["CiphertextBlob"]
    kms.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=7)
    msg = f"{key_arn(key_id)} is pending deletion."
    expect_error(kms.encrypt, "KMSInvalidStateException", msg, KeyId=key_id, Plaintext=b"x")
    expect_error(kms.decrypt, "KMSInvalidStateException", msg, CiphertextBlob=blob)
    expect_error(kms.generate_data_key, "KMSInvalidStateException", msg, KeyId=key_id,
                 KeySpec="AES_256")


def test_regions_are_isolated(kms, kms_eu):
    us_key = kms.create_key(Description="us")["KeyMetadata"]
    eu_key = kms_eu.create_key(Description="eu")["KeyMetadata"]
    assert us_key["Arn"] == key_arn(us_key["KeyId"], REGION), us_key["Arn"]
    assert eu_key["Arn"] == key_arn(eu_key["KeyId"], OTHER_REGION), eu_key["Arn"]
    assert eu_key["AWSAccountId"] == ACCOUNT

    us_ids = {k["KeyId"] for k in kms.list_keys()["Keys"]}
    eu_ids = {k["KeyId"] for k in kms_eu.list_keys()["Keys"]}
    assert us_ids == {us_key["KeyId"]}, f"us-east-1 ListKeys: {us_ids}"
    assert eu_ids == {eu_key["KeyId"]}, f"eu-west-2 ListKeys: {eu_ids}"
    eu_list = kms_eu.list_keys()["Keys"][0]
    assert eu_list["KeyArn"] == eu_key["Arn"]

    # The eu key is invisible from us-east-1 (bare id: "does not exist" with the caller's ARN;
    # the other region's ARN: "Invalid arn <region>").
    expect_error(kms.describe_key, "NotFoundException",
                 f"Key '{key_arn(eu_key['KeyId'], REGION)}' does not exist", KeyId=eu_key["KeyId"])
    expect_error(kms.describe_key, "NotFoundException", f"Invalid arn {OTHER_REGION}",
                 KeyId=eu_key["Arn"])
    expect_error(kms_eu.describe_key, "NotFoundException",
                 f"Key '{key_arn(us_key['KeyId'], OTHER_REGION)}' does not exist",
                 KeyId=us_key["KeyId"])

    # Envelope flow in eu-west-2 reports eu ARNs.
    gen = kms_eu.generate_data_key_without_plaintext(KeyId=eu_key["KeyId"], KeySpec="AES_256",
                                                     EncryptionContext=CONTEXT)
    assert gen["KeyId"] == eu_key["Arn"]
    dec = kms_eu.decrypt(CiphertextBlob=gen["CiphertextBlob"], EncryptionContext=CONTEXT)
    assert dec["KeyId"] == eu_key["Arn"] and len(dec["Plaintext"]) == 32
    # ...and that blob cannot be decrypted from us-east-1.
    try:
        kms.decrypt(CiphertextBlob=gen["CiphertextBlob"], EncryptionContext=CONTEXT)
    except botocore.exceptions.ClientError as err:
        code = err.response["Error"]["Code"]
        assert code in ("NotFoundException", "InvalidCiphertextException"), (
            f"decrypting an eu-west-2 blob in us-east-1 gave {code}: {err.response['Error']}")
    else:
        raise AssertionError("an eu-west-2 ciphertext decrypted in us-east-1")

    # Aliases are per region too: the same name may point at different keys.
    kms.create_alias(AliasName="alias/shared", TargetKeyId=us_key["KeyId"])
    kms_eu.create_alias(AliasName="alias/shared", TargetKeyId=eu_key["KeyId"])
    assert kms.describe_key(KeyId="alias/shared")["KeyMetadata"]["KeyId"] == us_key["KeyId"]
    assert kms_eu.describe_key(KeyId="alias/shared")["KeyMetadata"]["KeyId"] == eu_key["KeyId"]
    eu_aliases = [a for a in kms_eu.list_aliases()["Aliases"] if a["AliasName"] == "alias/shared"]
    assert eu_aliases and eu_aliases[0]["AliasArn"] == alias_arn("alias/shared", OTHER_REGION), eu_aliases
