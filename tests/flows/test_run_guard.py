"""The store's run lease: one writer at a time, dead holders found out, every run ended honestly."""

from __future__ import annotations

import socket
import subprocess
import sys

import duckdb
import pytest

from extractors.errors import StoreBusyError
from flows.run_guard import LEASE_LOST_AFTER_S, guarded_run
from storage import leases
from storage.leases import LeaseHolder
from storage.store import Store


@pytest.fixture
def store(tmp_path) -> Store:
    store = Store(tmp_path / "store.duckdb")
    store.migrate()
    return store


def runs(store: Store) -> dict[str, str]:
    con = duckdb.connect(str(store.path), read_only=True)
    try:
        return dict(con.execute("SELECT run_id, status FROM runs").fetchall())
    finally:
        con.close()


def holder(store: Store) -> LeaseHolder | None:
    with store.read() as con:
        return leases.current_holder(con)


def dead_pid() -> int:
    """The pid of a process that has ended: a run killed with `kill -9` leaves one behind."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_a_completed_run_releases_the_lease(store):
    with guarded_run(store, "ingest_feeds", "run-1", {}) as book:
        assert holder(store).run_id == "run-1"
        book.complete({"stored": 0}, "report")
    assert holder(store) is None
    assert runs(store) == {"run-1": "completed"}


def test_a_second_run_is_refused_naming_the_run_that_holds_the_store(store):
    with guarded_run(store, "ingest_feeds", "run-1", {}) as book:
        with pytest.raises(StoreBusyError) as refused, guarded_run(store, "retag", "run-2", {}):
            pass
        book.complete({}, "")
    message = str(refused.value)
    assert "ingest_feeds run run-1" in message and "--wait SECONDS" in message
    assert "\n" not in message
    assert runs(store) == {"run-1": "completed"}  # the refused run never started


def test_an_error_ends_the_run_as_failed_and_frees_the_store(store):
    with pytest.raises(ValueError), guarded_run(store, "ingest_feeds", "run-1", {}):
        raise ValueError("boom")
    assert runs(store) == {"run-1": "failed"}
    assert holder(store) is None


@pytest.mark.parametrize("stop", [KeyboardInterrupt, SystemExit])
def test_a_stop_from_outside_ends_the_run_as_interrupted(store, stop):
    with pytest.raises(stop), guarded_run(store, "ingest_feeds", "run-1", {}):
        raise stop()
    assert runs(store) == {"run-1": "interrupted"}


def test_a_run_that_never_records_its_result_is_failed(store):
    with guarded_run(store, "dedup", "run-1", {}):
        pass
    assert runs(store) == {"run-1": "failed"}


def test_the_lease_of_a_dead_process_is_taken_over_and_its_run_marked_interrupted(store):
    with store.write() as con:
        con.execute(
            "INSERT INTO runs (run_id, flow, started_at, status) "
            "VALUES ('killed', 'backfill', current_timestamp, 'running')"
        )
        leases.take(con, LeaseHolder("killed", "backfill", socket.gethostname(), dead_pid(), 0.0))
    with guarded_run(store, "ingest_feeds", "run-2", {}) as book:
        book.complete({}, "")
    assert runs(store) == {"killed": "interrupted", "run-2": "completed"}


def test_a_run_left_running_without_a_lease_is_marked_interrupted_by_the_next(store):
    with store.write() as con:
        con.execute(
            "INSERT INTO runs (run_id, flow, started_at, status) "
            "VALUES ('old', 'ingest_feeds', current_timestamp, 'running')"
        )
    with guarded_run(store, "retag", "run-2", {}) as book:
        book.complete({}, "")
    assert runs(store) == {"old": "interrupted", "run-2": "completed"}


def test_waiting_for_the_store_gives_up_after_the_wait_with_the_holder_named(store):
    with guarded_run(store, "ingest_feeds", "run-1", {}) as book:
        busy = pytest.raises(StoreBusyError, match=r"waited 1 s")
        with busy, guarded_run(store, "retag", "run-2", {}, wait_s=1.0):
            pass
        book.complete({}, "")


def test_runs_of_different_partitions_write_side_by_side(store):
    with guarded_run(store, "ingest_feeds", "part-1", {}, scope="ingest:1/2") as first:
        with guarded_run(store, "ingest_feeds", "part-2", {}, scope="ingest:2/2") as second:
            second.complete({}, "")
        first.complete({}, "")
    assert runs(store) == {"part-1": "completed", "part-2": "completed"}


def test_a_second_run_of_one_partition_is_refused_naming_the_first(store):
    with guarded_run(store, "ingest_feeds", "part-1", {}, scope="ingest:1/2") as book:
        refused = pytest.raises(StoreBusyError, match="ingest_feeds run part-1")
        with refused, guarded_run(store, "ingest_feeds", "again", {}, scope="ingest:1/2"):
            pass
        book.complete({}, "")


def test_a_whole_store_run_waits_for_every_partition_and_they_for_it(store):
    with guarded_run(store, "ingest_feeds", "part-2", {}, scope="ingest:2/2") as book:
        with pytest.raises(StoreBusyError), guarded_run(store, "retag", "retag-1", {}):
            pass
        book.complete({}, "")
    with guarded_run(store, "retag", "retag-2", {}) as book:
        with (
            pytest.raises(StoreBusyError),
            guarded_run(store, "ingest_feeds", "part-1", {}, scope="ingest:1/2"),
        ):
            pass
        book.complete({}, "")


def test_a_lease_on_another_machine_whose_heartbeat_stopped_is_taken_over(store):
    silent = LeaseHolder("lost", "ingest_feeds", "worker-elsewhere", 4242, 0.0, scope="ingest:1/2")
    with store.write() as con:
        con.execute(
            "INSERT INTO runs (run_id, flow, started_at, status) "
            "VALUES ('lost', 'ingest_feeds', current_timestamp, 'running')"
        )
        leases.take(con, silent)
        con.execute(
            "UPDATE run_lease SET heartbeat_at = current_timestamp - to_seconds(?) "
            "WHERE run_id = 'lost'",
            [LEASE_LOST_AFTER_S + 5],
        )
    with guarded_run(store, "ingest_feeds", "again", {}, scope="ingest:1/2") as book:
        book.complete({}, "")
    assert runs(store) == {"lost": "interrupted", "again": "completed"}


def test_a_lease_on_another_machine_with_a_fresh_heartbeat_is_respected(store):
    alive = LeaseHolder("alive", "ingest_feeds", "worker-elsewhere", 4242, 0.0, scope="ingest:1/2")
    with store.write() as con:
        leases.take(con, alive)
        leases.renew(con, "alive")
    refused = pytest.raises(StoreBusyError, match="worker-elsewhere")
    with refused, guarded_run(store, "ingest_feeds", "again", {}, scope="ingest:1/2"):
        pass
