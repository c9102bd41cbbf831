"""The `ingest_cluster` and `backfill_cluster` flows: one run split over a work pool's workers.

It runs one flow run of the `sahel-ingest-partition` deployment per partition (`i/N`, a share of
the feeds' hosts, extractors/partitions.py), which the pool's workers pick up wherever they are,
and waits for them. A partition whose run ends failed or crashed, or whose worker died under it
(its lease stopped beating, flows/run_guard.py), is run again: pages already stored are known
and not fetched twice, and the store's writes are idempotent, so nothing is lost or doubled.
When every partition is done it groups the new near-copies into stories and refreshes the search
index once, in first-seen order, so the stories do not depend on which worker finished first.

A cluster backfill first discovers the source's pages itself (a `backfill` subflow with
`stage="discover"`: sitemaps are read once), then runs `sahel-backfill-partition` per partition
(`stage="pages"`): each takes the pending pages of its hosts, marks each done in the write that
stores it, and an attempt run again after a worker died resumes at its first page not done.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from prefect import flow, get_run_logger
from prefect.artifacts import acreate_markdown_artifact
from prefect.client.orchestration import get_client
from prefect.deployments import run_deployment
from prefect.runtime import flow_run
from prefect.states import Crashed

from extractors.errors import SahelwatchError
from extractors.ingest_report import IngestReport
from extractors.partitions import Partition, all_partitions
from flows.backfill import backfill, settle_status
from flows.dedup import group_and_index
from flows.run_guard import LEASE_LOST_AFTER_S, guarded_run, is_stale
from flows.store_setup import open_store
from storage import leases, runs
from storage.stores import AnyStore

PARTITION_DEPLOYMENT = "ingest_feeds/sahel-ingest-partition"
BACKFILL_PARTITION_DEPLOYMENT = "backfill/sahel-backfill-partition"
# How often the partitions' states are read; each read is one API call per partition.
POLL_INTERVAL_S = 2.0
# A partition is tried this many times in all before the cluster run gives up on it.
MAX_ATTEMPTS = 3
# Counts summed over the partitions' runs for the cluster run's own report.
SUMMED = ("feeds", "polled", "failed", "items_seen", "already_known", "fetched", "stored",
          "same_url", "same_text", "skipped", "retry_later")  # fmt: skip


@dataclass
class Attempt:
    partition: Partition
    number: int
    flow_run_id: UUID
    outcome: str | None = None  # completed, or why it was given up


@flow(name="ingest_cluster")
async def ingest_cluster(
    feeds: str | None = None,
    watchlist: str | None = None,
    db: str | None = None,
    partitions: int = 4,
    force: bool = False,
    limit: int | None = None,
    deployment: str = PARTITION_DEPLOYMENT,
    max_attempts: int = MAX_ATTEMPTS,
) -> dict:
    """Ingest over `partitions` flow runs of `deployment`, then group stories once."""
    store = open_store(db, watchlist)
    run_id = str(flow_run.get_id() or uuid.uuid4())
    parts = all_partitions(partitions)
    common = {"feeds": feeds, "watchlist": watchlist, "db": store.locator, "force": force,
              "limit": limit, "group_stories": False, "wait_for_store": 600}  # fmt: skip
    parameters = {**common, "partitions": partitions, "deployment": deployment}
    guard = guarded_run(store, "ingest_cluster", run_id, parameters, scope="ingest-cluster")
    with guard as book:
        attempts = await run_partitions(store, parts, deployment, common, max_attempts)
        report = IngestReport(run_id)
        group_and_index(store, report)
        counts, markdown = summarise(store, attempts, report)
        book.complete(counts, markdown)
    await acreate_markdown_artifact(
        markdown=markdown, key="ingest-cluster-report", description=f"sahelwatch {run_id}"
    )
    lost = [a for a in attempts if a.outcome != "completed" and a.number == max_attempts]
    if lost:
        names = ", ".join(f"{a.partition} ({a.outcome})" for a in lost)
        raise SahelwatchError(f"partitions not ingested after {max_attempts} attempts: {names}")
    return {"run_id": run_id, **counts, "report": markdown}


@flow(name="backfill_cluster")
async def backfill_cluster(
    urls_file: str | None = None,
    site: str | None = None,
    sitemap: str | None = None,
    feed_pages: str | None = None,
    directory: str | None = None,
    warc: list[str] | None = None,
    since: str | None = None,
    until: str | None = None,
    rate: float | None = None,
    feeds: str | None = None,
    watchlist: str | None = None,
    db: str | None = None,
    partitions: int = 4,
    deployment: str = BACKFILL_PARTITION_DEPLOYMENT,
    max_attempts: int = MAX_ATTEMPTS,
) -> dict:
    """Discover the source's pages here, process them over `partitions` runs of `deployment`."""
    store = open_store(db, watchlist)
    run_id = str(flow_run.get_id() or uuid.uuid4())
    parts = all_partitions(partitions)
    source = {"urls_file": urls_file, "site": site, "sitemap": sitemap, "feed_pages": feed_pages,
              "directory": directory, "warc": warc, "since": since, "until": until}  # fmt: skip
    common = {**source, "rate": rate, "feeds": feeds, "watchlist": watchlist, "db": store.locator,
              "stage": "pages", "group_stories": False, "wait_for_store": 600}  # fmt: skip
    parameters = {**common, "partitions": partitions, "deployment": deployment}
    guard = guarded_run(store, "backfill_cluster", run_id, parameters, scope="backfill-cluster")
    with guard as book:
        found = await backfill(
            **source, rate=rate, feeds=feeds, watchlist=watchlist, db=store.locator,
            stage="discover", group_stories=False,
        )  # fmt: skip
        attempts = await run_partitions(store, parts, deployment, common, max_attempts)
        report = IngestReport(run_id, title="Cluster backfill", polls_feeds=False)
        group_and_index(store, report)
        status = settle_status(store, found["backfill_id"], units_failed=found.get("units_failed"))
        counts, markdown = summarise(store, attempts, report)
        counts.update(backfill_id=found["backfill_id"], backfill_status=status)
        book.complete(counts, markdown)
    return {"run_id": run_id, **counts, "report": markdown}


async def run_partitions(
    store: AnyStore,
    parts: list[Partition],
    deployment: str,
    common: dict[str, Any],
    max_attempts: int,
) -> list[Attempt]:
    """Every partition run to completion, or given up after `max_attempts`; all attempts."""
    logger = get_run_logger()
    attempts: list[Attempt] = []
    current = {p: await _submit(p, 1, deployment, common) for p in parts}
    attempts += current.values()
    async with get_client() as client:
        while current:
            await asyncio.sleep(POLL_INTERVAL_S)
            for part, attempt in list(current.items()):
                state = (await client.read_flow_run(attempt.flow_run_id)).state
                verdict = _verdict(store, attempt, state)
                if verdict is None:
                    continue
                attempt.outcome = verdict
                del current[part]
                if verdict == "completed":
                    continue
                if state is not None and not state.is_final():
                    await client.set_flow_run_state(
                        attempt.flow_run_id, Crashed(message=verdict), force=True
                    )
                logger.warning("partition %s attempt %d: %s", part, attempt.number, verdict)
                if attempt.number < max_attempts:
                    current[part] = await _submit(part, attempt.number + 1, deployment, common)
                    attempts.append(current[part])
    return attempts


async def _submit(part: Partition, number: int, deployment: str, common: dict) -> Attempt:
    run = await run_deployment(
        deployment,
        parameters={**common, "partition": str(part)},
        timeout=0,  # submitted: the pool's workers pick it up
        flow_run_name=f"partition-{part.index}-of-{part.count}-attempt-{number}",
    )
    return Attempt(part, number, run.id)


def _verdict(store: AnyStore, attempt: Attempt, state) -> str | None:
    """None while the attempt is alive and working; else `completed` or why it is lost."""
    if state is not None and state.is_completed():
        return "completed"
    if state is not None and state.is_final():
        return f"ended {state.name}: {state.message or ''}".strip().rstrip(":")
    run_id = str(attempt.flow_run_id)
    with store.read() as con:
        holder = next((h for h in leases.holders(con) if h.run_id == run_id), None)
        status = runs.status_of(con, run_id)
    if holder is not None:
        return (
            f"its worker stopped ({holder.host}, process {holder.pid})"
            if is_stale(holder)
            else None
        )
    if status in ("interrupted", "failed"):
        return f"its run was {status} in the store"
    # Claimed by a worker (pending) or started, yet never booked in the store: its process died
    # before taking its lease. (A scheduled run is waiting for a free worker: left alone.)
    if state is not None and (state.is_pending() or state.is_running()) and status is None:
        silent = (datetime.now(UTC) - state.timestamp).total_seconds()
        if silent > LEASE_LOST_AFTER_S:
            return f"{state.name.lower()} for {silent:.0f} s without taking the store's lease"
    return None


def summarise(store: AnyStore, attempts: list[Attempt], report: IngestReport) -> tuple[dict, str]:
    """The cluster run's counts: the partitions' summed, and what interrupted attempts stored."""
    ids = [str(a.flow_run_id) for a in attempts]
    with store.read() as con:
        recorded = runs.counts_of(con, ids)
        by_attempts = runs.documents_stored_by(con, ids)
    completed = [str(a.flow_run_id) for a in attempts if a.outcome == "completed"]
    counts: dict[str, Any] = {
        key: sum(int(recorded.get(r, {}).get(key, 0) or 0) for r in completed) for key in SUMMED
    }
    counts["stored_by_interrupted_attempts"] = sum(
        n for r, n in by_attempts.items() if r not in completed
    )
    counts["near_duplicates"] = report.near_duplicates
    counts["partitions"] = len({a.partition for a in attempts})
    counts["attempts"] = len(attempts)
    lines = [
        "| partition | attempt | flow run | outcome | stored |",
        "|---|---|---|---|---|",
        *(
            f"| {a.partition} | {a.number} | {a.flow_run_id} | {a.outcome} "
            f"| {by_attempts.get(str(a.flow_run_id), 0)} |"
            for a in attempts
        ),
    ]
    totals = ", ".join(f"{k} {v}" for k, v in counts.items())
    markdown = f"# Cluster ingest\n\n{totals}\n\n" + "\n".join(lines)
    if report.warnings:
        markdown += "\n\n" + "\n".join(f"- {w}" for w in report.warnings)
    return counts, markdown
