"""Exports read back: row counts and column types, by DuckDB and by pyarrow."""

from __future__ import annotations

import json
from datetime import date

import duckdb
import pyarrow as pa
import pyarrow.dataset as ds

from storage import exports
from tests.support.analyst_store import load_manifest

MANIFEST = load_manifest()
MENTIONS = sum(len(a["names"]) for a in MANIFEST["articles"])
EXPECTED_ROWS = {
    "documents": MANIFEST["expected"]["documents"],
    "mentions": MENTIONS,
    "stories": MANIFEST["expected"]["articles"],
}


def export(store, tmp_path, fmt: str, **window):
    with store.read() as con:
        return {t.name: t for t in exports.export(con, tmp_path / fmt, fmt, **window)}


def test_parquet_reads_back_in_duckdb_with_the_stores_types(analyst_store, tmp_path):
    done = export(analyst_store, tmp_path, "parquet")
    assert {name: t.rows for name, t in done.items()} == EXPECTED_ROWS
    with analyst_store.read() as con:
        for name, sql in exports.QUERIES.items():
            want = con.execute(f"DESCRIBE ({sql})", {"since": None, "until": None}).fetchall()
            path = done[name].path
            got = duckdb.sql(
                f"DESCRIBE SELECT * FROM read_parquet('{path}/**/*.parquet', hive_partitioning=1)"
            ).fetchall()
            assert [(c[0], c[1]) for c in got] == [(c[0], c[1]) for c in want]
            (n,) = duckdb.sql(
                f"SELECT count(*) FROM read_parquet('{path}/**/*.parquet')"
            ).fetchone()
            assert n == EXPECTED_ROWS[name]


def test_parquet_is_partitioned_by_month_and_reads_in_pyarrow(analyst_store, tmp_path):
    done = export(analyst_store, tmp_path, "parquet")
    assert [p.name for p in done["documents"].path.iterdir()] == ["month=2025-03"]
    table = ds.dataset(done["documents"].path, format="parquet", partitioning="hive").to_table()
    assert table.num_rows == EXPECTED_ROWS["documents"]
    assert table.schema.field("published_at").type == pa.timestamp("us", tz="UTC")
    assert table.schema.field("language_score").type == pa.float64()
    assert table.schema.field("text").type == pa.string()
    stories = ds.dataset(done["stories"].path, format="parquet", partitioning="hive").to_table()
    assert stories.schema.field("sources").type == pa.list_(pa.string())
    assert stories.schema.field("copies").type == pa.int64()


def test_csv_and_json_lines_hold_every_row(analyst_store, tmp_path):
    for fmt in ("csv", "jsonl"):
        done = export(analyst_store, tmp_path, fmt)
        for name, table in done.items():
            lines = table.path.read_text("utf-8").splitlines()
            header = 1 if fmt == "csv" else 0
            if fmt == "csv":
                (n,) = duckdb.sql(f"SELECT count(*) FROM read_csv('{table.path}')").fetchone()
            else:
                n = len([json.loads(line) for line in lines])
            assert n == EXPECTED_ROWS[name], (fmt, name, header)


def test_a_window_exports_only_its_days(analyst_store, tmp_path):
    done = export(
        analyst_store, tmp_path, "jsonl", since=date(2025, 3, 18), until=date(2025, 3, 20)
    )
    in_window = [
        a for a in MANIFEST["articles"] if "2025-03-18" <= str(a["published"])[:10] <= "2025-03-20"
    ]
    assert done["documents"].rows == len(in_window)
    assert done["mentions"].rows == sum(len(a["names"]) for a in in_window)


def test_an_empty_window_still_writes_a_readable_parquet_file(analyst_store, tmp_path):
    done = export(analyst_store, tmp_path, "parquet", since=date(2030, 1, 1))
    path = done["documents"].path
    (n,) = duckdb.sql(f"SELECT count(*) FROM read_parquet('{path}/*.parquet')").fetchone()
    assert n == 0
