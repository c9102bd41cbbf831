from __future__ import annotations

import os

import pytest


@pytest.fixture(scope="session")
def prefect_api():
    """One temporary Prefect API for the whole session: starting it costs about ten seconds."""
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("DO_NOT_TRACK", "1")
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=60):
        yield
