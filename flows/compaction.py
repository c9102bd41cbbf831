"""The `compact_lake` flow: DuckLake maintenance (storage/lake_maintenance.py), as a deployment.

Scheduled daily in prefect.yaml (`sahel-lake-compact`), or run by hand: `sahelwatch compact`.
Its write holds the lake's write lock, so workers' writes wait for it (seconds to minutes on a
large lake); its lease scope is its own, so partition runs are not refused meanwhile.
"""

from __future__ import annotations

import uuid
from dataclasses import asdict
from datetime import timedelta

from prefect import flow
from prefect.runtime import flow_run

from extractors.errors import UsageError
from flows.run_guard import guarded_run
from flows.store_setup import open_store
from storage import lake_maintenance
from storage.lake import LakeStore

# Snapshots younger than this stay, for time travel (`AT (VERSION => n)`) and audits.
DEFAULT_KEEP_SNAPSHOTS_DAYS = 7.0


@flow(name="compact_lake")
def compact_lake(
    db: str | None = None,
    keep_snapshots_days: float = DEFAULT_KEEP_SNAPSHOTS_DAYS,
    wait_for_store: float = 0,
) -> dict:
    """Flush inlined rows, merge small files, expire old snapshots, delete unused files."""
    store = open_store(db)
    if not isinstance(store, LakeStore):
        raise UsageError(
            f"{store.locator} is a DuckDB file, which compacts itself; compaction is for a lake "
            "(--db ducklake:postgres:...?data_path=...)"
        )
    if keep_snapshots_days < 0:
        raise UsageError(f"keep_snapshots_days must be 0 or more, not {keep_snapshots_days}")
    run_id = str(flow_run.get_id() or uuid.uuid4())
    parameters = {"db": store.locator, "keep_snapshots_days": keep_snapshots_days}
    with guarded_run(
        store, "compact_lake", run_id, parameters, wait_s=wait_for_store, scope="compaction"
    ) as book:
        with store.write() as con:
            result = lake_maintenance.compact(con, timedelta(days=keep_snapshots_days))
        counts = asdict(result)
        report = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in counts.items())
        book.complete(counts, f"Compacted: {report}")
    return {"run_id": run_id, **counts, "report": f"compacted: {report}"}
