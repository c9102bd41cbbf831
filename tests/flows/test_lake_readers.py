"""The read commands answer the same on a lake as on a DuckDB file holding the same articles."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq
import pytest

from flows.cli import main
from tests.support.analyst_store import build_store
from tests.support.postgres_fixtures import new_lake_locator


@pytest.fixture(scope="module")
def stores(tmp_path_factory, postgres_server) -> tuple[str, str]:
    """(DuckDB file, lake locator), each built from the analyst fixture's manifest."""
    root = tmp_path_factory.mktemp("lake-readers")
    file = build_store(root / "analyst.duckdb")
    lake = build_store(new_lake_locator(postgres_server, root / "lake"))
    lake.close()
    return file.locator, lake.locator


def _run(argv: list[str], db: str, capsys) -> str:
    assert main([*argv, "--db", db]) == 0, capsys.readouterr().err
    return capsys.readouterr().out


@pytest.mark.parametrize(
    "argv",
    [
        ["search", "attaque drone"],
        ["search", "Niger", "--since", "2025-03-01", "--until", "2025-03-31"],
        ["query", "SELECT story_id, copies, sources FROM stories ORDER BY story_id"],
        ["query", "SELECT entity_id, count(*) FROM article_mentions GROUP BY ALL ORDER BY ALL"],
        ["query", "SELECT * FROM source_health ORDER BY ALL", "--format", "json"],
    ],
)
def test_a_read_command_prints_the_same_on_both_stores(stores, argv, capsys):
    file, lake = stores
    assert _run(argv, lake, capsys) == _run(argv, file, capsys)


def test_stats_are_the_same_but_for_the_store_named(stores, capsys):
    file, lake = stores
    on_file, on_lake = _run(["stats"], file, capsys), _run(["stats"], lake, capsys)
    assert on_lake.splitlines()[0] == f"store: {lake}"
    assert on_lake.splitlines()[1:] == on_file.splitlines()[1:]


def test_an_export_of_a_lake_holds_the_same_rows(stores, tmp_path, capsys):
    file, lake = stores
    for db, out in ((file, tmp_path / "file"), (lake, tmp_path / "lake")):
        _run(["export", "--format", "parquet", "--out", str(out)], db, capsys)
    for table in sorted(p.name for p in (tmp_path / "file").glob("*.parquet")):
        assert _rows(tmp_path / "lake" / table) == _rows(tmp_path / "file" / table), table


def test_a_report_of_a_lake_is_written(stores, tmp_path, capsys):
    _, lake = stores
    out = tmp_path / "report.html"
    _run(["report", "--out", str(out)], lake, capsys)
    assert out.stat().st_size > 10_000 and "<svg" in out.read_text("utf-8")


def _rows(path: Path) -> list[tuple]:
    table = pq.read_table(path)
    return sorted(tuple(map(str, row.values())) for row in table.to_pylist())
