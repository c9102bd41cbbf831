"""The command line as a user meets it: exit codes, messages, no tracebacks for user errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

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


def test_seed_text_is_stored_exactly_as_shipped(tmp_path, capsys):
    db = str(tmp_path / "s.duckdb")
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


def test_any_command_initialises_a_missing_store(tmp_path, capsys):
    db = tmp_path / "fresh" / "store.duckdb"
    assert main(["stats", "--db", str(db)]) == 0
    assert db.exists()
    assert "Documents by origin" in capsys.readouterr().out


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
def test_query_output_formats(tmp_path, capsys, fmt, expected):
    main(
        [
            "query",
            "--db",
            str(tmp_path / "f.duckdb"),
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
