"""Opening the DuckDB file: where it lives, short transactions, and waiting out other writers.

DuckDB lets one process hold a database file read-write at a time; every other process, readers
included, gets a lock error while it is open. Several processes may hold it read-only at once, and
a writer is locked out meanwhile. So the store is opened per short unit of work, read commands
open it read-only and never create or migrate it, and a caller that finds it locked retries with
backoff for a bounded time, then names the holder.
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

from extractors.errors import SchemaTooNewError, StoreError, StoreLockedError, UsageError
from storage import migrations

DEFAULT_DB_PATH = Path("data/sahelwatch.duckdb")
DB_ENV_VAR = "SAHELWATCH_DB"

# Long enough to outwait another command's batch write (they last well under a second), short
# enough that a user whose store is held by a stuck process hears about it within a minute.
DEFAULT_LOCK_TIMEOUT_S = 30.0
# Operators (and tests) may shorten or lengthen that wait for every command of a process.
LOCK_TIMEOUT_ENV_VAR = "SAHELWATCH_LOCK_TIMEOUT"
LOCK_BACKOFF_START_S = 0.05
LOCK_BACKOFF_MAX_S = 2.0

# The switches of the connection that runs users' own SQL (`sahelwatch query`): DuckDB itself keeps
# it inside the store, rather than a list of forbidden words that a new function would slip past.
SANDBOX_CONFIG: dict[str, str | bool] = {
    # No file or URL: read_csv/read_text/read_blob/read_json/read_parquet, glob, COPY, EXPORT
    # DATABASE, ATTACH, INSTALL and LOAD all fail with a permission error.
    "enable_external_access": False,
    # No extension appears because a query named one of its functions, nor is one downloaded.
    "autoload_known_extensions": False,
    "autoinstall_known_extensions": False,
    "allow_community_extensions": False,
    # Last: no SET, RESET or PRAGMA can turn any of the above back on (or change anything else).
    "lock_configuration": True,
}

# What the machine, not the code, makes a write fail with: no space left, an I/O error, no memory.
# Other DuckDB errors are bugs and keep their traceback.
_DISK_ERRORS = (duckdb.IOException, duckdb.OutOfMemoryException)

# DuckDB says: 'Conflicting lock is held in /usr/bin/python3 (PID 1234)'.
_LOCK_HOLDER = re.compile(r"Conflicting lock is held in (?P<program>.*?) \(PID (?P<pid>\d+)\)")


def resolve_db_path(cli_value: str | os.PathLike[str] | None) -> Path:
    """`--db` wins over `SAHELWATCH_DB`, which wins over the default under `data/`."""
    if cli_value:
        return Path(cli_value)
    env = os.environ.get(DB_ENV_VAR)
    return Path(env) if env else DEFAULT_DB_PATH


def lock_timeout_from_env() -> float:
    """How long to wait for a locked store: `SAHELWATCH_LOCK_TIMEOUT` seconds, else the default."""
    raw = os.environ.get(LOCK_TIMEOUT_ENV_VAR, "").strip()
    if not raw:
        return DEFAULT_LOCK_TIMEOUT_S
    try:
        seconds = float(raw)
    except ValueError:
        seconds = -1.0
    if not 0 <= seconds < float("inf"):
        raise UsageError(
            f"{LOCK_TIMEOUT_ENV_VAR} must be a number of seconds (0 or more), not {raw!r}"
        )
    return seconds


class Store:
    """One DuckDB file. Each `write()`/`read()` opens it briefly, so other processes get a turn."""

    def __init__(self, path: str | os.PathLike[str], *, lock_timeout: float | None = None):
        self.path = Path(path)
        self.locator = str(self.path)  # what messages and flow parameters name it by
        self.lock_timeout = lock_timeout_from_env() if lock_timeout is None else lock_timeout
        self._shared_blocks = 0  # `shared()` blocks open in this process

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
            commit(con, self.path)
        except _DISK_ERRORS as exc:  # disk full, I/O error: the transaction left nothing behind
            _rollback_quietly(con)
            raise StoreError(f"cannot write the store {self.path}: {first_line(exc)}") from exc
        except BaseException:
            _rollback_quietly(con)
            raise
        finally:
            with suppress(*_DISK_ERRORS):  # closing checkpoints; a failure there lost nothing
                con.close()

    @contextmanager
    def shared(self) -> Iterator[None]:
        """Keep the file open read-write for the block, so that this process's threads read
        and write it side by side (the end of a run groups near-copies while another thread
        indexes the new documents for search).

        Within one process DuckDB refuses a read-only connection beside a read-write one to the
        same file; in the block, `read()` is a read-write connection in a READ ONLY transaction
        instead, which DuckDB holds to the same refusal of any write. Holding the file open also
        spares each connection's close its checkpoint. Other processes wait for the block, as
        they wait for a write.
        """
        holder = self._connect(read_only=False)
        self._shared_blocks += 1
        try:
            yield
        finally:
            self._shared_blocks -= 1
            with suppress(*_DISK_ERRORS):  # closing checkpoints; a failure there lost nothing
                holder.close()

    @contextmanager
    def read(self, *, sandboxed: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        """A read-only connection: DuckDB itself refuses any statement that would write.

        `sandboxed` adds `SANDBOX_CONFIG`, for SQL the user wrote: no files, no extensions, no
        settings. Within one process, DuckDB refuses a second connection to the same file with
        other switches while the first is open (see `shared`).
        """
        if not self.path.exists():
            raise StoreError(f"no store at {self.path}: run 'sahelwatch init --db {self.path}'")
        if self._shared_blocks and not sandboxed:
            con = self._connect(read_only=False)
            con.execute("BEGIN TRANSACTION READ ONLY")
        else:
            con = self._connect(read_only=True, config=SANDBOX_CONFIG if sandboxed else None)
        try:
            yield con
        finally:
            con.close()

    @contextmanager
    def read_current(self, *, sandboxed: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        """What read commands open: read-only, never created, and only at this code's schema.

        A read command never migrates (the file may be read-only, or held by a notebook): an
        older store is refused with the one command that upgrades it.
        """
        with self.read(sandboxed=sandboxed) as con:
            check_schema_current(con, self.path)
            if not sandboxed:  # (the sandbox locks settings; DuckDB refuses it at connect time)
                con.execute("SET enable_progress_bar = false")  # stdout is for results
            yield con

    def _connect(
        self, *, read_only: bool, config: dict[str, str | bool] | None = None
    ) -> duckdb.DuckDBPyConnection:
        deadline = time.monotonic() + self.lock_timeout
        delay = LOCK_BACKOFF_START_S
        while True:
            try:
                return duckdb.connect(str(self.path), read_only=read_only, config=config or {})
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


def check_schema_current(con: duckdb.DuckDBPyConnection, path: Path) -> None:
    """Refuse, in one line with the fix, a store older or newer than this sahelwatch's schema."""
    have = schema_version(con)
    latest = migrations.latest_version()
    if have is None:
        raise StoreError(
            f"{path} is not a sahelwatch store (no schema_migrations table): "
            f"run 'sahelwatch init --db {path}' to make it one, or point --db at the store"
        )
    if have > latest:
        raise SchemaTooNewError(
            f"the store {path} has schema version {have}, newer than this sahelwatch knows "
            f"({latest}); upgrade sahelwatch, or point --db at another store"
        )
    if have < latest:
        raise StoreError(
            f"the store {path} has schema version {have}, older than this sahelwatch ({latest}): "
            f"run 'sahelwatch init --db {path}' to upgrade it (read commands never write)"
        )


def schema_version(con: duckdb.DuckDBPyConnection) -> int | None:
    """The store's applied schema version, read without writing; None when it has none."""
    (tables,) = con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE database_name = current_database() "
        "AND schema_name = 'main' AND table_name = 'schema_migrations'"
    ).fetchone()
    if not tables:
        return None
    (version,) = con.execute("SELECT coalesce(max(version), 0) FROM schema_migrations").fetchone()
    return int(version)


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


def commit(con: duckdb.DuckDBPyConnection, where: str | Path) -> None:
    """Commit; a commit that fails is where the data met the disk (full, unwritable) or, on a
    lake, the catalog (unreachable): one line naming the store."""
    try:
        con.commit()
    except (duckdb.TransactionException, duckdb.IOException) as exc:
        raise StoreError(f"cannot write the store {where}: {first_line(exc)}") from exc


def first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


def _rollback_quietly(con: duckdb.DuckDBPyConnection) -> None:
    # No transaction may be open when the failure came before BEGIN took effect.
    with suppress(duckdb.Error):
        con.rollback()
