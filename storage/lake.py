"""The store on DuckLake: a PostgreSQL catalog and a Parquet data path, for many writing machines.

Same tables, migrations and SQL as the DuckDB file (storage/store.py); only opening differs:
DuckDB runs in memory in each process, with the lake attached as its default catalog.

Writers are serialised, not raced. DuckLake has no PRIMARY KEY or UNIQUE, so "insert the rows
whose key is absent" is only atomic if no other writer commits between the check and the insert.
Every write transaction therefore holds one PostgreSQL advisory lock, taken on the catalog's own
server before the transaction starts and released after it commits: the same one-writer-at-a-time
guarantee a DuckDB file gives, across machines. Every idempotence rule of storage/documents.py
(anti-joins on canonical URL, content hash, mention rows, LSH bands, skip keys, backfill items)
holds unchanged. Writes are short (a batch of documents, at most one a second per worker) while
fetching and extraction, the costly part, run in parallel on every worker. Readers take no lock:
each sees the last committed snapshot.
"""

from __future__ import annotations

import threading
import zlib
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs

import duckdb

from extractors.errors import StoreError, UsageError
from storage import extensions, migrations
from storage.store import SANDBOX_CONFIG, check_schema_current, commit, first_line

LAKE_PREFIX = "ducklake:postgres:"
# The name the lake is attached under in each connection; SQL never names it (it is the default).
CATALOG = "lake"
# One constant key for the advisory lock (pg_advisory_lock takes a bigint): a crc32 of a name, so
# another application sharing the PostgreSQL server is unlikely to pick the same number.
WRITE_LOCK_KEY = zlib.crc32(b"sahelwatch store write lock")
# Seconds to wait for PostgreSQL to answer a connection: a wrong host fails in a few seconds.
CONNECT_TIMEOUT_S = 10
# DuckLake can keep small inserts in the catalog instead of a Parquet file each ("data
# inlining"). Off: measured on 25 writes of 8 documents, a write took 140 ms inlined against
# 72 ms as Parquet, and reads were no faster (181 ms against 153 ms). The small files each write
# leaves are what compaction (flows/compaction.py) merges.
INLINING_ROW_LIMIT = 0


@dataclass(frozen=True, slots=True)
class LakeLocation:
    """Where a lake is: its PostgreSQL catalog (a libpq connection string) and its data path."""

    catalog: str  # e.g. "dbname=sahel host=10.0.0.5 user=sahel"
    data_path: str  # a directory here; object storage (s3://...) in production

    @property
    def locator(self) -> str:
        return f"{LAKE_PREFIX}{self.catalog}?data_path={self.data_path}"


def is_lake_locator(value: str) -> bool:
    return value.startswith(LAKE_PREFIX)


def parse_locator(value: str) -> LakeLocation:
    """`ducklake:postgres:<libpq connection string>?data_path=<directory or URL>`."""
    example = f"{LAKE_PREFIX}dbname=sahel host=127.0.0.1 user=sahel?data_path=/srv/sahel/lake/"
    rest = value[len(LAKE_PREFIX) :]
    catalog, _, query = rest.rpartition("?")
    data_path = parse_qs(query).get("data_path", [""])[0].strip() if catalog else ""
    if not catalog.strip() or not data_path:
        raise UsageError(
            f"{value!r} is not a lake locator: write it as {example!r} (the catalog's PostgreSQL "
            "connection string, then ?data_path= the folder or URL of the Parquet files)"
        )
    return LakeLocation(catalog.strip(), data_path)


class LakeStore:
    """The DuckLake store. Same interface as storage.store.Store: write(), read(), migrate()."""

    def __init__(self, location: LakeLocation):
        self.location = location
        self.locator = location.locator
        self._lock = _WriteLock(location.catalog)
        # The process's two attachments, made on first use (attaching costs about 0.25 s): one
        # read-write for write(), one read-only for read(). Each use takes a cursor of its own.
        self._attached: dict[bool, duckdb.DuckDBPyConnection] = {}
        self._attach_guard = threading.Lock()

    @classmethod
    def from_locator(cls, value: str) -> LakeStore:
        return cls(parse_locator(value))

    def exists(self) -> bool:
        """True when the catalog holds a sahelwatch schema (a reachable, initialised lake)."""
        try:
            with self.read() as con:
                return migrations_applied(con)
        except StoreError:
            return False

    def migrate(self) -> list[int]:
        """Create the lake's catalog if missing and bring its schema up to date."""
        if "://" not in self.location.data_path:
            Path(self.location.data_path).mkdir(parents=True, exist_ok=True)
        with self.write() as con:
            return migrations.migrate(con, self.locator)

    @contextmanager
    def write(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """One write transaction, the lake's write lock held from before BEGIN to after COMMIT."""
        with self._lock.held():
            con = self._attachment(read_only=False).cursor()
            try:
                con.execute(f"USE {CATALOG}")
                con.begin()
                yield con
                commit(con, self.locator)
            except BaseException:
                with suppress(duckdb.Error):
                    con.rollback()
                raise
            finally:
                con.close()

    @contextmanager
    def shared(self) -> Iterator[None]:
        """As `Store.shared`; here nothing to hold: reads and writes of several threads already
        go side by side (each takes a cursor of its attachment), writes in turn (the lock)."""
        yield

    @contextmanager
    def read(self, *, sandboxed: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        """A read-only view of the last committed snapshot; `sandboxed` for users' own SQL.

        The sandbox locks the settings of a whole DuckDB instance, so sandboxed SQL gets an
        instance of its own; other reads share the process's read-only attachment.
        """
        if sandboxed:
            con = _connect(self.location, read_only=True)
            # Set after ATTACH (which needs the extensions and the network); the lock last. The
            # lake's own Parquet files stay readable: the data path is the one place allowed.
            con.execute("SET allowed_directories = ?", [[self.location.data_path]])
            for key, value in SANDBOX_CONFIG.items():
                con.execute(f"SET {key} = {str(value).lower()}")
        else:
            con = self._attachment(read_only=True).cursor()
            con.execute(f"USE {CATALOG}")
        try:
            yield con
        finally:
            con.close()

    @contextmanager
    def read_current(self, *, sandboxed: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        """What read commands open: read-only, at this code's schema, never migrated."""
        with self.read(sandboxed=sandboxed) as con:
            check_schema_current(con, self.locator)
            if not sandboxed:
                con.execute("SET enable_progress_bar = false")
            yield con

    def close(self) -> None:
        with self._attach_guard:
            for con in self._attached.values():
                con.close()
            self._attached.clear()
        self._lock.close()

    def _attachment(self, *, read_only: bool) -> duckdb.DuckDBPyConnection:
        with self._attach_guard:
            if read_only not in self._attached:
                self._attached[read_only] = _connect(self.location, read_only=read_only)
            return self._attached[read_only]


def migrations_applied(con: duckdb.DuckDBPyConnection) -> bool:
    (tables,) = con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE database_name = current_database() "
        "AND table_name = 'schema_migrations'"
    ).fetchone()
    return bool(tables)


def _connect(location: LakeLocation, *, read_only: bool) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    try:
        extensions.load(con, "postgres_scanner")
        extensions.load(con, "ducklake")
        options = [f"DATA_PATH {_quote(location.data_path)}"]
        options += ["READ_ONLY"] if read_only else [f"DATA_INLINING_ROW_LIMIT {INLINING_ROW_LIMIT}"]
        con.execute(
            f"ATTACH {_quote(LAKE_PREFIX + _with_timeout(location.catalog))} AS {CATALOG} "
            f"({', '.join(options)})"
        )
        con.execute(f"USE {CATALOG}")
    except duckdb.Error as exc:
        con.close()
        raise StoreError(
            f"cannot open the lake {location.locator}: {first_line(exc)} "
            "(is PostgreSQL running there, and has 'sahelwatch init --db ...' created the lake?)"
        ) from exc
    return con


class _WriteLock:
    """The lake's one write lock: a session advisory lock on the catalog's PostgreSQL server.

    A process keeps one PostgreSQL connection for it; a thread lock first keeps the threads of one
    process in turn (PostgreSQL would let one session take its own lock twice). If the process
    dies, PostgreSQL ends its session and the lock is free again.
    """

    def __init__(self, catalog: str):
        self._catalog = catalog
        self._threads = threading.Lock()
        self._pg = None

    @contextmanager
    def held(self) -> Iterator[None]:
        with self._threads:
            pg = self._connection()
            try:
                pg.execute("SELECT pg_advisory_lock(%s)", [WRITE_LOCK_KEY])
            except Exception as exc:  # psycopg.Error: the connection broke; reconnect next time
                self._drop()
                raise StoreError(f"cannot take the lake's write lock: {first_line(exc)}") from exc
            try:
                yield
            finally:
                try:
                    pg.execute("SELECT pg_advisory_unlock(%s)", [WRITE_LOCK_KEY])
                except Exception:  # a lost session has released the lock with it
                    self._drop()

    def close(self) -> None:
        with self._threads:
            self._drop()

    def _connection(self):
        import psycopg

        if self._pg is None or self._pg.closed:
            try:
                self._pg = psycopg.connect(
                    self._catalog, autocommit=True, connect_timeout=CONNECT_TIMEOUT_S
                )
            except psycopg.Error as exc:
                raise StoreError(
                    f"cannot reach the lake's catalog ({self._catalog}): {first_line(exc)}"
                ) from exc
        return self._pg

    def _drop(self) -> None:
        if self._pg is not None:
            with suppress(Exception):
                self._pg.close()
        self._pg = None


def _with_timeout(catalog: str) -> str:
    return (
        catalog
        if "connect_timeout" in catalog
        else f"{catalog} connect_timeout={CONNECT_TIMEOUT_S}"
    )


def _quote(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"
