"""Users' SQL: reads run, writes are refused before they run, errors carry DuckDB's words."""

from __future__ import annotations

import pytest

from extractors.errors import UsageError
from storage.query import check_read_only, run_query


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT count(*) FROM documents",
        "FROM documents",
        "DESCRIBE documents",
        "SHOW TABLES",
        "SUMMARIZE runs",
        "EXPLAIN SELECT 1",
        "WITH x AS (SELECT 1 AS n) SELECT n FROM x",
    ],
)
def test_reading_statements_run(store, sql):
    with store.read() as con:
        result = run_query(con, sql)
    assert result.columns


@pytest.mark.parametrize(
    "sql,kind",
    [
        ("INSERT INTO runs (run_id) VALUES ('x')", "INSERT"),
        ("DELETE FROM documents", "DELETE"),
        ("UPDATE documents SET text = ''", "UPDATE"),
        ("DROP TABLE documents", "DROP"),
        ("CREATE TABLE t (x INT)", "CREATE"),
        ("COPY documents TO '/tmp/out.csv'", "COPY"),
        ("ATTACH '/tmp/other.duckdb'", "ATTACH"),
    ],
)
def test_writing_statements_are_refused_before_running(sql, kind):
    with pytest.raises(UsageError, match=f"only reads: {kind}"):
        check_read_only(sql)


def test_several_statements_are_refused():
    with pytest.raises(UsageError, match="exactly one SQL statement"):
        check_read_only("SELECT 1; SELECT 2")


def test_syntax_error_carries_duckdbs_message():
    with pytest.raises(UsageError, match='syntax error at or near "SELEC"'):
        check_read_only("SELEC 1")


def test_unknown_table_is_a_usage_error(store):
    with store.read() as con, pytest.raises(UsageError, match="nope"):
        run_query(con, "SELECT * FROM nope")
