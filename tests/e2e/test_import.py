"""Imported key material, done the way AWS's documentation ("Importing key material") tells users:
CreateKey with Origin EXTERNAL, GetParametersForImport, wrap the material on the client with the
public key (Python's `cryptography`: RSAES-OAEP, or an ephemeral AES key wrapped with RSAES-OAEP
followed by the material under AES key wrap with padding, RFC 5649), ImportKeyMaterial, use the key.
Everything the client computes is independent of kmsd: MACs with Python's hmac, signatures
verified with the imported private key's own public half, and the reverse (a MAC computed offline
is verified by kmsd, a signature made offline is verified by kmsd).

kmsd's ciphertext blob format is its own, so blobs are not opened offline; instead a blob made
before DeleteImportedKeyMaterial must decrypt after re-importing the same material. Expiry at
ValidTo needs kmsd's clock to move, which the e2e suite cannot do: the unit tests
(tests/unit/server/ops/import_test.cpp, tag [import]) cover it with a fake clock; here ValidTo is
checked as DescribeKey reports it. Members newer than Debian's botocore 1.29 (ImportType,
KeyMaterialId, KeyMaterialDescription, the KeyMaterialId of the responses) go through raw JSON."""
from __future__ import annotations

import base64
import datetime
import hashlib
import hmac
import os

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.keywrap import aes_key_wrap_with_padding
from cryptography.hazmat.primitives.serialization import load_der_public_key

from e2e_support import assert_error, b64, call, call_ok, expect_error, key_arn

NO_EXPIRY = "KEY_MATERIAL_DOES_NOT_EXPIRE"
OAEP_HASH = {"RSAES_OAEP_SHA_1": hashes.SHA1, "RSAES_OAEP_SHA_256": hashes.SHA256,
             "RSA_AES_KEY_WRAP_SHA_1": hashes.SHA1, "RSA_AES_KEY_WRAP_SHA_256": hashes.SHA256}


def wrap(public_key_der: bytes, algorithm: str, material: bytes) -> bytes:
    """EncryptedKeyMaterial as AWS's step 3 makes it, with `cryptography` instead of OpenSSL."""
    public_key = load_der_public_key(public_key_der)
    h = OAEP_HASH[algorithm]
    oaep = padding.OAEP(mgf=padding.MGF1(algorithm=h()), algorithm=h(), label=None)
    if algorithm.startswith("RSAES_OAEP"):
        return public_key.encrypt(material, oaep)
    aes_key = os.urandom(32)  # openssl rand -out aes-key.bin 32
    return public_key.encrypt(aes_key, oaep) + aes_key_wrap_with_padding(aes_key, material)


def external_key(kms, **kwargs) -> str:
    return kms.create_key(Origin="EXTERNAL", **kwargs)["KeyMetadata"]["KeyId"]


def import_material(kms, key_id: str, material: bytes, algorithm: str = "RSAES_OAEP_SHA_256",
                    wrapping_spec: str = "RSA_4096", **kwargs) -> None:
    params = kms.get_parameters_for_import(KeyId=key_id, WrappingAlgorithm=algorithm,
                                           WrappingKeySpec=wrapping_spec)
    kwargs.setdefault("ExpirationModel", NO_EXPIRY)
    kms.import_key_material(KeyId=key_id, ImportToken=params["ImportToken"],
                            EncryptedKeyMaterial=wrap(params["PublicKey"], algorithm, material),
                            **kwargs)


def raw_import(url: str, key_id: str, material: bytes, algorithm: str = "RSAES_OAEP_SHA_256",
               **members):
    params = call_ok(url, "GetParametersForImport", {"KeyId": key_id, "WrappingAlgorithm": algorithm,
                                                     "WrappingKeySpec": "RSA_2048"})
    encrypted = wrap(base64.b64decode(params["PublicKey"]), algorithm, material)
    body = {"KeyId": key_id, "ImportToken": params["ImportToken"],
            "EncryptedKeyMaterial": b64(encrypted), "ExpirationModel": NO_EXPIRY} | members
    return call(url, "ImportKeyMaterial", body)


def test_symmetric_import_lifecycle(kms, url):
    key_id = external_key(kms, Description="imported")
    md = kms.describe_key(KeyId=key_id)["KeyMetadata"]
    assert (md["Origin"], md["KeyState"], md["Enabled"]) == ("EXTERNAL", "PendingImport", False), md
    assert "ExpirationModel" not in md and "CurrentKeyMaterialId" not in md, md
    expect_error(kms.encrypt, "KMSInvalidStateException", f"{key_arn(key_id)} is pending import.",
                 KeyId=key_id, Plaintext=b"x")

    params = kms.get_parameters_for_import(KeyId=key_id, WrappingAlgorithm="RSAES_OAEP_SHA_256",
                                           WrappingKeySpec="RSA_2048")
    assert params["KeyId"] == key_arn(key_id)
    public_key = load_der_public_key(params["PublicKey"])
    assert public_key.key_size == 2048
    now = datetime.datetime.now(datetime.timezone.utc)
    valid_for = params["ParametersValidTo"] - now
    assert datetime.timedelta(hours=23, minutes=59) < valid_for <= datetime.timedelta(hours=24), valid_for

    material = os.urandom(32)
    encrypted = wrap(params["PublicKey"], "RSAES_OAEP_SHA_256", material)
    # Without ExpirationModel the material expires, so ValidTo is needed (recorded from AWS).
    expect_error(kms.import_key_material, "ValidationException",
                 "A validTo date must be set if the ExpirationModel is KEY_MATERIAL_EXPIRES",
                 KeyId=key_id, ImportToken=params["ImportToken"], EncryptedKeyMaterial=encrypted)
    r = call_ok(url, "ImportKeyMaterial", {"KeyId": key_id, "ImportToken": b64(params["ImportToken"]),
                                           "EncryptedKeyMaterial": b64(encrypted),
                                           "ExpirationModel": NO_EXPIRY})
    assert r["KeyId"] == key_arn(key_id)
    material_id = r["KeyMaterialId"]
    assert len(material_id) == 64, r

    md = kms.describe_key(KeyId=key_id)["KeyMetadata"]
    assert (md["KeyState"], md["Enabled"], md["ExpirationModel"]) == ("Enabled", True, NO_EXPIRY), md
    assert call_ok(url, "DescribeKey", {"KeyId": key_id})["KeyMetadata"]["CurrentKeyMaterialId"] == material_id

    blob = kms.encrypt(KeyId=key_id, Plaintext=b"sealed under imported material",
                       EncryptionContext={"k": "v"})["CiphertextBlob"]
    assert kms.decrypt(CiphertextBlob=blob, EncryptionContext={"k": "v"})["Plaintext"] == \
        b"sealed under imported material"
    dk = kms.generate_data_key(KeyId=key_id, KeySpec="AES_256")
    assert kms.decrypt(CiphertextBlob=dk["CiphertextBlob"])["Plaintext"] == dk["Plaintext"]

    deleted = call_ok(url, "DeleteImportedKeyMaterial", {"KeyId": key_id})
    assert deleted == {"KeyId": key_arn(key_id), "KeyMaterialId": material_id}
    md = kms.describe_key(KeyId=key_id)["KeyMetadata"]
    assert (md["KeyState"], md["Enabled"]) == ("PendingImport", False) and "ExpirationModel" not in md
    expect_error(kms.decrypt, "KMSInvalidStateException", f"{key_arn(key_id)} is pending import.",
                 CiphertextBlob=blob, EncryptionContext={"k": "v"})

    # Different material is refused; the same material brings back every old ciphertext.
    expect_error(import_material, "IncorrectKeyMaterialException", kms=kms, key_id=key_id,
                 material=os.urandom(32))
    import_material(kms, key_id, material, algorithm="RSA_AES_KEY_WRAP_SHA_1")
    assert kms.decrypt(CiphertextBlob=blob, EncryptionContext={"k": "v"})["Plaintext"] == \
        b"sealed under imported material"
    assert kms.decrypt(CiphertextBlob=dk["CiphertextBlob"])["Plaintext"] == dk["Plaintext"]


@pytest.mark.parametrize("algorithm", ["RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256",
                                       "RSA_AES_KEY_WRAP_SHA_1", "RSA_AES_KEY_WRAP_SHA_256"])
def test_every_wrapping_algorithm(kms, algorithm):
    key_id = external_key(kms)
    import_material(kms, key_id, os.urandom(32), algorithm=algorithm, wrapping_spec="RSA_3072")
    blob = kms.encrypt(KeyId=key_id, Plaintext=b"ok")["CiphertextBlob"]
    assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"ok"


@pytest.mark.parametrize("spec,algorithm,digest,size", [
    ("HMAC_224", "HMAC_SHA_224", hashlib.sha224, 28), ("HMAC_256", "HMAC_SHA_256", hashlib.sha256, 64),
    ("HMAC_384", "HMAC_SHA_384", hashlib.sha384, 48), ("HMAC_512", "HMAC_SHA_512", hashlib.sha512, 128)])
def test_hmac_import_matches_offline_hmac(kms, spec, algorithm, digest, size):
    key_id = external_key(kms, KeySpec=spec, KeyUsage="GENERATE_VERIFY_MAC")
    secret = os.urandom(size)
    import_material(kms, key_id, secret)
    message = b"the MAC of this message is computed offline too"
    offline = hmac.new(secret, message, digest).digest()
    got = kms.generate_mac(KeyId=key_id, Message=message, MacAlgorithm=algorithm)["Mac"]
    assert got == offline
    # The reverse: a MAC made offline verifies in kmsd.
    assert kms.verify_mac(KeyId=key_id, Message=b"other", MacAlgorithm=algorithm,
                          Mac=hmac.new(secret, b"other", digest).digest())["MacValid"] is True
    # HMAC material shorter than the digest is refused.
    other = external_key(kms, KeySpec=spec, KeyUsage="GENERATE_VERIFY_MAC")
    expect_error(import_material, "IncorrectKeyMaterialException",
                 f"The key material is not valid for a KMS key with key spec {spec}.",
                 kms=kms, key_id=other, material=os.urandom(digest().digest_size - 1))


def test_ecc_import_signs_with_the_imported_key(kms):
    key_id = external_key(kms, KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")
    private_key = ec.generate_private_key(ec.SECP256R1())
    pkcs8 = private_key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                                      serialization.NoEncryption())
    import_material(kms, key_id, pkcs8, algorithm="RSA_AES_KEY_WRAP_SHA_256")
    spki = private_key.public_key().public_bytes(serialization.Encoding.DER,
                                                 serialization.PublicFormat.SubjectPublicKeyInfo)
    assert kms.get_public_key(KeyId=key_id)["PublicKey"] == spki

    sig = kms.sign(KeyId=key_id, Message=b"signed by kmsd", SigningAlgorithm="ECDSA_SHA_256")["Signature"]
    private_key.public_key().verify(sig, b"signed by kmsd", ec.ECDSA(hashes.SHA256()))
    offline = private_key.sign(b"signed offline", ec.ECDSA(hashes.SHA256()))
    assert kms.verify(KeyId=key_id, Message=b"signed offline", Signature=offline,
                      SigningAlgorithm="ECDSA_SHA_256")["SignatureValid"] is True


def test_rsa_import_needs_rsa_aes_and_decrypts_offline_ciphertexts(kms):
    key_id = external_key(kms, KeySpec="RSA_2048", KeyUsage="ENCRYPT_DECRYPT")
    private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pkcs8 = private_key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                                      serialization.NoEncryption())
    # An RSA private key is longer than RSAES-OAEP can wrap: AWS requires RSA_AES_KEY_WRAP.
    expect_error(kms.get_parameters_for_import, "ValidationException",
                 "WrappingAlgorithm RSAES_OAEP_SHA_256 cannot wrap RSA_2048 key material. Use "
                 "RSA_AES_KEY_WRAP_SHA_1 or RSA_AES_KEY_WRAP_SHA_256.",
                 KeyId=key_id, WrappingAlgorithm="RSAES_OAEP_SHA_256", WrappingKeySpec="RSA_4096")
    import_material(kms, key_id, pkcs8, algorithm="RSA_AES_KEY_WRAP_SHA_256")
    # Encrypted offline with the imported key's public half, decrypted by kmsd, and the reverse.
    oaep = padding.OAEP(mgf=padding.MGF1(algorithm=hashes.SHA256()), algorithm=hashes.SHA256(), label=None)
    offline = private_key.public_key().encrypt(b"offline ciphertext", oaep)
    assert kms.decrypt(KeyId=key_id, CiphertextBlob=offline,
                       EncryptionAlgorithm="RSAES_OAEP_SHA_256")["Plaintext"] == b"offline ciphertext"
    blob = kms.encrypt(KeyId=key_id, Plaintext=b"kmsd ciphertext",
                       EncryptionAlgorithm="RSAES_OAEP_SHA_256")["CiphertextBlob"]
    assert private_key.decrypt(blob, oaep) == b"kmsd ciphertext"


def test_import_errors(kms, url):
    aws_key = kms.create_key()["KeyMetadata"]["KeyId"]
    expect_error(kms.get_parameters_for_import, "UnsupportedOperationException",
                 f"{key_arn(aws_key)} origin is AWS_KMS which is not valid for this operation.",
                 KeyId=aws_key, WrappingAlgorithm="RSAES_OAEP_SHA_256", WrappingKeySpec="RSA_2048")
    expect_error(kms.delete_imported_key_material, "UnsupportedOperationException",
                 f"{key_arn(aws_key)} origin is AWS_KMS which is not valid for this operation.",
                 KeyId=aws_key)
    expect_error(kms.get_parameters_for_import, "ValidationException",
                 KeyId=aws_key, WrappingAlgorithm="RSAES_OAEP_SHA_512", WrappingKeySpec="RSA_2048")

    key_id = external_key(kms)
    other_id = external_key(kms)
    params = kms.get_parameters_for_import(KeyId=key_id, WrappingAlgorithm="RSAES_OAEP_SHA_1",
                                           WrappingKeySpec="RSA_2048")
    other = kms.get_parameters_for_import(KeyId=other_id, WrappingAlgorithm="RSAES_OAEP_SHA_1",
                                          WrappingKeySpec="RSA_2048")
    good = wrap(params["PublicKey"], "RSAES_OAEP_SHA_1", os.urandom(32))
    # A token of another key, or none of kmsd's.
    for token in (other["ImportToken"], b"not a token"):
        expect_error(kms.import_key_material, "InvalidImportTokenException",
                     KeyId=key_id, ImportToken=token, EncryptedKeyMaterial=good, ExpirationModel=NO_EXPIRY)
    # Wrapped with the other hash, or under the other key's public key.
    for encrypted in (wrap(params["PublicKey"], "RSAES_OAEP_SHA_256", os.urandom(32)),
                      wrap(other["PublicKey"], "RSAES_OAEP_SHA_1", os.urandom(32))):
        r = call(url, "ImportKeyMaterial", {"KeyId": key_id, "ImportToken": b64(params["ImportToken"]),
                                            "EncryptedKeyMaterial": b64(encrypted),
                                            "ExpirationModel": NO_EXPIRY})
        assert_error(r, "InvalidCiphertextException", "")
    # A symmetric key takes exactly 32 bytes.
    expect_error(kms.import_key_material, "IncorrectKeyMaterialException",
                 "The key material is not valid for a KMS key with key spec SYMMETRIC_DEFAULT.",
                 KeyId=key_id, ImportToken=params["ImportToken"], ExpirationModel=NO_EXPIRY,
                 EncryptedKeyMaterial=wrap(params["PublicKey"], "RSAES_OAEP_SHA_1", os.urandom(16)))
    # ValidTo with DOES_NOT_EXPIRE, in the past, or more than 365 days ahead.
    now = datetime.datetime.now(datetime.timezone.utc)
    for model, valid_to in ((NO_EXPIRY, now + datetime.timedelta(days=1)),
                            ("KEY_MATERIAL_EXPIRES", now - datetime.timedelta(minutes=1)),
                            ("KEY_MATERIAL_EXPIRES", now + datetime.timedelta(days=366))):
        expect_error(kms.import_key_material, "ValidationException", KeyId=key_id,
                     ImportToken=params["ImportToken"], EncryptedKeyMaterial=good,
                     ExpirationModel=model, ValidTo=valid_to)
    assert kms.describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"] == "PendingImport"
    kms.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=7)
    expect_error(kms.import_key_material, "KMSInvalidStateException",
                 f"{key_arn(key_id)} is pending deletion.", KeyId=key_id,
                 ImportToken=params["ImportToken"], EncryptedKeyMaterial=good, ExpirationModel=NO_EXPIRY)


def test_expiring_material_reports_valid_to(kms):
    key_id = external_key(kms)
    valid_to = (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=30)).replace(microsecond=0)
    import_material(kms, key_id, os.urandom(32), ExpirationModel="KEY_MATERIAL_EXPIRES", ValidTo=valid_to)
    md = kms.describe_key(KeyId=key_id)["KeyMetadata"]
    assert md["ExpirationModel"] == "KEY_MATERIAL_EXPIRES"
    assert md["ValidTo"] == valid_to, md
    assert md["KeyState"] == "Enabled"


def test_new_key_material_waits_for_rotation(kms, url):
    key_id = external_key(kms)
    first = raw_import(url, key_id, os.urandom(32))
    assert first.status == 200, first.describe()
    first_id = first.json["KeyMaterialId"]
    second = raw_import(url, key_id, os.urandom(32), ImportType="NEW_KEY_MATERIAL",
                        KeyMaterialDescription="second")
    assert second.status == 200, second.describe()
    second_id = second.json["KeyMaterialId"]
    assert second_id != first_id
    # Still the first material until RotateKeyOnDemand promotes the second.
    assert call_ok(url, "DescribeKey", {"KeyId": key_id})["KeyMetadata"]["CurrentKeyMaterialId"] == first_id
    third = raw_import(url, key_id, os.urandom(32), ImportType="NEW_KEY_MATERIAL")
    assert_error(third, "KMSInvalidStateException")
    assert third.message.startswith("New key material (id: ") and third.message.endswith(
        f") cannot be imported into KMS key {key_id}, because another key material "
        f"(id: {second_id}) is pending rotation."), third.message
    # DeleteImportedKeyMaterial names a material by KeyMaterialId; the pending one goes alone.
    r = call_ok(url, "DeleteImportedKeyMaterial", {"KeyId": key_id, "KeyMaterialId": second_id})
    assert r == {"KeyId": key_arn(key_id), "KeyMaterialId": second_id}
    assert kms.describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"] == "Enabled"


def test_import_survives_restarts(fresh_server):
    srv = fresh_server()
    kms = srv.client()
    key_id = external_key(kms)
    mac_id = external_key(kms, KeySpec="HMAC_256", KeyUsage="GENERATE_VERIFY_MAC")
    params = kms.get_parameters_for_import(KeyId=key_id, WrappingAlgorithm="RSA_AES_KEY_WRAP_SHA_256",
                                           WrappingKeySpec="RSA_2048")
    material = os.urandom(32)
    encrypted = wrap(params["PublicKey"], "RSA_AES_KEY_WRAP_SHA_256", material)
    secret = os.urandom(32)
    valid_to = (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=90)).replace(microsecond=0)
    import_material(kms, mac_id, secret, ExpirationModel="KEY_MATERIAL_EXPIRES", ValidTo=valid_to)

    # Restart between GetParametersForImport and ImportKeyMaterial: the token is still good.
    assert srv.stop() == 0
    srv.start()
    kms = srv.client()
    kms.import_key_material(KeyId=key_id, ImportToken=params["ImportToken"],
                            EncryptedKeyMaterial=encrypted, ExpirationModel=NO_EXPIRY)
    blob = kms.encrypt(KeyId=key_id, Plaintext=b"before restart")["CiphertextBlob"]

    # Restart after the import (SIGKILL: nothing acknowledged may be lost).
    srv.kill9()
    srv.start()
    kms = srv.client()
    assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"before restart"
    md = kms.describe_key(KeyId=mac_id)["KeyMetadata"]
    assert (md["KeyState"], md["ExpirationModel"], md["ValidTo"]) == ("Enabled", "KEY_MATERIAL_EXPIRES", valid_to)
    assert kms.generate_mac(KeyId=mac_id, Message=b"m", MacAlgorithm="HMAC_SHA_256")["Mac"] == \
        hmac.new(secret, b"m", hashlib.sha256).digest()

    # Delete, restart, re-import the same material: the old blob decrypts again.
    kms.delete_imported_key_material(KeyId=key_id)
    assert srv.stop() == 0
    srv.start()
    kms = srv.client()
    assert kms.describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"] == "PendingImport"
    import_material(kms, key_id, material)
    assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"before restart"


def _encoded_context(context: dict[str, str]) -> bytes:
    """crypto/encryption_context.hpp's encoding: a count, then length-prefixed pairs in bytewise
    key order."""
    out = len(context).to_bytes(4, "big")
    for k in sorted(context, key=lambda s: s.encode()):
        for text in (k.encode(), context[k].encode()):
            out += len(text).to_bytes(4, "big") + text
    return out


def test_symmetric_blobs_open_offline_with_the_imported_material_and_the_reverse(kms):
    """kmsd's blob format (crypto/ciphertext_blob.hpp) is AES-256-GCM under the key material with
    the 53-byte header and the encoded context as AAD: with the material a user imported, a blob
    kmsd made opens offline, and a blob made offline opens in kmsd."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    key_id = external_key(kms)
    material = os.urandom(32)
    import_material(kms, key_id, material)
    context = {"purpose": "offline", "b": "2"}

    blob = kms.encrypt(KeyId=key_id, Plaintext=b"made by kmsd",
                       EncryptionContext=context)["CiphertextBlob"]
    assert blob[0] == 1 and blob[1:37].decode() == key_id
    header, nonce, sealed = blob[:53], blob[41:53], blob[53:]
    assert AESGCM(material).decrypt(nonce, sealed, header + _encoded_context(context)) == \
        b"made by kmsd"

    version = int.from_bytes(blob[37:41], "big")
    nonce = os.urandom(12)
    header = bytes([1]) + key_id.encode() + version.to_bytes(4, "big") + nonce
    offline = header + AESGCM(material).encrypt(nonce, b"made offline",
                                                header + _encoded_context(context))
    out = kms.decrypt(CiphertextBlob=offline, EncryptionContext=context)
    assert out["Plaintext"] == b"made offline"
    assert out["KeyId"] == key_arn(key_id)
