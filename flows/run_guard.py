"""One way to run a flow that writes the store: take the run lease, book the run, end it honestly.

Every writing flow (ingest, backfill, retag, dedup) runs inside `guarded_run`, so:
- two runs never write at once: a second one waits up to `wait_s`, then is refused with a line
  naming the run that holds the store;
- a run whose process died (kill -9, a crash) is found out by the next one and marked
  `interrupted` instead of staying `running` forever;
- Ctrl-C, SIGTERM or a cancellation marks the run `interrupted`, an error marks it `failed`.
"""

from __future__ import annotations

import asyncio
import random
import socket
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import psutil

from extractors.errors import SahelwatchError, StoreBusyError
from storage import leases, runs
from storage.lake import LakeStore
from storage.leases import LeaseHolder
from storage.stores import AnyStore

# A holder on another host cannot be checked for life: its lease is trusted this long, longer
# than any backfill chunk, then taken over (its run is marked interrupted).
FOREIGN_LEASE_MAX_AGE_S = 12 * 3600
# Lake runs (whose workers may be on other machines) renew their lease this often...
HEARTBEAT_INTERVAL_S = 15.0
# ...and one silent for this long (several missed heartbeats, longer than any single store write
# waits for the lake's write lock) is stale: its worker died, its partition may be taken over.
LEASE_LOST_AFTER_S = 90.0
LEASE_POLL_START_S = 0.2
LEASE_POLL_MAX_S = 5.0
# The exceptions that mean "stopped from outside", not "went wrong": Ctrl-C, cancellation, and
# Prefect's TerminationSignal (SIGTERM in a worker), matched by name to keep prefect out of here.
_INTERRUPTIONS = (KeyboardInterrupt, asyncio.CancelledError, SystemExit)
_INTERRUPTION_NAMES = frozenset({"TerminationSignal", "Abort", "CancelledRun"})


@dataclass
class RunBook:
    """The bookkeeping of one guarded run; `complete()` records its counts and report."""

    store: AnyStore
    run_id: str
    flow: str
    completed: bool = False

    def complete(self, counts: Mapping[str, Any], report: str) -> None:
        with self.store.write() as con:
            runs.finish_run(con, self.run_id, "completed", counts, report)
            leases.release(con, self.run_id)
        self.completed = True


def this_process() -> tuple[str, int, float]:
    process = psutil.Process()
    return socket.gethostname(), process.pid, process.create_time()


@contextmanager
def guarded_run(
    store: AnyStore,
    flow: str,
    run_id: str,
    parameters: Mapping[str, Any],
    *,
    wait_s: float = 0.0,
    scope: str | None = None,
) -> Iterator[RunBook]:
    """Hold a run lease for the block; the run ends completed, failed or interrupted.

    `scope` None holds the whole store; a scope (a partition's name) excludes only runs of the
    same scope and whole-store runs (storage/leases.py).
    """
    acquire_lease(store, flow, run_id, parameters, wait_s=wait_s, scope=scope)
    book = RunBook(store, run_id, flow)
    try:
        with _heartbeat(store, run_id):
            yield book
    except BaseException as exc:
        if is_interruption(exc):
            status, why = "interrupted", "stopped by Ctrl-C, a signal or a cancellation"
        else:
            status, why = "failed", f"{type(exc).__name__}: {exc}"
        # If even this write fails, the next run finds the run orphaned and ends it.
        with suppress(SahelwatchError):
            _end(store, run_id, status, why)
        raise
    if not book.completed:
        _end(store, run_id, "failed", "the flow ended without recording its result")


def is_interruption(exc: BaseException) -> bool:
    return isinstance(exc, _INTERRUPTIONS) or type(exc).__name__ in _INTERRUPTION_NAMES


def acquire_lease(
    store: AnyStore,
    flow: str,
    run_id: str,
    parameters: Mapping[str, Any],
    *,
    wait_s: float,
    scope: str | None = None,
) -> None:
    """Take the lease and book the run as `running`, waiting up to `wait_s` for the holders."""
    host, pid, started = this_process()
    me = LeaseHolder(run_id, flow, host, pid, started, scope=scope)
    deadline = time.monotonic() + wait_s
    delay = LEASE_POLL_START_S
    while True:
        with store.write() as con:
            others = [h for h in leases.holders(con) if h.run_id != run_id]
            conflicting = [h for h in others if h.conflicts_with(scope)]
            stale = [h for h in conflicting if is_stale(h)]
            live = [h for h in conflicting if h not in stale]
            if not live:
                for holder in stale:
                    runs.end_unfinished(con, holder.run_id, "interrupted", _stale_reason(holder))
                leases.take(con, me, replacing=[h.run_id for h in stale])
                for orphan in runs.orphaned_runs(con, run_id):
                    runs.end_unfinished(
                        con, orphan, "interrupted", "its process ended without finishing it"
                    )
                runs.start_run(con, run_id, flow, parameters)
                return
        if time.monotonic() + delay > deadline:
            raise StoreBusyError(describe_holder(live[0], store, waited=wait_s))
        time.sleep(delay * random.uniform(0.5, 1.0))
        delay = min(delay * 2, LEASE_POLL_MAX_S)


def check_store_free(store: AnyStore) -> None:
    """Refuse early (before Prefect starts) when a live run holds the store."""
    if not store.exists():
        return
    with store.read() as con:
        holder = leases.current_holder(con)
    if holder is not None and holder.scope is None and not is_stale(holder):
        raise StoreBusyError(describe_holder(holder, store, waited=0))


def describe_holder(holder: LeaseHolder, store: AnyStore, *, waited: float) -> str:
    since = holder.acquired_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    wait = f"waited {waited:.0f} s; " if waited else ""
    return (
        f"the store {store.locator} is being written by {holder.flow} run {holder.run_id} "
        f"(process {holder.pid} on {holder.host}, since {since}); {wait}"
        "wait for it to finish, or pass --wait SECONDS"
    )


def is_stale(holder: LeaseHolder) -> bool:
    if holder.host != socket.gethostname():
        if holder.heartbeat_at is not None:  # a lake run, which renews its lease
            return (datetime.now(UTC) - holder.heartbeat_at).total_seconds() > LEASE_LOST_AFTER_S
        acquired = holder.acquired_at or datetime.now(UTC)
        return (datetime.now(UTC) - acquired).total_seconds() > FOREIGN_LEASE_MAX_AGE_S
    try:
        process = psutil.Process(holder.pid)
        return abs(process.create_time() - holder.process_started) > 1.0 or not process.is_running()
    except psutil.NoSuchProcess:
        return True
    except psutil.Error:
        return False


def _stale_reason(holder: LeaseHolder) -> str:
    return f"process {holder.pid} on {holder.host} ended without finishing the run"


def _end(store: AnyStore, run_id: str, status: str, why: str) -> None:
    with store.write() as con:
        runs.end_unfinished(con, run_id, status, why)
        leases.release(con, run_id)


@contextmanager
def _heartbeat(store: AnyStore, run_id: str) -> Iterator[None]:
    """On a lake, renew the run's lease every HEARTBEAT_INTERVAL_S while the block runs.

    A DuckDB file is written from one machine, where a dead holder is found by its pid, so only
    lake runs need it.
    """
    if not isinstance(store, LakeStore):
        yield
        return
    stop = threading.Event()

    def beat() -> None:
        while True:
            with suppress(SahelwatchError), store.write() as con:  # a missed beat: the next
                leases.renew(con, run_id)
            if stop.wait(HEARTBEAT_INTERVAL_S):
                return

    thread = threading.Thread(target=beat, name=f"lease-heartbeat-{run_id}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
