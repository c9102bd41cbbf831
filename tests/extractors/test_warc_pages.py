"""WARC files: HTML pages out, every other record accounted for, damage reported by offset."""

from __future__ import annotations

import gzip
import io
from collections import Counter
from pathlib import Path

import pytest

from extractors.errors import SourceError
from extractors.warc_pages import WarcPage, WarcPassed, iter_warc_pages, read_warc_page
from tests.support.archive_fixtures import WarcManifest, make_articles, write_warc

BASE = "https://lesahelien.example"


@pytest.fixture(params=["crawl.warc.gz", "crawl.warc"])
def warc(request: pytest.FixtureRequest, tmp_path: Path) -> WarcManifest:
    return write_warc(tmp_path / request.param, make_articles(12, seed=3), BASE)


def scan(data: bytes, start: int = 0) -> list[WarcPage | WarcPassed]:
    return list(iter_warc_pages(io.BytesIO(data), start, name="crawl.warc"))


def test_html_responses_are_pages_with_url_offset_date_and_body(warc: WarcManifest) -> None:
    with warc.path.open("rb") as stream:
        pages = [i for i in iter_warc_pages(stream) if isinstance(i, WarcPage)]
    assert [(p.url, p.offset) for p in pages] == [(r.url, r.offset) for r in warc.pages]
    for page in pages:
        article = warc.articles[page.url]
        assert page.http_status == 200
        assert page.content_type == "text/html; charset=utf-8"
        assert page.warc_date == warc.captured[page.url]
        assert article.paragraphs[0].encode() in page.body.replace(b"&#x27;", b"'")


def test_every_other_record_is_reported_with_its_kind(warc: WarcManifest) -> None:
    passed = [i for i in scan(warc.path.read_bytes()) if isinstance(i, WarcPassed)]
    assert Counter(p.kind for p in passed) == warc.passed_kinds()
    assert {p.kind for p in passed} >= {"request", "not html", "http 404", "revisit", "metadata"}


def test_records_come_in_file_order_with_their_offsets(warc: WarcManifest) -> None:
    assert [i.offset for i in scan(warc.path.read_bytes())] == [r.offset for r in warc.records]


def test_a_scan_resumes_at_a_record_offset(warc: WarcManifest) -> None:
    middle = warc.records[len(warc.records) // 2]
    resumed = scan(warc.path.read_bytes(), start=middle.offset)
    assert [i.offset for i in resumed] == [
        r.offset for r in warc.records if r.offset >= middle.offset
    ]


def test_one_record_is_read_at_its_offset(warc: WarcManifest) -> None:
    target = warc.pages[-1]
    with warc.path.open("rb") as stream:
        page = read_warc_page(stream, target.offset, name=str(warc.path))
    assert isinstance(page, WarcPage)
    assert page.url == target.url


def test_an_offset_inside_a_record_is_a_source_error(warc: WarcManifest) -> None:
    with warc.path.open("rb") as stream, pytest.raises(SourceError, match=r"no .*WARC record"):
        read_warc_page(stream, warc.pages[0].offset + 7)


@pytest.mark.parametrize("cut", [30, 400], ids=["in-the-headers", "in-the-block"])
def test_a_truncated_last_record_ends_with_an_error_naming_its_offset(
    warc: WarcManifest, cut: int
) -> None:
    last = warc.records[-1]
    data = warc.path.read_bytes()[: last.offset + min(cut, last.length - 8)]
    items: list[WarcPage | WarcPassed] = []
    with pytest.raises(SourceError) as caught:
        items.extend(iter_warc_pages(io.BytesIO(data), name="crawl.warc"))
    assert f"crawl.warc at byte {last.offset}:" in str(caught.value)
    assert "\n" not in str(caught.value)
    assert len(items) == len(warc.records) - 1


def test_a_truncated_record_in_the_middle_stops_the_scan_there(warc: WarcManifest) -> None:
    broken = warc.records[5]
    data = warc.path.read_bytes()
    damaged = data[: broken.offset + 40] + data[broken.offset + broken.length :]
    items: list[WarcPage | WarcPassed] = []
    with pytest.raises(SourceError, match=f"byte {broken.offset}"):
        items.extend(iter_warc_pages(io.BytesIO(damaged), name="crawl.warc"))
    assert [i.offset for i in items] == [r.offset for r in warc.records[:5]]


def test_a_gzip_member_cut_in_its_trailer_is_reported_after_its_record(
    tmp_path: Path,
) -> None:
    warc = write_warc(tmp_path / "crawl.warc.gz", make_articles(2), BASE)
    last = warc.records[-1]
    data = warc.path.read_bytes()[:-4]  # the block is whole, the gzip size field is not
    items: list[WarcPage | WarcPassed] = []
    with pytest.raises(SourceError, match=f"at byte {last.offset}: truncated gzip member"):
        items.extend(iter_warc_pages(io.BytesIO(data), name="crawl.warc.gz"))
    assert len(items) == len(warc.records)


def test_garbage_instead_of_a_record_is_a_source_error(warc: WarcManifest) -> None:
    data = warc.path.read_bytes()
    third = warc.records[2].offset
    with pytest.raises(SourceError, match=r"^crawl\.warc at byte"):
        scan(data[:third] + b"ceci n'est pas un enregistrement WARC\r\n\r\n" + data[third:])


def test_a_warc_gzipped_as_one_stream_is_refused_with_the_fix(tmp_path: Path) -> None:
    plain = write_warc(tmp_path / "crawl.warc", make_articles(3), BASE)
    whole = gzip.compress(plain.path.read_bytes())
    with pytest.raises(SourceError, match="gunzip"):
        scan(whole)


def test_an_empty_file_has_no_records() -> None:
    assert scan(b"") == []
