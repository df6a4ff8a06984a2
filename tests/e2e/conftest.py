"""Fixtures for the kmsd end-to-end suite.

Run:  /usr/bin/python3 -m pytest tests/e2e        (KMSD_BIN overrides build/server/kmsd)

* kmsd_session: one server for the whole session (data dir under pytest's tmp dir); its
  teardown is a SIGTERM that must exit 0.
* server: that server after POST /_kmsd/reset, so every test starts from empty state.
* fresh_server: a server of the test's own on tmp_path (restart and process tests).
* kms / kms_eu: boto3 clients (us-east-1 / eu-west-2) for `server`, retries disabled.
* no_internal_detail_in_errors (session, automatic): at the end of the session, every error
  message the suite's clients received is scanned for internal detail (issue #17).
"""
from __future__ import annotations

import pytest

from e2e_support import (KMSD_BIN, OTHER_REGION, RECEIVED_ERRORS, REGION, KmsdServer,
                         internal_detail, make_client, raw)

__all__ = ["raw"]  # re-exported: the brief's helper lives in e2e_support


@pytest.fixture(scope="session")
def kmsd_session(tmp_path_factory):
    base = tmp_path_factory.mktemp("kmsd-session")
    srv = KmsdServer(base / "data", base / "kmsd.log")
    (base / "data").mkdir(mode=0o700)
    srv.start()
    yield srv
    # A graceful stop at the end of the session is itself a check: SIGTERM -> exit 0.
    srv.stop()


@pytest.fixture
def server(kmsd_session):
    if not kmsd_session.running():
        # An earlier test crashed it (that test has failed already); go on with a new process
        # on the same data dir so one crash does not turn the rest of the run into errors.
        kmsd_session.cleanup()
        kmsd_session.start()
    kmsd_session.reset()
    return kmsd_session


@pytest.fixture
def fresh_server(tmp_path):
    """Factory: fresh_server(extra_args=[...], env={...}, data_dir=..., start=True, port_arg="0")
    -> KmsdServer (started unless start=False; data_dir=None passes no --data-dir)."""
    started: list[KmsdServer] = []

    def make(extra_args=None, env=None, data_dir="default", start=True, port_arg="0") -> KmsdServer:
        if data_dir == "default":
            data_dir = tmp_path / f"data{len(started)}"
            data_dir.mkdir(mode=0o700)
        srv = KmsdServer(data_dir, tmp_path / f"kmsd{len(started)}.log", extra_args, env, port_arg)
        started.append(srv)
        if start:
            srv.start()
        return srv

    yield make
    for srv in started:
        srv.cleanup()


@pytest.fixture
def kms(server):
    return make_client(server.url, REGION)


@pytest.fixture
def kms_eu(server):
    return make_client(server.url, OTHER_REGION)


@pytest.fixture
def url(server) -> str:
    return server.url


def pytest_report_header(config):
    return [f"kmsd binary: {KMSD_BIN}"]


@pytest.fixture(scope="session", autouse=True)
def no_internal_detail_in_errors():
    yield
    leaks = [(where, error_type, message, internal_detail(message))
             for where, error_type, message in RECEIVED_ERRORS if internal_detail(message)]
    assert not leaks, "error messages that reveal internal detail:\n" + "\n".join(
        f"  {where}: {error_type}: {message!r} ({', '.join(why)})"
        for where, error_type, message, why in leaks[:20])


def pytest_terminal_summary(terminalreporter):
    kinds = len({t for _, t, _ in RECEIVED_ERRORS})
    terminalreporter.write_line(
        f"error messages scanned for internal detail: {len(RECEIVED_ERRORS)} ({kinds} types)")
