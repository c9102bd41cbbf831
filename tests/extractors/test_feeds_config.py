"""config/feeds.yaml: what it accepts, and errors that name the file, the entry and the fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from extractors.errors import ConfigError
from extractors.feeds_config import parse_feeds_config

REPO = Path(__file__).resolve().parents[2]
PATH = "config/feeds.yaml"


def parse(text: str):
    return parse_feeds_config(text, PATH)


def test_defaults_apply_to_every_feed_unless_overridden():
    config = parse("""
defaults: {poll_interval_minutes: 30}
feeds:
  - {name: Studio Tamani, url: "https://tamani.example/rss", country: MLI}
  - {name: Le Sahel, url: "https://sahel.example/rss", poll_interval_minutes: 15, enabled: false}
""")
    first, second = config.feeds
    assert (first.poll_interval_minutes, first.language, first.country) == (30, "fr", "MLI")
    assert (second.poll_interval_minutes, second.enabled) == (15, False)
    assert config.enabled_feeds == (first,)


def test_network_settings_are_read_with_their_types():
    config = parse("""
network: {min_host_delay: 2, allow_private_hosts: [127.0.0.1], user_agent: "x/1"}
feeds: [{name: A, url: "http://a.example/rss"}]
""")
    assert config.network.min_host_delay == 2.0
    assert config.network.allow_private_hosts == frozenset({"127.0.0.1"})
    assert config.network.user_agent == "x/1"


def test_network_proxy_is_read_and_checked():
    text = 'network: {proxy: "%s"}\nfeeds: [{name: A, url: "http://a.example/rss"}]'
    assert parse(text % "http://proxy.example:3128").network.proxy == "http://proxy.example:3128"
    with pytest.raises(ConfigError, match=r"network\.proxy.*http\(s\)://host:port URL or 'none'"):
        parse(text % "socks5://proxy.example:1080")


@pytest.mark.parametrize(
    "text,entry,fix",
    [
        ("feeds: []", "feeds", "non-empty list"),
        ("feeds: [{name: A}]", "feeds[0] (A)", "'url' must be an http(s) address"),
        ("feeds: [{name: A, url: 'ftp://a/rss'}]", "feeds[0] (A)", "http(s)"),
        ("feeds: [{url: 'http://a/rss'}]", "feeds[0]", "needs a 'name'"),
        ("feeds: [{name: A, url: 'http://a/rss', country: Mali}]", "feeds[0] (A)", "alpha-3"),
        (
            "feeds: [{name: A, url: 'http://a/rss', enabeld: true}]",
            "feeds[0] (A)",
            "unknown key(s) enabeld",
        ),
        (
            "feeds: [{name: A, url: 'http://a/rss', poll_interval_minutes: 1}]",
            "feeds[0] (A)",
            ">= 5",
        ),
        (
            "feeds: [{name: A, url: 'http://a/rss'}, {name: B, url: 'http://a/rss'}]",
            "feeds[1] (B)",
            "same url as feeds[0]",
        ),
        (
            "network: {max_retries: many}\nfeeds: [{name: A, url: 'http://a/rss'}]",
            "network.max_retries",
            "must be a int",
        ),
        (
            "network: {retries: 3}\nfeeds: [{name: A, url: 'http://a/rss'}]",
            "network",
            "unknown key(s) retries",
        ),
        ("version: 2\nfeeds: [{name: A, url: 'http://a/rss'}]", "version", "reads version 1"),
        (
            "network: {per_host_concurrency: 0}\nfeeds: [{name: A, url: 'http://a/rss'}]",
            "network.per_host_concurrency",
            "must be at least 1",
        ),
        ("feeds: [{name: A, url: 'http://a/rss'}", "", "not valid YAML"),
    ],
)
def test_invalid_config_names_file_entry_and_problem(text, entry, fix):
    with pytest.raises(ConfigError) as error:
        parse(text)
    message = str(error.value)
    assert message.startswith(f"{PATH}: {entry}" if entry else PATH)
    assert fix in message


def test_shipped_feed_list_is_valid_and_large_enough():
    config = parse_feeds_config(
        (REPO / "config" / "feeds.yaml").read_text("utf-8"), "config/feeds.yaml"
    )
    assert len(config.enabled_feeds) >= 20
    assert {"MLI", "NER", "BFA", "TCD", "MRT", "DZA", "SEN"} <= {f.country for f in config.feeds}
