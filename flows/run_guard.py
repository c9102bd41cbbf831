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
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import psutil

from extractors.errors import SahelwatchError, StoreBusyError
from storage import leases, runs
from storage.leases import LeaseHolder
from storage.store import Store

# A holder on another host cannot be checked for life: its lease is trusted this long, longer
# than any backfill chunk, then taken over (its run is marked interrupted).
FOREIGN_LEASE_MAX_AGE_S = 12 * 3600
LEASE_POLL_START_S = 0.2
LEASE_POLL_MAX_S = 5.0
# The exceptions that mean "stopped from outside", not "went wrong": Ctrl-C, cancellation, and
# Prefect's TerminationSignal (SIGTERM in a worker), matched by name to keep prefect out of here.
_INTERRUPTIONS = (KeyboardInterrupt, asyncio.CancelledError, SystemExit)
_INTERRUPTION_NAMES = frozenset({"TerminationSignal", "Abort", "CancelledRun"})


@dataclass
class RunBook:
    """The bookkeeping of one guarded run; `complete()` records its counts and report."""

    store: Store
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
    store: Store,
    flow: str,
    run_id: str,
    parameters: Mapping[str, Any],
    *,
    wait_s: float = 0.0,
) -> Iterator[RunBook]:
    """Hold the store's run lease for the block; the run ends completed, failed or interrupted."""
    acquire_lease(store, flow, run_id, parameters, wait_s=wait_s)
    book = RunBook(store, run_id, flow)
    try:
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
    store: Store, flow: str, run_id: str, parameters: Mapping[str, Any], *, wait_s: float
) -> None:
    """Take the lease and book the run as `running`, waiting up to `wait_s` for the holder."""
    host, pid, started = this_process()
    me = LeaseHolder(run_id, flow, host, pid, started)
    deadline = time.monotonic() + wait_s
    delay = LEASE_POLL_START_S
    while True:
        with store.write() as con:
            holder = leases.current_holder(con)
            if holder is None or holder.run_id == run_id or _is_stale(holder):
                if holder is not None and holder.run_id != run_id:
                    runs.end_unfinished(con, holder.run_id, "interrupted", _stale_reason(holder))
                leases.take(con, me)
                for orphan in runs.orphaned_runs(con, run_id):
                    runs.end_unfinished(
                        con, orphan, "interrupted", "its process ended without finishing it"
                    )
                runs.start_run(con, run_id, flow, parameters)
                return
        if time.monotonic() + delay > deadline:
            raise StoreBusyError(describe_holder(holder, store, waited=wait_s))
        time.sleep(delay * random.uniform(0.5, 1.0))
        delay = min(delay * 2, LEASE_POLL_MAX_S)


def check_store_free(store: Store) -> None:
    """Refuse early (before Prefect starts) when a live run holds the store."""
    if not store.exists():
        return
    with store.read() as con:
        holder = leases.current_holder(con)
    if holder is not None and not _is_stale(holder):
        raise StoreBusyError(describe_holder(holder, store, waited=0))


def describe_holder(holder: LeaseHolder, store: Store, *, waited: float) -> str:
    since = holder.acquired_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    wait = f"waited {waited:.0f} s; " if waited else ""
    return (
        f"the store {store.path} is being written by {holder.flow} run {holder.run_id} "
        f"(process {holder.pid} on {holder.host}, since {since}); {wait}"
        "wait for it to finish, or pass --wait SECONDS"
    )


def _is_stale(holder: LeaseHolder) -> bool:
    if holder.host != socket.gethostname():
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


def _end(store: Store, run_id: str, status: str, why: str) -> None:
    with store.write() as con:
        runs.end_unfinished(con, run_id, status, why)
        leases.release(con, run_id)
