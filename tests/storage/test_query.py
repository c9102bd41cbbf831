"""Users' SQL: reads run, writes are refused before they run, errors carry DuckDB's words.

Two lines of defence, each tested on its own: DuckDB's sandbox switches on the query connection
(tried here with the statement check bypassed), and the statement check (tried without a store).
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from extractors.errors import UsageError
from storage import extensions
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
    with store.read(sandboxed=True) as con:
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
        ("EXPORT DATABASE '/tmp/out'", "EXPORT"),
        ("SET threads = 1", "SET"),
        ("RESET threads", "SET"),
        ("PRAGMA threads = 1", "SET"),
        ("CREATE TEMP TABLE t AS SELECT 1", "CREATE"),
        ("INSTALL fts", "LOAD"),
        ("LOAD fts", "LOAD"),
        ("CALL pragma_version()", "CALL"),
        ("CHECKPOINT", "CALL"),
        ("USE memory", "SET"),
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


@pytest.mark.parametrize(
    "sql",
    [
        "EXPLAIN ANALYZE COPY (SELECT 'x') TO '/tmp/out.csv'",
        "explain analyse copy (select 'x') to '/tmp/out.csv'",
        "EXPLAIN (ANALYZE) COPY (SELECT 'x') TO '/tmp/out.csv'",
        "/* first */ EXPLAIN ANALYZE COPY (SELECT 'x') TO '/tmp/out.csv'",
        "EXPLAIN ANALYZE CREATE TEMP TABLE t AS SELECT 1",
        "EXPLAIN ANALYZE INSERT INTO runs (run_id) VALUES ('x')",
        "EXPLAIN ANALYZE SET threads = 1",
        "EXPLAIN DELETE FROM documents",
    ],
)
def test_explain_is_refused_around_anything_but_a_select(sql):
    with pytest.raises(UsageError, match="EXPLAIN is accepted only of a SELECT"):
        check_read_only(sql)


@pytest.mark.parametrize(
    "sql",
    [
        "EXPLAIN ANALYZE SELECT count(*) FROM documents",
        "explain analyse from documents",
        "EXPLAIN (FORMAT json) SELECT 1",
        "EXPLAIN (ANALYZE) SELECT 1",
    ],
)
def test_explain_of_a_select_runs(store, sql):
    with store.read(sandboxed=True) as con:
        assert run_query(con, sql).rows


@pytest.fixture
def outside(tmp_path) -> dict[str, Path]:
    """Real files outside the store, each readable by DuckDB if nothing stopped it."""
    files = {"csv": tmp_path / "outside.csv", "parquet": tmp_path / "outside.parquet"}
    files["csv"].write_text("secret\nfrom outside\n", encoding="utf-8")
    with duckdb.connect() as con:
        con.execute(f"COPY (SELECT 'from outside' AS secret) TO '{files['parquet']}'")
    other = tmp_path / "other.duckdb"
    duckdb.connect(str(other)).close()
    files["duckdb"] = other
    return files


def _reads(files: dict[str, Path]) -> list[str]:
    csv, parquet = files["csv"], files["parquet"]
    return [
        f"SELECT * FROM read_csv('{csv}')",
        f"SELECT * FROM '{csv}'",
        f"SELECT * FROM read_text('{csv}')",
        f"SELECT * FROM read_blob('{csv}')",
        f"SELECT * FROM read_json('{csv}')",
        f"SELECT * FROM read_parquet('{parquet}')",
        f"SELECT * FROM glob('{csv.parent}/*')",
        f"SELECT * FROM sniff_csv('{csv}')",
    ]


def test_without_the_sandbox_these_reads_would_answer(store, outside):
    """The control: what the sandbox must stop does reach the files on a plain connection."""
    with store.read() as con:
        for sql in _reads(outside)[:1] + _reads(outside)[2:4] + _reads(outside)[5:7]:
            assert con.execute(sql).fetchall(), sql


@pytest.mark.parametrize("index", range(8))
def test_sandbox_refuses_reading_local_files(store, outside, index):
    sql = _reads(outside)[index]
    with store.read(sandboxed=True) as con, pytest.raises(duckdb.PermissionException):
        con.execute(sql).fetchall()


def _writes(tmp_path: Path, store_path: Path, other: Path) -> dict[str, str]:
    target = tmp_path / "written.csv"
    return {
        "copy to a file": f"COPY (SELECT 'x') TO '{target}'",
        "explain analyze copy": f"EXPLAIN ANALYZE COPY (SELECT 'x') TO '{target}'",
        "copy over the store": f"EXPLAIN ANALYZE COPY (SELECT 'x') TO '{store_path}'",
        "export database": f"EXPORT DATABASE '{tmp_path / 'exported'}'",
        "attach": f"ATTACH '{other}' AS other",
        "install": "INSTALL fts",
        "load by name": "LOAD fts",
        "load a file": f"LOAD '{extensions.extension_path('fts')}'",
        "create secret": "CREATE SECRET (TYPE s3)",
        "http": "SELECT * FROM read_csv('http://127.0.0.1:9/x.csv')",
    }


@pytest.mark.parametrize(
    "name",
    [
        "copy to a file",
        "explain analyze copy",
        "copy over the store",
        "export database",
        "attach",
        "install",
        "load by name",
        "load a file",
        "create secret",
        "http",
    ],
)
def test_sandbox_refuses_files_extensions_and_attach(store, outside, tmp_path, name):
    sql = _writes(tmp_path, store.path, outside["duckdb"])[name]
    size = store.path.stat().st_size
    with store.read(sandboxed=True) as con, pytest.raises(duckdb.PermissionException):
        con.execute(sql)
    assert not (tmp_path / "written.csv").exists()
    assert not (tmp_path / "exported").exists()
    assert store.path.stat().st_size == size
    with store.read() as con:
        assert con.execute("SELECT count(*) FROM schema_migrations").fetchone()[0] > 0


@pytest.mark.parametrize(
    "sql",
    [
        "SET threads = 1",
        "SET enable_external_access = true",
        "RESET enable_external_access",
        "SET lock_configuration = false",
        "PRAGMA threads = 1",
        "SET memory_limit = '1GB'",
    ],
)
def test_sandbox_refuses_changing_settings(store, sql):
    with store.read(sandboxed=True) as con:
        with pytest.raises(duckdb.InvalidInputException, match="configuration has been locked"):
            con.execute(sql)
        (access,) = con.execute("SELECT current_setting('enable_external_access')").fetchone()
    assert access is False


def test_sandbox_reads_no_environment_variable(store, monkeypatch):
    monkeypatch.setenv("SAHELWATCH_TEST_SECRET", "do-not-leak-7f3a")
    with store.read(sandboxed=True) as con:
        with pytest.raises(duckdb.Error):
            con.execute("SELECT getenv('SAHELWATCH_TEST_SECRET')")
        settings = con.execute("SELECT string_agg(value, ' ') FROM duckdb_settings()").fetchone()
    assert "do-not-leak-7f3a" not in settings[0]


def test_sandbox_still_reads_the_stores_views(store):
    with store.read(sandboxed=True) as con:
        for view in ("stories", "articles", "article_mentions", "source_health"):
            con.execute(f"SELECT count(*) FROM {view}").fetchone()


def test_sandbox_refusal_is_a_usage_error_that_says_why(store, outside):
    with store.read(sandboxed=True) as con, pytest.raises(UsageError) as error:
        run_query(con, f"SELECT * FROM read_csv('{outside['csv']}')")
    assert "reads only the store" in str(error.value)
    assert "\n" not in str(error.value)
