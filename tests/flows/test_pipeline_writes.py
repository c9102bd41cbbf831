"""How batches reach the store: grouped into few writes, yet each batch stands or falls alone."""

from __future__ import annotations

import asyncio
from pathlib import Path

import duckdb
import pytest

from extractors import neardup
from extractors.feed_entries import FeedEntry
from extractors.ingest_report import FeedOutcome
from extractors.models import Document, Origin, Skip, SkipReason, TextSource
from extractors.tagger import Tagger
from extractors.text import content_hash, document_id
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


def document(n: int, text: str) -> Document:
    url = f"https://example.test/article-{n}"
    return Document(
        document_id(url), url, url, "outlet", "https://example.test/feed", f"Article {n}",
        None, None, None, None, "fr", 0.99, text, TextSource.PAGE, content_hash(text),
        Origin("feed"), "run-1",
    )  # fmt: skip


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


def test_a_pipeline_that_signs_keeps_each_stored_documents_signature_up_to_its_bound(
    store, monkeypatch
):
    """An ingest signs its documents as they are stored, for its end's grouping; the signatures
    kept are bounded (past the bound the end signs the rest itself)."""
    monkeypatch.setattr("flows.pipeline.MAX_SIGNATURES_KEPT", 2)
    texts = [f"Texte numéro {n} sur la région de Gao et ses marchés." for n in range(3)]
    docs = [document(n, text) for n, text in enumerate(texts)]
    pipeline = pipeline_over(store)
    pipeline.signs = True

    asyncio.run(pipeline.store_results(docs, [], FeedOutcome("outlet", "f")))

    assert list(pipeline.signatures) == [docs[0].id, docs[1].id]
    for doc in docs[:2]:
        assert (pipeline.signatures[doc.id] == neardup.signature(doc.text)).all()


def test_a_document_kept_as_a_copy_of_a_stored_text_is_not_signed(store):
    text = "Un texte sur Gao, publié deux fois sous deux adresses."
    first, copy = document(0, text), document(1, text)
    pipeline = pipeline_over(store)
    pipeline.signs = True
    outcome = FeedOutcome("outlet", "f")

    asyncio.run(pipeline.store_results([first, copy], [], outcome))

    assert outcome.same_text == 1
    assert list(pipeline.signatures) == [first.id]


def test_a_pipeline_that_does_not_sign_keeps_no_signature(store):
    docs = [document(0, "Un texte sur Tombouctou.")]
    pipeline = pipeline_over(store)

    asyncio.run(pipeline.store_results(docs, [], FeedOutcome("outlet", "f")))

    assert pipeline.signatures == {}
