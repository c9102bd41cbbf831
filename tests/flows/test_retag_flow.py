"""The real `retag` flow: the current watchlist replaces older mentions, idempotently."""

from __future__ import annotations

from pathlib import Path

import duckdb

from flows.retag import retag
from flows.store_setup import open_store

REPO = Path(__file__).resolve().parents[2]
WATCHLIST = REPO / "config" / "watchlist.yaml"


def mentions_of(db: Path, entity: str) -> int:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(
            "SELECT count(*) FROM mentions WHERE entity_id = ?", [entity]
        ).fetchone()[0]
    finally:
        con.close()


def versions(db: Path) -> set[str]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return {
            v for (v,) in con.execute("SELECT DISTINCT watchlist_version FROM mentions").fetchall()
        }
    finally:
        con.close()


def test_retag_applies_a_changed_watchlist_and_reports_the_change(prefect_api, tmp_path):
    db = tmp_path / "store.duckdb"
    open_store(db)  # seeds, tagged with the shipped watchlist
    assert mentions_of(db, "ue") == 2

    edited = tmp_path / "watchlist.yaml"
    text = WATCHLIST.read_text("utf-8")
    start = text.index("  - id: ue\n")
    end = text.index("  - id: otan\n")
    edited.write_text(text[:start] + text[end:], "utf-8")  # the analyst drops the EU

    first = retag(db=str(db), watchlist=str(edited))
    assert first["documents"] == 2
    assert first["mentions_removed"] == {"ue": 2} and first["mentions_added"] == {}
    assert mentions_of(db, "ue") == 0
    assert len(versions(db)) == 1

    again = retag(db=str(db), watchlist=str(edited))
    assert again["mentions_removed"] == {} and again["mentions_added"] == {}
    assert "No mention changed." in again["report"]
