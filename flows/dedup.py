"""Grouping near-duplicate copies into stories: after each append, and as a full rebuild.

Plain functions (no Prefect import, so every command can call them cheaply); the `dedup` flow
that wraps them is in `flows/dedup_flow.py`.

Signatures are computed before the write transaction opens, so the store's write lock is held only
for the look-ups and inserts of one batch.
"""

from __future__ import annotations

from extractors import neardup
from extractors.errors import StoreError
from extractors.ingest_report import IngestReport
from storage import fulltext
from storage import neardup as index
from storage.stores import AnyStore

# Documents signed and recorded per write transaction: an ingest batch fits in one, a rebuild of
# a large store proceeds in slices that each hold the write lock for about a second.
INDEX_BATCH_SIZE = 1000


def index_new_documents(store: AnyStore, *, batch_size: int = INDEX_BATCH_SIZE) -> dict:
    """Index every document not indexed yet, in first-seen order, grouping copies into stories.

    Returns counts: `indexed` documents, `grouped` as copies of an earlier document, and
    `stories` that gained at least one copy.
    """
    indexed = grouped = 0
    touched: set[str] = set()
    while True:
        with store.read() as con:
            _check_scheme(store, index.indexed_scheme(con))
            pending = index.documents_to_index(con, batch_size)
        if not pending:
            break
        signed = [(doc_id, neardup.signature(text)) for doc_id, text in pending]
        keys = {doc_id: neardup.band_keys(sig) for doc_id, sig in signed}
        with store.write() as con:
            fresh = index.unindexed(con, keys)
            signed = [(doc_id, sig) for doc_id, sig in signed if doc_id in fresh]
            candidates = index.candidates_for(con, {d: keys[d] for d, _ in signed})
            assignments = neardup.assign(signed, candidates)
            indexed += index.record(
                con, [(d, sig, keys[d]) for d, sig in signed], assignments, neardup.SCHEME
            )
        copies = [a for a in assignments if a.duplicate_of is not None]
        grouped += len(copies)
        touched.update(a.duplicate_of for a in copies)
        if len(pending) < batch_size:
            break
    return {"indexed": indexed, "grouped": grouped, "stories": len(touched)}


def group_and_index(store: AnyStore, report: IngestReport) -> None:
    """After a run's appends: group the new near-copies into stories, then add the new
    documents to the search index. A grouping that fails is a warning of the report: the
    documents are stored, and `sahelwatch dedup --rebuild` groups them later."""
    try:
        report.near_duplicates = index_new_documents(store)["grouped"]
    except StoreError as exc:
        report.warnings.append(f"near-duplicates not grouped: {exc}")
    fulltext.refresh(store)  # indexes only the documents added since the last refresh


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
