"""The --since/--until window of a backfill, and which sitemap entries it rules out unfetched.

Both ends are inclusive and in UTC. A date given as `--since` starts at its midnight; a date given
as `--until` includes that whole day (up to its last microsecond), because "until 2024-03-31"
means the 31st too. A timestamp without an offset is UTC.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time

from extractors.errors import UsageError
from extractors.sitemaps import DateSpan, SitemapEntry, SitemapRef

# A bare calendar date: a whole day, not the instant at its midnight.
_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_LAST_MICROSECOND = time(23, 59, 59, 999999)


@dataclass(frozen=True, slots=True)
class DateWindow:
    since: datetime | None  # aware UTC, inclusive; None: no lower bound
    until: datetime | None  # aware UTC, inclusive; None: no upper bound

    def contains(self, dt: datetime | None) -> bool | None:
        """None for an undated item: the caller decides (usually: fetch and let the page say)."""
        if dt is None:
            return None
        dt = dt if dt.tzinfo is not None else dt.replace(tzinfo=UTC)
        if self.since is not None and dt < self.since:
            return False
        return not (self.until is not None and dt > self.until)

    @property
    def is_open(self) -> bool:
        """True when neither end is set: nothing can be outside it."""
        return self.since is None and self.until is None


def parse_window(since: str | None, until: str | None) -> DateWindow:
    """The CLI's --since/--until; UsageError (one line) for a bad value or since after until."""
    start = _parse_bound(since, "--since", end_of_day=False)
    end = _parse_bound(until, "--until", end_of_day=True)
    if start is not None and end is not None and start > end:
        raise UsageError(
            f"--since {since} is after --until {until}; give the earlier date as --since"
        )
    return DateWindow(start, end)


def _parse_bound(value: str | None, option: str, *, end_of_day: bool) -> datetime | None:
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        if _DATE_ONLY.match(text):
            day = date.fromisoformat(text)
            return datetime.combine(day, _LAST_MICROSECOND if end_of_day else time(), UTC)
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise UsageError(
            f"{option} {value!r} is not a date; use an ISO date (2024-03-01) "
            "or timestamp (2024-03-01T08:00:00+01:00)"
        ) from None
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def entry_is_outside(window: DateWindow, entry: SitemapEntry) -> bool:
    """True only when the sitemap itself proves the page was not published inside the window.

    The rule, applied before any page is fetched:
    1. `news:publication_date` is a publication date: the entry is outside when that date lies
       wholly before `since` or wholly after `until`.
    2. Otherwise `lastmod`, which is a *modification* date, and a page is modified at or after
       its publication. A lastmod before `since` means the page was published before `since`
       too: outside. A lastmod after `until` proves nothing (an old article edited later):
       the entry is kept and the page's own date decides.
    3. An entry with neither date, or with an unreadable one, is kept.
    "Wholly" accounts for coarse and zoneless dates: "2024-03" is the whole of March, and a
    time without an offset may be in any zone from UTC-12 to UTC+14 (see sitemaps.DateSpan).
    """
    if entry.news_publication_span is not None:
        span = entry.news_publication_span
        return _before_since(window, span) or _after_until(window, span)
    if entry.lastmod_span is not None:
        return _before_since(window, entry.lastmod_span)
    return False


def child_sitemap_is_outside(window: DateWindow, ref: SitemapRef) -> bool:
    """True when a sitemap index says a child sitemap was last modified before `since`.

    A sitemap last changed before `since` can only list pages published before it; a child
    modified after `until` may still hold older pages, so it is read.
    """
    return ref.lastmod_span is not None and _before_since(window, ref.lastmod_span)


def _before_since(window: DateWindow, span: DateSpan) -> bool:
    return window.since is not None and span.latest < window.since


def _after_until(window: DateWindow, span: DateSpan) -> bool:
    return window.until is not None and span.earliest > window.until
