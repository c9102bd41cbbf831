"""Fold text for matching while remembering where every folded character came from.

The tagger does not search a document as written: "l’Égypte", "l'Egypte" and "L'EGYPTE" must
all name the same country. It searches a folded copy (no accents, lower case, one space for each
run of spaces, apostrophes and hyphens, `BOUNDARY` for any other non-word character) and keeps
an offset map from the folded copy back to the original, so that a hit can be reported where an
analyst will find it in the text as published.

Folding works on Latin-1 bytes, because French text is almost all Latin-1 and a byte table
folds megabytes in milliseconds where a `str.translate` over a dict costs 20 ns a character:
the text is encoded to Latin-1 with each other character replaced by a Latin-1 stand-in that
folds to the same thing ("’" by "'", "–" by " ", "ā" by "a"); the few with no such stand-in
("œ", Greek, CJK) become `_MARKER` and get their folding spliced in afterwards. Separator
runs are collapsed by splitting at pairs ("\\n\\n" between paragraphs), with a loop per run only
for texts that have longer ones (" – "), and the offset map is stored as the few places where
the shift between folded and original indices changes. `tests/extractors/
test_folding_equivalence.py` keeps the first, plain implementation and checks that this one
gives the same text and offsets.
"""

from __future__ import annotations

import codecs
import re
import unicodedata
from bisect import bisect_right
from dataclasses import dataclass
from functools import lru_cache
from itertools import accumulate, count
from operator import add, methodcaller

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

# Stands for a character whose folding is not Latin-1; never produced by the byte tables.
_MARKER = "\x02"
_STAND_IN_ERRORS = "sahelwatch.textnorm.stand-in"  # the codec error handler registered below
# Runs to shrink when the text has characters that vanish: doubled separators keep their first
# character, dropped characters go. Texts without them take the faster split at pairs.
_SHRINK = re.compile(f"{SEPARATOR}[{SEPARATOR}{_DROPPED}]+|{_DROPPED}+".encode())
_DOUBLE_SEPARATOR = (SEPARATOR * 2).encode()
_STARTS_WITH_SEPARATOR = methodcaller("startswith", SEPARATOR.encode())


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


def _byte_table(keep_case: bool) -> bytes:
    """The one-character rule for each Latin-1 character, as a `bytes.translate` table."""
    folded = (_fold_char(chr(code), keep_case) for code in range(256))
    table = bytes(ord(char) if ord(char) < 256 else ord(_MARKER) for char in folded)
    return table[: ord(_MARKER)] + _MARKER.encode() + table[ord(_MARKER) + 1 :]


_FOLD = _byte_table(keep_case=False)
_FOLD_KEEP_CASE = _byte_table(keep_case=True)
# A Latin-1 character for each pair of foldings (without, with case) that one of them has.
_LATIN1_BY_FOLDING = {
    (_fold_char(chr(code), False), _fold_char(chr(code), True)): chr(code)
    for code in reversed(range(256))
    if chr(code) != _MARKER
}


@lru_cache(maxsize=4096)
def _stand_in(char: str) -> str:
    """A Latin-1 character folding like `char` with and without case, else `_MARKER`."""
    folding = (_fold_char(char, False), _fold_char(char, True))
    return _LATIN1_BY_FOLDING.get(folding, _MARKER)


def _stand_ins(error: UnicodeError) -> tuple[str, int]:
    """Codec error handler: Latin-1 stand-ins for the characters Latin-1 cannot encode."""
    if not isinstance(error, UnicodeEncodeError):
        raise error
    return "".join(map(_stand_in, error.object[error.start : error.end])), error.end


codecs.register_error(_STAND_IN_ERRORS, _stand_ins)


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
    # "’" is the one frequent character of French news outside Latin-1: replacing it first
    # spares a call of the error handler for each one.
    encoded = text.replace("’", "'").encode("latin-1", _STAND_IN_ERRORS)
    folded = encoded.translate(_FOLD_KEEP_CASE if keep_case else _FOLD)
    if _DROPPED.encode() in folded:
        shrunk, breaks, shifts = _shrink_with_drops(folded)
    else:
        shrunk, breaks, shifts = _shrink_separators(folded)
    result = shrunk.decode("latin-1")
    if _MARKER in result:
        result = _splice_marked(result, text, encoded, keep_case)
    return FoldedText(result, len(text), tuple(breaks), tuple(shifts))


def _shrink_separators(folded: bytes) -> tuple[bytes, list[int], list[int]]:
    """Collapse each run of separators to its first one, without a Python loop when all runs
    are pairs ("\\n\\n" between paragraphs, the usual case)."""
    pieces = folded.split(_DOUBLE_SEPARATOR)
    # A longer run leaves an empty piece (four or more) or a piece that starts with a separator
    # (three or more); checking the few pieces is cheaper than another search of the text.
    if b"" in pieces[1:-1] or any(map(_STARTS_WITH_SEPARATOR, pieces[1:])):
        return _shrink_long_runs(folded)
    # Pair k starts at the length of the pieces before it plus 2k; one character goes per pair.
    breaks = list(map(add, accumulate(map(len, pieces[:-1])), count(1)))
    return SEPARATOR.encode().join(pieces), breaks, list(range(1, len(pieces)))


def _shrink_long_runs(folded: bytes) -> tuple[bytes, list[int], list[int]]:
    """Collapse separator runs of any length, a loop per run (" – " folds to three)."""
    start = folded.find(_DOUBLE_SEPARATOR)
    separator = ord(SEPARATOR)
    length = len(folded)
    pieces: list[bytes] = []
    breaks: list[int] = []
    shifts: list[int] = []
    kept_until = removed = 0
    while start >= 0:
        stop = start + 2
        while stop < length and folded[stop] == separator:
            stop += 1
        pieces.append(folded[kept_until : start + 1])
        breaks.append(start + 1 - removed)
        removed += stop - start - 1
        shifts.append(removed)
        kept_until = stop
        start = folded.find(_DOUBLE_SEPARATOR, stop)
    pieces.append(folded[kept_until:])
    return b"".join(pieces), breaks, shifts


def _shrink_with_drops(folded: bytes) -> tuple[bytes, list[int], list[int]]:
    """Drop vanishing characters and collapse separator runs, for texts that have them."""
    pieces: list[bytes] = []
    breaks: list[int] = []
    shifts: list[int] = []
    kept_until = removed = 0
    for run in _SHRINK.finditer(folded):
        start, end = run.span()
        if folded[start] == ord(SEPARATOR):
            start += 1
        pieces.append(folded[kept_until:start])
        breaks.append(start - removed)
        removed += end - start
        shifts.append(removed)
        kept_until = end
    pieces.append(folded[kept_until:])
    return b"".join(pieces), breaks, shifts


def _splice_marked(result: str, text: str, encoded: bytes, keep_case: bool) -> str:
    """Put back the foldings of the characters that had no Latin-1 stand-in, in text order."""
    marker = ord(_MARKER)
    sources: list[str] = []
    position = encoded.find(marker)
    while position >= 0:
        sources.append(_fold_char(text[position], keep_case))
        position = encoded.find(marker, position + 1)
    parts = result.split(_MARKER)
    spliced = [part for pair in zip(parts, sources, strict=False) for part in pair]
    return "".join([*spliced, parts[-1]])


def fold_key(phrase: str, *, keep_case: bool = False) -> str:
    """A watchlist phrase as the tagger looks for it: folded, without outer separators."""
    return fold(phrase, keep_case=keep_case).text.strip(SEPARATOR)
