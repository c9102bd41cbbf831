"""Fixtures of the fault suite; the session's Prefect server comes from tests/support."""

from __future__ import annotations

import os

import pytest

# Kill points per flow: a seeded subset in `make test`, the full set in `make faults`.
FAULT_POINTS_ENV_VAR = "SAHELWATCH_FAULT_POINTS"
DEFAULT_FAULT_POINTS = 1  # CI's time: one kill per flow, its point drawn by the seed
# The seed every kill point and random choice of the suite derives from: printed in each test id,
# so a failure is replayed by running that one test again with the same seed.
FAULT_SEED_ENV_VAR = "SAHELWATCH_FAULT_SEED"
DEFAULT_FAULT_SEED = 2025


def fault_points() -> int:
    return int(os.environ.get(FAULT_POINTS_ENV_VAR, DEFAULT_FAULT_POINTS))


def fault_seed() -> int:
    return int(os.environ.get(FAULT_SEED_ENV_VAR, DEFAULT_FAULT_SEED))


@pytest.fixture(scope="module")
def api_env(prefect_api) -> dict[str, str]:
    """A child command's environment: it reports to the session's Prefect server (no start)."""
    return {**os.environ, "PREFECT_API_URL": prefect_api, "PREFECT_LOGGING_LEVEL": "WARNING"}
