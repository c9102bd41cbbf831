"""Pages saved on disk (wget mirrors, browser "save as", exports): which files, and whose URL.

A saved page no longer knows where it came from except through what it says about itself: its
`<link rel="canonical">`, else its `og:url`. When it says neither, a URL is made from its path
inside the folder, and the caller records that it was made up.

Made-up URLs are `https://saved.invalid/<relative path>` unless the user gives a base URL. The
`.invalid` top-level domain is reserved (RFC 6761) and never resolves, so nothing can ever fetch
it by mistake; it is still an http(s) URL, so canonicalisation, ids and dedup treat it like any
other; and it is built from the path *relative to* the folder, so the same folder read from
another mount point or machine gives the same URLs (and the same document ids).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Literal
from urllib.parse import quote, urljoin, urlsplit

import lxml.html
from lxml import etree

from extractors.gunzip import gunzip_capped, is_gzip

# Files that count as pages, by name (case-insensitive); a ".gz" of any of them counts too.
PAGE_SUFFIXES = (".html", ".htm", ".xhtml")
GZIP_SUFFIX = ".gz"
# canonical and og:url live in <head>; 256 KiB holds the head of any real page (inline CSS and
# scripts included) and keeps a huge saved file from being parsed whole just for its URL.
HEAD_SCAN_BYTES = 256 * 1024
# Larger than any article page; a .gz that inflates past this is refused (a bomb or not a page).
MAX_SAVED_PAGE_BYTES = 20 * 1024 * 1024
MADE_UP_BASE = "https://saved.invalid/"
_HTTP = re.compile(r"^https?://[^/\s]+", re.I)

UrlSource = Literal["canonical", "og:url", "path"]


def is_saved_page(relative_path: str) -> bool:
    """Whether a file under --dir is read as a page (PAGE_SUFFIXES, optionally gzipped)."""
    name = relative_path.lower().removesuffix(GZIP_SUFFIX)
    return name.endswith(PAGE_SUFFIXES)


def saved_page_bytes(data: bytes, relative_path: str) -> bytes:
    """The HTML of a saved file: gunzipped (capped) when it is gzip, as is otherwise."""
    return gunzip_capped(data, MAX_SAVED_PAGE_BYTES, relative_path) if is_gzip(data) else data


def saved_page_url(html: bytes, relative_path: str, base_url: str | None) -> tuple[str, UrlSource]:
    """(url, how): the page's canonical link, else its og:url, else one made from its path."""
    head = _parse_head(html[:HEAD_SCAN_BYTES])
    if head is not None:
        canonical = _first_http(head.xpath("//link[@href]"), "href", _is_canonical)
        if canonical:
            return canonical, "canonical"
        og_url = _first_http(head.xpath("//meta[@content]"), "content", _is_og_url)
        if og_url:
            return og_url, "og:url"
    return path_url(relative_path, base_url), "path"


def path_url(relative_path: str, base_url: str | None) -> str:
    """The made-up URL of a file: its folder-relative path under base_url or MADE_UP_BASE."""
    path = relative_path.replace("\\", "/").lstrip("/")
    if path.lower().endswith(GZIP_SUFFIX):
        path = path[: -len(GZIP_SUFFIX)]
    base = base_url or MADE_UP_BASE
    if not base.endswith("/"):
        base += "/"
    return urljoin(base, quote(path, safe="/-._~!$&'()*+,;=:@"))


def _parse_head(data: bytes) -> etree._Element | None:
    if not data.strip():
        return None
    try:
        return lxml.html.fromstring(data)
    except (etree.ParserError, ValueError):
        return None


def _is_canonical(element: etree._Element) -> bool:
    return "canonical" in (element.get("rel") or "").lower().split()


def _is_og_url(element: etree._Element) -> bool:
    key = element.get("property") or element.get("name") or ""
    return key.strip().lower() == "og:url"


def _first_http(
    elements: list[etree._Element], attribute: str, wanted: Callable[[etree._Element], bool]
) -> str | None:
    for element in elements:
        if not wanted(element):
            continue
        value = (element.get(attribute) or "").strip()
        if _HTTP.match(value) and urlsplit(value).hostname:
            return value
    return None
