"""A second real process that holds a DuckDB file open, for lock tests.

Usage: python -m tests.support.lock_holder PATH SECONDS [read-only] — prints "locked" once it
holds the file: read-write by default (a running flow), or read-only as a notebook does
(`duckdb.connect(path, read_only=True)`).
"""

from __future__ import annotations

import sys
import time

import duckdb


def main() -> None:
    path, seconds = sys.argv[1], float(sys.argv[2])
    read_only = sys.argv[3:] == ["read-only"]
    con = duckdb.connect(path, read_only=read_only)
    con.execute("SELECT count(*) FROM duckdb_tables()").fetchone()
    print("locked", flush=True)
    time.sleep(seconds)
    con.close()


if __name__ == "__main__":
    main()
