"""The parsers read the generated archives (tests/support/archive_fixtures.py) exactly as their
manifests say: the figures the backfill tests will rely on."""

from __future__ import annotations

import io
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from extractors.date_window import child_sitemap_is_outside, entry_is_outside, parse_window
from extractors.feed_entries import parse_feed
from extractors.feed_pages import StopReason, judge_page, page_links, page_url
from extractors.robots import sitemap_urls_from_robots
from extractors.saved_pages import is_saved_page, saved_page_bytes, saved_page_url
from extractors.sitemaps import parse_sitemap
from extractors.warc_pages import WarcPage, WarcPassed, iter_warc_pages
from tests.support.archive_fixtures import (
    MAX_WORDS,
    MIN_WORDS,
    make_articles,
    serve_outlet_site,
    serve_paged_feed,
    write_saved_pages,
    write_warc,
)
from tests.support.http_server import HttpTestServer

ARTICLES = make_articles()
SINCE = datetime(2024, 3, 1, tzinfo=UTC)
UNTIL = datetime(2024, 4, 30, 23, 59, 59, 999999, tzinfo=UTC)
WINDOW = parse_window("2024-03-01", "2024-04-30")


def get(url: str) -> httpx.Response:
    return httpx.get(url, timeout=5)


def test_articles_are_seeded_distinct_french_texts_of_the_asked_length() -> None:
    assert make_articles() == ARTICLES
    assert len({a.text for a in ARTICLES}) == len(ARTICLES)
    assert all(MIN_WORDS <= len(a.text.split()) <= MAX_WORDS for a in ARTICLES)
    assert [a.published for a in ARTICLES] == sorted(a.published for a in ARTICLES)
    assert any(a.modified > a.published for a in ARTICLES)


def test_site_sitemaps_reached_from_robots_list_every_article(http_server: HttpTestServer) -> None:
    site = serve_outlet_site(http_server, ARTICLES)
    named = sitemap_urls_from_robots(get(site.robots_url).text, site.robots_url)
    assert tuple(named) == site.robots_sitemaps
    index = parse_sitemap(get(site.index_url).content, site.index_url)
    assert index.kind == "index"
    assert {r.loc: r.lastmod for r in index.sitemaps} == site.child_lastmod
    found = {}
    for ref in index.sitemaps:
        child = parse_sitemap(get(ref.loc).content, ref.loc)
        assert tuple(e.loc for e in child.entries) == site.monthly_sitemaps[ref.loc]
        found |= {e.loc: e for e in child.entries}
    assert set(found) == set(site.article_urls)
    assert site.gzip_sitemap_urls
    assert all(get(u).content[:2] == b"\x1f\x8b" for u in site.gzip_sitemap_urls)


def test_news_sitemap_dates_are_the_publication_dates(http_server: HttpTestServer) -> None:
    site = serve_outlet_site(http_server, ARTICLES)
    news = parse_sitemap(get(site.news_sitemap_url).content, site.news_sitemap_url)
    assert tuple(e.loc for e in news.entries) == site.news_urls
    for e in news.entries:
        assert e.news_publication_date == site.articles[e.loc].published
        assert e.news_title == site.articles[e.loc].title


def test_window_rule_keeps_every_article_of_the_window_and_drops_only_older_ones(
    http_server: HttpTestServer,
) -> None:
    site = serve_outlet_site(http_server, ARTICLES)
    index = parse_sitemap(get(site.index_url).content, site.index_url)
    kept = set()
    for ref in index.sitemaps:
        if child_sitemap_is_outside(WINDOW, ref):
            assert all(site.articles[u].published < SINCE for u in site.monthly_sitemaps[ref.loc])
            continue
        entries = parse_sitemap(get(ref.loc).content, ref.loc).entries
        kept |= {e.loc for e in entries if not entry_is_outside(WINDOW, e)}
    wanted = site.published_in(SINCE, UNTIL)
    assert wanted <= kept
    # Kept without being wanted: edited after --since, or after --until; their pages decide.
    extra = kept - wanted
    assert extra
    assert all(site.articles[u].modified >= SINCE for u in extra)
    assert any(site.articles[u].published < SINCE for u in extra)  # old, edited in the window


def test_article_pages_carry_their_publication_date(http_server: HttpTestServer) -> None:
    site = serve_outlet_site(http_server, ARTICLES)
    url, article = next(iter(site.articles.items()))
    html = get(url).text
    assert f'property="article:published_time" content="{article.published.isoformat()}"' in html


def test_paged_feed_walks_back_to_since_and_ends_in_404(http_server: HttpTestServer) -> None:
    feed = serve_paged_feed(http_server, ARTICLES)
    previous, seen, number = None, [], 1
    while True:
        response = get(page_url(feed.feed_url, number))
        assert response.status_code == 200
        entries = parse_feed(response.content, response.url.__str__()).entries
        seen.append(tuple(e.link for e in entries))
        verdict = judge_page(entries, previous, WINDOW, number)
        if not verdict.go_on:
            break
        previous, number = page_links(entries), number + 1
    assert verdict.reason is StopReason.ALL_OLDER
    assert number == feed.pages_reaching(SINCE)
    assert tuple(seen) == feed.pages[:number]
    assert get(feed.not_found_url).status_code == 404


def test_paged_feed_walked_to_the_end_holds_every_article(http_server: HttpTestServer) -> None:
    feed = serve_paged_feed(http_server, ARTICLES)
    links = []
    for url in feed.page_urls:
        links += [e.link for e in parse_feed(get(url).content, url).entries]
    assert sorted(links) == sorted(feed.articles)
    assert len(feed.page_urls) == -(-len(ARTICLES) // 10)
    assert get(page_url(feed.feed_url, len(feed.page_urls) + 1)).status_code == 404


def test_a_server_ignoring_paged_is_caught_by_the_repeat_rule(http_server: HttpTestServer) -> None:
    feed = serve_paged_feed(http_server, ARTICLES, ignores_paging=True)
    first = parse_feed(get(page_url(feed.feed_url, 1)).content, feed.feed_url).entries
    second = parse_feed(get(page_url(feed.feed_url, 2)).content, feed.feed_url).entries
    verdict = judge_page(second, page_links(first), parse_window(None, None), 2)
    assert verdict.reason is StopReason.REPEATED


def test_saved_pages_get_the_urls_the_manifest_names(tmp_path: Path) -> None:
    saved = write_saved_pages(tmp_path / "saved", ARTICLES)
    files = sorted(p.relative_to(saved.root).as_posix() for p in saved.root.rglob("*"))
    pages = [f for f in files if is_saved_page(f)]
    assert sorted(pages) == sorted(p.relative_path for p in saved.pages)
    assert set(files) - set(pages) >= set(saved.other_files)
    for expected in saved.pages:
        raw = (saved.root / expected.relative_path).read_bytes()
        html = saved_page_bytes(raw, expected.relative_path)
        assert saved_page_url(html, expected.relative_path, None) == (expected.url, expected.how)
    assert set(saved.by_how()) == {"canonical", "og:url", "path"}


@pytest.mark.parametrize("name", ["crawl.warc.gz", "crawl.warc"])
def test_warc_holds_the_pages_and_other_records_its_manifest_lists(
    tmp_path: Path, name: str
) -> None:
    warc = write_warc(tmp_path / name, ARTICLES, "https://lesahelien.example")
    items = list(iter_warc_pages(io.BytesIO(warc.path.read_bytes())))
    pages = [i for i in items if isinstance(i, WarcPage)]
    passed = [i for i in items if isinstance(i, WarcPassed)]
    assert [p.url for p in pages] == [r.url for r in warc.pages]
    assert set(warc.articles) == {p.url for p in pages}
    assert Counter(p.kind for p in passed) == warc.passed_kinds()
    in_window = {u for u, a in warc.articles.items() if SINCE <= a.published <= UNTIL}
    assert in_window
    assert all(
        warc.captured[u] - warc.articles[u].published == timedelta(hours=3) for u in in_window
    )
