"""French full-text search: an inverted index in the store, kept current incrementally.

DuckDB's own `PRAGMA create_fts_index` rebuilds the whole index every time and stems every token:
measured here, about 5 s for 3,000 documents of 350 words on a loaded 2-core machine, so minutes
at 100k, after every ingest. Instead the index lives in three plain tables (migration 0004) and a
refresh adds only the documents not indexed yet; each distinct word is stemmed once, ever
(`search_words`), with the French Snowball stemmer and `strip_accents` of the `fts` extension,
loaded from its PyPI package. Ranking is BM25 per field, the title weighted above the body.
The writers (seeding, ingest, backfill, retag) call `refresh`; readers only query.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import duckdb

from extractors.errors import StoreError, UsageError
from storage import bulk, extensions
from storage.stores import AnyStore

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
_FOLD = "trim(regexp_replace(strip_accents(lower({x})), '[^a-z]+', ' ', 'g'))"
_WORD = re.compile(r"\w+")
# BM25's usual constants: term-frequency saturation and length normalisation.
BM25_K1 = 1.2
BM25_B = 0.75
# The postings are kept sorted by stem so that a search reads only the row groups (122,880 rows)
# holding its stems: 0.02 s instead of 0.34 s for the 7.7M rows of 100k documents. A refresh
# appends its rows unsorted at the end, where every search reads them; once these exceed this
# share of the sorted rows (and RESORT_MIN_ROWS), the refresh sorts the whole table again (about
# a minute at 100k documents on a loaded 2-core machine, once every ~25k new documents).
RESORT_SHARE = 0.25
RESORT_MIN_ROWS = 1_000_000
# DuckDB's memory while it sorts the postings again; past it the copy and the sort spill to the
# store's temporary folder. Unbounded, the sort held the whole table, so its memory grew with
# the store: about 200 MB for the 1.3M postings of 8,000 generated pages.
RESORT_MEMORY_LIMIT = "128MB"
# Documents tokenised per write: DuckDB holds a slice's words (a row per document, field and
# word) while it stems and inserts them. The 7,953 pages of a 10,000-page WARC backfill at once
# took 410 MB; 1,000 news pages of ~5 KB take about 50 MB.
REFRESH_SLICE_DOCUMENTS = 1000


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


def load(con: duckdb.DuckDBPyConnection) -> None:
    """Load the fts extension (its stemmer) from its package: it can never be downloaded here."""
    extensions.load(con, "fts")


def _clear(con: duckdb.DuckDBPyConnection) -> None:
    """Forget the whole index, so that every document is indexed again."""
    for table in ("search_postings", "search_fields", "search_words", "search_index_state"):
        con.execute(f"DELETE FROM {table}")


def _index_slice(con: duckdb.DuckDBPyConnection, limit: int) -> int:
    """Index up to `limit` documents not indexed yet (by id); returns how many it indexed.

    DuckDB holds the slice's words (a row per document, field and word) while it stems and
    inserts them: bounded by the slice, not by the documents waiting.
    """
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE search_new_words AS
        WITH fresh_ids AS (
            SELECT id FROM documents d
            WHERE NOT EXISTS (SELECT 1 FROM search_fields f WHERE f.document_id = d.id)
            ORDER BY id LIMIT $limit
        ),
        fresh AS (SELECT id, title, text FROM documents d SEMI JOIN fresh_ids USING (id)),
        fields AS (
            SELECT id, 'title' AS field, coalesce(title, '') AS body FROM fresh
            UNION ALL SELECT id, 'text', text FROM fresh
        ),
        tokens AS (
            SELECT id AS document_id, field,
                   unnest(string_split_regex({_FOLD.format(x="body")}, '\\s+')) AS word
            FROM fields
        )
        SELECT document_id, field, word, count(*) FILTER (WHERE word <> '') AS tf
        FROM tokens GROUP BY ALL
        """,
        {"limit": limit},
    )
    con.execute(
        f"""
        INSERT INTO search_words
        SELECT word, CASE WHEN word IN (SELECT value FROM {bulk.STRING_LIST}) THEN ''
                          ELSE stem(word, '{STEMMER}') END
        FROM (SELECT DISTINCT word FROM search_new_words WHERE word <> '') t
        WHERE NOT EXISTS (SELECT 1 FROM search_words w WHERE w.word = t.word)
        """,
        [bulk.strings(STOPWORDS)],
    )
    con.execute(
        """
        INSERT INTO search_postings
        SELECT t.document_id, t.field, w.stem, sum(t.tf)
        FROM search_new_words t JOIN search_words w ON w.word = t.word
        WHERE w.stem <> ''
        GROUP BY ALL
        ORDER BY w.stem, t.document_id
        """
    )
    # Every new document gets its two rows, even with no indexed word: it counts as indexed.
    con.execute(
        """
        INSERT INTO search_fields
        SELECT t.document_id, t.field, coalesce(sum(t.tf) FILTER (WHERE w.stem <> ''), 0)
        FROM search_new_words t LEFT JOIN search_words w ON w.word = t.word
        GROUP BY ALL
        """
    )
    (indexed,) = con.execute("SELECT count(DISTINCT document_id) FROM search_new_words").fetchone()
    con.execute("DROP TABLE search_new_words")
    return int(indexed)


def _record_state(
    con: duckdb.DuckDBPyConnection, sorted_in_one_statement: bool, started: float
) -> RefreshResult:
    """Once every document is indexed: keep the postings sorted, and record what the index
    covers, which `is_current` compares with the documents."""
    documents, fingerprint = _documents_state(con)
    sorted_postings = _keep_postings_sorted(con, sorted_in_one_statement)
    seconds = time.perf_counter() - started
    con.execute("DELETE FROM search_index_state")
    con.execute(
        "INSERT INTO search_index_state (documents, fingerprint, build_seconds, sorted_postings) "
        "VALUES (?, ?, ?, ?)",
        [documents, fingerprint, seconds, sorted_postings],
    )
    return RefreshResult(True, documents, seconds)


def _keep_postings_sorted(con: duckdb.DuckDBPyConnection, sorted_in_one_statement: bool) -> int:
    """Sort the postings again when the unsorted tail grew too long; the rows now sorted."""
    (total,) = con.execute("SELECT count(*) FROM search_postings").fetchone()
    if sorted_in_one_statement:  # a rebuild that took one slice
        return int(total)
    row = con.execute(
        "SELECT sorted_postings FROM search_index_state ORDER BY built_at DESC LIMIT 1"
    ).fetchone()
    already = int(row[0] or 0) if row else 0
    if total - already <= max(RESORT_MIN_ROWS, RESORT_SHARE * already):
        return already
    _sort_postings(con)
    return int(total)


def _sort_postings(con: duckdb.DuckDBPyConnection) -> None:
    """Rewrite the postings in stem order, within RESORT_MEMORY_LIMIT (the rest spills)."""
    con.execute(f"SET memory_limit = '{RESORT_MEMORY_LIMIT}'")
    try:
        con.execute("CREATE OR REPLACE TEMP TABLE search_postings_all AS FROM search_postings")
        con.execute("DELETE FROM search_postings")
        con.execute(
            "INSERT INTO search_postings FROM search_postings_all ORDER BY stem, document_id"
        )
        con.execute("DROP TABLE search_postings_all")
    finally:
        con.execute("RESET memory_limit")


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
    return last == (documents, fingerprint)


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
    stems = query_stems(con, query)
    if not stems:
        raise UsageError(f"nothing to search for in {query!r}: only common words")
    sql = """
        WITH q AS (SELECT unnest(from_json($stems, '["VARCHAR"]')) AS stem),
        wanted AS (SELECT lower(unnest(from_json($entities, '["VARCHAR"]'))) AS e),
        stats AS (
            SELECT field, count(*) AS n, avg(length) AS avgdl FROM search_fields GROUP BY field
        ),
        hits AS MATERIALIZED (  -- the one scan of the postings
            SELECT p.* FROM search_postings p WHERE p.stem IN (SELECT stem FROM q)
        ),
        df AS (SELECT field, stem, count(*) AS df FROM hits GROUP BY ALL),
        matched AS (  -- documents holding every stem, in any field
            SELECT document_id FROM hits GROUP BY document_id
            HAVING count(DISTINCT stem) = (SELECT count(*) FROM q)
        ),
        scores AS (  -- BM25 per field, the title's weighted
            SELECT h.document_id,
                   sum(CASE h.field WHEN 'title' THEN $title_weight ELSE 1 END
                       * ln(1 + (s.n - df.df + 0.5) / (df.df + 0.5))
                       * h.tf * ($k1 + 1)
                       / (h.tf + $k1 * (1 - $b + $b * f.length / greatest(s.avgdl, 1)))) AS score
            FROM hits h
            JOIN matched m ON m.document_id = h.document_id
            JOIN df ON df.field = h.field AND df.stem = h.stem
            JOIN stats s ON s.field = h.field
            JOIN search_fields f ON f.document_id = h.document_id AND f.field = h.field
            GROUP BY h.document_id
        ),
        found AS (  -- ids and scores only: the text is read for the shown results alone
            SELECT d.id, coalesce(d.duplicate_of, d.id) AS story_id, sc.score,
                   coalesce(d.published_at, d.fetched_at, d.stored_at) AS seen_at
            FROM scores sc JOIN documents d ON d.id = sc.document_id
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
        best AS (
            SELECT id, story_id, score, seen_at,
                   count(*) OVER (PARTITION BY story_id) AS copies_matched
            FROM found
            QUALIFY row_number() OVER (PARTITION BY story_id ORDER BY score DESC, seen_at, id) = 1
            ORDER BY score DESC, seen_at DESC, id
            LIMIT $limit
        )
        SELECT b.id, b.story_id, b.score, d.source, b.seen_at, d.title, d.url, d.text,
               b.copies_matched
        FROM best b JOIN documents d ON d.id = b.id
        ORDER BY b.score DESC, b.seen_at DESC, b.id
    """
    params = {
        "stems": bulk.strings(sorted(stems)),
        "since": _start_of(since),
        "until": _start_of(until + timedelta(days=1)) if until else None,
        "sources": bulk.strings(sources),
        "entities": bulk.strings(entities),
        "title_weight": TITLE_WEIGHT,
        "k1": BM25_K1,
        "b": BM25_B,
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
        FROM (SELECT value, {_FOLD.format(x="value")} AS folded FROM {bulk.STRING_LIST})
        """,
        [bulk.strings(STOPWORDS), bulk.strings(sorted(set(words)))],
    ).fetchall()
    return dict(rows)


def refresh(store: AnyStore, *, force: bool = False) -> RefreshResult:
    """What the writers call after they stored documents: the documents not indexed yet, in
    slices of REFRESH_SLICE_DOCUMENTS, each its own short write, so neither memory nor the write
    lock grows with their number. A slice's documents are searchable once it commits; `force`
    forgets the index first (in the first slice's write) and indexes every document again."""
    if not force:
        with store.read() as con:
            if is_current(con):
                return RefreshResult(False, _documents_state(con)[0], 0.0)
    started = time.perf_counter()
    slices = 0
    while True:
        with store.write() as con:
            load(con)
            if force and slices == 0:
                _clear(con)
            slices += 1
            if _index_slice(con, REFRESH_SLICE_DOCUMENTS) < REFRESH_SLICE_DOCUMENTS:
                return _record_state(con, force and slices == 1, started)
