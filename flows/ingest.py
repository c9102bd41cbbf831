"""The `ingest_feeds` flow: feeds to French documents in the store, politely, nothing lost.

Orchestration only: fetching is `fetching/`, pages go through `flows.pipeline` like a
backfill's, every decision about an item is in `extractors/`, every SQL statement in `storage/`.
A run is one Prefect flow run, without tasks: a task per feed poll cost Prefect's API 4-5 s of
CPU over the benchmark's 100 feeds (0.6-0.8 s without them) and its task engine about 0.9 s in
this process, some 6% of the run's CPU, for what the run's report already gives feed by feed.
The states of the feeds that finished are saved when the run ends, interrupted or not; pages
already stored are never fetched again in any case.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

from prefect import flow, get_run_logger
from prefect.artifacts import acreate_markdown_artifact
from prefect.runtime import flow_run

from extractors import feed_schedule, page_retry
from extractors.feed_entries import FeedEntry, ParsedFeed
from extractors.feed_schedule import FeedState
from extractors.feeds_config import FeedsConfig, FeedSource
from extractors.ingest_report import FeedOutcome, IngestReport
from extractors.models import Origin, Skip, SkipReason, unlinked_item_keys
from extractors.partitions import parse_partition
from extractors.tagger import Tagger
from extractors.urls import UnusableLink, absolute_url, canonical_url
from fetching.client import Fetcher, FetchResult
from flows import dedup
from flows.config_files import load_feeds, load_watchlist
from flows.extraction_pool import ExtractionPool
from flows.host_limits import HostLimits
from flows.pipeline import PageJob, Pipeline
from flows.run_guard import RunBook, guarded_run
from flows.store_setup import open_store
from flows.url_lookups import UrlLookups
from reports.run_chart import new_documents_chart
from storage import documents, feed_state

Alias = tuple[str, str, str, str]  # (raw URL, canonical URL, source, feed URL)


@dataclass
class RunContext:
    pipeline: Pipeline
    limit: int | None
    # Feeds finished so far, with their new state: saved when the run ends, however it ends.
    finished: list[tuple[FeedOutcome, FeedState]] = field(default_factory=list)
    # Other raw URLs of the pages seen in this run, recorded with the feed states.
    aliases: list[Alias] = field(default_factory=list)
    aliases_recorded: int = 0
    force: bool = False  # also retry pages whose fetch failed before their back-off ends
    lookups: UrlLookups = field(init=False)

    def __post_init__(self) -> None:
        self.lookups = UrlLookups(self.pipeline.store, self.pipeline.store_lock)


@flow(name="ingest_feeds")
async def ingest_feeds(
    feeds: str | None = None,
    feed_urls: list[str] | None = None,
    db: str | None = None,
    limit: int | None = None,
    force: bool = False,
    watchlist: str | None = None,
    origin: str = "feed",
    wait_for_store: float = 0,
    partition: str | None = None,
    group_stories: bool = True,
) -> dict:
    """Poll the due feeds once, store what is new and return the run's counts.

    `wait_for_store`: seconds to wait when another run is writing the store, then give up.
    `partition` ("i/N"): only the feeds whose host falls in that partition
    (extractors/partitions.py), under a lease of that partition alone, fetching under each host's
    Prefect concurrency limit, so that N such runs write one lake side by side.
    `group_stories` False leaves near-duplicate grouping and the search index to whoever runs
    after all partitions (flows/cluster.py), so stories do not depend on which finished first.
    """
    started = time.monotonic()
    config = load_feeds(feeds)
    part = parse_partition(partition) if partition else None
    tagger = Tagger(load_watchlist(watchlist))
    store = open_store(db, watchlist)
    run_id = str(flow_run.get_id() or uuid.uuid4())
    parameters = {
        "feeds": feeds,
        "feed_urls": feed_urls,
        "db": str(store.locator),
        "limit": limit,
        "force": force,
        "origin": origin,
        "partition": partition,
    }
    scope = part.scope if part else None
    guard = guarded_run(
        store, "ingest_feeds", run_id, parameters, wait_s=wait_for_store, scope=scope
    )
    with guard as book:
        with store.read() as con:
            states = feed_state.load_states(con)
        report = IngestReport(run_id)
        selected = [f for f in select_feeds(config, feed_urls) if part is None or part.owns(f.url)]
        now = datetime.now(UTC)
        due = [
            f
            for f in selected
            if force or feed_urls or feed_schedule.is_due(states.get(f.url), now)
        ]
        report.feeds += [
            FeedOutcome(f.name, f.url, status="not_due") for f in selected if f not in due
        ]
        limits = HostLimits(config.network.per_host_concurrency, part) if part else None
        with ExtractionPool() as pool:
            async with Fetcher(config.network) as fetcher, limits or contextlib.nullcontext():
                pipeline = Pipeline.for_run(store, fetcher, pool, tagger, run_id, Origin(origin))
                pipeline.shared_host_slot = limits.slot if limits else None
                pipeline.signs = group_stories  # for the grouping in `finish`
                ctx = RunContext(pipeline, limit, force=force)
                try:
                    await asyncio.gather(
                        *(
                            ingest_feed(ctx, f, states.get(f.url) or FeedState(f.url, f.name))
                            for f in due
                        )
                    )
                finally:  # interrupted or not, what finished is kept: its feeds are not redone
                    save_finished_feeds(ctx)
        order = {f.url: n for n, f in enumerate(due)}
        ctx.finished.sort(key=lambda done: order[done[0].url])
        report.feeds += [outcome for outcome, _ in ctx.finished]
        states = [state for _, state in ctx.finished]
        result = finish(ctx, book, report, states, started, group_stories=group_stories)
    artifact_id = await acreate_markdown_artifact(
        markdown=result["report"], key="ingest-report", description=f"sahelwatch ingest {run_id}"
    )
    await acreate_markdown_artifact(
        markdown=new_documents_chart(result), key="ingest-new-documents", description="per source"
    )
    return {**result, "artifact_id": str(artifact_id)}


def select_feeds(config: FeedsConfig, feed_urls: Sequence[str] | None) -> list[FeedSource]:
    """All enabled feeds, or just the ones asked for (an unknown URL gets default settings)."""
    if not feed_urls:
        return list(config.enabled_feeds)
    by_url = {f.url: f for f in config.feeds}
    return [by_url.get(url) or FeedSource(name=canonical_url(url), url=url) for url in feed_urls]


async def ingest_feed(ctx: RunContext, feed: FeedSource, state: FeedState) -> None:
    """One feed, start to end. Whatever goes wrong fails this feed only."""
    aliases: list[Alias] = []
    try:
        outcome, new_state = await _ingest_feed(ctx, feed, state, aliases)
    except Exception as exc:
        get_run_logger().exception("feed %s failed", feed.url)
        outcome = FeedOutcome(
            feed.name, feed.url, status="failed", error=f"{type(exc).__name__}: {exc}"[:300]
        )
        interval = timedelta(minutes=feed.poll_interval_minutes)
        new_state = feed_schedule.after_failure(
            state, datetime.now(UTC), interval, outcome.error or ""
        )
    ctx.finished.append((outcome, new_state))
    ctx.aliases += aliases


def save_finished_feeds(ctx: RunContext) -> None:
    """The states of the feeds that finished, and their pages' other URLs, in one write."""
    pipeline = ctx.pipeline
    with pipeline.store.write() as con:
        feed_state.save_states(con, [state for _, state in ctx.finished])
        ctx.aliases_recorded = documents.record_url_aliases(con, ctx.aliases, pipeline.run_id)


async def _ingest_feed(
    ctx: RunContext, feed: FeedSource, state: FeedState, aliases: list[Alias]
) -> tuple[FeedOutcome, FeedState]:
    outcome = FeedOutcome(feed.name, feed.url)
    now = datetime.now(UTC)
    unconditional = feed_schedule.wants_unconditional(state, now)
    result = await poll_feed(ctx.pipeline.fetcher, feed, state, unconditional)
    interval = timedelta(minutes=feed.poll_interval_minutes)
    body_hash = hashlib.sha256(result.body).hexdigest() if result.body else None
    parsed = await _parse_if_changed(ctx.pipeline.pool, result, body_hash, state, outcome)
    if outcome.status == "failed":
        return outcome, feed_schedule.after_failure(state, now, interval, outcome.error or "")
    if parsed is not None:
        await ingest_entries(ctx, feed, parsed.entries, outcome, aliases)
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


async def _parse_if_changed(
    pool: ExtractionPool,
    result: FetchResult,
    body_hash: str | None,
    state: FeedState,
    outcome: FeedOutcome,
) -> ParsedFeed | None:
    """The parsed feed, or None when it is unchanged; sets outcome.status either way."""
    if not result.ok:
        outcome.status, outcome.error = "failed", result.error or result.error_kind
        return None
    if result.not_modified or (body_hash is not None and body_hash == state.body_hash):
        outcome.status = "unchanged"
        return None
    content_type = result.headers.get("content-type")
    parsed = await pool.parse_feed(result.body or b"", result.final_url, content_type)
    if not parsed.is_feed:
        outcome.status, outcome.error = "failed", f"not a feed ({parsed.warning or 'no entries'})"
        return None
    outcome.status, outcome.warning = "ok", parsed.warning
    return parsed


async def poll_feed(
    fetcher: Fetcher, feed: FeedSource, state: FeedState, unconditional: bool
) -> FetchResult:
    if unconditional:
        return await fetcher.fetch_feed(feed.url)
    return await fetcher.fetch_feed(feed.url, etag=state.etag, last_modified=state.last_modified)


async def ingest_entries(
    ctx: RunContext,
    feed: FeedSource,
    entries: Sequence[FeedEntry],
    outcome: FeedOutcome,
    aliases: list[Alias],
) -> None:
    jobs, skips = await plan_items(ctx, feed, entries, outcome, aliases)
    if skips:
        await ctx.pipeline.store_results([], skips, outcome)
    await ctx.pipeline.run(jobs, outcome)


async def plan_items(
    ctx: RunContext,
    feed: FeedSource,
    entries: Sequence[FeedEntry],
    outcome: FeedOutcome,
    aliases: list[Alias],
) -> tuple[list[PageJob], list[Skip]]:
    """Pages to fetch, and skips for unusable links; other URLs of a page are noted as aliases."""
    outcome.items_seen = len(entries)
    discovered_by = f"feed:{feed.url}"
    candidates, skips, seen = [], [], set()
    keys = unlinked_item_keys([entry.guid for entry in entries])
    for entry, key in zip(entries, keys, strict=True):
        try:
            url = absolute_url(entry.link, feed.url)
        except UnusableLink as exc:
            reason = SkipReason.NO_LINK if not (entry.link or "").strip() else SkipReason.BAD_LINK
            detail = f"{exc} (title: {entry.title or '-'})"[:500]
            link = entry.link or ""
            skips.append(Skip(link, None, feed.url, feed.name, reason, detail, discovered_by, key))
            continue
        canonical = canonical_url(url)
        aliases.append((url, canonical, feed.name, feed.url))
        if canonical in seen:
            outcome.already_known += 1
            continue
        seen.add(canonical)
        candidates.append(PageJob(url, canonical, entry, feed.name, feed.url, discovered_by))
    known, failed = await ctx.lookups.lookup([job.canonical for job in candidates])
    planned = [job for job in candidates if job.canonical not in known]
    outcome.already_known += len(candidates) - len(planned)
    planned = [replace(job, failures=failed.get(job.canonical, (0, None))[0]) for job in planned]
    if not ctx.force:  # a page that failed waits out its back-off, as a failing feed does
        now = datetime.now(UTC)
        due = [j for j in planned if page_retry.retry_due(*failed.get(j.canonical, (0, None)), now)]
        outcome.retry_later += len(planned) - len(due)
        outcome.left_for_later += len(planned) - len(due)
        planned = due
    if ctx.limit is not None:
        outcome.left_for_later += max(0, len(planned) - ctx.limit)
        planned = planned[: ctx.limit]
    return planned, skips


def finish(
    ctx: RunContext,
    book: RunBook,
    report: IngestReport,
    states: list[FeedState],
    started: float,
    *,
    group_stories: bool = True,
) -> dict:
    """Group near-copies, record late aliases, and book the run as completed with its report."""
    now = datetime.now(UTC)
    report.dead_feeds = [s.source or s.feed_url for s in states if feed_schedule.is_dead(s)]
    report.silent_feeds = [
        s.source or s.feed_url for s in states if feed_schedule.is_silent(s, now)
    ]
    store, run_id = ctx.pipeline.store, ctx.pipeline.run_id
    if group_stories:
        dedup.group_and_index(store, report, ctx.pipeline.signatures)
    report.alias_urls = ctx.aliases_recorded
    report.duration_s = time.monotonic() - started
    counts, markdown = report.counts(), report.to_markdown()
    book.complete(counts, markdown)
    return {"run_id": run_id, **counts, "report": markdown}
