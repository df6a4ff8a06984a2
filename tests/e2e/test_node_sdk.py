"""Runs tests/e2e/node/envelope.mjs (AWS SDK for JavaScript v3) against the fixture server."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from e2e_support import record_error

NODE_DIR = Path(__file__).resolve().parent / "node"


def test_node_sdk_envelope(server):
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is not installed (apt-get install nodejs npm)")
    if not (NODE_DIR / "node_modules" / "@aws-sdk" / "client-kms").is_dir():
        pytest.fail(f"{NODE_DIR}/node_modules is missing: run `npm ci` in {NODE_DIR} "
                    "(the setup script does this)")
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    proc = subprocess.run([node, "envelope.mjs", server.url], cwd=NODE_DIR, capture_output=True,
                          text=True, timeout=60, stdin=subprocess.DEVNULL, env=env)
    assert proc.returncode == 0, (f"node envelope.mjs exited {proc.returncode}\nstdout:\n"
                                  f"{proc.stdout}\nstderr:\n{proc.stderr}")
    assert "node envelope: OK" in proc.stdout, proc.stdout
    errors = [json.loads(line.split("node envelope: error ", 1)[1])
              for line in proc.stdout.splitlines() if line.startswith("node envelope: error ")]
    assert [e["name"] for e in errors] == ["InvalidCiphertextException"], proc.stdout
    for e in errors:
        record_error("JS SDK", e["name"], e["message"])
