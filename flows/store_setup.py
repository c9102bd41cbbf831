"""Getting a store ready: every command creates, migrates and seeds a missing store the same way."""

from __future__ import annotations

import os
from pathlib import Path

from extractors.seed import seed_document, seed_url
from extractors.tagger import Tagger
from flows import dedup
from flows.config_files import load_watchlist
from storage import documents, fulltext, mentions
from storage.stores import AnyStore, store_at

SEED_DIR = Path(__file__).resolve().parent.parent / "data" / "seed"


def open_store(db: str | os.PathLike[str] | None, watchlist: str | None = None) -> AnyStore:
    """The store at `db` (or SAHELWATCH_DB, or the default), migrated and seeded."""
    store = store_at(db)
    store.migrate()
    seed_store(store, watchlist)
    return store


def seed_files(directory: Path = SEED_DIR) -> list[tuple[str, str]]:
    """(file name, text) of every seed in name order, the text exactly as in the file."""
    return [(p.name, p.read_bytes().decode("utf-8")) for p in sorted(directory.glob("*.txt"))]


def seed_store(store: AnyStore, watchlist: str | None = None) -> int:
    """Append, tag and group the seed documents; running it again adds nothing.

    Every command calls this, so the cheap check comes first: seeds already stored cost one
    query, not a language detection each.
    """
    files = seed_files()
    with store.read() as con:
        known = documents.known_urls(con, [seed_url(name) for name, _ in files])
    missing = [seed_document(name, text) for name, text in files if seed_url(name) not in known]
    if not missing:
        return 0
    tagger = Tagger(load_watchlist(watchlist))
    with store.write() as con:
        stored = set(documents.append(con, missing, [], run_id=None).stored_ids)
        found = {d.id: tagger.tag(d.text) for d in missing if d.id in stored}
        mentions.replace_mentions(con, found, tagger.version)
        mentions.record_entities(con, tagger.entities, tagger.version)
    dedup.index_new_documents(store)
    fulltext.refresh(store)
    return len(stored)
