"""French full-text search over documents with DuckDB's `fts` extension, from its PyPI package.

DuckDB's index is not incremental: `PRAGMA create_fts_index` rebuilds it whole. So the writers
(seeding, ingest, backfill, retag) call `refresh_index`, which rebuilds only when the documents
changed since the last build (their count and a fingerprint of their ids, kept in
`search_index_state`); readers only query it. The build time is measured in bench/analyst.py.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cache
from pathlib import Path

import duckdb

from extractors.errors import StoreError, UsageError
from storage import bulk
from storage.store import Store

INDEX_SCHEMA = "fts_main_documents"
# Stemming and accent folding make "attaques", "attaqué" and "ATTAQUE" one term.
STEMMER = "french"
# A query term in the title is worth this many in the body: a story about a drone attack names
# it in its headline, one that mentions a drone in passing does not.
TITLE_WEIGHT = 3.0
# Words too common to rank on (articles, pronouns, prepositions, auxiliaries), accents folded.
_STOPWORD_TEXT = """
    a au aux avec ce ces cet cette dans de des du elle elles en et eux il ils je la le les leur
    leurs lui ma mais me meme mes moi mon ne nos notre nous on ou par pas pour qu que qui sa se
    ses son sur ta te tes toi ton tu un une vos votre vous c d j l m n s t y ete etait etaient
    est sont ont avait avaient sera seront aussi comme plus ainsi dont ou si entre apres avant
    selon sans sous vers chez lors
"""
STOPWORDS = tuple(_STOPWORD_TEXT.split())
# The tokeniser of the index: after lower-casing and folding accents, anything but a-z splits.
_WORD = re.compile(r"\w+")


@dataclass(frozen=True, slots=True)
class RefreshResult:
    rebuilt: bool
    documents: int
    seconds: float


@dataclass(frozen=True, slots=True)
class SearchHit:
    document_id: str
    story_id: str
    score: float
    source: str | None
    seen_at: datetime | None
    title: str | None
    url: str
    text: str
    copies_matched: int  # copies of the story that match, this one included


@cache
def extension_path() -> Path:
    """The fts extension file shipped in the duckdb-extension-fts package for this duckdb."""
    try:
        import duckdb_extension_fts
    except ImportError as exc:
        raise StoreError("the duckdb-extension-fts package is missing: run 'make install'") from exc
    root = Path(duckdb_extension_fts.__file__).parent
    found = sorted(root.glob(f"extensions/v{duckdb.__version__}/fts.duckdb_extension"))
    found = found or sorted(root.glob("extensions/*/fts.duckdb_extension"))
    if not found:
        raise StoreError(f"no fts.duckdb_extension under {root}: reinstall duckdb-extension-fts")
    return found[0]


def load(con: duckdb.DuckDBPyConnection) -> None:
    """Load the extension from its file: it can never be downloaded here."""
    path = str(extension_path()).replace("'", "''")
    try:
        con.execute(f"LOAD '{path}'")
    except duckdb.Error as exc:
        raise StoreError(f"cannot load the full-text extension {path}: {exc}") from exc


def refresh_index(con: duckdb.DuckDBPyConnection, *, force: bool = False) -> RefreshResult:
    """Rebuild the index if the documents changed since it was built (or if `force`)."""
    load(con)
    documents, fingerprint = _documents_state(con)
    if not force and _is_current(con, documents, fingerprint):
        return RefreshResult(False, documents, 0.0)
    started = time.perf_counter()
    con.execute("CREATE OR REPLACE TABLE search_stopwords (word VARCHAR)")
    con.execute(
        f"INSERT INTO search_stopwords SELECT value FROM {bulk.STRING_LIST}",
        [bulk.strings(STOPWORDS)],
    )
    con.execute(
        f"PRAGMA create_fts_index('documents', 'id', 'title', 'text', stemmer = '{STEMMER}', "
        "stopwords = 'search_stopwords', strip_accents = 1, lower = 1, overwrite = 1)"
    )
    seconds = time.perf_counter() - started
    con.execute("DELETE FROM search_index_state")
    con.execute(
        "INSERT INTO search_index_state (documents, fingerprint, build_seconds) VALUES (?, ?, ?)",
        [documents, fingerprint, seconds],
    )
    return RefreshResult(True, documents, seconds)


def is_current(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether the index covers exactly the stored documents (a read-only check)."""
    return _is_current(con, *_documents_state(con))


def _documents_state(con: duckdb.DuckDBPyConnection) -> tuple[int, int]:
    documents, fingerprint = con.execute(
        "SELECT count(*), coalesce(bit_xor(hash(id) >> 1), 0)::BIGINT FROM documents"
    ).fetchone()
    return int(documents), int(fingerprint)


def _is_current(con: duckdb.DuckDBPyConnection, documents: int, fingerprint: int) -> bool:
    last = con.execute(
        "SELECT documents, fingerprint FROM search_index_state ORDER BY built_at DESC LIMIT 1"
    ).fetchone()
    return last == (documents, fingerprint) and _index_exists(con)


def _index_exists(con: duckdb.DuckDBPyConnection) -> bool:
    (n,) = con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE schema_name = ?", [INDEX_SCHEMA]
    ).fetchone()
    return n > 0


def search(
    con: duckdb.DuckDBPyConnection,
    query: str,
    *,
    since: date | None = None,
    until: date | None = None,
    entities: tuple[str, ...] = (),
    sources: tuple[str, ...] = (),
    limit: int = 20,
) -> list[SearchHit]:
    """Stories whose copies contain every word of `query` (stemmed), best first, one per story."""
    if not query_stems(con, query):
        raise UsageError(f"nothing to search for in {query!r}: only common words")
    if not _index_exists(con):
        raise StoreError("the store has no search index yet: run 'sahelwatch init' to build it")
    load(con)
    sql = f"""
        WITH wanted AS (SELECT lower(unnest(from_json($entities, '["VARCHAR"]'))) AS e),
        matched AS (
            SELECT d.id, coalesce(d.duplicate_of, d.id) AS story_id, d.source,
                   coalesce(d.published_at, d.fetched_at, d.stored_at) AS seen_at,
                   d.title, d.url, d.text,
                   {INDEX_SCHEMA}.match_bm25(d.id, $q, conjunctive := 1) AS all_terms
            FROM documents d
            WHERE ($since IS NULL OR coalesce(d.published_at, d.fetched_at, d.stored_at)
                                     >= CAST($since AS TIMESTAMPTZ))
              AND ($until IS NULL OR coalesce(d.published_at, d.fetched_at, d.stored_at)
                                     < CAST($until AS TIMESTAMPTZ))
              AND (json_array_length($sources) = 0 OR d.source IN
                   (SELECT unnest(from_json($sources, '["VARCHAR"]'))))
              AND (json_array_length($entities) = 0 OR d.id IN (
                   SELECT m.document_id FROM mentions m JOIN wanted w
                       ON w.e = lower(m.entity_id) OR w.e = lower(m.entity_name)
                   GROUP BY m.document_id
                   HAVING count(DISTINCT w.e) = (SELECT count(DISTINCT e) FROM wanted)))
        ),
        scored AS (
            SELECT *,
                   $title_weight * coalesce({INDEX_SCHEMA}.match_bm25(id, $q, fields := 'title'), 0)
                   + coalesce({INDEX_SCHEMA}.match_bm25(id, $q, fields := 'text'), 0) AS score
            FROM matched WHERE all_terms IS NOT NULL
        )
        SELECT id, story_id, score, source, seen_at, title, url, text,
               count(*) OVER (PARTITION BY story_id) AS copies_matched
        FROM scored
        QUALIFY row_number() OVER (PARTITION BY story_id ORDER BY score DESC, seen_at, id) = 1
        ORDER BY score DESC, seen_at DESC, id
        LIMIT $limit
    """
    params = {
        "q": query,
        "since": _start_of(since),
        "until": _start_of(until + timedelta(days=1)) if until else None,
        "sources": bulk.strings(sources),
        "entities": bulk.strings(entities),
        "title_weight": TITLE_WEIGHT,
        "limit": limit,
    }
    try:
        rows = con.execute(sql, params).fetchall()
    except duckdb.Error as exc:
        raise StoreError(f"search failed: {exc}") from exc
    return [SearchHit(*row) for row in rows]


def _start_of(day: date | None) -> str | None:
    return None if day is None else f"{day.isoformat()} 00:00:00+00"


def query_stems(con: duckdb.DuckDBPyConnection, query: str) -> set[str]:
    """The stems the index looks up for `query`, common words left out."""
    return set(word_stems(con, _WORD.findall(query)).values()) - {""}


def word_stems(con: duckdb.DuckDBPyConnection, words: list[str]) -> dict[str, str]:
    """Each word's stem as the index computes it ('' for stopwords), for highlighting hits."""
    load(con)
    rows = con.execute(
        f"""
        SELECT value,
               CASE WHEN folded IN (SELECT unnest(from_json(?, '["VARCHAR"]'))) THEN ''
                    ELSE stem(folded, '{STEMMER}') END
        FROM (SELECT value, strip_accents(lower(value)) AS folded FROM {bulk.STRING_LIST})
        """,
        [bulk.strings(STOPWORDS), bulk.strings(sorted(set(words)))],
    ).fetchall()
    return dict(rows)


def refresh(store: Store, *, force: bool = False) -> RefreshResult:
    """What the writers call after they stored documents: rebuild the index in its own write."""
    if not force:
        with store.read() as con:
            if is_current(con):
                return RefreshResult(False, _documents_state(con)[0], 0.0)
    with store.write() as con:
        return refresh_index(con, force=force)
