"""Runs tests/e2e/node/envelope.mjs (AWS SDK for JavaScript v3) against the fixture server."""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

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
