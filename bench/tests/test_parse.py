"""Parsing of wrk, openssl speed and /proc output (kmsdbench/parse.py), on real samples."""
from __future__ import annotations

import pytest

from kmsdbench import parse


def test_wrk_result_from_a_real_run(sample):
    r = parse.wrk_result(sample("wrk_gdkwp.txt"))
    assert r is not None
    assert r["requests"] > 0 and r["duration_us"] > 0
    assert r["rps"] == pytest.approx(r["requests"] / (r["duration_us"] / 1e6))
    assert r["socket_errors"] == 0 and r["errors_status"] == 0
    assert 0 < r["p50_us"] <= r["p90_us"] <= r["p99_us"] <= r["p999_us"]


def test_wrk_result_counts_non_2xx_and_socket_errors(sample):
    r = parse.wrk_result(sample("wrk_errors.txt"))
    assert r is not None
    assert r["errors_status"] > 0
    assert r["socket_errors"] == sum(r[k] for k in parse.SOCKET_ERRORS)


def test_wrk_result_is_none_without_the_result_line():
    assert parse.wrk_result("unable to connect to 127.0.0.1:1 Connection refused\n") is None


def test_wrk_result_of_zero_duration_has_zero_rps():
    line = ('KMSD_RESULT {"requests":0,"duration_us":0,"errors_connect":0,"errors_read":0,'
            '"errors_write":0,"errors_timeout":0,"errors_status":0}\n')
    assert parse.wrk_result(line)["rps"] == 0.0


def test_openssl_speed_ecdsa(sample):
    text = sample("openssl_speed_ecdsap256.txt")
    line = next(x for x in text.splitlines() if x.startswith("+F4:"))
    sign_per_s, verify_per_s = map(float, line.split(":")[3:5])
    assert parse.openssl_speed_us(text, "sign") == pytest.approx(1e6 / sign_per_s)
    assert parse.openssl_speed_us(text, "verify") == pytest.approx(1e6 / verify_per_s)


def test_openssl_speed_rsa(sample):
    text = sample("openssl_speed_rsa2048.txt")
    assert parse.openssl_speed_us(text, "sign") > parse.openssl_speed_us(text, "verify")


def test_openssl_speed_without_a_result_line():
    assert parse.openssl_speed_us("speed: Unknown algorithm\n", "sign") is None


def test_stat_cpu_ticks_with_spaces_and_parentheses_in_the_name(sample):
    # The sample's command name is "kmsd (x) y"; utime 25, stime 20 ticks.
    assert parse.stat_cpu_ticks(sample("proc_stat.txt")) == 45


def test_schedstat_wait(sample):
    text = sample("proc_schedstat.txt")
    assert parse.schedstat_wait_ns(text) == int(text.split()[1])


def test_status_fields(sample):
    text = sample("proc_status.txt")
    assert parse.status_kib(text, "VmRSS") > 0
    assert parse.status_kib(text, "VmHWM") >= parse.status_kib(text, "VmRSS")
    assert parse.status_kib(text, "NoSuchField") is None


def test_host_files(sample):
    assert parse.loadavg("1.08 1.21 1.31 2/345 6789\n") == "1.08 / 1.21 / 1.31"
    assert parse.loadavg(sample("proc_loadavg.txt")).count(" / ") == 2
    assert parse.cpu_model(sample("proc_cpuinfo.txt")) not in ("", "unknown")
    assert parse.cpu_model("processor : 0\n") == "unknown"
    assert parse.mem_total_mib("MemTotal:       24683520 kB\n") == 24105
