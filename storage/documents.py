"""Appending documents and skips, and answering "have we seen this URL already?".

Idempotence is explicit SQL (anti-joins on the canonical URL and the content hash), not a UNIQUE
constraint, so the same statements work on DuckLake, which has no constraints.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import astuple, dataclass, fields

import duckdb

from extractors.models import RETRYABLE_SKIPS, Document, Skip
from storage import bulk

DOCUMENT_COLUMNS = tuple(f.name for f in fields(Document))
_COLUMN_LIST = ", ".join(DOCUMENT_COLUMNS)
_PLACEHOLDERS = ", ".join("?" for _ in DOCUMENT_COLUMNS)
_RETRYABLE = [str(reason) for reason in sorted(RETRYABLE_SKIPS)]


@dataclass(frozen=True, slots=True)
class AppendResult:
    stored_ids: tuple[str, ...]  # ids of the documents this append created, in order
    same_url: int  # items whose canonical URL was already stored (kept in document_urls)
    same_text: int  # items whose text was already stored at another URL (kept in document_urls)
    skipped: int  # new rows in `skipped`


def append(
    con: duckdb.DuckDBPyConnection,
    docs: Sequence[Document],
    skips: Sequence[Skip],
    run_id: str | None,
) -> AppendResult:
    """Store new documents once; every other copy becomes a `document_urls` row, never lost."""
    kept, aliases = _dedupe_batch(docs)
    stored, same_url, same_text = [], 0, 0
    url_rows = []
    for doc in kept:
        existing = _existing_document(con, doc)
        if existing is None:
            con.execute(
                f"INSERT INTO documents ({_COLUMN_LIST}) VALUES ({_PLACEHOLDERS})", _row(doc)
            )
            stored.append(doc.id)
            target = doc.id
        else:
            target, relation = existing
            url_rows.append((target, doc, relation))
            same_url += relation == "same_url"
            same_text += relation == "same_text"
        for alias, relation in aliases.get(doc.id, ()):
            url_rows.append((target, alias, relation))
            same_url += relation == "same_url"
            same_text += relation == "same_text"
    _record_urls(con, url_rows, run_id)
    return AppendResult(tuple(stored), same_url, same_text, record_skips(con, skips, run_id))


def record_skips(con: duckdb.DuckDBPyConnection, skips: Iterable[Skip], run_id: str | None) -> int:
    """One row per (URL, reason): seeing the same failure again on a re-run adds nothing."""
    added = 0
    for skip in skips:
        key = skip.canonical_url or skip.url
        (exists,) = con.execute(
            "SELECT count(*) FROM skipped WHERE coalesce(canonical_url, url) = ? AND reason = ?",
            [key, str(skip.reason)],
        ).fetchone()
        if exists:
            continue
        con.execute(
            "INSERT INTO skipped (url, canonical_url, feed_url, source, reason, detail, run_id,"
            " discovered_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [
                skip.url,
                skip.canonical_url,
                skip.feed_url,
                skip.source,
                str(skip.reason),
                skip.detail,
                run_id,
                skip.discovered_by,
            ],
        )
        added += 1
    return added


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


def record_url_aliases(
    con: duckdb.DuckDBPyConnection,
    aliases: Iterable[tuple[str, str, str | None, str | None]],
    run_id: str | None,
) -> int:
    """Keep another raw URL (url, canonical_url, source, feed_url) of an already stored document."""
    added = 0
    for url, canonical, source, feed_url in aliases:
        row = con.execute(
            "SELECT id, url FROM documents WHERE canonical_url = ? ORDER BY stored_at LIMIT 1",
            [canonical],
        ).fetchone()
        if row is None or row[1] == url:
            continue
        added += _insert_url(con, row[0], url, canonical, source, feed_url, "same_url", run_id)
    return added


def _dedupe_batch(docs: Sequence[Document]) -> tuple[list[Document], dict[str, list]]:
    """Within one batch, the first item per canonical URL and per text wins; others are aliases."""
    kept: list[Document] = []
    by_url: dict[str, Document] = {}
    by_hash: dict[str, Document] = {}
    aliases: dict[str, list[tuple[Document, str]]] = {}
    for doc in docs:
        first = by_url.get(doc.canonical_url)
        relation = "same_url"
        if first is None:
            first, relation = by_hash.get(doc.content_hash), "same_text"
        if first is not None:
            aliases.setdefault(first.id, []).append((doc, relation))
            continue
        kept.append(doc)
        by_url[doc.canonical_url] = doc
        by_hash[doc.content_hash] = doc
    return kept, aliases


def _existing_document(con: duckdb.DuckDBPyConnection, doc: Document) -> tuple[str, str] | None:
    row = con.execute(
        """
        SELECT id, CASE WHEN canonical_url = ? THEN 'same_url' ELSE 'same_text' END
        FROM documents WHERE canonical_url = ? OR content_hash = ?
        ORDER BY canonical_url = ? DESC, stored_at LIMIT 1
        """,
        [doc.canonical_url, doc.canonical_url, doc.content_hash, doc.canonical_url],
    ).fetchone()
    return None if row is None else (row[0], row[1])


def _record_urls(con: duckdb.DuckDBPyConnection, rows, run_id: str | None) -> None:
    for target, doc, relation in rows:
        _insert_url(
            con, target, doc.url, doc.canonical_url, doc.source, doc.feed_url, relation, run_id
        )


def _insert_url(con, document_id, url, canonical, source, feed_url, relation, run_id) -> int:
    (exists,) = con.execute(
        "SELECT (SELECT count(*) FROM document_urls WHERE document_id = $1 AND url = $2)"
        " + (SELECT count(*) FROM documents WHERE id = $1 AND url = $2)",
        [document_id, url],
    ).fetchone()
    if exists:
        return 0
    con.execute(
        "INSERT INTO document_urls (document_id, url, canonical_url, source, feed_url, relation,"
        " run_id) VALUES (?, ?, ?, ?, ?, ?, ?)",
        [document_id, url, canonical, source, feed_url, relation, run_id],
    )
    return 1


def _row(doc: Document) -> list:
    return [str(v) if hasattr(v, "value") else v for v in astuple(doc)]


def count_documents(con: duckdb.DuckDBPyConnection, origin: str | None = None) -> int:
    sql = "SELECT count(*) FROM documents" + (" WHERE origin = ?" if origin else "")
    (n,) = con.execute(sql, [origin] if origin else []).fetchone()
    return int(n)
