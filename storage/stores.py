"""Which store a command names: a DuckDB file (the default) or a DuckLake on PostgreSQL.

`--db`, else `SAHELWATCH_DB`, else `data/sahelwatch.duckdb`. A value starting with
`ducklake:postgres:` is a lake (storage/lake.py); anything else is the path of a DuckDB file.
"""

from __future__ import annotations

import os
from pathlib import Path

from storage.lake import LakeStore, is_lake_locator
from storage.store import DB_ENV_VAR, DEFAULT_DB_PATH, Store

AnyStore = Store | LakeStore


def resolve_locator(cli_value: str | os.PathLike[str] | None) -> str:
    """`--db` wins over `SAHELWATCH_DB`, which wins over the default file under `data/`."""
    if cli_value:
        return str(cli_value)
    return os.environ.get(DB_ENV_VAR) or str(DEFAULT_DB_PATH)


def store_at(cli_value: str | os.PathLike[str] | None) -> AnyStore:
    locator = resolve_locator(cli_value)
    return LakeStore.from_locator(locator) if is_lake_locator(locator) else Store(locator)


def local_folder(cli_value: str | os.PathLike[str] | None) -> Path:
    """Where files that belong with the store are kept: beside a DuckDB file, else `data/`."""
    locator = resolve_locator(cli_value)
    return Path("data") if is_lake_locator(locator) else Path(locator).parent
