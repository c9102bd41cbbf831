"""Fold text for matching while remembering where every folded character came from.

The tagger does not search a document as written: "l’Égypte", "l'Egypte" and "L'EGYPTE" must
all name the same country. It searches a folded copy (no accents, lower case, one space for each
run of spaces, apostrophes and hyphens, `BOUNDARY` for any other non-word character) and keeps
an offset map from the folded copy back to the original, so that a hit can be reported where an
analyst will find it in the text as published.

Folding is one `str.translate` over a precomputed table plus a pass that drops the characters
that disappear (doubled separators, combining accents, soft hyphens), which keeps it fast on
megabytes of text; the offset map is stored as the few places where the shift changes.
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_right
from dataclasses import dataclass
from functools import lru_cache

SEPARATOR = " "  # what spaces, apostrophes and hyphens fold to: "États-Unis" ~ "Etats Unis"
BOUNDARY = "\x01"  # any other non-word character; never inside a folded alias
_DROPPED = "\x00"  # placeholder for characters that vanish; never survives folding

# Elisions ("l’Algérie") and compounds ("El-Mokhtar") must not hide a name, so these separate words.
APOSTROPHES = "'’‘ʼʹ`´′"
# Hyphens that join compound words; only these make "algéro-" a compound prefix.
HYPHENS = "-‐‑−"
DASHES = "‒–—―"  # separate like a space: "Mali – Niger"
# Invisible characters inside words ("Mau\u00adritanie" from a hyphenating CMS) are dropped.
INVISIBLE = "\u00ad\u200b\u200c\u200d\u2060\ufeff"

# Characters below this code point are folded by table (Latin, Greek, Cyrillic, punctuation,
# symbols); the rarer ones above it (CJK, emoji, Arabic presentation forms) by a slower path.
_TABLE_LIMIT = 0x2500
_ABOVE_TABLE = re.compile(f"[^\\x00-\\u{_TABLE_LIMIT - 1:04x}]")
# Runs to shrink: doubled separators keep their first character, dropped characters go.
_SHRINK = re.compile(f"{SEPARATOR}[{SEPARATOR}{_DROPPED}]+|{_DROPPED}+")


@lru_cache(maxsize=4096)
def _fold_char(char: str, keep_case: bool) -> str:
    """The one-character folding rule; the tables are this function applied to every character."""
    if char in APOSTROPHES or char in HYPHENS or char in DASHES or char.isspace():
        return SEPARATOR
    if char in INVISIBLE or unicodedata.combining(char):
        return _DROPPED
    decomposed = unicodedata.normalize("NFD", char)
    base = decomposed[0]
    if not all(unicodedata.combining(mark) for mark in decomposed[1:]):
        base = char
    if not keep_case and len(base.lower()) == 1:
        base = base.lower()
    return base if base.isalnum() else BOUNDARY


def _table(keep_case: bool) -> dict[int, str]:
    return {code: _fold_char(chr(code), keep_case) for code in range(_TABLE_LIMIT)}


_FOLD = _table(keep_case=False)
_FOLD_KEEP_CASE = _table(keep_case=True)


@dataclass(frozen=True, slots=True)
class FoldedText:
    """A folded copy of a text and the map from its indices back to the original's."""

    text: str
    source_length: int
    # The folded index at which the shift to the original grows, and the shift from there on.
    _breaks: tuple[int, ...] = ()
    _shifts: tuple[int, ...] = ()

    def source_index(self, index: int) -> int:
        """Where the folded character at `index` came from (its first source character)."""
        if index >= len(self.text):
            return self.source_length
        position = bisect_right(self._breaks, index)
        return index + (self._shifts[position - 1] if position else 0)


def fold(text: str, *, keep_case: bool = False) -> FoldedText:
    """Fold `text` for matching; `keep_case` is for checking case-sensitive aliases."""
    folded = text.translate(_FOLD_KEEP_CASE if keep_case else _FOLD)
    if _ABOVE_TABLE.search(text):
        folded = _ABOVE_TABLE.sub(lambda m: _fold_char(m.group(), keep_case), folded)
    pieces: list[str] = []
    breaks: list[int] = []
    shifts: list[int] = []
    kept_until = removed = 0
    for run in _SHRINK.finditer(folded):
        start, end = run.span()
        if folded[start] == SEPARATOR:
            start += 1
        pieces.append(folded[kept_until:start])
        breaks.append(start - removed)
        removed += end - start
        shifts.append(removed)
        kept_until = end
    if not breaks:
        return FoldedText(folded, len(text))
    pieces.append(folded[kept_until:])
    return FoldedText("".join(pieces), len(text), tuple(breaks), tuple(shifts))


def fold_key(phrase: str, *, keep_case: bool = False) -> str:
    """A watchlist phrase as the tagger looks for it: folded, without outer separators."""
    return fold(phrase, keep_case=keep_case).text.strip(SEPARATOR)
