"""How batches reach the store: grouped into few writes, yet each batch stands or falls alone."""

from __future__ import annotations

import asyncio
from pathlib import Path

import duckdb
import pytest

from extractors.ingest_report import FeedOutcome
from extractors.models import Origin, Skip, SkipReason
from extractors.tagger import Tagger
from flows.config_files import load_watchlist
from flows.pipeline import Pipeline
from storage.store import Store

WATCHLIST = Path(__file__).resolve().parents[2] / "config" / "watchlist.yaml"
BATCHES = 6


def skip(n: int) -> Skip:
    url = f"https://example.test/{n}"
    return Skip(url, url, "https://example.test/feed", "outlet", SkipReason.NO_TEXT, "empty")


def pipeline_over(store: Store) -> Pipeline:
    """Only the store side of a pipeline: nothing is fetched or extracted here."""
    tagger = Tagger(load_watchlist(str(WATCHLIST)))
    return Pipeline(
        store,
        None,  # fetcher
        None,  # extraction pool
        tagger,
        "run-1",
        Origin("feed"),
        asyncio.Lock(),
        asyncio.Semaphore(1),
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


def test_with_no_batch_still_running_a_write_does_not_wait_out_the_spacing(store, monkeypatch):
    """The spacing between writes saves CPU mid-run; at the end of a run (or of a backfill's
    chunk) nothing is left to join the write, so waiting would only delay the run."""
    monkeypatch.setattr("flows.pipeline.MIN_WRITE_INTERVAL_S", 3600.0)
    monkeypatch.setattr("flows.pipeline.MAX_WRITE_INTERVAL_S", 3600.0)
    pipeline = pipeline_over(store)

    async def two_writes_in_turn() -> None:
        for n in range(2):
            write = pipeline.store_results([], [skip(n)], FeedOutcome("outlet", "f"))
            await asyncio.wait_for(write, timeout=60)  # an hour's spacing would fail it here

    asyncio.run(two_writes_in_turn())
    assert stored_urls(store) == [skip(0).url, skip(1).url]
