from __future__ import annotations

import pytest

from storage.store import Store


@pytest.fixture
def store(tmp_path) -> Store:
    """A real, migrated DuckDB store in a temporary folder."""
    store = Store(tmp_path / "store.duckdb")
    store.migrate()
    return store
