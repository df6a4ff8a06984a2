"""The floors table (kmsdbench/floors.py) and the checks recorded against it."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from kmsdbench.context import Results
from kmsdbench.floors import FLOORS, OPS, QUICK_RPS_FACTOR, QUICK_STARTUP_FACTOR, compare
from kmsdbench.scenarios import ALL_SCENARIOS

README = Path(__file__).resolve().parents[1] / "README.md"


def test_every_row_is_complete():
    for name, floor in FLOORS.items():
        assert floor.name == name
        assert floor.op in OPS, name
        assert floor.unit and floor.note and floor.scenario, name
        assert floor.value > 0, name


def test_every_scenario_named_is_one_of_the_suite():
    for floor in FLOORS.values():
        for scenario in floor.scenario.replace("(also with", ",").rstrip(")").split(","):
            assert scenario.strip() in ALL_SCENARIOS, (floor.name, scenario)


def test_the_issue_figures():
    assert FLOORS["hot_rps"].value == 60000
    assert FLOORS["hot_cpu_us"].value == 16.0
    assert (FLOORS["hot_p99_us"].value, FLOORS["hot_p99_us"].op) == (1000, "<")
    assert FLOORS["startup_empty_ms"].value == 10.0
    assert FLOORS["startup_keys_ms"].value == 250.0
    assert FLOORS["rss_idle_mib"].value == 10.0
    assert FLOORS["createkey_rps"].value == 5000
    assert FLOORS["moto_ratio"].value == 100.0


def test_readme_states_the_same_hot_path_floors():
    text = README.read_text()
    assert re.search(r"each ≥ 60,000 req/s, ≤ 16 µs server CPU/request, p99 < 1 ms, ≥ 100× moto",
                     text)
    assert "≤ 10 ms; idle RSS ≤ 10 MiB" in text
    assert "≥ 5,000 keys/s" in text


@pytest.mark.parametrize("value,op,floor,ok", [
    (60000, ">=", 60000, True), (59999.9, ">=", 60000, False),
    (16.0, "<=", 16.0, True), (16.01, "<=", 16.0, False),
    (999, "<", 1000, True), (1000, "<", 1000, False),
    (None, ">=", 1, False), (None, "<=", 1, False),
])
def test_compare(value, op, floor, ok):
    assert compare(value, op, floor) is ok


def test_compare_rejects_an_unknown_operator():
    with pytest.raises(ValueError):
        compare(1, "==", 1)


def test_quick_mode_scales_req_s_down_and_startup_up():
    assert FLOORS["hot_rps"].scaled(QUICK_RPS_FACTOR).value == 30000
    assert FLOORS["startup_empty_ms"].scaled(QUICK_STARTUP_FACTOR).value == 20.0
    assert FLOORS["hot_rps"].value == 60000  # scaled() leaves the table alone


def test_results_check_records_value_floor_and_verdict():
    res = Results()
    assert res.check("gdkwp req/s", 61000.0, FLOORS["hot_rps"])
    assert not res.check("gdkwp p99 latency", 1000.0, FLOORS["hot_p99_us"])
    assert res.check("sign-p256 server CPU per request", 30.0, FLOORS["sign_extra_us"],
                     limit=34.0)
    assert res.checks == [
        dict(name="gdkwp req/s", value=61000.0, op=">=", floor=60000, unit="req/s", ok=True),
        dict(name="gdkwp p99 latency", value=1000.0, op="<", floor=1000, unit="µs", ok=False),
        dict(name="sign-p256 server CPU per request", value=30.0, op="<=", floor=34.0,
             unit="µs", ok=True),
    ]


def test_the_rotated_decrypt_floor_is_a_same_run_ratio():
    floor = FLOORS["rotated_decrypt_ratio"]
    assert (floor.scenario, floor.op, floor.unit, floor.value) == ("decrypt-rotated", ">=", "×", 0.9)
    assert floor.scaled(QUICK_RPS_FACTOR).value == 0.45
