"""The `mentions` table and which watchlist version last tagged each document."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import duckdb
from extractors.tagger import Mention


def replace_mentions(
    con: duckdb.DuckDBPyConnection, mentions: Mapping[str, Sequence[Mention]], version: str
) -> None:
    """Make each document's mentions exactly `mentions[doc]`: re-tagging never duplicates rows."""
    if not mentions:
        return
    ids = list(mentions)
    con.execute("DELETE FROM mentions WHERE list_contains(?::VARCHAR[], document_id)", [ids])
    con.execute(
        "DELETE FROM tagged_documents WHERE list_contains(?::VARCHAR[], document_id)", [ids]
    )
    rows = [
        (doc_id, m.entity_id, m.entity_kind, m.entity_name, m.count, m.first_offset, version)
        for doc_id, found in mentions.items()
        for m in found
    ]
    if rows:
        con.executemany(
            "INSERT INTO mentions (document_id, entity_id, entity_kind, entity_name, count,"
            " first_offset, watchlist_version) VALUES (?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
    con.executemany(
        "INSERT INTO tagged_documents (document_id, watchlist_version) VALUES (?, ?)",
        [(doc_id, version) for doc_id in ids],
    )


def entity_sets(con: duckdb.DuckDBPyConnection, document_ids: Sequence[str]) -> dict[str, set[str]]:
    """The entity ids each document is tagged with now, to report what a re-tag changed."""
    rows = con.execute(
        "SELECT document_id, entity_id FROM mentions"
        " WHERE list_contains(?::VARCHAR[], document_id)",
        [list(document_ids)],
    ).fetchall()
    found: dict[str, set[str]] = {doc_id: set() for doc_id in document_ids}
    for doc_id, entity_id in rows:
        found[doc_id].add(entity_id)
    return found


def untagged_documents(
    con: duckdb.DuckDBPyConnection, version: str, limit: int
) -> list[tuple[str, str]]:
    """(id, text) of up to `limit` documents not yet tagged by this watchlist version."""
    return con.execute(
        """
        SELECT d.id, d.text FROM documents d
        WHERE NOT EXISTS (SELECT 1 FROM tagged_documents t
                          WHERE t.document_id = d.id AND t.watchlist_version = ?)
        ORDER BY d.stored_at, d.id
        LIMIT ?
        """,
        [version, limit],
    ).fetchall()


def document_batches(
    con: duckdb.DuckDBPyConnection, after_id: str | None, size: int
) -> list[tuple[str, str]]:
    """Keyset pagination over all documents, so a re-tag of a large store reads it in slices."""
    return con.execute(
        "SELECT id, text FROM documents WHERE id > coalesce(?, '') ORDER BY id LIMIT ?",
        [after_id, size],
    ).fetchall()
