"""Read commands beside other processes: they open the store read-only and never create it.

`query`, `stats`, `search`, `report` and `export` must answer while a notebook holds the store
read-only, read a file they may not write, refuse a missing or older store in one line, and
while a writer holds the store wait their bound, then name it. A run that finds a reader holding
the store waits too, then names the reader. Every holder is a real second process.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from storage import migrations
from storage.store import LOCK_TIMEOUT_ENV_VAR

REPO = Path(__file__).resolve().parents[2]
EXE = Path(sys.executable).with_name("sahelwatch")
# Long enough that the holder outlives any command's bound below; it is killed at the end.
HOLD_S = 120
# The bound the commands are given while a writer holds the store (the default is 30 s).
SHORT_WAIT_S = "1"


def sahelwatch(*args: str, wait: str | None = None) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    if wait is not None:
        env[LOCK_TIMEOUT_ENV_VAR] = wait
    return subprocess.run(
        [str(EXE), *args], capture_output=True, text=True, cwd=REPO, env=env, timeout=120
    )


@pytest.fixture(scope="module")
def seeded(tmp_path_factory) -> Path:
    """A store made by `sahelwatch init`: migrated, seeded, indexed for search."""
    db = tmp_path_factory.mktemp("readers") / "seeded.duckdb"
    done = sahelwatch("init", "--db", str(db))
    assert done.returncode == 0, done.stderr
    return db


@pytest.fixture
def store_copy(seeded, tmp_path) -> Path:
    db = tmp_path / "store.duckdb"
    shutil.copyfile(seeded, db)
    return db


@contextlib.contextmanager
def holding(db: Path, *, read_only: bool) -> Iterator[subprocess.Popen]:
    """Another real process holding the store: a notebook (read-only) or a running flow."""
    mode = ["read-only"] if read_only else []
    holder = subprocess.Popen(
        [sys.executable, "-m", "tests.support.lock_holder", str(db), str(HOLD_S), *mode],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        yield holder
    finally:
        holder.kill()
        holder.wait(timeout=30)


def read_commands(db: Path, out: Path) -> dict[str, list[str]]:
    where = ["--db", str(db)]
    return {
        "query": ["query", *where, "SELECT count(*) AS n FROM documents", "--format", "csv"],
        "stats": ["stats", *where],
        "search": ["search", *where, "Sahel"],
        "report": ["report", *where, "--out", str(out / "report.html")],
        "export": ["export", *where, "--format", "csv", "--out", str(out / "export")],
    }


READERS = ("query", "stats", "search", "report", "export")


def assert_one_line_error(result: subprocess.CompletedProcess, *needles: str) -> None:
    assert result.returncode == 1, result.stdout + result.stderr
    assert result.stderr.startswith("sahelwatch: error:")
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    for needle in needles:
        assert needle in result.stderr


@pytest.mark.parametrize("command", READERS)
def test_read_command_refuses_a_missing_store_and_creates_nothing(tmp_path, command):
    db = tmp_path / "mistyped" / "stroe.duckdb"
    result = sahelwatch(*read_commands(db, tmp_path)[command])
    assert_one_line_error(result, f"no store at {db}", "sahelwatch init")
    assert not db.exists() and not db.parent.exists()


@pytest.mark.parametrize("command", READERS)
def test_read_command_refuses_an_older_store_and_leaves_it_as_it_was(tmp_path, command):
    db = tmp_path / "old.duckdb"
    older = migrations.latest_version() - 1
    with duckdb.connect(str(db)) as con:
        migrations.migrate(con, str(db), upto=older)
    before = db.read_bytes()
    result = sahelwatch(*read_commands(db, tmp_path)[command])
    assert_one_line_error(result, f"schema version {older}", f"sahelwatch init --db {db}")
    assert db.read_bytes() == before


def test_init_upgrades_an_older_store_that_read_commands_then_read(tmp_path):
    db = tmp_path / "old.duckdb"
    with duckdb.connect(str(db)) as con:
        migrations.migrate(con, str(db), upto=migrations.latest_version() - 1)
    assert sahelwatch("init", "--db", str(db)).returncode == 0
    result = sahelwatch(*read_commands(db, tmp_path)["query"])
    assert result.returncode == 0, result.stderr


@pytest.fixture
def read_only_file(store_copy) -> Iterator[Path]:
    """The store as a file nobody may write: mode 0444, and immutable when we run as root
    (root ignores the mode bits). Skipped, not passed, if the file stays writable."""
    store_copy.chmod(0o444)
    immutable = os.geteuid() == 0 and shutil.which("chattr") is not None
    if immutable:
        subprocess.run(["chattr", "+i", str(store_copy)], check=False, capture_output=True)
    try:
        try:
            store_copy.open("r+b").close()
        except PermissionError:
            yield store_copy
        else:
            pytest.skip("cannot make a file read-only here (root without chattr +i)")
    finally:
        if immutable:
            subprocess.run(["chattr", "-i", str(store_copy)], check=False, capture_output=True)
        store_copy.chmod(0o644)


@pytest.mark.parametrize("command", ["query", "stats", "search", "report"])
def test_read_command_reads_a_file_it_may_not_write(read_only_file, tmp_path, command):
    result = sahelwatch(*read_commands(read_only_file, tmp_path)[command])
    assert result.returncode == 0, result.stderr


def test_query_answers_from_a_read_only_file(read_only_file, tmp_path):
    result = sahelwatch(*read_commands(read_only_file, tmp_path)["query"])
    with duckdb.connect(str(read_only_file), read_only=True) as con:
        (documents,) = con.execute("SELECT count(*) FROM documents").fetchone()
    assert result.stdout.splitlines() == ["n", str(documents)]


@pytest.mark.parametrize("command", READERS)
def test_read_command_is_not_blocked_by_a_notebook(store_copy, tmp_path, command):
    with holding(store_copy, read_only=True) as notebook:
        result = sahelwatch(*read_commands(store_copy, tmp_path)[command], wait="0")
        assert notebook.poll() is None  # the notebook really held the store throughout
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("command", READERS)
def test_read_command_waits_its_bound_for_a_writer_then_names_it(store_copy, tmp_path, command):
    with holding(store_copy, read_only=False) as writer:
        result = sahelwatch(*read_commands(store_copy, tmp_path)[command], wait=SHORT_WAIT_S)
    assert_one_line_error(
        result, f"locked by process {writer.pid}", "lock_holder", f"waited {SHORT_WAIT_S} s"
    )


def test_run_that_finds_a_notebook_waits_its_bound_then_names_it(store_copy, tmp_path):
    with holding(store_copy, read_only=True) as notebook:
        result = sahelwatch(
            "ingest",
            "--db",
            str(store_copy),
            "--feed",
            "http://127.0.0.1:9/feed.xml",
            wait=SHORT_WAIT_S,
        )
    assert_one_line_error(result, f"locked by process {notebook.pid}", "lock_holder", "read-only)")


def test_query_cannot_overwrite_the_store_it_reads(store_copy):
    before = store_copy.read_bytes()
    for target in (store_copy, Path(f"{store_copy}.wal")):
        result = sahelwatch(
            "query", "--db", str(store_copy), f"EXPLAIN ANALYZE COPY (SELECT 'x') TO '{target}'"
        )
        assert result.returncode == 2 and "Traceback" not in result.stderr
    assert store_copy.read_bytes() == before
    assert not Path(f"{store_copy}.wal").exists()
    assert sahelwatch("stats", "--db", str(store_copy)).returncode == 0
