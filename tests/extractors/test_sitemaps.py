"""Sitemaps read as the protocol says, whatever form a site sends, and never unsafely."""

from __future__ import annotations

import gzip
from datetime import UTC, datetime, timedelta

import pytest

from extractors.errors import SahelwatchError, SourceError
from extractors.sitemaps import (
    MAX_SITEMAP_BYTES,
    UNKNOWN_ZONE_SLACK,
    parse_sitemap,
    parse_w3c_datetime,
)

URL = "https://lesahelien.example/sitemaps/post-2024-03.xml"
NS = 'xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"'
NEWS_NS = 'xmlns:news="http://www.google.com/schemas/sitemap-news/0.9"'


def urlset(rows: str, namespaces: str = NS) -> bytes:
    return f'<?xml version="1.0" encoding="UTF-8"?>\n<urlset {namespaces}>{rows}</urlset>'.encode()


def test_urlset_gives_absolute_locs_and_utc_lastmods() -> None:
    body = urlset(
        "<url><loc>https://lesahelien.example/a/</loc>"
        "<lastmod>2024-03-05T10:30:00+01:00</lastmod></url>"
        "<url><loc>/b/</loc></url>"
    )
    sitemap = parse_sitemap(body, URL)
    assert sitemap.kind == "urlset"
    assert [e.loc for e in sitemap.entries] == [
        "https://lesahelien.example/a/",
        "https://lesahelien.example/b/",
    ]
    assert sitemap.entries[0].lastmod == datetime(2024, 3, 5, 9, 30, tzinfo=UTC)
    assert sitemap.entries[1].lastmod is None
    assert sitemap.sitemaps == ()
    assert sitemap.warning is None


def test_index_lists_child_sitemaps_with_their_lastmod() -> None:
    body = (
        f"<sitemapindex {NS}>"
        "<sitemap><loc>https://lesahelien.example/post-2024-02.xml</loc>"
        "<lastmod>2024-02-29</lastmod></sitemap>"
        "<sitemap><loc>https://lesahelien.example/post-2024-03.xml.gz</loc></sitemap>"
        "</sitemapindex>"
    ).encode()
    sitemap = parse_sitemap(body, URL)
    assert sitemap.kind == "index"
    assert sitemap.entries == ()
    assert [(r.loc.rsplit("/", 1)[1], r.lastmod) for r in sitemap.sitemaps] == [
        ("post-2024-02.xml", datetime(2024, 2, 29, tzinfo=UTC)),
        ("post-2024-03.xml.gz", None),
    ]


def test_google_news_entries_carry_publication_date_and_title() -> None:
    body = urlset(
        "<url><loc>https://lesahelien.example/a/</loc><news:news><news:publication>"
        "<news:name>Le Sahélien</news:name><news:language>fr</news:language></news:publication>"
        "<news:publication_date>2024-03-05T08:00:00Z</news:publication_date>"
        "<news:title>Gao : la   route rouverte</news:title></news:news></url>",
        f"{NS} {NEWS_NS}",
    )
    entry = parse_sitemap(body, URL).entries[0]
    assert entry.news_publication_date == datetime(2024, 3, 5, 8, tzinfo=UTC)
    assert entry.news_title == "Gao : la route rouverte"
    assert entry.lastmod is None


def test_sitemap_without_namespace_is_read_alike() -> None:
    body = urlset("<url><loc>https://lesahelien.example/a/</loc></url>", namespaces="")
    assert [e.loc for e in parse_sitemap(body, URL).entries] == ["https://lesahelien.example/a/"]


@pytest.mark.parametrize("declared_gzip", [True, False])
def test_gzip_body_is_inflated_whatever_the_name_says(declared_gzip: bool) -> None:
    body = gzip.compress(urlset("<url><loc>https://lesahelien.example/a/</loc></url>"))
    url = URL + ".gz" if declared_gzip else URL
    assert len(parse_sitemap(body, url).entries) == 1


def test_gzip_bomb_over_the_cap_is_an_error_naming_the_url() -> None:
    bomb = gzip.compress(b"<urlset>" + b" " * (MAX_SITEMAP_BYTES + 1))
    with pytest.raises(SourceError) as caught:
        parse_sitemap(bomb, URL)
    assert URL in str(caught.value)
    assert "cap" in str(caught.value)
    assert "\n" not in str(caught.value)
    assert isinstance(caught.value, SahelwatchError)


def test_plain_text_sitemap_lists_one_url_per_line() -> None:
    body = b"https://lesahelien.example/a/\n\n  https://lesahelien.example/b/  \nnot a url\n"
    sitemap = parse_sitemap(body, URL.replace(".xml", ".txt"))
    assert sitemap.kind == "urlset"
    assert [e.loc for e in sitemap.entries] == [
        "https://lesahelien.example/a/",
        "https://lesahelien.example/b/",
    ]
    assert sitemap.unusable == 1


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"<!DOCTYPE html><html><body>Page introuvable</body></html>",
        b'<?xml version="1.0"?><rss version="2.0"><channel/></rss>',
        b"Bienvenue sur notre site\n",
    ],
    ids=["empty", "html", "rss", "text"],
)
def test_what_is_not_a_sitemap_is_a_one_line_error(body: bytes) -> None:
    with pytest.raises(SourceError, match="not a sitemap") as caught:
        parse_sitemap(body, URL)
    assert str(caught.value).startswith(URL + ": ")


def test_malformed_xml_is_recovered_with_a_warning() -> None:
    body = urlset(
        "<url><loc>https://lesahelien.example/a/</loc></url>"
        "<url><loc>https://lesahelien.example/b/?x=1&y=2</loc></url>"
    )[:-10]  # a raw '&' and the end cut off
    sitemap = parse_sitemap(body, URL)
    assert sitemap.entries[0].loc == "https://lesahelien.example/a/"
    assert sitemap.warning is not None
    assert "malformed XML" in sitemap.warning


def test_entities_are_never_expanded() -> None:
    body = (
        b'<?xml version="1.0"?><!DOCTYPE urlset ['
        b'<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
        b'<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">'
        b'<!ENTITY secret SYSTEM "file:///etc/passwd">]>'
        b"<urlset><url><loc>https://x.example/&d;</loc></url>"
        b"<url><loc>https://x.example/&secret;</loc></url></urlset>"
    )
    locs = [e.loc for e in parse_sitemap(body, URL).entries]
    assert all("aaaa" not in loc and "root" not in loc for loc in locs)


def test_non_http_locs_are_counted_as_unusable() -> None:
    body = urlset(
        "<url><loc>mailto:redaction@lesahelien.example</loc></url><url><loc></loc></url>"
        "<url><loc>https://lesahelien.example/a/</loc></url>"
    )
    sitemap = parse_sitemap(body, URL)
    assert len(sitemap.entries) == 1
    assert sitemap.unusable == 2


@pytest.mark.parametrize(
    ("value", "earliest", "latest"),
    [
        ("2024-03-05T10:30:15.5+01:00", datetime(2024, 3, 5, 9, 30, 15, 500000, UTC), None),
        (
            "2024-03-05T10:30:15Z",
            datetime(2024, 3, 5, 10, 30, 15, tzinfo=UTC),
            datetime(2024, 3, 5, 10, 30, 15, 999999, UTC),
        ),
        (
            "2024-03-05T10:30-05:00",
            datetime(2024, 3, 5, 15, 30, tzinfo=UTC),
            datetime(2024, 3, 5, 15, 30, 59, 999999, UTC),
        ),
    ],
)
def test_w3c_datetimes_with_offset_are_converted_to_utc(
    value: str, earliest: datetime, latest: datetime | None
) -> None:
    span = parse_w3c_datetime(value)
    assert span is not None
    assert span.earliest == earliest
    assert span.latest == (latest or earliest)


@pytest.mark.parametrize(
    ("value", "start", "end"),
    [
        ("2024", datetime(2024, 1, 1, tzinfo=UTC), datetime(2025, 1, 1, tzinfo=UTC)),
        ("2024-12", datetime(2024, 12, 1, tzinfo=UTC), datetime(2025, 1, 1, tzinfo=UTC)),
        ("2024-02", datetime(2024, 2, 1, tzinfo=UTC), datetime(2024, 3, 1, tzinfo=UTC)),
        ("2024-03-05", datetime(2024, 3, 5, tzinfo=UTC), datetime(2024, 3, 6, tzinfo=UTC)),
    ],
)
def test_coarse_dates_span_their_whole_period_in_any_time_zone(
    value: str, start: datetime, end: datetime
) -> None:
    span = parse_w3c_datetime(value)
    assert span is not None
    assert span.earliest == start - UNKNOWN_ZONE_SLACK
    assert span.latest == end - timedelta(microseconds=1) + UNKNOWN_ZONE_SLACK


def test_lastmod_without_offset_is_read_as_utc() -> None:
    body = urlset("<url><loc>https://x.example/a</loc><lastmod>2024-03-05 10:00</lastmod></url>")
    assert parse_sitemap(body, URL).entries[0].lastmod == datetime(2024, 3, 5, 10, tzinfo=UTC)


@pytest.mark.parametrize(
    "value", ["", "hier", "2024-13-01", "2024-02-30", "05/03/2024", "2024-03-05T25:00Z"]
)
def test_unparseable_dates_are_none(value: str) -> None:
    assert parse_w3c_datetime(value) is None
    body = urlset(f"<url><loc>https://x.example/a</loc><lastmod>{value}</lastmod></url>")
    entry = parse_sitemap(body, URL).entries[0]
    assert entry.lastmod is None
    assert entry.lastmod_span is None
