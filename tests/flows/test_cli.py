"""The command line as a user meets it: exit codes, messages, no tracebacks for user errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from flows.cli import main

REPO = Path(__file__).resolve().parents[2]


def sahelwatch(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    """The installed console command, in a child process, exactly as a user types it."""
    exe = Path(sys.executable).with_name("sahelwatch")
    return subprocess.run(
        [str(exe), *args], capture_output=True, text=True, cwd=REPO, env=env, timeout=120
    )


def test_init_twice_then_query_counts_the_two_seeds(tmp_path):
    db = str(tmp_path / "x.duckdb")
    assert sahelwatch("init", "--db", db).returncode == 0
    assert sahelwatch("init", "--db", db).returncode == 0
    result = sahelwatch("query", "--db", db, "select count(*) from documents where origin='seed'")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[2].strip() == "2"


@pytest.fixture
def initialised(tmp_path) -> str:
    """A store made by `sahelwatch init`, in this process."""
    db = str(tmp_path / "s.duckdb")
    assert main(["init", "--db", db]) == 0
    return db


def test_seed_text_is_stored_exactly_as_shipped(initialised, capsys):
    db = initialised
    capsys.readouterr()
    assert (
        main(
            [
                "query",
                "--db",
                db,
                "--format",
                "json",
                "select url, text, language, content_hash from documents order by url",
            ]
        )
        == 0
    )
    rows = json.loads(capsys.readouterr().out)
    shipped = sorted((REPO / "data" / "seed").glob("*.txt"))
    assert [r["url"] for r in rows] == [f"seed:{p.name}" for p in shipped]
    assert [r["text"] for r in rows] == [p.read_text("utf-8") for p in shipped]
    assert {r["language"] for r in rows} == {"fr"}
    assert all(len(r["content_hash"]) == 64 for r in rows)


def test_seed_files_are_byte_copies_of_the_users_documents():
    shared = REPO.parent / "shared" / "seeds"
    if not shared.is_dir():
        pytest.skip("the user's shared/seeds folder is not beside this checkout")
    for original in shared.glob("*.txt"):
        assert (REPO / "data" / "seed" / original.name).read_bytes() == original.read_bytes()


def test_init_creates_a_missing_store_then_stats_reads_it(tmp_path, capsys):
    db = tmp_path / "fresh" / "store.duckdb"
    assert main(["init", "--db", str(db)]) == 0
    assert main(["stats", "--db", str(db)]) == 0
    assert "Documents by origin" in capsys.readouterr().out


@pytest.mark.parametrize("command", [["query", "select 1"], ["stats"]])
def test_read_command_refuses_a_mistyped_store_in_one_line(tmp_path, command):
    db = tmp_path / "fresh" / "store.duckdb"
    result = sahelwatch(command[0], "--db", str(db), *command[1:])
    assert result.returncode == 1
    assert (
        result.stderr == f"sahelwatch: error: no store at {db}: run 'sahelwatch init --db {db}'\n"
    )
    assert not db.parent.exists()


def test_store_option_is_another_name_for_db(tmp_path, capsys):
    db = tmp_path / "named.duckdb"
    assert main(["init", "--store", str(db)]) == 0
    capsys.readouterr()
    assert main(["query", "--store", str(db), "select count(*) AS n FROM documents"]) == 0
    seeds = len(list((REPO / "data" / "seed").glob("*.txt")))
    assert capsys.readouterr().out.splitlines()[2].strip() == str(seeds)


def test_environment_variable_names_the_store(tmp_path):
    db = tmp_path / "env.duckdb"
    env = {**__import__("os").environ, "SAHELWATCH_DB": str(db)}
    assert sahelwatch("init", env=env).returncode == 0
    assert db.exists()


def test_write_statement_is_refused_with_exit_2_and_no_traceback(tmp_path):
    result = sahelwatch("query", "--db", str(tmp_path / "q.duckdb"), "delete from documents")
    assert result.returncode == 2
    assert "only reads: DELETE statements are refused" in result.stderr
    assert "Traceback" not in result.stderr


def test_syntax_error_prints_duckdbs_message_with_exit_2(tmp_path):
    result = sahelwatch("query", "--db", str(tmp_path / "q.duckdb"), "selct 1")
    assert result.returncode == 2
    assert 'syntax error at or near "selct"' in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    "fmt,expected",
    [
        ("csv", "n,word\n1,Sahel"),
        ("json", '[\n  {\n    "n": 1,\n    "word": "Sahel"\n  }\n]'),
        ("table", "n | word\n--+------\n1 | Sahel\n(1 row)"),
    ],
)
def test_query_output_formats(initialised, capsys, fmt, expected):
    capsys.readouterr()
    main(
        [
            "query",
            "--db",
            initialised,
            "--format",
            fmt,
            "select 1 as n, 'Sahel' as word",
        ]
    )
    assert capsys.readouterr().out.strip() == expected


def test_unwritable_store_is_a_one_line_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    result = sahelwatch("init", "--db", str(blocker / "x.duckdb"))
    assert result.returncode == 1
    assert result.stderr.startswith("sahelwatch: error:") and "Traceback" not in result.stderr


@pytest.mark.parametrize("limit", ["0", "-3", "many"])
def test_limit_must_be_a_positive_number(tmp_path, limit):
    result = sahelwatch("ingest", "--db", str(tmp_path / "l.duckdb"), "--limit", limit)
    assert result.returncode == 2
    assert "--limit: must be a whole number of 1 or more" in result.stderr


@pytest.fixture(scope="module")
def shared_store(tmp_path_factory) -> Path:
    db = tmp_path_factory.mktemp("cli") / "shared.duckdb"
    assert sahelwatch("init", "--db", str(db)).returncode == 0
    return db


def _escapes(folder: Path) -> dict[str, str]:
    """Every way out of `sahelwatch query` the issue found, and more, aimed at real paths."""
    outside = folder / "outside.csv"
    return {
        "explain analyze copy": f"EXPLAIN ANALYZE COPY (SELECT 'x') TO '{folder / 'w.csv'}'",
        "copy": f"COPY (SELECT 'x') TO '{folder / 'w.csv'}'",
        "export database": f"EXPORT DATABASE '{folder / 'w'}'",
        "read_csv": f"SELECT * FROM read_csv('{outside}')",
        "read_text": f"SELECT * FROM read_text('{outside}')",
        "read_json": f"SELECT * FROM read_json('{outside}')",
        "read_blob": f"SELECT * FROM read_blob('{outside}')",
        "read_parquet": f"SELECT * FROM read_parquet('{folder / 'outside.parquet'}')",
        "glob": f"SELECT * FROM glob('{folder}/*')",
        "passwd": "SELECT * FROM read_csv('/etc/passwd')",
        "getenv": "SELECT getenv('SAHELWATCH_TEST_SECRET')",
        "attach": f"ATTACH '{folder / 'w.duckdb'}' AS w",
        "install": "INSTALL fts",
        "load": "LOAD fts",
        "set": "SET threads = 1",
        "explain analyze set": "EXPLAIN ANALYZE SET enable_external_access = true",
        "pragma": "PRAGMA enable_profiling",
        "create temp table": "CREATE TEMP TABLE t AS SELECT 1",
        "explain analyze create temp": "EXPLAIN ANALYZE CREATE TEMP TABLE t AS SELECT 1",
    }


@pytest.mark.parametrize("name", sorted(_escapes(Path("/x"))))
def test_query_cannot_write_read_files_or_change_settings(shared_store, tmp_path, name):
    (tmp_path / "outside.csv").write_text("secret\nfrom-outside-5c1e\n", encoding="utf-8")
    with duckdb.connect() as con:
        con.execute(f"COPY (SELECT 'from-outside-5c1e' AS s) TO '{tmp_path / 'outside.parquet'}'")
    env = {**os.environ, "SAHELWATCH_TEST_SECRET": "from-env-9d2b"}
    result = sahelwatch("query", "--db", str(shared_store), _escapes(tmp_path)[name], env=env)
    assert result.returncode == 2, result.stdout
    assert result.stderr.startswith("sahelwatch: error:") and "Traceback" not in result.stderr
    assert "from-outside-5c1e" not in result.stdout + result.stderr
    assert "from-env-9d2b" not in result.stdout + result.stderr
    assert "root:" not in result.stdout
    assert not list(tmp_path.glob("w*"))
