"""One fetched item to a Document or a Skip: extraction, text choice, date and language.

This runs in worker processes (it is the CPU-heavy part of ingestion), so its input and output
are plain picklable dataclasses and it does no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import trafilatura
from trafilatura.meta import reset_caches

from extractors.dates import choose_published
from extractors.encoding import declared_charset, decode_html
from extractors.feed_entries import FeedEntry
from extractors.language import detect_language
from extractors.models import Document, Origin, Skip, SkipReason, TextSource
from extractors.text import content_hash, document_id

# A page text below this many words is probably a teaser, a video page or a paywall stub: the
# feed's own content is then preferred when it is longer. Two-sentence briefs (~30 words) pass.
MIN_PAGE_WORDS = 25
# A full-text feed entry more than twice as long as the page's extraction means the extractor
# caught the page's furniture (a video player's captions, share buttons), not the article.
FEED_OVER_PAGE_RATIO = 2.0
_HTML_TYPES = ("text/html", "application/xhtml+xml")
# trafilatura costs ~90 µs of CPU per element (a 5 MiB page of `<p>Texte ` took 55 s and 1 GiB):
# a page with more elements than this is not read. News pages have a few thousand; long live
# blogs stay under 20,000; 40,000 costs at most ~4 s.
MAX_ELEMENTS = 40_000
# libxml2 itself stops at 256 levels; real pages stay under 40. Deeper markup is a trap.
MAX_MARKUP_DEPTH = 256
_START_TAG = re.compile(r"<[A-Za-z]")
# Start and end tags of elements that nest (no void element, none closed implicitly by the next
# sibling as <p>, <li> or <td> are): enough to bound the depth the parser will build. Matched on
# the page's lower-cased UTF-8 bytes: the same tags as a case-insensitive search of the text, at
# a third of the cost (on 85 KB pages, 0.4 ms instead of 1.2 ms; this check had cost 8% of the
# extraction workers' CPU).
_NESTING_TAG = re.compile(
    rb"<(/?)(?:div|span|section|article|aside|main|nav|header|footer|table|ul|ol|dl|blockquote"
    rb"|form|fieldset|figure|a|b|i|u|em|strong|small|font|center|q|s|sub|sup|label|button)[\s>]"
)


# Servers that answer 200 with an error page: short texts (under MIN_PAGE_WORDS words) that say
# so. A real brief that merely mentions "erreur" is longer or does not start with the message.
_ERROR_PAGE = re.compile(
    r"^\W*(?:erreur|error)\s*(?:[45]\d\d)\b|\b(?:page|article)\s+(?:introuvable|non trouvée|"
    r"inexistante)\b|\bnot found\b|\bservice (?:indisponible|temporairement indisponible|"
    r"unavailable)\b|\baccès (?:refusé|interdit)\b|\bforbidden\b|\ben (?:cours de )?maintenance\b",
    re.IGNORECASE,
)


# trafilatura, htmldate and courlan keep LRU caches that grow with every page; dropping them
# ends in a full gc.collect() of about 100 ms. Done after every batch (of 4 pages) it was a third
# of a worker's time; every 100 pages it costs about 1 ms a page and the memory stays flat.
CACHE_PURGE_PAGES = 100
_pages_since_purge = 0  # in this process (each pool worker counts its own)


def is_error_page(title: str | None, text: str) -> bool:
    """A short page whose title or text is an HTTP error message, not an article."""
    if len(text.split()) >= MIN_PAGE_WORDS:
        return False
    return any(_ERROR_PAGE.search(part or "") for part in (title, text))


@dataclass(frozen=True, slots=True)
class FetchedItem:
    """What a worker needs to turn one feed item into a document: no sockets, just bytes."""

    url: str
    canonical_url: str
    final_url: str
    body: bytes | None  # None when the page could not be fetched but the feed text may do
    content_type: str | None
    fetched_at: datetime
    entry: FeedEntry
    source: str
    feed_url: str
    origin: Origin
    run_id: str
    discovered_by: str | None = None  # 'kind:locator' of the source that found the page


class PageBoundExceeded(BaseException):
    """A page used up its CPU-time bound (raised by the worker's timer, see
    flows/extraction_pool.py). A BaseException, so that the extractors' own `except Exception`
    clauses cannot swallow it and carry on with the bomb."""


# Wraps the extraction of one page: the worker's CPU-time bound; nothing outside a worker.
PageGuard = Callable[[], AbstractContextManager[object]]


@dataclass(frozen=True, slots=True)
class PageText:
    text: str
    title: str | None
    author: str | None
    html: str | None
    refused: str | None = None  # why the page was not given to trafilatura (markup_excess)


def build_document(item: FetchedItem, now: datetime) -> Document | Skip:
    page = extract_page(item)
    text, text_source = choose_text(page.text, item.entry)
    if not text:
        if item.body is not None and not _is_html(item.content_type, item.body):
            return _skip(item, SkipReason.NOT_HTML, f"{item.content_type} and no text in the feed")
        if page.refused:
            return _skip(item, SkipReason.TOO_COMPLEX, f"{page.refused} and no text in the feed")
        return _skip(item, SkipReason.NO_TEXT, "no text in the page nor in the feed entry")
    if is_error_page(page.title, text):
        return _skip(item, SkipReason.ERROR_PAGE, f"an error page: {text[:80]!r}")
    guess = detect_language(f"{item.entry.title or page.title or ''}\n{text}")
    if not guess.is_french:
        return _skip(item, SkipReason.NOT_FRENCH, f"detected {guess.language} ({guess.score:.2f})")
    published, published_source = choose_published(item.entry.published, page.html, now)
    return Document(
        id=document_id(item.canonical_url),
        url=item.url,
        canonical_url=item.canonical_url,
        source=item.source,
        feed_url=item.feed_url,
        title=item.entry.title or page.title,
        author=page.author or item.entry.author,
        published_at=published,
        published_source=published_source,
        fetched_at=item.fetched_at,
        language=guess.language,
        language_score=guess.score,
        text=text,
        text_source=text_source,
        content_hash=content_hash(text),
        origin=item.origin,
        run_id=item.run_id,
        discovered_by=item.discovered_by,
    )


def extract_page(item: FetchedItem) -> PageText:
    if item.body is None or not _is_html(item.content_type, item.body):
        return PageText("", None, None, None)
    html, _ = decode_html(item.body, declared_charset(item.content_type))
    refused = markup_excess(html)
    if refused:
        return PageText("", None, None, None, refused)
    result = trafilatura.bare_extraction(
        html,
        url=item.final_url,
        with_metadata=True,
        include_comments=False,
        date_extraction_params={"extensive_search": False},
    )
    if result is None:
        return PageText("", None, None, html)
    return PageText((result.text or "").strip(), result.title, result.author, html)


def markup_excess(html: str) -> str | None:
    """Why this markup would cost trafilatura far more than a news page does, or None."""
    if html.count("<") > MAX_ELEMENTS:  # a bound on the elements, counted for pages past it
        elements = len(_START_TAG.findall(html))
        if elements > MAX_ELEMENTS:
            return f"{elements} elements (more than {MAX_ELEMENTS})"
    deepest = _deepest_nesting(html)
    if deepest > MAX_MARKUP_DEPTH:
        return f"markup nested {deepest} deep (more than {MAX_MARKUP_DEPTH})"
    return None


def _deepest_nesting(html: str) -> int:
    """The deepest level of nesting tags, a stray end tag never going below 0.

    The level clamped at 0 is the running sum of +1 (start) and -1 (end) less the lowest that
    sum has reached below 0 so far, so numpy computes it for the whole page at once.
    """
    tags = _NESTING_TAG.findall(html.encode("utf-8", "surrogatepass").lower())
    if not tags:
        return 0
    level = np.cumsum(np.where(np.array(tags) == b"", 1, -1))
    return int((level - np.minimum.accumulate(np.minimum(level, 0))).max())


def choose_text(page_text: str, entry: FeedEntry) -> tuple[str, TextSource | None]:
    """The page's text when it is substantial; else the longest the feed offers; briefs stay."""
    candidates = [
        (page_text, TextSource.PAGE),
        (entry.content_text, TextSource.FEED_CONTENT),
        (entry.summary_text, TextSource.FEED_SUMMARY),
    ]
    page_words = len(page_text.split())
    feed_words = max(len(entry.content_text.split()), len(entry.summary_text.split()))
    if page_words >= MIN_PAGE_WORDS and feed_words <= FEED_OVER_PAGE_RATIO * page_words:
        return page_text, TextSource.PAGE
    text, source = max(candidates, key=lambda c: len(c[0].split()))
    return (text, source) if text.strip() else ("", None)


def process_batch(
    items: list[FetchedItem], now: datetime, guard: PageGuard = nullcontext
) -> list[Document | Skip]:
    """Worker entry point: one batch of items, each page within `guard` (the worker's bounds);
    extraction caches are dropped every CACHE_PURGE_PAGES pages."""
    global _pages_since_purge
    try:
        return [_safe_build(item, now, guard) for item in items]
    finally:
        _pages_since_purge += len(items)
        if _pages_since_purge >= CACHE_PURGE_PAGES:
            reset_caches()
            _pages_since_purge = 0


def _safe_build(item: FetchedItem, now: datetime, guard: PageGuard) -> Document | Skip:
    try:
        with guard():
            return build_document(item, now)
    except PageBoundExceeded as exc:
        return skip_for(item, SkipReason.EXTRACTION_TIMEOUT, str(exc))
    except MemoryError:  # the worker's address-space bound: the page, not the worker, fails
        return skip_for(item, SkipReason.EXTRACTION_TIMEOUT, "memory bound exceeded")
    except Exception as exc:  # one bad page must not sink its batch; it is recorded, not lost
        return _skip(item, SkipReason.EXTRACTION_ERROR, f"{type(exc).__name__}: {exc}"[:500])


def _is_html(content_type: str | None, body: bytes) -> bool:
    if content_type:
        return content_type.split(";")[0].strip().lower() in _HTML_TYPES
    return b"<html" in body[:2048].lower()


def skip_for(item: FetchedItem, reason: SkipReason, detail: str) -> Skip:
    """The skip row of an item that did not become a document."""
    return _skip(item, reason, detail)


def _skip(item: FetchedItem, reason: SkipReason, detail: str) -> Skip:
    return Skip(
        item.url, item.canonical_url, item.feed_url, item.source, reason, detail, item.discovered_by
    )
