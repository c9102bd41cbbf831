"""Schema versions: a new store gets them all, an older one is brought forward, a newer refused."""

from __future__ import annotations

import duckdb
import pytest

from extractors.errors import SchemaTooNewError
from storage import migrations
from storage.store import Store

PUBLIC_TABLES = {"documents", "document_urls", "mentions", "runs", "skipped", "feed_state"}


def _tables(path) -> set[str]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return {
            r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()
        }
    finally:
        con.close()


def test_empty_store_gets_every_migration(tmp_path):
    store = Store(tmp_path / "new.duckdb")
    applied = store.migrate()
    assert applied == [m.version for m in migrations.available()]
    assert PUBLIC_TABLES | {"schema_migrations"} <= _tables(store.path)


def test_second_migrate_applies_nothing(tmp_path):
    store = Store(tmp_path / "s.duckdb")
    store.migrate()
    assert store.migrate() == []


def test_older_store_is_brought_forward_and_keeps_its_rows(tmp_path):
    path = tmp_path / "old.duckdb"
    con = duckdb.connect(str(path))
    migrations.migrate(con, str(path), upto=1)
    con.execute(
        "INSERT INTO runs (run_id, flow, started_at, status) "
        "VALUES ('old-run', 'ingest_feeds', now(), 'completed')"
    )
    con.close()

    applied = Store(path).migrate()

    assert applied == [m.version for m in migrations.available() if m.version > 1]
    con = duckdb.connect(str(path), read_only=True)
    assert con.execute("SELECT run_id FROM runs").fetchall() == [("old-run",)]
    assert con.execute("SELECT max(version) FROM schema_migrations").fetchone() == (
        migrations.latest_version(),
    )
    con.close()


def test_store_from_a_newer_sahelwatch_is_refused(tmp_path):
    store = Store(tmp_path / "future.duckdb")
    store.migrate()
    future = migrations.latest_version() + 1
    with store.write() as con:
        con.execute("INSERT INTO schema_migrations (version, name) VALUES (?, 'future')", [future])
    with pytest.raises(SchemaTooNewError, match=f"schema version {future}"):
        store.migrate()
