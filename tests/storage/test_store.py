"""The store file: where it is, and how it behaves when another process holds it."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from extractors.errors import StoreLockedError
from storage.store import DEFAULT_DB_PATH, Store, resolve_db_path

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


def _hold_lock(path: Path, seconds: float) -> subprocess.Popen:
    holder = subprocess.Popen(
        [sys.executable, "-m", "tests.support.lock_holder", str(path), str(seconds)],
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
