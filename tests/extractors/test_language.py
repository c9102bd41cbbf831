"""Language detection: deterministic, and right on the short texts news feeds carry."""

from __future__ import annotations

from pathlib import Path

import pytest

from extractors.language import UNKNOWN, detect_language

SEEDS = Path(__file__).resolve().parents[2] / "data" / "seed"


@pytest.mark.parametrize("seed", sorted(SEEDS.glob("*.txt")), ids=lambda p: p.name)
def test_seed_documents_are_french(seed):
    guess = detect_language(seed.read_text("utf-8"))
    assert guess.is_french and guess.score > 0.95


@pytest.mark.parametrize(
    "text,language",
    [
        (
            "L'armée malienne a repoussé une attaque à Ménaka lundi soir, selon la mairie.",
            "fr",
        ),
        (
            "The Malian army repelled an attack in Menaka on Monday evening, local sources said.",
            "en",
        ),
        ("O exército do Mali repeliu um ataque em Ménaka na segunda-feira à noite.", "pt"),
        ("صد الجيش المالي هجوما في ميناكا مساء الاثنين حسب مصادر محلية", "ar"),
    ],
)
def test_languages_of_a_single_sentence(text, language):
    assert detect_language(text).language == language


def test_same_text_always_gets_the_same_answer():
    text = "Le Niger et le Burkina Faso annoncent une force conjointe. Mixed English words here."
    assert len({detect_language(text) for _ in range(20)}) == 1


def test_text_without_letters_is_undetermined_not_an_error():
    assert detect_language("12 345 — 67 %") == detect_language("")
    assert detect_language("").language == UNKNOWN
