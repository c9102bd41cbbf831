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
    """A FROM-able relation of rows with these (name -> DuckDB type) columns, from one parameter.

    The parameter holds a list per column, unnested side by side (DuckDB zips unnests of one
    SELECT): a JSON object per row cost up to twice as much to build and to parse (51,000 probe
    rows of the near-duplicate stage: 0.1 s in Python and 0.1 s in DuckDB; by column, 0.02 s and
    0.05 s; on a loaded machine 0.034 and 0.067 s against 0.023 and 0.055 s).
    """
    schema = json.dumps({name: [kind] for name, kind in columns.items()}).replace("'", "''")
    unnested = ", ".join(f'unnest(c."{name}") AS "{name}"' for name in columns)
    return f"(SELECT {unnested} FROM (SELECT from_json(?, '{schema}') AS c))"


def records(columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """The parameter for records_source: each column's values, in row order."""
    by_column = list(zip(*rows, strict=True)) or [()] * len(columns)
    return json.dumps(
        {name: values for name, values in zip(columns, by_column, strict=True)},
        ensure_ascii=False,
        default=str,
    )
