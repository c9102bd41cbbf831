"""How batches reach the store: grouped into few writes, yet each batch stands or falls alone."""

from __future__ import annotations

import asyncio
from pathlib import Path

import duckdb
import pytest

from extractors.feed_entries import FeedEntry
from extractors.ingest_report import FeedOutcome
from extractors.models import Origin, Skip, SkipReason
from extractors.tagger import Tagger
from flows.config_files import load_watchlist
from flows.extraction_pool import ExtractionPool
from flows.extraction_queue import ExtractionQueue
from flows.pipeline import PageJob, Pipeline
from storage.store import Store

REPO = Path(__file__).resolve().parents[2]
WATCHLIST = REPO / "config" / "watchlist.yaml"
ARTICLE = (
    REPO
    / "demo/site/ndjamena-presse/actualites/tibesti-affrontements-orpailleurs-kouri-bougoudi.html"
)
BATCHES = 6


def skip(n: int) -> Skip:
    url = f"https://example.test/{n}"
    return Skip(url, url, "https://example.test/feed", "outlet", SkipReason.NO_TEXT, "empty")


def pipeline_over(store: Store, pool: ExtractionPool | None = None) -> Pipeline:
    """The store side of a pipeline, and the pool's when given: nothing is fetched here."""
    tagger = Tagger(load_watchlist(str(WATCHLIST)))
    return Pipeline(
        store,
        None,  # fetcher: the pages come with their bytes, as from an archive
        pool,
        tagger,
        "run-1",
        Origin("feed"),
        asyncio.Lock(),
        ExtractionQueue(pool, slots=1, max_pages=1),
        asyncio.Semaphore(1),
    )


def writes_of(store: Store, pipeline: Pipeline, failing: set[int]) -> list[object]:
    """BATCHES batches stored at once; batch n's bookkeeping raises when n is in `failing`."""
    written: list[int] = []

    def after_store(n: int):
        def record(con, jobs, skips):
            if n in failing:
                raise RuntimeError(f"a bug in batch {n}")
            written.append(n)

        return record

    async def store_all() -> list[object]:
        calls = (
            pipeline.store_results([], [skip(n)], FeedOutcome("outlet", "f"), (), after_store(n))
            for n in range(BATCHES)
        )
        return await asyncio.gather(*calls, return_exceptions=True)

    return asyncio.run(store_all())


def stored_urls(store: Store) -> list[str]:
    con = duckdb.connect(str(store.path), read_only=True)
    try:
        return [url for (url,) in con.execute("SELECT url FROM skipped ORDER BY url").fetchall()]
    finally:
        con.close()


@pytest.fixture
def store(tmp_path) -> Store:
    store = Store(tmp_path / "store.duckdb")
    store.migrate()
    return store


def test_batches_that_finish_together_are_all_stored(store):
    results = writes_of(store, pipeline_over(store), failing=set())

    assert results == [None] * BATCHES
    assert stored_urls(store) == [skip(n).url for n in range(BATCHES)]


def test_a_failing_batch_fails_alone_and_the_others_of_its_write_are_stored(store):
    results = writes_of(store, pipeline_over(store), failing={3})

    failed = [n for n, result in enumerate(results) if isinstance(result, RuntimeError)]
    assert failed == [3]
    assert stored_urls(store) == [skip(n).url for n in range(BATCHES) if n != 3]


def test_once_every_batch_has_finished_its_write_does_not_wait_out_the_spacing(store, monkeypatch):
    """Writes are spaced to save CPU mid-run; once the batches cut so far have all finished (the
    end of a run, or of a backfill's chunk), nothing more can join the write, and waiting would
    only delay the run."""
    monkeypatch.setattr("flows.pipeline.MIN_WRITE_INTERVAL_S", 3600.0)
    monkeypatch.setattr("flows.pipeline.MAX_WRITE_INTERVAL_S", 3600.0)
    url = "https://ndjamena-presse.example/actualites/tibesti.html"
    entry = FeedEntry(url, None, None, None, "", "", None)
    job = PageJob(url, url, entry, "outlet", None, "archive", ARTICLE.read_bytes(), "text/html")
    outcome = FeedOutcome("outlet", "f")

    async def a_skip_then_a_page() -> None:
        with ExtractionPool(workers=1) as pool:
            pipeline = pipeline_over(store, pool)
            await pipeline.store_results([], [skip(0)], outcome)  # the first write: at once
            await asyncio.wait_for(pipeline.run([job], outcome), timeout=120)  # not an hour

    asyncio.run(a_skip_then_a_page())
    assert outcome.stored == 1
    assert stored_urls(store) == [skip(0).url]
