"""How the tagger reads French news: what names an entity, what does not, and where it is."""

from __future__ import annotations

from pathlib import Path

import pytest

from extractors.tagger import Mention, Tagger
from extractors.textnorm import SEPARATOR, fold
from extractors.watchlist import parse_watchlist

DEFAULT_WATCHLIST = Path("config/watchlist.yaml")


@pytest.fixture(scope="module")
def tagger() -> Tagger:
    text = DEFAULT_WATCHLIST.read_text(encoding="utf-8")
    return Tagger(parse_watchlist(text, str(DEFAULT_WATCHLIST)))


def tagger_for(yaml_text: str) -> Tagger:
    return Tagger(parse_watchlist(yaml_text, "test.yaml"))


def ids(tagger: Tagger, text: str) -> set[str]:
    return {mention.entity_id for mention in tagger.tag(text)}


def mention(tagger: Tagger, text: str, entity_id: str) -> Mention:
    return next(m for m in tagger.tag(text) if m.entity_id == entity_id)


# ------------------------------------------------------------------------- whole words


def test_somalie_is_not_mali(tagger: Tagger) -> None:
    assert ids(tagger, "La Somalie et le Somaliland ont signé un accord.") == set()


def test_nigeria_is_not_niger(tagger: Tagger) -> None:
    assert ids(tagger, "Le Nigeria a fermé ses frontières.") == {"NGA"}


def test_nigerian_is_nigeria_and_nigerien_is_niger(tagger: Tagger) -> None:
    assert ids(tagger, "un soldat nigérian") == {"NGA"}
    assert ids(tagger, "un soldat nigérien") == {"NER"}


def test_a_name_inside_a_longer_word_is_not_a_mention(tagger: Tagger) -> None:
    text = "La normalisation des relations avec la machine administrative tchadienne"
    assert ids(tagger, text) == {"TCD"}


def test_demonyms_count_in_every_gender_and_number(tagger: Tagger) -> None:
    for form in ("malien", "malienne", "maliens", "maliennes", "Malien", "MALIENNES"):
        assert ids(tagger, f"les autorités {form}") == {"MLI"}, form
    for form in ("burkinabè", "burkinabé", "burkinabe", "burkinabès", "burkinabées"):
        assert ids(tagger, f"des soldats {form}") == {"BFA"}, form


def test_a_capital_names_its_country(tagger: Tagger) -> None:
    assert ids(tagger, "Rencontre entre Alger, Nouakchott et Bruxelles") == {"DZA", "MRT", "BEL"}


# ------------------------------------------------------------------------- spelling variants


def test_case_accents_and_diaereses_do_not_hide_a_mention(tagger: Tagger) -> None:
    for text in ("l'Égypte", "l'Egypte", "L'EGYPTE", "l'égypte"):
        assert ids(tagger, text) == {"EGY"}, text
    assert ids(tagger, "Assimi Goita") == ids(tagger, "Assimi Goïta") == {"assimi-goita"}


def test_decomposed_accents_are_folded_like_composed_ones(tagger: Tagger) -> None:
    assert ids(tagger, "l'E\u0301gypte et le Be\u0301nin") == {"EGY", "BEN"}


def test_elisions_do_not_hide_a_mention(tagger: Tagger) -> None:
    for elided in ("l'", "l’", "d'", "d’", "qu'", "jusqu’", "s'", "n'", "L’"):
        assert ids(tagger, f"{elided}Algérie") == {"DZA"}, elided


def test_hyphens_and_spaces_are_interchangeable(tagger: Tagger) -> None:
    for text in ("les États-Unis", "les Etats Unis", "les états unis", "les ÉTATS‑UNIS"):
        assert ids(tagger, text) == {"USA"}, text
    for text in ("El-Mokhtar Bolle Chaabane", "El Mokhtar Bolle Chaabane"):
        assert ids(tagger, text) == {"el-mokhtar-bolle-chaabane"}, text


def test_runs_of_spaces_and_line_breaks_inside_a_name_still_match(tagger: Tagger) -> None:
    assert ids(tagger, "le Burkina\n   Faso") == {"BFA"}


def test_soft_hyphens_inside_a_word_are_ignored(tagger: Tagger) -> None:
    assert ids(tagger, "la Mau\u00adri\u00adta\u00adnie") == {"MRT"}


# ------------------------------------------------------------------------- case-sensitive forms


@pytest.mark.parametrize(
    ("acronym", "entity_id"), [("UE", "ue"), ("AES", "aes"), ("UA", "ua"), ("ANP", "anp")]
)
def test_acronyms_that_are_words_count_only_in_capitals(
    tagger: Tagger, acronym: str, entity_id: str
) -> None:
    assert ids(tagger, f"selon l'{acronym}, la situation s'aggrave") == {entity_id}
    assert ids(tagger, f"selon l'{acronym.lower()}, la situation s'aggrave") == set()


def test_ei_counts_in_capitals_only_and_never_inside_words(tagger: Tagger) -> None:
    assert ids(tagger, "l'EI a revendiqué l'attaque") == {"ei"}
    assert ids(tagger, "une pleine lune, seize reines, l'ei") == set()


def test_full_names_of_organisations_match_in_any_case(tagger: Tagger) -> None:
    text = "l'union européenne, l'UNION AFRICAINE et les nations unies"
    assert ids(tagger, text) == {"ue", "ua", "onu"}


def test_a_case_sensitive_name_keeps_its_accent_insensitivity(tagger: Tagger) -> None:
    assert ids(tagger, "le Benin et le Bénin") == {"BEN"}
    assert ids(tagger, "un incident bénin") == set()


# ------------------------------------------------------------------------- longest match, excludes


def test_longest_match_wins_within_countries(tagger: Tagger) -> None:
    assert ids(tagger, "la Guinée-Bissau") == {"GNB"}
    assert ids(tagger, "la Guinée équatoriale") == {"GNQ"}
    assert ids(tagger, "le Soudan du Sud") == {"SSD"}
    assert ids(tagger, "des réfugiés sud-soudanais") == {"SSD"}


def test_longest_match_wins_within_actors(tagger: Tagger) -> None:
    assert ids(tagger, "Mahamat Idriss Déby Itno") == {"mahamat-idriss-deby"}
    assert ids(tagger, "l'État islamique au Sahel") == {"eigs"}


def test_an_actor_name_containing_a_demonym_also_names_the_country(tagger: Tagger) -> None:
    assert ids(tagger, "les Forces armées maliennes") == {"fama", "MLI"}


def test_exclude_phrase_suppresses_the_hit_inside_it(tagger: Tagger) -> None:
    assert ids(tagger, "le fleuve Niger") == set()
    assert mention(tagger, "Le fleuve Niger traverse le Niger.", "NER").count == 1


def test_hits_between_exclude_phrases_still_count(tagger: Tagger) -> None:
    text = "le fleuve Niger, le Niger, le delta du Niger, Niamey, le fleuve Niger et le Niger"
    niger = mention(tagger, text, "NER")
    assert niger.count == 3
    assert text[niger.first_offset :].startswith("Niger, le delta")


def test_exclude_phrase_suppresses_only_its_own_entity() -> None:
    tagger = tagger_for(
        """
entities:
  - {id: NER, kind: country, name: Niger, exclude: [Office du Niger au Mali]}
  - {id: MLI, kind: country, name: Mali}
"""
    )
    assert ids(tagger, "l'Office du Niger au Mali") == {"MLI"}


def test_a_river_sharing_a_countrys_name_is_not_the_country(tagger: Tagger) -> None:
    assert ids(tagger, "le delta du Niger et la boucle du Niger") == set()
    assert ids(tagger, "le bassin du lac Tchad") == set()
    assert ids(tagger, "le golfe de Guinée") == set()


# ------------------------------------------------------------------------- compound prefixes


def test_compound_prefix_counts_before_a_hyphen(tagger: Tagger) -> None:
    assert ids(tagger, "la frontière algéro-malienne") == {"DZA", "MLI"}
    assert ids(tagger, "l'axe russo-chinois") == {"RUS", "CHN"}


def test_compound_prefix_alone_is_not_a_mention(tagger: Tagger) -> None:
    assert ids(tagger, "livré franco de port") == set()
    assert ids(tagger, "le général Franco") == set()


# ------------------------------------------------------------------------- what a mention says


def test_first_offset_points_at_the_surface_form_in_the_original_text(tagger: Tagger) -> None:
    text = "🇲🇱  «Mali»…\n\nl’E\u0301gypte, la Mau\u00adritanie et les États-Unis ; l'UE"
    expected = {
        "MLI": "Mali",
        "EGY": "E\u0301gypte",
        "MRT": "Mau\u00adritanie",
        "USA": "États-Unis",
        "ue": "UE",
    }
    mentions = {m.entity_id: m for m in tagger.tag(text)}
    assert set(mentions) == set(expected)
    for entity_id, surface in expected.items():
        assert text[mentions[entity_id].first_offset :].startswith(surface), entity_id


def test_count_counts_every_hit_and_first_offset_is_the_earliest(tagger: Tagger) -> None:
    text = "Bamako. Le Mali et les Maliens ; le Mali."
    mali = mention(tagger, text, "MLI")
    assert (mali.count, mali.first_offset) == (4, 0)


def test_one_row_per_entity_sorted_by_id_with_kind_and_name(tagger: Tagger) -> None:
    mentions = tagger.tag("Le JNIM attaque au Niger et au Mali, selon l'ONU.")
    assert [m.entity_id for m in mentions] == ["MLI", "NER", "jnim", "onu"]
    jnim = mentions[2]
    assert (jnim.entity_kind, jnim.entity_name) == (
        "actor",
        "Groupe de soutien à l'islam et aux musulmans",
    )


def test_a_person_is_tagged_whatever_the_validity_dates(tagger: Tagger) -> None:
    assert ids(tagger, "Mohamed Bazoum, président jusqu'en 2023") == {"mohamed-bazoum"}


def test_a_title_without_a_name_is_not_a_person(tagger: Tagger) -> None:
    assert ids(tagger, "le président de la transition et le capitaine") == set()


def test_a_text_without_entities_has_no_mentions(tagger: Tagger) -> None:
    assert tagger.tag("") == []
    assert tagger.tag("Il pleut sur la ville.") == []


def test_tagger_reports_the_watchlist_version() -> None:
    text = "entities:\n  - {id: MLI, kind: country, name: Mali}\n"
    watchlist = parse_watchlist(text, "w.yaml")
    assert Tagger(watchlist).version == watchlist.version


# ------------------------------------------------------------------------- the folding map


def test_every_folded_character_maps_back_to_its_source() -> None:
    text = "L’État  -  islamique\u00ad au « Sahel » — e\u0301te\u0301 🇲🇱 Ⅻ 東京"
    folded = fold(text)
    for index, char in enumerate(folded.text):
        source = text[folded.source_index(index)]
        if char != SEPARATOR:
            assert fold(source).text == char, (index, char, source)


def test_folding_collapses_separator_runs_to_one_space() -> None:
    assert fold("Etats -\u00a0  Unis").text == "etats unis"
