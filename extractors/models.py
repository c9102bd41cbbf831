"""The records that flow from extraction to the store."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from extractors.network_settings import is_retryable_status


class Origin(StrEnum):
    SEED = "seed"
    FEED = "feed"
    BACKFILL = "backfill"


class TextSource(StrEnum):
    """Where a document's text came from: the page is preferred, the feed is the fallback."""

    SEED = "seed"
    PAGE = "page"
    FEED_CONTENT = "feed_content"
    FEED_SUMMARY = "feed_summary"


class SkipReason(StrEnum):
    """Why a fetched item did not become a document. Each one is a row in `skipped`."""

    NO_LINK = "no_link"  # the feed entry has no link at all
    BAD_LINK = "bad_link"  # a link we cannot or must not fetch (mailto:, javascript:, ftp:)
    BLOCKED_ADDRESS = (
        "blocked_address"  # resolves to a loopback/private address off the feed's origin
    )
    ROBOTS = "robots_disallowed"
    FETCH_FAILED = "fetch_failed"  # timeouts, connection errors, 429/5xx after every retry
    HTTP_ERROR = "http_error"  # a final 4xx answer: the page is gone or forbidden
    TOO_LARGE = "too_large"
    NOT_HTML = "not_html"  # a PDF, an image: nothing to extract and no feed text either
    NO_TEXT = "no_text"  # neither the page nor the feed entry had usable text
    NOT_FRENCH = "not_french"
    EXTRACTION_ERROR = "extraction_error"  # the extractor failed on this page (a bug)
    # The page took more than its CPU-time or memory bound to extract (a cost bomb), or killed
    # its worker: final, the same bytes would cost the same again.
    EXTRACTION_TIMEOUT = "extraction_timeout"
    TOO_COMPLEX = "too_complex"  # more elements or deeper markup than a news page ever has
    GAVE_UP = "gave_up"  # a page whose fetch failed on MAX_FETCH_ATTEMPTS runs: not tried again
    ERROR_PAGE = "error_page"  # a 200 answer whose short page is an error message ("Erreur 500")
    OUTSIDE_WINDOW = "outside_window"  # a backfill page whose own date is outside --since/--until
    UNREADABLE = "unreadable"  # an archived page that cannot be read (corrupt WARC record, file)


# A page that failed for one of these may work next time: it is fetched again on a later run.
RETRYABLE_SKIPS = frozenset(
    {SkipReason.FETCH_FAILED, SkipReason.EXTRACTION_ERROR, SkipReason.ERROR_PAGE}
)
# Failures of the server, not of the page: they count towards the page's back-off and give-up.
SERVER_FAILURE_SKIPS = frozenset({SkipReason.FETCH_FAILED, SkipReason.ERROR_PAGE})

# The fetcher's error kinds that say the page itself is unusable rather than unreachable.
_FETCH_ERROR_SKIPS = {
    "robots_disallowed": SkipReason.ROBOTS,
    "blocked_address": SkipReason.BLOCKED_ADDRESS,
    "bad_scheme": SkipReason.BAD_LINK,
    "too_large": SkipReason.TOO_LARGE,
}


def skip_reason_for_fetch(error_kind: str | None, status: int | None) -> SkipReason:
    """A final 4xx means the page is gone; 429 and 5xx after retries may pass another day."""
    if error_kind == "http_status":
        retryable = status is not None and is_retryable_status(status)
        return SkipReason.FETCH_FAILED if retryable else SkipReason.HTTP_ERROR
    return _FETCH_ERROR_SKIPS.get(error_kind or "", SkipReason.FETCH_FAILED)


@dataclass(frozen=True, slots=True)
class Document:
    """One accepted document, ready for the `documents` table."""

    id: str
    url: str
    canonical_url: str
    source: str | None
    feed_url: str | None
    title: str | None
    author: str | None
    published_at: datetime | None
    published_source: str | None
    fetched_at: datetime | None
    language: str
    language_score: float
    text: str
    text_source: TextSource
    content_hash: str
    origin: Origin
    run_id: str | None
    discovered_by: str | None = None  # 'kind:locator' of the source that found it


@dataclass(frozen=True, slots=True)
class Skip:
    """One item that did not become a document, and why: nothing is dropped silently."""

    url: str
    canonical_url: str | None
    feed_url: str | None
    source: str | None
    reason: SkipReason
    detail: str
    discovered_by: str | None = None
    # Tells apart the items of one source that have no usable link (see unlinked_item_keys);
    # None for items known by their URL.
    item_key: str | None = None


def unlinked_item_keys(guids: Sequence[str | None]) -> list[str]:
    """Keys for a feed's link-less entries: the guid when the feed gives it to one entry only
    (stable across runs), else the entry's 1-based position (all that tells them apart)."""
    counts = Counter(g for g in guids if g)
    return [f"guid:{g}" if g and counts[g] == 1 else f"entry:{n}" for n, g in enumerate(guids, 1)]
