"""The tagger, measured: micro precision and recall per kind on a labelled set of passages.

The passages in tests/fixtures/watchlist/labelled.yaml are labelled by meaning, including a few
known misses, so these figures are a measurement and not a tautology.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

from extractors.tagger import Tagger
from extractors.watchlist import KINDS, Watchlist, parse_watchlist

DEFAULT_WATCHLIST = Path("config/watchlist.yaml")
LABELLED = Path("tests/fixtures/watchlist/labelled.yaml")
MINIMUM_PASSAGES = 60
MINIMUM_SCORE = 0.95  # acceptance criterion for both precision and recall, per kind


@dataclass
class Score:
    true_positives: Counter[str] = field(default_factory=Counter)
    false_positives: Counter[str] = field(default_factory=Counter)
    false_negatives: Counter[str] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)

    def precision(self, kind: str) -> float:
        found = self.true_positives[kind] + self.false_positives[kind]
        return self.true_positives[kind] / found if found else 1.0

    def recall(self, kind: str) -> float:
        expected = self.true_positives[kind] + self.false_negatives[kind]
        return self.true_positives[kind] / expected if expected else 1.0

    def report(self) -> str:
        figures = [
            f"{kind}: precision {self.precision(kind):.3f}, recall {self.recall(kind):.3f}"
            for kind in KINDS
        ]
        return "\n".join([*figures, *self.errors])


@pytest.fixture(scope="module")
def watchlist() -> Watchlist:
    return parse_watchlist(DEFAULT_WATCHLIST.read_text(encoding="utf-8"), str(DEFAULT_WATCHLIST))


@pytest.fixture(scope="module")
def passages() -> list[dict[str, object]]:
    return yaml.safe_load(LABELLED.read_text(encoding="utf-8"))["passages"]


@pytest.fixture(scope="module")
def score(watchlist: Watchlist, passages: list[dict[str, object]]) -> Score:
    kinds = {entity.id: entity.kind for entity in watchlist.entities}
    tagger = Tagger(watchlist)
    score = Score()
    for passage in passages:
        expected = set(passage["expect"])
        found = {mention.entity_id for mention in tagger.tag(passage["text"])}
        score.true_positives.update(kinds[i] for i in found & expected)
        score.false_positives.update(kinds[i] for i in found - expected)
        score.false_negatives.update(kinds[i] for i in expected - found)
        if found != expected:
            score.errors.append(
                f"[{passage['trap']}] false positives {sorted(found - expected)}, "
                f"false negatives {sorted(expected - found)}: {passage['text']}"
            )
    return score


def test_labelled_set_is_large_enough_and_uses_known_ids(
    watchlist: Watchlist, passages: list[dict[str, object]]
) -> None:
    known = {entity.id for entity in watchlist.entities}
    assert len(passages) >= MINIMUM_PASSAGES
    unknown = {i for passage in passages for i in passage["expect"]} - known
    assert unknown == set()


def test_labelled_set_covers_both_kinds_and_passages_without_entities(
    passages: list[dict[str, object]], score: Score
) -> None:
    assert all(score.true_positives[kind] + score.false_negatives[kind] >= 50 for kind in KINDS)
    assert sum(1 for passage in passages if not passage["expect"]) >= 10


@pytest.mark.parametrize("kind", KINDS)
def test_precision_and_recall_reach_the_acceptance_threshold(score: Score, kind: str) -> None:
    assert score.precision(kind) >= MINIMUM_SCORE, score.report()
    assert score.recall(kind) >= MINIMUM_SCORE, score.report()
