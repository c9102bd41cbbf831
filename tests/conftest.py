"""Fixtures shared by the whole test suite."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.http_server import HttpTestServer

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
