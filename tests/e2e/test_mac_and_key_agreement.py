"""GenerateMac / VerifyMac and DeriveSharedSecret, checked independently of kmsd's own code:
MACs against Python's hmac, keyed with the key material read from kmsd's database (for keys
kmsd made; test_import.py does the same with imported secrets); ECDH
secrets against the `cryptography` package (peer key generated there, derived on both sides)
for the NIST curves, and for SM2 against a small pure-Python affine point multiplication on
the SM2 curve from its published parameters (GB/T 32918.5). GenerateMac/VerifyMac go through
boto3; DeriveSharedSecret and members newer than botocore 1.29's model (DryRun) through raw
JSON."""
from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import sqlite3

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import load_der_public_key

from e2e_support import ACCOUNT, assert_error, b64, call, call_ok, expect_error

MAC_SPECS = {"HMAC_224": ("HMAC_SHA_224", hashlib.sha224),
             "HMAC_256": ("HMAC_SHA_256", hashlib.sha256),
             "HMAC_384": ("HMAC_SHA_384", hashlib.sha384),
             "HMAC_512": ("HMAC_SHA_512", hashlib.sha512)}
NIST_CURVES = {"ECC_NIST_P256": (ec.SECP256R1, 32), "ECC_NIST_P384": (ec.SECP384R1, 48),
               "ECC_NIST_P521": (ec.SECP521R1, 66)}
DRY_RUN = "The request would have succeeded, but the DryRun option is set."
RECIPIENT = "kmsd does not support Recipient: there is no Nitro Enclave attestation to verify."


def create(kms, spec: str, usage: str) -> dict:
    return kms.create_key(KeySpec=spec, KeyUsage=usage)["KeyMetadata"]


def material(data_dir, key_id: str) -> bytes:
    """The key's current material, straight from kmsd's SQLite database (read-only)."""
    db = sqlite3.connect(f"file:{data_dir / 'kms.db'}?mode=ro", uri=True)
    try:
        rows = db.execute(
            "SELECT m.bytes FROM key_materials m JOIN keys k ON m.key_row = k.id "
            "WHERE k.key_id = ? AND m.version = k.current_material_version", (key_id,)).fetchall()
    finally:
        db.close()
    assert len(rows) == 1, rows
    return rows[0][0]


# ---- GenerateMac / VerifyMac -----------------------------------------------------------------
@pytest.mark.parametrize("spec", sorted(MAC_SPECS))
def test_mac_is_hmac_of_the_key_material(kms, server, spec):
    algorithm, digest = MAC_SPECS[spec]
    md = create(kms, spec, "GENERATE_VERIFY_MAC")
    key = material(server.data_dir, md["KeyId"])
    assert len(key) == digest().digest_size, "an HMAC key is as long as its digest"
    kms.create_alias(AliasName="alias/mac", TargetKeyId=md["KeyId"])
    for ref in (md["KeyId"], md["Arn"], "alias/mac"):
        for message in (b"x", b"hello MAC " * 100, bytes(range(256)) * 16):
            got = kms.generate_mac(KeyId=ref, Message=message, MacAlgorithm=algorithm)
            assert got["Mac"] == hmac.new(key, message, digest).digest()
            assert got["KeyId"] == md["Arn"] and got["MacAlgorithm"] == algorithm, got
            ok = kms.verify_mac(KeyId=ref, Message=message, MacAlgorithm=algorithm, Mac=got["Mac"])
            assert ok["MacValid"] is True and ok["KeyId"] == md["Arn"], ok
            assert ok["MacAlgorithm"] == algorithm, ok


def test_verify_mac_raises_for_a_wrong_mac(kms, url):
    md = create(kms, "HMAC_256", "GENERATE_VERIFY_MAC")
    mac = kms.generate_mac(KeyId=md["KeyId"], Message=b"payload", MacAlgorithm="HMAC_SHA_256")["Mac"]
    tampered = [bytes([mac[0] ^ 1]) + mac[1:], mac[:-1], mac + b"\0", bytes(32)]
    for bad in tampered:
        expect_error(kms.verify_mac, "KMSInvalidMacException", "", KeyId=md["KeyId"],
                     Message=b"payload", MacAlgorithm="HMAC_SHA_256", Mac=bad)
    expect_error(kms.verify_mac, "KMSInvalidMacException", "", KeyId=md["KeyId"],
                 Message=b"Payload", MacAlgorithm="HMAC_SHA_256", Mac=mac)
    other = create(kms, "HMAC_256", "GENERATE_VERIFY_MAC")
    expect_error(kms.verify_mac, "KMSInvalidMacException", "", KeyId=other["KeyId"],
                 Message=b"payload", MacAlgorithm="HMAC_SHA_256", Mac=mac)
    r = call(url, "VerifyMac", {"KeyId": md["KeyId"], "Message": b64(b"payload"),
                                "MacAlgorithm": "HMAC_SHA_256", "Mac": b64(tampered[0])})
    assert_error(r, "KMSInvalidMacException", "")
    assert r.json == {"__type": "KMSInvalidMacException"}, r.describe()


def test_mac_errors(kms, url):
    hmac_224 = create(kms, "HMAC_224", "GENERATE_VERIFY_MAC")
    expect_error(kms.generate_mac, "InvalidKeyUsageException",
                 "Algorithm HMAC_SHA_256 is incompatible with key spec HMAC_224.",
                 KeyId=hmac_224["KeyId"], Message=b"m", MacAlgorithm="HMAC_SHA_256")
    expect_error(kms.verify_mac, "InvalidKeyUsageException",
                 "Algorithm HMAC_SHA_512 is incompatible with key spec HMAC_224.",
                 KeyId=hmac_224["KeyId"], Message=b"m", MacAlgorithm="HMAC_SHA_512", Mac=b"0" * 28)
    expect_error(kms.generate_mac, "ValidationException",
                 "1 validation error detected: Value 'HMAC_SHA_1' at 'macAlgorithm' failed to "
                 "satisfy constraint: Member must satisfy enum value set: [HMAC_SHA_384, "
                 "HMAC_SHA_256, HMAC_SHA_224, HMAC_SHA_512]",
                 KeyId=hmac_224["KeyId"], Message=b"m", MacAlgorithm="HMAC_SHA_1")

    for spec, usage in (("SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT"), ("ECC_NIST_P256", "SIGN_VERIFY")):
        md = create(kms, spec, usage)
        expect_error(kms.generate_mac, "InvalidKeyUsageException",
                     f"{md['Arn']} key usage is {usage} which is not valid for GenerateMac.",
                     KeyId=md["KeyId"], Message=b"m", MacAlgorithm="HMAC_SHA_256")
        expect_error(kms.verify_mac, "InvalidKeyUsageException",
                     f"{md['Arn']} key usage is {usage} which is not valid for VerifyMac.",
                     KeyId=md["KeyId"], Message=b"m", MacAlgorithm="HMAC_SHA_256", Mac=b"0" * 32)

    expect_error(kms.generate_mac, "NotFoundException", KeyId="alias/none", Message=b"m",
                 MacAlgorithm="HMAC_SHA_224")
    body = {"KeyId": hmac_224["KeyId"], "Message": b64(b"m"), "MacAlgorithm": "HMAC_SHA_224"}
    assert_error(call(url, "GenerateMac", {**body, "DryRun": True}), "DryRunOperationException",
                 DRY_RUN)
    mac = call_ok(url, "GenerateMac", body)["Mac"]
    assert_error(call(url, "VerifyMac", {**body, "Mac": mac, "DryRun": True}),
                 "DryRunOperationException", DRY_RUN)
    # DryRun comes last: a failing check answers first.
    assert_error(call(url, "GenerateMac", {**body, "MacAlgorithm": "HMAC_SHA_384", "DryRun": True}),
                 "InvalidKeyUsageException")
    token = kms.create_grant(KeyId=hmac_224["KeyId"], GranteePrincipal=f"arn:aws:iam::{ACCOUNT}:root",
                             Operations=["VerifyMac"])["GrantToken"]
    assert call_ok(url, "VerifyMac", {**body, "Mac": mac, "GrantTokens": [token]})["MacValid"]

    kms.disable_key(KeyId=hmac_224["KeyId"])
    expect_error(kms.generate_mac, "DisabledException", f"{hmac_224['Arn']} is disabled.",
                 KeyId=hmac_224["KeyId"], Message=b"m", MacAlgorithm="HMAC_SHA_224")
    kms.enable_key(KeyId=hmac_224["KeyId"])
    kms.schedule_key_deletion(KeyId=hmac_224["KeyId"], PendingWindowInDays=7)
    expect_error(kms.verify_mac, "KMSInvalidStateException",
                 f"{hmac_224['Arn']} is pending deletion.", KeyId=hmac_224["KeyId"],
                 Message=b"m", MacAlgorithm="HMAC_SHA_224", Mac=base64.b64decode(mac))


# ---- SM2 by hand ----------------------------------------------------------------------------
# The SM2 curve (GB/T 32918.5-2017, sm2p256v1): y^2 = x^3 + a x + b over GF(p).
SM2_P = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFF
SM2_A = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFC
SM2_B = 0x28E9FA9E9D9F5E344D5A9E4BCF6509A7F39789F515AB8F92DDBCBD414D940E93
SM2_N = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF7203DF6B21C6052B53BBF40939D54123
SM2_G = (0x32C4AE2C1F1981195F9904466A39C9948FE30BBFF2660BE1715A4589334C74C7,
         0xBC3736A2F4F6779C59BDCEE36B692153D0A9877CC62A474002DF32E52139F0A0)
# SubjectPublicKeyInfo prefix: id-ecPublicKey with the SM2 curve OID 1.2.156.10197.1.301, then a
# 66-byte BIT STRING holding an uncompressed point.
SM2_SPKI_PREFIX = bytes.fromhex("3059301306072a8648ce3d020106082a811ccf5501822d034200")


def sm2_on_curve(pt) -> bool:
    x, y = pt
    return (y * y - (x * x * x + SM2_A * x + SM2_B)) % SM2_P == 0


def sm2_add(p1, p2):
    if p1 is None:
        return p2
    if p2 is None:
        return p1
    (x1, y1), (x2, y2) = p1, p2
    if x1 == x2 and (y1 + y2) % SM2_P == 0:
        return None
    if p1 == p2:
        lam = (3 * x1 * x1 + SM2_A) * pow(2 * y1, -1, SM2_P) % SM2_P
    else:
        lam = (y2 - y1) * pow(x2 - x1, -1, SM2_P) % SM2_P
    x3 = (lam * lam - x1 - x2) % SM2_P
    return x3, (lam * (x1 - x3) - y1) % SM2_P


def sm2_mul(k: int, pt):
    result = None
    while k:
        if k & 1:
            result = sm2_add(result, pt)
        pt = sm2_add(pt, pt)
        k >>= 1
    return result


def sm2_spki(pt) -> bytes:
    return SM2_SPKI_PREFIX + b"\x04" + pt[0].to_bytes(32, "big") + pt[1].to_bytes(32, "big")


def test_the_sm2_helpers_are_sound():
    assert sm2_on_curve(SM2_G)
    assert sm2_mul(SM2_N, SM2_G) is None, "G has order n"
    d1, d2 = 0x1234567890ABCDEF, 0xFEDCBA0987654321
    assert sm2_mul(d1, sm2_mul(d2, SM2_G)) == sm2_mul(d2, sm2_mul(d1, SM2_G))


# ---- DeriveSharedSecret ---------------------------------------------------------------------
def derive(url, key_id: str, public_key: bytes, **extra):
    return call(url, "DeriveSharedSecret", {"KeyId": key_id, "KeyAgreementAlgorithm": "ECDH",
                                            "PublicKey": b64(public_key), **extra})


def public_der(key) -> bytes:
    return key.public_key().public_bytes(serialization.Encoding.DER,
                                         serialization.PublicFormat.SubjectPublicKeyInfo)


@pytest.mark.parametrize("spec", sorted(NIST_CURVES))
def test_nist_shared_secret_matches_cryptography(kms, url, spec):
    curve, size = NIST_CURVES[spec]
    # Raw JSON: botocore 1.29's model has no KeyAgreementAlgorithms member.
    md = call_ok(url, "CreateKey", {"KeySpec": spec, "KeyUsage": "KEY_AGREEMENT"})["KeyMetadata"]
    assert md["KeyAgreementAlgorithms"] == ["ECDH"], md
    kms_public = load_der_public_key(kms.get_public_key(KeyId=md["KeyId"])["PublicKey"])
    for _ in range(3):
        peer = ec.generate_private_key(curve())
        r = derive(url, md["Arn"], public_der(peer))
        assert r.status == 200, r.describe()
        got = r.json
        assert got["KeyId"] == md["Arn"] and got["KeyAgreementAlgorithm"] == "ECDH", got
        assert got["KeyOrigin"] == "AWS_KMS", got
        secret = base64.b64decode(got["SharedSecret"])
        assert len(secret) == size
        assert secret == peer.exchange(ec.ECDH(), kms_public)


def test_sm2_shared_secret_matches_an_independent_computation(kms, url):
    md = create(kms, "SM2", "KEY_AGREEMENT")
    spki = kms.get_public_key(KeyId=md["KeyId"])["PublicKey"]
    assert spki[:len(SM2_SPKI_PREFIX)] == SM2_SPKI_PREFIX and len(spki) == 91, spki.hex()
    point = spki[len(SM2_SPKI_PREFIX):]
    assert point[0] == 4
    kms_public = (int.from_bytes(point[1:33], "big"), int.from_bytes(point[33:], "big"))
    assert sm2_on_curve(kms_public)
    for _ in range(3):
        d = secrets.randbelow(SM2_N - 1) + 1
        r = derive(url, md["KeyId"], sm2_spki(sm2_mul(d, SM2_G)))
        assert r.status == 200, r.describe()
        assert r.json["KeyId"] == md["Arn"] and r.json["KeyAgreementAlgorithm"] == "ECDH", r.json
        expected = sm2_mul(d, kms_public)[0].to_bytes(32, "big")
        assert base64.b64decode(r.json["SharedSecret"]) == expected


def test_derive_shared_secret_refuses_unusable_public_keys(kms, url):
    p256 = create(kms, "ECC_NIST_P256", "KEY_AGREEMENT")
    sm2 = create(kms, "SM2", "KEY_AGREEMENT")
    p256_der = public_der(ec.generate_private_key(ec.SECP256R1()))
    off_curve = p256_der[:-1] + bytes([p256_der[-1] ^ 1])
    sm2_off_curve = sm2_spki((SM2_G[0], SM2_G[1] ^ 1))
    bad = [
        (p256, b"not a public key"),
        (p256, p256_der + b"\0"),
        (p256, off_curve),
        (p256, public_der(ec.generate_private_key(ec.SECP384R1()))),
        (p256, public_der(ec.generate_private_key(ec.SECP256K1()))),
        (p256, public_der(rsa.generate_private_key(public_exponent=65537, key_size=2048))),
        (p256, sm2_spki(SM2_G)),
        (sm2, p256_der),
        (sm2, sm2_off_curve),
    ]
    for md, der in bad:
        r = derive(url, md["KeyId"], der)
        assert_error(r, "ValidationException", "", what=f"{md['KeySpec']} with {der[:8].hex()}")


def test_derive_shared_secret_errors(kms, url):
    md = create(kms, "ECC_NIST_P384", "KEY_AGREEMENT")
    peer = public_der(ec.generate_private_key(ec.SECP384R1()))
    for spec, usage in (("ECC_NIST_P384", "SIGN_VERIFY"), ("SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT"),
                        ("HMAC_256", "GENERATE_VERIFY_MAC"), ("SM2", "ENCRYPT_DECRYPT")):
        other = create(kms, spec, usage)
        assert_error(derive(url, other["KeyId"], peer), "InvalidKeyUsageException",
                     f"{other['Arn']} key usage is {usage} which is not valid for DeriveSharedSecret.")
    r = call(url, "DeriveSharedSecret", {"KeyId": md["KeyId"], "KeyAgreementAlgorithm": "ECDHE",
                                         "PublicKey": b64(peer)})
    assert_error(r, "ValidationException",
                 "1 validation error detected: Value 'ECDHE' at 'keyAgreementAlgorithm' failed to "
                 "satisfy constraint: Member must satisfy enum value set: [ECDH]")
    r = derive(url, md["KeyId"], peer, Recipient={"KeyEncryptionAlgorithm": "RSAES_OAEP_SHA_256",
                                                  "AttestationDocument": b64(b"doc")})
    assert_error(r, "UnsupportedOperationException", RECIPIENT)
    assert_error(derive(url, md["KeyId"], peer, DryRun=True), "DryRunOperationException", DRY_RUN)
    bad_peer = public_der(ec.generate_private_key(ec.SECP256R1()))
    assert_error(derive(url, md["KeyId"], bad_peer, DryRun=True), "ValidationException", "")
    token = kms.create_grant(KeyId=md["KeyId"], GranteePrincipal=f"arn:aws:iam::{ACCOUNT}:root",
                             Operations=["DeriveSharedSecret"])["GrantToken"]
    assert derive(url, md["KeyId"], peer, GrantTokens=[token]).status == 200
    assert_error(derive(url, "alias/none", peer), "NotFoundException")

    kms.disable_key(KeyId=md["KeyId"])
    assert_error(derive(url, md["KeyId"], peer), "DisabledException", f"{md['Arn']} is disabled.")
    kms.enable_key(KeyId=md["KeyId"])
    kms.schedule_key_deletion(KeyId=md["KeyId"], PendingWindowInDays=7)
    assert_error(derive(url, md["KeyId"], peer), "KMSInvalidStateException",
                 f"{md['Arn']} is pending deletion.")


# ---- restart --------------------------------------------------------------------------------
def test_mac_and_key_agreement_keys_survive_a_restart(fresh_server):
    srv = fresh_server()
    message = b64(b"restart me")
    macs = {}
    for spec, (algorithm, _) in MAC_SPECS.items():
        key_id = call_ok(srv.url, "CreateKey", {"KeySpec": spec, "KeyUsage": "GENERATE_VERIFY_MAC"})[
            "KeyMetadata"]["KeyId"]
        body = {"KeyId": key_id, "Message": message, "MacAlgorithm": algorithm}
        macs[key_id] = (body, call_ok(srv.url, "GenerateMac", body)["Mac"])
    peers = {"ECC_NIST_P256": public_der(ec.generate_private_key(ec.SECP256R1())),
             "ECC_NIST_P521": public_der(ec.generate_private_key(ec.SECP521R1())),
             "SM2": sm2_spki(sm2_mul(secrets.randbelow(SM2_N - 1) + 1, SM2_G))}
    shared = {}
    for spec, peer in peers.items():
        key_id = call_ok(srv.url, "CreateKey", {"KeySpec": spec, "KeyUsage": "KEY_AGREEMENT"})[
            "KeyMetadata"]["KeyId"]
        r = derive(srv.url, key_id, peer)
        assert r.status == 200, r.describe()
        shared[key_id] = (peer, r.json["SharedSecret"])

    assert srv.stop() == 0
    srv.start()
    for body, mac in macs.values():
        assert call_ok(srv.url, "GenerateMac", body)["Mac"] == mac
        assert call_ok(srv.url, "VerifyMac", {**body, "Mac": mac})["MacValid"] is True
    for key_id, (peer, secret) in shared.items():
        r = derive(srv.url, key_id, peer)
        assert r.status == 200 and r.json["SharedSecret"] == secret, r.describe()
