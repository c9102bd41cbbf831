"""The `dedup` flow and `sahelwatch dedup`: group new near-duplicates, or regroup everything."""

from __future__ import annotations

import argparse

from prefect import flow

from flows.dedup import index_new_documents
from flows.dedup import rebuild as rebuild_index
from flows.store_setup import open_store


@flow(name="dedup")
def dedup_flow(db: str | None = None, rebuild: bool = False) -> dict:
    """Group the store's unindexed documents into stories; `rebuild` regroups all of them."""
    store = open_store(db)
    return rebuild_index(store) if rebuild else index_new_documents(store)


def run_dedup_cli(args: argparse.Namespace) -> int:
    result = dedup_flow(db=args.db, rebuild=args.rebuild)
    action = "rebuilt" if args.rebuild else "indexed"
    print(
        f"{action}: {result['indexed']} documents indexed, {result['grouped']} grouped as "
        f"copies into {result['stories']} stories"
    )
    return 0
