"""The seed documents shipped in data/seed/ get exactly the tags an analyst expects."""

from __future__ import annotations

from pathlib import Path

import pytest

from extractors.tagger import Tagger
from extractors.watchlist import parse_watchlist

DEFAULT_WATCHLIST = Path("config/watchlist.yaml")
SEEDS = Path("data/seed")
# "russo-chinoise" (seed 004) may name Russia and China; nothing else beyond the list may appear.
OPTIONAL = {"004_89134eb16d666d9b.txt": {"RUS", "CHN"}}
EXPECTED = {
    "000_bf9587edda782fff.txt": {
        "DZA",
        "MRT",
        "MLI",
        "NER",
        "TCD",
        "LBY",
        "USA",
        "NGA",
        "BFA",
        "TUN",
        "MAR",
        "EGY",
        "BEL",
        "ue",
        "onu",
        "abdelkader-messahel",
        "daniel-benjamin",
    },
    "004_89134eb16d666d9b.txt": {
        "DZA",
        "MRT",
        "MLI",
        "USA",
        "anp",
        "el-mokhtar-bolle-chaabane",
        "said-chanegriha",
        "otan",
        "ue",
    },
}


@pytest.fixture(scope="module")
def tagger() -> Tagger:
    text = DEFAULT_WATCHLIST.read_text(encoding="utf-8")
    return Tagger(parse_watchlist(text, str(DEFAULT_WATCHLIST)))


@pytest.mark.parametrize("file_name", sorted(EXPECTED))
def test_seed_gets_exactly_the_expected_entities(tagger: Tagger, file_name: str) -> None:
    text = (SEEDS / file_name).read_text(encoding="utf-8")
    found = {mention.entity_id for mention in tagger.tag(text)}
    optional = OPTIONAL.get(file_name, set())
    assert found - optional == EXPECTED[file_name]


def test_seed_000_names_the_united_states_in_lower_case_and_the_eu_in_full(
    tagger: Tagger,
) -> None:
    text = (SEEDS / "000_bf9587edda782fff.txt").read_text(encoding="utf-8")
    mentions = {mention.entity_id: mention for mention in tagger.tag(text)}
    assert text[mentions["USA"].first_offset :].startswith("états unis")
    assert text[mentions["ue"].first_offset :].startswith("union européenne")
    assert mentions["ue"].count == 3  # "l'union européenne", "L'Union européenne", "l'UE"


def test_capitals_and_demonyms_as_written_in_seed_004_name_their_countries(tagger: Tagger) -> None:
    text = "Nouakchott la capitale mauritanienne. Nouakchott et Alger, mettent en évidence"
    assert {mention.entity_id for mention in tagger.tag(text)} == {"MRT", "DZA"}
