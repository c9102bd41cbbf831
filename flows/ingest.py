"""The `ingest_feeds` flow: feeds to French documents in the store, politely, nothing lost.

Orchestration only: fetching is `flows.fetcher`, every decision about an item is in
`extractors/`, every SQL statement in `storage/`. One task per feed poll and per batch of pages.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from prefect import flow, get_run_logger, task
from prefect.artifacts import acreate_markdown_artifact
from prefect.cache_policies import NO_CACHE
from prefect.runtime import flow_run

from extractors import feed_schedule
from extractors.article import FetchedItem
from extractors.errors import StoreError, StoreLockedError
from extractors.feed_entries import FeedEntry, ParsedFeed, parse_feed
from extractors.feed_schedule import FeedState
from extractors.feeds_config import FeedsConfig, FeedSource
from extractors.ingest_report import FeedOutcome, IngestReport
from extractors.models import (
    RETRYABLE_SKIPS,
    Document,
    Origin,
    Skip,
    SkipReason,
    skip_reason_for_fetch,
)
from extractors.tagger import Tagger
from extractors.urls import UnusableLink, absolute_url, canonical_url
from flows import dedup, progress
from flows.config_files import load_feeds, load_watchlist
from flows.extraction_pool import ExtractionPool
from flows.fetcher import Fetcher, FetchResult
from flows.store_setup import open_store
from reports.run_chart import new_documents_chart
from storage import documents, feed_state, fulltext, mentions, runs
from storage.store import Store

# Pages go to the process pool in batches: large enough to amortise the hand-off between
# processes, small enough that the progress bar moves and a failure costs little.
PAGE_BATCH_SIZE = 16
# Two batches per core in flight (fetching or extracting) keep the pool busy without holding
# more than a few dozen pages in memory at once.
BATCHES_IN_FLIGHT_PER_WORKER = 2


@dataclass
class RunContext:
    run_id: str
    store: Store
    fetcher: Fetcher
    pool: ExtractionPool
    tagger: Tagger
    origin: Origin
    limit: int | None
    store_lock: asyncio.Lock
    batch_slots: asyncio.Semaphore
    # Other raw URLs of pages seen in this run; recorded once every feed's pages are stored.
    aliases: list[tuple[str, str, str, str]] = field(default_factory=list)


@flow(name="ingest_feeds")
async def ingest_feeds(
    feeds: str | None = None,
    feed_urls: list[str] | None = None,
    db: str | None = None,
    limit: int | None = None,
    force: bool = False,
    watchlist: str | None = None,
    origin: str = "feed",
) -> dict:
    """Poll the due feeds once, store what is new and return the run's counts."""
    started = time.monotonic()
    config = load_feeds(feeds)
    tagger = Tagger(load_watchlist(watchlist))
    store = open_store(db, watchlist)
    run_id = str(flow_run.get_id() or uuid.uuid4())
    parameters = {
        "feeds": feeds,
        "feed_urls": feed_urls,
        "db": str(store.path),
        "limit": limit,
        "force": force,
        "origin": origin,
    }
    with store.write() as con:
        runs.start_run(con, run_id, "ingest_feeds", parameters)
        states = feed_state.load_states(con)
    report = IngestReport(run_id)
    selected = select_feeds(config, feed_urls)
    now = datetime.now(UTC)
    due = [
        f for f in selected if force or feed_urls or feed_schedule.is_due(states.get(f.url), now)
    ]
    report.feeds += [FeedOutcome(f.name, f.url, status="not_due") for f in selected if f not in due]
    try:
        with ExtractionPool() as pool:
            async with Fetcher(config.network) as fetcher:
                ctx = RunContext(
                    run_id,
                    store,
                    fetcher,
                    pool,
                    tagger,
                    Origin(origin),
                    limit,
                    asyncio.Lock(),
                    asyncio.Semaphore(BATCHES_IN_FLIGHT_PER_WORKER * pool.workers),
                )
                outcomes = await asyncio.gather(
                    *(
                        ingest_feed(ctx, f, states.get(f.url) or FeedState(f.url, f.name))
                        for f in due
                    )
                )
        report.feeds += [o for o, _ in outcomes]
        return await finish(ctx, report, [s for _, s in outcomes], started)
    except BaseException as exc:
        with store.write() as con:  # what was stored stays; the run says it did not complete
            runs.finish_run(con, run_id, "failed", report.counts(), f"{type(exc).__name__}: {exc}")
        raise


def select_feeds(config: FeedsConfig, feed_urls: Sequence[str] | None) -> list[FeedSource]:
    """All enabled feeds, or just the ones asked for (an unknown URL gets default settings)."""
    if not feed_urls:
        return list(config.enabled_feeds)
    by_url = {f.url: f for f in config.feeds}
    return [by_url.get(url) or FeedSource(name=canonical_url(url), url=url) for url in feed_urls]


async def ingest_feed(
    ctx: RunContext, feed: FeedSource, state: FeedState
) -> tuple[FeedOutcome, FeedState]:
    """One feed, start to end. Whatever goes wrong here fails this feed only, never the run."""
    try:
        return await _ingest_feed(ctx, feed, state)
    except Exception as exc:
        get_run_logger().exception("feed %s failed", feed.url)
        outcome = FeedOutcome(
            feed.name, feed.url, status="failed", error=f"{type(exc).__name__}: {exc}"[:300]
        )
        interval = timedelta(minutes=feed.poll_interval_minutes)
        return outcome, feed_schedule.after_failure(
            state, datetime.now(UTC), interval, outcome.error or ""
        )


async def _ingest_feed(
    ctx: RunContext, feed: FeedSource, state: FeedState
) -> tuple[FeedOutcome, FeedState]:
    outcome = FeedOutcome(feed.name, feed.url)
    now = datetime.now(UTC)
    unconditional = feed_schedule.wants_unconditional(state, now)
    result = await poll_feed(ctx.fetcher, feed, state, unconditional)
    interval = timedelta(minutes=feed.poll_interval_minutes)
    body_hash = hashlib.sha256(result.body).hexdigest() if result.body else None
    parsed = _parse_if_changed(result, body_hash, state, outcome)
    if outcome.status == "failed":
        return outcome, feed_schedule.after_failure(state, now, interval, outcome.error or "")
    if parsed is not None:
        await ingest_entries(ctx, feed, parsed.entries, outcome)
    new_state = feed_schedule.after_success(
        state,
        now,
        interval,
        changed=parsed is not None,
        new_items=outcome.items_seen - outcome.already_known,
        etag=result.headers.get("etag"),
        last_modified=result.headers.get("last-modified"),
        body_hash=body_hash,
        unconditional=unconditional,
        complete=outcome.left_for_later == 0,
    )
    return outcome, new_state


def _parse_if_changed(
    result: FetchResult, body_hash: str | None, state: FeedState, outcome: FeedOutcome
) -> ParsedFeed | None:
    """The parsed feed, or None when it is unchanged; sets outcome.status either way."""
    if not result.ok:
        outcome.status, outcome.error = "failed", result.error or result.error_kind
        return None
    if result.not_modified or (body_hash is not None and body_hash == state.body_hash):
        outcome.status = "unchanged"
        return None
    parsed = parse_feed(result.body or b"", result.final_url, result.headers.get("content-type"))
    if not parsed.is_feed:
        outcome.status, outcome.error = "failed", f"not a feed ({parsed.warning or 'no entries'})"
        return None
    outcome.status, outcome.warning = "ok", parsed.warning
    return parsed


@task(name="poll_feed", cache_policy=NO_CACHE)
async def poll_feed(
    fetcher: Fetcher, feed: FeedSource, state: FeedState, unconditional: bool
) -> FetchResult:
    if unconditional:
        return await fetcher.fetch_feed(feed.url)
    return await fetcher.fetch_feed(feed.url, etag=state.etag, last_modified=state.last_modified)


async def ingest_entries(
    ctx: RunContext, feed: FeedSource, entries: Sequence[FeedEntry], outcome: FeedOutcome
) -> None:
    planned, skips = await plan_items(ctx, feed, entries, outcome)
    if skips:
        await store_batch(ctx, [], skips, outcome)
    progress.report("total", len(planned))
    batches = [planned[i : i + PAGE_BATCH_SIZE] for i in range(0, len(planned), PAGE_BATCH_SIZE)]
    # Batches overlap: while one is extracted the next is fetched, so every core has work. The
    # fetcher keeps each host polite; the run's batch slots bound the pages held in memory.
    await asyncio.gather(*(ingest_batch(ctx, feed, batch, outcome) for batch in batches))


async def ingest_batch(
    ctx: RunContext,
    feed: FeedSource,
    batch: list[tuple[str, str, FeedEntry]],
    outcome: FeedOutcome,
) -> None:
    async with ctx.batch_slots:
        fetched, fetch_skips = await fetch_pages(ctx.fetcher, feed, batch, ctx.run_id, ctx.origin)
        outcome.fetched += len(fetched)
        results = await extract_pages(ctx.pool, fetched)
    docs = [r for r in results if isinstance(r, Document)]
    skipped = fetch_skips + [r for r in results if isinstance(r, Skip)]
    await store_batch(ctx, docs, skipped, outcome)


async def plan_items(
    ctx: RunContext, feed: FeedSource, entries: Sequence[FeedEntry], outcome: FeedOutcome
) -> tuple[list[tuple[str, str, FeedEntry]], list[Skip]]:
    """(url, canonical, entry) to fetch and skips for unusable links; other URLs are noted."""
    outcome.items_seen = len(entries)
    candidates, skips, seen = [], [], set()
    for entry in entries:
        try:
            url = absolute_url(entry.link, feed.url)
        except UnusableLink as exc:
            reason = SkipReason.NO_LINK if not (entry.link or "").strip() else SkipReason.BAD_LINK
            skips.append(
                Skip(
                    entry.link or f"(no link: {entry.title or entry.guid or '?'})",
                    None,
                    feed.url,
                    feed.name,
                    reason,
                    str(exc),
                )
            )
            continue
        canonical = canonical_url(url)
        ctx.aliases.append((url, canonical, feed.name, feed.url))
        if canonical in seen:
            outcome.already_known += 1
            continue
        seen.add(canonical)
        candidates.append((url, canonical, entry))
    async with ctx.store_lock:
        with ctx.store.read() as con:
            known = documents.known_urls(con, [c for _, c, _ in candidates])
    planned = [c for c in candidates if c[1] not in known]
    outcome.already_known += len(candidates) - len(planned)
    if ctx.limit is not None:
        outcome.left_for_later += max(0, len(planned) - ctx.limit)
        planned = planned[: ctx.limit]
    return planned, skips


@task(name="fetch_pages", cache_policy=NO_CACHE)
async def fetch_pages(
    fetcher: Fetcher,
    feed: FeedSource,
    batch: Sequence[tuple[str, str, FeedEntry]],
    run_id: str,
    origin: Origin,
) -> tuple[list[FetchedItem], list[Skip]]:
    async def fetch(url: str) -> FetchResult:
        result = await fetcher.fetch_page(url, origin=feed.url)
        progress.report("advance", 1)
        return result

    results = await asyncio.gather(*(fetch(url) for url, _, _ in batch))
    items, skips = [], []
    for (url, canonical, entry), result in zip(batch, results, strict=True):
        if result.ok:
            items.append(
                FetchedItem(
                    url,
                    canonical,
                    result.final_url,
                    result.body,
                    result.headers.get("content-type"),
                    datetime.now(UTC),
                    entry,
                    feed.name,
                    feed.url,
                    origin,
                    run_id,
                )
            )
        else:
            reason = skip_reason_for_fetch(result.error_kind, result.status)
            skips.append(
                Skip(
                    url,
                    canonical,
                    feed.url,
                    feed.name,
                    reason,
                    result.error or str(result.error_kind),
                )
            )
    return items, skips


@task(name="extract_pages", cache_policy=NO_CACHE)
async def extract_pages(pool: ExtractionPool, items: list[FetchedItem]) -> list[Document | Skip]:
    return await pool.extract(items, datetime.now(UTC))


@task(
    name="store_batch",
    cache_policy=NO_CACHE,
    retries=3,
    retry_delay_seconds=2,
    retry_condition_fn=lambda task, run, state: _is_lock_error(state),
)
async def store_batch(
    ctx: RunContext, docs: list[Document], skips: list[Skip], outcome: FeedOutcome
) -> None:
    """Append, then tag what was stored, in one short transaction; then group near-copies."""
    found = {d.id: ctx.tagger.tag(d.text) for d in docs}  # CPU work stays out of the lock
    async with ctx.store_lock:
        with ctx.store.write() as con:
            result = documents.append(con, docs, skips, ctx.run_id)
            mentions.replace_mentions(
                con, {i: found[i] for i in result.stored_ids}, ctx.tagger.version
            )
            mentions.record_entities(con, ctx.tagger.entities, ctx.tagger.version)
    outcome.stored += len(result.stored_ids)
    outcome.same_url += result.same_url
    outcome.same_text += result.same_text
    for skip in skips:
        outcome.skipped[str(skip.reason)] += 1
        outcome.left_for_later += skip.reason in RETRYABLE_SKIPS


def _is_lock_error(state) -> bool:
    try:
        state.result()
    except StoreLockedError:
        return True
    except Exception:
        return False
    return False


async def finish(
    ctx: RunContext, report: IngestReport, states: list[FeedState], started: float
) -> dict:
    now = datetime.now(UTC)
    report.dead_feeds = [s.source or s.feed_url for s in states if feed_schedule.is_dead(s)]
    report.silent_feeds = [
        s.source or s.feed_url for s in states if feed_schedule.is_silent(s, now)
    ]
    try:
        report.near_duplicates = dedup.index_new_documents(ctx.store)["grouped"]
    except StoreError as exc:  # the documents are stored; grouping waits for a rebuild
        report.warnings.append(f"near-duplicates not grouped: {exc}")
    fulltext.refresh(ctx.store)  # rebuilds the search index only if documents were added
    report.duration_s = time.monotonic() - started
    with ctx.store.write() as con:
        report.alias_urls = documents.record_url_aliases(con, ctx.aliases, ctx.run_id)
        feed_state.save_states(con, states)
        counts, markdown = report.counts(), report.to_markdown()
        runs.finish_run(con, ctx.run_id, "completed", counts, markdown)
    artifact_id = await acreate_markdown_artifact(
        markdown=markdown, key="ingest-report", description=f"sahelwatch ingest run {ctx.run_id}"
    )
    await acreate_markdown_artifact(
        markdown=new_documents_chart(counts), key="ingest-new-documents", description="per source"
    )
    return {"run_id": ctx.run_id, **counts, "report": markdown, "artifact_id": str(artifact_id)}


def run_ingest_cli(args) -> int:
    """`sahelwatch ingest`: run the flow once with a progress bar, then print the summary."""
    with progress.progress_bar("fetching pages", enabled=False if args.no_progress else None):
        result = asyncio.run(
            ingest_feeds(
                feeds=args.feeds,
                feed_urls=args.feed or None,
                db=args.db,
                limit=args.limit,
                force=args.force,
                watchlist=args.watchlist,
            )
        )
    print(result["report"])
    return 0
