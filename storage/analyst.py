"""The figures behind `sahelwatch report`, read from the analyst views (migration 0004).

Every function takes a read-only connection and a `Window` and returns plain rows; the charts
and the page are built elsewhere (reports/), from `ReportData` alone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import duckdb

from extractors.feed_schedule import DEAD_AFTER_FAILURES, SILENT_AFTER
from storage import bulk

# Lines per chart of mentions over time: more than this and the legend is unreadable.
TOP_ENTITIES = 6
# Stories shown with their republication delays.
LARGEST_STORIES = 8
# Rows and columns of the co-mention matrix.
MATRIX_ENTITIES = 12


@dataclass(frozen=True, slots=True)
class Window:
    since: date | None = None
    until: date | None = None  # inclusive
    entities: tuple[str, ...] = ()  # ids or names: focus the report on stories naming any

    def params(self) -> dict:
        return {
            "since": self.since,
            "until": self.until + timedelta(days=1) if self.until else None,
            "entities": bulk.strings(e.lower() for e in self.entities),
        }


@dataclass(frozen=True, slots=True)
class StoryCopy:
    source: str | None
    lag_hours: float
    is_root: bool


@dataclass(frozen=True, slots=True)
class Story:
    story_id: str
    title: str | None
    first_source: str | None
    first_seen: datetime | None
    copies: tuple[StoryCopy, ...]


@dataclass(frozen=True, slots=True)
class SourceHealth:
    source: str
    last_day: date
    last_new_item_at: datetime | None
    days_since_new_item: int | None  # as of the report's end
    failure_streak: int
    stored: int  # in the window
    skipped: int
    feed_failures: int

    @property
    def silent(self) -> bool:
        return self.days_since_new_item is not None and self.days_since_new_item >= (
            SILENT_AFTER.days
        )

    @property
    def failing(self) -> bool:
        return self.failure_streak >= DEAD_AFTER_FAILURES


@dataclass(frozen=True, slots=True)
class ReportData:
    window: Window
    as_of: date
    documents: int
    stories: int
    # (day, entity_id, entity_name, stories) per kind: 'country' and 'actor'
    series: dict[str, list[tuple[date, str, str, int]]] = field(default_factory=dict)
    largest: list[Story] = field(default_factory=list)
    matrix_entities: list[tuple[str, str]] = field(default_factory=list)  # (id, name)
    matrix_pairs: dict[tuple[str, str], int] = field(default_factory=dict)
    health: list[SourceHealth] = field(default_factory=list)


# Stories in the window (by their first copy's day) that name one of the focus entities, if any.
_FOCUS = """
    focus AS (
        SELECT a.story_id FROM articles a
        WHERE ($since IS NULL OR a.day >= $since) AND ($until IS NULL OR a.day < $until)
          AND (json_array_length($entities) = 0 OR a.story_id IN (
              SELECT story_id FROM article_mentions
              WHERE lower(entity_id) IN (SELECT unnest(from_json($entities, '["VARCHAR"]')))
                 OR lower(entity_name) IN (SELECT unnest(from_json($entities, '["VARCHAR"]')))))
    )
"""


def _fetch(con: duckdb.DuckDBPyConnection, sql: str, params: dict) -> list[tuple]:
    """Run with the named parameters this statement uses (DuckDB refuses unused ones)."""
    used = {k: v for k, v in params.items() if re.search(rf"\${k}\b", sql)}
    return con.execute(sql, used).fetchall()


def report_data(con: duckdb.DuckDBPyConnection, window: Window, as_of: date) -> ReportData:
    """Everything the report draws, for stories whose first copy ran in the window."""
    params = window.params()
    ((documents, stories),) = _fetch(
        con,
        f"WITH {_FOCUS} SELECT coalesce(sum(a.copies), 0), count(*) FROM articles a "
        "WHERE a.story_id IN (SELECT story_id FROM focus)",
        params,
    )
    matrix_entities = top_entities(con, window, None, MATRIX_ENTITIES)
    return ReportData(
        window=window,
        as_of=as_of,
        documents=int(documents),
        stories=int(stories),
        series={kind: mentions_series(con, window, kind) for kind in ("country", "actor")},
        largest=largest_stories(con, window),
        matrix_entities=matrix_entities,
        matrix_pairs=co_mention_pairs(con, window, [e for e, _ in matrix_entities]),
        health=source_health(con, window, as_of),
    )


def top_entities(
    con: duckdb.DuckDBPyConnection, window: Window, kind: str | None, n: int
) -> list[tuple[str, str]]:
    """The entities named in the most stories of the window, (id, name), most first."""
    rows = _fetch(
        con,
        f"""
        WITH {_FOCUS}
        SELECT entity_id, any_value(entity_name), count(DISTINCT story_id) AS stories
        FROM article_mentions
        WHERE story_id IN (SELECT story_id FROM focus) AND ($kind IS NULL OR entity_kind = $kind)
        GROUP BY entity_id
        ORDER BY stories DESC, entity_id
        LIMIT $n
        """,
        {**window.params(), "kind": kind, "n": n},
    )
    return [(entity_id, name) for entity_id, name, _ in rows]


def mentions_series(
    con: duckdb.DuckDBPyConnection, window: Window, kind: str
) -> list[tuple[date, str, str, int]]:
    """Unique stories per day for the top entities of a kind (the focus entities first)."""
    top = [e for e, _ in top_entities(con, window, kind, TOP_ENTITIES)]
    return _fetch(
        con,
        """
        SELECT day, entity_id, entity_name, stories FROM mentions_daily
        WHERE entity_id IN (SELECT unnest(from_json($ids, '["VARCHAR"]')))
          AND ($since IS NULL OR day >= $since) AND ($until IS NULL OR day < $until)
          AND stories > 0
        ORDER BY day, entity_id
        """,
        {**window.params(), "ids": bulk.strings(top)},
    )


def largest_stories(
    con: duckdb.DuckDBPyConnection, window: Window, n: int = LARGEST_STORIES
) -> list[Story]:
    """The stories with the most copies, each with who carried it and how many hours later."""
    rows = _fetch(
        con,
        f"""
        WITH {_FOCUS},
        largest AS (
            SELECT story_id, title, source AS first_source, seen_at AS first_seen, copies
            FROM articles WHERE story_id IN (SELECT story_id FROM focus) AND copies > 1
            ORDER BY copies DESC, seen_at DESC, story_id LIMIT $n
        )
        SELECT l.story_id, l.title, l.first_source, l.first_seen, l.copies,
               list(struct_pack(source := c.source, lag_hours := epoch(c.lag) / 3600.0,
                                is_root := c.is_root)
                    ORDER BY c.lag, c.source)
        FROM largest l JOIN story_copies c ON c.story_id = l.story_id
        GROUP BY ALL
        ORDER BY l.copies DESC, l.first_seen DESC, l.story_id
        """,
        {**window.params(), "n": n},
    )
    return [
        Story(story_id, title, source, seen, tuple(StoryCopy(**c) for c in copies))
        for story_id, title, source, seen, _, copies in rows
    ]


def co_mention_pairs(
    con: duckdb.DuckDBPyConnection, window: Window, entity_ids: list[str]
) -> dict[tuple[str, str], int]:
    """Stories naming both, for each pair among `entity_ids` (keys ordered as in co_mentions)."""
    rows = _fetch(
        con,
        f"""
        WITH {_FOCUS},
        named AS (
            SELECT DISTINCT story_id, entity_id FROM article_mentions
            WHERE story_id IN (SELECT story_id FROM focus)
              AND entity_id IN (SELECT unnest(from_json($ids, '["VARCHAR"]')))
        )
        SELECT a.entity_id, b.entity_id, count(*)
        FROM named a JOIN named b ON a.story_id = b.story_id AND a.entity_id < b.entity_id
        GROUP BY ALL
        """,
        {**window.params(), "ids": bulk.strings(entity_ids)},
    )
    return {(a, b): int(n) for a, b, n in rows}


def source_health(
    con: duckdb.DuckDBPyConnection, window: Window, as_of: date
) -> list[SourceHealth]:
    """Each source's state at the end of the window and its totals within it."""
    rows = _fetch(
        con,
        """
        SELECT source, max(day), arg_max(last_new_item_at, day), arg_max(failure_streak, day),
               sum(stored) FILTER (WHERE $since IS NULL OR day >= $since),
               sum(skipped) FILTER (WHERE $since IS NULL OR day >= $since),
               sum(feed_failures) FILTER (WHERE $since IS NULL OR day >= $since)
        FROM source_health
        WHERE $until IS NULL OR day < $until
        GROUP BY source
        ORDER BY source
        """,
        window.params(),
    )
    health = []
    for source, last_day, last_new, streak, stored, skipped, failures in rows:
        since_new = None if last_new is None else (as_of - last_new.astimezone(UTC).date()).days
        health.append(
            SourceHealth(
                source,
                last_day,
                last_new,
                since_new,
                int(streak or 0),
                int(stored or 0),
                int(skipped or 0),
                int(failures or 0),
            )
        )
    return health
