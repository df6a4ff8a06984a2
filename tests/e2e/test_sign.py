"""Sign / Verify through boto3 for every signing key spec and algorithm, checked independently:
kmsd's signatures (RAW and DIGEST) verify with the `cryptography` package from GetPublicKey's
DER; SM2DSA verifies with the `openssl pkeyutl` CLI (SM3, default distinguishing ID). Only kmsd
holds the private keys, so the other direction is covered by tampering: a changed signature or
message must raise KMSInvalidSignatureException with no message. Errors copy AWS's texts
(recorded from AWS); keys keep signing and verifying across a restart."""
from __future__ import annotations

import hashlib
import shutil
import subprocess

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa, utils
from cryptography.hazmat.primitives.serialization import load_der_public_key

from e2e_support import (alias_arn, assert_error, b64, call, call_ok, expect_error, key_arn,
                          make_client)

HASHES = {"256": hashes.SHA256, "384": hashes.SHA384, "512": hashes.SHA512}
SIGNING_SPECS = ["RSA_2048", "RSA_3072", "RSA_4096", "ECC_NIST_P256", "ECC_NIST_P384",
                 "ECC_NIST_P521", "ECC_SECG_P256K1", "ECC_NIST_EDWARDS25519"]
MESSAGE = b"kmsd signs this message " * 20


def create(kms, spec: str, usage: str = "SIGN_VERIFY") -> dict:
    return kms.create_key(KeySpec=spec, KeyUsage=usage)["KeyMetadata"]


def hash_of(algorithm: str):
    return HASHES[algorithm[-3:]]()


def digest_of(algorithm: str, message: bytes) -> bytes:
    h = hashes.Hash(hash_of(algorithm))
    h.update(message)
    return h.finalize()


def offline_verify(public, algorithm: str, signature: bytes, data: bytes, prehashed: bool = False):
    """Verifies with `cryptography` alone; raises InvalidSignature when it does not verify."""
    if algorithm == "ED25519_SHA_512":
        assert isinstance(public, ed25519.Ed25519PublicKey)
        public.verify(signature, data)
        return
    h = hash_of(algorithm)
    chosen = utils.Prehashed(h) if prehashed else h
    if algorithm.startswith("ECDSA_"):
        assert isinstance(public, ec.EllipticCurvePublicKey)
        public.verify(signature, data, ec.ECDSA(chosen))
    elif algorithm.startswith("RSASSA_PSS_"):
        assert isinstance(public, rsa.RSAPublicKey)
        public.verify(signature, data, padding.PSS(mgf=padding.MGF1(h), salt_length=h.digest_size),
                      chosen)
    else:
        assert isinstance(public, rsa.RSAPublicKey)
        public.verify(signature, data, padding.PKCS1v15(), chosen)


def flip(data: bytes, at: int = -1) -> bytes:
    b = bytearray(data)
    b[at] ^= 0x01
    return bytes(b)


def ed25519ph_supported(kms, key_id: str) -> bool:
    try:
        kms.sign(KeyId=key_id, Message=hashlib.sha512(b"probe").digest(), MessageType="DIGEST",
                 SigningAlgorithm="ED25519_PH_SHA_512")
        return True
    except kms.exceptions.UnsupportedOperationException:
        return False


@pytest.mark.parametrize("spec", SIGNING_SPECS)
def test_every_algorithm_signs_what_cryptography_verifies(kms, spec):
    md = create(kms, spec)
    public = load_der_public_key(kms.get_public_key(KeyId=md["KeyId"])["PublicKey"])
    algorithms = md["SigningAlgorithms"]
    assert algorithms, md
    for algorithm in algorithms:
        if algorithm == "ED25519_PH_SHA_512":
            continue  # its own test
        signed = kms.sign(KeyId=md["KeyId"], Message=MESSAGE, SigningAlgorithm=algorithm)
        assert signed["KeyId"] == md["Arn"] and signed["SigningAlgorithm"] == algorithm, signed
        sig = signed["Signature"]
        offline_verify(public, algorithm, sig, MESSAGE)
        with pytest.raises(InvalidSignature):
            offline_verify(public, algorithm, sig, MESSAGE + b"!")

        got = kms.verify(KeyId=md["KeyId"], Message=MESSAGE, Signature=sig,
                         SigningAlgorithm=algorithm, MessageType="RAW")
        assert got["SignatureValid"] is True, got
        assert got["KeyId"] == md["Arn"] and got["SigningAlgorithm"] == algorithm, got

        # Tampering: kmsd refuses what it did not sign, with an empty message.
        expect_error(kms.verify, "KMSInvalidSignatureException", "", KeyId=md["KeyId"],
                     Message=MESSAGE, Signature=flip(sig, len(sig) // 2),
                     SigningAlgorithm=algorithm)
        expect_error(kms.verify, "KMSInvalidSignatureException", "", KeyId=md["KeyId"],
                     Message=flip(MESSAGE), Signature=sig, SigningAlgorithm=algorithm)

        if algorithm == "ED25519_SHA_512":
            continue  # RAW only
        digest = digest_of(algorithm, MESSAGE)
        dsig = kms.sign(KeyId=md["KeyId"], Message=digest, MessageType="DIGEST",
                        SigningAlgorithm=algorithm)["Signature"]
        offline_verify(public, algorithm, dsig, digest, prehashed=True)
        offline_verify(public, algorithm, dsig, MESSAGE)
        # A DIGEST signature verifies as RAW and the other way round.
        assert kms.verify(KeyId=md["KeyId"], Message=MESSAGE, Signature=dsig,
                          SigningAlgorithm=algorithm)["SignatureValid"] is True
        assert kms.verify(KeyId=md["KeyId"], Message=digest, MessageType="DIGEST", Signature=sig,
                          SigningAlgorithm=algorithm)["SignatureValid"] is True
        expect_error(kms.verify, "KMSInvalidSignatureException", "", KeyId=md["KeyId"],
                     Message=flip(digest), MessageType="DIGEST", Signature=dsig,
                     SigningAlgorithm=algorithm)


def test_signature_shapes(kms):
    """RSA signatures are modulus-sized; ECDSA ones DER; Ed25519 ones 64 bytes."""
    rsa_md = create(kms, "RSA_3072")
    sig = kms.sign(KeyId=rsa_md["KeyId"], Message=b"m", SigningAlgorithm="RSASSA_PSS_SHA_384")
    assert len(sig["Signature"]) == 384
    ec_md = create(kms, "ECC_NIST_P521")
    sig = kms.sign(KeyId=ec_md["KeyId"], Message=b"m", SigningAlgorithm="ECDSA_SHA_512")
    r, s = utils.decode_dss_signature(sig["Signature"])
    assert r > 0 and s > 0
    ed_md = create(kms, "ECC_NIST_EDWARDS25519")
    sig = kms.sign(KeyId=ed_md["KeyId"], Message=b"m", SigningAlgorithm="ED25519_SHA_512")
    assert len(sig["Signature"]) == 64
    # PKCS#1 v1.5 is deterministic: RAW and DIGEST give the same bytes.
    a = kms.sign(KeyId=rsa_md["KeyId"], Message=b"same", SigningAlgorithm="RSASSA_PKCS1_V1_5_SHA_256")
    b = kms.sign(KeyId=rsa_md["KeyId"], Message=hashlib.sha256(b"same").digest(),
                 MessageType="DIGEST", SigningAlgorithm="RSASSA_PKCS1_V1_5_SHA_256")
    assert a["Signature"] == b["Signature"]


VALIDATION_CASES = [
    ("ECC_NIST_P256", b"x" * 48, "DIGEST", "ECDSA_SHA_256",
     "Digest is invalid length for algorithm ECDSA_SHA_256."),
    ("ECC_NIST_P256", b"x" * 31, "DIGEST", "ECDSA_SHA_256",
     "Digest is invalid length for algorithm ECDSA_SHA_256."),
    ("RSA_2048", b"x" * 32, "DIGEST", "RSASSA_PKCS1_V1_5_SHA_384",
     "Digest is invalid length for algorithm RSASSA_PKCS1_V1_5_SHA_384."),
    ("SM2", b"x" * 31, "DIGEST", "SM2DSA", "Digest is invalid length for algorithm SM2DSA."),
    ("ECC_NIST_EDWARDS25519", b"x" * 64, "DIGEST", "ED25519_SHA_512",
     "Message type DIGEST is incompatible with algorithm ED25519_SHA_512."),
    ("ECC_NIST_EDWARDS25519", b"m", "RAW", "ED25519_PH_SHA_512",
     "Message type RAW is incompatible with algorithm ED25519_PH_SHA_512."),
    ("ECC_NIST_EDWARDS25519", b"x" * 32, "DIGEST", "ED25519_PH_SHA_512",
     "Digest is invalid length for algorithm ED25519_PH_SHA_512."),
]


@pytest.mark.parametrize("spec,message,message_type,algorithm,expected", VALIDATION_CASES)
def test_message_type_and_digest_length_errors(kms, spec, message, message_type, algorithm,
                                               expected):
    md = create(kms, spec)
    expect_error(kms.sign, "ValidationException", expected, KeyId=md["KeyId"], Message=message,
                 MessageType=message_type, SigningAlgorithm=algorithm)
    expect_error(kms.verify, "ValidationException", expected, KeyId=md["KeyId"], Message=message,
                 MessageType=message_type, Signature=b"sig", SigningAlgorithm=algorithm)


def test_ed25519_message_types(kms):
    md = create(kms, "ECC_NIST_EDWARDS25519")
    assert md["SigningAlgorithms"] == ["ED25519_SHA_512", "ED25519_PH_SHA_512"], md
    digest = hashlib.sha512(MESSAGE).digest()
    if ed25519ph_supported(kms, md["KeyId"]):
        sig = kms.sign(KeyId=md["KeyId"], Message=digest, MessageType="DIGEST",
                       SigningAlgorithm="ED25519_PH_SHA_512")["Signature"]
        assert len(sig) == 64
        assert kms.verify(KeyId=md["KeyId"], Message=digest, MessageType="DIGEST", Signature=sig,
                          SigningAlgorithm="ED25519_PH_SHA_512")["SignatureValid"] is True
    else:
        e = expect_error(kms.sign, "UnsupportedOperationException", KeyId=md["KeyId"],
                         Message=digest, MessageType="DIGEST",
                         SigningAlgorithm="ED25519_PH_SHA_512")
        text = e.response["Error"]["Message"]
        assert "ED25519_PH_SHA_512" in text and "OpenSSL 3.2" in text, text


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl CLI")
def test_sm2dsa_verifies_with_openssl_cli(kms, tmp_path):
    md = create(kms, "SM2")
    assert md["SigningAlgorithms"] == ["SM2DSA"], md
    der = kms.get_public_key(KeyId=md["KeyId"])["PublicKey"]
    # cryptography cannot load SM2 keys: openssl converts the DER to PEM.
    (tmp_path / "pub.der").write_bytes(der)
    subprocess.run(["openssl", "pkey", "-pubin", "-inform", "DER", "-in", str(tmp_path / "pub.der"),
                    "-out", str(tmp_path / "pub.pem")], check=True, capture_output=True)
    (tmp_path / "msg").write_bytes(MESSAGE)

    def cli_verifies(signature: bytes, message_file: str = "msg") -> bool:
        (tmp_path / "sig").write_bytes(signature)
        r = subprocess.run(["openssl", "pkeyutl", "-verify", "-pubin", "-inkey",
                            str(tmp_path / "pub.pem"), "-rawin", "-digest", "sm3",
                            "-pkeyopt", "distid:1234567812345678",
                            "-in", str(tmp_path / message_file), "-sigfile", str(tmp_path / "sig")],
                           capture_output=True, text=True)
        return r.returncode == 0 and "Signature Verified Successfully" in r.stdout

    sig = kms.sign(KeyId=md["KeyId"], Message=MESSAGE, SigningAlgorithm="SM2DSA")
    assert sig["SigningAlgorithm"] == "SM2DSA" and sig["Signature"][0] == 0x30, sig
    assert cli_verifies(sig["Signature"]), "openssl did not verify kmsd's SM2DSA signature"
    assert not cli_verifies(flip(sig["Signature"], 10))
    assert kms.verify(KeyId=md["KeyId"], Message=MESSAGE, Signature=sig["Signature"],
                      SigningAlgorithm="SM2DSA")["SignatureValid"] is True
    expect_error(kms.verify, "KMSInvalidSignatureException", "", KeyId=md["KeyId"],
                 Message=flip(MESSAGE), Signature=sig["Signature"], SigningAlgorithm="SM2DSA")

    # The other direction: openssl signs (it has its own key), so check DIGEST against kmsd's own
    # signature: a DIGEST of e signs e directly and verifies only as that DIGEST.
    e = bytes(range(32))
    dsig = kms.sign(KeyId=md["KeyId"], Message=e, MessageType="DIGEST",
                    SigningAlgorithm="SM2DSA")["Signature"]
    assert kms.verify(KeyId=md["KeyId"], Message=e, MessageType="DIGEST", Signature=dsig,
                      SigningAlgorithm="SM2DSA")["SignatureValid"] is True
    expect_error(kms.verify, "KMSInvalidSignatureException", "", KeyId=md["KeyId"], Message=e,
                 Signature=dsig, SigningAlgorithm="SM2DSA")


def test_sign_verify_errors(kms):
    ecc = create(kms, "ECC_NIST_P256")
    expect_error(kms.sign, "InvalidKeyUsageException",
                 "Algorithm ECDSA_SHA_384 is incompatible with key spec ECC_NIST_P256.",
                 KeyId=ecc["KeyId"], Message=b"m", SigningAlgorithm="ECDSA_SHA_384")
    expect_error(kms.verify, "InvalidKeyUsageException",
                 "Algorithm RSASSA_PSS_SHA_256 is incompatible with key spec ECC_NIST_P256.",
                 KeyId=ecc["KeyId"], Message=b"m", Signature=b"sig",
                 SigningAlgorithm="RSASSA_PSS_SHA_256")
    # A signature that is not DER at all.
    expect_error(kms.verify, "KMSInvalidSignatureException", "", KeyId=ecc["KeyId"],
                 Message=b"m", Signature=b"\x00" * 70, SigningAlgorithm="ECDSA_SHA_256")

    symmetric = kms.create_key()["KeyMetadata"]
    expect_error(kms.sign, "InvalidKeyUsageException",
                 f"{symmetric['Arn']} key usage is ENCRYPT_DECRYPT which is not valid for Sign.",
                 KeyId=symmetric["KeyId"], Message=b"m", SigningAlgorithm="ECDSA_SHA_256")
    rsa_enc = create(kms, "RSA_2048", "ENCRYPT_DECRYPT")
    expect_error(kms.verify, "InvalidKeyUsageException",
                 f"{rsa_enc['Arn']} key usage is ENCRYPT_DECRYPT which is not valid for Verify.",
                 KeyId=rsa_enc["KeyId"], Message=b"m", Signature=b"s",
                 SigningAlgorithm="RSASSA_PSS_SHA_256")
    hmac = create(kms, "HMAC_256", "GENERATE_VERIFY_MAC")
    expect_error(kms.sign, "InvalidKeyUsageException",
                 f"{hmac['Arn']} key usage is GENERATE_VERIFY_MAC which is not valid for Sign.",
                 KeyId=hmac["KeyId"], Message=b"m", SigningAlgorithm="ECDSA_SHA_256")

    missing = "11111111-2222-4333-8444-555555555555"
    expect_error(kms.sign, "NotFoundException", f"Key '{key_arn(missing)}' does not exist",
                 KeyId=missing, Message=b"m", SigningAlgorithm="ECDSA_SHA_256")
    kms.disable_key(KeyId=ecc["KeyId"])
    expect_error(kms.sign, "DisabledException", f"{ecc['Arn']} is disabled.", KeyId=ecc["KeyId"],
                 Message=b"m", SigningAlgorithm="ECDSA_SHA_256")
    kms.enable_key(KeyId=ecc["KeyId"])
    kms.schedule_key_deletion(KeyId=ecc["KeyId"], PendingWindowInDays=7)
    expect_error(kms.verify, "KMSInvalidStateException", f"{ecc['Arn']} is pending deletion.",
                 KeyId=ecc["KeyId"], Message=b"m", Signature=b"s", SigningAlgorithm="ECDSA_SHA_256")


def test_message_limits_and_model_validation(url, kms):
    md = create(kms, "ECC_NIST_P384")
    assert kms.sign(KeyId=md["KeyId"], Message=b"a" * 4096,
                    SigningAlgorithm="ECDSA_SHA_384")["Signature"]
    r = call(url, "Sign", {"KeyId": md["KeyId"], "Message": b64(b"a" * 4097),
                           "SigningAlgorithm": "ECDSA_SHA_384"})
    assert_error(r, "ValidationException")
    assert "'message'" in (r.message or "") and "4096" in (r.message or ""), r.describe()
    r = call(url, "Sign", {"KeyId": md["KeyId"], "Message": b64(b"m"),
                           "SigningAlgorithm": "ECDSA_SHA_1"})
    assert_error(r, "ValidationException")
    r = call(url, "Verify", {"KeyId": md["KeyId"], "Message": b64(b"m"),
                             "SigningAlgorithm": "ECDSA_SHA_384"})
    assert_error(r, "ValidationException")
    r = call(url, "Sign", {"KeyId": md["KeyId"], "Message": b64(b"x" * 64),
                           "MessageType": "EXTERNAL_MU", "SigningAlgorithm": "ECDSA_SHA_384"})
    assert_error(r, "ValidationException",
                 "Message type EXTERNAL_MU is incompatible with key spec ECC_NIST_P384.")


def test_dry_run_and_grant_tokens(url, kms):
    md = create(kms, "RSA_2048")
    token = kms.create_grant(KeyId=md["KeyId"], GranteePrincipal="arn:aws:iam::111122223333:root",
                             Operations=["Sign", "Verify"])["GrantToken"]
    sig = kms.sign(KeyId=md["KeyId"], Message=b"m", SigningAlgorithm="RSASSA_PSS_SHA_256",
                   GrantTokens=[token])["Signature"]
    assert kms.verify(KeyId=md["KeyId"], Message=b"m", Signature=sig, GrantTokens=[token],
                      SigningAlgorithm="RSASSA_PSS_SHA_256")["SignatureValid"] is True
    dry = "The request would have succeeded, but the DryRun option is set."
    for op, extra in (("Sign", {}), ("Verify", {"Signature": b64(sig)})):
        body = {"KeyId": md["KeyId"], "Message": b64(b"m"), "SigningAlgorithm": "RSASSA_PSS_SHA_256",
                "DryRun": True, **extra}
        assert_error(call(url, op, body), "DryRunOperationException", dry, what=op)
        # Every other check comes first.
        assert_error(call(url, op, {**body, "SigningAlgorithm": "ECDSA_SHA_256"}),
                     "InvalidKeyUsageException", what=op)
        assert_error(call(url, op, {**body, "MessageType": "DIGEST"}), "ValidationException",
                     "Digest is invalid length for algorithm RSASSA_PSS_SHA_256.", what=op)


def test_alias_references_sign(kms):
    md = create(kms, "ECC_SECG_P256K1")
    kms.create_alias(AliasName="alias/signer", TargetKeyId=md["KeyId"])
    for ref in ("alias/signer", alias_arn("alias/signer"), md["Arn"]):
        sig = kms.sign(KeyId=ref, Message=b"m", SigningAlgorithm="ECDSA_SHA_256")
        assert sig["KeyId"] == md["Arn"], sig
        assert kms.verify(KeyId=ref, Message=b"m", Signature=sig["Signature"],
                          SigningAlgorithm="ECDSA_SHA_256")["SignatureValid"] is True


def test_signing_keys_survive_restart(fresh_server):
    srv = fresh_server()
    kms = make_client(srv.url)
    keys = {spec: create(kms, spec) for spec in ("RSA_2048", "ECC_NIST_P256",
                                                  "ECC_NIST_EDWARDS25519", "SM2")}
    algorithm = {"RSA_2048": "RSASSA_PSS_SHA_256", "ECC_NIST_P256": "ECDSA_SHA_256",
                 "ECC_NIST_EDWARDS25519": "ED25519_SHA_512", "SM2": "SM2DSA"}
    before = {}
    for spec, md in keys.items():
        before[spec] = (kms.get_public_key(KeyId=md["KeyId"])["PublicKey"],
                        kms.sign(KeyId=md["KeyId"], Message=MESSAGE,
                                 SigningAlgorithm=algorithm[spec])["Signature"])
    srv.stop()
    srv.start()
    kms = make_client(srv.url)
    for spec, md in keys.items():
        public, sig = before[spec]
        assert kms.get_public_key(KeyId=md["KeyId"])["PublicKey"] == public
        assert kms.verify(KeyId=md["KeyId"], Message=MESSAGE, Signature=sig,
                          SigningAlgorithm=algorithm[spec])["SignatureValid"] is True
        new = kms.sign(KeyId=md["KeyId"], Message=b"after", SigningAlgorithm=algorithm[spec])
        assert kms.verify(KeyId=md["KeyId"], Message=b"after", Signature=new["Signature"],
                          SigningAlgorithm=algorithm[spec])["SignatureValid"] is True
    assert call_ok(srv.url, "DescribeKey", {"KeyId": keys["SM2"]["KeyId"]})["KeyMetadata"][
        "KeyUsage"] == "SIGN_VERIFY"
