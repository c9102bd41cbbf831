"""A second real process that holds a DuckDB file open read-write, for lock tests.

Usage: python -m tests.support.lock_holder PATH SECONDS — prints "locked" once it holds the file.
"""

from __future__ import annotations

import sys
import time

import duckdb


def main() -> None:
    path, seconds = sys.argv[1], float(sys.argv[2])
    con = duckdb.connect(path)
    print("locked", flush=True)
    time.sleep(seconds)
    con.close()


if __name__ == "__main__":
    main()
