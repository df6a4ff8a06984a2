"""Unit tests of the benchmark package (bench/kmsdbench/): statistics, parsing, floors and
the report format. Fast and offline: no kmsd, no wrk; samples of real output live in data/.

Run: /usr/bin/python3 -m pytest -q -p no:cacheprovider bench/tests   (scripts/test.sh does)
"""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1]
if str(BENCH) not in sys.path:
    sys.path.insert(0, str(BENCH))

DATA = Path(__file__).resolve().parent / "data"


@pytest.fixture
def sample():
    """sample(name) -> the text of bench/tests/data/<name>."""
    return lambda name: (DATA / name).read_text()
