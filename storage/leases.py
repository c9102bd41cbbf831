"""The store's run leases: which flow runs may write now, taken and released in short transactions.

A store's write transactions are serialised (DuckDB's file lock; the lake's advisory lock, see
storage/lake.py), so reading the `run_lease` rows and replacing some of them inside one
`write()` transaction is an atomic compare-and-set.

A lease has a scope: NULL for the whole store (every run on a DuckDB file, and whole-store runs
such as a retag), or a name such as 'ingest:2/4' for one partition of a distributed run. Two
leases conflict when either is whole-store or both have the same scope.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import duckdb


@dataclass(frozen=True, slots=True)
class LeaseHolder:
    run_id: str
    flow: str
    host: str
    pid: int
    process_started: float  # the holder process's start time (seconds since the epoch)
    acquired_at: datetime | None = None
    scope: str | None = None  # None: the whole store
    heartbeat_at: datetime | None = None  # renewed by lake runs; None where nobody renews it

    def conflicts_with(self, scope: str | None) -> bool:
        return self.scope is None or scope is None or self.scope == scope


_COLUMNS = "run_id, flow, host, pid, process_started, acquired_at, scope, heartbeat_at"


def holders(con: duckdb.DuckDBPyConnection) -> list[LeaseHolder]:
    rows = con.execute(f"SELECT {_COLUMNS} FROM run_lease ORDER BY acquired_at, run_id").fetchall()
    return [LeaseHolder(*row) for row in rows]


def current_holder(con: duckdb.DuckDBPyConnection) -> LeaseHolder | None:
    """The oldest holder, if any (on a DuckDB file there is at most one)."""
    found = holders(con)
    return found[0] if found else None


def take(
    con: duckdb.DuckDBPyConnection, holder: LeaseHolder, replacing: list[str] | None = None
) -> None:
    """Add `holder`, removing the leases of `replacing` (stale holders the caller has checked)."""
    for run_id in [*(replacing or []), holder.run_id]:
        con.execute("DELETE FROM run_lease WHERE run_id = ?", [run_id])
    con.execute(
        "INSERT INTO run_lease (run_id, flow, host, pid, process_started, scope) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        [holder.run_id, holder.flow, holder.host, holder.pid, holder.process_started, holder.scope],
    )


def renew(con: duckdb.DuckDBPyConnection, run_id: str) -> None:
    """Say the holder is alive: its lease's heartbeat is now."""
    con.execute("UPDATE run_lease SET heartbeat_at = current_timestamp WHERE run_id = ?", [run_id])


def release(con: duckdb.DuckDBPyConnection, run_id: str) -> None:
    con.execute("DELETE FROM run_lease WHERE run_id = ?", [run_id])
