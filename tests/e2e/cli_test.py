"""Smoke test with Debian's AWS CLI v2 (/usr/bin/aws) against the fixture server: the envelope
flow a shell script would run, plus aliases."""
from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from e2e_support import record_error

AWS_CLI = os.environ.get("KMSD_AWS_CLI", "/usr/bin/aws")


@pytest.fixture
def aws(server, tmp_path):
    if not Path(AWS_CLI).exists() and not shutil.which(AWS_CLI):
        pytest.fail(f"AWS CLI not found at {AWS_CLI} (apt-get install awscli, or set KMSD_AWS_CLI)")
    config = tmp_path / "aws-config"
    creds = tmp_path / "aws-credentials"
    config.write_text("")
    creds.write_text("")
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("AWS_") and k not in ("KMS_REGION",)}
    env.update({
        "AWS_ACCESS_KEY_ID": "AKIDTEST",
        "AWS_SECRET_ACCESS_KEY": "secret",
        "AWS_CONFIG_FILE": str(config),
        "AWS_SHARED_CREDENTIALS_FILE": str(creds),
        "AWS_PAGER": "",
        "AWS_DEFAULT_OUTPUT": "json",
        "AWS_MAX_ATTEMPTS": "1",
        "AWS_EC2_METADATA_DISABLED": "true",
    })

    def run(*args: str, check: bool = True) -> subprocess.CompletedProcess:
        cmd = [AWS_CLI, "--endpoint-url", server.url, "--region", "us-east-1", "kms", *args]
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=60,
                              stdin=subprocess.DEVNULL, cwd=tmp_path)
        if proc.returncode != 0:
            # "An error occurred (Code) when calling the Op operation: message"
            m = re.search(r"An error occurred \((\w+)\) when calling the \w+ operation: ?(.*)",
                          proc.stderr)
            record_error("AWS CLI", m.group(1) if m else "", m.group(2) if m else proc.stderr)
        if check:
            assert proc.returncode == 0, (
                f"`aws kms {' '.join(args)}` exited {proc.returncode}:\n{proc.stderr}")
        return proc

    return run


def test_cli_envelope_flow_and_aliases(aws, tmp_path):
    # Each CLI start costs about a second, so this is one test with six invocations.
    created = json.loads(aws("create-key", "--description", "cli key").stdout)
    md = created["KeyMetadata"]
    key_id, arn = md["KeyId"], md["Arn"]
    assert arn == f"arn:aws:kms:us-east-1:111122223333:key/{key_id}", arn
    assert md["KeyState"] == "Enabled" and md["Description"] == "cli key", md

    gen = json.loads(aws("generate-data-key-without-plaintext", "--key-id", key_id,
                         "--key-spec", "AES_256", "--encryption-context", "purpose=test").stdout)
    assert "Plaintext" not in gen and gen["KeyId"] == arn, gen
    blob_file = tmp_path / "datakey.bin"
    blob_file.write_bytes(base64.b64decode(gen["CiphertextBlob"]))

    dec = json.loads(aws("decrypt", "--ciphertext-blob", f"fileb://{blob_file}",
                         "--encryption-context", "purpose=test").stdout)
    assert dec["KeyId"] == arn, dec
    assert len(base64.b64decode(dec["Plaintext"])) == 32, dec

    bad = aws("decrypt", "--ciphertext-blob", f"fileb://{blob_file}", "--encryption-context",
              "purpose=prod", check=False)
    assert bad.returncode != 0, f"decrypt with the wrong context succeeded: {bad.stdout}"
    assert "InvalidCiphertextException" in bad.stderr, f"stderr: {bad.stderr}"

    assert aws("create-alias", "--alias-name", "alias/cli-test", "--target-key-id", key_id).stdout == ""
    aliases = json.loads(aws("list-aliases").stdout)["Aliases"]
    mine = [a for a in aliases if a["AliasName"] == "alias/cli-test"]
    assert mine and mine[0]["TargetKeyId"] == key_id, aliases
    assert mine[0]["AliasArn"] == "arn:aws:kms:us-east-1:111122223333:alias/cli-test", mine
