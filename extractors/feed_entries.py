"""Feed bytes to entries, with feedparser: a malformed feed still yields what it can."""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import UTC, datetime

import feedparser
import lxml.html

# Tags after which a line break belongs when feed HTML is flattened to text.
_BLOCK_END = re.compile(r"(?i)</(p|div|h[1-6]|li|blockquote|tr)>|<br\s*/?>")
_BLANKS = re.compile(r"[ \t\u00a0]+")
_NEWLINES = re.compile(r"\s*\n\s*")
# Servers often send feeds as text/html or with no type at all; the XML itself is fine.
_HARMLESS = (feedparser.NonXMLContentType,)


@dataclass(frozen=True, slots=True)
class FeedEntry:
    link: str | None
    title: str | None
    author: str | None
    published: datetime | None  # UTC, as the feed says; plausibility is checked later
    content_text: str  # content:encoded / Atom content, flattened to text ('' if none)
    summary_text: str  # description / summary, flattened to text ('' if none)
    guid: str | None


@dataclass(frozen=True, slots=True)
class ParsedFeed:
    title: str | None
    entries: tuple[FeedEntry, ...]
    warning: str | None  # why feedparser found the feed malformed, when it did
    is_feed: bool  # False when nothing feed-like was found at all (an HTML page, garbage)


def parse_feed(body: bytes, url: str, content_type: str | None = None) -> ParsedFeed:
    headers = {"content-location": url}
    if content_type:
        headers["content-type"] = content_type
    parsed = feedparser.parse(body, response_headers=headers, sanitize_html=True)
    warning = None
    exc = parsed.get("bozo_exception")
    if parsed.get("bozo") and not isinstance(exc, _HARMLESS):
        warning = f"{type(exc).__name__}: {exc}" if exc else "malformed feed"
    entries = tuple(_entry(e) for e in parsed.entries)
    is_feed = bool(entries) or bool(parsed.get("version")) or bool(parsed.feed.get("title"))
    return ParsedFeed(parsed.feed.get("title"), entries, warning, is_feed)


def _entry(raw: feedparser.FeedParserDict) -> FeedEntry:
    content = " ".join(c.get("value", "") for c in raw.get("content", []) or [])
    return FeedEntry(
        link=raw.get("link") or _first_alternate(raw),
        title=_clean(raw.get("title")),
        author=_clean(raw.get("author")),
        published=_utc(raw.get("published_parsed") or raw.get("updated_parsed")),
        content_text=html_to_text(content),
        summary_text=html_to_text(raw.get("summary", "")),
        guid=raw.get("id"),
    )


def _first_alternate(raw: feedparser.FeedParserDict) -> str | None:
    for link in raw.get("links", []) or []:
        if link.get("href") and link.get("rel", "alternate") == "alternate":
            return link["href"]
    return None


def _utc(parsed_time) -> datetime | None:
    if not parsed_time:
        return None
    try:
        return datetime.fromtimestamp(calendar.timegm(parsed_time), tz=UTC)
    except (OverflowError, ValueError, OSError):
        return None


def _clean(value: str | None) -> str | None:
    if not value:
        return None
    value = " ".join(value.split())
    return value or None


def html_to_text(html: str) -> str:
    """Flatten feed HTML to text with paragraph breaks kept; plain text passes through."""
    if not html or not html.strip():
        return ""
    if "<" not in html:
        return _NEWLINES.sub("\n", _BLANKS.sub(" ", html)).strip()
    try:
        fragment = lxml.html.fragment_fromstring(
            _BLOCK_END.sub("\\g<0>\n", html), create_parent="div"
        )
    except (lxml.etree.ParserError, ValueError):
        return ""
    text = fragment.text_content()
    return _NEWLINES.sub("\n", _BLANKS.sub(" ", text)).strip()
