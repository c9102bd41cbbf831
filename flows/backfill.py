"""The `backfill` flow: an archive for a period, through the same pipeline as `ingest_feeds`.

Discovery (`flows/backfill_sources.py`) records each unit's pages in the store; pages are then
processed in chunks, one Prefect task per chunk (Prefect's bookkeeping stays a small share of a
bulk run), each page marked done in the transaction that stores it. Started again with the same
arguments, a backfill resumes where it stopped.
"""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from prefect import flow, task
from prefect.artifacts import acreate_markdown_artifact
from prefect.cache_policies import NO_CACHE
from prefect.runtime import flow_run

from extractors import saved_pages, warc_pages
from extractors.date_window import DateWindow, parse_window
from extractors.errors import SourceError, UsageError
from extractors.feed_entries import FeedEntry
from extractors.feeds_config import FeedsConfig
from extractors.ingest_report import FeedOutcome, IngestReport
from extractors.models import RETRYABLE_SKIPS, Document, Origin, Skip, SkipReason
from extractors.partitions import Partition, parse_partition
from extractors.tagger import Tagger
from fetching.client import Fetcher
from flows import dedup, progress
from flows.backfill_sources import Source, Unit, choose_source, discover, dry_run_counts
from flows.config_files import load_feeds, load_watchlist
from flows.extraction_pool import ExtractionPool
from flows.pipeline import PageJob, Pipeline
from flows.run_guard import RunBook, guarded_run
from flows.store_setup import open_store
from reports.run_chart import new_documents_chart
from storage import backfills, documents
from storage.backfills import BackfillItem
from storage.stores import AnyStore

# Pages per Prefect task: a few hundred keep Prefect's per-task cost a small share of the run and
# bound the bytes held for archive sources (WARC records, saved files) to a few dozen MB.
CHUNK_PAGES = 200
# What a run does: both steps (the default), or one of them for a cluster backfill
# (flows/cluster.py), whose coordinator discovers and whose partition runs fetch the pages.
STAGES = ("all", "discover", "pages")


@flow(name="backfill")
async def backfill(
    urls_file: str | None = None,
    site: str | None = None,
    sitemap: str | None = None,
    feed_pages: str | None = None,
    directory: str | None = None,
    warc: list[str] | None = None,
    since: str | None = None,
    until: str | None = None,
    rate: float | None = None,
    limit: int | None = None,
    dry_run: bool = False,
    db: str | None = None,
    watchlist: str | None = None,
    feeds: str | None = None,
    wait_for_store: float = 0,
    stage: str = "all",
    partition: str | None = None,
    group_stories: bool = True,
) -> dict:
    """Pull one source's pages published in [since, until] into the store; resumable.

    `stage` "discover" only records the source's pages, "pages" only processes pending ones;
    `partition` ("i/N") processes only the pages whose host falls in that partition, under a
    lease of its own, so that N runs share a backfill (flows/cluster.py); `group_stories` False
    leaves stories and the search index to the run that follows them all.
    """
    started = time.monotonic()
    if stage not in STAGES:
        raise UsageError(f"stage must be one of {', '.join(STAGES)}, not {stage!r}")
    part = parse_partition(partition) if partition else None
    kind, locators = choose_source(urls_file, site, sitemap, feed_pages, directory, warc)
    window = parse_window(since, until)
    config = load_feeds(feeds)
    source = Source(kind, locators, window, outlet_names(config))
    network = config.network if rate is None else replace(config.network, min_host_delay=1 / rate)
    if dry_run:
        async with Fetcher(network) as fetcher:
            return await dry_run_counts(source, fetcher)
    tagger = Tagger(load_watchlist(watchlist))
    store = open_store(db, watchlist)
    run_id = str(flow_run.get_id() or uuid.uuid4())
    backfill_id = backfill_key(source)
    parameters = {
        "backfill_id": backfill_id,
        "kind": kind,
        "locator": source.locator,
        "since": since,
        "until": until,
        "rate": rate,
        "limit": limit,
    }
    report = IngestReport(run_id, title="Backfill run", polls_feeds=False)
    outcome = FeedOutcome(kind, source.locator, status="ok")
    report.feeds.append(outcome)
    parameters.update(stage=stage, partition=partition)
    scope = _lease_scope(stage, part)
    guard = guarded_run(store, "backfill", run_id, parameters, wait_s=wait_for_store, scope=scope)
    with guard as book:
        async with Fetcher(network) as fetcher:
            if stage != "pages":
                with store.write() as con:
                    window_bounds = (window.since, window.until)
                    backfills.register(
                        con, backfill_id, kind, source.locator, window_bounds, parameters, run_id
                    )
                await discover_units(store, source, fetcher, backfill_id, run_id, report, outcome)
            if stage != "discover":
                with ExtractionPool() as pool:
                    keep = inside_window(window)
                    pipeline = Pipeline.for_run(
                        store, fetcher, pool, tagger, run_id, Origin.BACKFILL, keep
                    )
                    pipeline.adds_to_total = False  # process_pending sets the whole total
                    await process_pending(pipeline, backfill_id, limit, source, outcome, part)
        whole = part is None and stage == "all"
        result = finish(store, book, backfill_id, report, started, group_stories, whole)
    await acreate_markdown_artifact(
        markdown=result["report"],
        key="backfill-report",
        description=f"sahelwatch backfill {run_id}",
    )
    await acreate_markdown_artifact(
        markdown=new_documents_chart(result), key="backfill-new-documents", description="per source"
    )
    return result


def _lease_scope(stage: str, part: Partition | None) -> str | None:
    """A plain backfill holds the whole store; the steps of a cluster backfill hold their own."""
    if part is not None:
        return f"backfill:{part}"
    return "backfill:discovery" if stage == "discover" else None


def backfill_key(source: Source) -> str:
    """The same source and window give the same backfill: that is what makes it resumable."""
    window = [str(source.window.since), str(source.window.until)]
    raw = json.dumps([source.kind, list(source.locators), window])
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()[:16]


def outlet_names(config: FeedsConfig):
    """The outlet name of a page: the feed list's name for its host (and port), else the host."""
    by_host = {urlsplit(f.url).netloc.lower(): f.name for f in config.feeds}

    def name(url: str) -> str:
        host = urlsplit(url).netloc.lower()
        return by_host.get(host) or host or "unknown"

    return name


def inside_window(window: DateWindow):
    """A page whose own date is outside the window becomes an `outside_window` skip."""

    def keep(doc: Document) -> Skip | None:
        if window.contains(doc.published_at) is not False:
            return None  # inside, or undated: kept (the source could not date it either)
        return Skip(
            doc.url,
            doc.canonical_url,
            doc.feed_url,
            doc.source,
            SkipReason.OUTSIDE_WINDOW,
            f"published {doc.published_at:%Y-%m-%d %H:%M} UTC",
            doc.discovered_by,
        )

    return keep


@task(name="discover", cache_policy=NO_CACHE)
async def discover_units(
    store: AnyStore,
    source: Source,
    fetcher: Fetcher,
    backfill_id: str,
    run_id: str,
    report: IngestReport,
    outcome: FeedOutcome,
) -> None:
    """Record every unit of the source not done yet, with its pages, unit by unit."""
    with store.read() as con:
        done = backfills.done_units(con, backfill_id)
    units = 0
    async for unit in discover(source, fetcher, done):
        units += 1
        record_unit(store, backfill_id, unit, run_id, report, outcome)
    report.extra["units_read"] = units


def record_unit(
    store: AnyStore,
    backfill_id: str,
    unit: Unit,
    run_id: str,
    report: IngestReport,
    outcome: FeedOutcome,
) -> None:
    """One unit and its pages in one transaction; a unit that failed is retried next run."""
    if unit.warning:
        report.warnings.append(unit.warning)
    if unit.failed:
        report.extra["units_failed"] = report.extra.get("units_failed", 0) + 1
        return
    with store.write() as con:
        added = backfills.record_unit(con, backfill_id, unit.name, unit.items, unit.outside_window)
        written = documents.record_skips(con, unit.skips, run_id)
    # pages seen for the first time (a page listed by two sitemaps counts once), unusable entries
    outcome.items_seen += added + len(unit.skips)
    outcome.skipped.update(written)  # the rows written: the report equals `skipped`
    outcome.already_known += len(unit.skips) - sum(written.values())
    report.extra["outside_window_by_source"] = (
        report.extra.get("outside_window_by_source", 0) + unit.outside_window
    )
    for kind, n in unit.passed_over.items():
        key = f"archive_records_passed_over:{kind}"
        report.extra[key] = report.extra.get(key, 0) + n


async def process_pending(
    pipeline: Pipeline,
    backfill_id: str,
    limit: int | None,
    source: Source,
    outcome: FeedOutcome,
    part: Partition | None = None,
) -> None:
    """Every page not done yet (of the partition's hosts), in discovery order and chunks, up to
    `limit` pages this run."""
    after, budget = 0, limit
    with pipeline.store.read() as con:
        pending = backfills.counts(con, backfill_id)["pending"]
    progress.report("total", min(pending, limit or pending))
    while budget is None or budget > 0:
        size = CHUNK_PAGES if budget is None else min(CHUNK_PAGES, budget)
        with pipeline.store.read() as con:
            listed = backfills.pending_items(con, backfill_id, after, size)
        if not listed:
            break
        after = listed[-1].seq
        items = [i for i in listed if part is None or part.owns(i.url)]
        if items:
            await process_chunk(pipeline, backfill_id, items, source, outcome)
        budget = None if budget is None else budget - len(items)
    with pipeline.store.read() as con:
        outcome.left_for_later = backfills.counts(con, backfill_id)["pending"]


@task(name="backfill_chunk", cache_policy=NO_CACHE)
async def process_chunk(
    pipeline: Pipeline,
    backfill_id: str,
    items: Sequence[BackfillItem],
    source: Source,
    outcome: FeedOutcome,
) -> None:
    """Pages already stored are marked done; the rest go through the pipeline."""
    async with pipeline.store_lock:  # a batch may be being written in a thread
        with pipeline.store.read() as con:
            known = documents.known_urls(con, [i.canonical_url for i in items])
    if known:
        async with pipeline.store_lock:
            with pipeline.store.write() as con:
                backfills.mark_done(con, backfill_id, [(u, "known") for u in known])
        outcome.already_known += len(known)
        progress.report("advance", len(known))
    jobs, unreadable = load_jobs([i for i in items if i.canonical_url not in known], source)
    if unreadable:
        await pipeline.store_results([], unreadable, outcome, after_store=mark(backfill_id))
        progress.report("advance", len(unreadable))
    await pipeline.run(jobs, outcome, after_store=mark(backfill_id))


def mark(backfill_id: str):
    """Mark a batch's pages done inside its write; pages that failed for a retryable reason stay
    pending, so the next run of the same backfill tries them again."""

    def after_store(con: Any, jobs: Sequence[PageJob], skips: Sequence[Skip]) -> None:
        outcomes = {job.canonical: "document" for job in jobs}
        outcomes.update({s.canonical_url: str(s.reason) for s in skips if s.canonical_url})
        retryable = {str(reason) for reason in RETRYABLE_SKIPS}
        done = [(url, why) for url, why in outcomes.items() if why not in retryable]
        backfills.mark_done(con, backfill_id, done)

    return after_store


def load_jobs(items: Sequence[BackfillItem], source: Source) -> tuple[list[PageJob], list[Skip]]:
    """Page jobs; archive pages come with their bytes, read from the file or WARC record."""
    jobs, unreadable = [], []
    for item in items:
        entry = FeedEntry(item.url, item.title_hint, None, item.published_hint, "", "", None)
        job = PageJob(
            item.url,
            item.canonical_url,
            entry,
            source.source_name(item.url),
            _origin(source),
            item.discovered_by,
        )
        if item.locator is None:
            jobs.append(job)
            continue
        try:
            body, content_type = read_archived(item.locator)
        except (OSError, SourceError) as exc:
            unreadable.append(
                Skip(
                    item.url,
                    item.canonical_url,
                    None,
                    job.source,
                    SkipReason.UNREADABLE,
                    str(exc)[:300],
                    item.discovered_by,
                )
            )
            continue
        jobs.append(replace(job, body=body, content_type=content_type))
    return jobs, unreadable


def _origin(source: Source) -> str | None:
    """Pages found through a site, sitemap or feed share its origin for the address guard."""
    return source.locators[0] if source.kind in {"site", "sitemap", "feed_pages"} else None


def read_archived(locator: str) -> tuple[bytes, str | None]:
    """A saved page (a path) or a WARC record ('path@offset'): its bytes and content type."""
    path, _, offset = locator.rpartition("@")
    if path and offset.isdigit():
        with open(path, "rb") as stream:
            record = warc_pages.read_warc_page(stream, int(offset), name=path)
        if isinstance(record, warc_pages.WarcPassed):
            raise SourceError(locator, f"is no longer an HTML page ({record.kind})")
        return warc_pages.decoded_body(record), record.content_type
    data = Path(locator).read_bytes()
    return saved_pages.saved_page_bytes(data, locator), "text/html"


def settle_status(store: AnyStore, backfill_id: str, units_failed: int | None = None) -> str:
    """`completed` once no page is pending and every unit was read, else `partial`; recorded."""
    with store.write() as con:
        totals = backfills.counts(con, backfill_id)
        status = "completed" if totals["pending"] == 0 and not units_failed else "partial"
        backfills.set_status(con, backfill_id, status)
    return status


def finish(
    store: AnyStore,
    book: RunBook,
    backfill_id: str,
    report: IngestReport,
    started: float,
    group_stories: bool = True,
    whole: bool = True,
) -> dict:
    """Group stories and book the run; `whole` (not one step of a cluster backfill): also the
    backfill's status, which a cluster backfill's coordinator sets once every part is done."""
    if group_stories:
        dedup.group_and_index(store, report)
    failed_units = report.extra.get("units_failed")
    status = settle_status(store, backfill_id, failed_units) if whole else "set by its cluster run"
    with store.read() as con:
        totals = backfills.counts(con, backfill_id)
    report.extra.update(
        {
            "backfill_pages_found": totals["found"],
            "backfill_pages_done": totals["done"],
            "backfill_pages_pending": totals["pending"],
        }
    )
    report.duration_s = time.monotonic() - started
    counts, markdown = report.counts(), report.to_markdown()
    with store.read() as con:  # per outlet, for the chart (a backfill polls no feed)
        per_source = documents.stored_per_source(con, book.run_id)
    counts = {
        **counts,
        "per_feed": [{"source": name, "stored": n} for name, n in per_source.items()],
        "backfill_id": backfill_id,
        "backfill_status": status,
    }
    book.complete(counts, markdown)
    return {"run_id": book.run_id, **counts, "report": markdown}
