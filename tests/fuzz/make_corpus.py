#!/usr/bin/env python3
"""Writes the committed seed corpora under tests/fuzz/corpus/<harness>/.

Run it again (and commit the result) when a request shape, the operation list or the
ciphertext blob format changes. The fuzz_blob seeds need python3-cryptography (Debian).
Each file is one input in the format its harness's header comment describes.
"""
import base64
import json
import pathlib
import shutil
import struct

HERE = pathlib.Path(__file__).resolve().parent
CORPUS = HERE / "corpus"
OPERATIONS = (HERE.parent / "data" / "kms_operations.txt").read_text().split()

POLICY = json.dumps({"Version": "2012-10-17", "Statement": [{
    "Sid": "Enable IAM User Permissions", "Effect": "Allow",
    "Principal": {"AWS": "arn:aws:iam::111122223333:root"}, "Action": "kms:*", "Resource": "*"}]},
    separators=(",", ":"))
KEY_ARN = "arn:aws:kms:us-east-1:111122223333:key/@K0@"
ALIAS_ARN = "arn:aws:kms:us-east-1:111122223333:alias/fuzz"



def peer_public_key():
    """A fixed P-256 SubjectPublicKeyInfo (DER, base64) for DeriveSharedSecret seeds."""
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
    key = ec.derive_private_key(0x6b6d7364, ec.SECP256R1()).public_key()
    return base64.b64encode(key.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)).decode()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


# name -> (operation, body). The @...@ names are fuzz_dispatch's fixture placeholders
# (fuzz_dispatch.cpp: @K0@ @K1@ @K2@ @BLOB0@ @BLOB1@ @BLOB2@ and the asymmetric/HMAC keys).
REQUESTS = {
    "CancelKeyDeletion": ("CancelKeyDeletion", {"KeyId": "@K2@"}),
    "CreateAlias": ("CreateAlias", {"AliasName": "alias/fuzz-new", "TargetKeyId": "@K0@"}),
    "CreateKey": ("CreateKey", {}),
    "CreateKey-all-members": ("CreateKey", {
        "Description": "fuzz key", "KeyUsage": "ENCRYPT_DECRYPT", "KeySpec": "SYMMETRIC_DEFAULT",
        "Origin": "AWS_KMS", "MultiRegion": False, "BypassPolicyLockoutSafetyCheck": False,
        "Policy": POLICY, "Tags": [{"TagKey": "team", "TagValue": "fuzz"}]}),
    "CreateKey-multi-region": ("CreateKey", {"MultiRegion": True, "Description": "mrk"}),
    "Decrypt": ("Decrypt", {"CiphertextBlob": "@BLOB0@", "EncryptionContext": {"purpose": "fuzz"}}),
    "Decrypt-with-key-id": ("Decrypt", {
        "CiphertextBlob": "@BLOB0@", "EncryptionContext": {"purpose": "fuzz"},
        "KeyId": "alias/fuzz", "EncryptionAlgorithm": "SYMMETRIC_DEFAULT", "GrantTokens": ["t"]}),
    "Decrypt-disabled-key": ("Decrypt", {
        "CiphertextBlob": "@BLOB1@", "EncryptionContext": {"purpose": "fuzz"}}),
    "ReEncrypt-from-pending-deletion": ("ReEncrypt", {
        "CiphertextBlob": "@BLOB2@", "SourceEncryptionContext": {"purpose": "fuzz"},
        "DestinationKeyId": "alias/fuzz"}),
    "Decrypt-wrong-context": ("Decrypt", {
        "CiphertextBlob": "@BLOB0@", "EncryptionContext": {"purpose": "other"}}),
    "DeleteAlias": ("DeleteAlias", {"AliasName": "alias/fuzz"}),
    "DescribeKey": ("DescribeKey", {"KeyId": "@K0@"}),
    "DescribeKey-key-arn": ("DescribeKey", {"KeyId": KEY_ARN}),
    "DescribeKey-alias": ("DescribeKey", {"KeyId": "alias/fuzz"}),
    "DescribeKey-alias-arn": ("DescribeKey", {"KeyId": ALIAS_ARN, "GrantTokens": []}),
    "DisableKey": ("DisableKey", {"KeyId": "@K0@"}),
    "DisableKeyRotation": ("DisableKeyRotation", {"KeyId": "@K0@"}),
    "EnableKey": ("EnableKey", {"KeyId": "@K1@"}),
    "EnableKeyRotation": ("EnableKeyRotation", {"KeyId": "@K0@", "RotationPeriodInDays": 90}),
    "Encrypt": ("Encrypt", {
        "KeyId": "@K0@", "Plaintext": "aGVsbG8gZnV6eg==", "EncryptionContext": {"a": "b", "t": "42"},
        "EncryptionAlgorithm": "SYMMETRIC_DEFAULT"}),
    "Encrypt-disabled-key": ("Encrypt", {"KeyId": "@K1@", "Plaintext": "eA=="}),
    "GenerateDataKey": ("GenerateDataKey", {
        "KeyId": "alias/fuzz", "KeySpec": "AES_256", "EncryptionContext": {"a": "b"}}),
    "GenerateDataKey-bytes": ("GenerateDataKey", {"KeyId": KEY_ARN, "NumberOfBytes": 64}),
    "GenerateDataKeyWithoutPlaintext": ("GenerateDataKeyWithoutPlaintext", {
        "KeyId": "@K0@", "KeySpec": "AES_128"}),
    "GenerateRandom": ("GenerateRandom", {"NumberOfBytes": 32}),
    "GetKeyPolicy": ("GetKeyPolicy", {"KeyId": "@K0@", "PolicyName": "default"}),
    "GetKeyRotationStatus": ("GetKeyRotationStatus", {"KeyId": "@K0@"}),
    "ListAliases": ("ListAliases", {}),
    "ListAliases-for-key": ("ListAliases", {"KeyId": "@K0@", "Limit": 1}),
    "ListKeyPolicies": ("ListKeyPolicies", {"KeyId": "@K0@", "Limit": 10}),
    "ListKeys": ("ListKeys", {"Limit": 2}),
    "ListResourceTags": ("ListResourceTags", {"KeyId": "@K0@", "Limit": 5}),
    "PutKeyPolicy": ("PutKeyPolicy", {"KeyId": "@K0@", "PolicyName": "default", "Policy": POLICY}),
    "ReEncrypt": ("ReEncrypt", {
        "CiphertextBlob": "@BLOB0@", "SourceEncryptionContext": {"purpose": "fuzz"},
        "DestinationKeyId": "@K0@", "DestinationEncryptionContext": {"x": "y"},
        "SourceKeyId": "alias/fuzz", "SourceEncryptionAlgorithm": "SYMMETRIC_DEFAULT",
        "DestinationEncryptionAlgorithm": "SYMMETRIC_DEFAULT"}),
    "ScheduleKeyDeletion": ("ScheduleKeyDeletion", {"KeyId": "@K0@", "PendingWindowInDays": 7}),
    "TagResource": ("TagResource", {"KeyId": "@K0@", "Tags": [
        {"TagKey": "k", "TagValue": "v"}, {"TagKey": "k2", "TagValue": ""}]}),
    "UntagResource": ("UntagResource", {"KeyId": "@K0@", "TagKeys": ["k", "missing"]}),
    "UpdateAlias": ("UpdateAlias", {"AliasName": "alias/fuzz", "TargetKeyId": "@K1@"}),
    "UpdateKeyDescription": ("UpdateKeyDescription", {"KeyId": "@K0@", "Description": "new ✓"}),
    # Asymmetric and HMAC keys.
    "CreateKey-ecc-sign": ("CreateKey", {"KeySpec": "ECC_NIST_P384", "KeyUsage": "SIGN_VERIFY"}),
    "CreateKey-hmac": ("CreateKey", {"KeySpec": "HMAC_512", "KeyUsage": "GENERATE_VERIFY_MAC"}),
    "GetPublicKey": ("GetPublicKey", {"KeyId": "@RSA_SIGN@"}),
    "Sign-ecdsa": ("Sign", {
        "KeyId": "@EC_SIGN@", "Message": "aGVsbG8=", "SigningAlgorithm": "ECDSA_SHA_256"}),
    "Sign-rsa-pss-digest": ("Sign", {
        "KeyId": "@RSA_SIGN@", "Message": b64(bytes(range(32))), "MessageType": "DIGEST",
        "SigningAlgorithm": "RSASSA_PSS_SHA_256"}),
    "Sign-ed25519": ("Sign", {
        "KeyId": "@ED_SIGN@", "Message": "aGVsbG8=", "MessageType": "RAW",
        "SigningAlgorithm": "ED25519_SHA_512"}),
    "Sign-symmetric-key": ("Sign", {
        "KeyId": "@K0@", "Message": "eA==", "SigningAlgorithm": "RSASSA_PSS_SHA_256"}),
    "Verify-ecdsa": ("Verify", {
        "KeyId": "@EC_SIGN@", "Message": "aGVsbG8=", "SigningAlgorithm": "ECDSA_SHA_256",
        "Signature": b64(bytes.fromhex("3006020101020101"))}),
    "Verify-rsa-pkcs1": ("Verify", {
        "KeyId": "@RSA_SIGN@", "Message": "aGVsbG8=", "SigningAlgorithm": "RSASSA_PKCS1_V1_5_SHA_512",
        "Signature": b64(bytes(256))}),
    "Encrypt-rsa": ("Encrypt", {
        "KeyId": "@RSA_ENC@", "Plaintext": "aGVsbG8=", "EncryptionAlgorithm": "RSAES_OAEP_SHA_256"}),
    "Encrypt-sm2": ("Encrypt", {
        "KeyId": "@SM2_ENC@", "Plaintext": "aGVsbG8=", "EncryptionAlgorithm": "SM2PKE"}),
    "Decrypt-rsa": ("Decrypt", {
        "KeyId": "@RSA_ENC@", "CiphertextBlob": b64(bytes(range(256))),
        "EncryptionAlgorithm": "RSAES_OAEP_SHA_1"}),
    "ReEncrypt-to-rsa": ("ReEncrypt", {
        "CiphertextBlob": "@BLOB0@", "SourceEncryptionContext": {"purpose": "fuzz"},
        "DestinationKeyId": "@RSA_ENC@", "DestinationEncryptionAlgorithm": "RSAES_OAEP_SHA_256"}),
    "GenerateDataKeyPair": ("GenerateDataKeyPair", {
        "KeyId": "@K0@", "KeyPairSpec": "ECC_NIST_P256", "EncryptionContext": {"a": "b"}}),
    "GenerateDataKeyPairWithoutPlaintext": ("GenerateDataKeyPairWithoutPlaintext", {
        "KeyId": "alias/fuzz", "KeyPairSpec": "ECC_NIST_EDWARDS25519"}),
    "GenerateMac": ("GenerateMac", {
        "KeyId": "@HMAC@", "Message": "aGVsbG8=", "MacAlgorithm": "HMAC_SHA_256"}),
    "VerifyMac": ("VerifyMac", {
        "KeyId": "@HMAC@", "Message": "aGVsbG8=", "MacAlgorithm": "HMAC_SHA_256",
        "Mac": b64(bytes(32))}),
    "DeriveSharedSecret": ("DeriveSharedSecret", {
        "KeyId": "@EC_ECDH@", "KeyAgreementAlgorithm": "ECDH", "PublicKey": peer_public_key()}),
    # Error paths.
    "CreateGrant-unsupported": ("CreateGrant", {
        "KeyId": "@K0@", "GranteePrincipal": "arn:aws:iam::111122223333:role/r",
        "Operations": ["Encrypt", "Decrypt"], "Constraints": {"EncryptionContextSubset": {"a": "b"}}}),
    "GenerateRandom-validation-error": ("GenerateRandom", {"NumberOfBytes": 0}),
    "Encrypt-serialization-error": ("Encrypt", {"KeyId": 5, "Plaintext": "not base64!"}),
}
RAW_REQUESTS = {  # bodies that are not a JSON dump
    "unknown-operation": "NoSuchOperation\n{}",
    "empty-body": "ListKeys\n",
    "not-json": 'DescribeKey\n{"KeyId":',
    "deep-nesting": "TagResource\n" + "[" * 40 + "]" * 40,
    "other-region": "CreateKey AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240101/eu-west-2/kms/"
                    "aws4_request, SignedHeaders=host;x-amz-date, Signature=abc\n{}",
    "other-region-lookup": "DescribeKey AWS4-HMAC-SHA256 Credential=AKID/20240101/eu-west-2/kms/"
                           "aws4_request\n" + '{"KeyId":"@K0@"}',
}

# fuzz_blob's fixture (fuzz_blob.cpp: Fixture).
BLOB_MATERIAL = b"fuzz-blob-key-material-32-bytes!"
BLOB_KEY_ID = b"1234abcd-12ab-34cd-56ef-1234567890ab"
BLOB_VERSION = 7
BLOB_IV = b"fuzz-iv-12by"
BLOB_PLAINTEXT = b"fuzz plaintext"
BLOB_CONTEXT = {"purpose": "fuzz", "tenant": "42"}


def dump(body):
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False)


def encode_context(context):  # crypto/encryption_context.cpp
    out = struct.pack(">I", len(context))
    for k in sorted(context, key=lambda s: s.encode()):
        for field in (k.encode(), context[k].encode()):
            out += struct.pack(">I", len(field)) + field
    return out


def sealed_blob():  # crypto/ciphertext_blob.hpp, version 1
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    header = bytes([1]) + BLOB_KEY_ID + struct.pack(">I", BLOB_VERSION) + BLOB_IV
    sealed = AESGCM(BLOB_MATERIAL).encrypt(BLOB_IV, BLOB_PLAINTEXT,
                                          header + encode_context(BLOB_CONTEXT))
    return header + sealed  # ciphertext || tag


def write(harness, name, data):
    path = CORPUS / harness / name
    path.write_bytes(data if isinstance(data, bytes) else data.encode())


def main():
    for harness in ("fuzz_dispatch", "fuzz_json", "fuzz_blob", "fuzz_config", "fuzz_http"):
        shutil.rmtree(CORPUS / harness, ignore_errors=True)
        (CORPUS / harness).mkdir(parents=True)

    # fuzz_dispatch: "<Operation>\n<body>".
    for name, (op, body) in REQUESTS.items():
        write("fuzz_dispatch", name, op + "\n" + dump(body))
    for name, text in RAW_REQUESTS.items():
        write("fuzz_dispatch", name, text)

    # fuzz_json: one byte (index into the sorted operation names), then the body, with the
    # placeholders filled in as fuzz_dispatch would.
    blob = sealed_blob()
    fill = {"@K0@": "1234abcd-12ab-34cd-56ef-1234567890ab", "@K1@": "mrk-1234abcd12ab34cd56ef1234567890ab",
            "@K2@": "0987dcba-09ba-87dc-65fe-0987654321ba", "@BLOB0@": base64.b64encode(blob).decode(),
            "@BLOB1@": base64.b64encode(blob[:-1]).decode(), "@BLOB2@": "AQ=="}
    for name in ("@RSA_ENC@", "@RSA_SIGN@", "@EC_SIGN@", "@EC_ECDH@", "@ED_SIGN@", "@SM2_ENC@",
                 "@HMAC@"):
        fill[name] = "1234abcd-12ab-34cd-56ef-1234567890ab"
    for name, (op, body) in REQUESTS.items():
        text = dump(body)
        for k, v in fill.items():
            text = text.replace(k, v)
        write("fuzz_json", name, bytes([OPERATIONS.index(op)]) + text.encode())
    write("fuzz_json", "empty-body", bytes([OPERATIONS.index("ListKeys")]))
    write("fuzz_json", "not-an-object", bytes([OPERATIONS.index("GenerateRandom")]) + b"[1,2]")
    write("fuzz_json", "escapes", bytes([OPERATIONS.index("Encrypt")]) +
          '{"KeyId":"a\\u0000b\\ud83d\\ude00","Plaintext":"AA==","EncryptionContext":{"\\"":"\\n"}}'.encode())
    # Refused by ParseRequestBody (issue #17): a name repeated once unescaped, bytes after a NUL.
    write("fuzz_json", "duplicate-names", bytes([OPERATIONS.index("Encrypt")]) +
          b'{"KeyId":"k","Plaintext":"AA==","EncryptionContext":{"a":"1","\\u0061":"2"}}')
    write("fuzz_json", "trailing-nul", bytes([OPERATIONS.index("DescribeKey")]) +
          b'{"KeyId":"k"}\x00{}')

    # fuzz_blob: mode byte 0 (raw), 1 (tamper edits), 2 (context).
    write("fuzz_blob", "raw-sealed", b"\x00" + blob)
    write("fuzz_blob", "raw-short", b"\x00" + blob[:68])
    write("fuzz_blob", "tamper-none", b"\x01\x00")
    write("fuzz_blob", "tamper-tag-bit", b"\x01\x00" + struct.pack(">HB", len(blob) - 1, 1))
    write("fuzz_blob", "tamper-key-id", b"\x01\x00" + struct.pack(">HB", 1, 0x20))
    write("fuzz_blob", "tamper-truncate", b"\x01\x10")
    write("fuzz_blob", "context-same", b"\x02purpose\x00fuzz\x00tenant\x0042")
    write("fuzz_blob", "context-concatenated", b"\x02purposefuzz\x00\x00tenant\x0042")
    write("fuzz_blob", "context-empty", b"\x02")

    # fuzz_config: args, an empty line, then NAME=value environment entries.
    write("fuzz_config", "defaults", "")
    write("fuzz_config", "every-flag",
          "--host=0.0.0.0\n--port\n0\n--account-id=123456789012\n--region=eu-west-2\n"
          "--data-dir=/tmp/kmsd\n--in-memory\n--threads=4\n--log-level=debug\n"
          "--body-limit=2048\n--read-timeout=5\n")
    write("fuzz_config", "env",
          "\nKMS_HOST=::1\nKMS_PORT=\nPORT=8080\nKMS_ACCOUNT_ID=000000000000\n"
          "KMS_REGION=us-gov-west-1\nKMS_DATA_PATH=data\nKMS_THREADS=256\nKMS_LOG_LEVEL=warn\n")
    write("fuzz_config", "flag-over-env", "--region\nap-south-1\n\nKMS_REGION=bad")
    write("fuzz_config", "help", "--help\n--port=x")
    write("fuzz_config", "version", "--version")
    write("fuzz_config", "errors", "--port=65536\n--unknown\npositional")
    write("fuzz_config", "allowed-hosts", "--allowed-hosts=kms,KMS.internal,[fd00::1]\n\n"
          "KMS_ALLOWED_HOSTS=other\nKMS_MAX_CONNECTIONS=7\n")

    # fuzz_http: one byte (read size - 1), then one connection's bytes.
    body = b'{"NumberOfBytes":8}'
    head = (b"POST / HTTP/1.1\r\nHost: 127.0.0.1:4599\r\nX-Amz-Target: TrentService.GenerateRandom"
            b"\r\nContent-Type: application/x-amz-json-1.1\r\n")
    plain = head + b"Content-Length: %d\r\n\r\n" % len(body) + body
    chunked = (head + b"Transfer-Encoding: chunked\r\n\r\n7;ext=v\r\n" + body[:7] + b"\r\n"
               + b"%x\r\n" % len(body[7:]) + body[7:] + b"\r\n0\r\nX-Trailer: t\r\n\r\n")
    write("fuzz_http", "plain", b"\xff" + plain)
    write("fuzz_http", "pipelined-bytewise", b"\x00" + plain + plain)
    write("fuzz_http", "chunked", b"\x10" + chunked)
    write("fuzz_http", "te-gzip", b"\xff" + head + b"Transfer-Encoding: gzip, chunked\r\n\r\n" + body)
    write("fuzz_http", "expect-head", b"\x40" + head.replace(b"POST", b"HEAD") +
          b"Expect: 100-continue\r\nOrigin: http://evil.example\r\n\r\n")
    write("fuzz_http", "reset", b"\xff" + b"POST /_kmsd/reset HTTP/1.1\r\nHost: [::1]:4599\r\n"
          b"Content-Type: application/json; charset=utf-8\r\nOrigin: http://[::1]:4599\r\n"
          b"Content-Length: 2\r\n\r\n{}")
    write("fuzz_http", "long-extension", b"\x7f" + head + b"Transfer-Encoding: chunked\r\n\r\n5;"
          + b"e" * 3000)


if __name__ == "__main__":
    main()
