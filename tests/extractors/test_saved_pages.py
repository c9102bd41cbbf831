"""Saved pages: which files are pages, and the URL each one is given (and how it was found)."""

from __future__ import annotations

import gzip

import pytest

from extractors.errors import SourceError
from extractors.saved_pages import (
    HEAD_SCAN_BYTES,
    MADE_UP_BASE,
    MAX_SAVED_PAGE_BYTES,
    is_saved_page,
    saved_page_bytes,
    saved_page_url,
)

URL = "https://lesahelien.example/2024/03/05/gao-route/"


def page(head: str) -> bytes:
    return f"<!DOCTYPE html><html><head>{head}</head><body><p>Texte</p></body></html>".encode()


def test_canonical_link_wins() -> None:
    other = '<meta property="og:url" content="https://autre.example/x">'
    html = page(f'{other}<link rel="canonical" href="{URL}">')
    assert saved_page_url(html, "a.html", None) == (URL, "canonical")


def test_og_url_is_used_when_there_is_no_canonical() -> None:
    assert saved_page_url(page(f'<meta property="og:url" content="{URL}">'), "a.html", None) == (
        URL,
        "og:url",
    )


def test_relative_canonical_is_not_trusted() -> None:
    html = page(f'<link rel="canonical" href="/2024/x/"><meta property="og:url" content="{URL}">')
    assert saved_page_url(html, "a.html", None) == (URL, "og:url")


def test_rel_with_several_tokens_still_names_the_canonical() -> None:
    assert (
        saved_page_url(page(f'<link rel="Canonical nofollow" href="{URL}">'), "a.html", None)[1]
        == "canonical"
    )


def test_without_either_the_url_is_made_from_the_path_under_the_base() -> None:
    html = page("<title>Sans lien</title>")
    url, how = saved_page_url(html, "2024/03/gao route.html", "https://lesahelien.example/arch")
    assert how == "path"
    assert url == "https://lesahelien.example/arch/2024/03/gao%20route.html"


def test_without_a_base_the_made_up_url_is_under_saved_invalid() -> None:
    url, how = saved_page_url(page(""), "2024\\03\\gao.html.gz", None)
    assert (url, how) == (MADE_UP_BASE + "2024/03/gao.html", "path")


def test_links_past_the_scanned_head_are_not_looked_for() -> None:
    html = b"<html><head>" + b"<!--" + b" " * HEAD_SCAN_BYTES + b"-->"
    html += f'<link rel="canonical" href="{URL}"></head></html>'.encode()
    assert saved_page_url(html, "a.html", None)[1] == "path"


def test_an_empty_file_gets_its_path_url() -> None:
    assert saved_page_url(b"", "vide.html", None)[1] == "path"


@pytest.mark.parametrize(
    ("name", "is_page"),
    [
        ("a.html", True),
        ("b/INDEX.HTM", True),
        ("c.xhtml", True),
        ("d.html.gz", True),
        ("style.css", False),
        ("logo.png.gz", False),
        ("notes.txt", False),
        ("html", False),
    ],
)
def test_which_files_are_pages(name: str, is_page: bool) -> None:
    assert is_saved_page(name) is is_page


def test_gzip_files_are_inflated_and_others_passed_through() -> None:
    html = page("")
    assert saved_page_bytes(gzip.compress(html), "a.html.gz") == html
    assert saved_page_bytes(html, "a.html") == html


def test_gzip_past_the_cap_is_refused_with_its_path() -> None:
    bomb = gzip.compress(b" " * (MAX_SAVED_PAGE_BYTES + 1))
    with pytest.raises(SourceError, match=r"^bomb\.html\.gz: .*cap"):
        saved_page_bytes(bomb, "bomb.html.gz")
