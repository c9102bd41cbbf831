"""Exporting documents, mentions and stories to Parquet (partitioned by month), CSV or JSON lines.

Each export is one `COPY` per table, so it streams from DuckDB to the files without passing
through Python. Parquet goes to one folder per table in Hive layout (`documents/month=2025-03/
data_0.parquet`), which DuckDB, pandas (pyarrow) and polars all read as one dataset with a
`month` column; CSV and JSON lines go to one file per table.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import duckdb

from extractors.errors import StoreError

FORMATS = ("parquet", "csv", "jsonl")
_SEEN_AT = "coalesce(d.published_at, d.fetched_at, d.stored_at)"
_MONTH = "strftime(timezone('UTC', {t}), '%Y-%m') AS month"
_WINDOW = (
    "({t} >= CAST($since AS TIMESTAMPTZ) OR $since IS NULL)"
    " AND ({t} < CAST($until AS TIMESTAMPTZ) OR $until IS NULL)"
)

# The exported tables: every document in the window, their mentions, and the stories that began
# in it. The month (UTC) of a row is its document's time, or its story's first copy's.
QUERIES = {
    "documents": f"""
        SELECT d.id, d.url, d.canonical_url, d.source, d.feed_url, d.title, d.author,
               d.published_at, d.published_source, d.fetched_at, {_SEEN_AT} AS seen_at,
               d.language, d.language_score, d.text, d.text_source, d.content_hash, d.origin,
               coalesce(d.duplicate_of, d.id) AS story_id, d.duplicate_of,
               d.duplicate_similarity, d.stored_at, d.discovered_by,
               {_MONTH.format(t=_SEEN_AT)}
        FROM documents d
        WHERE {_WINDOW.format(t=_SEEN_AT)}
        ORDER BY seen_at, d.id
    """,
    "mentions": f"""
        SELECT m.document_id, m.story_id, m.is_root, m.source, m.seen_at, m.entity_id,
               m.entity_kind, m.entity_type, m.entity_name, m.count, m.first_offset,
               m.watchlist_version, {_MONTH.format(t="m.seen_at")}
        FROM article_mentions m
        WHERE {_WINDOW.format(t="m.seen_at")}
        ORDER BY m.seen_at, m.document_id, m.entity_id
    """,
    "stories": f"""
        SELECT s.story_id, s.title, s.first_source, s.first_seen, s.last_seen, s.copies,
               s.sources, {_MONTH.format(t="s.first_seen")}
        FROM stories s
        WHERE {_WINDOW.format(t="s.first_seen")}
        ORDER BY s.first_seen, s.story_id
    """,
}


@dataclass(frozen=True, slots=True)
class ExportedTable:
    name: str
    rows: int
    path: Path


def export(
    con: duckdb.DuckDBPyConnection,
    out: Path,
    fmt: str,
    *,
    since: date | None = None,
    until: date | None = None,
) -> list[ExportedTable]:
    """Write every exported table under `out`; an existing export of the same format is replaced."""
    if fmt not in FORMATS:
        raise StoreError(f"unknown export format {fmt!r}; choose among {', '.join(FORMATS)}")
    out.mkdir(parents=True, exist_ok=True)
    params = {
        "since": f"{since.isoformat()} 00:00:00+00" if since else None,
        "until": f"{(until + timedelta(days=1)).isoformat()} 00:00:00+00" if until else None,
    }
    done = []
    for name, sql in QUERIES.items():
        relation = f"({sql})"
        (rows,) = con.execute(f"SELECT count(*) FROM {relation}", params).fetchone()
        path = _target(out, name, fmt)
        target = _prepare(path, fmt, rows)
        try:
            con.execute(f"COPY {relation} TO '{_quoted(target)}' ({_options(fmt, rows)})", params)
        except duckdb.Error as exc:
            raise StoreError(f"cannot export {name} to {path}: {exc}") from exc
        done.append(ExportedTable(name, int(rows), path))
    return done


def _target(out: Path, name: str, fmt: str) -> Path:
    return out / name if fmt == "parquet" else out / f"{name}.{fmt}"


def _prepare(path: Path, fmt: str, rows: int) -> Path:
    """Empty the table's Parquet folder; an empty window still gets one file, with the schema."""
    if fmt != "parquet":
        return path
    if path.is_dir():
        shutil.rmtree(path)
    if rows:
        return path
    path.mkdir(parents=True)
    return path / "data_0.parquet"


def _options(fmt: str, rows: int) -> str:
    if fmt == "parquet":
        return "FORMAT parquet, PARTITION_BY (month)" if rows else "FORMAT parquet"
    if fmt == "csv":
        return "FORMAT csv, HEADER true"
    return "FORMAT json"


def _quoted(path: Path) -> str:
    return str(path).replace("'", "''")
