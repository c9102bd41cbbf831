"""The `retag` flow: re-apply the current watchlist to every stored document, in batches."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Sequence

from prefect import flow, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE
from prefect.runtime import flow_run

from extractors.tagger import Tagger
from flows import progress
from flows.config_files import load_watchlist
from flows.run_guard import guarded_run
from flows.store_setup import open_store
from storage import fulltext, mentions
from storage.documents import count_documents
from storage.stores import AnyStore

# Documents read, tagged and rewritten per transaction: bounded memory, short write locks.
RETAG_BATCH_SIZE = 500


@flow(name="retag")
def retag(db: str | None = None, watchlist: str | None = None, wait_for_store: float = 0) -> dict:
    """Replace every document's mentions with the current watchlist's; report what changed."""
    tagger = Tagger(load_watchlist(watchlist))
    store = open_store(db, watchlist)
    run_id = str(flow_run.get_id() or uuid.uuid4())
    parameters = {"db": str(store.locator), "watchlist": watchlist}
    with guarded_run(store, "retag", run_id, parameters, wait_s=wait_for_store) as book:
        counts = retag_all(store, tagger)
        report = retag_markdown(run_id, counts)
        book.complete(counts, report)
    create_markdown_artifact(markdown=report, key="retag-report", description="sahelwatch retag")
    return {"run_id": run_id, **counts, "report": report}


def retag_all(store: AnyStore, tagger: Tagger) -> dict:
    """Tag every document in batches; counts of what changed, per entity."""
    with store.read() as con:
        total = count_documents(con)
    progress.report("total", total)
    added: Counter[str] = Counter()
    removed: Counter[str] = Counter()
    after, documents = None, 0
    while True:
        with store.read() as con:
            batch = mentions.document_batches(con, after, RETAG_BATCH_SIZE)
        if not batch:
            break
        batch_added, batch_removed = retag_batch(store, tagger, batch)
        added.update(batch_added)
        removed.update(batch_removed)
        documents += len(batch)
        after = batch[-1][0]
        progress.report("advance", len(batch))
    fulltext.refresh(store)
    return {
        "documents": documents,
        "watchlist_version": tagger.version,
        "mentions_added": dict(added),
        "mentions_removed": dict(removed),
    }


@task(name="retag_batch", cache_policy=NO_CACHE)
def retag_batch(
    store: AnyStore, tagger: Tagger, batch: Sequence[tuple[str, str]]
) -> tuple[Counter[str], Counter[str]]:
    """Tag one batch; the counters say, per entity, how many documents gained or lost it."""
    found = {doc_id: tagger.tag(text) for doc_id, text in batch}
    with store.write() as con:
        before = mentions.entity_sets(con, list(found))
        mentions.replace_mentions(con, found, tagger.version)
        mentions.record_entities(con, tagger.entities, tagger.version)
    added: Counter[str] = Counter()
    removed: Counter[str] = Counter()
    for doc_id, new in found.items():
        now = {m.entity_id for m in new}
        added.update(now - before[doc_id])
        removed.update(before[doc_id] - now)
    return added, removed


def retag_markdown(run_id: str, counts: dict) -> str:
    entities = sorted(set(counts["mentions_added"]) | set(counts["mentions_removed"]))
    lines = [
        f"# Retag run {run_id}",
        "",
        f"{counts['documents']} documents tagged with watchlist version "
        f"{counts['watchlist_version']}.",
        "",
    ]
    if not entities:
        return "\n".join([*lines, "No mention changed."])
    lines += ["| entity | documents gained | documents lost |", "|---|---:|---:|"]
    lines += [
        f"| {e} | {counts['mentions_added'].get(e, 0)} | {counts['mentions_removed'].get(e, 0)} |"
        for e in entities
    ]
    return "\n".join(lines)
