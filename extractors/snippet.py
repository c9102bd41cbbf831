"""A search result's snippet: the passage of a text where the query's words are densest, marked.

Which words match is decided by the caller (the store stems words exactly as its index does), so
this module only picks the window and places the marks.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection
from dataclasses import dataclass

# About two lines of a terminal: enough context to judge a hit, short enough to scan 20 of them.
SNIPPET_WORDS = 30
ELLIPSIS = "…"
_WORD = re.compile(r"\w+")


@dataclass(frozen=True, slots=True)
class Snippet:
    text: str
    marks: tuple[tuple[int, int], ...]  # (start, stop) of each matching word in `text`

    def render(self, before: str = "**", after: str = "**") -> str:
        """The snippet with each matching word wrapped in `before` and `after`."""
        out, last = [], 0
        for start, stop in self.marks:
            out += [self.text[last:start], before, self.text[start:stop], after]
            last = stop
        out.append(self.text[last:])
        return "".join(out)


def words(text: str) -> list[str]:
    """The words of a text, as the snippet sees them (for the caller to stem)."""
    return _WORD.findall(text)


def make_snippet(
    text: str,
    matches: Callable[[str], bool] | Collection[str],
    size: int = SNIPPET_WORDS,
) -> Snippet:
    """The `size`-word window holding the most matching words (the earliest of equals)."""
    is_match = matches if callable(matches) else matches.__contains__
    spans = [(m.start(), m.end(), is_match(m.group())) for m in _WORD.finditer(text)]
    if not spans:
        return Snippet(text[: size * 8].strip(), ())
    hits = [int(hit) for _, _, hit in spans]
    best, best_count, running = 0, -1, 0
    for i, hit in enumerate(hits):
        running += hit - (hits[i - size] if i >= size else 0)
        start = max(0, i - size + 1)
        if running > best_count:
            best, best_count = start, running
    window = spans[best : best + size]
    at_start, at_end = best == 0, best + size >= len(spans)
    begin = 0 if at_start else window[0][0]
    end = len(text) if at_end else window[-1][1]
    prefix = "" if at_start else ELLIPSIS
    suffix = "" if at_end else ELLIPSIS
    body = " ".join(text[begin:end].split())
    marks = []
    offset = len(prefix)
    for m in _WORD.finditer(body):
        if is_match(m.group()):
            marks.append((offset + m.start(), offset + m.end()))
    return Snippet(prefix + body + suffix, tuple(marks))
