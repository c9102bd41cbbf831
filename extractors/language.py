"""Language identification with langdetect, made deterministic and bounded in cost."""

from __future__ import annotations

from dataclasses import dataclass

from langdetect import DetectorFactory, LangDetectException, detect_langs

# langdetect samples randomly; without a fixed seed the same text can flip between runs.
LANGDETECT_SEED = 0
# langdetect costs ~4.6 ms on a 2 KB prefix, more than trafilatura on a whole page: 600 characters
# (about 100 words) identify French reliably and keep detection a small share of extraction.
DETECTION_PREFIX_CHARS = 600
# Below this probability the text is too mixed or too short to call French with confidence.
MIN_FRENCH_PROBABILITY = 0.70
UNKNOWN = "und"


@dataclass(frozen=True, slots=True)
class LanguageGuess:
    language: str
    score: float

    @property
    def is_french(self) -> bool:
        return self.language == "fr" and self.score >= MIN_FRENCH_PROBABILITY


def detect_language(text: str) -> LanguageGuess:
    """Best guess on the start of the text (titles and ledes are in the article's language)."""
    DetectorFactory.seed = LANGDETECT_SEED
    sample = text[:DETECTION_PREFIX_CHARS]
    try:
        best = detect_langs(sample)[0]
    except LangDetectException:
        return LanguageGuess(UNKNOWN, 0.0)
    return LanguageGuess(best.lang, round(best.prob, 4))
