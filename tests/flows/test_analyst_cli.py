"""`search`, `export` and `report` read an existing store and never create one."""

from __future__ import annotations

import pytest

from flows.cli import main


@pytest.mark.parametrize(
    "argv",
    [["search", "attaque"], ["export", "--out", "OUT"], ["report", "--out", "OUT/r.html"]],
)
def test_read_commands_refuse_a_missing_store_in_one_line(argv, tmp_path, capsys):
    db = tmp_path / "none.duckdb"
    argv = [a.replace("OUT", str(tmp_path / "out")) for a in argv]
    assert main([*argv, "--db", str(db)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no store at" in err
    assert not db.exists()


def test_search_prints_ranked_stories_with_marked_snippets(analyst_store, capsys):
    assert main(["search", "attaque drone", "--db", str(analyst_store.path)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("1. [") and "(+2 copies)" in out
    assert "**attaques**" in out.lower() or "**attaque**" in out.lower()


def test_until_before_since_is_a_usage_error(analyst_store, capsys):
    argv = ["search", "x", "--since", "2025-03-10", "--until", "2025-03-01"]
    assert main([*argv, "--db", str(analyst_store.path)]) == 2


def test_export_prints_what_it_wrote(analyst_store, tmp_path, capsys):
    out = tmp_path / "export"
    assert (
        main(["export", "--format", "csv", "--out", str(out), "--db", str(analyst_store.path)]) == 0
    )
    assert (out / "documents.csv").exists()
    assert "documents: " in capsys.readouterr().out
