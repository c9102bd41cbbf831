"""Extraction throughput on all cores: trafilatura alone, then the pipeline's CPU stage.

Ingestion is CPU-bound in one place, the process pool that turns page bytes into documents. Its
cost is trafilatura's plus what `extractors.article.process_batch` adds around it (decoding, date
choice, language detection, hashing, dropping trafilatura's caches after each batch). This
benchmark times both over the same pages so that the added cost shows as a ratio (the roadmap wants
the pipeline at 0.8 of trafilatura alone or better), and checks that a worker's memory stays flat
over many batches (trafilatura keeps LRU caches that `process_batch` resets).

The pages are the demo site's article pages, copied until there are `pages` of them; each copy
gets a unique sentence at the end of its longest paragraph and a unique URL, so no page's result
can be reused from an earlier copy (line-level caches still see each outlet's repeated furniture,
as they would on a real site). Pools are started and warmed up before any clock runs. Speed is
measured here, never asserted in tests.
"""

from __future__ import annotations

import asyncio
import contextlib
import html as html_entities
import math
import multiprocessing
import os
import re
import resource
import time
from collections import Counter
from concurrent.futures import Executor, ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import trafilatura

from demo.site_server import CONTENT_TYPES, SITE_ROOT, load_outlets
from extractors.article import FetchedItem, build_document, process_batch
from extractors.encoding import declared_charset, decode_html
from extractors.errors import UsageError
from extractors.feed_entries import FeedEntry
from extractors.models import Document, Origin, Skip
from flows.extraction_pool import ExtractionPool

DEFAULT_PAGES = 400  # about ten copies of each demo article: a few seconds per pass on 2 cores
DEFAULT_ROUNDS = 3  # the best of a few passes: other processes only ever make a pass slower
# 40 batches of 16 pages in one worker: long enough for an unbounded cache to show as growth.
MEMORY_BATCHES = 40
# Memory is compared with its level after this batch, once imports and first-use caches settle.
MEMORY_BASELINE_BATCH = 5
# What the demo server sends for a page that has no Content-Type override.
HTML_CONTENT_TYPE = CONTENT_TYPES[".html"]
# The demo's placeholders, replaced by one fixed base: the pages are never served here.
PLACEHOLDER = re.compile(rb"\{\{BASE(?::[a-z0-9-]+)?\}\}")
BASE_URL = "http://127.0.0.1:8000"
# The longest run of text that closes a paragraph is article prose, not the page's furniture,
# whatever the template: <p> paragraphs, or an old CMS's text separated by <br /><br />. (Runs
# ending elsewhere include JSON-LD scripts, which are longer than any paragraph.)
TEXT_RUN = re.compile(rb">([^<]+)(?=</p>|<br)", re.I)
TITLE = re.compile(r"""<meta[^>]+property=["']og:title["'][^>]+content=["']([^"']+)""", re.I)
# The demo news falls between 12 and 19 March 2025: feed dates and "now" are plausible for it.
FEED_DATE = datetime(2025, 3, 15, 8, 0, tzinfo=UTC)
NOW = datetime(2025, 3, 20, 12, 0, tzinfo=UTC)
# What `extractors.article.extract_page` passes to trafilatura for dates (the page's metadata
# and the feed give the date; htmldate's extensive search is not needed).
PIPELINE_DATE_PARAMS = {"extensive_search": False}
# Warm-up tasks hold their worker this long, so that every worker gets one and imports trafilatura.
WARM_UP_HOLD_S = 0.3
WARM_UP_BATCH_PAGES = 4


@dataclass(frozen=True, slots=True)
class Template:
    """One demo article page as served: bytes with the base URL in place, and its headers."""

    path: str  # URL path on its outlet, e.g. /actualites/2025/03/13/kidal.html
    outlet: str
    body: bytes
    content_type: str
    encoding: str  # what the bytes really are, so the added sentence is written in it
    title: str | None


def run(
    pages: int = DEFAULT_PAGES, rounds: int = DEFAULT_ROUNDS, memory_batches: int = MEMORY_BATCHES
) -> dict:
    """Pages per second of trafilatura alone and of `process_batch`, and a worker's memory."""
    # Imported here, not at the top: pool workers import this module to run its functions, and
    # `flows.ingest` would make each of them load Prefect.
    from flows.pipeline import PAGE_BATCH_SIZE

    if pages < 1 or rounds < 1 or memory_batches <= MEMORY_BASELINE_BATCH:
        raise UsageError(
            f"bench.extraction needs pages >= 1, rounds >= 1 and memory_batches >"
            f" {MEMORY_BASELINE_BATCH}; got {pages}, {rounds} and {memory_batches}"
        )
    workers = os.cpu_count() or 1
    templates = load_templates()
    items = [copy_item(templates, n) for n in range(pages)]
    batches = [items[i : i + PAGE_BATCH_SIZE] for i in range(0, pages, PAGE_BATCH_SIZE)]

    timings = _time_passes(batches, workers, rounds)
    documents = [r for r in timings.results if isinstance(r, Document)]
    if not documents:
        raise RuntimeError(
            f"process_batch made no document of {pages} pages: {timings.results[:3]}"
        )
    memory = _measure_memory(memory_batches, PAGE_BATCH_SIZE)
    return {
        "workers": workers,
        "pages": pages,
        "distinct_templates": len(templates),
        "mean_page_kb": round(sum(len(i.body or b"") for i in items) / pages / 1024, 1),
        "batch_size": PAGE_BATCH_SIZE,
        "rounds": rounds,
        "trafilatura_pages_per_s": round(pages / timings.alone, 1),
        "trafilatura_pipeline_options_pages_per_s": round(
            pages / timings.alone_pipeline_options, 1
        ),
        "pipeline_pages_per_s": round(pages / timings.pipeline, 1),
        "pipeline_vs_trafilatura": round(timings.alone / timings.pipeline, 3),
        "pipeline_vs_trafilatura_pipeline_options": round(
            timings.alone_pipeline_options / timings.pipeline, 3
        ),
        "pipeline_one_batch_in_flight_pages_per_s": round(pages / timings.one_in_flight, 1),
        "documents": len(documents),
        "skipped": dict(Counter(str(r.reason) for r in timings.results if isinstance(r, Skip))),
        "memory_batches": memory_batches,
        **memory,
    }


# --------------------------------------------------------------------------- the corpus


def load_templates(root: Path = SITE_ROOT) -> list[Template]:
    """Every article page of the demo site (outlet home pages are not articles)."""
    templates = []
    for outlet in load_outlets(root):
        outlet_dir = root / outlet.slug
        for file in sorted(outlet_dir.rglob("*.html")):
            if file.parent == outlet_dir:
                continue  # the outlet's home page
            relative = file.relative_to(outlet_dir).as_posix()
            path = "/" + relative.removesuffix("index.html")
            override = outlet.overrides.get(path)
            if override is not None and override.status is not None:
                continue  # never served as a page
            headers = override.headers if override is not None else {}
            content_type = headers.get("Content-Type", HTML_CONTENT_TYPE)
            body = PLACEHOLDER.sub(BASE_URL.encode(), file.read_bytes())
            html, encoding = decode_html(body, declared_charset(content_type))
            title = TITLE.search(html)
            templates.append(
                Template(
                    path,
                    outlet.slug,
                    body,
                    content_type,
                    encoding,
                    html_entities.unescape(title.group(1)) if title else None,
                )
            )
    return templates


def copy_item(templates: list[Template], n: int) -> FetchedItem:
    """The n-th page of the corpus: a template with a sentence and a URL of its own."""
    template = templates[n % len(templates)]
    url = f"{BASE_URL}{template.path}?copie={n}"
    sentence = f" Note de la rédaction n° {n} : ce paragraphe a été complété le {n % 28 + 1} mars."
    return FetchedItem(
        url=url,
        canonical_url=url,
        final_url=url,
        body=_with_sentence(template.body, sentence.encode(template.encoding, "replace")),
        content_type=template.content_type,
        fetched_at=NOW,
        entry=FeedEntry(
            link=url,
            title=template.title,
            author=None,
            published=FEED_DATE,
            content_text="",
            summary_text="",
            guid=url,
        ),
        source=template.outlet,
        feed_url=f"{BASE_URL}/rss.xml",
        origin=Origin.FEED,
        run_id="bench-extraction",
    )


def _with_sentence(body: bytes, sentence: bytes) -> bytes:
    runs = list(TEXT_RUN.finditer(body))
    if not runs:
        return body + sentence
    end = max(runs, key=lambda m: len(m.group(1).strip())).end(1)
    return body[:end] + sentence + body[end:]


# --------------------------------------------------------------------------- timed passes


@dataclass
class Timings:
    """Best seconds per pass of each variant, and the pipeline's results of its last pass."""

    alone: float = math.inf  # trafilatura with its defaults, as a user would call it
    alone_pipeline_options: float = math.inf  # trafilatura with the options extract_page passes
    pipeline: float = math.inf  # process_batch, every batch in flight at once
    one_in_flight: float = math.inf  # process_batch, one batch at a time (a single feed)
    results: list[Document | Skip] = field(default_factory=list)


def _time_passes(batches: list[list[FetchedItem]], workers: int, rounds: int) -> Timings:
    # Decoded here, outside any clock: decoding is part of what the pipeline adds.
    chunks = [
        [(i.final_url, decode_html(i.body or b"", declared_charset(i.content_type))[0]) for i in b]
        for b in batches
    ]
    context = multiprocessing.get_context("spawn")
    with (
        ProcessPoolExecutor(workers, mp_context=context) as alone_pool,
        ExtractionPool(workers) as pipeline_pool,
    ):
        return asyncio.run(_passes(alone_pool, pipeline_pool, chunks, batches, rounds))


async def _passes(
    alone_pool: Executor,
    pipeline_pool: ExtractionPool,
    chunks: list[list[tuple[str, str]]],
    batches: list[list[FetchedItem]],
    rounds: int,
) -> Timings:
    loop = asyncio.get_running_loop()
    workers = pipeline_pool.workers
    await asyncio.gather(
        *(loop.run_in_executor(alone_pool, _warm_up, chunks[0][0][1]) for _ in range(workers)),
        *(pipeline_pool.extract(batches[0][:WARM_UP_BATCH_PAGES], NOW) for _ in range(workers)),
    )
    timings = Timings()
    for _ in range(rounds):
        # The variants take turns, so a burst of load from other processes hits them alike.
        seconds = await _alone_pass(alone_pool, chunks, None)
        timings.alone = min(timings.alone, seconds)
        seconds = await _alone_pass(alone_pool, chunks, PIPELINE_DATE_PARAMS)
        timings.alone_pipeline_options = min(timings.alone_pipeline_options, seconds)
        # Every batch at once, as when several feeds are ingested together: all cores busy.
        started = time.perf_counter()
        done = await asyncio.gather(*(pipeline_pool.extract(batch, NOW) for batch in batches))
        timings.pipeline = min(timings.pipeline, time.perf_counter() - started)
        timings.results = [result for batch in done for result in batch]
    # One batch at a time, as `ingest_entries` does within one feed.
    started = time.perf_counter()
    for batch in batches:
        await pipeline_pool.extract(batch, NOW)
    timings.one_in_flight = time.perf_counter() - started
    return timings


async def _alone_pass(
    pool: Executor, chunks: list[list[tuple[str, str]]], date_params: dict | None
) -> float:
    loop = asyncio.get_running_loop()
    started = time.perf_counter()
    found = await asyncio.gather(
        *(loop.run_in_executor(pool, _extract, chunk, date_params) for chunk in chunks)
    )
    seconds = time.perf_counter() - started
    if not sum(found):
        raise RuntimeError("trafilatura extracted no text from any page")
    return seconds


def _extract(pages: list[tuple[str, str]], date_params: dict | None) -> int:
    """Worker: trafilatura alone over one chunk; how many pages gave text."""
    found = 0
    for url, html in pages:
        result = trafilatura.bare_extraction(
            html,
            url=url,
            with_metadata=True,
            include_comments=False,
            date_extraction_params=date_params,
        )
        found += bool(result is not None and result.text)
    return found


def _warm_up(html: str) -> None:
    """Worker: import and run trafilatura once, then hold on so the next task goes elsewhere."""
    trafilatura.bare_extraction(html, with_metadata=True)
    time.sleep(WARM_UP_HOLD_S)


# --------------------------------------------------------------------------- memory


def _measure_memory(batches: int, batch_size: int) -> dict[str, float]:
    """A worker's resident memory over many batches, with and without the cache reset."""
    context = multiprocessing.get_context("spawn")
    figures: dict[str, float] = {}
    for label, reset in (("", True), ("_without_reset", False)):
        # A fresh worker for each, so the second does not inherit the first one's heap.
        with ProcessPoolExecutor(1, mp_context=context) as pool:
            baseline, last, peak = pool.submit(_memory_probe, batches, batch_size, reset).result()
        figures[f"rss_after_batch_{MEMORY_BASELINE_BATCH}_mb{label}"] = round(baseline, 1)
        figures[f"rss_after_last_batch_mb{label}"] = round(last, 1)
        figures[f"rss_growth_mb{label}"] = round(last - baseline, 1)
        if reset:
            figures["rss_peak_mb"] = round(peak, 1)
    return figures


def _memory_probe(batches: int, batch_size: int, reset: bool) -> tuple[float, float, float]:
    """Worker: (RSS after the baseline batch, RSS after the last, peak RSS), in MB.

    Items are made batch by batch, so the corpus itself does not grow the heap being watched.
    """
    templates = load_templates()
    baseline = 0.0
    for b in range(batches):
        items = [copy_item(templates, n) for n in range(b * batch_size, (b + 1) * batch_size)]
        if reset:
            process_batch(items, NOW)
        else:
            for item in items:
                with contextlib.suppress(Exception):  # as process_batch does, minus the reset
                    build_document(item, NOW)
        if b + 1 == MEMORY_BASELINE_BATCH:
            baseline = _rss_mb()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    return baseline, _rss_mb(), peak


def _rss_mb() -> float:
    """Current resident set size; /proc is Linux-only, elsewhere the peak is the best there is."""
    try:
        resident_pages = int(Path("/proc/self/statm").read_text().split()[1])
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return resident_pages * os.sysconf("SC_PAGE_SIZE") / 2**20


if __name__ == "__main__":
    print(run())
