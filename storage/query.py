"""Users' own SQL over the store: one statement, read-only, refused before it runs if it writes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import duckdb

from extractors.errors import UsageError

# SELECT covers DESCRIBE, SHOW, SUMMARIZE, PRAGMA show_* and FROM-first queries; EXPLAIN reads too.
_READ_ONLY_STATEMENTS = frozenset({duckdb.StatementType.SELECT, duckdb.StatementType.EXPLAIN})


@dataclass(frozen=True, slots=True)
class QueryResult:
    columns: tuple[str, ...]
    rows: list[tuple[Any, ...]]


def check_read_only(sql: str) -> None:
    """Refuse anything but a single reading statement, with DuckDB's own words for syntax errors."""
    try:
        statements = duckdb.extract_statements(sql)
    except duckdb.Error as exc:
        raise UsageError(str(exc).strip()) from exc
    if len(statements) != 1:
        raise UsageError(f"give exactly one SQL statement (got {len(statements)})")
    kind = statements[0].type
    if kind not in _READ_ONLY_STATEMENTS:
        name = kind.name.replace("_", " ")
        raise UsageError(
            f"'sahelwatch query' only reads: {name} statements are refused. "
            "Use SELECT (or DESCRIBE, SHOW, SUMMARIZE, EXPLAIN)."
        )


def run_query(con: duckdb.DuckDBPyConnection, sql: str) -> QueryResult:
    check_read_only(sql)
    try:
        cursor = con.execute(sql)
        rows = cursor.fetchall()
    except duckdb.Error as exc:
        raise UsageError(str(exc).strip()) from exc
    columns = tuple(d[0] for d in cursor.description or ())
    return QueryResult(columns, rows)
