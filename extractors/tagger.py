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
from dataclasses import dataclass, field, fields
from enum import Enum
from functools import lru_cache
from itertools import accumulate

import ahocorasick

from extractors.textnorm import BOUNDARY, HYPHENS, SEPARATOR, FoldedText, fold, fold_key
from extractors.watchlist import Entity, Watchlist

_WORD_EDGES = (SEPARATOR, BOUNDARY)  # what may stand either side of a whole word once folded
# Sources of case-sensitive hits whose folding is remembered: a few acronyms written a few ways
# each, far fewer than this; a bound keeps odd texts from growing the cache without end.
CASED_SOURCES_CACHED = 4096
NO_ENTITY = -1  # in an automaton value: the key is no entity's plain alias


@dataclass(frozen=True, slots=True)
class Mention:
    """One entity found in one text: how often, and where first (index in the original text)."""

    entity_id: str
    entity_kind: str
    entity_name: str
    count: int
    first_offset: int


# A frozen dataclass's `__init__` sets each field through `object.__setattr__`, which made
# building mentions a quarter of the tagging time on mention-dense news; the slots' own
# setters fill the same fields in half the time (`test_mentions_are_plain_mentions` checks).
_SET_ID, _SET_KIND, _SET_NAME, _SET_COUNT, _SET_OFFSET = (
    getattr(Mention, attribute.name).__set__ for attribute in fields(Mention)
)


def _new_mention(label: tuple[str, str, str], count: int, first_offset: int) -> Mention:
    """`Mention(*label, count, first_offset)`, built faster (see above)."""
    mention = object.__new__(Mention)
    _SET_ID(mention, label[0])
    _SET_KIND(mention, label[1])
    _SET_NAME(mention, label[2])
    _SET_COUNT(mention, count)
    _SET_OFFSET(mention, first_offset)
    return mention


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


# A hit kept so far: (start, -stop, entity index), start and stop in the folded text. A plain
# tuple, because a document can hold thousands of hits, and in this order so that sorting the
# tuples puts the leftmost first and, among hits starting together, the longest first.
_Hit = tuple[int, int, int]


class Tagger:
    """Finds watchlist entities in texts; build it once, then call `tag` for every document."""

    def __init__(self, watchlist: Watchlist) -> None:
        self._entities = watchlist.entities
        self._version = watchlist.version
        self._automaton = _build_automaton(watchlist.entities)
        # Each entity's kind as a small number, to index the per-kind "covered until" list.
        self._kind_names = sorted({entity.kind for entity in watchlist.entities})
        self._kinds = tuple(self._kind_names.index(entity.kind) for entity in self._entities)
        # What a mention repeats from its entity, and where the entity's id sorts among all ids.
        self._labels = tuple((entity.id, entity.kind, entity.name) for entity in self._entities)
        by_id = sorted(range(len(self._entities)), key=lambda index: self._entities[index].id)
        self._id_rank = {index: rank for rank, index in enumerate(by_id)}

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
        found = list(self._automaton.iter(f"{SEPARATOR}{folded.text}{SEPARATOR}"))
        # In the padded text `end` is the right edge: the key stops at `end - 1` of the folded
        # text and starts `length` before. Most hits are plain aliases, built without a check.
        hits: list[_Hit] = [
            (end - length - 1, 1 - end, entity)
            for end, (length, entity, _) in found
            if entity != NO_ENTITY
        ]
        excluded: dict[int, list[tuple[int, int]]] = {}
        for end, (length, _, checked) in [item for item in found if item[1][2]]:
            start, stop = end - length - 1, end - 1
            for form in checked:
                if form.role is _Role.EXCLUDE:
                    excluded.setdefault(form.entity, []).append((start, stop))
                elif _accepts(form, start, stop, text, folded):
                    hits.append((start, -stop, form.entity))
        hits.sort()
        return self._mentions(*self._kept(hits, excluded), folded)

    def _kept(
        self, hits: list[_Hit], excluded: dict[int, list[tuple[int, int]]]
    ) -> tuple[dict[int, int], dict[int, int]]:
        """Rules 2 and 3 over the sorted hits in one pass: per entity, its count and first start."""
        spans = {entity: _SpanSet(found) for entity, found in excluded.items()}
        kinds = self._kinds
        covered_until = [0] * len(self._kind_names)
        counts: dict[int, int] = {}
        first: dict[int, int] = {}
        for hit in hits:
            start, negative_stop, entity = hit
            kind = kinds[entity]
            if start >= covered_until[kind]:
                # Only a hit that would be kept needs the check; an excluded one blocks nothing.
                if entity in spans and spans[entity].covers(hit):
                    continue
                covered_until[kind] = -negative_stop
                if entity in first:
                    counts[entity] += 1
                else:
                    counts[entity] = 1
                    first[entity] = start
        return counts, first

    def _mentions(
        self, counts: dict[int, int], first: dict[int, int], folded: FoldedText
    ) -> list[Mention]:
        return [
            _new_mention(self._labels[index], counts[index], folded.source_index(first[index]))
            for index in sorted(counts, key=self._id_rank.__getitem__)
        ]


def _build_automaton(entities: tuple[Entity, ...]) -> ahocorasick.Automaton:
    keys: dict[str, set[_Form]] = {}
    for index, entity in enumerate(entities):
        for key, form in _forms(index, entity):
            keys.setdefault(key, set()).add(form)
    automaton = ahocorasick.Automaton()
    for key, forms in keys.items():
        # Plain aliases need no check, so the hit loop reads their entities without a `_Form`.
        # The hit loop reads one plain alias's entity without a `_Form`; any further form
        # (another entity's alias, a checked form) goes through `_accepts`, which passes plain ones.
        ordered = sorted(forms, key=_form_order)
        plain = next((form.entity for form in ordered if form.plain), NO_ENTITY)
        checked = tuple(form for form in ordered if not (form.plain and form.entity == plain))
        value = (len(key), plain, checked)
        for left in _WORD_EDGES:
            for right in _WORD_EDGES:
                automaton.add_word(f"{left}{key}{right}", value)
    automaton.make_automaton()
    return automaton


def _form_order(form: _Form) -> tuple[bool, int, str]:
    return not form.plain, form.entity, form.role.value


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
        if _folded_keeping_case(source) != form.cased:
            return False
    if form.role is _Role.PREFIX:
        joint = text[folded.source_index(stop) : folded.source_index(stop + 1)]
        return any(char in HYPHENS for char in joint)
    return True


@lru_cache(maxsize=CASED_SOURCES_CACHED)
def _folded_keeping_case(source: str) -> str:
    """The key a case-sensitive hit is checked against; cached, as the same acronyms recur."""
    return fold_key(source, keep_case=True)


class _SpanSet:
    """Spans of one entity's exclude phrases, answering "is this hit inside one?" in log time
    (a long document can hold thousands of "fleuve Niger")."""

    def __init__(self, spans: list[tuple[int, int]]) -> None:
        spans = sorted(spans)
        self._starts = [start for start, _ in spans]
        self._reach = list(accumulate((stop for _, stop in spans), max))

    def covers(self, hit: _Hit) -> bool:
        before = bisect_right(self._starts, hit[0])
        return before > 0 and self._reach[before - 1] >= -hit[1]
