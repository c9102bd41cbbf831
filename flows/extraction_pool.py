"""Extraction and language detection on all cores: a process pool fed page bytes in batches,
and the ingest's feeds to parse (`ExtractionPool.parse_feed`).

Each page is extracted within a CPU-time bound and each worker within an address-space bound:
a small page crafted to cost trafilatura a minute and a gigabyte (a "cost bomb") becomes an
`extraction_timeout` skip, and the rest of the batch goes on. A worker killed all the same (a
C call that never returns to Python, the kernel's CPU limit) breaks the pool: the pool is then
replaced and the batch's pages are extracted one by one, so only the culprit is skipped.
"""

from __future__ import annotations

import asyncio
import gc
import multiprocessing
import os
import resource
import signal
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from datetime import datetime
from functools import partial

from extractors.article import FetchedItem, PageBoundExceeded, process_batch, skip_for
from extractors.errors import UsageError
from extractors.feed_entries import ParsedFeed, parse_feed
from extractors.models import Document, Skip, SkipReason
from flows.process_life import die_with_parent

# CPU seconds one page may take in trafilatura and langdetect. A news page takes 20-100 ms and
# the largest pages MAX_ELEMENTS lets through ~4 s; a cost bomb took 55 s.
PAGE_CPU_SECONDS = 10.0
# After the bound is reached, the timer fires again this often, in case a library's bare
# `except:` swallowed the first one.
_REFIRE_S = 0.5
# The kernel's own CPU limit, past the page's bound: kills a worker stuck in a C call that never
# gives the timer's exception a chance. The pool is then replaced (see `extract`).
_KERNEL_GRACE_S = 5
# Address space per worker: an idle worker maps ~120 MiB and a large page needs ~200 MiB more;
# a bomb grew to 1 GiB of resident memory. Past this, allocations fail (MemoryError: the page is
# skipped) instead of the machine swapping.
WORKER_ADDRESS_SPACE_BYTES = 1024 * 1024 * 1024
# A page whose worker died this many times in single-page tries is the culprit: skipped. Twice,
# because a page tried alone can still lose its worker to another batch's culprit.
_DEATHS_BEFORE_BLAME = 2


# Extraction processes per run: one per core by default. Several workers sharing one machine
# (process workers of a cluster ingest, README "Past one machine") divide its cores with this.
WORKERS_ENV_VAR = "SAHELWATCH_EXTRACT_WORKERS"


def default_workers() -> int:
    """`SAHELWATCH_EXTRACT_WORKERS` when set, else the number of cores."""
    raw = os.environ.get(WORKERS_ENV_VAR, "").strip()
    if not raw:
        return os.cpu_count() or 1
    if not raw.isdigit() or int(raw) < 1:
        raise UsageError(f"{WORKERS_ENV_VAR} must be a whole number of 1 or more, not {raw!r}")
    return int(raw)


class ExtractionPool:
    """A process pool started once per run; `spawn` because the flow process runs threads."""

    def __init__(
        self,
        workers: int | None = None,
        page_cpu_s: float | None = None,
        address_space_bytes: int | None = None,
    ) -> None:
        self.workers = workers or default_workers()
        # Read at run time, so a test can lower the module's constants for a quick bomb.
        self.page_cpu_s = page_cpu_s or PAGE_CPU_SECONDS
        self.address_space = address_space_bytes or WORKER_ADDRESS_SPACE_BYTES
        self.replaced = 0  # pools replaced after a worker died
        self._executor: ProcessPoolExecutor | None = None

    def __enter__(self) -> ExtractionPool:
        self._executor = self._start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)

    def _start(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            self.workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_prepare_worker,
            initargs=(self.address_space, os.getpid()),
        )

    async def extract(self, items: list[FetchedItem], now: datetime) -> list[Document | Skip]:
        if not items:
            return []
        executor = self._running()
        try:
            return await self._submit(executor, items, now)
        except BrokenProcessPool:
            self._replace(executor)
        results: list[Document | Skip] = []
        for item in items:  # alone, so that only the page that kills its worker is skipped
            results.append(await self._extract_alone(item, now))
        return results

    async def parse_feed(self, body: bytes, url: str, content_type: str | None) -> ParsedFeed:
        """feedparser on a worker. It is pure Python, about 10 ms a feed: in the flow process it
        held the event loop, so every request and robots.txt in flight, for a second of a
        100-feed run's start, while the workers sat idle with no page yet. A feed whose worker
        died or ran out of memory (or beside which another task broke the pool) is parsed in
        the flow process instead, as before."""
        executor = self._running()
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(executor, parse_feed, body, url, content_type)
        except BrokenProcessPool:
            self._replace(executor)
        except MemoryError:
            pass
        return parse_feed(body, url, content_type)

    def _running(self) -> ProcessPoolExecutor:
        if self._executor is None:
            raise RuntimeError("ExtractionPool used outside its 'with' block")
        return self._executor

    async def _submit(
        self, executor: ProcessPoolExecutor, items: list[FetchedItem], now: datetime
    ) -> list[Document | Skip]:
        loop = asyncio.get_running_loop()
        work = partial(_extract_batch, items, now, self.page_cpu_s)
        return await loop.run_in_executor(executor, work)

    async def _extract_alone(self, item: FetchedItem, now: datetime) -> Document | Skip:
        for _ in range(_DEATHS_BEFORE_BLAME):
            executor = self._running()
            try:
                (result,) = await self._submit(executor, [item], now)
                return result
            except BrokenProcessPool:
                self._replace(executor)
        detail = f"the page killed its extraction worker {_DEATHS_BEFORE_BLAME} times"
        return skip_for(item, SkipReason.EXTRACTION_TIMEOUT, detail)

    def _replace(self, broken: ProcessPoolExecutor) -> None:
        """A new pool, once per broken one (every batch in flight sees the same breakage)."""
        if self._executor is not broken:
            return
        broken.shutdown(wait=False, cancel_futures=True)
        self._executor = self._start()
        self.replaced += 1


def _extract_batch(
    items: list[FetchedItem], now: datetime, page_cpu_s: float
) -> list[Document | Skip]:
    """Worker: one batch, each page within the CPU-time bound."""
    return process_batch(items, now, partial(_cpu_bound, page_cpu_s))


@contextmanager
def _cpu_bound(seconds: float) -> Iterator[None]:
    """Raise PageBoundExceeded in this worker once the page has used `seconds` of CPU time;
    behind it, the kernel kills the worker if the exception never gets its chance."""
    used = resource.getrusage(resource.RUSAGE_SELF)
    spent = used.ru_utime + used.ru_stime
    _, hard = resource.getrlimit(resource.RLIMIT_CPU)
    soft = int(spent + seconds + _KERNEL_GRACE_S) + 1
    if hard != resource.RLIM_INFINITY:
        soft = min(soft, hard)
    resource.setrlimit(resource.RLIMIT_CPU, (soft, hard))
    signal.setitimer(signal.ITIMER_PROF, seconds, _REFIRE_S)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0, 0)


def _on_cpu_bound(signum: int, frame: object) -> None:
    raise PageBoundExceeded("CPU-time bound of the page exceeded")


def _prepare_worker(address_space: int, parent_pid: int) -> None:
    """Bound the worker, ignore Ctrl-C (the parent stops the pool), load what the extractors
    keep, then freeze it.

    The terminal sends SIGINT to the whole process group: workers that died of it mid-batch
    would break the pool instead of letting the run end cleanly.

    trafilatura's cache reset after each batch calls gc.collect(); with the libraries' long-lived
    objects (langdetect's profiles above all) frozen out of the collector's reach, it takes
    0.2 ms instead of ~60 ms per batch.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGPROF, _on_cpu_bound)
    die_with_parent(signal.SIGKILL, parent_pid)  # `kill -9` of the run leaves no worker behind
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard == resource.RLIM_INFINITY or address_space < hard:
        resource.setrlimit(resource.RLIMIT_AS, (address_space, hard))
    from extractors.language import detect_language

    detect_language("Chargement des profils de langue au démarrage du processus.")
    gc.freeze()
