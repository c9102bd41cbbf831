"""The watchlist file: what a valid one holds, and how every kind of mistake is reported."""

from __future__ import annotations

import hashlib
from datetime import date
from pathlib import Path

import pytest

from extractors.errors import ConfigError
from extractors.watchlist import ACTOR, COUNTRY, Watchlist, parse_watchlist

DEFAULT_WATCHLIST = Path("config/watchlist.yaml")
BAD_CONFIGS = Path("tests/fixtures/watchlist/bad")

REQUIRED_COUNTRIES = {
    "DZA",
    "MRT",
    "MLI",
    "NER",
    "TCD",
    "BFA",
    "NGA",
    "LBY",
    "MAR",
    "TUN",
    "EGY",
    "SEN",
    "CIV",
    "GIN",
    "GNB",
    "BEN",
    "TGO",
    "GHA",
    "CMR",
    "SDN",
    "FRA",
    "USA",
    "RUS",
    "CHN",
    "BEL",
}
REQUIRED_ACTORS = {
    "jnim",
    "eigs",
    "aqmi",
    "boko-haram",
    "iswap",
    "wagner",
    "africa-corps",
    "onu",
    "minusma",
    "ue",
    "otan",
    "ua",
    "cedeao",
    "aes",
    "g5-sahel",
    "anp",
    "fama",
    "barkhane",
    "abdelkader-messahel",
    "daniel-benjamin",
    "said-chanegriha",
    "el-mokhtar-bolle-chaabane",
    "assimi-goita",
    "abdourahamane-tiani",
    "ibrahim-traore",
    "mahamat-idriss-deby",
    "mohamed-ould-ghazouani",
    "abdelmadjid-tebboune",
    "iyad-ag-ghaly",
    "amadou-koufa",
}


def load(path: Path) -> Watchlist:
    return parse_watchlist(path.read_text(encoding="utf-8"), str(path))


@pytest.fixture(scope="module")
def default() -> Watchlist:
    return load(DEFAULT_WATCHLIST)


def test_default_watchlist_holds_every_required_country_and_actor(default: Watchlist) -> None:
    kinds = {entity.id: entity.kind for entity in default.entities}
    assert {i for i, kind in kinds.items() if kind == COUNTRY} >= REQUIRED_COUNTRIES
    assert {i for i, kind in kinds.items() if kind == ACTOR} >= REQUIRED_ACTORS


def test_every_actor_of_the_default_watchlist_has_a_type(default: Watchlist) -> None:
    untyped = [e.id for e in default.entities if e.kind == ACTOR and e.type is None]
    assert untyped == []


def test_version_is_the_sha256_of_the_files_utf8_bytes(default: Watchlist) -> None:
    data = DEFAULT_WATCHLIST.read_bytes()
    assert hashlib.sha256(data).hexdigest().startswith(default.version)
    assert len(default.version) == 16


def test_any_edit_changes_the_version(default: Watchlist) -> None:
    text = DEFAULT_WATCHLIST.read_text(encoding="utf-8") + "\n# reviewed\n"
    assert parse_watchlist(text, "edited.yaml").version != default.version


def test_validity_dates_are_read_as_dates(default: Watchlist) -> None:
    barkhane = next(e for e in default.entities if e.id == "barkhane")
    assert (barkhane.valid_from, barkhane.valid_to) == (date(2014, 8, 1), date(2022, 11, 9))


def test_actor_country_may_be_declared_after_the_actor() -> None:
    text = """
entities:
  - {id: fama, kind: actor, type: state_force, country: MLI, name: Forces armées maliennes}
  - {id: MLI, kind: country, name: Mali}
"""
    fama = parse_watchlist(text, "w.yaml").entities[0]
    assert fama.country == "MLI"


def test_an_entity_may_repeat_a_spelling_to_document_it() -> None:
    text = "entities:\n  - {id: USA, kind: country, name: États-Unis, aliases: [Etats Unis]}\n"
    assert parse_watchlist(text, "w.yaml").entities[0].aliases == ("Etats Unis",)


def test_a_name_may_itself_be_case_sensitive() -> None:
    text = "entities:\n  - {id: BEN, kind: country, name: Bénin, case_sensitive_aliases: [Bénin]}\n"
    assert parse_watchlist(text, "w.yaml").entities[0].case_sensitive_aliases == ("Bénin",)


# Each bad file, the entry the error must name, and words of the problem it must explain.
REFUSALS = [
    ("duplicate_id.yaml", "entity 'MLI'", "duplicate id"),
    ("empty_alias.yaml", "entity 'MLI'", "aliases holds an empty entry"),
    ("empty_alias_list.yaml", "entity 'MLI'", "non-empty list"),
    ("alias_claimed_twice.yaml", "entity 'SDN'", "already claimed by entity 'EGY'"),
    ("unknown_kind.yaml", "entity 'MLI'", "unknown kind 'countri'; use one of: country, actor"),
    ("unknown_type.yaml", "entity 'jnim'", "unknown type 'militia'; use one of: person"),
    ("unknown_actor_country.yaml", "entity 'fama'", "country 'MAL' is not the id of a country"),
    ("malformed_date.yaml", "entity 'assimi-goita'", "'2021-13-07' is not a date; write it as"),
    ("dates_reversed.yaml", "entity 'barkhane'", "valid_from 2022-11-09 is after valid_to"),
    ("unknown_key.yaml", "entity 'MLI'", "unknown key 'alias' (did you mean 'aliases'?)"),
    ("duplicate_key.yaml", "line 7", "key 'aliases' appears twice"),
    ("exclude_without_alias.yaml", "entity 'NER'", "'fleuve Nijer' contains none of"),
    ("exclude_equals_alias.yaml", "entity 'NER'", "would suppress every hit"),
    ("alias_in_both_lists.yaml", "entity 'ue'", "also in case_sensitive_aliases"),
    ("country_id_not_iso.yaml", "entity 'Mali'", "ISO 3166-1 alpha-3"),
    ("type_on_country.yaml", "entity 'MLI'", "'type' applies to actors only"),
    ("alias_not_a_string.yaml", "entity 'MLI'", "True; every entry must be a non-empty string"),
    ("alias_with_outer_punctuation.yaml", "entity 'ue'", "start and end with a letter"),
    ("missing_name.yaml", "entity 'MLI'", "missing required key 'name'"),
    ("not_yaml.yaml", "", "not valid YAML"),
    ("no_entities.yaml", "top level", "unknown key 'entites' (did you mean 'entities'?)"),
]


@pytest.mark.parametrize(("file_name", "entry", "problem"), REFUSALS)
def test_a_bad_watchlist_is_refused_naming_file_entry_and_problem(
    file_name: str, entry: str, problem: str
) -> None:
    path = BAD_CONFIGS / file_name
    with pytest.raises(ConfigError) as caught:
        load(path)
    assert caught.value.path == str(path)
    assert caught.value.entry == entry
    assert problem in caught.value.problem
    assert str(path) in str(caught.value)


def test_every_bad_example_is_covered() -> None:
    assert {p.name for p in BAD_CONFIGS.glob("*.yaml")} == {name for name, _, _ in REFUSALS}


def test_unknown_key_error_lists_the_allowed_keys() -> None:
    with pytest.raises(ConfigError) as caught:
        load(BAD_CONFIGS / "unknown_key.yaml")
    assert "allowed keys: id, kind, name, aliases, case_sensitive_aliases" in caught.value.problem
