"""`config/feeds.yaml`: the sources to poll and how politely to fetch them, validated.

Every error names the file, the entry (`feeds[3] (RFI Afrique)`) and what to change.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields
from typing import Any
from urllib.parse import urlsplit

import yaml

from extractors.errors import ConfigError
from extractors.network_settings import NetworkSettings, settings_problems

SUPPORTED_VERSION = 1
_FEED_KEYS = {"name", "url", "country", "language", "enabled", "poll_interval_minutes"}
_DEFAULT_KEYS = {"language", "enabled", "poll_interval_minutes"}
_TOP_KEYS = {"version", "defaults", "network", "feeds"}
_ISO3 = re.compile(r"^[A-Z]{3}$")
_LANGUAGE = re.compile(r"^[a-z]{2,3}$")
DEFAULT_POLL_MINUTES = 60
# Polling a feed more often than every 5 minutes is impolite and never needed for news.
MIN_POLL_MINUTES = 5
_HOST_LIST_KEYS = {"ignore_robots_for", "allow_private_hosts"}


@dataclass(frozen=True, slots=True)
class FeedSource:
    name: str
    url: str
    country: str | None = None
    language: str = "fr"
    enabled: bool = True
    poll_interval_minutes: int = DEFAULT_POLL_MINUTES


@dataclass(frozen=True, slots=True)
class FeedsConfig:
    feeds: tuple[FeedSource, ...]
    network: NetworkSettings

    @property
    def enabled_feeds(self) -> tuple[FeedSource, ...]:
        return tuple(f for f in self.feeds if f.enabled)


def parse_feeds_config(text: str, path: str) -> FeedsConfig:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(path, "", f"is not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(path, "", "must be a mapping with a 'feeds:' list")
    _check_keys(path, "top level", data, _TOP_KEYS)
    version = data.get("version", SUPPORTED_VERSION)
    if version != SUPPORTED_VERSION:
        raise ConfigError(path, "version", f"is {version!r}; this sahelwatch reads version 1")
    defaults = data.get("defaults") or {}
    if not isinstance(defaults, dict):
        raise ConfigError(path, "defaults", "must be a mapping")
    _check_keys(path, "defaults", defaults, _DEFAULT_KEYS)
    raw_feeds = data.get("feeds")
    if not isinstance(raw_feeds, list) or not raw_feeds:
        raise ConfigError(path, "feeds", "must be a non-empty list of {name, url} entries")
    feeds = tuple(_parse_feed(path, i, entry, defaults) for i, entry in enumerate(raw_feeds))
    _check_unique_urls(path, feeds)
    return FeedsConfig(feeds, parse_network(path, data.get("network") or {}))


def parse_network(path: str, raw: Any) -> NetworkSettings:
    if not isinstance(raw, dict):
        raise ConfigError(path, "network", "must be a mapping of fetch settings")
    allowed = {f.name: f for f in fields(NetworkSettings)}
    _check_keys(path, "network", raw, set(allowed))
    values: dict[str, Any] = {}
    defaults = NetworkSettings()
    for key, value in raw.items():
        entry = f"network.{key}"
        if key in _HOST_LIST_KEYS:
            if not isinstance(value, list) or not all(isinstance(h, str) and h for h in value):
                raise ConfigError(path, entry, "must be a list of host names, e.g. [example.org]")
            values[key] = frozenset(h.lower() for h in value)
            continue
        expected = type(getattr(defaults, key))
        if expected is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, expected) or isinstance(value, bool):
            raise ConfigError(path, entry, f"must be a {expected.__name__}, got {value!r}")
        if expected in (int, float) and value < 0:
            raise ConfigError(path, entry, f"must be zero or more, got {value!r}")
        values[key] = value
    settings = NetworkSettings(**values)
    for name, problem in settings_problems(settings):
        raise ConfigError(path, f"network.{name}", problem)
    return settings


def _parse_feed(path: str, index: int, entry: Any, defaults: dict) -> FeedSource:
    label = f"feeds[{index}]"
    if not isinstance(entry, dict):
        raise ConfigError(path, label, "must be a mapping with at least 'name' and 'url'")
    if isinstance(entry.get("name"), str):
        label += f" ({entry['name']})"
    _check_keys(path, label, entry, _FEED_KEYS)
    merged = {**defaults, **entry}
    name, url = merged.get("name"), merged.get("url")
    if not isinstance(name, str) or not name.strip():
        raise ConfigError(path, label, "needs a 'name' (the outlet, stored as documents.source)")
    if not isinstance(url, str) or urlsplit(url).scheme not in ("http", "https"):
        raise ConfigError(path, label, f"'url' must be an http(s) address, got {url!r}")
    if not urlsplit(url).hostname:
        raise ConfigError(path, label, f"'url' has no host: {url!r}")
    country = merged.get("country")
    if country is not None and (not isinstance(country, str) or not _ISO3.match(country)):
        raise ConfigError(
            path, label, f"'country' must be an ISO 3166-1 alpha-3 code like MLI, got {country!r}"
        )
    language = merged.get("language", "fr")
    if not isinstance(language, str) or not _LANGUAGE.match(language):
        raise ConfigError(path, label, f"'language' must be a code like fr, got {language!r}")
    enabled = merged.get("enabled", True)
    if not isinstance(enabled, bool):
        raise ConfigError(path, label, f"'enabled' must be true or false, got {enabled!r}")
    minutes = merged.get("poll_interval_minutes", DEFAULT_POLL_MINUTES)
    if isinstance(minutes, bool) or not isinstance(minutes, int) or minutes < MIN_POLL_MINUTES:
        raise ConfigError(
            path,
            label,
            f"'poll_interval_minutes' must be a whole number >= "
            f"{MIN_POLL_MINUTES}, got {minutes!r}",
        )
    return FeedSource(name.strip(), url.strip(), country, language, enabled, minutes)


def _check_keys(path: str, entry: str, data: dict, allowed: set[str]) -> None:
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise ConfigError(
            path,
            entry,
            f"unknown key(s) {', '.join(map(str, unknown))}; allowed: {', '.join(sorted(allowed))}",
        )


def _check_unique_urls(path: str, feeds: tuple[FeedSource, ...]) -> None:
    seen: dict[str, int] = {}
    for i, feed in enumerate(feeds):
        if feed.url in seen:
            raise ConfigError(
                path,
                f"feeds[{i}] ({feed.name})",
                f"same url as feeds[{seen[feed.url]}]; remove one of them",
            )
        seen[feed.url] = i
