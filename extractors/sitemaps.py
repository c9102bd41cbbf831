"""Sitemaps (sitemaps.org 0.9, Google News, plain text) to frozen entries, read safely.

A sitemap is untrusted XML from the network: entities are never expanded (no billion laughs, no
external files), no DTD or network access happens, and a gzip body is inflated with a cap so a
small bomb cannot become gigabytes. Dates are kept with the span they can stand for, because a
`lastmod` of "2024-03" says less than one of "2024-03-05T10:00:00+00:00" and the date-window rule
must not skip an entry on a guess (see extractors/date_window.py).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal, TypeVar

from lxml import etree

from extractors.errors import SourceError
from extractors.gunzip import gunzip_capped, is_gzip
from extractors.urls import UnusableLink, absolute_url

# The sitemaps protocol's own limit: "no larger than 50MB (52,428,800 bytes)" uncompressed.
MAX_SITEMAP_BYTES = 50 * 1024 * 1024
SITEMAP_NS = "http://www.sitemaps.org/schemas/sitemap/0.9"
NEWS_NS = "http://www.google.com/schemas/sitemap-news/0.9"
# A date or time written without an offset is in the site's unknown local time: anywhere from
# UTC-12 to UTC+14. Its span is widened by this much on each side.
UNKNOWN_ZONE_SLACK = timedelta(hours=14)
# W3C datetime (https://www.w3.org/TR/NOTE-datetime): YYYY, YYYY-MM, YYYY-MM-DD, then optional
# Thh:mm[:ss[.s]] and an offset. A space instead of T and a missing offset are common; accepted.
_W3C = re.compile(
    r"^(?P<y>\d{4})(?:-(?P<m>\d{2})(?:-(?P<d>\d{2})"
    r"(?:[T ](?P<H>\d{2}):(?P<M>\d{2})(?::(?P<S>\d{2})(?:[.,](?P<f>\d+))?)?"
    r"\s*(?P<tz>Z|[+-]\d{2}:?\d{2})?)?)?)?$"
)
_MICRO = 6
_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class DateSpan:
    """The instants a written date can mean: "2024-03" spans the month, a full timestamp is one."""

    earliest: datetime  # UTC
    latest: datetime  # UTC


@dataclass(frozen=True, slots=True)
class SitemapEntry:
    loc: str  # absolute http(s) URL
    lastmod: datetime | None  # UTC; the start of the period when only a year/month/day is given
    news_publication_date: datetime | None  # UTC, same convention
    news_title: str | None
    lastmod_span: DateSpan | None = None  # what `lastmod` can mean, for the window rule
    news_publication_span: DateSpan | None = None


@dataclass(frozen=True, slots=True)
class SitemapRef:
    """A child sitemap named by a sitemap index."""

    loc: str
    lastmod: datetime | None
    lastmod_span: DateSpan | None = None


@dataclass(frozen=True, slots=True)
class Sitemap:
    url: str
    kind: Literal["urlset", "index"]
    entries: tuple[SitemapEntry, ...]  # a urlset's pages (empty for an index)
    sitemaps: tuple[SitemapRef, ...]  # an index's child sitemaps (empty for a urlset)
    unusable: int  # <loc> values that are missing or not http(s) URLs, left out
    warning: str | None  # why the XML was malformed, when lxml had to recover


def parse_sitemap(body: bytes, url: str) -> Sitemap:
    """Raises SourceError when the body is not a sitemap at all or is over the size cap."""
    data = _inflate(body, url)
    text_start = data.lstrip(b"\xef\xbb\xbf \t\r\n")
    if not text_start:
        raise SourceError(url, "not a sitemap: the body is empty")
    if not text_start.startswith(b"<"):
        return _parse_text(data, url)
    return _parse_xml(data, url)


def parse_w3c_datetime(value: str | None) -> DateSpan | None:
    """A W3C datetime as the UTC instants it can mean; None when it is not one."""
    match = _W3C.match((value or "").strip())
    if match is None:
        return None
    g = match.groupdict()
    try:
        start = datetime(int(g["y"]), int(g["m"] or 1), int(g["d"] or 1), tzinfo=UTC)
        if g["H"] is not None:
            frac = int((g["f"] or "0")[:_MICRO].ljust(_MICRO, "0"))
            start = start.replace(hour=int(g["H"]), minute=int(g["M"]), second=int(g["S"] or 0))
            start = start.replace(microsecond=frac)
    except ValueError:
        return None  # month 13, hour 25, 30 February
    end = _period_end(start, g)
    if g["tz"] is None:
        return DateSpan(start - UNKNOWN_ZONE_SLACK, end + UNKNOWN_ZONE_SLACK)
    offset = _offset(g["tz"])
    return DateSpan(start - offset, end - offset)


def _period_end(start: datetime, g: dict[str, str | None]) -> datetime:
    """The last microsecond of the year, month, day, minute or second written."""
    if g["m"] is None:
        after = start.replace(year=start.year + 1) if start.year < 9999 else start
    elif g["d"] is None:
        after = start.replace(year=start.year + start.month // 12, month=start.month % 12 + 1)
    elif g["H"] is None:
        after = start + timedelta(days=1)
    elif g["S"] is None:
        after = start + timedelta(minutes=1)
    elif g["f"] is None:
        after = start + timedelta(seconds=1)
    else:
        return start
    return after - timedelta(microseconds=1)


def _offset(tz: str) -> timedelta:
    if tz == "Z":
        return timedelta(0)
    digits = tz[1:].replace(":", "")
    delta = timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
    return -delta if tz[0] == "-" else delta


def _nominal(span: DateSpan | None, value: str | None) -> datetime | None:
    """The value as written, read as UTC when it has no offset: the start of its period."""
    if span is None:
        return None
    has_zone = _W3C.match((value or "").strip()).group("tz") is not None  # type: ignore[union-attr]
    return span.earliest if has_zone else span.earliest + UNKNOWN_ZONE_SLACK


def _inflate(body: bytes, url: str) -> bytes:
    """Gunzip when the bytes say gzip (servers often do not), never past MAX_SITEMAP_BYTES."""
    if is_gzip(body):
        return gunzip_capped(body, MAX_SITEMAP_BYTES, url)
    if len(body) > MAX_SITEMAP_BYTES:
        raise SourceError(url, f"sitemap is larger than the {MAX_SITEMAP_BYTES}-byte cap")
    return body


def _parse_text(data: bytes, url: str) -> Sitemap:
    """The protocol's plain-text form: one URL per line, UTF-8."""
    locs: list[str] = []
    unusable = 0
    for line in data.decode("utf-8", errors="replace").splitlines():
        line = line.strip().lstrip("\ufeff")
        if not line:
            continue
        if not re.match(r"^https?://", line, re.I):
            unusable += 1
            continue
        locs.append(line)
    if not locs:
        raise SourceError(url, "not a sitemap: neither XML nor lines of http(s) URLs")
    entries = tuple(SitemapEntry(loc, None, None, None) for loc in locs)
    return Sitemap(url, "urlset", entries, (), unusable, None)


def _xml_parser() -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        huge_tree=False,
        load_dtd=False,
        dtd_validation=False,
        recover=True,
        remove_comments=True,
        remove_pis=True,
    )


def _parse_xml(data: bytes, url: str) -> Sitemap:
    parser = _xml_parser()
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        raise SourceError(url, f"not a sitemap: unreadable XML ({exc})") from exc
    if root is None:
        raise SourceError(url, "not a sitemap: unreadable XML")
    warning = _first_error(parser)
    name = etree.QName(root).localname.lower()
    if name == "urlset":
        entries, unusable = _entries(root, url)
        return Sitemap(url, "urlset", entries, (), unusable, warning)
    if name == "sitemapindex":
        refs, unusable = _refs(root, url)
        return Sitemap(url, "index", (), refs, unusable, warning)
    raise SourceError(url, f"not a sitemap: the root element is <{name}>")


def _first_error(parser: etree.XMLParser) -> str | None:
    errors = [e for e in parser.error_log if e.level >= etree.ErrorLevels.ERROR]
    if not errors:
        return None
    first = errors[0]
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"malformed XML, recovered: line {first.line}: {first.message}{more}"


def _children(element: etree._Element, name: str) -> list[etree._Element]:
    """Children by local name, so the 0.9 namespace, no namespace and odd ones all work."""
    return [c for c in element if isinstance(c.tag, str) and etree.QName(c).localname == name]


def _child_text(element: etree._Element, name: str) -> str | None:
    for child in _children(element, name):
        text = "".join(child.itertext()).strip()
        if text:
            return text
    return None


def _loc(element: etree._Element, base: str) -> str | None:
    try:
        return absolute_url(_child_text(element, "loc"), base)
    except UnusableLink:
        return None


def _entries(root: etree._Element, base: str) -> tuple[tuple[SitemapEntry, ...], int]:
    return _collect(root, "url", base, _entry)


def _refs(root: etree._Element, base: str) -> tuple[tuple[SitemapRef, ...], int]:
    return _collect(root, "sitemap", base, _ref)


def _collect(
    root: etree._Element, name: str, base: str, build: Callable[[etree._Element, str], _T]
) -> tuple[tuple[_T, ...], int]:
    """The `name` children that have a usable <loc>, and how many did not."""
    items: list[_T] = []
    unusable = 0
    for element in _children(root, name):
        loc = _loc(element, base)
        if loc is None:
            unusable += 1
        else:
            items.append(build(element, loc))
    return tuple(items), unusable


def _entry(element: etree._Element, loc: str) -> SitemapEntry:
    lastmod = _child_text(element, "lastmod")
    news = _children(element, "news")
    pub = _child_text(news[0], "publication_date") if news else None
    title = _child_text(news[0], "title") if news else None
    lastmod_span, pub_span = parse_w3c_datetime(lastmod), parse_w3c_datetime(pub)
    return SitemapEntry(
        loc=loc,
        lastmod=_nominal(lastmod_span, lastmod),
        news_publication_date=_nominal(pub_span, pub),
        news_title=" ".join(title.split()) if title else None,
        lastmod_span=lastmod_span,
        news_publication_span=pub_span,
    )


def _ref(element: etree._Element, loc: str) -> SitemapRef:
    lastmod = _child_text(element, "lastmod")
    span = parse_w3c_datetime(lastmod)
    return SitemapRef(loc, _nominal(span, lastmod), span)
