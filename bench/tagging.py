"""Tagging throughput: how many megabytes of French news per second one tagger gets through.

The corpus is made of the labelled passages and the seed texts, shuffled into documents of a
few kilobytes (the size of a news article) until it reaches `CORPUS_MB`; each document is
tagged separately, as the `retag` flow does. Speed is measured here, never asserted in tests.
"""

from __future__ import annotations

import random
import time
from pathlib import Path

import yaml

from extractors.tagger import Tagger
from extractors.watchlist import ACTOR, Entity, Watchlist, parse_watchlist

ROOT = Path(__file__).resolve().parent.parent
WATCHLIST = ROOT / "config" / "watchlist.yaml"
LABELLED = ROOT / "tests" / "fixtures" / "watchlist" / "labelled.yaml"
SEEDS = ROOT / "data" / "seed"
CORPUS_MB = 4  # large enough to dwarf timer noise, small enough to run in a couple of seconds
DOCUMENT_CHARS = 3_000  # a typical extracted news article
RANDOM_SEED = 20240716  # a fixed corpus, so runs on different machines are comparable
REPEATS = 3  # the best of a few passes: other processes only ever make a pass slower
# Invented people added to the watchlist to show that tagging time does not grow with its size.
SYNTHETIC_ACTORS = 5_000


def run() -> dict[str, float | int | str]:
    """Build the tagger once, tag the corpus, and return the figures (printing nothing)."""
    text = WATCHLIST.read_text(encoding="utf-8")
    started = time.perf_counter()
    watchlist = parse_watchlist(text, str(WATCHLIST))
    parsed = time.perf_counter()
    tagger = Tagger(watchlist)
    built = time.perf_counter()

    documents = _corpus()
    corpus_bytes = sum(len(document.encode("utf-8")) for document in documents)
    passes = [_tag_all(tagger, documents) for _ in range(REPEATS)]
    tagging_seconds = min(seconds for seconds, _ in passes)
    mentions = passes[0][1]

    large = Watchlist(watchlist.entities + _synthetic_actors(SYNTHETIC_ACTORS), "synthetic")
    large_started = time.perf_counter()
    large_tagger = Tagger(large)
    large_built = time.perf_counter()
    large_seconds = min(_tag_all(large_tagger, documents)[0] for _ in range(REPEATS))

    return {
        "watchlist_version": tagger.version,
        "entities": len(watchlist.entities),
        "parse_seconds": round(parsed - started, 4),
        "automaton_build_seconds": round(built - parsed, 4),
        "documents": len(documents),
        "corpus_mb": round(corpus_bytes / 1e6, 2),
        "mentions": mentions,
        "mentions_per_document": round(mentions / len(documents), 1),
        "tagging_seconds": round(tagging_seconds, 3),
        "mb_per_s": round(corpus_bytes / 1e6 / tagging_seconds, 2),
        "documents_per_s": round(len(documents) / tagging_seconds),
        "large_watchlist_entities": len(large.entities),
        "large_automaton_build_seconds": round(large_built - large_started, 4),
        "large_watchlist_mb_per_s": round(corpus_bytes / 1e6 / large_seconds, 2),
    }


def _tag_all(tagger: Tagger, documents: list[str]) -> tuple[float, int]:
    started = time.perf_counter()
    mentions = sum(len(tagger.tag(document)) for document in documents)
    return time.perf_counter() - started, mentions


def _synthetic_actors(count: int) -> tuple[Entity, ...]:
    """Invented people with two aliases each; none of them occurs in the corpus."""
    return tuple(
        Entity(
            id=f"synthetic-{n}",
            kind=ACTOR,
            name=f"Personne Fictive {n:05d}",
            aliases=(f"Fictive {n:05d}", f"Pseudonyme {n:05d}"),
            type="person",
        )
        for n in range(count)
    )


def _corpus() -> list[str]:
    """Documents of shuffled passages and seed paragraphs, reproducible from `RANDOM_SEED`."""
    labelled = yaml.safe_load(LABELLED.read_text(encoding="utf-8"))["passages"]
    pieces = [passage["text"] for passage in labelled]
    for seed in sorted(SEEDS.glob("*.txt")):
        pieces.extend(seed.read_text(encoding="utf-8").split("\n"))
    rng = random.Random(RANDOM_SEED)
    documents: list[str] = []
    total = 0
    while total < CORPUS_MB * 1_000_000:
        document: list[str] = []
        while sum(map(len, document)) < DOCUMENT_CHARS:
            document.append(rng.choice(pieces))
        text = "\n\n".join(document)
        documents.append(text)
        total += len(text.encode("utf-8"))
    return documents


if __name__ == "__main__":
    print(run())
