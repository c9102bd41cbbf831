"""Keeping a lake small and fast: DuckLake's own maintenance functions, in one place.

Every write of a worker adds a small Parquet file (or, under `INLINING_ROW_LIMIT` rows, rows kept
in the catalog), and every commit a snapshot. Compaction flushes the inlined rows to Parquet,
merges adjacent small files, expires snapshots older than the time-travel window, then deletes
the files that only expired snapshots used once they have been unused for a grace period (a
reader that started on an old snapshot may still be reading them).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import duckdb

from storage.lake import CATALOG

# A file freed by an expired snapshot is deleted only when it has been unused this long: longer
# than any query or export an analyst runs against the lake.
FILE_GRACE = timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class CompactionResult:
    inlined_rows_flushed: int
    files_merged: int
    snapshots_expired: int
    files_deleted: int
    data_files: int  # live data files after compaction


def compact(con: duckdb.DuckDBPyConnection, keep_snapshots: timedelta) -> CompactionResult:
    """Run the four maintenance steps in order; `con` is a lake's write connection."""
    flushed = con.execute(f"CALL ducklake_flush_inlined_data('{CATALOG}')").fetchall()
    merged = con.execute(f"CALL ducklake_merge_adjacent_files('{CATALOG}')").fetchall()
    expired = con.execute(
        f"CALL ducklake_expire_snapshots('{CATALOG}', older_than => now() - to_seconds(?))",
        [keep_snapshots.total_seconds()],
    ).fetchall()
    deleted = con.execute(
        f"CALL ducklake_cleanup_old_files('{CATALOG}', older_than => now() - to_seconds(?))",
        [FILE_GRACE.total_seconds()],
    ).fetchall()
    return CompactionResult(
        inlined_rows_flushed=sum(row[-1] for row in flushed),
        files_merged=sum(row[2] for row in merged),
        snapshots_expired=len(expired),
        files_deleted=len(deleted),
        data_files=data_files(con),
    )


def data_files(con: duckdb.DuckDBPyConnection) -> int:
    """The live Parquet files of every table of the lake."""
    tables = con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE database_name = ?", [CATALOG]
    ).fetchall()
    return sum(
        con.execute(f"SELECT count(*) FROM ducklake_list_files('{CATALOG}', ?)", [t]).fetchone()[0]
        for (t,) in tables
    )
