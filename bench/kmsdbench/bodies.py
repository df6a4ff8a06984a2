"""Request bodies per benchmarked operation, prepared through a live server before a run."""
from __future__ import annotations

import base64
import json
import os
from typing import TYPE_CHECKING

from kmsdbench.client import Client

if TYPE_CHECKING:
    from kmsdbench.context import Context

HOT_OPS = ["gdkwp", "gdk", "encrypt", "decrypt"]

TARGET = {
    "gdkwp": "GenerateDataKeyWithoutPlaintext",
    "gdk": "GenerateDataKey",
    "encrypt": "Encrypt",
    "decrypt": "Decrypt",
    "decrypt-rotated": "Decrypt",
    "reencrypt": "ReEncrypt",
    "describekey": "DescribeKey",
    "createkey": "CreateKey",
    "sign-p256": "Sign",
    "verify-p256": "Verify",
    "sign-rsa2048": "Sign",
    "verify-rsa2048": "Verify",
    "generatemac": "GenerateMac",
}
KEY_SPECS = {
    "sym": {},
    "p256": {"KeySpec": "ECC_NIST_P256", "KeyUsage": "SIGN_VERIFY"},
    "rsa2048": {"KeySpec": "RSA_2048", "KeyUsage": "SIGN_VERIFY"},
    "hmac": {"KeySpec": "HMAC_256", "KeyUsage": "GENERATE_VERIFY_MAC"},
}
SIGN_ALG = {"p256": "ECDSA_SHA_256", "rsa2048": "RSASSA_PKCS1_V1_5_SHA_256"}
# Envelope encryption as applications do it: every hot request binds a context.
CONTEXT = {"purpose": "kmsd-bench", "tenant": "tenant-0001"}
MESSAGE = b"kmsd benchmark message, 32 bytes"


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def create_key(client: Client, kind: str) -> str:
    return client.ok("CreateKey", dict(KEY_SPECS[kind]))["KeyMetadata"]["KeyId"]


def encrypt(client: Client, key: str, context: dict | None) -> str:
    """The CiphertextBlob (base64) of 32 random bytes sealed under `key` with `context`."""
    body = {"KeyId": key, "Plaintext": b64(os.urandom(32))}
    if context is not None:
        body["EncryptionContext"] = context
    return client.ok("Encrypt", body)["CiphertextBlob"]


def _signing_body(client: Client, op: str) -> dict:
    kind = op.split("-", 1)[1]
    key = create_key(client, kind)
    body = {"KeyId": key, "Message": b64(MESSAGE), "MessageType": "RAW",
            "SigningAlgorithm": SIGN_ALG[kind]}
    if op.startswith("verify-"):
        body["Signature"] = client.ok("Sign", body)["Signature"]
    return body


def bodies_for(client: Client | None, op: str, keys: list[str]) -> list[dict]:
    """Request bodies for `op`, one per key in `keys` (symmetric key ids) or, for the
    asymmetric/HMAC ops, with a key of the right spec created here. Raises
    NotImplementedYet when the server answers UnsupportedOperationException."""
    if op in ("gdkwp", "gdk"):
        return [{"KeyId": k, "KeySpec": "AES_256", "EncryptionContext": CONTEXT} for k in keys]
    if op == "encrypt":
        return [{"KeyId": k, "Plaintext": b64(os.urandom(32)), "EncryptionContext": CONTEXT}
                for k in keys]
    if op == "decrypt":
        return [{"CiphertextBlob": encrypt(client, k, CONTEXT), "EncryptionContext": CONTEXT}
                for k in keys]
    if op == "reencrypt":
        dest = create_key(client, "sym")
        return [{"CiphertextBlob": encrypt(client, k, None), "DestinationKeyId": dest}
                for k in keys]
    if op == "describekey":
        return [{"KeyId": k} for k in keys]
    if op == "createkey":
        return [{}]
    if op.startswith(("sign-", "verify-")):
        return [_signing_body(client, op)]
    if op == "generatemac":
        key = create_key(client, "hmac")
        return [{"KeyId": key, "Message": b64(MESSAGE), "MacAlgorithm": "HMAC_SHA_256"}]
    raise ValueError(op)


def write_bodies(ctx: "Context", client: Client | None, op: str, bodies: list[dict],
                 name: str) -> str:
    """Writes one JSON body per line to WORK/<name>.bodies (kms.lua's KMSD_BODIES); returns
    the path. Every body (up to 64) is sent once first: a body the server refuses is a setup
    error, not a load result. (CreateKey is skipped: it would only add keys; client None: not
    sent.)"""
    for body in bodies[:64]:
        if client is not None and op != "createkey":
            client.ok(TARGET[op], body)
    path = os.path.join(ctx.work, name + ".bodies")
    with open(path, "w") as f:
        for body in bodies:
            f.write(json.dumps(body, separators=(",", ":")) + "\n")
    return path
