"""Per-feed polling state: validators for conditional GET, health, and when to poll next."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import astuple, fields

import duckdb

from extractors.feed_schedule import FeedState
from storage import bulk

_COLUMNS = tuple(f.name for f in fields(FeedState))
_COLUMN_LIST = ", ".join(_COLUMNS)
# The table's column types, for the one-parameter bulk insert (storage/bulk.py).
_TYPES = {
    **dict.fromkeys(_COLUMNS, "VARCHAR"),
    **dict.fromkeys(("consecutive_failures", "polls"), "INTEGER"),
    **dict.fromkeys((c for c in _COLUMNS if c.endswith("_at")), "TIMESTAMPTZ"),
}


def load_states(con: duckdb.DuckDBPyConnection) -> dict[str, FeedState]:
    rows = con.execute(f"SELECT {_COLUMN_LIST} FROM feed_state").fetchall()
    return {row[0]: FeedState(*row) for row in rows}


def save_states(con: duckdb.DuckDBPyConnection, states: Iterable[FeedState]) -> None:
    """Replace each feed's row: one row per feed, whatever the number of polls.

    Two statements for all the feeds of a run, not two per feed: on a lake each statement costs
    round trips to the catalog.
    """
    latest = {state.feed_url: state for state in states}  # a feed saved twice: its last state
    if not latest:
        return
    con.execute(
        f"DELETE FROM feed_state WHERE feed_url IN {bulk.STRING_LIST}", [bulk.strings(latest)]
    )
    rows = [astuple(state) for state in latest.values()]
    con.execute(
        f"INSERT INTO feed_state ({_COLUMN_LIST}) "
        f"SELECT {_COLUMN_LIST} FROM {bulk.records_source(_TYPES)}",
        [bulk.records(_COLUMNS, rows)],
    )
