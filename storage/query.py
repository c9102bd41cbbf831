"""Users' own SQL over the store: one reading statement, run on a sandboxed read-only connection.

Two lines of defence. The first is DuckDB's own: the connection is read-only and opened with
`storage.store.SANDBOX_CONFIG` (no files, no network, no extensions, settings locked), so even a
statement that got past the check below cannot write, read a local file or change a setting. The
second is this module: only one SELECT-like statement is accepted, and EXPLAIN only of a SELECT,
because `EXPLAIN ANALYZE` executes the statement it explains.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import duckdb

from extractors.errors import UsageError
from storage.store import first_line

# SELECT covers DESCRIBE, SHOW, SUMMARIZE, PRAGMA show_* and FROM-first queries; EXPLAIN reads too,
# when what it explains is one of these.
_READ_ONLY_STATEMENTS = frozenset({duckdb.StatementType.SELECT, duckdb.StatementType.EXPLAIN})
# `EXPLAIN [ANALYZE | (options)] inner`: the inner statement is checked on its own. Anything this
# does not recognise (a comment between the words, say) leaves an inner text that is not a SELECT,
# so it is refused rather than guessed at.
_EXPLAIN_PREFIX = re.compile(r"^\s*EXPLAIN\s+(?:ANALY[SZ]E\s+|\([^()]*\)\s*)?", re.IGNORECASE)
_HINT = "Use SELECT (or DESCRIBE, SHOW, SUMMARIZE, EXPLAIN of a SELECT)."
_SANDBOX_HINT = "'sahelwatch query' reads only the store: no files, URLs, extensions or settings"


@dataclass(frozen=True, slots=True)
class QueryResult:
    columns: tuple[str, ...]
    rows: list[tuple[Any, ...]]


def check_read_only(sql: str) -> None:
    """Refuse anything but a single reading statement, with DuckDB's own words for syntax errors."""
    statement = _one_statement(sql)
    if statement.type not in _READ_ONLY_STATEMENTS:
        name = _name(statement.type)
        raise UsageError(f"'sahelwatch query' only reads: {name} statements are refused. {_HINT}")
    if statement.type == duckdb.StatementType.EXPLAIN:
        _check_explained(sql)


def _one_statement(sql: str) -> duckdb.Statement:
    try:
        statements = duckdb.extract_statements(sql)
    except duckdb.Error as exc:
        raise UsageError(str(exc).strip()) from exc
    if len(statements) != 1:
        raise UsageError(f"give exactly one SQL statement (got {len(statements)})")
    return statements[0]


def _check_explained(sql: str) -> None:
    """EXPLAIN ANALYZE runs what it explains: accept it only around a SELECT."""
    inner = _EXPLAIN_PREFIX.sub("", sql, count=1)
    try:
        statements = duckdb.extract_statements(inner)
    except duckdb.Error:
        statements = []
    if len(statements) != 1 or statements[0].type != duckdb.StatementType.SELECT:
        raise UsageError(
            f"'sahelwatch query' only reads: EXPLAIN is accepted only of a SELECT. {_HINT}"
        )


def _name(kind: duckdb.StatementType) -> str:
    return kind.name.replace("_", " ")


def run_query(con: duckdb.DuckDBPyConnection, sql: str) -> QueryResult:
    """Check, then run on `con` (opened with `sandboxed=True`); errors are the user's (exit 2)."""
    check_read_only(sql)
    try:
        cursor = con.execute(sql)
        rows = cursor.fetchall()
    except duckdb.PermissionException as exc:
        raise UsageError(f"{first_line(exc)} ({_SANDBOX_HINT})") from exc
    except duckdb.Error as exc:
        raise UsageError(str(exc).strip()) from exc
    columns = tuple(d[0] for d in cursor.description or ())
    return QueryResult(columns, rows)
