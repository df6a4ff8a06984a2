"""Where things are: the repository, bench/, the wrk script, RESULTS.md, the default kmsd."""
from __future__ import annotations

import os

BENCH_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ROOT = os.path.dirname(BENCH_DIR)
LUA = os.path.join(BENCH_DIR, "wrk", "kms.lua")
RESULTS_MD = os.path.join(BENCH_DIR, "RESULTS.md")
DEFAULT_KMSD = os.path.join(ROOT, "build", "release", "server", "kmsd")
SUPPORT_DIR = os.path.join(ROOT, "tests", "support")  # kmsd_process.py, the shared launcher
