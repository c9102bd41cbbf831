"""Opening the DuckDB file: where it lives, short transactions, and waiting out other writers.

DuckDB lets one process hold a database file read-write at a time; every other process, readers
included, gets a lock error while it is open. So the store is opened per short unit of work and a
caller that finds it locked retries with backoff for a bounded time, then names the holder.
"""

from __future__ import annotations

import os
import random
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import duckdb

from extractors.errors import StoreError, StoreLockedError
from storage import migrations

DEFAULT_DB_PATH = Path("data/sahelwatch.duckdb")
DB_ENV_VAR = "SAHELWATCH_DB"

# Long enough to outwait another command's batch write (they last well under a second), short
# enough that a user whose store is held by a stuck process hears about it within a minute.
DEFAULT_LOCK_TIMEOUT_S = 30.0
LOCK_BACKOFF_START_S = 0.05
LOCK_BACKOFF_MAX_S = 2.0

# DuckDB says: 'Conflicting lock is held in /usr/bin/python3 (PID 1234)'.
_LOCK_HOLDER = re.compile(r"Conflicting lock is held in (?P<program>.*?) \(PID (?P<pid>\d+)\)")


def resolve_db_path(cli_value: str | os.PathLike[str] | None) -> Path:
    """`--db` wins over `SAHELWATCH_DB`, which wins over the default under `data/`."""
    if cli_value:
        return Path(cli_value)
    env = os.environ.get(DB_ENV_VAR)
    return Path(env) if env else DEFAULT_DB_PATH


class Store:
    """One DuckDB file. Each `write()`/`read()` opens it briefly, so other processes get a turn."""

    def __init__(
        self, path: str | os.PathLike[str], *, lock_timeout: float = DEFAULT_LOCK_TIMEOUT_S
    ):
        self.path = Path(path)
        self.lock_timeout = lock_timeout

    def exists(self) -> bool:
        return self.path.exists()

    def migrate(self) -> list[int]:
        """Create the file if missing and bring its schema up to date; returns versions applied."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot create the folder of the store {self.path}: {exc}") from exc
        with self.write() as con:
            return migrations.migrate(con, str(self.path))

    @contextmanager
    def write(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A read-write connection in one transaction: committed on success, else rolled back."""
        con = self._connect(read_only=False)
        try:
            con.begin()
            yield con
            con.commit()
        except BaseException:
            _rollback_quietly(con)
            raise
        finally:
            con.close()

    @contextmanager
    def read(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A read-only connection: DuckDB itself refuses any statement that would write."""
        if not self.path.exists():
            raise StoreError(f"no store at {self.path}: run 'sahelwatch init --db {self.path}'")
        con = self._connect(read_only=True)
        try:
            yield con
        finally:
            con.close()

    def _connect(self, *, read_only: bool) -> duckdb.DuckDBPyConnection:
        deadline = time.monotonic() + self.lock_timeout
        delay = LOCK_BACKOFF_START_S
        while True:
            try:
                return duckdb.connect(str(self.path), read_only=read_only)
            except duckdb.IOException as exc:
                holder = _lock_holder(str(exc))
                if holder is None:
                    raise StoreError(f"cannot open the store {self.path}: {exc}") from exc
                if time.monotonic() + delay > deadline:
                    raise StoreLockedError(
                        f"the store {self.path} is locked by {holder}; waited "
                        f"{self.lock_timeout:.0f} s. Wait for that process to finish, or stop it."
                    ) from exc
                time.sleep(delay * random.uniform(0.5, 1.0))
                delay = min(delay * 2, LOCK_BACKOFF_MAX_S)
            except duckdb.Error as exc:
                raise StoreError(f"cannot open the store {self.path}: {exc}") from exc


def _lock_holder(message: str) -> str | None:
    """Describe the process holding the lock, or None when the error is not a lock conflict."""
    match = _LOCK_HOLDER.search(message)
    if match is None:
        return None if "lock" not in message.lower() else "another process"
    pid = match["pid"]
    return f"process {pid} ({_command_line(pid) or match['program']})"


def _command_line(pid: str) -> str | None:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None
    return raw.replace(b"\0", b" ").decode("utf-8", "replace").strip() or None


def _rollback_quietly(con: duckdb.DuckDBPyConnection) -> None:
    # No transaction may be open when the failure came before BEGIN took effect.
    with suppress(duckdb.Error):
        con.rollback()
