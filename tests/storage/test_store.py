"""The store file: where it is, and how it behaves when another process holds it."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from extractors.errors import SchemaTooNewError, StoreError, StoreLockedError, UsageError
from storage import migrations
from storage.store import (
    DEFAULT_DB_PATH,
    DEFAULT_LOCK_TIMEOUT_S,
    LOCK_TIMEOUT_ENV_VAR,
    Store,
    resolve_db_path,
)

REPO = Path(__file__).resolve().parents[2]


def test_db_option_wins_over_environment_and_default(monkeypatch):
    monkeypatch.setenv("SAHELWATCH_DB", "/tmp/from-env.duckdb")
    assert resolve_db_path("/tmp/from-cli.duckdb") == Path("/tmp/from-cli.duckdb")
    assert resolve_db_path(None) == Path("/tmp/from-env.duckdb")
    monkeypatch.delenv("SAHELWATCH_DB")
    assert resolve_db_path(None) == DEFAULT_DB_PATH


def test_failed_write_is_rolled_back(store):
    with pytest.raises(RuntimeError), store.write() as con:
        con.execute(
            "INSERT INTO runs (run_id, flow, started_at, status) "
            "VALUES ('r1', 'test', now(), 'running')"
        )
        raise RuntimeError("boom")
    with store.read() as con:
        assert con.execute("SELECT count(*) FROM runs").fetchone() == (0,)


def _insert_run(con: duckdb.DuckDBPyConnection, run_id: str) -> None:
    con.execute(
        "INSERT INTO runs (run_id, flow, started_at, status) VALUES (?, 'test', now(), 'running')",
        [run_id],
    )


def test_a_shared_block_reads_and_writes_with_connections_open_side_by_side(store):
    with store.shared(), store.read() as reader:
        assert reader.execute("SELECT count(*) FROM runs").fetchone() == (0,)
        with store.write() as con:  # outside a shared block, DuckDB refuses this second open
            _insert_run(con, "r1")
        with store.read() as later:
            assert later.execute("SELECT count(*) FROM runs").fetchone() == (1,)


def test_a_read_in_a_shared_block_still_refuses_to_write(store):
    with store.shared(), store.read() as con, pytest.raises(duckdb.TransactionException):
        _insert_run(con, "r1")


def test_other_processes_get_the_file_once_the_shared_block_ends(store):
    with store.shared():
        with store.write() as con:
            _insert_run(con, "r1")
        assert not _another_process_can_read(store.path)
    assert _another_process_can_read(store.path)


def _another_process_can_read(path: Path) -> bool:
    opener = "import duckdb, sys; duckdb.connect(sys.argv[1], read_only=True)"
    return (
        subprocess.run([sys.executable, "-c", opener, str(path)], capture_output=True).returncode
        == 0
    )


def _hold_lock(path: Path, seconds: float, *, read_only: bool = False) -> subprocess.Popen:
    mode = ["read-only"] if read_only else []
    holder = subprocess.Popen(
        [sys.executable, "-m", "tests.support.lock_holder", str(path), str(seconds), *mode],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout.readline().strip() == "locked"
    return holder


def test_writer_waits_for_another_process_to_release_the_file(store):
    holder = _hold_lock(store.path, 1.0)
    try:
        started = time.monotonic()
        with store.write() as con:
            con.execute(
                "INSERT INTO runs (run_id, flow, started_at, status) "
                "VALUES ('r1', 'test', now(), 'running')"
            )
        waited = time.monotonic() - started
    finally:
        holder.wait(timeout=30)
    assert waited > 0.3  # it really met the lock, then got through once it was released
    with store.read() as con:
        assert con.execute("SELECT count(*) FROM runs").fetchone() == (1,)


def test_writer_gives_up_after_its_timeout_and_names_the_holder(store):
    holder = _hold_lock(store.path, 5.0)
    try:
        impatient = Store(store.path, lock_timeout=0.5)
        with pytest.raises(StoreLockedError) as error, impatient.write():
            pass
    finally:
        holder.kill()
        holder.wait(timeout=30)
    message = str(error.value)
    assert f"process {holder.pid}" in message
    assert "lock_holder" in message


def test_reader_also_waits_for_a_writer_in_another_process(store):
    holder = _hold_lock(store.path, 1.0)
    try:
        with store.read() as con:
            assert con.execute("SELECT count(*) FROM documents").fetchone() == (0,)
    finally:
        holder.wait(timeout=30)


def test_readers_open_beside_a_notebook_holding_the_store(store):
    notebook = _hold_lock(store.path, 30.0, read_only=True)
    try:
        with Store(store.path, lock_timeout=0).read_current() as con:
            assert con.execute("SELECT count(*) FROM documents").fetchone() == (0,)
        with Store(store.path, lock_timeout=0).read(sandboxed=True) as con:
            assert con.execute("SELECT count(*) FROM runs").fetchone() == (0,)
        assert notebook.poll() is None
    finally:
        notebook.kill()
        notebook.wait(timeout=30)


def test_writer_gives_up_on_a_notebook_after_its_timeout_and_names_it(store):
    notebook = _hold_lock(store.path, 30.0, read_only=True)
    try:
        with pytest.raises(StoreLockedError) as error, Store(store.path, lock_timeout=0.5).write():
            pass
    finally:
        notebook.kill()
        notebook.wait(timeout=30)
    assert f"process {notebook.pid}" in str(error.value)
    assert "lock_holder" in str(error.value)


def test_writer_gets_through_once_the_notebook_closes(store):
    notebook = _hold_lock(store.path, 1.0, read_only=True)
    try:
        with store.write() as con:
            con.execute(
                "INSERT INTO runs (run_id, flow, started_at, status) "
                "VALUES ('r1', 'test', now(), 'running')"
            )
    finally:
        notebook.wait(timeout=30)
    with store.read() as con:
        assert con.execute("SELECT count(*) FROM runs").fetchone() == (1,)


def test_read_never_creates_a_store(tmp_path):
    missing = tmp_path / "nowhere" / "x.duckdb"
    with pytest.raises(StoreError, match="no store at"), Store(missing).read_current():
        pass
    assert not missing.parent.exists()


def test_read_current_refuses_an_older_store_without_writing_it(tmp_path):
    path = tmp_path / "old.duckdb"
    older = migrations.latest_version() - 1
    with duckdb.connect(str(path)) as con:
        migrations.migrate(con, str(path), upto=older)
    before = path.read_bytes()
    refused = pytest.raises(StoreError, match=f"schema version {older}.*sahelwatch init")
    with refused, Store(path).read_current():
        pass
    assert path.read_bytes() == before


def test_read_current_refuses_a_newer_store(store):
    with store.write() as con:
        con.execute(
            "INSERT INTO schema_migrations (version, name) VALUES (?, 'future')",
            [migrations.latest_version() + 1],
        )
    refused = pytest.raises(SchemaTooNewError, match="newer than this sahelwatch")
    with refused, store.read_current():
        pass


def test_read_current_refuses_a_duckdb_file_that_is_no_store(tmp_path):
    path = tmp_path / "other.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("CREATE TABLE t (x INTEGER)")
    with pytest.raises(StoreError, match="not a sahelwatch store"), Store(path).read_current():
        pass


def test_lock_timeout_comes_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.delenv(LOCK_TIMEOUT_ENV_VAR, raising=False)
    assert Store(tmp_path / "x.duckdb").lock_timeout == DEFAULT_LOCK_TIMEOUT_S
    monkeypatch.setenv(LOCK_TIMEOUT_ENV_VAR, "2.5")
    assert Store(tmp_path / "x.duckdb").lock_timeout == 2.5
    for bad in ("soon", "-1", "inf", "nan"):
        monkeypatch.setenv(LOCK_TIMEOUT_ENV_VAR, bad)
        with pytest.raises(UsageError, match=LOCK_TIMEOUT_ENV_VAR):
            Store(tmp_path / "x.duckdb")
