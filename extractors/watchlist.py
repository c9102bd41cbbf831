"""The watchlist: which countries and actors documents are tagged with, validated from YAML.

A watchlist is edited by analysts, not programmers, so every mistake that would silently
change what gets tagged (a typo in a key, an alias claimed by two entities, a date that is not
a date) is refused with a `ConfigError` that names the file, the entity and the fix. The
format itself is documented in the header of `config/watchlist.yaml`.

Validity dates are informational: they record when a person held the post that puts them on
the watchlist (or when an operation or organisation existed) so analysts can read a mention in
context. They do not gate matching: a person is tagged whenever they are named.
"""

from __future__ import annotations

import difflib
import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

import yaml

from extractors.errors import ConfigError
from extractors.textnorm import SEPARATOR, fold_key

COUNTRY = "country"
ACTOR = "actor"
KINDS = (COUNTRY, ACTOR)
ACTOR_TYPES = ("person", "armed_group", "state_force", "organisation", "operation")

COUNTRY_ID = re.compile(r"[A-Z]{3}")  # ISO 3166-1 alpha-3, so ids match other datasets
ACTOR_ID = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")  # kebab-case: stable, readable in SQL
ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
# The version stored beside each mention; 16 hex digits (64 bits) never collide in practice.
VERSION_HEX_DIGITS = 16

TOP_LEVEL_KEYS = ("entities",)
REQUIRED_KEYS = ("id", "kind", "name")
OPTIONAL_KEYS = (
    "aliases",
    "case_sensitive_aliases",
    "compound_prefixes",
    "type",
    "country",
    "valid_from",
    "valid_to",
    "exclude",
    "note",
)
ACTOR_ONLY_KEYS = ("type", "country")


@dataclass(frozen=True, slots=True)
class Entity:
    """One country or actor. Matching uses `name`, all the alias fields and `exclude`."""

    id: str
    kind: str
    name: str
    aliases: tuple[str, ...]
    type: str | None = None
    country: str | None = None
    valid_from: date | None = None
    valid_to: date | None = None
    exclude: tuple[str, ...] = ()
    # Acronyms that are also words ("UE", "AES"): they count only in exactly this case.
    case_sensitive_aliases: tuple[str, ...] = ()
    # "algéro" in "algéro-malien": counts only as the first half of a hyphenated compound.
    compound_prefixes: tuple[str, ...] = ()
    note: str | None = None


@dataclass(frozen=True, slots=True)
class Watchlist:
    entities: tuple[Entity, ...]
    version: str


def parse_watchlist(text: str, path: str) -> Watchlist:
    """Validate a watchlist file's text; `path` is only used to name the file in errors."""
    document = _load_yaml(text, path)
    raw_entities = _entity_list(document, path)
    entities = tuple(_parse_entity(raw, index, path) for index, raw in enumerate(raw_entities))
    _check_unique_ids(entities, path)
    _check_actor_countries(entities, path)
    _check_alias_claims(entities, path)
    version = hashlib.sha256(text.encode("utf-8")).hexdigest()[:VERSION_HEX_DIGITS]
    return Watchlist(entities=entities, version=version)


def case_sensitive_keys(entity: Entity) -> frozenset[str]:
    """Folded forms that this entity matches only in their written case (the name may be one)."""
    return frozenset(fold_key(alias) for alias in entity.case_sensitive_aliases)


# ---------------------------------------------------------------------------------------------
# YAML loading


class _DuplicateKey(Exception):
    def __init__(self, key: object, line: int) -> None:
        super().__init__(key, line)
        self.key, self.line = key, line


class _Loader(yaml.CSafeLoader if yaml.__with_libyaml__ else yaml.SafeLoader):
    """Safe YAML without implicit dates (checked per entity instead) and with duplicate keys
    refused (PyYAML would silently keep the last one, dropping half of someone's aliases).
    Parsed by libyaml when PyYAML has it: the shipped watchlist in 17 ms instead of 71 ms, and
    every run loads it (twice on a new store: tagging and seeding)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[object] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise _DuplicateKey(key, key_node.start_mark.line + 1)
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _load_yaml(text: str, path: str) -> object:
    try:
        return yaml.load(text, Loader=_Loader)  # _Loader is a SafeLoader: no arbitrary objects
    except _DuplicateKey as error:
        problem = f"key {error.key!r} appears twice in the same entry; keep only one"
        raise ConfigError(path, f"line {error.line}", problem) from None
    except yaml.YAMLError as error:
        raise ConfigError(path, "", f"not valid YAML: {error}") from None


def _entity_list(document: object, path: str) -> list[object]:
    if not isinstance(document, Mapping):
        raise ConfigError(path, "", "expected a mapping with an 'entities' list at the top level")
    _refuse_unknown_keys(document, TOP_LEVEL_KEYS, path, "top level")
    entities = document.get("entities")
    if not isinstance(entities, list) or not entities:
        raise ConfigError(path, "entities", "must be a non-empty list of entities")
    return entities


def _refuse_unknown_keys(
    mapping: Mapping[object, object], allowed: Iterable[str], path: str, entry: str
) -> None:
    allowed = tuple(allowed)
    for key in mapping:
        if key not in allowed:
            close = difflib.get_close_matches(str(key), allowed, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            problem = f"unknown key {key!r}{hint}; allowed keys: {', '.join(allowed)}"
            raise ConfigError(path, entry, problem)


# ---------------------------------------------------------------------------------------------
# One entity


def _parse_entity(raw: object, index: int, path: str) -> Entity:
    entry = f"entities[{index}]"
    if not isinstance(raw, Mapping):
        raise ConfigError(path, entry, "each entity must be a mapping (id, kind, name, ...)")
    if isinstance(raw.get("id"), str) and raw["id"].strip():
        entry = f"entity {raw['id']!r}"
    _refuse_unknown_keys(raw, REQUIRED_KEYS + OPTIONAL_KEYS, path, entry)
    for key in REQUIRED_KEYS:
        if key not in raw:
            raise ConfigError(path, entry, f"missing required key {key!r}")
    kind = _text(raw, "kind", path, entry)
    if kind not in KINDS:
        raise ConfigError(path, entry, f"unknown kind {kind!r}; use one of: {', '.join(KINDS)}")
    entity = Entity(
        id=_entity_id(raw, kind, path, entry),
        kind=kind,
        name=_phrase(raw["name"], "name", path, entry),
        aliases=_phrases(raw, "aliases", path, entry),
        type=_actor_type(raw, kind, path, entry),
        country=_actor_country(raw, kind, path, entry),
        valid_from=_date(raw, "valid_from", path, entry),
        valid_to=_date(raw, "valid_to", path, entry),
        exclude=_phrases(raw, "exclude", path, entry),
        case_sensitive_aliases=_phrases(raw, "case_sensitive_aliases", path, entry),
        compound_prefixes=_phrases(raw, "compound_prefixes", path, entry),
        note=_text(raw, "note", path, entry) if "note" in raw else None,
    )
    if entity.valid_from and entity.valid_to and entity.valid_from > entity.valid_to:
        problem = f"valid_from {entity.valid_from} is after valid_to {entity.valid_to}"
        raise ConfigError(path, entry, f"{problem}; swap or correct them")
    _check_case_lists(entity, path, entry)
    _check_excludes(entity, path, entry)
    return entity


def _text(raw: Mapping[str, object], key: str, path: str, entry: str) -> str:
    value = raw.get(key)
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(path, entry, f"{key!r} must be a non-empty string (quote it if needed)")
    return value.strip()


def _entity_id(raw: Mapping[str, object], kind: str, path: str, entry: str) -> str:
    entity_id = _text(raw, "id", path, entry)
    if kind == COUNTRY and not COUNTRY_ID.fullmatch(entity_id):
        problem = "a country id is its ISO 3166-1 alpha-3 code in capitals, e.g. 'MLI'"
        raise ConfigError(path, entry, problem)
    if kind == ACTOR and not ACTOR_ID.fullmatch(entity_id):
        problem = "an actor id is lower-case kebab-case, e.g. 'boko-haram'"
        raise ConfigError(path, entry, problem)
    return entity_id


def _phrase(value: object, key: str, path: str, entry: str) -> str:
    """A phrase to match must fold to words, or it would match nothing or everything."""
    if not isinstance(value, str) or not value.strip():
        shown = "an empty entry" if value in ("", None) else f"{value!r}"
        problem = f"{key} holds {shown}; every entry must be a non-empty string (quote it)"
        raise ConfigError(path, entry, problem)
    folded = fold_key(value)
    if not folded or not (folded[0].isalnum() and folded[-1].isalnum()):
        problem = f"{key} entry {value!r} must start and end with a letter or a digit"
        raise ConfigError(path, entry, problem)
    return value.strip()


def _phrases(raw: Mapping[str, object], key: str, path: str, entry: str) -> tuple[str, ...]:
    if key not in raw:
        return ()
    values = raw[key]
    if not isinstance(values, list) or not values:
        problem = f"{key!r} must be a non-empty list of strings, or be left out"
        raise ConfigError(path, entry, problem)
    return tuple(_phrase(value, key, path, entry) for value in values)


def _actor_type(raw: Mapping[str, object], kind: str, path: str, entry: str) -> str | None:
    if "type" not in raw:
        return None
    _refuse_on_country(kind, "type", path, entry)
    actor_type = _text(raw, "type", path, entry)
    if actor_type not in ACTOR_TYPES:
        problem = f"unknown type {actor_type!r}; use one of: {', '.join(ACTOR_TYPES)}"
        raise ConfigError(path, entry, problem)
    return actor_type


def _actor_country(raw: Mapping[str, object], kind: str, path: str, entry: str) -> str | None:
    if "country" not in raw:
        return None
    _refuse_on_country(kind, "country", path, entry)
    return _text(raw, "country", path, entry)


def _refuse_on_country(kind: str, key: str, path: str, entry: str) -> None:
    if kind != ACTOR:
        raise ConfigError(path, entry, f"{key!r} applies to actors only; remove it")


def _date(raw: Mapping[str, object], key: str, path: str, entry: str) -> date | None:
    if key not in raw:
        return None
    value = raw[key]
    try:
        if isinstance(value, str) and ISO_DATE.fullmatch(value):
            return date.fromisoformat(value)
    except ValueError:
        pass
    raise ConfigError(path, entry, f"{key} {value!r} is not a date; write it as YYYY-MM-DD")


def _check_case_lists(entity: Entity, path: str, entry: str) -> None:
    """An alias listed both ways would be ambiguous: does "ue" count or not?"""
    case_sensitive = case_sensitive_keys(entity)
    for alias in entity.aliases:
        if fold_key(alias) in case_sensitive:
            problem = (
                f"alias {alias!r} is also in case_sensitive_aliases; "
                "keep it in only one of the two lists"
            )
            raise ConfigError(path, entry, problem)


def _check_excludes(entity: Entity, path: str, entry: str) -> None:
    """An exclude phrase suppresses this entity's hits inside it, so it must contain one."""
    keys = {fold_key(form) for form in _matched_forms(entity)}
    for phrase in entity.exclude:
        folded = fold_key(phrase)
        if folded in keys:
            problem = f"exclude phrase {phrase!r} is an alias itself and would suppress every hit"
            raise ConfigError(path, entry, problem)
        padded = f"{SEPARATOR}{folded}{SEPARATOR}"
        if not any(f"{SEPARATOR}{key}{SEPARATOR}" in padded for key in keys):
            problem = (
                f"exclude phrase {phrase!r} contains none of this entity's names or aliases, "
                "so it can never suppress anything; fix its spelling or remove it"
            )
            raise ConfigError(path, entry, problem)


def _matched_forms(entity: Entity) -> tuple[str, ...]:
    return (
        entity.name,
        *entity.aliases,
        *entity.case_sensitive_aliases,
        *entity.compound_prefixes,
    )


# ---------------------------------------------------------------------------------------------
# Across entities


def _check_unique_ids(entities: tuple[Entity, ...], path: str) -> None:
    seen: set[str] = set()
    for entity in entities:
        if entity.id in seen:
            raise ConfigError(path, f"entity {entity.id!r}", "duplicate id; ids must be unique")
        seen.add(entity.id)


def _check_actor_countries(entities: tuple[Entity, ...], path: str) -> None:
    countries = {entity.id for entity in entities if entity.kind == COUNTRY}
    for entity in entities:
        if entity.country is not None and entity.country not in countries:
            problem = (
                f"country {entity.country!r} is not the id of a country entity in this file; "
                "use an ISO alpha-3 id defined here, e.g. 'MLI'"
            )
            raise ConfigError(path, f"entity {entity.id!r}", problem)


def _check_alias_claims(entities: tuple[Entity, ...], path: str) -> None:
    """One folded form, one entity: otherwise which one a hit names would depend on luck."""
    claims: dict[str, tuple[str, str]] = {}
    for entity in entities:
        for form in _matched_forms(entity):
            key = fold_key(form)
            owner, owner_form = claims.setdefault(key, (entity.id, form))
            if owner != entity.id:
                problem = (
                    f"alias {form!r} is already claimed by entity {owner!r} (as {owner_form!r}; "
                    f"both fold to {key!r}); keep it on one entity only"
                )
                raise ConfigError(path, f"entity {entity.id!r}", problem)
