"""Pages to stored documents, shared by every flow that finds pages (ingest, backfill).

Only discovery differs between flows; from a `PageJob` on, every page goes the same way: fetched
politely (or taken from the bytes an archive already holds), extracted and language-checked on
all cores, then appended and tagged in one short transaction per batch. Plain async functions,
not Prefect tasks: per-batch tasks made Prefect's bookkeeping cost more CPU than extraction.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from extractors import page_retry
from extractors.article import FetchedItem
from extractors.feed_entries import FeedEntry
from extractors.ingest_report import FeedOutcome
from extractors.models import (
    RETRYABLE_SKIPS,
    Document,
    Origin,
    Skip,
    SkipReason,
    skip_reason_for_fetch,
)
from extractors.tagger import Tagger
from fetching.client import Fetcher, FetchResult
from flows import progress
from flows.extraction_pool import ExtractionPool
from storage import documents, mentions
from storage.store import Store

# Pages go to the process pool in batches: large enough to amortise the hand-off between
# processes, small enough that the progress bar moves and a failure costs little.
PAGE_BATCH_SIZE = 16
# Two batches per core in flight (fetching or extracting) keep the pool busy without holding
# more than a few dozen pages in memory at once.
BATCHES_IN_FLIGHT_PER_WORKER = 2


@dataclass(frozen=True, slots=True)
class PageJob:
    """One page to turn into a document, and what its source said about it."""

    url: str
    canonical: str
    entry: FeedEntry  # the feed's item, or the title/date hints of a sitemap or archive
    source: str
    feed_url: str | None
    discovered_by: str
    body: bytes | None = None  # the bytes an archive already holds; None: fetch the URL
    content_type: str | None = None
    failures: int = 0  # earlier runs whose fetch of this page failed (extractors/page_retry.py)


# Called inside each batch's write transaction with the connection, the batch's jobs and its
# skips, so a flow records its own progress atomically with the documents (a backfill's marks).
AfterStore = Callable[[Any, Sequence[PageJob], Sequence[Skip]], None]
# Turns a document into a skip after extraction (a backfill's date window), or keeps it (None).
DocumentFilter = Callable[[Document], Skip | None]


@dataclass
class Pipeline:
    store: Store
    fetcher: Fetcher
    pool: ExtractionPool
    tagger: Tagger
    run_id: str
    origin: Origin
    store_lock: asyncio.Lock
    batch_slots: asyncio.Semaphore
    keep: DocumentFilter | None = None
    # Each run() adds its pages to the progress bar's total; a backfill sets the whole total
    # itself up front (its ETA would otherwise cover one chunk at a time).
    adds_to_total: bool = True

    @classmethod
    def for_run(
        cls,
        store: Store,
        fetcher: Fetcher,
        pool: ExtractionPool,
        tagger: Tagger,
        run_id: str,
        origin: Origin,
        keep: DocumentFilter | None = None,
    ) -> Pipeline:
        slots = asyncio.Semaphore(BATCHES_IN_FLIGHT_PER_WORKER * pool.workers)
        return cls(store, fetcher, pool, tagger, run_id, origin, asyncio.Lock(), slots, keep)

    async def run(
        self, jobs: Sequence[PageJob], outcome: FeedOutcome, after_store: AfterStore | None = None
    ) -> None:
        """Every job ends as a document, a copy of one, or a skip row; batches overlap."""
        if self.adds_to_total:
            progress.report("total", len(jobs))
        batches = [jobs[i : i + PAGE_BATCH_SIZE] for i in range(0, len(jobs), PAGE_BATCH_SIZE)]
        await asyncio.gather(*(self._batch(b, outcome, after_store) for b in batches))

    async def _batch(
        self, jobs: Sequence[PageJob], outcome: FeedOutcome, after_store: AfterStore | None
    ) -> None:
        async with self.batch_slots:
            items, skips = await self._fetch(jobs)
            # Fetched pages: the items, less those whose bytes an archive already held.
            outcome.fetched += len(items) - sum(job.body is not None for job in jobs)
            results = await self.pool.extract(items, datetime.now(UTC))
        docs = [r for r in results if isinstance(r, Document)]
        skips += [r for r in results if isinstance(r, Skip)]
        if self.keep is not None:
            verdicts = [(doc, self.keep(doc)) for doc in docs]
            docs = [doc for doc, skip in verdicts if skip is None]
            skips += [skip for _, skip in verdicts if skip is not None]
        await self.store_results(docs, skips, outcome, jobs, after_store)

    async def _fetch(self, jobs: Sequence[PageJob]) -> tuple[list[FetchedItem], list[Skip]]:
        async def fetch(job: PageJob) -> FetchResult | None:
            result = None
            if job.body is None:
                origin = job.feed_url or job.url
                result = await self.fetcher.fetch_page(job.url, origin=origin)
            progress.report("advance", 1)
            return result

        results = await asyncio.gather(*(fetch(job) for job in jobs))
        items, skips = [], []
        for job, result in zip(jobs, results, strict=True):
            if result is None:
                items.append(self._item(job, job.url, job.body, job.content_type))
            elif result.ok:
                content_type = result.headers.get("content-type")
                items.append(self._item(job, result.final_url, result.body, content_type))
            else:
                reason = skip_reason_for_fetch(result.error_kind, result.status)
                detail = result.error or str(result.error_kind)
                if reason == SkipReason.FETCH_FAILED and page_retry.is_last_attempt(job.failures):
                    reason = SkipReason.GAVE_UP
                    detail = f"fetch failed on {job.failures + 1} runs, the last: {detail}"
                skips.append(self._skip(job, reason, detail))
        return items, skips

    def _item(
        self, job: PageJob, final_url: str, body: bytes | None, content_type: str | None
    ) -> FetchedItem:
        return FetchedItem(
            job.url,
            job.canonical,
            final_url,
            body,
            content_type,
            datetime.now(UTC),
            job.entry,
            job.source,
            job.feed_url or "",
            self.origin,
            self.run_id,
            job.discovered_by,
        )

    @staticmethod
    def _skip(job: PageJob, reason, detail: str) -> Skip:
        return Skip(
            job.url, job.canonical, job.feed_url, job.source, reason, detail, job.discovered_by
        )

    async def store_results(
        self,
        docs: list[Document],
        skips: list[Skip],
        outcome: FeedOutcome,
        jobs: Sequence[PageJob] = (),
        after_store: AfterStore | None = None,
    ) -> None:
        """Append, tag what was stored and run `after_store`, in one short transaction."""
        found = {d.id: self.tagger.tag(d.text) for d in docs}  # CPU work stays out of the lock
        async with self.store_lock:
            with self.store.write() as con:
                result = documents.append(con, docs, skips, self.run_id)
                stored = {i: found[i] for i in result.stored_ids}
                mentions.replace_mentions(con, stored, self.tagger.version)
                mentions.record_entities(con, self.tagger.entities, self.tagger.version)
                if after_store is not None:
                    after_store(con, jobs, skips)
        outcome.stored += len(result.stored_ids)
        outcome.same_url += result.same_url
        outcome.same_text += result.same_text
        # The report counts the rows written, so it always equals `skipped` for the run; a skip
        # already recorded (an item without a link seen again) counts as already known.
        outcome.skipped.update(result.skipped_by_reason)
        outcome.already_known += len(skips) - result.skipped
        outcome.left_for_later += sum(skip.reason in RETRYABLE_SKIPS for skip in skips)
