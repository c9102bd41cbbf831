"""Per-feed polling state: validators for conditional GET, health, and when to poll next."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import astuple, fields

import duckdb

from extractors.feed_schedule import FeedState

_COLUMNS = tuple(f.name for f in fields(FeedState))
_COLUMN_LIST = ", ".join(_COLUMNS)


def load_states(con: duckdb.DuckDBPyConnection) -> dict[str, FeedState]:
    rows = con.execute(f"SELECT {_COLUMN_LIST} FROM feed_state").fetchall()
    return {row[0]: FeedState(*row) for row in rows}


def save_states(con: duckdb.DuckDBPyConnection, states: Iterable[FeedState]) -> None:
    """Replace each feed's row: one row per feed, whatever the number of polls."""
    for state in states:
        con.execute("DELETE FROM feed_state WHERE feed_url = ?", [state.feed_url])
        placeholders = ", ".join("?" for _ in _COLUMNS)
        con.execute(
            f"INSERT INTO feed_state ({_COLUMN_LIST}) VALUES ({placeholders})", list(astuple(state))
        )
