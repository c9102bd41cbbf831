"""Walking a paged feed back in time: the URL of page N and when to stop.

A feed shows only its latest items; WordPress (and many CMSs copying it) serves older ones at
`?paged=2`, `?paged=3`… and answers 404 past the last page. Some servers ignore the parameter and
send page 1 again, so a page that repeats the previous one ends the walk too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from extractors.date_window import DateWindow
from extractors.feed_entries import FeedEntry

# WordPress's query parameter for feed pages (`/feed/?paged=2`).
PAGE_PARAM = "paged"
# At 10 items a page (WordPress's default), 500 pages is 5,000 items, years of a daily outlet;
# a server that pages forever (a calendar, a search) must not keep a backfill busy for ever.
MAX_FEED_PAGES = 500


class StopReason(StrEnum):
    EMPTY = "empty"  # the page has no entries
    ALL_OLDER = "all_older_than_since"  # every dated entry is older than --since
    REPEATED = "repeats_previous_page"  # same links as the page before: ?paged is ignored
    MAX_PAGES = "max_pages"  # MAX_FEED_PAGES reached
    # Not decided here, named so the caller reports it alike: page N answered 404 (the end).
    NOT_FOUND = "not_found"


@dataclass(frozen=True, slots=True)
class PageVerdict:
    go_on: bool  # fetch the next page
    reason: StopReason | None  # why the walk stops; None while it goes on


def page_url(feed_url: str, n: int, param: str = PAGE_PARAM) -> str:
    """Page `n` (1 = the feed itself) with the feed's other query parameters kept in order."""
    if n < 1:
        raise ValueError(f"feed pages are numbered from 1, got {n}")
    parts = urlsplit(feed_url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != param]
    if n > 1:
        query.append((param, str(n)))
    return urlunsplit(parts._replace(query=urlencode(query)))


def page_links(entries: Sequence[FeedEntry]) -> frozenset[str]:
    """The links of a page, to compare with the next page's."""
    return frozenset(e.link for e in entries if e.link)


def judge_page(
    entries: Sequence[FeedEntry],
    previous_links: frozenset[str] | None,
    window: DateWindow,
    page_number: int,
    max_pages: int = MAX_FEED_PAGES,
) -> PageVerdict:
    """Whether to fetch page `page_number + 1` after reading page `page_number`.

    The entries of the page itself are still the caller's to keep (those inside the window);
    this only says whether older pages can hold more.
    """
    if not entries:
        return PageVerdict(False, StopReason.EMPTY)
    links = page_links(entries)
    if previous_links is not None and links and links <= previous_links:
        return PageVerdict(False, StopReason.REPEATED)
    if window.since is not None and all(
        e.published is not None and e.published < window.since for e in entries
    ):
        return PageVerdict(False, StopReason.ALL_OLDER)
    if page_number >= max_pages:
        return PageVerdict(False, StopReason.MAX_PAGES)
    return PageVerdict(True, None)
