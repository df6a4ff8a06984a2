"""Asymmetric Encrypt / Decrypt / ReEncrypt (RSAES_OAEP_SHA_1, RSAES_OAEP_SHA_256, SM2PKE) and
GenerateDataKeyPair[WithoutPlaintext], through boto3, checked independently: RSA ciphertexts made
offline by the `cryptography` package from GetPublicKey's DER decrypt through kmsd and kmsd's
decrypt with the private key only kmsd holds; SM2 offline via the `openssl pkeyutl` CLI; data key
pairs parsed and matched with `cryptography`. Raw JSON where botocore 1.29's model lacks a value
(ECC_NIST_EDWARDS25519)."""
from __future__ import annotations

import base64
import shutil
import subprocess

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.serialization import load_der_private_key, load_der_public_key

from e2e_support import assert_error, call, call_ok, expect_error

# AWS's plaintext limits (Encrypt API reference; recorded from AWS).
LIMITS = {
    ("RSA_2048", "RSAES_OAEP_SHA_1"): 214, ("RSA_2048", "RSAES_OAEP_SHA_256"): 190,
    ("RSA_3072", "RSAES_OAEP_SHA_1"): 342, ("RSA_3072", "RSAES_OAEP_SHA_256"): 318,
    ("RSA_4096", "RSAES_OAEP_SHA_1"): 470, ("RSA_4096", "RSAES_OAEP_SHA_256"): 446,
    ("SM2", "SM2PKE"): 1024,
}
HASHES = {"RSAES_OAEP_SHA_1": hashes.SHA1, "RSAES_OAEP_SHA_256": hashes.SHA256}


def oaep(algorithm: str) -> padding.OAEP:
    h = HASHES[algorithm]
    return padding.OAEP(mgf=padding.MGF1(algorithm=h()), algorithm=h(), label=None)


def create(kms, spec: str, usage: str = "ENCRYPT_DECRYPT") -> dict:
    return kms.create_key(KeySpec=spec, KeyUsage=usage)["KeyMetadata"]


@pytest.mark.parametrize("spec", ["RSA_2048", "RSA_3072", "RSA_4096"])
def test_offline_rsa_oaep_decrypts_through_kmsd(kms, spec):
    md = create(kms, spec)
    public = load_der_public_key(kms.get_public_key(KeyId=md["KeyId"])["PublicKey"])
    assert isinstance(public, rsa.RSAPublicKey) and public.key_size == int(spec[4:])
    for algorithm in ("RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256"):
        check_rsa_algorithm(kms, md, public, spec, algorithm)


def check_rsa_algorithm(kms, md, public, spec, algorithm):
    limit = LIMITS[(spec, algorithm)]
    message = bytes(range(256)) * 2
    plaintext = message[:limit]
    ciphertext = public.encrypt(plaintext, oaep(algorithm))
    got = kms.decrypt(CiphertextBlob=ciphertext, KeyId=md["Arn"], EncryptionAlgorithm=algorithm)
    assert got["Plaintext"] == plaintext
    assert got["KeyId"] == md["Arn"] and got["EncryptionAlgorithm"] == algorithm, got
    assert "KeyMaterialId" not in got, got

    # kmsd's own Encrypt: modulus-sized raw OAEP output that kmsd decrypts.
    enc = kms.encrypt(KeyId=md["KeyId"], Plaintext=plaintext, EncryptionAlgorithm=algorithm)
    assert enc["KeyId"] == md["Arn"] and enc["EncryptionAlgorithm"] == algorithm, enc
    assert len(enc["CiphertextBlob"]) == public.key_size // 8
    dec = kms.decrypt(CiphertextBlob=enc["CiphertextBlob"], KeyId=md["KeyId"],
                      EncryptionAlgorithm=algorithm)
    assert dec["Plaintext"] == plaintext

    expect_error(kms.encrypt, "ValidationException",
                 f"Algorithm {algorithm} and key spec {spec} cannot encrypt data larger than "
                 f"{limit} bytes.",
                 KeyId=md["KeyId"], Plaintext=message[:limit + 1], EncryptionAlgorithm=algorithm)


def test_rsa_encrypt_output_is_real_oaep(kms):
    """kmsd's ciphertext is not framed: the other OAEP hash does not open it, and a flipped
    byte is InvalidCiphertextException with no message."""
    md = create(kms, "RSA_2048")
    enc = kms.encrypt(KeyId=md["KeyId"], Plaintext=b"x" * 32, EncryptionAlgorithm="RSAES_OAEP_SHA_1")
    blob = enc["CiphertextBlob"]
    expect_error(kms.decrypt, "InvalidCiphertextException", "", CiphertextBlob=blob,
                 KeyId=md["KeyId"], EncryptionAlgorithm="RSAES_OAEP_SHA_256")
    tampered = bytes([blob[0] ^ 1]) + blob[1:]
    expect_error(kms.decrypt, "InvalidCiphertextException", "", CiphertextBlob=tampered,
                 KeyId=md["KeyId"], EncryptionAlgorithm="RSAES_OAEP_SHA_1")
    # Without KeyId the ciphertext is not a kmsd blob.
    expect_error(kms.decrypt, "InvalidCiphertextException", "", CiphertextBlob=blob,
                 EncryptionAlgorithm="RSAES_OAEP_SHA_1")


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl CLI")
def test_sm2pke_interoperates_with_openssl_cli(kms, tmp_path):
    md = create(kms, "SM2")
    assert md["EncryptionAlgorithms"] == ["SM2PKE"], md
    (tmp_path / "pub.der").write_bytes(kms.get_public_key(KeyId=md["KeyId"])["PublicKey"])
    plaintext = b"SM2 offline " * 85  # 1020 bytes, under the 1024-byte limit
    (tmp_path / "plain").write_bytes(plaintext)
    subprocess.run(["openssl", "pkeyutl", "-encrypt", "-pubin", "-keyform", "DER",
                    "-inkey", str(tmp_path / "pub.der"), "-in", str(tmp_path / "plain"),
                    "-out", str(tmp_path / "cipher")], check=True, capture_output=True)
    offline = (tmp_path / "cipher").read_bytes()
    assert offline[0] == 0x30, "OpenSSL's SM2 ciphertext is a DER SEQUENCE (C1C3C2)"
    got = kms.decrypt(CiphertextBlob=offline, KeyId=md["KeyId"], EncryptionAlgorithm="SM2PKE")
    assert got["Plaintext"] == plaintext and got["EncryptionAlgorithm"] == "SM2PKE", got

    enc = kms.encrypt(KeyId=md["KeyId"], Plaintext=b"to the CLI", EncryptionAlgorithm="SM2PKE")
    assert enc["CiphertextBlob"][0] == 0x30
    assert kms.decrypt(CiphertextBlob=enc["CiphertextBlob"], KeyId=md["Arn"],
                       EncryptionAlgorithm="SM2PKE")["Plaintext"] == b"to the CLI"

    expect_error(kms.encrypt, "ValidationException",
                 "Algorithm SM2PKE and key spec SM2 cannot encrypt data larger than 1024 bytes.",
                 KeyId=md["KeyId"], Plaintext=b"x" * 1025, EncryptionAlgorithm="SM2PKE")
    assert kms.encrypt(KeyId=md["KeyId"], Plaintext=b"x" * 1024,
                       EncryptionAlgorithm="SM2PKE")["EncryptionAlgorithm"] == "SM2PKE"


def test_asymmetric_encrypt_errors(kms):
    md = create(kms, "RSA_2048")
    expect_error(kms.encrypt, "InvalidKeyUsageException",
                 "Algorithm SYMMETRIC_DEFAULT is incompatible with key spec RSA_2048.",
                 KeyId=md["KeyId"], Plaintext=b"no algorithm")
    expect_error(kms.encrypt, "InvalidKeyUsageException",
                 "Algorithm SM2PKE is incompatible with key spec RSA_2048.",
                 KeyId=md["KeyId"], Plaintext=b"x", EncryptionAlgorithm="SM2PKE")
    symmetric = kms.create_key()["KeyMetadata"]
    expect_error(kms.encrypt, "InvalidKeyUsageException",
                 "Algorithm RSAES_OAEP_SHA_256 is incompatible with key spec SYMMETRIC_DEFAULT.",
                 KeyId=symmetric["KeyId"], Plaintext=b"x", EncryptionAlgorithm="RSAES_OAEP_SHA_256")
    # Not pinned against AWS: AWS documents that asymmetric algorithms take no context.
    expect_error(kms.encrypt, "ValidationException",
                 "EncryptionContext is not supported with asymmetric KMS keys (key spec RSA_2048).",
                 KeyId=md["KeyId"], Plaintext=b"x", EncryptionAlgorithm="RSAES_OAEP_SHA_256",
                 EncryptionContext={"a": "b"})

    enc = kms.encrypt(KeyId=md["KeyId"], Plaintext=b"x", EncryptionAlgorithm="RSAES_OAEP_SHA_256")
    expect_error(kms.decrypt, "InvalidKeyUsageException",
                 "Algorithm SYMMETRIC_DEFAULT is incompatible with key spec RSA_2048.",
                 CiphertextBlob=enc["CiphertextBlob"], KeyId=md["KeyId"])

    signer = create(kms, "RSA_2048", "SIGN_VERIFY")
    expect_error(kms.encrypt, "InvalidKeyUsageException",
                 f"{signer['Arn']} key usage is SIGN_VERIFY which is not valid for Encrypt.",
                 KeyId=signer["KeyId"], Plaintext=b"x", EncryptionAlgorithm="RSAES_OAEP_SHA_256")
    ecc = create(kms, "ECC_NIST_P256", "SIGN_VERIFY")
    expect_error(kms.encrypt, "InvalidKeyUsageException",
                 f"{ecc['Arn']} key usage is SIGN_VERIFY which is not valid for Encrypt.",
                 KeyId=ecc["KeyId"], Plaintext=b"x")

    disabled = create(kms, "RSA_2048")
    kms.disable_key(KeyId=disabled["KeyId"])
    expect_error(kms.encrypt, "DisabledException", f"{disabled['Arn']} is disabled.",
                 KeyId=disabled["KeyId"], Plaintext=b"x", EncryptionAlgorithm="RSAES_OAEP_SHA_1")


def test_reencrypt_between_symmetric_and_rsa(kms):
    rsa_md = create(kms, "RSA_3072")
    symmetric = kms.create_key()["KeyMetadata"]
    blob = kms.encrypt(KeyId=symmetric["KeyId"], Plaintext=b"moving payload",
                       EncryptionContext={"stage": "one"})["CiphertextBlob"]

    to_rsa = kms.re_encrypt(CiphertextBlob=blob, SourceEncryptionContext={"stage": "one"},
                            DestinationKeyId=rsa_md["KeyId"],
                            DestinationEncryptionAlgorithm="RSAES_OAEP_SHA_256")
    assert to_rsa["SourceKeyId"] == symmetric["Arn"] and to_rsa["KeyId"] == rsa_md["Arn"], to_rsa
    assert to_rsa["SourceEncryptionAlgorithm"] == "SYMMETRIC_DEFAULT"
    assert to_rsa["DestinationEncryptionAlgorithm"] == "RSAES_OAEP_SHA_256"
    assert len(to_rsa["CiphertextBlob"]) == 384
    assert kms.decrypt(CiphertextBlob=to_rsa["CiphertextBlob"], KeyId=rsa_md["KeyId"],
                       EncryptionAlgorithm="RSAES_OAEP_SHA_256")["Plaintext"] == b"moving payload"

    # RSA -> symmetric, from a ciphertext made offline.
    public = load_der_public_key(kms.get_public_key(KeyId=rsa_md["KeyId"])["PublicKey"])
    offline = public.encrypt(b"offline to symmetric", oaep("RSAES_OAEP_SHA_1"))
    back = kms.re_encrypt(CiphertextBlob=offline, SourceKeyId=rsa_md["Arn"],
                          SourceEncryptionAlgorithm="RSAES_OAEP_SHA_1",
                          DestinationKeyId=symmetric["KeyId"],
                          DestinationEncryptionContext={"stage": "two"})
    assert back["SourceEncryptionAlgorithm"] == "RSAES_OAEP_SHA_1", back
    assert back["DestinationEncryptionAlgorithm"] == "SYMMETRIC_DEFAULT", back
    dec = kms.decrypt(CiphertextBlob=back["CiphertextBlob"], EncryptionContext={"stage": "two"})
    assert dec["Plaintext"] == b"offline to symmetric" and dec["KeyId"] == symmetric["Arn"]

    expect_error(kms.re_encrypt, "InvalidKeyUsageException",
                 "Algorithm SYMMETRIC_DEFAULT is incompatible with key spec RSA_3072.",
                 CiphertextBlob=offline, SourceKeyId=rsa_md["KeyId"],
                 DestinationKeyId=symmetric["KeyId"])
    big = kms.encrypt(KeyId=symmetric["KeyId"], Plaintext=b"p" * 343)["CiphertextBlob"]
    expect_error(kms.re_encrypt, "ValidationException",
                 "Algorithm RSAES_OAEP_SHA_1 and key spec RSA_3072 cannot encrypt data larger "
                 "than 342 bytes.",
                 CiphertextBlob=big, DestinationKeyId=rsa_md["KeyId"],
                 DestinationEncryptionAlgorithm="RSAES_OAEP_SHA_1")


# ---- GenerateDataKeyPair ------------------------------------------------------------------
PAIR_TYPES = {
    "RSA_2048": (rsa.RSAPrivateKey, 2048), "RSA_3072": (rsa.RSAPrivateKey, 3072),
    "RSA_4096": (rsa.RSAPrivateKey, 4096),
    "ECC_NIST_P256": (ec.EllipticCurvePrivateKey, "secp256r1"),
    "ECC_NIST_P384": (ec.EllipticCurvePrivateKey, "secp384r1"),
    "ECC_NIST_P521": (ec.EllipticCurvePrivateKey, "secp521r1"),
    "ECC_SECG_P256K1": (ec.EllipticCurvePrivateKey, "secp256k1"),
    "ECC_NIST_EDWARDS25519": (ed25519.Ed25519PrivateKey, None),
}
DER_SPKI = (serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


@pytest.mark.parametrize("spec", list(PAIR_TYPES) + ["SM2"])
def test_generate_data_key_pair_every_spec(url, spec):
    wrapping = call_ok(url, "CreateKey", {})["KeyMetadata"]
    context = {"purpose": "pair", "spec": spec}
    got = call_ok(url, "GenerateDataKeyPair",
                  {"KeyId": wrapping["KeyId"], "KeyPairSpec": spec, "EncryptionContext": context})
    assert got["KeyId"] == wrapping["Arn"] and got["KeyPairSpec"] == spec, got
    assert got["KeyMaterialId"] == wrapping["CurrentKeyMaterialId"], got
    private_der = base64.b64decode(got["PrivateKeyPlaintext"])
    public_der = base64.b64decode(got["PublicKey"])

    if spec == "SM2":
        # `cryptography` does not load SM2 keys; the openssl CLI checks the pair instead.
        derived = subprocess.run(["openssl", "pkey", "-inform", "DER", "-pubout", "-outform", "DER"],
                                 input=private_der, capture_output=True, check=True).stdout
        assert derived == public_der
    else:
        private = load_der_private_key(private_der, password=None)
        kind, size = PAIR_TYPES[spec]
        assert isinstance(private, kind), type(private)
        if kind is rsa.RSAPrivateKey:
            assert private.key_size == size
        elif kind is ec.EllipticCurvePrivateKey:
            assert private.curve.name == size
        assert private.public_key().public_bytes(*DER_SPKI) == public_der
        load_der_public_key(public_der)

    dec = call_ok(url, "Decrypt", {"CiphertextBlob": got["PrivateKeyCiphertextBlob"],
                                   "EncryptionContext": context})
    assert base64.b64decode(dec["Plaintext"]) == private_der
    for wrong in ({}, {"purpose": "other", "spec": spec}):
        r = call(url, "Decrypt", {"CiphertextBlob": got["PrivateKeyCiphertextBlob"],
                                  "EncryptionContext": wrong})
        assert_error(r, "InvalidCiphertextException", "")


def test_generate_data_key_pair_with_boto3(kms):
    wrapping = kms.create_key()["KeyMetadata"]
    pair = kms.generate_data_key_pair(KeyId=wrapping["KeyId"], KeyPairSpec="ECC_NIST_P384",
                                      EncryptionContext={"app": "e2e"})
    private = load_der_private_key(pair["PrivateKeyPlaintext"], password=None)
    assert private.public_key().public_bytes(*DER_SPKI) == pair["PublicKey"]
    # The pair works: a signature by the private key verifies with the public key.
    signature = private.sign(b"message", ec.ECDSA(hashes.SHA384()))
    load_der_public_key(pair["PublicKey"]).verify(signature, b"message", ec.ECDSA(hashes.SHA384()))

    bare = kms.generate_data_key_pair_without_plaintext(KeyId=wrapping["Arn"], KeyPairSpec="RSA_2048")
    assert "PrivateKeyPlaintext" not in bare and bare["KeyPairSpec"] == "RSA_2048", bare
    assert bare["KeyId"] == wrapping["Arn"]
    opened = kms.decrypt(CiphertextBlob=bare["PrivateKeyCiphertextBlob"])
    private = load_der_private_key(opened["Plaintext"], password=None)
    assert private.public_key().public_bytes(*DER_SPKI) == bare["PublicKey"]
    expect_error(kms.decrypt, "InvalidCiphertextException", "",
                 CiphertextBlob=bare["PrivateKeyCiphertextBlob"], EncryptionContext={"app": "e2e"})


def test_generate_data_key_pair_errors(kms, url):
    rsa_md = create(kms, "RSA_2048")
    for op, fn in (("GenerateDataKeyPair", kms.generate_data_key_pair),
                   ("GenerateDataKeyPairWithoutPlaintext",
                    kms.generate_data_key_pair_without_plaintext)):
        expect_error(fn, "InvalidKeyUsageException",
                     f"{rsa_md['Arn']} key spec is RSA_2048 which is not valid for {op}.",
                     KeyId=rsa_md["KeyId"], KeyPairSpec="ECC_NIST_P256")
        hmac = create(kms, "HMAC_256", "GENERATE_VERIFY_MAC")
        expect_error(fn, "InvalidKeyUsageException",
                     f"{hmac['Arn']} key usage is GENERATE_VERIFY_MAC which is not valid for {op}.",
                     KeyId=hmac["KeyId"], KeyPairSpec="ECC_NIST_P256")
        expect_error(fn, "NotFoundException", KeyId="alias/none", KeyPairSpec="RSA_2048")
    wrapping = kms.create_key()["KeyMetadata"]
    r = call(url, "GenerateDataKeyPair", {"KeyId": wrapping["KeyId"], "KeyPairSpec": "ML_DSA_44"})
    assert_error(r, "ValidationException")
    # DryRun is newer than botocore 1.29's model: raw JSON.
    r = call(url, "GenerateDataKeyPair",
             {"KeyId": wrapping["KeyId"], "KeyPairSpec": "RSA_2048", "DryRun": True})
    assert_error(r, "DryRunOperationException",
                 "The request would have succeeded, but the DryRun option is set.")


@pytest.mark.parametrize("spec,usage", [("RSA_2048", "ENCRYPT_DECRYPT"), ("ECC_NIST_P256", "SIGN_VERIFY"),
                                        ("HMAC_256", "GENERATE_VERIFY_MAC")])
def test_generate_data_key_refuses_asymmetric_and_hmac_keys(kms, spec, usage):
    md = create(kms, spec, usage)
    for fn in (kms.generate_data_key, kms.generate_data_key_without_plaintext):
        e = expect_error(fn, "InvalidKeyUsageException", KeyId=md["KeyId"], KeySpec="AES_256")
        assert e.response["Error"]["Message"].startswith(md["Arn"] + " key "), e.response
