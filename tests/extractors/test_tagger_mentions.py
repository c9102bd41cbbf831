"""The mentions the tagger returns are ordinary `Mention` values, however they are built."""

from __future__ import annotations

import dataclasses
import pickle

import pytest

from extractors.tagger import Mention, Tagger
from extractors.watchlist import ACTOR, COUNTRY, Entity, Watchlist, parse_watchlist

WATCHLIST = """entities:
  - {id: MLI, kind: country, name: Mali}
  - {id: NER, kind: country, name: Niger}
"""
TEXT = "Le Mali et le Niger, puis le Mali."


@pytest.fixture(scope="module")
def mentions() -> list[Mention]:
    tagger = Tagger(parse_watchlist(WATCHLIST, "w.yaml"))
    return tagger.tag(TEXT)


def test_mentions_are_plain_mentions(mentions: list[Mention]) -> None:
    rebuilt = [Mention(**dataclasses.asdict(mention)) for mention in mentions]
    assert mentions == rebuilt
    assert [hash(mention) for mention in mentions] == [hash(mention) for mention in rebuilt]
    assert [repr(mention) for mention in mentions] == [repr(mention) for mention in rebuilt]
    assert pickle.loads(pickle.dumps(mentions)) == rebuilt
    assert [(m.entity_id, m.count, m.first_offset) for m in mentions] == [
        ("MLI", TEXT.count("Mali"), TEXT.index("Mali")),
        ("NER", TEXT.count("Niger"), TEXT.index("Niger")),
    ]


def test_mentions_stay_frozen(mentions: list[Mention]) -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        mentions[0].count = 5  # type: ignore[misc]


def test_a_key_shared_by_two_entities_names_both() -> None:
    # parse_watchlist refuses shared aliases; a Watchlist built in code (as the benchmark does)
    # can still have them, and each entity then gets its mention.
    country = Entity(id="TCD", kind=COUNTRY, name="Tchad", aliases=())
    actor = Entity(id="tchad-groupe", kind=ACTOR, name="Tchad", aliases=(), type="organisation")
    tagger = Tagger(Watchlist((country, actor), "shared"))
    assert [mention.entity_id for mention in tagger.tag("Au Tchad.")] == ["TCD", "tchad-groupe"]
