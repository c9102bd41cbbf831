"""When to poll a feed next, and how a run judges a feed's health.

A failing feed backs off exponentially up to a cap and is never given up on: outlets in the
region go dark for days (power cuts, blocked domains) and come back.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

# A day between attempts at most: a feed back online is picked up within a day.
BACKOFF_CAP = timedelta(hours=24)
# Once a day the feed is fetched without validators, in case a server answers 304 wrongly.
UNCONDITIONAL_EVERY = timedelta(hours=24)
# Three failures in a row rule out a passing glitch: the run report calls the feed dead.
DEAD_AFTER_FAILURES = 3
# A news feed with nothing new for a week has probably moved or frozen.
SILENT_AFTER = timedelta(days=7)


@dataclass(frozen=True, slots=True)
class FeedState:
    feed_url: str
    source: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    body_hash: str | None = None
    last_status: str | None = None  # ok, unchanged, failed
    last_error: str | None = None
    consecutive_failures: int = 0
    polls: int = 0
    last_polled_at: datetime | None = None
    last_success_at: datetime | None = None
    last_new_item_at: datetime | None = None
    last_unconditional_at: datetime | None = None
    next_poll_at: datetime | None = None


def is_due(state: FeedState | None, now: datetime) -> bool:
    return state is None or state.next_poll_at is None or state.next_poll_at <= now


def wants_unconditional(state: FeedState | None, now: datetime) -> bool:
    if state is None or state.last_unconditional_at is None:
        return True
    return now - state.last_unconditional_at >= UNCONDITIONAL_EVERY


def after_success(
    state: FeedState,
    now: datetime,
    interval: timedelta,
    *,
    changed: bool,
    new_items: int,
    etag: str | None,
    last_modified: str | None,
    body_hash: str | None,
    unconditional: bool,
    complete: bool = True,
) -> FeedState:
    """State after a poll that got an answer.

    `complete` is False when some items of the feed were left for later (a --limit, a page that
    failed for a reason worth retrying): the validators and body hash are then forgotten, so the
    next poll parses the feed again instead of calling it unchanged and never coming back to them.
    """
    if not complete:
        etag = last_modified = body_hash = None
    elif not changed:
        etag, last_modified = state.etag or etag, state.last_modified or last_modified
        body_hash = body_hash or state.body_hash
    return replace(
        state,
        etag=etag,
        last_modified=last_modified,
        body_hash=body_hash,
        last_status="ok" if changed else "unchanged",
        last_error=None,
        consecutive_failures=0,
        polls=state.polls + 1,
        last_polled_at=now,
        last_success_at=now,
        last_new_item_at=now if new_items else state.last_new_item_at,
        last_unconditional_at=now if unconditional else state.last_unconditional_at,
        next_poll_at=now + interval,
    )


def after_failure(state: FeedState, now: datetime, interval: timedelta, error: str) -> FeedState:
    failures = state.consecutive_failures + 1
    # The exponent is bounded so a feed failing for months cannot overflow the timedelta.
    delay = min(interval * (2 ** min(failures - 1, 16)), BACKOFF_CAP)
    return replace(
        state,
        last_status="failed",
        last_error=error,
        consecutive_failures=failures,
        polls=state.polls + 1,
        last_polled_at=now,
        next_poll_at=now + delay,
    )


def is_dead(state: FeedState) -> bool:
    return state.consecutive_failures >= DEAD_AFTER_FAILURES


def is_silent(state: FeedState, now: datetime) -> bool:
    """Reachable but nothing new for a long time (measured from the first success if never)."""
    if state.last_success_at is None:
        return False
    since = state.last_new_item_at or state.last_success_at
    return now - since >= SILENT_AFTER and state.consecutive_failures == 0
