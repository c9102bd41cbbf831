"""Hypothesis over every parser of outside bytes: feeds, pages (extraction and charsets),
sitemaps, WARC files, URLs, watchlist YAML, and the tagger. No exception escapes the error
hierarchy (extractors/errors.py, or the
function's documented result), and well-formed items among garbage are all kept.

`make test` runs a few examples, derandomized; `make faults` many more (HYPOTHESIS_PROFILE=faults).
Inputs that once failed live in tests/fixtures/fuzz/ (`<parser>-<name>.bin`) and are replayed.
"""

from __future__ import annotations

import io
import os
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from extractors.article import FetchedItem, process_batch
from extractors.encoding import decode_html
from extractors.errors import SahelwatchError
from extractors.feed_entries import FeedEntry, parse_feed
from extractors.models import Document, Origin, Skip
from extractors.sitemaps import parse_sitemap
from extractors.tagger import Tagger
from extractors.urls import UnusableLink, absolute_url, canonical_url
from extractors.warc_pages import iter_warc_pages
from extractors.watchlist import parse_watchlist

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "fixtures" / "fuzz"
WATCHLIST_TEXT = (REPO / "config" / "watchlist.yaml").read_text("utf-8")
FEED_URL = "https://sahel.example/rss.xml"
settings.register_profile(
    "ci",
    max_examples=50,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "faults", max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
# What each parser may raise on bad input: its documented refusals, nothing else.
ALLOWED = {
    "feed": (SahelwatchError,),
    "sitemap": (SahelwatchError,),
    "warc": (SahelwatchError,),
    "url": (UnusableLink,),
    "watchlist": (SahelwatchError,),
}
XMLISH = st.one_of(
    st.binary(max_size=2000),
    st.text(alphabet="<>/&;=\"' ?!abcdefghilmnoprstuvwx[]CDATA-\n\u00e9", max_size=800).map(
        str.encode
    ),
)


def feed_bytes(body: bytes) -> None:
    parse_feed(body, FEED_URL, "application/rss+xml")


def sitemap_bytes(body: bytes) -> None:
    parse_sitemap(body, "https://sahel.example/sitemap.xml")


def warc_bytes(body: bytes) -> None:
    for _ in iter_warc_pages(io.BytesIO(body), name="fuzz.warc"):
        pass


def url_text(text: str) -> None:
    canonical_url(absolute_url(text, FEED_URL))


def watchlist_text(text: str) -> None:
    parse_watchlist(text, "fuzz.yaml")


PARSERS = {
    "feed": feed_bytes,
    "sitemap": sitemap_bytes,
    "warc": warc_bytes,
    "url": lambda b: url_text(b.decode("utf-8", "replace")),
    "watchlist": lambda b: watchlist_text(b.decode("utf-8", "replace")),
}


def survives(kind: str, body: bytes) -> None:
    try:
        PARSERS[kind](body)
    except ALLOWED[kind]:
        pass


@given(XMLISH)
def test_any_feed_bytes_parse_or_are_refused_in_the_hierarchy(body):
    survives("feed", body)


@given(XMLISH)
def test_any_sitemap_bytes_parse_or_are_refused_in_the_hierarchy(body):
    survives("sitemap", body)


@given(st.one_of(st.binary(max_size=2000), st.sampled_from([b"WARC/1.0\r\n", b"\x1f\x8b\x08"])))
def test_any_warc_bytes_are_read_or_refused_in_the_hierarchy(body):
    survives("warc", body)


@given(st.text(max_size=300))
def test_any_link_is_made_absolute_and_canonical_or_refused_as_unusable(text):
    try:
        url = canonical_url(absolute_url(text, FEED_URL))
    except UnusableLink:
        return
    assert canonical_url(url) == url  # canonical of canonical changes nothing


@given(st.text(max_size=600))
def test_any_watchlist_text_is_parsed_or_refused_with_a_config_error(text):
    survives("watchlist", text.encode())


@given(st.integers(min_value=0, max_value=len(WATCHLIST_TEXT)), st.text(max_size=40))
def test_a_watchlist_with_a_random_edit_is_parsed_or_refused_with_a_config_error(at, insert):
    survives("watchlist", (WATCHLIST_TEXT[:at] + insert + WATCHLIST_TEXT[at:]).encode())


TAGGER = Tagger(parse_watchlist(WATCHLIST_TEXT, "watchlist.yaml"))


@given(st.text(max_size=2000))
def test_the_tagger_tags_any_text_with_mentions_inside_it(text):
    for mention in TAGGER.tag(text):
        assert 0 <= mention.first_offset < max(len(text), 1)
        assert mention.count >= 1


@given(
    st.integers(min_value=1, max_value=20),
    st.lists(st.text(alphabet="<>&;abc /\u00e9\x00", max_size=30), min_size=1, max_size=20),
)
def test_every_well_formed_item_among_garbage_is_kept(count, garbage):
    """Items whose text is garbage (escaped), and garbage after the feed, lose no item."""
    junk = [g.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;") for g in garbage]
    items = "".join(
        f"<item><title>t{n}</title><link>https://sahel.example/a/{n}</link>"
        f"<description>{junk[n % len(junk)]}</description></item>"
        for n in range(count)
    )
    body = (
        f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>T</title>'
        f"{items}</channel></rss>"
    ).encode() + "".join(garbage).encode()
    parsed = parse_feed(body, FEED_URL, "application/rss+xml")
    links = [e.link for e in parsed.entries]
    assert links == [f"https://sahel.example/a/{n}" for n in range(count)]


@pytest.mark.parametrize(
    "fixture", sorted(FIXTURES.glob("*.bin")), ids=lambda p: p.name if hasattr(p, "name") else p
)
def test_inputs_that_once_failed_still_parse_or_are_refused(fixture):
    kind = fixture.name.split("-", 1)[0]
    survives(kind, fixture.read_bytes())


HTMLISH = st.one_of(
    st.binary(max_size=3000),
    st.text(alphabet="<>/=\"' abcdehilmnoprstuvy\n\u00e9\u00e0\u2019;&#:-", max_size=1500).map(
        lambda t: f"<html><head><title>{t[:40]}</title></head><body><p>{t}</p>".encode()
    ),
)


@given(
    HTMLISH,
    st.sampled_from(
        [
            None,
            "text/html",
            "text/html; charset=latin-1",
            "text/html; charset=nonsense",
            "application/pdf",
        ]
    ),
)
def test_any_page_bytes_become_a_document_or_a_skip_with_a_reason(body, content_type):
    """The worker's entry point never raises: a bad page is a `Skip`, never a lost item."""
    item = FetchedItem(
        "https://sahel.example/a",
        "https://sahel.example/a",
        "https://sahel.example/a",
        body,
        content_type,
        datetime(2025, 3, 1, tzinfo=UTC),
        FeedEntry("https://sahel.example/a", None, None, None, "", "", None),
        "Sahel",
        FEED_URL,
        Origin.FEED,
        "run",
    )
    (result,) = process_batch([item], datetime(2025, 3, 2, tzinfo=UTC))
    assert isinstance(result, Document | Skip)


@given(st.binary(max_size=2000), st.one_of(st.none(), st.text(max_size=30)))
def test_any_bytes_decode_under_any_declared_charset(body, charset):
    text, used = decode_html(body, charset)
    assert isinstance(text, str) and used
