"""A backfill's progress in the store: units discovered, pages found, pages done.

Discovery records each unit (a sitemap, a feed page, a WARC file) together with the pages it
listed, in one transaction; processing marks pages done in the transaction that stores them. So
a backfill killed at any point resumes from the store alone, and nothing is stored twice.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import duckdb

from storage import bulk

ITEM_COLUMNS = {
    "url": "VARCHAR",
    "canonical_url": "VARCHAR",
    "discovered_by": "VARCHAR",
    "locator": "VARCHAR",
    "published_hint": "TIMESTAMPTZ",
    "title_hint": "VARCHAR",
}


@dataclass(frozen=True, slots=True)
class BackfillItem:
    url: str
    canonical_url: str
    discovered_by: str
    locator: str | None = None
    published_hint: datetime | None = None
    title_hint: str | None = None
    seq: int = 0


@dataclass(frozen=True, slots=True)
class BackfillStatus:
    backfill_id: str
    kind: str
    locator: str
    since: datetime | None
    until: datetime | None
    status: str
    units: int
    outside_window: int
    found: int
    done: int
    updated_at: datetime


def register(
    con: duckdb.DuckDBPyConnection,
    backfill_id: str,
    kind: str,
    locator: str,
    window: tuple[datetime | None, datetime | None],
    parameters: Mapping[str, Any],
    run_id: str,
) -> None:
    """Create the backfill's row, or mark a resumed one as running again under this run."""
    con.execute(
        "UPDATE backfills SET status = 'running', updated_at = current_timestamp, "
        "last_run_id = ? WHERE backfill_id = ?",
        [run_id, backfill_id],
    )
    con.execute(
        "INSERT INTO backfills (backfill_id, kind, locator, since, until, parameters, status,"
        " last_run_id) SELECT ?, ?, ?, ?, ?, ?, 'running', ? "
        "WHERE NOT EXISTS (SELECT 1 FROM backfills WHERE backfill_id = ?)",
        [
            backfill_id,
            kind,
            locator,
            *window,
            json.dumps(dict(parameters), default=str),
            run_id,
            backfill_id,
        ],
    )


def set_status(con: duckdb.DuckDBPyConnection, backfill_id: str, status: str) -> None:
    con.execute(
        "UPDATE backfills SET status = ?, updated_at = current_timestamp WHERE backfill_id = ?",
        [status, backfill_id],
    )


def done_units(con: duckdb.DuckDBPyConnection, backfill_id: str) -> set[str]:
    rows = con.execute("SELECT unit FROM backfill_units WHERE backfill_id = ?", [backfill_id])
    return {unit for (unit,) in rows.fetchall()}


def record_unit(
    con: duckdb.DuckDBPyConnection,
    backfill_id: str,
    unit: str,
    items: Sequence[BackfillItem],
    outside_window: int,
) -> int:
    """Record a discovered unit and its pages (once per canonical URL); returns pages added."""
    (before,) = con.execute(
        "SELECT count(*) FROM backfill_items WHERE backfill_id = ?", [backfill_id]
    ).fetchone()
    rows = [
        (i.url, i.canonical_url, i.discovered_by, i.locator, i.published_hint, i.title_hint)
        for i in items
    ]
    con.execute(
        f"""
        INSERT INTO backfill_items (backfill_id, seq, url, canonical_url, discovered_by, locator,
                                    published_hint, title_hint)
        WITH new AS (
            SELECT *, row_number() OVER () AS position FROM {bulk.records_source(ITEM_COLUMNS)}
        ),
        firsts AS (
            SELECT * FROM new
            QUALIFY row_number() OVER (PARTITION BY canonical_url ORDER BY position) = 1
        ),
        top AS (SELECT coalesce(max(seq), 0) AS seq FROM backfill_items WHERE backfill_id = ?)
        SELECT ?, top.seq + row_number() OVER (ORDER BY position), url, canonical_url,
               discovered_by, locator, published_hint, title_hint
        FROM firsts f, top
        WHERE NOT EXISTS (SELECT 1 FROM backfill_items b
                          WHERE b.backfill_id = ? AND b.canonical_url = f.canonical_url)
        """,
        [bulk.records(list(ITEM_COLUMNS), rows), backfill_id, backfill_id, backfill_id],
    )
    con.execute(
        "INSERT INTO backfill_units (backfill_id, unit, items_found, outside_window) "
        "SELECT ?, ?, ?, ? WHERE NOT EXISTS "
        "(SELECT 1 FROM backfill_units WHERE backfill_id = ? AND unit = ?)",
        [backfill_id, unit, len(items), outside_window, backfill_id, unit],
    )
    (after,) = con.execute(
        "SELECT count(*) FROM backfill_items WHERE backfill_id = ?", [backfill_id]
    ).fetchone()
    return int(after - before)


def pending_items(
    con: duckdb.DuckDBPyConnection, backfill_id: str, after_seq: int, limit: int
) -> list[BackfillItem]:
    """Pages not done yet, in discovery order, after `after_seq`."""
    rows = con.execute(
        "SELECT url, canonical_url, discovered_by, locator, published_hint, title_hint, seq "
        "FROM backfill_items WHERE backfill_id = ? AND done_at IS NULL AND seq > ? "
        "ORDER BY seq LIMIT ?",
        [backfill_id, after_seq, limit],
    ).fetchall()
    return [BackfillItem(*row) for row in rows]


def mark_done(
    con: duckdb.DuckDBPyConnection, backfill_id: str, outcomes: Iterable[tuple[str, str]]
) -> None:
    """Mark pages (canonical URL, outcome) done: a resumed backfill will not take them again."""
    rows = list(outcomes)
    if not rows:
        return
    con.execute(
        f"""
        UPDATE backfill_items SET done_at = current_timestamp, outcome = o.outcome
        FROM {bulk.records_source({"canonical_url": "VARCHAR", "outcome": "VARCHAR"})} AS o
        WHERE backfill_items.backfill_id = ? AND backfill_items.canonical_url = o.canonical_url
        """,
        [bulk.records(["canonical_url", "outcome"], rows), backfill_id],
    )


def statuses(con: duckdb.DuckDBPyConnection) -> list[BackfillStatus]:
    rows = con.execute(
        """
        SELECT b.backfill_id, b.kind, b.locator, b.since, b.until,
               -- a run that died or was interrupted leaves 'running': say what its run says
               CASE WHEN b.status = 'running'
                    THEN coalesce((SELECT r.status FROM runs r WHERE r.run_id = b.last_run_id),
                                  'running')
                    ELSE b.status END,
               (SELECT count(*) FROM backfill_units u WHERE u.backfill_id = b.backfill_id),
               (SELECT coalesce(sum(outside_window), 0) FROM backfill_units u
                WHERE u.backfill_id = b.backfill_id),
               (SELECT count(*) FROM backfill_items i WHERE i.backfill_id = b.backfill_id),
               (SELECT count(done_at) FROM backfill_items i WHERE i.backfill_id = b.backfill_id),
               b.updated_at
        FROM backfills b ORDER BY b.updated_at DESC
        """
    ).fetchall()
    return [BackfillStatus(*row) for row in rows]


def counts(con: duckdb.DuckDBPyConnection, backfill_id: str) -> dict[str, int]:
    """Pages found, done and pending, and entries their source dated outside the window."""
    (found, done, outside) = con.execute(
        "SELECT (SELECT count(*) FROM backfill_items WHERE backfill_id = $1),"
        " (SELECT count(done_at) FROM backfill_items WHERE backfill_id = $1),"
        " (SELECT coalesce(sum(outside_window), 0) FROM backfill_units WHERE backfill_id = $1)",
        [backfill_id],
    ).fetchone()
    return {"found": found, "done": done, "pending": found - done, "outside_window": int(outside)}
