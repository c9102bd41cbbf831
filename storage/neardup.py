"""The near-duplicate index in the store: signatures, LSH band keys, and story assignments.

A batch of new documents is looked up in one set-based statement per step: its band keys and ids
travel as one JSON parameter (storage/bulk.py says why), unnested into a probe relation in SQL and
hash-joined with the index. There is no ART index on these tables: it costs a full index rewrite
at every checkpoint (see migration 0002).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import duckdb
import numpy as np

from extractors.neardup import SCHEME, Assignment, Candidate
from storage import bulk

_SIGNATURE_DTYPE = np.dtype("<u4")
# When a copy ran: publication time, else fetch time, else storage time (seeds have no dates).
# Documents are indexed in this order, so among copies indexed together the story's root is the
# one published first; a copy indexed later never displaces an existing root.
_RAN_AT = "coalesce(d.published_at, d.fetched_at, d.stored_at)"
_PROBE = {"key": "BIGINT", "new_id": "VARCHAR"}
_SIGNATURE_ROWS = {"document_id": "VARCHAR", "signature_hex": "VARCHAR"}
_BAND_ROWS = {"key": "BIGINT", "document_id": "VARCHAR"}
_LINK_ROWS = {"id": "VARCHAR", "dup": "VARCHAR", "sim": "DOUBLE"}


def documents_to_index(
    con: duckdb.DuckDBPyConnection, limit: int | None = None
) -> list[tuple[str, str]]:
    """(id, text) of the documents without a signature (up to `limit`), earliest first."""
    return con.execute(
        f"""
        SELECT d.id, d.text FROM documents d
        WHERE NOT EXISTS (SELECT 1 FROM document_signatures s WHERE s.document_id = d.id)
        ORDER BY {_RAN_AT}, d.stored_at, d.id
        LIMIT ?
        """,
        [limit],
    ).fetchall()


def indexed_scheme(con: duckdb.DuckDBPyConnection) -> str | None:
    """The parameters the stored signatures were computed with (all rows share them), or None."""
    row = con.execute("SELECT scheme FROM document_signatures LIMIT 1").fetchone()
    return None if row is None else row[0]


def unindexed(con: duckdb.DuckDBPyConnection, document_ids: Iterable[str]) -> set[str]:
    """Which of these documents have no signature yet (another process may have indexed some)."""
    wanted = sorted(set(document_ids))
    if not wanted:
        return set()
    rows = con.execute(
        f"""
        WITH wanted AS (SELECT value AS id FROM {bulk.STRING_LIST})
        SELECT id FROM wanted
        WHERE NOT EXISTS (SELECT 1 FROM document_signatures s WHERE s.document_id = wanted.id)
        """,
        [bulk.strings(wanted)],
    ).fetchall()
    return {doc_id for (doc_id,) in rows}


def band_matches(
    con: duckdb.DuckDBPyConnection, keys_by_doc: Mapping[str, Sequence[int]]
) -> dict[str, int]:
    """Per new document, the band keys it shares with indexed documents (0 for none).

    An upper bound on the candidates `candidates_for` would list for it (its story roots apart;
    a candidate sharing three bands counts three times), counted without holding the pairs:
    a caller sizes its passes by it, since those lists, not the documents, cost the memory.
    """
    counts = dict.fromkeys(keys_by_doc, 0)
    pairs = _probe_rows(keys_by_doc)
    if pairs:
        rows = con.execute(
            f"""
            WITH probe AS (SELECT * FROM {bulk.records_source(_PROBE)})
            SELECT probe.new_id, count(*)
            FROM probe JOIN lsh_bands b ON b.key = probe.key
            WHERE b.document_id <> probe.new_id
            GROUP BY probe.new_id
            """,
            [bulk.records(list(_PROBE), pairs)],
        ).fetchall()
        counts.update(rows)
    return counts


def candidates_for(
    con: duckdb.DuckDBPyConnection, keys_by_doc: Mapping[str, Sequence[int]]
) -> dict[str, list[Candidate]]:
    """Indexed documents sharing a band key with each new document, plus their stories' roots.

    Each list is in the order documents are indexed (see _RAN_AT and `documents_to_index`), so
    ties in similarity go to the earliest. A root is added even when it shares no band with the
    new document: the assignment records the similarity with the root a copy points to.
    """
    hits: dict[str, set[str]] = {doc_id: set() for doc_id in keys_by_doc}
    pairs = _probe_rows(keys_by_doc)
    if pairs:
        rows = con.execute(
            f"""
            WITH probe AS (SELECT * FROM {bulk.records_source(_PROBE)})
            SELECT DISTINCT probe.new_id, b.document_id
            FROM probe JOIN lsh_bands b ON b.key = probe.key
            WHERE b.document_id <> probe.new_id
            """,
            [bulk.records(list(_PROBE), pairs)],
        ).fetchall()
        for new_id, cand_id in rows:
            hits[new_id].add(cand_id)
    found = _with_roots(con, set().union(*hits.values()))
    first_seen = {doc_id: (*row[2], doc_id) for doc_id, row in found.items()}
    # One decoded signature per candidate, shared by every list it is in: decoded per list, a
    # batch whose documents all share bands (a template's boilerplate) took gigabytes.
    decoded = {c: _candidate(c, row) for c, row in found.items()}
    result = {}
    for doc_id, cand_ids in hits.items():
        present = {c for c in cand_ids if c in found}
        present |= {found[c][0] for c in present if found[c][0] in found}
        result[doc_id] = [decoded[c] for c in sorted(present, key=first_seen.get)]
    return result


def _probe_rows(keys_by_doc: Mapping[str, Sequence[int]]) -> list[tuple[int, str]]:
    """(band key, new document id): the rows of the probe relation joined with `lsh_bands`."""
    return [(int(key), doc_id) for doc_id, keys in keys_by_doc.items() for key in keys]


def record(
    con: duckdb.DuckDBPyConnection,
    signatures: Sequence[tuple[str, np.ndarray, Sequence[int]]],
    assignments: Sequence[Assignment],
    scheme: str = SCHEME,
) -> int:
    """Store signatures, band keys and story links of documents not indexed yet; returns how many.

    Idempotent: a document that already has a signature is left exactly as it is.
    """
    fresh = unindexed(con, (doc_id for doc_id, _, _ in signatures))
    rows = [(d, sig, keys) for d, sig, keys in signatures if d in fresh]
    if not rows:
        return 0
    signatures_hex = [
        (d, np.asarray(sig, dtype=_SIGNATURE_DTYPE).tobytes().hex()) for d, sig, _ in rows
    ]
    con.execute(
        "INSERT INTO document_signatures (document_id, signature, scheme)"
        f" SELECT document_id, unhex(signature_hex), ? FROM {bulk.records_source(_SIGNATURE_ROWS)}",
        [scheme, bulk.records(list(_SIGNATURE_ROWS), signatures_hex)],
    )
    bands = [(int(key), d) for d, _, keys in rows for key in keys]
    if bands:
        con.execute(
            "INSERT INTO lsh_bands (key, document_id)"
            f" SELECT key, document_id FROM {bulk.records_source(_BAND_ROWS)}",
            [bulk.records(list(_BAND_ROWS), bands)],
        )
    _link(con, [a for a in assignments if a.document_id in fresh])
    return len(rows)


def clear(con: duckdb.DuckDBPyConnection) -> None:
    """Forget every signature, band key and story link, so the store can be re-indexed."""
    con.execute("DELETE FROM lsh_bands")
    con.execute("DELETE FROM document_signatures")
    con.execute(
        "UPDATE documents SET duplicate_of = NULL, duplicate_similarity = NULL"
        " WHERE duplicate_of IS NOT NULL OR duplicate_similarity IS NOT NULL"
    )


def _link(con: duckdb.DuckDBPyConnection, assignments: Sequence[Assignment]) -> None:
    """Set duplicate_of/duplicate_similarity of newly indexed documents (NULL for story roots)."""
    if not assignments:
        return
    con.execute(
        f"""
        UPDATE documents SET duplicate_of = u.dup, duplicate_similarity = u.sim
        FROM {bulk.records_source(_LINK_ROWS)} u
        WHERE documents.id = u.id
        """,
        [
            bulk.records(
                list(_LINK_ROWS),
                [(a.document_id, a.duplicate_of, a.similarity) for a in assignments],
            )
        ],
    )


def _with_roots(
    con: duckdb.DuckDBPyConnection, document_ids: set[str]
) -> dict[str, tuple[str | None, bytes, tuple[int, int]]]:
    """id -> (duplicate_of, signature, (time it ran, time stored) in µs) of these documents and
    their roots: with the id, the order `documents_to_index` indexes documents in.

    Only documents still in `documents` and indexed are returned.
    """
    if not document_ids:
        return {}
    rows = con.execute(
        f"""
        WITH wanted AS (SELECT value AS id FROM {bulk.STRING_LIST}),
        found AS (SELECT d.id, d.duplicate_of
                  FROM documents d SEMI JOIN wanted ON d.id = wanted.id),
        everyone AS (
            SELECT id FROM found
            UNION SELECT duplicate_of FROM found WHERE duplicate_of IS NOT NULL
        )
        SELECT s.document_id, d.duplicate_of, s.signature,
               epoch_us({_RAN_AT}), epoch_us(d.stored_at)
        FROM document_signatures s
        SEMI JOIN everyone ON s.document_id = everyone.id
        JOIN documents d ON d.id = s.document_id
        """,
        [bulk.strings(sorted(document_ids))],
    ).fetchall()
    return {doc_id: (dup, sig, (ran, stored)) for doc_id, dup, sig, ran, stored in rows}


def _candidate(doc_id: str, row: tuple[str | None, bytes, tuple[int, int]]) -> Candidate:
    return doc_id, row[0], np.frombuffer(row[1], dtype=_SIGNATURE_DTYPE).astype(np.uint32)
