"""Fixtures shared by the whole test suite."""

from __future__ import annotations

import signal
from collections.abc import Iterator

import pytest

from tests.support.http_server import HttpTestServer

# A suite started in the background by a non-interactive shell (`make test &` in a script) runs
# with SIGINT ignored, as POSIX has it for background jobs, and every command the tests start
# inherits that: the Ctrl-C tests then saw `sahelwatch ingest` run on and `serve` never stop. The
# tests that press Ctrl-C need it delivered, so the suite takes Python's own handler back.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

# The analyst fixture store (`analyst_store`), shared by storage, report and docs tests; the
# session's Prefect server (`prefect_api`), shared by tests/flows and tests/faults.
pytest_plugins = [
    "tests.support.analyst_fixture",
    "tests.support.prefect_fixtures",
    "tests.support.postgres_fixtures",
]


@pytest.fixture
def http_server() -> Iterator[HttpTestServer]:
    """A started HTTP server on 127.0.0.1 (its own free port); see tests/support/http_server.py."""
    with HttpTestServer() as server:
        yield server
