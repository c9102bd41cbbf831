"""Polling schedule: failing feeds back off up to a cap and are never given up on."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from extractors import feed_schedule as fs
from extractors.feed_schedule import FeedState

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


def fail(state: FeedState, times: int) -> FeedState:
    for _ in range(times):
        state = fs.after_failure(state, NOW, HOUR, "HTTP 503")
    return state


def ok(state: FeedState, **kw) -> FeedState:
    args = dict(
        changed=True,
        new_items=1,
        etag='"v1"',
        last_modified=None,
        body_hash="h",
        unconditional=False,
    )
    return fs.after_success(state, NOW, HOUR, **{**args, **kw})


def test_new_feed_is_due_and_wants_an_unconditional_fetch():
    assert fs.is_due(None, NOW) and fs.wants_unconditional(None, NOW)


def test_failures_back_off_exponentially_up_to_the_cap():
    delays = [fail(FeedState("u"), n).next_poll_at - NOW for n in (1, 2, 3, 6, 20)]
    assert delays == [HOUR, 2 * HOUR, 4 * HOUR, fs.BACKOFF_CAP, fs.BACKOFF_CAP]


def test_a_feed_failing_for_weeks_is_still_polled_daily():
    state = fail(FeedState("u"), 50)
    assert state.next_poll_at - NOW == fs.BACKOFF_CAP and fs.is_dead(state)


def test_success_resets_failures_and_keeps_validators():
    state = ok(fail(FeedState("u"), 4))
    assert state.consecutive_failures == 0 and state.etag == '"v1"'
    assert state.next_poll_at == NOW + HOUR and not fs.is_dead(state)


def test_unchanged_poll_keeps_the_validators_it_had():
    state = ok(ok(FeedState("u")), changed=False, new_items=0, etag=None)
    assert state.etag == '"v1"' and state.last_status == "unchanged"


def test_unconditional_fetch_is_wanted_again_after_a_day():
    state = ok(FeedState("u"), unconditional=True)
    assert not fs.wants_unconditional(state, NOW + HOUR)
    assert fs.wants_unconditional(state, NOW + fs.UNCONDITIONAL_EVERY)


def test_reachable_feed_with_nothing_new_for_a_week_is_silent():
    state = ok(FeedState("u"))
    assert not fs.is_silent(state, NOW + timedelta(days=2))
    assert fs.is_silent(state, NOW + fs.SILENT_AFTER)


def test_incomplete_poll_forgets_validators_so_the_next_poll_parses_again():
    state = ok(ok(FeedState("u")), complete=False)
    assert (state.etag, state.last_modified, state.body_hash) == (None, None, None)
