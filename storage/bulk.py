"""Handing many values to DuckDB in one parameter.

duckdb 1.5's Python client converts list parameters and `executemany` rows one Python object
at a time, at about 1 ms a row here (it probes for pandas on each). One JSON string parameter,
unnested in SQL, costs microseconds a row: every bulk statement goes through it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

STRING_LIST = """(SELECT unnest(from_json(?, '["VARCHAR"]')) AS value)"""


def strings(values: Iterable[str]) -> str:
    """The parameter for STRING_LIST."""
    return json.dumps(list(values), ensure_ascii=False)


def records_source(columns: Mapping[str, str]) -> str:
    """A FROM-able relation of rows with these (name -> DuckDB type) columns, from one parameter."""
    schema = json.dumps([dict(columns)]).replace("'", "''")
    return f"(SELECT unnest(from_json(?, '{schema}'), recursive := true))"


def records(columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """The parameter for records_source: rows as a JSON array of objects."""
    return json.dumps(
        [dict(zip(columns, row, strict=True)) for row in rows], ensure_ascii=False, default=str
    )
