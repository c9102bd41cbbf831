"""Feed polling state: saved once per feed, read back exactly."""

from __future__ import annotations

from dataclasses import fields, replace
from datetime import UTC, datetime, timedelta

from extractors.feed_schedule import FeedState
from storage import feed_state

# Each behaviour holds on a DuckDB file and on a DuckLake alike (tests/storage/conftest.py).
STORE_BACKENDS = ("duckdb", "ducklake")

POLLED = datetime(2026, 12, 7, 6, 30, 15, 123456, tzinfo=UTC)


def a_state(url: str, **changes) -> FeedState:
    state = FeedState(
        feed_url=url,
        source="Le Sahélien",
        etag='W/"abc"',
        last_modified="Mon, 07 Dec 2026 06:00:00 GMT",
        body_hash="f" * 64,
        last_status="ok",
        last_error=None,
        consecutive_failures=0,
        polls=3,
        last_polled_at=POLLED,
        last_success_at=POLLED,
        last_new_item_at=None,
        last_unconditional_at=POLLED - timedelta(days=1),
        next_poll_at=POLLED + timedelta(minutes=30),
    )
    return replace(state, **changes)


def test_states_read_back_exactly_as_saved(store):
    saved = [a_state("http://a.example/rss"), a_state("http://b.example/rss", etag=None, polls=0)]
    with store.write() as con:
        feed_state.save_states(con, saved)
    with store.read() as con:
        loaded = feed_state.load_states(con)
    assert {url: replace(s, **_utc(s)) for url, s in loaded.items()} == {
        s.feed_url: s for s in saved
    }


def test_saving_again_replaces_each_feeds_row_and_keeps_the_others(store):
    with store.write() as con:
        feed_state.save_states(
            con, [a_state("http://a.example/rss"), a_state("http://b.example/rss")]
        )
    newer = a_state("http://a.example/rss", polls=4, last_status="failed", consecutive_failures=1)
    with store.write() as con:
        feed_state.save_states(con, [a_state("http://a.example/rss", polls=9), newer])
    with store.read() as con:
        loaded = feed_state.load_states(con)
        (rows,) = con.execute("SELECT count(*) FROM feed_state").fetchone()
    assert rows == 2
    assert loaded["http://a.example/rss"].polls == 4  # the last state given for a feed wins
    assert loaded["http://b.example/rss"].polls == 3


def _utc(state: FeedState) -> dict:
    """The same instants in UTC: DuckDB hands TIMESTAMPTZ back in the session's time zone."""
    values = {f.name: getattr(state, f.name) for f in fields(state)}
    return {k: v.astimezone(UTC) for k, v in values.items() if isinstance(v, datetime)}
