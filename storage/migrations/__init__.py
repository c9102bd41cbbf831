"""Forward-only schema migrations, one numbered SQL file each (`0001_core.sql`, ...).

A store records the versions it has in `schema_migrations`. Opening an older store applies the
missing files in order, inside the caller's transaction; opening a store written by a newer
sahelwatch (a version this code does not know) is refused rather than guessed at.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import duckdb

from extractors.errors import SchemaTooNewError, StoreError

MIGRATIONS_DIR = Path(__file__).parent
_FILE_NAME = re.compile(r"^(?P<version>\d{4})_(?P<name>[a-z0-9_]+)\.sql$")

_BOOKKEEPING = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER NOT NULL,
    name VARCHAR NOT NULL,
    applied_at TIMESTAMPTZ NOT NULL DEFAULT current_timestamp
)
"""


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    sql: str


@cache
def available() -> tuple[Migration, ...]:
    found = []
    for path in sorted(MIGRATIONS_DIR.glob("*.sql")):
        match = _FILE_NAME.match(path.name)
        if match is None:
            raise StoreError(f"migration file {path} is not named NNNN_name.sql")
        found.append(Migration(int(match["version"]), match["name"], path.read_text("utf-8")))
    return tuple(found)


def latest_version() -> int:
    return available()[-1].version if available() else 0


def current_version(con: duckdb.DuckDBPyConnection) -> int:
    con.execute(_BOOKKEEPING)
    (version,) = con.execute("SELECT coalesce(max(version), 0) FROM schema_migrations").fetchone()
    return int(version)


def migrate(con: duckdb.DuckDBPyConnection, where: str, *, upto: int | None = None) -> list[int]:
    """Apply every known migration newer than the store's version (up to `upto`, for tests)."""
    have = current_version(con)
    if have > latest_version():
        raise SchemaTooNewError(
            f"the store {where} has schema version {have}, newer than this sahelwatch knows "
            f"({latest_version()}); upgrade sahelwatch, or point --db at another store"
        )
    applied = []
    for migration in available():
        if migration.version <= have or (upto is not None and migration.version > upto):
            continue
        try:
            con.execute(migration.sql)
        except duckdb.Error as exc:
            raise StoreError(
                f"migration {migration.version} ({migration.name}) failed: {exc}"
            ) from exc
        con.execute(
            "INSERT INTO schema_migrations (version, name) VALUES (?, ?)",
            [migration.version, migration.name],
        )
        applied.append(migration.version)
    return applied
