"""Tag a text with the watchlist entities it names, in one pass whatever the watchlist's size.

Every name, alias, compound prefix and exclude phrase is folded (see `extractors.textnorm`) and
put into one Aho-Corasick automaton, padded with a word boundary on each side, so a single scan
of the folded text finds only whole-word hits: "Somalie" never yields "mali". Hits are then
filtered and resolved in this order, each rule chosen so a mention means what an analyst would
read in the sentence:

1. Case-sensitive aliases ("UE", "AES") count only if the text has exactly their case, and
   compound prefixes ("algéro") only when a hyphen follows ("algéro-malien").
2. An exclude phrase suppresses its own entity's hits inside it ("le fleuve Niger" is not the
   country), and only those: another entity named inside the phrase still counts.
3. Among the hits of one kind, the leftmost-longest wins, so "Guinée-Bissau" is not also Guinée
   and "Mahamat Idriss Déby" is not also his father Idriss Déby.
4. Across kinds hits may nest: "Forces armées maliennes" names the FAMa and Mali.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import Enum
from itertools import accumulate
from typing import NamedTuple

import ahocorasick

from extractors.textnorm import BOUNDARY, HYPHENS, SEPARATOR, FoldedText, fold, fold_key
from extractors.watchlist import Entity, Watchlist

_WORD_EDGES = (SEPARATOR, BOUNDARY)  # what may stand either side of a whole word once folded


@dataclass(frozen=True, slots=True)
class Mention:
    """One entity found in one text: how often, and where first (index in the original text)."""

    entity_id: str
    entity_kind: str
    entity_name: str
    count: int
    first_offset: int


class _Role(Enum):
    ALIAS = "alias"
    PREFIX = "prefix"
    EXCLUDE = "exclude"


@dataclass(frozen=True, slots=True)
class _Form:
    """What a key in the automaton stands for."""

    entity: int  # index into the watchlist's entities
    role: _Role
    cased: str | None = None  # case-sensitive: the hit, folded keeping case, must equal this
    # A plain alias counts wherever the automaton finds it; the others need a check. Stored,
    # not computed, because it is read for every hit.
    plain: bool = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "plain", self.role is _Role.ALIAS and self.cased is None)


class _Hit(NamedTuple):
    """A hit kept so far; a tuple because documents can hold thousands of them."""

    start: int  # in the folded text
    stop: int
    entity: int


class Tagger:
    """Finds watchlist entities in texts; build it once, then call `tag` for every document."""

    def __init__(self, watchlist: Watchlist) -> None:
        self._entities = watchlist.entities
        self._version = watchlist.version
        self._automaton = _build_automaton(watchlist.entities)

    @property
    def version(self) -> str:
        """The watchlist version, stored with each mention to tell which watchlist produced it."""
        return self._version

    @property
    def entities(self) -> tuple[Entity, ...]:
        """The watchlist's entities, for callers that store them beside the mentions."""
        return self._entities

    def tag(self, text: str) -> list[Mention]:
        """One mention per entity named in `text`, sorted by entity id."""
        folded = fold(text)
        hits: list[_Hit] = []
        excluded: dict[int, list[tuple[int, int]]] = {}
        padded = f"{SEPARATOR}{folded.text}{SEPARATOR}"
        for end, (length, forms) in self._automaton.iter(padded):
            start = end - length - 1  # padded `end` is the right edge; folded = padded - 1
            stop = start + length
            for form in forms:
                if form.role is _Role.EXCLUDE:
                    excluded.setdefault(form.entity, []).append((start, stop))
                elif form.plain or _accepts(form, start, stop, text, folded):
                    hits.append(_Hit(start, stop, form.entity))
        kept = _leftmost_longest_per_kind(_drop_excluded(hits, excluded), self._entities)
        return self._mentions(kept, folded)

    def _mentions(self, hits: list[_Hit], folded: FoldedText) -> list[Mention]:
        counts: dict[int, int] = {}
        first: dict[int, int] = {}
        for hit in hits:
            counts[hit.entity] = counts.get(hit.entity, 0) + 1
            first[hit.entity] = min(first.get(hit.entity, hit.start), hit.start)
        mentions = [
            Mention(
                entity_id=self._entities[index].id,
                entity_kind=self._entities[index].kind,
                entity_name=self._entities[index].name,
                count=count,
                first_offset=folded.source_index(first[index]),
            )
            for index, count in counts.items()
        ]
        return sorted(mentions, key=lambda mention: mention.entity_id)


def _build_automaton(entities: tuple[Entity, ...]) -> ahocorasick.Automaton:
    keys: dict[str, set[_Form]] = {}
    for index, entity in enumerate(entities):
        for key, form in _forms(index, entity):
            keys.setdefault(key, set()).add(form)
    automaton = ahocorasick.Automaton()
    for key, forms in keys.items():
        value = (len(key), tuple(forms))
        for left in _WORD_EDGES:
            for right in _WORD_EDGES:
                automaton.add_word(f"{left}{key}{right}", value)
    automaton.make_automaton()
    return automaton


def _forms(index: int, entity: Entity) -> Iterator[tuple[str, _Form]]:
    case_sensitive = {
        fold_key(alias): fold_key(alias, keep_case=True) for alias in entity.case_sensitive_aliases
    }
    for key, cased in case_sensitive.items():
        yield key, _Form(index, _Role.ALIAS, cased)
    for phrase in (entity.name, *entity.aliases):
        key = fold_key(phrase)
        if key not in case_sensitive:  # a name listed as case-sensitive follows that rule
            yield key, _Form(index, _Role.ALIAS)
    for prefix in entity.compound_prefixes:
        yield fold_key(prefix), _Form(index, _Role.PREFIX)
    for phrase in entity.exclude:
        yield fold_key(phrase), _Form(index, _Role.EXCLUDE)


def _accepts(form: _Form, start: int, stop: int, text: str, folded: FoldedText) -> bool:
    if form.cased is not None:
        source = text[folded.source_index(start) : folded.source_index(stop - 1) + 1]
        if fold_key(source, keep_case=True) != form.cased:
            return False
    if form.role is _Role.PREFIX:
        joint = text[folded.source_index(stop) : folded.source_index(stop + 1)]
        return any(char in HYPHENS for char in joint)
    return True


def _drop_excluded(hits: list[_Hit], excluded: dict[int, list[tuple[int, int]]]) -> list[_Hit]:
    if not excluded:
        return hits
    spans = {entity: _SpanSet(found) for entity, found in excluded.items()}
    return [
        hit
        for hit in hits
        if hit.entity not in spans or not spans[hit.entity].covers(hit.start, hit.stop)
    ]


class _SpanSet:
    """Spans of one entity's exclude phrases, answering "is this hit inside one?" in log time
    (a long document can hold thousands of "fleuve Niger")."""

    def __init__(self, spans: list[tuple[int, int]]) -> None:
        spans = sorted(spans)
        self._starts = [start for start, _ in spans]
        self._reach = list(accumulate((stop for _, stop in spans), max))

    def covers(self, start: int, stop: int) -> bool:
        before = bisect_right(self._starts, start)
        return before > 0 and self._reach[before - 1] >= stop


def _leftmost_longest_per_kind(hits: list[_Hit], entities: tuple[Entity, ...]) -> list[_Hit]:
    hits = sorted(hits, key=lambda hit: (hit.start, hit.start - hit.stop))
    covered_until: dict[str, int] = {}
    kept = []
    for hit in hits:
        kind = entities[hit.entity].kind
        if hit.start >= covered_until.get(kind, 0):
            kept.append(hit)
            covered_until[kind] = hit.stop
    return kept
