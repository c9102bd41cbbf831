"""Many rows handed to DuckDB in one parameter come back as they went in, in order."""

from __future__ import annotations

from datetime import UTC, datetime

import duckdb
import pytest

from storage import bulk

COLUMNS = {"pos": "BIGINT", "url": "VARCHAR", "seen": "TIMESTAMPTZ", "score": "DOUBLE"}


def through_duckdb(rows: list[tuple]) -> list[tuple]:
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    return con.execute(
        f"SELECT * FROM {bulk.records_source(COLUMNS)}", [bulk.records(list(COLUMNS), rows)]
    ).fetchall()


def test_rows_come_back_in_order_with_their_types_and_nulls():
    seen = datetime(2026, 3, 1, 8, 30, tzinfo=UTC)
    rows = [
        (2, "https://sahel.example/l'attaque-à-Mopti", seen, 0.5),
        (1, 'guillemets "doubles" et \\ barre', None, None),
        (3, None, seen, -1.25),
    ]
    assert through_duckdb(rows) == rows


def test_no_rows_is_an_empty_relation():
    assert through_duckdb([]) == []


def test_a_row_of_the_wrong_width_is_refused():
    with pytest.raises(ValueError):
        bulk.records(list(COLUMNS), [(1, "u", None, 0.0), (2, "v")])
    with pytest.raises(ValueError):
        bulk.records(list(COLUMNS), [(1, "u", None)])
