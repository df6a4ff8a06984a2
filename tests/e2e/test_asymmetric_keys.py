"""Asymmetric and HMAC keys: CreateKey for every key spec and usage AWS allows, the algorithm
lists DescribeKey shows for each (recorded from AWS), GetPublicKey checked with the `cryptography`
package, and private keys that survive a restart. Raw JSON where botocore 1.29's model lacks
the spec or usage (KEY_AGREEMENT, ECC_NIST_EDWARDS25519, ML_DSA_*)."""
from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.serialization import load_der_public_key

from e2e_support import assert_error, call, call_ok, expect_error, key_arn

# In the order AWS's DescribeKey example for an RSA signing key lists them.
RSA_SIGNING = ["RSASSA_PKCS1_V1_5_SHA_256", "RSASSA_PKCS1_V1_5_SHA_384",
               "RSASSA_PKCS1_V1_5_SHA_512", "RSASSA_PSS_SHA_256", "RSASSA_PSS_SHA_384",
               "RSASSA_PSS_SHA_512"]
RSA_ENCRYPTION = ["RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256"]

# (KeySpec, KeyUsage) -> (member of KeyMetadata holding the algorithms, the list AWS shows)
EXPECTED = {
    ("RSA_2048", "SIGN_VERIFY"): ("SigningAlgorithms", RSA_SIGNING),
    ("RSA_3072", "ENCRYPT_DECRYPT"): ("EncryptionAlgorithms", RSA_ENCRYPTION),
    ("RSA_4096", "SIGN_VERIFY"): ("SigningAlgorithms", RSA_SIGNING),
    ("RSA_4096", "ENCRYPT_DECRYPT"): ("EncryptionAlgorithms", RSA_ENCRYPTION),
    ("ECC_NIST_P256", "SIGN_VERIFY"): ("SigningAlgorithms", ["ECDSA_SHA_256"]),
    ("ECC_NIST_P384", "SIGN_VERIFY"): ("SigningAlgorithms", ["ECDSA_SHA_384"]),
    ("ECC_NIST_P521", "SIGN_VERIFY"): ("SigningAlgorithms", ["ECDSA_SHA_512"]),
    ("ECC_SECG_P256K1", "SIGN_VERIFY"): ("SigningAlgorithms", ["ECDSA_SHA_256"]),
    ("ECC_NIST_P256", "KEY_AGREEMENT"): ("KeyAgreementAlgorithms", ["ECDH"]),
    ("ECC_NIST_P521", "KEY_AGREEMENT"): ("KeyAgreementAlgorithms", ["ECDH"]),
    ("ECC_NIST_EDWARDS25519", "SIGN_VERIFY"): ("SigningAlgorithms",
                                               ["ED25519_SHA_512", "ED25519_PH_SHA_512"]),
    ("SM2", "SIGN_VERIFY"): ("SigningAlgorithms", ["SM2DSA"]),
    ("SM2", "ENCRYPT_DECRYPT"): ("EncryptionAlgorithms", ["SM2PKE"]),
    ("SM2", "KEY_AGREEMENT"): ("KeyAgreementAlgorithms", ["ECDH"]),
    ("HMAC_224", "GENERATE_VERIFY_MAC"): ("MacAlgorithms", ["HMAC_SHA_224"]),
    ("HMAC_256", "GENERATE_VERIFY_MAC"): ("MacAlgorithms", ["HMAC_SHA_256"]),
    ("HMAC_384", "GENERATE_VERIFY_MAC"): ("MacAlgorithms", ["HMAC_SHA_384"]),
    ("HMAC_512", "GENERATE_VERIFY_MAC"): ("MacAlgorithms", ["HMAC_SHA_512"]),
}
ALGORITHM_MEMBERS = {"EncryptionAlgorithms", "SigningAlgorithms", "MacAlgorithms",
                     "KeyAgreementAlgorithms"}
CURVES = {"ECC_NIST_P256": ec.SECP256R1, "ECC_NIST_P384": ec.SECP384R1,
          "ECC_NIST_P521": ec.SECP521R1, "ECC_SECG_P256K1": ec.SECP256K1}


def create(url: str, spec: str, usage: str) -> dict:
    return call_ok(url, "CreateKey", {"KeySpec": spec, "KeyUsage": usage})["KeyMetadata"]


def check_public_key(spec: str, der: bytes) -> None:
    """The DER SubjectPublicKeyInfo parses with an independent implementation and is the
    right kind of key."""
    if spec == "SM2":
        # `cryptography` has no SM2; the SPKI still carries id-ecPublicKey on the SM2 curve
        # (1.2.156.10197.1.301), whose DER encoding is 06 08 2a 81 1c cf 55 01 82 2d.
        assert bytes.fromhex("06082a811ccf5501822d") in der, der.hex()
        return
    public = load_der_public_key(der)
    if spec.startswith("RSA_"):
        assert isinstance(public, rsa.RSAPublicKey), type(public)
        assert public.key_size == int(spec[4:]), public.key_size
    elif spec == "ECC_NIST_EDWARDS25519":
        assert isinstance(public, ed25519.Ed25519PublicKey), type(public)
    else:
        assert isinstance(public, ec.EllipticCurvePublicKey), type(public)
        assert isinstance(public.curve, CURVES[spec]), public.curve.name


@pytest.mark.parametrize("spec,usage", sorted(EXPECTED))
def test_create_describe_and_get_public_key(url, spec, usage):
    member, algorithms = EXPECTED[(spec, usage)]
    md = create(url, spec, usage)
    for fields in (md, call_ok(url, "DescribeKey", {"KeyId": md["KeyId"]})["KeyMetadata"]):
        assert fields["KeySpec"] == spec and fields["CustomerMasterKeySpec"] == spec, fields
        assert fields["KeyUsage"] == usage and fields["KeyState"] == "Enabled", fields
        assert fields[member] == algorithms, f"{member} for {spec}/{usage}: {fields[member]}"
        others = ALGORITHM_MEMBERS - {member}
        assert not others & set(fields), f"{spec}/{usage} should show only {member}: {fields}"
        assert "CurrentKeyMaterialId" not in fields, "only symmetric keys carry a material id"

    r = call(url, "GetPublicKey", {"KeyId": md["KeyId"]})
    if spec.startswith("HMAC_"):
        assert_error(r, "UnsupportedOperationException",
                     f"{md['Arn']} key spec is {spec} which is not valid for GetPublicKey.")
        return
    assert r.status == 200, r.describe()
    got = r.json
    assert got["KeyId"] == md["Arn"] and got["KeySpec"] == spec, got
    assert got["CustomerMasterKeySpec"] == spec and got["KeyUsage"] == usage, got
    assert got[member] == algorithms, got
    check_public_key(spec, base64.b64decode(got["PublicKey"]))


def test_boto3_create_key_and_get_public_key(kms):
    md = kms.create_key(KeySpec="ECC_NIST_P384", KeyUsage="SIGN_VERIFY")["KeyMetadata"]
    assert md["SigningAlgorithms"] == ["ECDSA_SHA_384"], md
    got = kms.get_public_key(KeyId=md["KeyId"])
    public = load_der_public_key(got["PublicKey"])
    assert isinstance(public.curve, ec.SECP384R1)
    assert got["KeyId"] == key_arn(md["KeyId"]) and got["KeyUsage"] == "SIGN_VERIFY", got
    # The public key is stable: asking again returns the same bytes.
    assert kms.get_public_key(KeyId=md["KeyId"])["PublicKey"] == got["PublicKey"]


def test_get_public_key_refuses_symmetric_keys_and_unusable_states(kms):
    symmetric = kms.create_key()["KeyMetadata"]
    e = expect_error(kms.get_public_key, "UnsupportedOperationException", KeyId=symmetric["KeyId"])
    assert e.response["Error"]["Message"] == (
        f"{symmetric['Arn']} key spec is SYMMETRIC_DEFAULT which is not valid for GetPublicKey.")
    md = kms.create_key(KeySpec="RSA_2048", KeyUsage="SIGN_VERIFY")["KeyMetadata"]
    kms.disable_key(KeyId=md["KeyId"])
    expect_error(kms.get_public_key, "DisabledException", f"{md['Arn']} is disabled.",
                 KeyId=md["KeyId"])
    expect_error(kms.get_public_key, "NotFoundException", KeyId="alias/none")


def test_key_usage_rules(kms, url):
    message = "You must specify a KeyUsage value for all KMS keys except for symmetric encryption keys."
    for spec in ("RSA_2048", "ECC_NIST_P256", "HMAC_256", "SM2"):
        expect_error(kms.create_key, "ValidationException", message, KeySpec=spec)
    expect_error(kms.create_key, "ValidationException",
                 "KeyUsage SIGN_VERIFY is not compatible with KeySpec HMAC_256",
                 KeySpec="HMAC_256", KeyUsage="SIGN_VERIFY")
    r = call(url, "CreateKey", {"KeySpec": "RSA_2048", "KeyUsage": "KEY_AGREEMENT"})
    assert_error(r, "ValidationException", "KeyUsage KEY_AGREEMENT is not compatible with KeySpec RSA_2048")
    r = call(url, "CreateKey", {"KeySpec": "ML_DSA_65", "KeyUsage": "SIGN_VERIFY"})
    assert_error(r, "UnsupportedOperationException")
    assert "OpenSSL 3.5" in r.message, r.describe()
    assert kms.list_keys()["Keys"] == [], "a refused CreateKey left a key behind"


def test_private_keys_survive_a_restart(fresh_server):
    srv = fresh_server()
    keys = {spec: create(srv.url, spec, usage)["KeyId"]
            for spec, usage in [("RSA_2048", "ENCRYPT_DECRYPT"), ("ECC_NIST_P256", "SIGN_VERIFY"),
                                ("ECC_NIST_EDWARDS25519", "SIGN_VERIFY"), ("SM2", "KEY_AGREEMENT"),
                                ("HMAC_384", "GENERATE_VERIFY_MAC")]}
    public = {spec: call_ok(srv.url, "GetPublicKey", {"KeyId": key})["PublicKey"]
              for spec, key in keys.items() if not spec.startswith("HMAC")}
    assert srv.stop() == 0
    srv.start()
    for spec, key in keys.items():
        md = call_ok(srv.url, "DescribeKey", {"KeyId": key})["KeyMetadata"]
        assert md["KeySpec"] == spec, md
        if spec in public:
            assert call_ok(srv.url, "GetPublicKey", {"KeyId": key})["PublicKey"] == public[spec]
