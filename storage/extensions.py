"""DuckDB extensions from their PyPI packages: nothing is ever downloaded here.

Each `duckdb-extension-<name>` wheel ships the extension file built for one duckdb version; it is
loaded by path (`LOAD '<file>'`), so a machine without internet access runs the same as any other.
"""

from __future__ import annotations

import importlib
from functools import cache
from pathlib import Path

import duckdb

from extractors.errors import StoreError

# extension name -> (import name of its package, pip name of its package)
PACKAGES = {
    "fts": ("duckdb_extension_fts", "duckdb-extension-fts"),
    "ducklake": ("duckdb_extension_ducklake", "duckdb-extension-ducklake"),
    "postgres_scanner": ("duckdb_extension_postgres_scanner", "duckdb-extension-postgres-scanner"),
}


@cache
def extension_path(name: str) -> Path:
    """The extension file shipped in its package for this duckdb (any version's as a fallback)."""
    module_name, pip_name = PACKAGES[name]
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise StoreError(f"the {pip_name} package is missing: run 'make install'") from exc
    root = Path(module.__file__).parent
    found = sorted(root.glob(f"extensions/v{duckdb.__version__}/{name}.duckdb_extension"))
    found = found or sorted(root.glob(f"extensions/*/{name}.duckdb_extension"))
    if not found:
        raise StoreError(f"no {name}.duckdb_extension under {root}: reinstall {pip_name}")
    return found[0]


def load(con: duckdb.DuckDBPyConnection, name: str) -> None:
    """Load one extension from its file into the connection's database."""
    path = str(extension_path(name)).replace("'", "''")
    try:
        con.execute(f"LOAD '{path}'")
    except duckdb.Error as exc:
        raise StoreError(f"cannot load the {name} extension {path}: {exc}") from exc
