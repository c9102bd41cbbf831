"""MinHash signatures, LSH band keys and story assignment: the pure half of near-dup grouping."""

from __future__ import annotations

import itertools
import math
import pickle
from functools import cache
from pathlib import Path

import numpy as np
import pytest
import yaml

from extractors import neardup
from extractors.neardup import Assignment, assign, band_keys, signature, similarity

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "neardup"


@cache
def _fixture_texts() -> tuple[str, ...]:
    texts = []
    for path in sorted(FIXTURES.glob("*/*.yaml")):
        data = yaml.safe_load(path.read_text("utf-8"))
        texts += [item["text"] for item in data.get("copies", data.get("articles", []))]
    return tuple(texts)


def _window(start: int, stop: int) -> str:
    """A slice of real French prose: overlapping windows make copies with a known overlap."""
    words = " ".join(_fixture_texts()).split()
    return " ".join(words[start:stop])


@cache
def _shingles(text: str) -> frozenset[int]:
    return frozenset(neardup.shingle_hashes(text).tolist())


def _exact_jaccard(a: str, b: str) -> float:
    sa, sb = _shingles(a), _shingles(b)
    return len(sa & sb) / len(sa | sb)


# --- normalisation and signatures -------------------------------------------------------------


def test_normalise_folds_case_accents_and_punctuation():
    assert neardup.normalise("L’ARMÉE malienne, à Gao : « Élu » !") == [
        "l",
        "armee",
        "malienne",
        "a",
        "gao",
        "elu",
    ]


def test_typography_and_spacing_do_not_change_the_signature():
    a = "Bamako, le 3 mars (AFP) - L'armée a annoncé « une attaque complexe » près d'Ansongo."
    b = "BAMAKO le 3 mars AFP  l’armée   a annoncé une attaque complexe pres d'Ansongo"
    assert np.array_equal(signature(a), signature(b))


def test_signature_is_deterministic_compact_and_picklable():
    text = _window(0, 300)
    sig = signature(text)
    assert sig.dtype == np.uint32 and sig.shape == (neardup.NUM_PERM,)
    assert np.array_equal(sig, signature(text))
    assert np.array_equal(pickle.loads(pickle.dumps(sig)), sig)


def test_text_shorter_than_a_shingle_still_has_a_signature():
    short = signature("Niamey inondée")
    assert not neardup.is_empty(short)
    assert similarity(short, signature("niamey, INONDÉE.")) == 1.0
    assert similarity(short, signature("Bamako inondée")) < neardup.SIMILARITY_THRESHOLD


def test_text_without_words_matches_nothing_and_has_no_band_keys():
    empty = signature(" … — ! ")
    assert neardup.is_empty(empty)
    assert band_keys(empty) == []
    assert similarity(empty, signature(" ? ")) == 0.0


def test_estimate_stays_within_four_standard_errors_of_exact_jaccard():
    texts = _fixture_texts()
    sigs = [signature(t) for t in texts]
    worst = 0.0
    checked = 0
    for (ta, sa), (tb, sb) in itertools.combinations(zip(texts, sigs, strict=True), 2):
        exact = _exact_jaccard(ta, tb)
        if exact < 0.05:
            continue  # unrelated pairs: nothing to learn about the estimate's spread
        checked += 1
        error = abs(similarity(sa, sb) - exact)
        allowed = 4 * math.sqrt(exact * (1 - exact) / neardup.NUM_PERM) + 1 / neardup.NUM_PERM
        assert error <= allowed, (exact, similarity(sa, sb))
        worst = max(worst, error)
    assert checked >= 50


# --- LSH band keys ------------------------------------------------------------------------------


def test_one_band_key_per_band_as_signed_64_bit_integers():
    keys = band_keys(signature(_window(0, 250)))
    assert len(keys) == neardup.BANDS
    assert all(-(2**63) <= k < 2**63 for k in keys)


def test_equal_rows_in_different_bands_give_different_keys():
    uniform = np.full(neardup.NUM_PERM, 12345, dtype=np.uint32)
    assert len(set(band_keys(uniform))) == neardup.BANDS


def test_copies_share_a_band_key_and_unrelated_texts_do_not():
    dispatch = _window(0, 250)
    copy = "Titre ajouté par le journal\n\n" + _window(0, 220) + " Suivez-nous sur les réseaux."
    other = _window(1000, 1250)
    assert set(band_keys(signature(dispatch))) & set(band_keys(signature(copy)))
    assert not set(band_keys(signature(dispatch))) & set(band_keys(signature(other)))


def test_lsh_curve_favours_recall_at_the_threshold():
    def candidate_probability(j: float) -> float:
        return 1 - (1 - j**neardup.ROWS_PER_BAND) ** neardup.BANDS

    assert candidate_probability(neardup.SIMILARITY_THRESHOLD) > 0.95
    assert candidate_probability(0.5) > 0.99
    assert candidate_probability(0.1) < 0.05


# --- assignment ----------------------------------------------------------------------------------


A, B, C = _window(0, 200), _window(60, 260), _window(120, 320)
UNRELATED = _window(2000, 2200)


def test_the_overlapping_windows_are_a_chain_of_copies():
    # B is a copy of A and C a copy of B, but C is too different from A to be matched directly.
    assert similarity(signature(A), signature(B)) >= neardup.SIMILARITY_THRESHOLD
    assert similarity(signature(B), signature(C)) >= neardup.SIMILARITY_THRESHOLD
    assert similarity(signature(A), signature(C)) < neardup.SIMILARITY_THRESHOLD


def test_a_document_like_nothing_before_it_is_a_story_root():
    assert assign([("a", signature(A))], {}) == [Assignment("a", None, None)]


def test_a_copy_points_to_the_earlier_document_of_the_same_batch():
    result = assign([("a", signature(A)), ("b", signature(B))], {})
    assert result[1] == Assignment("b", "a", similarity(signature(A), signature(B)))


def test_a_copy_of_a_copy_points_to_the_story_root():
    result = assign([("a", signature(A)), ("b", signature(B)), ("c", signature(C))], {})
    assert [r.duplicate_of for r in result] == [None, "a", "a"]
    assert result[2].similarity == similarity(signature(C), signature(A))


def test_an_archive_copy_leads_to_its_root():
    archive = {"c": [("root", None, signature(A)), ("b", "root", signature(B))]}
    assert assign([("c", signature(C))], archive) == [
        Assignment("c", "root", similarity(signature(C), signature(A)))
    ]


def test_without_the_roots_signature_the_matched_copys_similarity_is_recorded():
    archive = {"c": [("b", "root", signature(B))]}
    assert assign([("c", signature(C))], archive) == [
        Assignment("c", "root", similarity(signature(C), signature(B)))
    ]


def test_candidates_below_the_threshold_do_not_group():
    archive = {"x": [("old", None, signature(UNRELATED))]}
    assert assign([("x", signature(A))], archive) == [Assignment("x", None, None)]


def test_a_document_is_never_its_own_copy():
    archive = {"a": [("a", None, signature(A))]}
    assert assign([("a", signature(A))], archive) == [Assignment("a", None, None)]


def test_the_most_similar_story_wins_and_ties_go_to_the_earliest():
    sig = signature(A)
    near, nearer = signature(_window(20, 220)), signature(_window(5, 205))
    archive = {"new": [("s1", None, near), ("s2", None, nearer), ("s3", None, nearer)]}
    assert assign([("new", sig)], archive)[0].duplicate_of == "s2"


@pytest.mark.parametrize("order", [["a", "b", "c"], ["c", "b", "a"]])
def test_the_first_seen_document_names_the_story(order):
    sigs = {"a": signature(A), "b": signature(B), "c": signature(C)}
    result = assign([(d, sigs[d]) for d in order], {})
    assert [r.duplicate_of for r in result] == [None, order[0], order[0]]
