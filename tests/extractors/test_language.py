"""Language detection: deterministic, and right on the short texts news feeds carry."""

from __future__ import annotations

from pathlib import Path

import pytest

from extractors.language import UNKNOWN, detect_language

SEEDS = Path(__file__).resolve().parents[2] / "data" / "seed"
SAMPLE_SITE = Path(__file__).resolve().parents[2] / "demo"


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


def test_the_compact_profiles_give_langdetects_own_verdicts_and_scores_to_the_last_digit():
    """The profiles are kept sparse to halve a worker's memory; the detector over them must
    answer exactly as langdetect over its own profiles, on every fixture page and seed text."""
    from langdetect.detector_factory import PROFILES_DIRECTORY, DetectorFactory

    from extractors import language

    plain = DetectorFactory()
    plain.load_profile(PROFILES_DIRECTORY)
    plain.set_seed(language.LANGDETECT_SEED)
    texts = [p.read_text("utf-8", errors="replace") for p in sorted(SEEDS.glob("*.txt"))]
    for page in sorted(SAMPLE_SITE.rglob("*.html")):  # French, English, Portuguese, Arabic
        markup = page.read_text("utf-8", errors="replace")
        texts += [markup[start : start + 400] for start in range(0, len(markup), 400)]

    def verdicts(factory) -> list[list[str]]:
        answers = []
        for text in texts:
            detector = factory.create()
            detector.n_trial = language.DETECTION_TRIALS
            detector.append(text[: language.DETECTION_PREFIX_CHARS])
            try:
                answers.append([repr(p) for p in detector.get_probabilities()])
            except language.LangDetectException:
                answers.append([])
        return answers

    assert len(texts) > 1000
    assert verdicts(language._factory()) == verdicts(plain)
