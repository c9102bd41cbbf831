"""When a page whose fetch failed is tried again, and when it is given up on.

A dripping or hanging host costs a run its full timeout for each of its pages; trying it on every
run made one such host cost every run minutes. Pages back off like feeds (extractors/feed_schedule)
and, unlike feeds, are given up on: a page is one article, and after days it is old news.
"""

from __future__ import annotations

from datetime import datetime, timedelta

# Five failed runs spread over about a day (1 + 2 + 4 + 8 h of back-off between them) rule out a
# passing outage; the fifth failure is recorded as `gave_up`, a final reason.
MAX_FETCH_ATTEMPTS = 5
# The first retry waits an hour, each next one twice as long as the one before, at most a day.
RETRY_BASE = timedelta(hours=1)
RETRY_CAP = timedelta(hours=24)


def retry_due(failures: int, last_failed_at: datetime | None, now: datetime) -> bool:
    """True when a page that failed on `failures` runs, the last at `last_failed_at`, may be
    fetched again now."""
    if failures <= 0 or last_failed_at is None:
        return True
    delay = min(RETRY_BASE * (2 ** min(failures - 1, 16)), RETRY_CAP)
    return now >= last_failed_at + delay


def is_last_attempt(failures_before: int) -> bool:
    """True when failing now makes MAX_FETCH_ATTEMPTS failed runs: the page is given up on."""
    return failures_before + 1 >= MAX_FETCH_ATTEMPTS
