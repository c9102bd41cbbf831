"""Appending documents and skips, and answering "have we seen this URL already?".

Idempotence is explicit SQL (anti-joins on the canonical URL and the content hash), not a UNIQUE
constraint, so the same statements work on DuckLake, which has no constraints.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import astuple, dataclass, field, fields
from datetime import datetime

import duckdb

from extractors.models import (
    RETRYABLE_SKIPS,
    SERVER_FAILURE_SKIPS,
    Document,
    Skip,
)
from storage import bulk

DOCUMENT_COLUMNS = tuple(f.name for f in fields(Document))
_COLUMN_LIST = ", ".join(DOCUMENT_COLUMNS)
_RETRYABLE = [str(reason) for reason in sorted(RETRYABLE_SKIPS)]
# Columns travel as JSON strings and the INSERT casts them to the table's types, so a timestamp
# string is read exactly as a datetime parameter would be (an offset is kept; a naive one takes
# the session's time zone). Only the float is typed here, so it is not printed and re-parsed.
_DOCUMENT_ROWS = {
    "pos": "INTEGER",
    **{name: "DOUBLE" if name == "language_score" else "VARCHAR" for name in DOCUMENT_COLUMNS},
}
_PROBE_ROWS = {"pos": "INTEGER", "canonical_url": "VARCHAR", "content_hash": "VARCHAR"}
_URL_COLUMNS = ("document_id", "url", "canonical_url", "source", "feed_url", "relation", "run_id")
_URL_ROWS = {"pos": "INTEGER", **dict.fromkeys(_URL_COLUMNS, "VARCHAR")}
_SKIP_COLUMNS = (
    "url",
    "canonical_url",
    "feed_url",
    "source",
    "reason",
    "detail",
    "run_id",
    "discovered_by",
    "item_key",
)
_SKIP_ROWS = {"pos": "INTEGER", **dict.fromkeys(_SKIP_COLUMNS, "VARCHAR")}


@dataclass(frozen=True, slots=True)
class AppendResult:
    stored_ids: tuple[str, ...]  # ids of the documents this append created, in order
    same_url: int  # items whose canonical URL was already stored (kept in document_urls)
    same_text: int  # items whose text was already stored at another URL (kept in document_urls)
    skipped: int  # new rows in `skipped`
    skipped_by_reason: Mapping[str, int] = field(default_factory=dict)  # the same, per reason


def append(
    con: duckdb.DuckDBPyConnection,
    docs: Sequence[Document],
    skips: Sequence[Skip],
    run_id: str | None,
) -> AppendResult:
    """Store new documents once; every other copy becomes a `document_urls` row, never lost."""
    return append_batches(con, [(docs, skips)], run_id)[0]


def append_batches(
    con: duckdb.DuckDBPyConnection,
    batches: Sequence[tuple[Sequence[Document], Sequence[Skip]]],
    run_id: str | None,
) -> list[AppendResult]:
    """Several batches in one append, as if appended one after the other; a result per batch.

    A constant number of statements whatever the number and size of the batches: one look-up of
    their URLs and hashes in the store, one INSERT of the new documents, one of the copies, one of
    the skips. (Per batch, these statements cost a pipeline run as much as its fetching.)
    """
    docs = [doc for batch_docs, _ in batches for doc in batch_docs]
    owner = {id(doc): n for n, (batch_docs, _) in enumerate(batches) for doc in batch_docs}
    kept, aliases = _dedupe_batch(docs)
    existing = _existing_documents(con, kept)
    new = [doc for i, doc in enumerate(kept) if i not in existing]
    _insert_documents(con, new)
    url_rows: list[tuple[str, Document, str]] = []
    for i, doc in enumerate(kept):
        target = doc.id
        if i in existing:
            target, relation = existing[i]
            url_rows.append((target, doc, relation))
        url_rows += [(target, alias, relation) for alias, relation in aliases[i]]
    _insert_url_rows(
        con,
        [
            (pos, target, d.url, d.canonical_url, d.source, d.feed_url, relation, run_id)
            for pos, (target, d, relation) in enumerate(url_rows)
        ],
    )
    skips = [skip for _, batch_skips in batches for skip in batch_skips]
    skip_owner = [n for n, (_, batch_skips) in enumerate(batches) for _ in batch_skips]
    added: list[Counter[str]] = [Counter() for _ in batches]
    for pos, reason in _insert_skips(con, skips, run_id):
        added[skip_owner[pos]][reason] += 1
    stored: list[list[str]] = [[] for _ in batches]
    for doc in new:
        stored[owner[id(doc)]].append(doc.id)
    copies: list[Counter[str]] = [Counter() for _ in batches]
    for _, doc, relation in url_rows:
        copies[owner[id(doc)]][relation] += 1
    return [
        AppendResult(
            tuple(stored[n]),
            copies[n]["same_url"],
            copies[n]["same_text"],
            sum(added[n].values()),
            dict(added[n]),
        )
        for n in range(len(batches))
    ]


def record_skips(
    con: duckdb.DuckDBPyConnection, skips: Iterable[Skip], run_id: str | None
) -> Counter[str]:
    """One row per (run, source, item, reason); returns the rows added, per reason.

    An item is its `item_key` when it has one (no usable link), else its canonical URL, else its
    raw URL; its source is `discovered_by`. Within a run a repeated skip adds nothing. Across runs
    a final reason seen again adds nothing either (a feed re-read shows the same link-less items),
    but a retryable one adds a row per run: each is a failed attempt, counted for the back-off.
    """
    return Counter(reason for _, reason in _insert_skips(con, list(skips), run_id))


def _insert_skips(
    con: duckdb.DuckDBPyConnection, skips: Sequence[Skip], run_id: str | None
) -> list[tuple[int, str]]:
    """The rows `record_skips` describes; returns (position in `skips`, reason) of those added."""
    rows = [
        (
            pos,
            s.url,
            s.canonical_url,
            s.feed_url,
            s.source,
            str(s.reason),
            s.detail,
            run_id,
            s.discovered_by,
            s.item_key,
        )
        for pos, s in enumerate(skips)
    ]
    if not rows:
        return []
    columns = ", ".join(_SKIP_COLUMNS)
    # The new rows go through a temporary table rather than INSERT ... RETURNING, which DuckLake
    # does not support; the table also keeps each row's position in `skips`.
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE skips_to_add AS
        WITH batch AS (
            SELECT *, coalesce(item_key, canonical_url, url) AS item,
                   coalesce(discovered_by, 'feed:' || feed_url, '') AS finder
            FROM {bulk.records_source(_SKIP_ROWS)}
        ),
        first_seen AS (
            SELECT * FROM batch
            QUALIFY row_number() OVER (PARTITION BY finder, item, reason ORDER BY pos) = 1
        )
        SELECT pos, {columns} FROM first_seen n
        WHERE NOT EXISTS (
            SELECT 1 FROM skipped s
            WHERE coalesce(s.item_key, s.canonical_url, s.url) = n.item
              AND s.reason = n.reason
              AND coalesce(s.discovered_by, 'feed:' || s.feed_url, '') = n.finder
              AND (s.run_id IS NOT DISTINCT FROM n.run_id OR n.reason NOT IN {bulk.STRING_LIST})
        )
        """,
        [bulk.records(list(_SKIP_ROWS), rows), bulk.strings(_RETRYABLE)],
    )
    con.execute(f"INSERT INTO skipped ({columns}) SELECT {columns} FROM skips_to_add ORDER BY pos")
    added = con.execute("SELECT pos, reason FROM skips_to_add ORDER BY pos").fetchall()
    con.execute("DROP TABLE skips_to_add")
    return [(int(pos), reason) for pos, reason in added]


def known_urls(con: duckdb.DuckDBPyConnection, canonical_urls: Iterable[str]) -> set[str]:
    """Canonical URLs not worth fetching again: stored, seen as a copy, or skipped for good."""
    wanted = sorted(set(canonical_urls))
    if not wanted:
        return set()
    rows = con.execute(
        f"""
        WITH wanted AS (SELECT value AS u FROM {bulk.STRING_LIST})
        SELECT u FROM wanted WHERE
            EXISTS (SELECT 1 FROM documents d WHERE d.canonical_url = u)
            OR EXISTS (SELECT 1 FROM document_urls x WHERE x.canonical_url = u)
            OR EXISTS (SELECT 1 FROM skipped s WHERE s.canonical_url = u
                       AND s.reason NOT IN {bulk.STRING_LIST})
        """,
        [bulk.strings(wanted), bulk.strings(_RETRYABLE)],
    ).fetchall()
    return {u for (u,) in rows}


def fetch_failures(
    con: duckdb.DuckDBPyConnection, canonical_urls: Iterable[str]
) -> dict[str, tuple[int, datetime]]:
    """Canonical URL -> (runs whose fetch of it failed, when the last one failed), if any."""
    wanted = sorted(set(canonical_urls))
    if not wanted:
        return {}
    rows = con.execute(
        f"""
        SELECT s.canonical_url, count(DISTINCT s.run_id), max(s.skipped_at)
        FROM skipped s SEMI JOIN {bulk.STRING_LIST} w ON s.canonical_url = w.value
        WHERE s.reason IN {bulk.STRING_LIST}
        GROUP BY ALL
        """,
        [bulk.strings(wanted), bulk.strings(sorted(SERVER_FAILURE_SKIPS))],
    ).fetchall()
    return {url: (int(runs), last) for url, runs, last in rows}


def record_url_aliases(
    con: duckdb.DuckDBPyConnection,
    aliases: Iterable[tuple[str, str, str | None, str | None]],
    run_id: str | None,
) -> int:
    """Keep another raw URL (url, canonical_url, source, feed_url) of an already stored document.

    Each alias goes to the earliest stored document with its canonical URL, unless it is that
    document's own URL; an alias with no stored document is left out.
    """
    rows = [
        (pos, None, url, canonical, source, feed_url, "same_url", run_id)
        for pos, (url, canonical, source, feed_url) in enumerate(aliases)
    ]
    if not rows:
        return 0
    targets = """
        SELECT b.pos, f.id AS document_id, b.url, b.canonical_url, b.source, b.feed_url,
               b.relation, b.run_id
        FROM batch b
        JOIN (
            SELECT d.canonical_url, d.id, d.url FROM documents d SEMI JOIN batch
                ON d.canonical_url = batch.canonical_url
            QUALIFY row_number() OVER (PARTITION BY d.canonical_url ORDER BY d.stored_at, d.id) = 1
        ) f ON f.canonical_url = b.canonical_url
        WHERE f.url <> b.url
    """
    return _insert_url_rows(con, rows, targets)


def _dedupe_batch(
    docs: Sequence[Document],
) -> tuple[list[Document], list[list[tuple[Document, str]]]]:
    """Within one batch, the first item per canonical URL and per text wins; others are aliases.

    Returns the kept documents and, for each of them (same index), its aliases and their relation.
    """
    kept: list[Document] = []
    by_url: dict[str, int] = {}
    by_hash: dict[str, int] = {}
    aliases: list[list[tuple[Document, str]]] = []
    for doc in docs:
        first = by_url.get(doc.canonical_url)
        relation = "same_url"
        if first is None:
            first, relation = by_hash.get(doc.content_hash), "same_text"
        if first is not None:
            aliases[first].append((doc, relation))
            continue
        by_url[doc.canonical_url] = by_hash[doc.content_hash] = len(kept)
        kept.append(doc)
        aliases.append([])
    return kept, aliases


def _existing_documents(
    con: duckdb.DuckDBPyConnection, docs: Sequence[Document]
) -> dict[int, tuple[str, str]]:
    """Index in `docs` -> (id, relation) of the stored document each one is a copy of.

    A stored document with the same canonical URL wins over one with the same text; among equals,
    the earliest stored (then the smallest id, so the choice does not depend on scan order).
    """
    if not docs:
        return {}
    rows = con.execute(
        f"""
        WITH probe AS (SELECT * FROM {bulk.records_source(_PROBE_ROWS)}),
        hits AS (
            SELECT p.pos, d.id, d.stored_at, 0 AS rank
            FROM probe p JOIN documents d ON d.canonical_url = p.canonical_url
            UNION ALL
            SELECT p.pos, d.id, d.stored_at, 1 AS rank
            FROM probe p JOIN documents d ON d.content_hash = p.content_hash
        )
        SELECT pos, id, CASE WHEN rank = 0 THEN 'same_url' ELSE 'same_text' END FROM hits
        QUALIFY row_number() OVER (PARTITION BY pos ORDER BY rank, stored_at, id) = 1
        """,
        [
            bulk.records(
                list(_PROBE_ROWS),
                [(i, d.canonical_url, d.content_hash) for i, d in enumerate(docs)],
            )
        ],
    ).fetchall()
    return {pos: (doc_id, relation) for pos, doc_id, relation in rows}


def _insert_documents(con: duckdb.DuckDBPyConnection, docs: Sequence[Document]) -> None:
    if not docs:
        return
    con.execute(
        f"INSERT INTO documents ({_COLUMN_LIST}) SELECT {_COLUMN_LIST}"
        f" FROM {bulk.records_source(_DOCUMENT_ROWS)} ORDER BY pos",
        [bulk.records(list(_DOCUMENT_ROWS), [(i, *_row(d)) for i, d in enumerate(docs)])],
    )


def _insert_url_rows(
    con: duckdb.DuckDBPyConnection, rows: Sequence[tuple], candidates: str = "SELECT * FROM batch"
) -> int:
    """Add `document_urls` rows not there yet; returns how many.

    `rows` are (pos, *_URL_COLUMNS), the relation `batch` in `candidates`, a query that yields
    those columns. Per (document_id, url) the first candidate by pos wins, and none is added when
    the pair is already in `document_urls` or is the document's own URL.
    """
    if not rows:
        return 0
    url_columns = ", ".join(_URL_COLUMNS)
    (added,) = con.execute(
        f"""
        INSERT INTO document_urls ({url_columns})
        WITH batch AS (SELECT * FROM {bulk.records_source(_URL_ROWS)}),
        candidates AS ({candidates}),
        first_seen AS (
            SELECT * FROM candidates
            QUALIFY row_number() OVER (PARTITION BY document_id, url ORDER BY pos) = 1
        )
        SELECT {url_columns} FROM first_seen n
        WHERE NOT EXISTS (
            SELECT 1 FROM document_urls x WHERE x.document_id = n.document_id AND x.url = n.url
        )
        AND NOT EXISTS (SELECT 1 FROM documents d WHERE d.id = n.document_id AND d.url = n.url)
        ORDER BY pos
        """,
        [bulk.records(list(_URL_ROWS), rows)],
    ).fetchone()
    return int(added)


def _row(doc: Document) -> list:
    """A document's values as JSON-ready scalars: enums by value, datetimes in ISO 8601."""
    return [
        v.isoformat() if isinstance(v, datetime) else str(v) if hasattr(v, "value") else v
        for v in astuple(doc)
    ]


def count_documents(con: duckdb.DuckDBPyConnection, origin: str | None = None) -> int:
    sql = "SELECT count(*) FROM documents" + (" WHERE origin = ?" if origin else "")
    (n,) = con.execute(sql, [origin] if origin else []).fetchone()
    return int(n)


def stored_per_source(con: duckdb.DuckDBPyConnection, run_id: str) -> dict[str, int]:
    """Documents a run stored, per outlet: the per-run chart of a backfill."""
    rows = con.execute(
        "SELECT coalesce(source, '?'), count(*) FROM documents WHERE run_id = ? GROUP BY ALL",
        [run_id],
    ).fetchall()
    return dict(rows)
