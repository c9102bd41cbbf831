"""Analyst queries, search and the search-index rebuild at 10k and 100k stored documents.

One store is generated in bulk SQL (a year of synthetic French articles from 30 outlets, a fifth
of them wire copies, 3 to 6 watchlist entities each, feed runs and skips), first to 10k documents
and then extended to 100k, so the large store is generated once. At each size: the full-text
index is rebuilt whole (timed), 100 more documents are added and the index refreshed (timed: what
an ingest run pays), then five typical analyst queries from docs/queries.md and one search
are each run REPEATS times, and the median is kept.

`python -m bench.analyst` prints the figures; `run()` returns them. `--cache DIR` keeps the
generated stores in DIR and reuses them (never commit them).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from extractors.tagger import Tagger
from flows.config_files import load_watchlist
from storage import fulltext, mentions
from storage.store import Store

SIZES = (10_000, 100_000)
INGEST_BATCH = 100  # documents an ingest run adds, for the incremental index refresh
REPEATS = 5
SOURCES = 30
COPY_SHARE = 0.2  # of generated documents, wire copies of an earlier story
WORDS_PER_DOCUMENT = 350
DAYS = 365
SEARCH_QUERY = "attaque drone"
# Words of the generated texts: French function words first (most frequent), then pseudo-words
# and French news words, drawn with a skew (rank = n * u^3) so that, as in real news, a few words
# are everywhere and a query's words are in a few percent of the documents.
_FUNCTION_TEXT = "le la les de des du un une et en dans pour sur avec par au aux que qui est"
FUNCTION_WORDS = _FUNCTION_TEXT.split()
_NEWS_TEXT = """
    attaque attaques attaqué drone drones frappe frappes armée soldats convoi convois embuscade
    village villages région gouvernement ministre président transition sécurité frontière
    frontières accord coopération militaire population déplacés aide humanitaire élections
    sommet délégation communiqué autorités habitants marché route routes blocus carburant
    vivres école écoles santé pluie inondations récolte prix économie mine mines or pétrole
"""
NEWS_WORDS = _NEWS_TEXT.split()
_SYLLABLES = [c + v for c in "bdfgklmnprstvz" for v in "aeiou"]
PSEUDO_WORDS = [a + b + c for a in _SYLLABLES[:40] for b in _SYLLABLES[:10] for c in ("", "ne")]
VOCABULARY = FUNCTION_WORDS + PSEUDO_WORDS[:1000] + NEWS_WORDS + PSEUDO_WORDS[1000:]
SKEW = 3

QUERIES = {
    "jnim_per_week_in_burkina": """
        SELECT iso_week, stories FROM co_mentions
        WHERE entity_a = 'BFA' AND entity_b = 'jnim' ORDER BY week""",
    "armed_groups_this_week_in_burkina": """
        WITH params AS (SELECT date_trunc('week', max(day)) AS this_week FROM mentions_daily),
        burkina AS (
            SELECT DISTINCT story_id FROM article_mentions
            WHERE entity_id = 'BFA' AND day >= (SELECT this_week FROM params))
        SELECT entity_name, count(DISTINCT story_id) AS stories
        FROM article_mentions
        WHERE entity_type = 'armed_group' AND day >= (SELECT this_week FROM params)
          AND story_id IN (SELECT story_id FROM burkina)
        GROUP BY entity_name ORDER BY stories DESC""",
    "mali_daily_attention": """
        SELECT day, stories, documents FROM mentions_daily
        WHERE entity_id = 'MLI' ORDER BY day""",
    "sources_gone_silent": """
        WITH latest AS (
            SELECT source, arg_max(last_new_item_at, day) AS last_new,
                   arg_max(failure_streak, day) AS streak
            FROM source_health GROUP BY source)
        SELECT * FROM latest ORDER BY last_new""",
    "wire_first_and_delays": """
        SELECT source, count(*) FILTER (WHERE is_root) AS first,
               median(epoch(lag) / 3600) FILTER (WHERE NOT is_root) AS median_hours_late
        FROM story_copies
        WHERE story_id IN (SELECT story_id FROM articles WHERE copies > 1)
        GROUP BY source""",
}


def run(sizes: tuple[int, ...] = SIZES, repeats: int = REPEATS, cache: Path | None = None) -> dict:
    """Seconds per query, per search and per index rebuild, at each store size.

    With `cache` (a folder), the store generated and indexed at each size is kept there and
    reused by the next run, which then skips the generation and the full rebuild (their figures
    are None): a 100k store takes minutes to index whole.
    """
    results: dict = {"repeats": repeats, "sizes": {}}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "analyst-bench.duckdb"
        store = Store(path)
        store.migrate()
        _entities(store)
        have = 0
        for size in sizes:
            figures: dict = {"generate_s": None, "index_full_rebuild_s": None}
            kept = cache / f"analyst-{size}.duckdb" if cache else None
            if kept and kept.exists():
                shutil.copyfile(kept, path)
                store.migrate()
            else:
                started = time.perf_counter()
                _generate(store, have, size - INGEST_BATCH)
                figures["generate_s"] = round(time.perf_counter() - started, 1)
                rebuild = fulltext.refresh(store, force=True).seconds
                figures["index_full_rebuild_s"] = round(rebuild, 2)
                if kept:
                    kept.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copyfile(path, kept)
            _generate(store, size - INGEST_BATCH, size)  # what one ingest run adds
            incremental = fulltext.refresh(store).seconds
            have = size
            figures |= _measure(store, repeats)
            figures[f"index_refresh_{INGEST_BATCH}_new_s"] = round(incremental, 3)
            results["sizes"][size] = figures
    largest = results["sizes"][sizes[-1]]
    results["slowest_query_s_at_largest"] = max(largest["queries_s"].values())
    results["search_s_at_largest"] = largest["search_s"]
    results["index_refresh_s_at_largest"] = largest[f"index_refresh_{INGEST_BATCH}_new_s"]
    results["index_full_rebuild_s_at_largest"] = largest["index_full_rebuild_s"]
    results["load_average_after"] = round(os.getloadavg()[0], 2)
    return results


def _measure(store: Store, repeats: int) -> dict:
    """Median wall-clock seconds, and median CPU seconds of this process (DuckDB's threads
    included): other jobs on the machine stretch the first, hardly the second."""
    figures: dict = {"queries_s": {}, "queries_cpu_s": {}}
    with store.read() as con:
        con.execute("SET enable_progress_bar = false")
        for name, sql in QUERIES.items():
            wall, cpu = _median_s(repeats, lambda sql=sql: con.execute(sql).fetchall())
            figures["queries_s"][name] = wall
            figures["queries_cpu_s"][name] = cpu
        hits = fulltext.search(con, SEARCH_QUERY)
        figures["search_hits"] = len(hits)
        wall, cpu = _median_s(repeats, lambda: fulltext.search(con, SEARCH_QUERY))
        figures["search_s"], figures["search_cpu_s"] = wall, cpu
    return figures


def _median_s(repeats: int, call) -> tuple[float, float]:
    walls, cpus = [], []
    for _ in range(repeats):
        started, cpu_started = time.perf_counter(), time.process_time()
        call()
        walls.append(time.perf_counter() - started)
        cpus.append(time.process_time() - cpu_started)
    return round(statistics.median(walls), 4), round(statistics.median(cpus), 4)


def _entities(store: Store) -> None:
    tagger = Tagger(load_watchlist(None))
    with store.write() as con:
        mentions.record_entities(con, tagger.entities, tagger.version)


def _generate(store: Store, start: int, stop: int) -> None:
    """Documents start..stop-1 with their mentions, and feed runs and skips over the year."""
    with store.write() as con:
        con.execute("SET enable_progress_bar = false")
        con.execute("SELECT setseed(0.42)")
        con.execute(
            """
            INSERT INTO documents (id, url, canonical_url, source, title, published_at,
                fetched_at, language, language_score, text, text_source, content_hash, origin,
                duplicate_of, duplicate_similarity, stored_at)
            WITH base AS (
                SELECT i, TIMESTAMPTZ '2024-01-01 00:00:00+00'
                          + to_seconds(CAST(i * ($days * 86400.0 / $total) AS BIGINT)) AS t,
                       $words AS words
                FROM range($start, $stop) r(i)
            )
            SELECT printf('d%015x', i), 'https://bench.example/' || i,
                   'https://bench.example/' || i, 'Outlet ' || (i % $sources),
                   array_to_string(list_transform(range(10),
                       x -> words[1 + CAST(floor(pow(random(), $skew) * len(words)) AS INT)]), ' '),
                   t, t + INTERVAL 1 HOUR, 'fr', 0.99,
                   array_to_string(list_transform(range($n_words),
                       x -> words[1 + CAST(floor(pow(random(), $skew) * len(words)) AS INT)]), ' '),
                   'page', md5(i::VARCHAR), 'feed',
                   CASE WHEN i > 100 AND random() < $copy_share
                        THEN printf('d%015x', i - 1 - CAST(floor(random() * 50) AS INT)) END,
                   0.8, t + INTERVAL 1 HOUR
            FROM base
            """,
            {
                "start": start,
                "stop": stop,
                "total": SIZES[-1],
                "days": DAYS,
                "words": VOCABULARY,
                "skew": SKEW,
                "n_words": WORDS_PER_DOCUMENT,
                "sources": SOURCES,
                "copy_share": COPY_SHARE,
            },
        )
        # A copy of a copy points at its root, as the near-duplicate index would record it.
        con.execute(
            """
            UPDATE documents d SET duplicate_of = r.duplicate_of
            FROM documents r
            WHERE d.duplicate_of = r.id AND r.duplicate_of IS NOT NULL
            """
        )
        con.execute(
            """
            INSERT INTO mentions (document_id, entity_id, entity_kind, entity_name, count,
                                  first_offset, watchlist_version)
            WITH ranked AS (
                SELECT *, row_number() OVER (ORDER BY entity_kind DESC, entity_id) - 1 AS rank,
                       count(*) OVER () AS n
                FROM watchlist_entities
            ),
            picks AS (  -- five draws per document, skewed towards the first-ranked entities
                SELECT d.id AS document_id,
                       CAST(floor(pow(random(), 2) * (SELECT max(n) FROM ranked)) AS INT) AS pick
                FROM documents d CROSS JOIN range(5)
                WHERE d.id >= printf('d%015x', $start) AND d.id < printf('d%015x', $stop)
            )
            SELECT DISTINCT ON (p.document_id, e.entity_id) p.document_id, e.entity_id,
                   e.entity_kind, e.entity_name, 1, 10, e.watchlist_version
            FROM picks p JOIN ranked e ON e.rank = p.pick
            """,
            {"start": start, "stop": stop},
        )
        con.execute(
            """
            INSERT INTO runs (run_id, flow, started_at, ended_at, status, counts)
            SELECT 'bench-' || r, 'ingest_feeds', t, t + INTERVAL 5 MINUTE, 'completed',
                   json_object('per_feed', (
                       SELECT list(json_object('source', 'Outlet ' || s,
                           'status', CASE WHEN random() < 0.05 THEN 'failed' ELSE 'ok' END,
                           'items_seen', 20, 'stored', 3))
                       FROM range($sources) x(s)))
            FROM (SELECT r, TIMESTAMPTZ '2024-01-01 00:00:00+00' + to_hours(6 * r) AS t
                  FROM range($first, $last) x(r))
            """,
            {
                "sources": SOURCES,
                "first": start * DAYS * 4 // SIZES[-1],
                "last": stop * DAYS * 4 // SIZES[-1],
            },
        )
        con.execute(
            """
            INSERT INTO skipped (url, canonical_url, source, reason, skipped_at)
            SELECT 'https://bench.example/skip/' || i, 'https://bench.example/skip/' || i,
                   'Outlet ' || (i % $sources),
                   ['not_french', 'http_error', 'no_text'][1 + i % 3],
                   TIMESTAMPTZ '2024-01-01 00:00:00+00'
                       + to_seconds(CAST(i * 10 * ($days * 86400.0 / $total) AS BIGINT))
            FROM range($start // 10, $stop // 10) r(i)
            """,
            {"start": start, "stop": stop, "sources": SOURCES, "days": DAYS, "total": SIZES[-1]},
        )


def main() -> None:
    """`python -m bench.analyst [--cache DIR] [--sizes 100000]`: print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, help="keep and reuse the generated stores here")
    parser.add_argument("--sizes", default=",".join(map(str, SIZES)), help="e.g. 100000")
    parser.add_argument("--repeats", type=int, default=REPEATS)
    args = parser.parse_args()
    sizes = tuple(int(size) for size in args.sizes.split(","))
    print(json.dumps(run(sizes, args.repeats, args.cache), indent=2))


if __name__ == "__main__":
    main()
