from __future__ import annotations

import pytest

from storage.store import Store

# A test module sets STORE_BACKENDS = ("duckdb", "ducklake") to run each of its tests on both
# stores: the same SQL must behave the same on a DuckDB file and on a DuckLake.
DEFAULT_BACKENDS = ("duckdb",)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "store" in metafunc.fixturenames:
        backends = getattr(metafunc.module, "STORE_BACKENDS", DEFAULT_BACKENDS)
        metafunc.parametrize("store", backends, indirect=True)


@pytest.fixture
def store(request, tmp_path):
    """A real, migrated store in a temporary folder: a DuckDB file, or a lake on PostgreSQL."""
    if request.param == "ducklake":
        return request.getfixturevalue("lake_store")
    store = Store(tmp_path / "store.duckdb")
    store.migrate()
    return store
