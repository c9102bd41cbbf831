"""Serve the bundled sample news site on 127.0.0.1, one port per outlet, for `make demo` and tests.

The pipeline has to be shown and tested end to end without network access, against outlets that
misbehave the way real ones do. The outlets are static files under `demo/site/<slug>/`; whatever a
file cannot express (a feed that always answers 500, a lying charset header, a slow page, a
redirect) is declared per path in `demo/site/outlets.yaml` and applied here. Each outlet gets its
own port so that per-host politeness (robots.txt, crawl delay) behaves as with distinct sites.

Files are served as bytes, in whatever encoding they are stored in; only the ASCII placeholders
`{{BASE}}` (this outlet's base URL) and `{{BASE:slug}}` (another outlet's) are replaced, which is
safe in any ASCII-compatible encoding. `python -m demo.site_server` serves until Ctrl-C.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import html as html_module
import re
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any, NamedTuple
from urllib.parse import unquote, urlsplit

import yaml

from extractors.errors import ConfigError, UsageError
from extractors.robots import parse_robots

SITE_ROOT = Path(__file__).resolve().parent / "site"
OUTLETS_FILE = "outlets.yaml"
HOST = "127.0.0.1"

# Upper-case letters are not allowed in slugs, so a typo like {{BASE:Bamako}} fails loudly (500)
# instead of silently matching nothing.
PLACEHOLDER = re.compile(rb"\{\{BASE(?::([a-z0-9-]+))?\}\}")
SLUG = re.compile(r"^[a-z0-9][a-z0-9-]*$")
ISO3 = re.compile(r"^[A-Z]{3}$")

# One fixed date for every file: conditional GET must behave the same on every checkout, and file
# modification times do not survive git. Late enough to postdate every article on the site.
DEFAULT_LAST_MODIFIED = datetime(2025, 3, 20, 6, 0, tzinfo=UTC)

FEED_FORMATS = ("rss", "atom")
# Defects that live in the feed bytes themselves; HTTP-level failures are `overrides` instead.
FEED_DEFECTS = ("malformed", "misencoded")
FEED_CONTENT_TYPES = {
    "rss": "application/rss+xml; charset=utf-8",
    "atom": "application/atom+xml; charset=utf-8",
}
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".xml": "application/xml; charset=utf-8",
    ".txt": "text/plain; charset=utf-8",
    ".json": "application/json",
    ".css": "text/css; charset=utf-8",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".svg": "image/svg+xml",
}
DEFAULT_CONTENT_TYPE = "application/octet-stream"
# Only these get placeholders replaced; images and other binaries are served untouched.
TEXT_SUFFIXES = frozenset({".html", ".xml", ".txt", ".json", ".css", ".svg"})
INDEX_FILE = "index.html"

OUTLET_KEYS = frozenset({"slug", "name", "country", "feeds", "overrides", "sitemaps"})
FEED_KEYS = frozenset({"path", "format", "defect"})
OVERRIDE_KEYS = frozenset({"status", "headers", "delay", "note"})
# Sitemaps generated at serve time for outlets that ask for them (`sitemaps: xml | gzip`, the
# format of the monthly urlsets), so `sahelwatch backfill --site` has an archive to read.
SITEMAP_FORMATS = ("xml", "gzip")
SITEMAP_INDEX_PATH = "/sitemap_index.xml"
NEWS_SITEMAP_PATH = "/sitemap-news.xml"
MONTHLY_SITEMAP_PATH = "/sitemaps/articles-{month}.xml"
XML_CONTENT_TYPE = "application/xml; charset=utf-8"
GZIP_CONTENT_TYPE = "application/gzip"  # served as a file, not with Content-Encoding, as sites do
# Pages whose publication date can be listed: every article page states it in this meta tag.
PUBLISHED_META = re.compile(rb'property="article:published_time"\s+content="([^"]+)"')
# An article edited after publication says so here; its sitemap `lastmod` is then this date.
MODIFIED_META = re.compile(rb'property="article:modified_time"\s+content="([^"]+)"')
OG_TITLE = re.compile(rb'property="og:title"\s+content="([^"]+)"')
# What the demo's robots.txt rules are checked against when leaving pages out of sitemaps.
SITEMAP_AGENT = "sahelwatch"
# A demo page slower than this would only make `make demo` and the test suite drag.
MAX_DELAY_S = 5.0
# How often an idle server checks for shutdown; the stdlib's 0.5 s would add seconds per exit.
SHUTDOWN_POLL_S = 0.02


@dataclass(frozen=True)
class DemoFeed:
    """One feed as the pipeline's config would list it: stored as documents.source = name."""

    name: str
    url: str
    country: str | None
    outlet: str


@dataclass(frozen=True)
class FeedSpec:
    path: str
    format: str
    defect: str | None = None


@dataclass(frozen=True)
class Override:
    """What `outlets.yaml` says to do instead of (or on top of) serving the file at a path."""

    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    note: str = ""


@dataclass(frozen=True)
class Outlet:
    slug: str
    name: str
    country: str | None
    feeds: tuple[FeedSpec, ...]
    overrides: dict[str, Override]
    sitemaps: str | None = None  # None, or the format of the monthly sitemaps: xml | gzip


class RequestRecord(NamedTuple):
    """One served request, so tests can assert what the pipeline did (and did not) fetch."""

    outlet: str
    method: str
    path: str
    status: int


@dataclass(frozen=True)
class Response:
    status: int
    headers: dict[str, str]
    body: bytes
    delay: float = 0.0


# --------------------------------------------------------------------------- outlets.yaml


def load_outlets(root: Path) -> list[Outlet]:
    """Read and check `outlets.yaml`; a mistake in it names the entry, like any config error."""
    path = root / OUTLETS_FILE
    where = str(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(where, "", f"cannot be read ({exc}); is --root the demo site?") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(where, "", f"is not valid YAML: {exc}") from exc
    raw = data.get("outlets") if isinstance(data, dict) else None
    if not isinstance(raw, list) or not raw:
        raise ConfigError(where, "outlets", "must be a non-empty list of outlets")
    outlets = [_parse_outlet(where, f"outlets[{i}]", entry) for i, entry in enumerate(raw)]
    slugs = [o.slug for o in outlets]
    duplicated = sorted({s for s in slugs if slugs.count(s) > 1})
    if duplicated:
        raise ConfigError(where, "outlets", f"slug(s) {duplicated} appear twice; make them unique")
    for outlet in outlets:
        if not (root / outlet.slug).is_dir():
            raise ConfigError(where, outlet.slug, f"has no directory {root / outlet.slug}")
    return outlets


def _check_keys(where: str, entry: str, data: Any, allowed: frozenset[str]) -> dict:
    if not isinstance(data, dict):
        raise ConfigError(where, entry, f"must be a mapping with keys from {sorted(allowed)}")
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise ConfigError(where, entry, f"unknown key(s) {unknown}; allowed: {sorted(allowed)}")
    return data


def _parse_outlet(where: str, entry: str, data: Any) -> Outlet:
    data = _check_keys(where, entry, data, OUTLET_KEYS)
    slug, name, country = data.get("slug"), data.get("name"), data.get("country")
    if not isinstance(slug, str) or not SLUG.match(slug):
        raise ConfigError(where, entry, f"'slug' must be lower-case letters, digits, '-': {slug!r}")
    entry = f"{entry} ({slug})"
    if not isinstance(name, str) or not name.strip():
        raise ConfigError(where, entry, "needs a 'name' (the outlet, stored as documents.source)")
    if country is not None and (not isinstance(country, str) or not ISO3.match(country)):
        raise ConfigError(where, entry, f"'country' must be ISO alpha-3 like MLI, got {country!r}")
    raw_feeds = data.get("feeds") or []
    if not isinstance(raw_feeds, list):
        raise ConfigError(where, f"{entry}.feeds", "must be a list of {path, format}")
    feeds = tuple(_parse_feed(where, f"{entry}.feeds[{i}]", f) for i, f in enumerate(raw_feeds))
    raw_overrides = data.get("overrides") or {}
    if not isinstance(raw_overrides, dict):
        raise ConfigError(where, f"{entry}.overrides", "must map a path like /rss.xml to settings")
    overrides = {
        path: _parse_override(where, f"{entry}.overrides[{path}]", path, value)
        for path, value in raw_overrides.items()
    }
    sitemaps = data.get("sitemaps")
    if sitemaps is not None and sitemaps not in SITEMAP_FORMATS:
        raise ConfigError(
            where, entry, f"'sitemaps' must be one of {SITEMAP_FORMATS}, got {sitemaps!r}"
        )
    return Outlet(slug, name.strip(), country, feeds, overrides, sitemaps)


def _parse_feed(where: str, entry: str, data: Any) -> FeedSpec:
    data = _check_keys(where, entry, data, FEED_KEYS)
    path, fmt, defect = data.get("path"), data.get("format"), data.get("defect")
    if not isinstance(path, str) or not path.startswith("/"):
        raise ConfigError(where, entry, f"'path' must start with '/', got {path!r}")
    if fmt not in FEED_FORMATS:
        raise ConfigError(where, entry, f"'format' must be one of {FEED_FORMATS}, got {fmt!r}")
    if defect is not None and defect not in FEED_DEFECTS:
        raise ConfigError(where, entry, f"'defect' must be one of {FEED_DEFECTS}, got {defect!r}")
    return FeedSpec(path, fmt, defect)


def _parse_override(where: str, entry: str, path: Any, data: Any) -> Override:
    if not isinstance(path, str) or not path.startswith("/"):
        raise ConfigError(where, entry, "override keys must be paths starting with '/'")
    data = _check_keys(where, entry, data, OVERRIDE_KEYS)
    status, headers = data.get("status"), data.get("headers") or {}
    delay, note = data.get("delay", 0.0), data.get("note", "")
    if status is not None and (not isinstance(status, int) or not 200 <= status <= 599):
        raise ConfigError(where, entry, f"'status' must be an HTTP status 200-599, got {status!r}")
    if not isinstance(headers, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in headers.items()
    ):
        raise ConfigError(where, entry, "'headers' must map header names to string values")
    if isinstance(delay, bool) or not isinstance(delay, int | float):
        raise ConfigError(where, entry, f"'delay' must be seconds, got {delay!r}")
    if not 0 <= delay <= MAX_DELAY_S:
        raise ConfigError(where, entry, f"'delay' must be between 0 and {MAX_DELAY_S} s")
    return Override(status, dict(headers), float(delay), str(note))


# --------------------------------------------------------------------------- responses


def make_etag(body: bytes) -> str:
    """Strong validator: two responses share it only if their bytes are identical."""
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def is_not_modified(headers: Any, etag: str, last_modified: datetime) -> bool:
    """RFC 9110 §13.2.2: If-None-Match, when present, decides; If-Modified-Since only without it."""
    if_none_match = headers.get("If-None-Match")
    if if_none_match is not None:
        tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
        return "*" in tags or etag in tags
    if_modified_since = headers.get("If-Modified-Since")
    if not if_modified_since:
        return False
    try:
        since = parsedate_to_datetime(if_modified_since)
    except (TypeError, ValueError):
        return False
    if since.tzinfo is None:
        since = since.replace(tzinfo=UTC)
    return last_modified <= since


def error_page(status: int) -> bytes:
    phrase = HTTPStatus(status).phrase
    return f"<!DOCTYPE html><html><body><h1>{status} {phrase}</h1></body></html>\n".encode()


class DemoSite:
    """All outlets of the sample site, each on its own free port on 127.0.0.1 while in a `with`."""

    def __init__(self, root: Path = SITE_ROOT) -> None:
        self.root = Path(root).resolve()
        self.outlets = load_outlets(self.root)
        self.bases: dict[str, str] = {}
        self.feeds: list[DemoFeed] = []
        self.requests: list[RequestRecord] = []
        self._lock = threading.Lock()
        self._servers: list[_OutletServer] = []
        self._threads: list[threading.Thread] = []
        self._archives: dict[str, dict[str, tuple[str, bytes]]] = {}

    def __enter__(self) -> DemoSite:
        if self._servers:
            raise UsageError("this DemoSite is already serving; use one `with` block at a time")
        # Bind every port before serving anything: pages link across outlets with {{BASE:slug}}.
        try:
            for outlet in self.outlets:
                server = _OutletServer((HOST, 0), _Handler, site=self, outlet=outlet)
                self._servers.append(server)
                self.bases[outlet.slug] = f"http://{HOST}:{server.server_address[1]}"
        except OSError:
            for server in self._servers:
                server.server_close()
            self._servers.clear()
            raise
        self.feeds = [
            DemoFeed(o.name, self.bases[o.slug] + f.path, o.country, o.slug)
            for o in self.outlets
            for f in o.feeds
        ]
        for server in self._servers:
            thread = threading.Thread(
                target=server.serve_forever, args=(SHUTDOWN_POLL_S,), name=server.outlet.slug
            )
            thread.daemon = True
            thread.start()
            self._threads.append(thread)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        for server in self._servers:
            server.shutdown()
            server.server_close()
        for thread in self._threads:
            thread.join()
        self._servers.clear()
        self._threads.clear()

    def url(self, slug: str, path: str) -> str:
        """Absolute URL of `path` on outlet `slug`, for tests and the demo's own report."""
        return self.bases[slug] + path

    def record(self, entry: RequestRecord) -> None:
        with self._lock:
            self.requests.append(entry)

    def respond(self, outlet: Outlet, target: str, headers: Any) -> Response:
        """The whole response for a request target, before any bytes go on the wire."""
        path = unquote(urlsplit(target).path) or "/"
        generated = self._generated(outlet, path)
        if generated is not None:
            content_type, body = generated
            return self._bytes_response(body, content_type, headers, Override())
        override = outlet.overrides.get(path, Override())
        extra = {
            k: self._substitute(outlet, v.encode()).decode() for k, v in override.headers.items()
        }
        if override.status is not None:
            # A declared status replaces the file entirely (500 feed, deleted page, redirect).
            body = error_page(override.status) if override.status >= 400 else b""
            html = {"Content-Type": "text/html; charset=utf-8"}
            return Response(override.status, html | extra, body, override.delay)
        file = self._find_file(outlet, path)
        if file is None:
            return Response(404, {"Content-Type": "text/html; charset=utf-8"}, error_page(404))
        if file.is_dir():
            # What real servers do for /2025/03/13/slug: send the client to the slash form.
            location = self.bases[outlet.slug] + path + "/"
            return Response(301, {"Location": location}, b"", override.delay)
        return self._file_response(outlet, path, file, headers, override, extra)

    def _file_response(
        self,
        outlet: Outlet,
        path: str,
        file: Path,
        request_headers: Any,
        override: Override,
        extra: dict[str, str],
    ) -> Response:
        body = file.read_bytes()
        if file.suffix in TEXT_SUFFIXES:
            body = self._substitute(outlet, body)
        if path == "/robots.txt" and outlet.sitemaps:
            body += self._substitute(outlet, sitemap_lines())
        return self._bytes_response(
            body, self._content_type(outlet, path, file), request_headers, override, extra
        )

    def _bytes_response(
        self,
        body: bytes,
        content_type: str,
        request_headers: Any,
        override: Override,
        extra: dict[str, str] | None = None,
    ) -> Response:
        headers = {
            "Content-Type": content_type,
            "ETag": make_etag(body),
            "Last-Modified": format_datetime(DEFAULT_LAST_MODIFIED, usegmt=True),
        } | (extra or {})
        if is_not_modified(request_headers, headers["ETag"], DEFAULT_LAST_MODIFIED):
            headers.pop("Content-Type")
            return Response(304, headers, b"", override.delay)
        return Response(200, headers, body, override.delay)

    def _generated(self, outlet: Outlet, path: str) -> tuple[str, bytes] | None:
        """(Content-Type, body) of a generated sitemap at `path`, else None."""
        if not outlet.sitemaps:
            return None
        with self._lock:
            if outlet.slug not in self._archives:
                built = build_sitemaps(outlet, self.root / outlet.slug)
                self._archives[outlet.slug] = {
                    p: (ctype, self._substitute(outlet, body)) for p, (ctype, body) in built.items()
                }
            archive = self._archives[outlet.slug]
        if path not in archive:
            return None
        content_type, body = archive[path]
        return content_type, gzip.compress(body, mtime=0) if path.endswith(".gz") else body

    def _find_file(self, outlet: Outlet, path: str) -> Path | None:
        outlet_dir = self.root / outlet.slug
        candidate = (outlet_dir / path.lstrip("/")).resolve()
        if not candidate.is_relative_to(outlet_dir):
            return None  # '..' in the path: never serve outside the outlet's directory
        if candidate.is_dir():
            index = candidate / INDEX_FILE
            if not index.is_file():
                return None
            return index if path.endswith("/") else candidate
        return candidate if candidate.is_file() else None

    def _content_type(self, outlet: Outlet, path: str, file: Path) -> str:
        for feed in outlet.feeds:
            if feed.path == path:
                return FEED_CONTENT_TYPES[feed.format]
        return CONTENT_TYPES.get(file.suffix, DEFAULT_CONTENT_TYPE)

    def _substitute(self, outlet: Outlet, body: bytes) -> bytes:
        def base_for(match: re.Match[bytes]) -> bytes:
            slug = match.group(1).decode() if match.group(1) else outlet.slug
            if slug not in self.bases:
                raise LookupError(f"{outlet.slug}: placeholder names unknown outlet {slug!r}")
            return self.bases[slug].encode()

        return PLACEHOLDER.sub(base_for, body)


# --------------------------------------------------------------------------- sitemaps


@dataclass(frozen=True)
class ArchivePage:
    path: str  # URL path, directory indexes as `dir/`
    published: str  # article:published_time, as written on the page
    title: str | None  # og:title
    modified: str | None = None  # article:modified_time, when the page was edited later

    @property
    def lastmod(self) -> str:
        """What a CMS puts in `lastmod`: the last edit, else the publication."""
        return self.modified or self.published


def sitemap_lines() -> bytes:
    """The `Sitemap:` lines appended to robots.txt of an outlet with sitemaps."""
    return (
        f"\nSitemap: {{{{BASE}}}}{SITEMAP_INDEX_PATH}\nSitemap: {{{{BASE}}}}{NEWS_SITEMAP_PATH}\n"
    ).encode()


def archive_pages(outlet: Outlet, outlet_dir: Path) -> list[ArchivePage]:
    """The article pages an outlet's CMS would list: dated, served (no declared status), and
    allowed by its own robots.txt (a CMS leaves private pages out of its sitemaps)."""
    robots_file = outlet_dir / "robots.txt"
    robots = parse_robots(robots_file.read_text(encoding="utf-8") if robots_file.is_file() else "")
    pages = []
    for file in sorted(outlet_dir.rglob("*.html")):
        path = "/" + file.relative_to(outlet_dir).as_posix()
        path = path.removesuffix(INDEX_FILE)
        override = outlet.overrides.get(path)
        if (override and override.status) or not robots.can_fetch(
            "http://demo" + path, SITEMAP_AGENT
        ):
            continue
        html = file.read_bytes()
        published = PUBLISHED_META.search(html)
        if published is None:
            continue
        title = OG_TITLE.search(html)
        modified = MODIFIED_META.search(html)
        pages.append(
            ArchivePage(
                path,
                published.group(1).decode(),
                html_module.unescape(title.group(1).decode("utf-8", "replace")) if title else None,
                modified.group(1).decode() if modified else None,
            )
        )
    return pages


def build_sitemaps(outlet: Outlet, outlet_dir: Path) -> dict[str, tuple[str, bytes]]:
    """path -> (Content-Type, body with {{BASE}}): an index of monthly urlsets (gzipped when the
    outlet asks) and a Google News sitemap, from the pages on disk.

    Pages are filed under their month of publication, with their last edit as `lastmod`; a
    month's `lastmod` in the index is its latest page edit, so an old month with an edited page
    in it is read again by a crawler, as on a real site."""
    pages = archive_pages(outlet, outlet_dir)
    months: dict[str, list[ArchivePage]] = {}
    for page in pages:
        months.setdefault(page.published[:7], []).append(page)
    suffix = ".gz" if outlet.sitemaps == "gzip" else ""
    ctype = GZIP_CONTENT_TYPE if suffix else XML_CONTENT_TYPE
    out: dict[str, tuple[str, bytes]] = {}
    children = []
    for month, members in sorted(months.items()):
        path = MONTHLY_SITEMAP_PATH.format(month=month) + suffix
        rows = "".join(
            f"  <url><loc>{{{{BASE}}}}{_xml(p.path)}</loc><lastmod>{p.lastmod}</lastmod></url>\n"
            for p in members
        )
        out[path] = (ctype, _urlset(rows))
        latest = max(members, key=lambda p: datetime.fromisoformat(p.lastmod))
        children.append((path, latest.lastmod))
    index_rows = "".join(
        f"  <sitemap><loc>{{{{BASE}}}}{path}</loc><lastmod>{lastmod}</lastmod></sitemap>\n"
        for path, lastmod in children
    )
    out[SITEMAP_INDEX_PATH] = (
        XML_CONTENT_TYPE,
        f'<?xml version="1.0" encoding="UTF-8"?>\n<sitemapindex xmlns="{_SITEMAP_NS}">\n'
        f"{index_rows}</sitemapindex>\n".encode(),
    )
    out[NEWS_SITEMAP_PATH] = (XML_CONTENT_TYPE, _news(outlet, pages))
    return out


_SITEMAP_NS = "http://www.sitemaps.org/schemas/sitemap/0.9"
_NEWS_NS = "http://www.google.com/schemas/sitemap-news/0.9"


def _xml(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _urlset(rows: str, extra_ns: str = "") -> bytes:
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<urlset xmlns="{_SITEMAP_NS}"{extra_ns}>\n'
        f"{rows}</urlset>\n"
    ).encode()


def _news(outlet: Outlet, pages: list[ArchivePage]) -> bytes:
    rows = "".join(
        f"  <url><loc>{{{{BASE}}}}{_xml(p.path)}</loc><news:news><news:publication>"
        f"<news:name>{_xml(outlet.name)}</news:name><news:language>fr</news:language>"
        f"</news:publication><news:publication_date>{p.published}</news:publication_date>"
        f"<news:title>{_xml(p.title or '')}</news:title></news:news></url>\n"
        for p in pages
    )
    return _urlset(rows, f' xmlns:news="{_NEWS_NS}"')


class _OutletServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], handler: type, *, site: DemoSite, outlet: Outlet):
        self.site, self.outlet = site, outlet
        super().__init__(address, handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Clients hanging up mid-response (timeouts in tests) are expected; stay quiet."""


class _Handler(BaseHTTPRequestHandler):
    server: _OutletServer
    protocol_version = "HTTP/1.1"
    # Headers and body leave in two writes; with Nagle on, keep-alive clients wait ~40 ms each.
    disable_nagle_algorithm = True
    server_version = "sahelwatch-demo/1"
    sys_version = ""

    def do_GET(self) -> None:
        self._serve(send_body=True)

    def do_HEAD(self) -> None:
        self._serve(send_body=False)

    def log_message(self, format: str, *args: Any) -> None:
        """Silenced: the request log lives in DemoSite.requests, not on stderr."""

    def _serve(self, *, send_body: bool) -> None:
        site, outlet = self.server.site, self.server.outlet
        try:
            response = site.respond(outlet, self.path, self.headers)
        except LookupError as exc:
            response = Response(
                500, {"Content-Type": "text/plain; charset=utf-8"}, str(exc).encode()
            )
        site.record(RequestRecord(outlet.slug, self.command, self.path, response.status))
        if response.delay:
            time.sleep(response.delay)
        self.send_response(response.status)
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        if send_body and response.status != 304:
            self.wfile.write(response.body)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Serve the sahelwatch sample news site locally.")
    parser.add_argument("--root", type=Path, default=SITE_ROOT, help="site directory")
    args = parser.parse_args(argv)
    with DemoSite(args.root) as site:
        for slug, base in site.bases.items():
            print(f"{slug:<24} {base}/")
        print("\nFeeds:")
        for feed in site.feeds:
            print(f"  {feed.name:<30} {feed.url}")
        print("\nServing on 127.0.0.1 until Ctrl-C.", flush=True)
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
