"""Pages to stored documents, shared by every flow that finds pages (ingest, backfill).

Only discovery differs between flows; from a `PageJob` on, every page goes the same way: fetched
politely (or taken from the bytes an archive already holds), extracted and language-checked on
all cores, then appended and tagged in short transactions that take the batches finished since
the last one. Plain async functions, not Prefect tasks: per-batch tasks made Prefect's
bookkeeping cost more CPU than extraction.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import numpy as np

from extractors import neardup, page_retry
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
from flows.extraction_queue import ExtractionQueue
from storage import documents, mentions
from storage.stores import AnyStore

# A batch is a few pages of one source, fetched together and written together; each page goes to
# the pool as soon as it is fetched (flows/extraction_queue.py), in hand-offs of PAGE_BATCH_SIZE
# pages at most. A host's pages come one request start per `min_host_delay` (1 s by default).
# With batches of 8 (and 64 of them fetching), handed to the pool whole, the hosts' batches
# arrived in waves and the pool went short of pages between them (2,000-page benchmark: 35.9
# pages/s); batches of 4 arrived twice as smoothly (42.3 pages/s), for twice as many hand-offs
# of about a millisecond each.
PAGE_BATCH_SIZE = 4
# A source's first batches are smaller: a batch holds its fetch slot (BATCHES_FETCHING) until its
# last page is extracted, and at a run's start every host begins at once. With batches of 4 from
# the first, fewer hosts were fetched and the pool waited (2,000-page benchmark, pages handed off
# one by one: runs of 38.3 and 39.2 s, against 33.4 and 34.6 s with these).
FIRST_BATCH_SIZES = (1, 2)
# Two hand-offs per core in flight keep the pool busy while the next ones are pickled.
BATCHES_IN_FLIGHT_PER_WORKER = 2
# Signatures kept for the run's end (near-duplicate grouping), when a flow asks for them
# (`signs`): about 0.75 KB each, so at most ~15 MB; past this, the end signs the rest itself.
MAX_SIGNATURES_KEPT = 20_000
# Writes are spaced so that they take about a tenth of the run at most: after a write, the next
# one waits WRITE_SPACING times as long as it took, and the batches that finish meanwhile join
# it. A write opens the file, appends, and checkpoints as it closes, which grows with the store:
# on the 2,000-page benchmark, 56 writes 1 s apart each took 43 ms to open and 133 ms to close,
# 10 s of the flow process's 33 s of CPU (one write a batch had cost as much CPU as extraction).
WRITE_SPACING = 10
MIN_WRITE_INTERVAL_S = 1.0
# The longest a finished batch waits for its write, however slow writes grow on a large store.
MAX_WRITE_INTERVAL_S = 10.0
# How often a write waiting for its turn looks whether the batches have all finished. Plain
# sleeps, not asyncio.wait_for on an event: on Python 3.11, wait_for returns instead of raising
# when it is cancelled just as the event is set, which the batches' own cancellation does, so a
# Ctrl-C could be lost and the run go on.
DRAIN_CHECK_S = 0.1
# Batches being fetched, or fetched and waiting for the pool, at once: what bounds the memory
# (128 x 4 pages, about 45 MB of 85 KB pages). Fetching is paced by politeness, not CPU, so many
# hosts must be fetched at once to keep the pool fed: fetching only as many batches as the pool
# extracts (4 on 2 cores) left it idle, at about 4 pages/s over 100 hosts; and batches waiting for
# the pool hold their slots, so fewer slots than hosts left hosts unfetched while the pool caught
# up, then the pool idle while they fetched.
BATCHES_FETCHING = 128


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
# Held around the fetch of a batch of one host's pages (its first page's URL given): a slot of
# the host shared with other workers (flows/host_limits.py), when several fetch at once.
SharedHostSlot = Callable[[str], AbstractAsyncContextManager[None]]


@dataclass
class Pipeline:
    store: AnyStore
    fetcher: Fetcher
    pool: ExtractionPool
    tagger: Tagger
    run_id: str
    origin: Origin
    store_lock: asyncio.Lock
    extraction: ExtractionQueue  # fetched pages to the pool
    fetch_slots: asyncio.Semaphore  # batches being fetched or waiting for the pool
    keep: DocumentFilter | None = None
    shared_host_slot: SharedHostSlot | None = None
    # Each run() adds its pages to the progress bar's total; a backfill sets the whole total
    # itself up front (its ETA would otherwise cover one chunk at a time).
    adds_to_total: bool = True
    # Sign each batch's documents for near-duplicate grouping as it is stored, not at the run's
    # end: there the grouping is the longest step and runs alone, while during the run it takes
    # a small share of the cores the workers share.
    signs: bool = False
    signatures: dict[str, np.ndarray] = field(default_factory=dict)
    _waiting: list[_Write] = field(default_factory=list)  # batches waiting for a write
    _host_turns: dict[str, asyncio.Semaphore] = field(default_factory=dict)
    _last_write: float = float("-inf")
    _write_interval: float = MIN_WRITE_INTERVAL_S
    _batches_cut: int = 0  # by run(), so far
    _batches_running: int = 0  # cut by run() and not yet waiting for a write

    @classmethod
    def for_run(
        cls,
        store: AnyStore,
        fetcher: Fetcher,
        pool: ExtractionPool,
        tagger: Tagger,
        run_id: str,
        origin: Origin,
        keep: DocumentFilter | None = None,
    ) -> Pipeline:
        handoffs = BATCHES_IN_FLIGHT_PER_WORKER * pool.workers
        extraction = ExtractionQueue(pool, handoffs, PAGE_BATCH_SIZE)
        fetching = asyncio.Semaphore(BATCHES_FETCHING)
        lock = asyncio.Lock()
        return cls(store, fetcher, pool, tagger, run_id, origin, lock, extraction, fetching, keep)

    async def run(
        self, jobs: Sequence[PageJob], outcome: FeedOutcome, after_store: AfterStore | None = None
    ) -> None:
        """Every job ends as a document, a copy of one, or a skip row; batches overlap."""
        if self.adds_to_total:
            progress.report("total", len(jobs))
        batches = cut_batches(jobs)
        self._batches_cut += len(batches)
        self._batches_running += len(batches)
        await asyncio.gather(*(self._batch(b, outcome, after_store) for b in batches))

    async def _batch(
        self, jobs: Sequence[PageJob], outcome: FeedOutcome, after_store: AfterStore | None
    ) -> None:
        try:
            docs, skips = await self._fetch_and_extract(jobs, outcome)
        finally:
            self._batches_running -= 1
        await self.store_results(docs, skips, outcome, jobs, after_store)

    async def _fetch_and_extract(
        self, jobs: Sequence[PageJob], outcome: FeedOutcome
    ) -> tuple[list[Document], list[Skip]]:
        # The host's turn first, then a fetch slot: slots go to batches of hosts that can be
        # asked now, and are held until the pool has extracted the pages (what bounds the
        # memory). Each page goes to the pool as soon as it is fetched (flows/extraction_queue.py).
        async with self._host_turn(jobs), self._shared_host_slot(jobs):
            await self.fetch_slots.acquire()
            try:
                extracting, skips = await self._fetch(jobs)
            except BaseException:
                self.fetch_slots.release()
                raise
        try:
            # Fetched pages: those extracted, less those whose bytes an archive already held.
            outcome.fetched += len(extracting) - sum(job.body is not None for job in jobs)
            results = await asyncio.gather(*extracting)
        finally:
            self.fetch_slots.release()
        docs = [r for r in results if isinstance(r, Document)]
        skips += [r for r in results if isinstance(r, Skip)]
        if self.keep is not None:
            verdicts = [(doc, self.keep(doc)) for doc in docs]
            docs = [doc for doc, skip in verdicts if skip is None]
            skips += [skip for _, skip in verdicts if skip is not None]
        return docs, skips

    def _host_turn(self, jobs: Sequence[PageJob]) -> asyncio.Semaphore | contextlib.nullcontext:
        """As many batches of a host fetching at once as it may get requests at once
        (`per_host_concurrency`): its politeness delay paces them anyway, and one more would
        hold a fetch slot only to wait for its turn. Not one: a batch waiting on a slow page
        (up to the read timeout) would hold up the host's other feeds."""
        if all(job.body is not None for job in jobs):
            return contextlib.nullcontext()  # an archive's bytes: nothing to fetch
        host = urlsplit(jobs[0].url).netloc
        if host not in self._host_turns:
            at_once = self.fetcher.settings.per_host_concurrency
            self._host_turns[host] = asyncio.Semaphore(at_once)
        return self._host_turns[host]

    def _shared_host_slot(self, jobs: Sequence[PageJob]) -> AbstractAsyncContextManager[None]:
        if self.shared_host_slot is None or all(job.body is not None for job in jobs):
            return contextlib.nullcontext()
        return self.shared_host_slot(jobs[0].url)

    async def _fetch(
        self, jobs: Sequence[PageJob]
    ) -> tuple[list[asyncio.Future[Document | Skip]], list[Skip]]:
        """Each page fetched, then handed to the pool at once; the pages the pool extracts (in
        the jobs' order) and the skips of the fetches that failed."""

        async def fetch(job: PageJob) -> asyncio.Future[Document | Skip] | Skip:
            result = None
            if job.body is None:
                result = await self.fetcher.fetch_page(job.url, origin=job.feed_url or job.url)
            progress.report("advance", 1)
            if result is None:  # an archive's bytes
                item = self._item(job, job.url, job.body, job.content_type)
            elif not result.ok:
                return self._fetch_skip(job, result)
            else:
                content_type = result.headers.get("content-type")
                item = self._item(job, result.final_url, result.body, content_type)
            return self.extraction.submit(item)

        fetched = await asyncio.gather(*(fetch(job) for job in jobs))
        skips = [outcome for outcome in fetched if isinstance(outcome, Skip)]
        return [outcome for outcome in fetched if not isinstance(outcome, Skip)], skips

    def _fetch_skip(self, job: PageJob, result: FetchResult) -> Skip:
        reason = skip_reason_for_fetch(result.error_kind, result.status)
        detail = result.error or str(result.error_kind)
        if reason == SkipReason.FETCH_FAILED and page_retry.is_last_attempt(job.failures):
            reason = SkipReason.GAVE_UP
            detail = f"fetch failed on {job.failures + 1} runs, the last: {detail}"
        return self._skip(job, reason, detail)

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
        """Append, tag what was stored and run `after_store`, in one short transaction.

        The write runs in a thread, so fetching goes on meanwhile (DuckDB releases the GIL), and
        the batches that finish while a write waits or runs go into the next one, spaced by
        WRITE_SPACING; once every batch cut so far has finished, at once.
        """
        found = {d.id: self.tagger.tag(d.text) for d in docs}  # CPU work stays out of the lock
        done = asyncio.get_running_loop().create_future()
        write = _Write(docs, skips, found, jobs, after_store, done)
        self._waiting.append(write)
        async with self.store_lock:
            if not done.done():  # nobody wrote it while this batch waited: write them all
                await self._next_write_turn()
                started = time.monotonic()
                group, self._waiting = self._waiting, []
                try:
                    await self._write_group(group)
                except BaseException:  # cancelled: nobody may wait for a write that never ran
                    for other in group:
                        if not other.done.done():
                            other.done.cancel()
                    raise
                finally:
                    self._space_writes(started)
        result = done.result()
        stored = set(result.stored_ids)
        self._sign([doc for doc in docs if doc.id in stored])
        outcome.stored += len(result.stored_ids)
        outcome.same_url += result.same_url
        outcome.same_text += result.same_text
        # The report counts the rows written, so it always equals `skipped` for the run; a skip
        # already recorded (an item without a link seen again) counts as already known.
        outcome.skipped.update(result.skipped_by_reason)
        outcome.already_known += len(skips) - result.skipped
        outcome.left_for_later += sum(skip.reason in RETRYABLE_SKIPS for skip in skips)

    def _sign(self, docs: Sequence[Document]) -> None:
        """Near-duplicate signatures of the documents a write stored, when the flow keeps them
        (after the write, outside the lock: copies of a stored page are not signed for nothing).
        2,000-page benchmark: the run's grouping took 2.2-2.6 s instead of 3.2-3.4 s."""
        room = MAX_SIGNATURES_KEPT - len(self.signatures) if self.signs else 0
        for doc in docs[: max(room, 0)]:
            self.signatures[doc.id] = neardup.signature(doc.text)

    async def _next_write_turn(self) -> None:
        """Wait out the spacing since the last write, unless the batches have all finished.

        Skips written while feeds are still being polled (no batch cut yet) wait their turn
        too: otherwise each feed's would be a write of its own.
        """
        turn = self._last_write + self._write_interval
        while not self._drained() and (remaining := turn - time.monotonic()) > 0:
            await asyncio.sleep(min(remaining, DRAIN_CHECK_S))

    def _drained(self) -> bool:
        """The batches cut so far have all finished: what waits is all there is to write. Not
        before the first batch, while feeds are still being polled."""
        return self._batches_cut > 0 and self._batches_running == 0

    def _space_writes(self, started: float) -> None:
        self._last_write = time.monotonic()
        took = self._last_write - started
        spacing = WRITE_SPACING * took
        self._write_interval = min(max(spacing, MIN_WRITE_INTERVAL_S), MAX_WRITE_INTERVAL_S)

    async def _write_group(self, group: list[_Write]) -> None:
        """One transaction for the group; if it fails, each batch alone, so one bad batch fails
        only its own feed, as it would have written alone."""
        try:
            results = await asyncio.to_thread(self._append, group)
        except Exception as exc:
            if len(group) == 1:
                group[0].done.set_exception(exc)
                return
            for write in group:
                await self._write_group([write])
            return
        for write, result in zip(group, results, strict=True):
            write.done.set_result(result)

    def _append(self, group: Sequence[_Write]) -> list[documents.AppendResult]:
        with self.store.write() as con:
            batches = [(write.docs, write.skips) for write in group]
            results = documents.append_batches(con, batches, self.run_id)
            stored = {
                i: write.found[i]
                for write, result in zip(group, results, strict=True)
                for i in result.stored_ids
            }
            mentions.replace_mentions(con, stored, self.tagger.version)
            mentions.record_entities(con, self.tagger.entities, self.tagger.version)
            for write in group:
                if write.after_store is not None:
                    write.after_store(con, write.jobs, write.skips)
        return results


def cut_batches(jobs: Sequence[PageJob]) -> list[Sequence[PageJob]]:
    """`jobs` in order, in batches of FIRST_BATCH_SIZES, then of PAGE_BATCH_SIZE."""
    sizes = itertools.chain(FIRST_BATCH_SIZES, itertools.repeat(PAGE_BATCH_SIZE))
    batches, start = [], 0
    while start < len(jobs):
        size = next(sizes)
        batches.append(jobs[start : start + size])
        start += size
    return batches


@dataclass(slots=True)
class _Write:
    """One batch's results, waiting for the write that takes them."""

    docs: list[Document]
    skips: list[Skip]
    found: dict[str, Any]
    jobs: Sequence[PageJob]
    after_store: AfterStore | None
    done: asyncio.Future
