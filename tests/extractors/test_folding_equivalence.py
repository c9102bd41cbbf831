"""The fast folding gives exactly what the straightforward folding gave, text and offsets alike.

`extractors.textnorm.fold` is written for speed (Latin-1 bytes, a byte table, stand-ins for the
rarer characters); `_reference_fold` below is the first, plain implementation, kept here only as
the specification it must still meet: one `str.translate` over a table built from the
one-character rule, then a pass that drops vanishing characters and collapses separator runs.
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_right
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from extractors.textnorm import fold

ROOT = Path(__file__).resolve().parents[2]
LABELLED = ROOT / "tests" / "fixtures" / "watchlist" / "labelled.yaml"
SAMPLE_SITE = ROOT / "demo" / "site"
SEEDS = ROOT / "data" / "seed"

# ----------------------------------------------------------- the reference (former) implementation

_SEPARATOR = " "
_BOUNDARY = "\x01"
_DROPPED = "\x00"
_APOSTROPHES = "'’‘ʼʹ`´′"
_HYPHENS = "-‐‑−"
_DASHES = "‒–—―"
_INVISIBLE = "\u00ad\u200b\u200c\u200d\u2060\ufeff"
_TABLE_LIMIT = 0x2500
_ABOVE_TABLE = re.compile(f"[^\\x00-\\u{_TABLE_LIMIT - 1:04x}]")
_SHRINK = re.compile(f"{_SEPARATOR}[{_SEPARATOR}{_DROPPED}]+|{_DROPPED}+")


def _reference_char(char: str, keep_case: bool) -> str:
    if char in _APOSTROPHES or char in _HYPHENS or char in _DASHES or char.isspace():
        return _SEPARATOR
    if char in _INVISIBLE or unicodedata.combining(char):
        return _DROPPED
    decomposed = unicodedata.normalize("NFD", char)
    base = decomposed[0]
    if not all(unicodedata.combining(mark) for mark in decomposed[1:]):
        base = char
    if not keep_case and len(base.lower()) == 1:
        base = base.lower()
    return base if base.isalnum() else _BOUNDARY


_TABLES = {
    keep_case: {code: _reference_char(chr(code), keep_case) for code in range(_TABLE_LIMIT)}
    for keep_case in (False, True)
}


def _reference_fold(text: str, keep_case: bool) -> tuple[str, list[int]]:
    """The folded text and, for every folded index, the source index it maps back to."""
    folded = text.translate(_TABLES[keep_case])
    folded = _ABOVE_TABLE.sub(lambda m: _reference_char(m.group(), keep_case), folded)
    pieces: list[str] = []
    breaks: list[int] = []
    shifts: list[int] = []
    kept_until = removed = 0
    for run in _SHRINK.finditer(folded):
        start, end = run.span()
        if folded[start] == _SEPARATOR:
            start += 1
        pieces.append(folded[kept_until:start])
        breaks.append(start - removed)
        removed += end - start
        shifts.append(removed)
        kept_until = end
    pieces.append(folded[kept_until:])
    result = "".join(pieces)

    def source(index: int) -> int:
        if index >= len(result):
            return len(text)
        position = bisect_right(breaks, index)
        return index + (shifts[position - 1] if position else 0)

    return result, [source(index) for index in range(len(result) + 1)]


# ------------------------------------------------------------------------------- the comparison


def assert_folds_alike(text: str) -> None:
    for keep_case in (False, True):
        expected_text, expected_sources = _reference_fold(text, keep_case)
        folded = fold(text, keep_case=keep_case)
        assert folded.text == expected_text
        sources = [folded.source_index(index) for index in range(len(folded.text) + 1)]
        assert sources == expected_sources


def _labelled_passages() -> list[str]:
    return [passage["text"] for passage in yaml.safe_load(LABELLED.read_text("utf-8"))["passages"]]


def _sample_site_pages() -> list[str]:
    pages = sorted(SAMPLE_SITE.rglob("*.html"))
    return [path.read_text("utf-8", errors="replace") for path in pages]


def _seed_texts() -> list[str]:
    return [path.read_text("utf-8") for path in sorted(SEEDS.glob("*.txt"))]


def test_the_texts_compared_are_there() -> None:
    assert len(_labelled_passages()) > 100
    assert len(_sample_site_pages()) > 30
    assert _seed_texts()


def test_labelled_passages_fold_as_before() -> None:
    for text in _labelled_passages():
        assert_folds_alike(text)


def test_sample_site_pages_fold_as_before() -> None:
    for text in _sample_site_pages():
        assert_folds_alike(text)


def test_seed_texts_fold_as_before() -> None:
    for text in _seed_texts():
        assert_folds_alike(text)


@pytest.mark.parametrize(
    "text",
    [
        "",
        " ",
        "   ",
        "\x00\x01\x02\x03",
        "a\x02b œ Œuvre \x02",
        "Mali – Niger — Tchad ‒ Soudan ― Libye",
        "L’État  -  islamique\u00ad au « Sahel » — e\u0301te\u0301 🇲🇱 Ⅻ 東京",
        "Etats -\u00a0  Unis\u200b\u200b  \u0301 x",
        "\u0301\u0301 début et fin \u00ad",
        "ĀāĞğİıŁłŒœŸÿßẞ ǅ ﬁ ﬀ ℌ Ω ὈΔΥΣΣΕΎΣ Москва",
        "  doubles  espaces   triples    quadruples  ",
        "\ud800 surrogate \udfff",
        "fin en espace ",
    ],
)
def test_edge_cases_fold_as_before(text: str) -> None:
    assert_folds_alike(text)


_TRICKY = st.sampled_from(
    [*"aeAÉéèœŒß'’‘-‐–— \n\t\u00a0\u00ad\u200b\u0301\u0327«».,\x00\x01\x02", "東", "🇲", "Ω"]
)


@settings(max_examples=300, deadline=None)
@given(st.lists(_TRICKY, max_size=40).map("".join))
def test_any_mix_of_tricky_characters_folds_as_before(text: str) -> None:
    assert_folds_alike(text)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=60))
def test_any_text_folds_as_before(text: str) -> None:
    assert_folds_alike(text)
