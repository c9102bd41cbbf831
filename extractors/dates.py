"""Choosing `published_at` from the clues an item offers, in a fixed, documented order.

1. the feed entry's date (the outlet's own statement, with time of day);
2. the page's publication metadata (article:published_time, JSON-LD datePublished, itemprop);
3. htmldate's heuristics over the whole page (dates in URLs, bylines, text).
A clue is used only if plausible: not before 1990 (no Sahel news site predates it, and a
1970-01-01 is a broken epoch) and not more than a day in the future (time zones, clock skew).
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

from htmldate import find_date

EARLIEST_PLAUSIBLE = datetime(1990, 1, 1, tzinfo=UTC)
FUTURE_TOLERANCE = timedelta(days=1)

_META_DATE = re.compile(
    r"""<meta[^>]+(?:property|name|itemprop)\s*=\s*["'](?:article:published_time|"""
    r"""datePublished|og:published_time|publication_date|date)["'][^>]*>""",
    re.I,
)
_CONTENT = re.compile(r"""content\s*=\s*["']([^"']+)["']""", re.I)
_JSON_LD_DATE = re.compile(r'"datePublished"\s*:\s*("[^"]+")')


def is_plausible(moment: datetime | None, now: datetime) -> bool:
    return moment is not None and EARLIEST_PLAUSIBLE <= moment <= now + FUTURE_TOLERANCE


def choose_published(
    feed_date: datetime | None, html: str | None, now: datetime
) -> tuple[datetime | None, str | None]:
    """(published_at in UTC, which clue gave it: 'feed', 'page', 'htmldate'), or (None, None)."""
    if is_plausible(feed_date, now):
        return feed_date, "feed"
    if not html:
        return None, None
    page_date = page_metadata_date(html)
    if is_plausible(page_date, now):
        return page_date, "page"
    guessed = htmldate_guess(html, now)
    if is_plausible(guessed, now):
        return guessed, "htmldate"
    return None, None


def page_metadata_date(html: str) -> datetime | None:
    for tag in _META_DATE.finditer(html):
        content = _CONTENT.search(tag.group(0))
        if content and (moment := _parse_iso(content.group(1))):
            return moment
    for match in _JSON_LD_DATE.finditer(html):
        try:
            moment = _parse_iso(json.loads(match.group(1)))
        except ValueError:
            continue
        if moment:
            return moment
    return None


def htmldate_guess(html: str, now: datetime) -> datetime | None:
    try:
        found = find_date(
            html,
            extensive_search=True,
            original_date=True,
            max_date=(now + FUTURE_TOLERANCE).strftime("%Y-%m-%d"),
        )
    except (ValueError, TypeError):
        return None
    return _parse_iso(found) if found else None


def _parse_iso(value: str) -> datetime | None:
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)
