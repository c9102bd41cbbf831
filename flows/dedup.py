"""Grouping near-duplicate copies into stories: after each append, and as a full rebuild.

Plain functions (no Prefect import, so every command can call them cheaply); the `dedup` flow
that wraps them is in `flows/dedup_flow.py`.

Signatures are computed before the write transaction opens, so the store's write lock is held only
for the look-ups and inserts of one pass.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from extractors import neardup
from extractors.errors import StoreError
from extractors.ingest_report import IngestReport
from storage import fulltext
from storage import neardup as index
from storage.stores import AnyStore

# Documents read and signed per read of the store: their texts are held meanwhile (about 5 MB
# per 1,000 news pages).
INDEX_BATCH_SIZE = 1000
# Candidate pairs (a new document and an indexed one sharing a band) looked up per write. They,
# not the documents, are what a pass holds in memory, and where boilerplate is shared a
# document's candidates grow with the store: 1,000 generated pages against 5,000 indexed made
# 1.35M pairs, 360 MB of Python objects, and indexing a 10,000-page backfill peaked at 830 MB. A
# write takes documents in order while their band matches (an upper bound on their pairs) stay
# within this, and at least one document. Measured on that backfill: 500k peaked at 300 MB and
# cost 20% more CPU than passes of 1,000 documents (more, shorter writes); 200k, 220 MB and 40%.
MAX_CANDIDATE_PAIRS = 500_000


def index_new_documents(
    store: AnyStore,
    *,
    batch_size: int = INDEX_BATCH_SIZE,
    max_pairs: int = MAX_CANDIDATE_PAIRS,
    signed_before: Mapping[str, np.ndarray] | None = None,
) -> dict:
    """Index every document not indexed yet, in first-seen order, grouping copies into stories.

    Each pass is one short write over the next documents in that order, so the write lock is
    held briefly and memory is bounded; `neardup.assign` lists a pass's earlier documents as the
    store lists indexed ones, so where passes are cut does not change the groups. Returns
    counts: `indexed` documents, `grouped` as copies of an earlier document, and `stories` that
    gained at least one copy. `signed_before`: signatures already computed for some of them (of
    the stored text), by document id.
    """
    known = signed_before or {}
    totals = _Totals()
    while True:
        with store.read() as con:
            _check_scheme(store, index.indexed_scheme(con))
            pending = index.documents_to_index(con, batch_size)
        if not pending:  # the common case at the end of a run with nothing new: one read
            break
        signed = [(doc_id, _signature(doc_id, text, known)) for doc_id, text in pending]
        keys = {doc_id: neardup.band_keys(sig) for doc_id, sig in signed}
        with store.read() as con:
            indexed_matches = index.band_matches(con, keys)
        for part in _passes(signed, keys, indexed_matches, max_pairs):
            with store.write() as con:
                _index_pass(con, part, keys, totals)
        if len(pending) < batch_size:
            break
    return {"indexed": totals.indexed, "grouped": totals.grouped, "stories": len(totals.touched)}


def _signature(doc_id: str, text: str, known: Mapping[str, np.ndarray]) -> np.ndarray:
    sig = known.get(doc_id)
    return neardup.signature(text) if sig is None else sig


@dataclass
class _Totals:
    indexed: int = 0
    grouped: int = 0
    touched: set[str] = field(default_factory=set)  # stories that gained a copy


def _passes(
    signed: list[tuple[str, np.ndarray]],
    keys: dict[str, list[int]],
    indexed_matches: dict[str, int],
    max_pairs: int,
) -> Iterator[list[tuple[str, np.ndarray]]]:
    """`signed` cut in order into passes of at most `max_pairs` band matches (at least one
    document each): a document's are those with the store and with the earlier documents of
    `signed`, which earlier passes will have indexed or its own pass holds."""
    earlier: Counter[int] = Counter()
    part: list[tuple[str, np.ndarray]] = []
    pairs = 0
    for doc_id, sig in signed:
        cost = indexed_matches[doc_id] + sum(earlier[key] for key in keys[doc_id])
        if part and pairs + cost > max_pairs:
            yield part
            part, pairs = [], 0
        part.append((doc_id, sig))
        pairs += cost
        earlier.update(keys[doc_id])
    if part:
        yield part


def _index_pass(
    con: Any,  # the pass's write connection (DuckDB is storage/'s to import)
    part: list[tuple[str, np.ndarray]],
    keys: dict[str, list[int]],
    totals: _Totals,
) -> None:
    """Group and record one pass's documents; those another process indexed meanwhile are
    left as they are."""
    fresh = index.unindexed(con, (doc_id for doc_id, _ in part))
    part = [(doc_id, sig) for doc_id, sig in part if doc_id in fresh]
    candidates = index.candidates_for(con, {d: keys[d] for d, _ in part})
    assignments = neardup.assign(part, candidates)
    totals.indexed += index.record(
        con, [(d, sig, keys[d]) for d, sig in part], assignments, neardup.SCHEME
    )
    copies = [a for a in assignments if a.duplicate_of is not None]
    totals.grouped += len(copies)
    totals.touched.update(a.duplicate_of for a in copies)


def group_and_index(
    store: AnyStore, report: IngestReport, signed_before: Mapping[str, np.ndarray] | None = None
) -> None:
    """After a run's appends: group the new near-copies into stories and, in a second thread
    meanwhile, add the new documents to the search index. A grouping that fails is a warning
    of the report: the documents are stored, and `sahelwatch dedup --rebuild` groups them later.

    Side by side because the grouping is mostly Python and the indexing mostly DuckDB (which
    releases the GIL): with the extraction pool gone, one of two cores had been idle through
    both. On a copy of the 2,000-page benchmark's store (1,609 new documents): four runs of
    3.1-3.6 s, against three of 4.3-4.8 s one after the other.
    """
    with store.shared(), ThreadPoolExecutor(1, thread_name_prefix="search-index") as side:
        search = side.submit(fulltext.refresh, store)  # only the documents new since the last
        try:
            grouped = index_new_documents(store, signed_before=signed_before)["grouped"]
            report.near_duplicates = grouped
        except StoreError as exc:
            report.warnings.append(f"near-duplicates not grouped: {exc}")
        search.result()


def rebuild(store: AnyStore) -> dict:
    """Recompute every signature and story from scratch (after a parameter change); idempotent."""
    with store.write() as con:
        index.clear(con)
    return index_new_documents(store)


def _check_scheme(store: AnyStore, scheme: str | None) -> None:
    if scheme is not None and scheme != neardup.SCHEME:
        raise StoreError(
            f"the near-duplicate index of {store.locator} was built with other parameters "
            f"({scheme}; this sahelwatch uses {neardup.SCHEME}): run "
            f"'sahelwatch dedup --rebuild --db {store.locator}'"
        )
