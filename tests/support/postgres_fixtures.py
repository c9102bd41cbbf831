"""The session's real PostgreSQL server, for lakes' catalogs (a plugin, like prefect_fixtures)."""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from storage.lake import LAKE_PREFIX, LakeStore
from tests.support.postgres_server import PostgresServer, find_bindir

_databases = itertools.count(1)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One temporary PostgreSQL for the session (initdb and start take a few seconds).

    Without PostgreSQL installed the lake tests are skipped, with the command that installs it,
    except under CI=true, where .ci/run installs it and they must run."""
    try:
        find_bindir()
    except RuntimeError as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{exc}; .ci/run installs Debian's postgresql package")
        pytest.skip(str(exc))
    server = PostgresServer().start()
    try:
        yield server
    finally:
        server.stop()


def new_lake_locator(server: PostgresServer, data_path: Path) -> str:
    """The locator of a new, empty lake: its own catalog database and data folder."""
    conninfo = server.create_database(f"lake_{next(_databases)}")
    return f"{LAKE_PREFIX}{conninfo}?data_path={data_path}/"


@pytest.fixture
def lake_locator(postgres_server, tmp_path) -> str:
    return new_lake_locator(postgres_server, tmp_path / "lake-data")


@pytest.fixture
def lake_store(lake_locator) -> Iterator[LakeStore]:
    """A real, migrated lake: a PostgreSQL catalog and Parquet files in a temporary folder."""
    store = LakeStore.from_locator(lake_locator)
    store.migrate()
    try:
        yield store
    finally:
        store.close()
