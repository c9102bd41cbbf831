"""What reaches trafilatura is capped, link-less items get keys of their own, and failed pages
back off then are given up: the pure rules behind the flow tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from extractors import page_retry
from extractors.article import MAX_ELEMENTS, MAX_MARKUP_DEPTH, markup_excess
from extractors.models import unlinked_item_keys

PAGES = Path(__file__).resolve().parents[1] / "fixtures" / "pages"


def test_real_pages_pass_the_markup_caps():
    for page in PAGES.glob("*.html"):
        assert markup_excess(page.read_text("utf-8", errors="replace")) is None, page.name


def test_too_many_elements_or_too_deep_markup_is_refused_with_its_measure():
    assert str(MAX_ELEMENTS + 1) in markup_excess("<p>x" * (MAX_ELEMENTS + 1))
    assert str(MAX_MARKUP_DEPTH + 1) in markup_excess("<div>" * (MAX_MARKUP_DEPTH + 1))
    assert markup_excess("<div>" * MAX_MARKUP_DEPTH) is None
    # Closed elements do not add up, and <p>s left open are closed by the parser anyway.
    assert markup_excess("<div><span>a</span></div>" * (MAX_MARKUP_DEPTH * 2)) is None
    assert markup_excess("<p>a" * (MAX_MARKUP_DEPTH * 2)) is None


def test_depth_counts_tags_in_any_case_and_stray_end_tags_do_not_dig_below_the_top():
    too_deep = MAX_MARKUP_DEPTH + 1
    assert str(too_deep) in markup_excess("<DIV class=x>" * too_deep)
    assert str(too_deep) in markup_excess("<Span>" * 3 + "</sPaN>" * 3 + "<section\n>" * too_deep)
    # Unmatched end tags first would hide a deep nest if the level could go negative.
    assert str(too_deep) in markup_excess("</div>" * 500 + "<div>" * too_deep)
    assert markup_excess("</div>" * 500 + "<div>" * MAX_MARKUP_DEPTH) is None
    # Non-ASCII text does not fold into tag names (U+017F is "s" only to a Unicode case-folder).
    assert markup_excess("<\u017fpan>" * too_deep) is None


def test_link_less_items_are_told_apart_by_a_unique_guid_else_by_position():
    keys = unlinked_item_keys(["a", None, "b", "b", "c"])
    assert keys == ["guid:a", "entry:2", "entry:3", "entry:4", "guid:c"]
    assert len(set(keys)) == len(keys)


def test_a_failed_page_waits_longer_after_each_failure_then_is_given_up():
    now = datetime(2026, 3, 1, tzinfo=UTC)
    assert page_retry.retry_due(0, None, now)
    waits = []
    for failures in range(1, page_retry.MAX_FETCH_ATTEMPTS):
        assert not page_retry.retry_due(failures, now, now + page_retry.RETRY_BASE / 2)
        wait = next(
            h
            for h in range(1, 100)
            if page_retry.retry_due(failures, now, now + timedelta(hours=h))
        )
        waits.append(wait)
    assert waits == sorted(waits) and waits[-1] > waits[0]
    assert max(waits) <= page_retry.RETRY_CAP / timedelta(hours=1)
    last = [page_retry.is_last_attempt(n) for n in range(page_retry.MAX_FETCH_ATTEMPTS)]
    assert last == [False] * (page_retry.MAX_FETCH_ATTEMPTS - 1) + [True]
