"""The `mentions` table and which watchlist version last tagged each document."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import duckdb

from extractors.tagger import Mention
from extractors.watchlist import Entity
from storage import bulk

_MENTION_COLUMNS = {
    "document_id": "VARCHAR",
    "entity_id": "VARCHAR",
    "entity_kind": "VARCHAR",
    "entity_name": "VARCHAR",
    "count": "INTEGER",
    "first_offset": "INTEGER",
    "watchlist_version": "VARCHAR",
}


def replace_mentions(
    con: duckdb.DuckDBPyConnection, mentions: Mapping[str, Sequence[Mention]], version: str
) -> None:
    """Make each document's mentions exactly `mentions[doc]`: re-tagging never duplicates rows."""
    if not mentions:
        return
    ids = bulk.strings(mentions)
    con.execute(f"DELETE FROM mentions WHERE document_id IN {bulk.STRING_LIST}", [ids])
    con.execute(f"DELETE FROM tagged_documents WHERE document_id IN {bulk.STRING_LIST}", [ids])
    rows = [
        (doc_id, m.entity_id, m.entity_kind, m.entity_name, m.count, m.first_offset, version)
        for doc_id, found in mentions.items()
        for m in found
    ]
    if rows:
        columns = ", ".join(_MENTION_COLUMNS)
        con.execute(
            f"INSERT INTO mentions ({columns}) SELECT {columns} "
            f"FROM {bulk.records_source(_MENTION_COLUMNS)}",
            [bulk.records(list(_MENTION_COLUMNS), rows)],
        )
    con.execute(
        f"INSERT INTO tagged_documents (document_id, watchlist_version) "
        f"SELECT value, ? FROM {bulk.STRING_LIST}",
        [version, ids],
    )


_ENTITY_COLUMNS = {
    "watchlist_version": "VARCHAR",
    "entity_id": "VARCHAR",
    "entity_kind": "VARCHAR",
    "entity_type": "VARCHAR",
    "entity_name": "VARCHAR",
    "country": "VARCHAR",
    "valid_from": "DATE",
    "valid_to": "DATE",
    "note": "VARCHAR",
}


def record_entities(
    con: duckdb.DuckDBPyConnection, entities: Sequence[Entity], version: str
) -> int:
    """Keep the watchlist's entities once per version, so views can say an actor's type."""
    (known,) = con.execute(
        "SELECT count(*) FROM watchlist_entities WHERE watchlist_version = ?", [version]
    ).fetchone()
    if known or not entities:
        return 0
    rows = [
        (version, e.id, e.kind, e.type, e.name, e.country, e.valid_from, e.valid_to, e.note)
        for e in entities
    ]
    columns = ", ".join(_ENTITY_COLUMNS)
    con.execute(
        f"INSERT INTO watchlist_entities ({columns}) SELECT {columns} "
        f"FROM {bulk.records_source(_ENTITY_COLUMNS)}",
        [bulk.records(list(_ENTITY_COLUMNS), rows)],
    )
    return len(rows)


def entity_sets(con: duckdb.DuckDBPyConnection, document_ids: Sequence[str]) -> dict[str, set[str]]:
    """The entity ids each document is tagged with now, to report what a re-tag changed."""
    rows = con.execute(
        f"SELECT document_id, entity_id FROM mentions WHERE document_id IN {bulk.STRING_LIST}",
        [bulk.strings(document_ids)],
    ).fetchall()
    found: dict[str, set[str]] = {doc_id: set() for doc_id in document_ids}
    for doc_id, entity_id in rows:
        found[doc_id].add(entity_id)
    return found


def document_batches(
    con: duckdb.DuckDBPyConnection, after_id: str | None, size: int
) -> list[tuple[str, str]]:
    """Keyset pagination over all documents, so a re-tag of a large store reads it in slices."""
    return con.execute(
        "SELECT id, text FROM documents WHERE id > coalesce(?, '') ORDER BY id LIMIT ?",
        [after_id, size],
    ).fetchall()
