"""`sahelwatch dedup`: the real flow groups unindexed copies, and `--rebuild` regroups all."""

from __future__ import annotations

from pathlib import Path

import yaml

from extractors.text import content_hash, document_id
from flows.cli import main
from flows.store_setup import open_store

STORY = Path(__file__).resolve().parents[1] / "fixtures" / "neardup" / "stories"


def add_unindexed_copies(db: Path) -> None:
    """Two wire copies written straight into the store, as a backfill from elsewhere would."""
    story = yaml.safe_load(next(iter(sorted(STORY.glob("*.yaml")))).read_text("utf-8"))
    store = open_store(db)
    with store.write() as con:
        for copy in story["copies"][:2]:
            url = f"https://presse.example/{copy['key']}"
            con.execute(
                "INSERT INTO documents (id, url, canonical_url, source, language, text,"
                " text_source, content_hash, origin)"
                " VALUES (?, ?, ?, ?, 'fr', ?, 'page', ?, 'feed')",
                [
                    document_id(url),
                    url,
                    url,
                    copy["source"],
                    copy["text"],
                    content_hash(copy["text"]),
                ],
            )


def test_dedup_groups_new_copies_then_rebuild_regroups_everything(prefect_api, tmp_path, capsys):
    db = tmp_path / "store.duckdb"
    add_unindexed_copies(db)

    assert main(["dedup", "--db", str(db)]) == 0
    assert capsys.readouterr().out.strip() == (
        "indexed: 2 documents indexed, 1 grouped as copies into 1 stories"
    )
    assert main(["dedup", "--db", str(db)]) == 0
    assert "indexed: 0 documents" in capsys.readouterr().out
    assert main(["dedup", "--rebuild", "--db", str(db)]) == 0
    assert capsys.readouterr().out.strip() == (
        "rebuilt: 4 documents indexed, 1 grouped as copies into 1 stories"
    )
