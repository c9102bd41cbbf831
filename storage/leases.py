"""The store's run lease: which flow run may write now, taken and released in short transactions.

DuckDB serialises read-write opens across processes, so reading and replacing the single
`run_lease` row inside one `Store.write()` transaction is an atomic compare-and-set.
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


def current_holder(con: duckdb.DuckDBPyConnection) -> LeaseHolder | None:
    row = con.execute(
        "SELECT run_id, flow, host, pid, process_started, acquired_at FROM run_lease "
        "ORDER BY acquired_at LIMIT 1"
    ).fetchone()
    return None if row is None else LeaseHolder(*row)


def take(con: duckdb.DuckDBPyConnection, holder: LeaseHolder) -> None:
    """Make `holder` the only row; the caller has checked that the previous one may be replaced."""
    con.execute("DELETE FROM run_lease")
    con.execute(
        "INSERT INTO run_lease (run_id, flow, host, pid, process_started) VALUES (?, ?, ?, ?, ?)",
        [holder.run_id, holder.flow, holder.host, holder.pid, holder.process_started],
    )


def release(con: duckdb.DuckDBPyConnection, run_id: str) -> None:
    con.execute("DELETE FROM run_lease WHERE run_id = ?", [run_id])
