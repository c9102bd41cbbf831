"""Lake compaction: fewer files, old snapshots gone, the same rows; a DuckDB file is refused."""

from __future__ import annotations

import pytest

from extractors.errors import UsageError
from flows.compaction import compact_lake
from flows.store_setup import open_store
from storage import documents, lake_maintenance
from storage.stores import store_at
from tests.storage.test_documents import make_doc
from tests.support.store_snapshot import snapshot

WRITES = 6


def _many_small_writes(locator: str) -> None:
    store = store_at(locator)
    for n in range(WRITES):  # each write leaves its own small Parquet files and a snapshot
        with store.write() as con:
            docs = [
                make_doc(f"http://a.example/{n}/{i}", f"Texte {n} {i} sur Gao.") for i in range(3)
            ]
            documents.append(con, docs, [], run_id=f"run-{n}")
    store.close()


def _files_and_snapshots(locator: str) -> tuple[int, int]:
    store = store_at(locator)
    try:
        with store.write() as con:  # (ducklake_list_files reads through the write attachment)
            files = lake_maintenance.data_files(con)
            (snapshots,) = con.execute("SELECT count(*) FROM ducklake_snapshots('lake')").fetchone()
        return files, snapshots
    finally:
        store.close()


def test_compaction_merges_files_and_expires_snapshots_keeping_every_row(prefect_api, lake_locator):
    open_store(lake_locator).close()  # created and seeded, as the flow would
    _many_small_writes(lake_locator)
    before_rows = snapshot(lake_locator)
    files_before, snapshots_before = _files_and_snapshots(lake_locator)

    result = compact_lake(db=lake_locator, keep_snapshots_days=0)

    files_after, snapshots_after = _files_and_snapshots(lake_locator)
    assert result["files_merged"] > 0 and result["snapshots_expired"] > 0
    assert files_after < files_before
    assert snapshots_after < snapshots_before
    assert snapshot(lake_locator) == before_rows


def test_a_duckdb_file_is_refused_with_the_reason(prefect_api, tmp_path):
    with pytest.raises(UsageError, match="compacts itself"):
        compact_lake(db=str(tmp_path / "store.duckdb"))
