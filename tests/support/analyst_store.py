"""The analyst fixture store: tests/fixtures/analyst/manifest.yaml through the storage functions.

Documents are appended, tagged and grouped the way the flows do it (no Prefect). The few
statements that set times in the past (when a document was stored, when a run polled, when an
item was skipped) are test-only SQL: the store itself always writes the current time.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

from extractors.models import Document, Origin, Skip, SkipReason, TextSource
from extractors.tagger import Tagger
from extractors.text import content_hash, document_id
from flows.config_files import load_watchlist
from flows.dedup import index_new_documents
from storage import documents, fulltext, mentions
from storage.stores import AnyStore, store_at

MANIFEST = Path(__file__).resolve().parent.parent / "fixtures" / "analyst" / "manifest.yaml"
# Documents are stored this long after they ran, as if fetched soon after publication.
STORE_DELAY = timedelta(hours=1)


def load_manifest() -> dict[str, Any]:
    return yaml.safe_load(MANIFEST.read_text("utf-8"))


def article_texts(manifest: dict[str, Any]) -> dict[str, str]:
    """Each article's text; a copy is its original's text with its own line added."""
    texts = {a["key"]: a["text"] for a in manifest["articles"] if "copy_of" not in a}
    for a in manifest["articles"]:
        if "copy_of" in a:
            texts[a["key"]] = f"{texts[a['copy_of']]} {a['added']}"
    return texts


def url_of(article: dict[str, Any]) -> str:
    host = article["source"].lower().replace(" ", "-").replace("é", "e")
    return f"https://{host}.example/{article['key']}"


def id_of(article: dict[str, Any]) -> str:
    return document_id(url_of(article))


def build_store(path: Path | str) -> AnyStore:
    """A fresh store (a DuckDB file, or a lake's locator) holding the manifest's articles, runs
    and skips, indexed for search."""
    manifest = load_manifest()
    texts = article_texts(manifest)
    tagger = Tagger(load_watchlist(None))
    store = store_at(path)
    store.migrate()
    docs = [_document(a, texts[a["key"]]) for a in manifest["articles"]]
    with store.write() as con:
        stored = documents.append(con, docs, [], run_id=None).stored_ids
        mentions.replace_mentions(con, {d.id: tagger.tag(d.text) for d in docs}, tagger.version)
        mentions.record_entities(con, tagger.entities, tagger.version)
        documents.record_skips(con, [_skip(s) for s in manifest["skipped"]], run_id=None)
        _set_times(con, manifest)
    if len(stored) != len(docs):
        raise RuntimeError(f"fixture: {len(docs) - len(stored)} articles were not stored")
    index_new_documents(store)
    fulltext.refresh(store)
    return store


def _document(article: dict[str, Any], text: str) -> Document:
    url = url_of(article)
    published = _time(article["published"])
    return Document(
        id=document_id(url),
        url=url,
        canonical_url=url,
        source=article["source"],
        feed_url=None,
        title=article["title"],
        author=None,
        published_at=published,
        published_source="feed",
        fetched_at=published + STORE_DELAY,
        language="fr",
        language_score=0.99,
        text=text,
        text_source=TextSource.PAGE,
        content_hash=content_hash(text),
        origin=Origin.FEED,
        run_id=None,
    )


def _skip(item: dict[str, Any]) -> Skip:
    return Skip(item["url"], item["url"], None, item["source"], SkipReason(item["reason"]), "")


def _time(value: Any) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))


def _set_times(con, manifest: dict[str, Any]) -> None:
    """Put stored_at, skipped_at and runs in March 2025, where the articles are (test-only SQL)."""
    con.execute("UPDATE documents SET stored_at = published_at + INTERVAL 1 HOUR")
    for item in manifest["skipped"]:
        con.execute(
            "UPDATE skipped SET skipped_at = ? WHERE url = ?", [_time(item["at"]), item["url"]]
        )
    for n, run in enumerate(manifest["runs"]):
        started = _time(run["started"])
        counts = {"per_feed": run["per_feed"], "stored": sum(f["stored"] for f in run["per_feed"])}
        con.execute(
            "INSERT INTO runs (run_id, flow, started_at, ended_at, status, counts) "
            "VALUES (?, 'ingest_feeds', ?, ?, 'completed', ?)",
            [f"fixture-run-{n}", started, started + timedelta(minutes=5), json.dumps(counts)],
        )
