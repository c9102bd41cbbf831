"""The `dedup` flow: group new near-duplicates into stories, or regroup the whole store."""

from __future__ import annotations

import uuid

from prefect import flow
from prefect.runtime import flow_run

from flows.dedup import index_new_documents
from flows.dedup import rebuild as rebuild_index
from flows.run_guard import guarded_run
from flows.store_setup import open_store


@flow(name="dedup")
def dedup_flow(db: str | None = None, rebuild: bool = False, wait_for_store: float = 0) -> dict:
    """Group the store's unindexed documents into stories; `rebuild` regroups all of them."""
    store = open_store(db)
    run_id = str(flow_run.get_id() or uuid.uuid4())
    parameters = {"db": str(store.locator), "rebuild": rebuild}
    with guarded_run(store, "dedup", run_id, parameters, wait_s=wait_for_store) as book:
        counts = rebuild_index(store) if rebuild else index_new_documents(store)
        action = "Rebuilt" if rebuild else "Indexed"
        report = (
            f"{action}: {counts['indexed']} documents indexed, {counts['grouped']} grouped as "
            f"copies into {counts['stories']} stories"
        )
        book.complete(counts, report)
    return {"run_id": run_id, **counts}
