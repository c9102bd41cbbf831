"""Walking a paged feed back to --since: page URLs, and every reason the walk stops."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from extractors.date_window import parse_window
from extractors.feed_entries import FeedEntry
from extractors.feed_pages import (
    MAX_FEED_PAGES,
    StopReason,
    judge_page,
    page_links,
    page_url,
)

FEED = "https://hebdo.example/feed/"
WINDOW = parse_window("2024-03-01", "2024-03-31")


def entries(*days_before_april: int, prefix: str = "a") -> list[FeedEntry]:
    """Entries dated that many days before 1 April 2024, with distinct links."""
    april = datetime(2024, 4, 1, 12, tzinfo=UTC)
    return [
        FeedEntry(
            f"https://hebdo.example/{prefix}{i}/",
            "t",
            None,
            april - timedelta(days=d),
            "",
            "",
            None,
        )
        for i, d in enumerate(days_before_april)
    ]


def test_page_one_is_the_feed_itself() -> None:
    assert page_url(FEED, 1) == FEED


def test_later_pages_add_paged_and_keep_the_other_parameters() -> None:
    assert page_url(FEED, 2) == FEED + "?paged=2"
    assert page_url(FEED + "?cat=12&paged=7", 3) == FEED + "?cat=12&paged=3"


def test_another_page_parameter_can_be_named() -> None:
    assert page_url("https://x.example/rss.xml?lang=fr", 4, param="page") == (
        "https://x.example/rss.xml?lang=fr&page=4"
    )


def test_page_numbers_start_at_one() -> None:
    with pytest.raises(ValueError):
        page_url(FEED, 0)


def test_a_page_with_entries_inside_the_window_goes_on() -> None:
    verdict = judge_page(entries(2, 5, 9), None, WINDOW, page_number=1)
    assert verdict.go_on
    assert verdict.reason is None


def test_an_empty_page_stops_the_walk() -> None:
    assert judge_page([], None, WINDOW, 3).reason is StopReason.EMPTY


def test_a_page_older_than_since_throughout_stops_the_walk() -> None:
    verdict = judge_page(entries(40, 45, 50), None, WINDOW, 4)
    assert not verdict.go_on
    assert verdict.reason is StopReason.ALL_OLDER


def test_a_page_straddling_since_goes_on() -> None:
    assert judge_page(entries(20, 40), None, WINDOW, 4).go_on


def test_undated_entries_do_not_count_as_old() -> None:
    undated = [FeedEntry("https://hebdo.example/x/", "t", None, None, "", "", None)]
    assert judge_page(entries(40) + undated, None, WINDOW, 2).go_on


def test_a_page_repeating_the_previous_one_stops_the_walk() -> None:
    first = entries(1, 2, 3)
    verdict = judge_page(first, page_links(first), WINDOW, 2)
    assert verdict.reason is StopReason.REPEATED


def test_a_page_with_new_links_is_not_a_repeat() -> None:
    first, second = entries(1, 2), entries(3, 4, prefix="b")
    assert judge_page(second, page_links(first), WINDOW, 2).go_on


def test_the_walk_stops_at_the_page_limit() -> None:
    assert judge_page(entries(1), None, WINDOW, MAX_FEED_PAGES).reason is StopReason.MAX_PAGES
    assert judge_page(entries(1), None, WINDOW, 5, max_pages=5).reason is StopReason.MAX_PAGES
    assert judge_page(entries(1), None, WINDOW, 4, max_pages=5).go_on


def test_without_since_the_walk_goes_to_the_end() -> None:
    assert judge_page(entries(400), None, parse_window(None, "2024-03-31"), 9).go_on
