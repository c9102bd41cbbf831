"""A store's content on its content keys (no run ids, no timestamps), to compare two stores.

Two runs of the same work never share run ids or times, so a store is compared on what it holds:
canonical URLs, content hashes, entity ids, reasons. Each table is a sorted list of key tuples, so
a row stored twice shows up as an extra element, and a row lost as a missing one.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from storage.lake import LakeStore, is_lake_locator

# What each table holds, as content keys. Which of two copies is stored first (and so which URL
# or feed a document names, and which is the alias) depends on the order concurrent fetches
# finish, in an uninterrupted run too; so a document is known by its text's hash, and every URL
# at which it was seen, the document's own or an alias, is one row of `urls` (which feeds list
# an alias that is also the document's own URL is not kept, so feeds are not part of the key;
# a row stored twice is caught by HALF_WRITTEN instead). `stories` is the
# story_copies view (documents.duplicate_of).
_HASH_OF = "(SELECT content_hash FROM documents d WHERE d.id = {col})"
CONTENT_KEYS = {
    "documents": "SELECT content_hash, origin, text_source, language FROM documents",
    "urls": "SELECT content_hash, url FROM documents UNION "
    f"SELECT {_HASH_OF.format(col='u.document_id')}, u.url FROM document_urls u",
    "mentions": f"SELECT {_HASH_OF.format(col='m.document_id')}, entity_id, count, first_offset, "
    "watchlist_version FROM mentions m",
    "tagged_documents": f"SELECT {_HASH_OF.format(col='t.document_id')}, watchlist_version "
    "FROM tagged_documents t",
    "stories": f"SELECT {_HASH_OF.format(col='c.story_id')}, "
    f"{_HASH_OF.format(col='c.document_id')} FROM story_copies c",
    "skipped": "SELECT coalesce(canonical_url, url), reason FROM skipped",
    "document_signatures": f"SELECT {_HASH_OF.format(col='s.document_id')}, scheme "
    "FROM document_signatures s",
    "lsh_bands": f"SELECT key, {_HASH_OF.format(col='b.document_id')} FROM lsh_bands b",
    "backfill_items": "SELECT canonical_url, outcome, done_at IS NOT NULL FROM backfill_items",
}
# Each must be empty in a consistent store, whenever it is looked at: a batch is all or nothing.
HALF_WRITTEN = {
    "document without its tagging": "SELECT id FROM documents "
    "WHERE id NOT IN (SELECT document_id FROM tagged_documents)",
    "mention of no document": "SELECT document_id FROM mentions "
    "WHERE document_id NOT IN (SELECT id FROM documents)",
    "signature without its LSH bands": "SELECT s.document_id FROM document_signatures s "
    "LEFT JOIN lsh_bands b USING (document_id) GROUP BY ALL HAVING count(b.key) = 0",
    "backfill page done without its document or skip": "SELECT i.canonical_url "
    "FROM backfill_items i WHERE i.done_at IS NOT NULL AND i.outcome = 'stored' "
    "AND i.canonical_url NOT IN (SELECT canonical_url FROM documents)",
    "document stored twice": "SELECT canonical_url FROM documents GROUP BY ALL HAVING count(*) > 1",
    "URL recorded twice": "SELECT document_id, url, feed_url, relation FROM document_urls "
    "GROUP BY ALL HAVING count(*) > 1",
    "skip recorded twice": "SELECT coalesce(canonical_url, url), feed_url, reason, run_id "
    "FROM skipped GROUP BY ALL HAVING count(*) > 1",
}
Snapshot = dict[str, list[tuple]]


def connect(db: Path, attempts: int = 200) -> duckdb.DuckDBPyConnection:
    """Open read-only, retrying while a writer holds the file for a moment."""
    for _ in range(attempts):
        try:
            return duckdb.connect(str(db), read_only=True)
        except duckdb.IOException:
            time.sleep(0.05)
    raise AssertionError(f"the store {db} stayed locked")


@contextmanager
def reading(db: Path | str) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-only connection to a DuckDB file (retried while locked) or a lake's locator."""
    if is_lake_locator(str(db)):
        store = LakeStore.from_locator(str(db))
        try:
            with store.read() as con:
                yield con
        finally:
            store.close()
        return
    con = connect(Path(db))
    try:
        yield con
    finally:
        con.close()


def snapshot(db: Path | str) -> Snapshot:
    with reading(db) as con:
        return {
            table: sorted(tuple(map(str, row)) for row in con.execute(sql).fetchall())
            for table, sql in CONTENT_KEYS.items()
        }


def half_written(db: Path | str) -> dict[str, list]:
    """The consistency checks that fail, with a few offending keys each."""
    with reading(db) as con:
        found = {what: con.execute(sql).fetchall()[:5] for what, sql in HALF_WRITTEN.items()}
    return {what: rows for what, rows in found.items() if rows}


def lost_and_doubled(reference: Snapshot, actual: Snapshot) -> tuple[int, int]:
    """Rows of `reference` missing from `actual`, and rows `actual` has more often."""
    lost = doubled = 0
    for table, rows in reference.items():
        want, got = Counter(rows), Counter(actual.get(table, []))
        lost += sum((want - got).values())
        doubled += sum((got - want).values())
    return lost, doubled


def differences(reference: Snapshot, actual: Snapshot, limit: int = 3) -> dict[str, dict]:
    """Per differing table, a few rows missing and a few extra: what an assertion shows."""
    out = {}
    for table, rows in reference.items():
        want, got = Counter(rows), Counter(actual.get(table, []))
        if want != got:
            out[table] = {
                "missing": list((want - got).elements())[:limit],
                "extra": list((got - want).elements())[:limit],
            }
    return out


def run_statuses(db: Path | str) -> list[tuple[str, str, str]]:
    with reading(db) as con:
        return con.execute("SELECT run_id, flow, status FROM runs ORDER BY started_at").fetchall()
