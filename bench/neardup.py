"""Near-duplicate indexing cost per new document, with 1k, 10k and 100k documents already stored.

The persistent LSH index must keep that cost flat as the archive grows. Each size gets a fresh
store: an archive of synthetic indexed documents written in bulk (random signatures and band keys,
i.e. documents unrelated to the new ones), then 200 generated "wire" documents indexed the normal
way, then batches of 100 new documents (30 edited copies of those wire documents, 70 unrelated)
indexed with `flows.dedup.index_new_documents`, timed. Further batches are then timed after
creating ART indexes on the look-up columns, to show why migration 0002 has none.

`python -m bench.neardup` prints the figures; `run()` returns them.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from extractors import neardup
from extractors.text import content_hash, document_id
from flows.dedup import index_new_documents
from storage.store import Store

ARCHIVE_SIZES = (1_000, 10_000, 100_000)
WIRE_DOCUMENTS = 200
BATCH_SIZE = 100
COPIES_PER_BATCH = 30
BATCHES = 5
WORDS_PER_DOCUMENT = 250
# Consonant-vowel syllables: pseudo-words for the generated texts (one to four syllables each).
_SYLLABLES = np.array([c + v for c in "bdfgklmnrstz" for v in "aeiou"])


def run(sizes: tuple[int, ...] = ARCHIVE_SIZES, seed: int = 7) -> dict:
    """Per-document indexing time (ms) per archive size, as shipped and with ART indexes added."""
    rng = np.random.default_rng(seed)
    vocabulary = _vocabulary(rng)
    results: dict = {"batch_size": BATCH_SIZE, "copies_per_batch": COPIES_PER_BATCH, "sizes": {}}
    for size in sizes:
        with tempfile.TemporaryDirectory() as tmp:
            results["sizes"][size] = _measure(Path(tmp) / "bench.duckdb", size, vocabulary, rng)
    per_doc = [results["sizes"][s]["indexed_ms_per_doc"] for s in sizes]
    results["growth_largest_vs_smallest"] = round(per_doc[-1] / per_doc[0], 2)
    return results


def _measure(path: Path, size: int, vocabulary: np.ndarray, rng: np.random.Generator) -> dict:
    store = Store(path)
    store.migrate()
    started = time.perf_counter()
    _prefill(store, size, rng)
    prefill_s = time.perf_counter() - started
    wire = [_text(vocabulary, rng) for _ in range(WIRE_DOCUMENTS)]
    clock = _Clock(size)
    _insert(store, [(f"wire-{i}", text) for i, text in enumerate(wire)], clock)
    index_new_documents(store)
    signing = []
    for text in (_text(vocabulary, rng) for _ in range(BATCH_SIZE)):
        t0 = time.perf_counter()
        neardup.signature(text)
        signing.append(time.perf_counter() - t0)
    indexed, grouped = _timed_batches(store, "scan", wire, vocabulary, rng, clock)
    with store.write() as con:
        con.execute("CREATE INDEX bench_lsh_bands_key ON lsh_bands (key)")
        con.execute("CREATE INDEX bench_signatures_id ON document_signatures (document_id)")
    with_art, _ = _timed_batches(store, "art", wire, vocabulary, rng, clock)
    return {
        "prefill_s": round(prefill_s, 1),
        "indexed_ms_per_doc": round(indexed * 1000, 3),
        "with_art_indexes_ms_per_doc": round(with_art * 1000, 3),
        "signature_ms_per_doc": round(statistics.median(signing) * 1000, 3),
        "copies_grouped_per_batch": grouped,
    }


def _timed_batches(store, tag, wire, vocabulary, rng, clock) -> tuple[float, float]:
    """Median seconds per document over BATCHES batches, and the mean copies found per batch."""
    per_doc, grouped = [], []
    for b in range(BATCHES):
        copies = [_edit(wire[i], vocabulary, rng) for i in rng.choice(len(wire), COPIES_PER_BATCH)]
        fresh = [_text(vocabulary, rng) for _ in range(BATCH_SIZE - COPIES_PER_BATCH)]
        batch = [(f"{tag}-{b}-{i}", text) for i, text in enumerate(copies + fresh)]
        _insert(store, batch, clock)
        started = time.perf_counter()
        counts = index_new_documents(store)
        per_doc.append((time.perf_counter() - started) / len(batch))
        grouped.append(counts["grouped"])
    return statistics.median(per_doc), statistics.mean(grouped)


def _prefill(store: Store, size: int, rng: np.random.Generator) -> None:
    """`size` indexed documents in three bulk statements (random signatures and keys)."""
    keys = rng.integers(
        np.iinfo(np.int64).min, np.iinfo(np.int64).max, size=size * neardup.BANDS, dtype=np.int64
    )
    owners = np.repeat(np.arange(size, dtype=np.int64), neardup.BANDS)
    with store.write() as con:
        con.execute(
            """
            INSERT INTO documents (id, url, canonical_url, source, title, published_at, language,
                                   text, text_source, content_hash, origin, stored_at)
            SELECT printf('a%015x', i), 'https://bench.example/' || i,
                   'https://bench.example/' || i, 'Bench', 'Titre ' || i,
                   TIMESTAMPTZ '2024-01-01 00:00:00+00' + to_seconds(i), 'fr',
                   'Texte synthétique numéro ' || i, 'page', md5(i::VARCHAR), 'feed',
                   TIMESTAMPTZ '2024-01-01 00:00:00+00' + to_seconds(i)
            FROM range(?) t(i)
            """,
            [size],
        )
        # 64 x 16 bytes = one signature's 1 KB of pseudo-random minima.
        con.execute(
            "INSERT INTO document_signatures (document_id, signature, scheme)"
            " SELECT printf('a%015x', i), unhex(repeat(md5(i::VARCHAR), 64)), ?"
            " FROM range(?) t(i)",
            [neardup.SCHEME, size],
        )
        con.register("bench_bands", {"key": keys, "owner": owners})
        con.execute("INSERT INTO lsh_bands SELECT key, printf('a%015x', owner) FROM bench_bands")
        con.unregister("bench_bands")


class _Clock:
    """stored_at values after the archive's, one second apart, so first-seen order is explicit."""

    def __init__(self, start: int) -> None:
        self.next = start

    def tick(self) -> int:
        self.next += 1
        return self.next


def _insert(store: Store, docs: list[tuple[str, str]], clock: _Clock) -> None:
    with store.write() as con:
        for key, text in docs:
            url = f"https://bench.example/{key}"
            con.execute(
                "INSERT INTO documents (id, url, canonical_url, source, title, language, text,"
                " text_source, content_hash, origin, stored_at)"
                " VALUES (?, ?, ?, 'Bench', ?, 'fr', ?, 'page', ?, 'feed',"
                " TIMESTAMPTZ '2024-01-01 00:00:00+00' + to_seconds(?))",
                [document_id(url), url, url, key, text, content_hash(text), clock.tick()],
            )


def _vocabulary(rng: np.random.Generator, size: int = 8000) -> np.ndarray:
    lengths = rng.integers(1, 5, size=size)
    return np.array(["".join(rng.choice(_SYLLABLES, n)) for n in lengths])


def _text(vocabulary: np.ndarray, rng: np.random.Generator, words: int = WORDS_PER_DOCUMENT) -> str:
    # Zipf ranks: a few words very frequent (like French function words), a long tail of rare ones.
    ranks = (rng.zipf(1.3, size=words) - 1) % len(vocabulary)
    return " ".join(vocabulary[ranks])


def _edit(text: str, vocabulary: np.ndarray, rng: np.random.Generator) -> str:
    """A republication: a new lead-in, the last fifth trimmed, an outlet footer."""
    words = text.split()
    kept = words[: len(words) * 4 // 5]
    return " ".join([_text(vocabulary, rng, 12), *kept, _text(vocabulary, rng, 20)])


if __name__ == "__main__":
    print(run())
