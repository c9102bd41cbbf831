"""The near-duplicate index in the store: signatures, LSH band keys, and story assignments.

A batch of new documents is looked up in one set-based statement per step: its band keys and ids
travel as one delimited string, split into a probe relation in SQL, and hash-joined with the
index. Two measured reasons: duckdb 1.5.5's Python client spends ~90 µs converting each element of
a list parameter (it retries `import pandas` per element when pandas is absent), and an ART index
on these tables costs a full index rewrite at every checkpoint (see migration 0002).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import duckdb
import numpy as np

from extractors.neardup import SCHEME, Assignment, Candidate

# Separates the items of one bulk parameter: a control character no id or key ever contains.
_SEP = "\x1f"
_SIGNATURE_DTYPE = np.dtype("<u4")
_SPLIT = "unnest(string_split(?, chr(31)))"


def documents_to_index(
    con: duckdb.DuckDBPyConnection, limit: int | None = None
) -> list[tuple[str, str]]:
    """(id, text) of the documents without a signature (up to `limit`), in first-seen order."""
    return con.execute(
        """
        SELECT d.id, d.text FROM documents d
        WHERE NOT EXISTS (SELECT 1 FROM document_signatures s WHERE s.document_id = d.id)
        ORDER BY d.stored_at, d.id
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
        WITH wanted AS (SELECT {_SPLIT} AS id)
        SELECT id FROM wanted
        WHERE NOT EXISTS (SELECT 1 FROM document_signatures s WHERE s.document_id = wanted.id)
        """,
        [_joined(wanted)],
    ).fetchall()
    return {doc_id for (doc_id,) in rows}


def candidates_for(
    con: duckdb.DuckDBPyConnection, keys_by_doc: Mapping[str, Sequence[int]]
) -> dict[str, list[Candidate]]:
    """Indexed documents sharing a band key with each new document, plus their stories' roots.

    Each list is in first-seen order (stored_at, id), so ties in similarity go to the earliest.
    A root is added even when it shares no band with the new document: the assignment records the
    similarity with the root a copy points to.
    """
    pairs = [(str(key), doc_id) for doc_id, keys in keys_by_doc.items() for key in keys]
    hits: dict[str, set[str]] = {doc_id: set() for doc_id in keys_by_doc}
    if pairs:
        rows = con.execute(
            f"""
            WITH probe AS (SELECT {_SPLIT}::BIGINT AS key, {_SPLIT} AS new_id)
            SELECT DISTINCT probe.new_id, b.document_id
            FROM probe JOIN lsh_bands b ON b.key = probe.key
            WHERE b.document_id <> probe.new_id
            """,
            [_joined(k for k, _ in pairs), _joined(d for _, d in pairs)],
        ).fetchall()
        for new_id, cand_id in rows:
            hits[new_id].add(cand_id)
    found = _with_roots(con, set().union(*hits.values()))
    first_seen = {doc_id: (row[2], doc_id) for doc_id, row in found.items()}
    result = {}
    for doc_id, cand_ids in hits.items():
        present = {c for c in cand_ids if c in found}
        present |= {found[c][0] for c in present if found[c][0] in found}
        result[doc_id] = [_candidate(c, found[c]) for c in sorted(present, key=first_seen.get)]
    return result


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
    con.execute(
        "INSERT INTO document_signatures (document_id, signature, scheme)"
        f" SELECT d, unhex(h), ? FROM (SELECT {_SPLIT} AS d, {_SPLIT} AS h)",
        [
            scheme,
            _joined(d for d, _, _ in rows),
            _joined(np.asarray(sig, dtype=_SIGNATURE_DTYPE).tobytes().hex() for _, sig, _ in rows),
        ],
    )
    bands = [(str(key), d) for d, _, keys in rows for key in keys]
    if bands:
        con.execute(
            "INSERT INTO lsh_bands (key, document_id)"
            f" SELECT k::BIGINT, d FROM (SELECT {_SPLIT} AS k, {_SPLIT} AS d)",
            [_joined(k for k, _ in bands), _joined(d for _, d in bands)],
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
        UPDATE documents SET duplicate_of = nullif(u.dup, ''),
                             duplicate_similarity = TRY_CAST(nullif(u.sim, '') AS DOUBLE)
        FROM (SELECT {_SPLIT} AS id, {_SPLIT} AS dup, {_SPLIT} AS sim) u
        WHERE documents.id = u.id
        """,
        [
            _joined(a.document_id for a in assignments),
            _joined(a.duplicate_of or "" for a in assignments),
            _joined("" if a.similarity is None else repr(a.similarity) for a in assignments),
        ],
    )


def _with_roots(
    con: duckdb.DuckDBPyConnection, document_ids: set[str]
) -> dict[str, tuple[str | None, bytes, int]]:
    """id -> (duplicate_of, signature, stored_at in µs) of these documents and their stories' roots.

    Only documents still in `documents` and indexed are returned.
    """
    if not document_ids:
        return {}
    rows = con.execute(
        f"""
        WITH wanted AS (SELECT {_SPLIT} AS id),
        found AS (SELECT d.id, d.duplicate_of
                  FROM documents d SEMI JOIN wanted ON d.id = wanted.id),
        everyone AS (
            SELECT id FROM found
            UNION SELECT duplicate_of FROM found WHERE duplicate_of IS NOT NULL
        )
        SELECT s.document_id, d.duplicate_of, s.signature, epoch_us(d.stored_at)
        FROM document_signatures s
        SEMI JOIN everyone ON s.document_id = everyone.id
        JOIN documents d ON d.id = s.document_id
        """,
        [_joined(sorted(document_ids))],
    ).fetchall()
    return {doc_id: (dup, sig, seen) for doc_id, dup, sig, seen in rows}


def _candidate(doc_id: str, row: tuple[str | None, bytes, int]) -> Candidate:
    return doc_id, row[0], np.frombuffer(row[1], dtype=_SIGNATURE_DTYPE).astype(np.uint32)


def _joined(values: Iterable[str]) -> str:
    items = list(values)
    if any(_SEP in v for v in items):
        raise ValueError("a document id contains the bulk separator U+001F")
    return _SEP.join(items)
