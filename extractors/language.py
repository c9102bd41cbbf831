"""Language identification with langdetect, made deterministic and bounded in cost."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from langdetect.detector_factory import PROFILES_DIRECTORY, DetectorFactory
from langdetect.lang_detect_exception import LangDetectException

# langdetect samples randomly; without a fixed seed the same text can flip between runs.
LANGDETECT_SEED = 0
# langdetect costs ~4.6 ms on a 2 KB prefix, more than trafilatura on a whole page: 400
# characters (about 70 words) identify a news article's language reliably.
DETECTION_PREFIX_CHARS = 400
# langdetect averages 7 random trials by default; on 400 characters of prose 3 agree as well
# (same verdicts and scores on the sample site's French, English, Portuguese and Arabic pages)
# at half the cost, which keeps detection a small share of extraction.
DETECTION_TRIALS = 3
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


@cache
def _factory() -> DetectorFactory:
    """Profiles load once per process (about half a second), then every detection reuses them."""
    factory = DetectorFactory()
    factory.load_profile(PROFILES_DIRECTORY)
    factory.set_seed(LANGDETECT_SEED)
    return factory


def detect_language(text: str) -> LanguageGuess:
    """Best guess on the start of the text (titles and ledes are in the article's language)."""
    detector = _factory().create()
    detector.n_trial = DETECTION_TRIALS
    detector.append(text[:DETECTION_PREFIX_CHARS])
    try:
        best = detector.get_probabilities()[0]
    except (LangDetectException, IndexError):
        return LanguageGuess(UNKNOWN, 0.0)
    return LanguageGuess(best.lang, round(best.prob, 4))
