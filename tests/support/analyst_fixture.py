"""A pytest fixture: the analyst fixture store, built once per test module."""

from __future__ import annotations

import pytest

from storage.store import Store
from tests.support.analyst_store import build_store


@pytest.fixture(scope="module")
def analyst_store(tmp_path_factory) -> Store:
    return build_store(tmp_path_factory.mktemp("analyst") / "analyst.duckdb")
