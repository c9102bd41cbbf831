"""The --since/--until window, and the sitemap entries it rules out before anything is fetched."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from extractors.date_window import (
    DateWindow,
    child_sitemap_is_outside,
    entry_is_outside,
    parse_window,
)
from extractors.errors import UsageError
from extractors.sitemaps import SitemapEntry, SitemapRef, parse_sitemap

MARCH = parse_window("2024-03-01", "2024-03-31")


def entry(lastmod: str | None = None, published: str | None = None) -> SitemapEntry:
    """An entry as the parser makes it from a sitemap with these dates."""
    parts = ["<loc>https://x.example/a</loc>"]
    if lastmod:
        parts.append(f"<lastmod>{lastmod}</lastmod>")
    if published:
        parts.append(
            f"<news:news><news:publication_date>{published}</news:publication_date></news:news>"
        )
    body = (
        '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"'
        ' xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">'
        f"<url>{''.join(parts)}</url></urlset>"
    ).encode()
    return parse_sitemap(body, "https://x.example/s.xml").entries[0]


def child(lastmod: str | None) -> SitemapRef:
    modified = f"<lastmod>{lastmod}</lastmod>" if lastmod else ""
    body = f"<sitemapindex><sitemap><loc>https://x.example/c.xml</loc>{modified}</sitemap>"
    return parse_sitemap(f"{body}</sitemapindex>".encode(), "https://x.example/").sitemaps[0]


def test_a_date_as_until_includes_that_whole_day() -> None:
    assert MARCH.contains(datetime(2024, 3, 31, 23, 59, 59, tzinfo=UTC))
    assert not MARCH.contains(datetime(2024, 4, 1, tzinfo=UTC))


def test_a_date_as_since_starts_at_its_midnight_utc() -> None:
    assert MARCH.contains(datetime(2024, 3, 1, tzinfo=UTC))
    assert not MARCH.contains(datetime(2024, 2, 29, 23, 59, 59, tzinfo=UTC))


def test_timestamps_keep_their_offset_and_naive_ones_are_utc() -> None:
    window = parse_window("2024-03-01T08:00:00+01:00", "2024-03-01T12:00:00")
    assert window.since == datetime(2024, 3, 1, 7, tzinfo=UTC)
    assert window.until == datetime(2024, 3, 1, 12, tzinfo=UTC)
    assert window.until.tzinfo is UTC


def test_undated_items_are_neither_in_nor_out() -> None:
    assert MARCH.contains(None) is None


def test_open_ends_admit_everything_on_that_side() -> None:
    window = parse_window(None, "2024-03-31")
    assert window.since is None
    assert window.contains(datetime(1999, 1, 1, tzinfo=UTC))
    assert parse_window(None, None).is_open


@pytest.mark.parametrize(
    ("since", "until", "option"),
    [("2024-13-01", None, "--since"), (None, "mars 2024", "--until"), ("hier", None, "--since")],
)
def test_bad_dates_are_one_line_usage_errors_naming_the_option(
    since: str | None, until: str | None, option: str
) -> None:
    with pytest.raises(UsageError) as caught:
        parse_window(since, until)
    assert str(caught.value).startswith(option)
    assert "\n" not in str(caught.value)


def test_since_after_until_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="after --until"):
        parse_window("2024-04-01", "2024-03-01")


def test_same_day_for_since_and_until_is_that_day() -> None:
    day = parse_window("2024-03-05", "2024-03-05")
    assert day.contains(datetime(2024, 3, 5, 18, tzinfo=UTC))


# --------------------------------------------------------------------------- the sitemap rule


def test_publication_date_outside_either_end_rules_the_entry_out() -> None:
    assert entry_is_outside(MARCH, entry(published="2024-02-20T10:00:00Z"))
    assert entry_is_outside(MARCH, entry(published="2024-04-02T10:00:00Z"))
    assert not entry_is_outside(MARCH, entry(published="2024-03-20T10:00:00Z"))


def test_publication_date_wins_over_lastmod() -> None:
    late_edit = entry(lastmod="2024-05-01T00:00:00Z", published="2024-03-10T00:00:00Z")
    early_lastmod = entry(lastmod="2024-01-01T00:00:00Z", published="2024-03-10T00:00:00Z")
    assert not entry_is_outside(MARCH, late_edit)
    assert not entry_is_outside(MARCH, early_lastmod)


def test_lastmod_before_since_rules_the_entry_out() -> None:
    assert entry_is_outside(MARCH, entry(lastmod="2024-02-28T12:00:00Z"))


def test_lastmod_after_until_keeps_the_entry_for_its_page_to_decide() -> None:
    # An article of March edited in May: its lastmod is after --until, its publication is not.
    assert not entry_is_outside(MARCH, entry(lastmod="2024-05-10T09:00:00Z"))


def test_undated_or_unreadably_dated_entries_are_kept() -> None:
    assert not entry_is_outside(MARCH, entry())
    assert not entry_is_outside(MARCH, entry(lastmod="la semaine dernière"))


def test_a_coarse_lastmod_is_outside_only_if_its_whole_period_is() -> None:
    since_mid_month = parse_window("2024-03-15", None)
    assert not entry_is_outside(since_mid_month, entry(lastmod="2024-03"))
    assert entry_is_outside(since_mid_month, entry(lastmod="2024-02"))


def test_a_zoneless_date_next_to_since_is_given_the_benefit_of_the_doubt() -> None:
    # "2024-02-29" in Niamey or in Nouméa may already be 1 March in UTC terms… or not.
    window = parse_window("2024-03-01T10:00:00Z", None)
    assert not entry_is_outside(window, entry(lastmod="2024-02-29"))
    assert entry_is_outside(window, entry(lastmod="2024-02-27"))


def test_an_open_window_rules_nothing_out() -> None:
    assert not entry_is_outside(DateWindow(None, None), entry(published="1999-01-01"))


def test_child_sitemap_modified_before_since_is_skipped() -> None:
    assert child_sitemap_is_outside(MARCH, child("2024-02-10T00:00:00Z"))


def test_child_sitemap_modified_after_until_is_still_read() -> None:
    assert not child_sitemap_is_outside(MARCH, child("2024-06-01T00:00:00Z"))
    assert not child_sitemap_is_outside(MARCH, child(None))


def test_the_rule_never_skips_an_article_published_inside_the_window() -> None:
    for day in range(31):
        published = datetime(2024, 3, 1, 6, tzinfo=UTC) + timedelta(days=day)
        for edited_after in (timedelta(0), timedelta(hours=1), timedelta(days=90)):
            modified = (published + edited_after).isoformat()
            dated = entry(lastmod=modified, published=published.isoformat())
            assert not entry_is_outside(MARCH, entry(lastmod=modified)), modified
            assert not entry_is_outside(MARCH, dated), modified
