"""What one large append costs: a backfill batch of documents and skips into a non-empty store.

A fresh store is prefilled in bulk with ARCHIVE documents (plain SQL, not timed). Then one batch of
BATCH_DOCUMENTS documents and BATCH_SKIPS skips is appended with `storage.documents.append` in one
write transaction, as the flows do, and timed from opening the store to the commit. The batch
mixes every case the append decides: new documents, copies of stored documents (same canonical
URL, same text), copies within the batch, and skips repeated within the batch. The same batch is
then appended again (everything is already there: the idempotent path) and timed too. Each
figure is the best of ROUNDS rounds, each on a fresh store (other processes only slow a run down).

`python -m bench.store_append` prints the figures; `run()` returns them.
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from extractors.models import Document, Origin, Skip, SkipReason, TextSource
from extractors.text import content_hash, document_id
from storage import documents
from storage.store import Store

ARCHIVE = 10_000
BATCH_DOCUMENTS = 2_000
BATCH_SKIPS = 20_000
# Out of BATCH_DOCUMENTS: this many reuse a stored canonical URL, this many a stored text, and
# this many repeat the text of an earlier document of the batch at another URL.
COPIES_OF_STORED_URL = 100
COPIES_OF_STORED_TEXT = 100
COPIES_IN_BATCH = 100
# One skip in this many repeats an earlier skip of the batch (same URL, same reason).
SKIP_REPEAT_EVERY = 10
ROUNDS = 3
_T0 = datetime(2024, 1, 1, tzinfo=UTC)


def run(
    archive: int = ARCHIVE,
    batch_documents: int = BATCH_DOCUMENTS,
    batch_skips: int = BATCH_SKIPS,
    rounds: int = ROUNDS,
) -> dict:
    """Seconds for the first append of the batch and for appending it again (best of rounds)."""
    docs, skips = _batch(archive, batch_documents, batch_skips)
    firsts, agains = [], []
    for _ in range(rounds):
        with tempfile.TemporaryDirectory() as tmp:
            store = Store(Path(tmp) / "bench.duckdb")
            store.migrate()
            _prefill(store, archive)
            first_s, result = _timed_append(store, docs, skips)
            again_s, again = _timed_append(store, docs, skips)
        firsts.append(first_s)
        agains.append(again_s)
    return {
        "archive_documents": archive,
        "batch_documents": len(docs),
        "batch_skips": len(skips),
        "append_s": round(min(firsts), 3),
        "append_again_s": round(min(agains), 3),
        "stored": len(result.stored_ids),
        "same_url": result.same_url,
        "same_text": result.same_text,
        "skipped_rows_added": result.skipped,
        "skipped_rows_added_again": again.skipped,
    }


def _timed_append(store: Store, docs: list[Document], skips: list[Skip]):
    started = time.perf_counter()
    with store.write() as con:
        result = documents.append(con, docs, skips, "bench-run")
    return time.perf_counter() - started, result


def _prefill(store: Store, size: int) -> None:
    """ARCHIVE stored documents whose URLs and texts _batch can copy."""
    with store.write() as con:
        con.execute(
            """
            INSERT INTO documents (id, url, canonical_url, source, language, language_score, text,
                                   text_source, content_hash, origin, published_at)
            SELECT 'old-' || i, 'http://old.example/' || i, 'http://old.example/' || i, 'Old',
                   'fr', 0.99, 'Ancien texte ' || i, 'page', 'old-hash-' || i, 'feed',
                   TIMESTAMPTZ '2023-01-01 00:00:00+00' + to_minutes(i)
            FROM range(?) t(i)
            """,
            [size],
        )


def _batch(archive: int, size: int, skip_count: int) -> tuple[list[Document], list[Skip]]:
    docs = []
    for i in range(size):
        text = f"Un nouveau texte sur le Sahel, numéro {i}."
        doc = _doc(f"http://new.example/{i}", text, i)
        if i < COPIES_OF_STORED_URL:
            url = f"http://old.example/{i}"
            doc = replace(doc, id=document_id(url), url=url + "?utm_source=rss", canonical_url=url)
        elif i < COPIES_OF_STORED_URL + COPIES_OF_STORED_TEXT:
            doc = replace(doc, content_hash=f"old-hash-{i % archive}")
        elif i >= size - COPIES_IN_BATCH:
            earlier = docs[COPIES_OF_STORED_URL + COPIES_OF_STORED_TEXT + i % COPIES_IN_BATCH]
            doc = replace(doc, text=earlier.text, content_hash=earlier.content_hash)
        docs.append(doc)
    skips = [
        Skip(
            url=f"http://gone.example/{i - 1 if i % SKIP_REPEAT_EVERY == 0 and i else i}",
            canonical_url=f"http://gone.example/{i - 1 if i % SKIP_REPEAT_EVERY == 0 and i else i}",
            feed_url=None,
            source="Gone",
            reason=SkipReason.OUTSIDE_WINDOW,
            detail="2019-01-01",
            discovered_by="sitemap:http://gone.example/sitemap.xml",
        )
        for i in range(skip_count)
    ]
    return docs, skips


def _doc(url: str, text: str, i: int) -> Document:
    return Document(
        id=document_id(url),
        url=url,
        canonical_url=url,
        source="Le Sahélien",
        feed_url=None,
        title=f"Titre {i}",
        author=None,
        published_at=_T0 + timedelta(minutes=i),
        published_source="page",
        fetched_at=_T0 + timedelta(days=1, minutes=i),
        language="fr",
        language_score=0.99,
        text=text,
        text_source=TextSource.PAGE,
        content_hash=content_hash(text),
        origin=Origin.BACKFILL,
        run_id="bench-run",
        discovered_by="sitemap:http://new.example/sitemap.xml",
    )


if __name__ == "__main__":
    print(run())
