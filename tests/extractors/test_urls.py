"""Canonical URLs: the same article behind different tracking is one address."""

from __future__ import annotations

import pytest

from extractors.urls import UnusableLink, absolute_url, canonical_url


@pytest.mark.parametrize(
    "raw,expected",
    [
        ("HTTP://WWW.Example.ORG/Article", "http://www.example.org/Article"),
        ("https://example.org:443/a", "https://example.org/a"),
        ("http://example.org:80/a", "http://example.org/a"),
        ("http://example.org:8080/a", "http://example.org:8080/a"),
        ("https://example.org/a#commentaires", "https://example.org/a"),
        ("https://example.org/a?utm_source=rss&utm_medium=feed", "https://example.org/a"),
        ("https://example.org/a?xtor=RSS-3&id=12", "https://example.org/a?id=12"),
        ("https://example.org/a?fbclid=abc&gclid=def&page=2", "https://example.org/a?page=2"),
        ("https://example.org", "https://example.org/"),
    ],
)
def test_canonical_url_drops_what_does_not_change_the_page(raw, expected):
    assert canonical_url(raw) == expected


@pytest.mark.parametrize(
    "raw,expected",
    [
        ("http://[::1]:8080/x", "http://[::1]:8080/x"),
        ("http://[::1]:80/x", "http://[::1]/x"),
        ("https://[2001:DB8::1]/a?utm_source=rss", "https://[2001:db8::1]/a"),
        ("http://[::ffff:127.0.0.1]:8080/", "http://[::ffff:127.0.0.1]:8080/"),
    ],
)
def test_ipv6_hosts_keep_their_brackets(raw, expected):
    assert canonical_url(raw) == expected
    assert canonical_url(expected) == expected  # canonical form is stable


def test_path_case_and_meaningful_parameters_are_kept():
    assert canonical_url("https://x.org/Mali/Article?id=7&lang=fr") == (
        "https://x.org/Mali/Article?id=7&lang=fr"
    )


def test_relative_link_is_resolved_against_the_feed():
    assert absolute_url("/politique/a.html", "https://x.org/rss.xml") == (
        "https://x.org/politique/a.html"
    )


@pytest.mark.parametrize(
    "link",
    [
        "",
        "   ",
        None,
        "javascript:void(0)",
        "mailto:redaction@x.org",
        "ftp://x.org/a",
        "http://[::1/article",
        "http://x.org:99999/a",
        "http://x.org:abc/a",
        "http://exa mple.org/a",
    ],
)
def test_unusable_links_are_refused_with_a_reason(link):
    with pytest.raises(UnusableLink):
        absolute_url(link, "https://x.org/rss.xml")
