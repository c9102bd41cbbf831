"""Discovery for backfills: each source lists its pages, one unit at a time.

A unit is what a resumed backfill does not read again: a URL list, a sitemap (urlset), a page of
a paged feed, a folder of saved pages, a WARC file. Sitemap indexes and robots.txt are read again
on resume (a request each) to find the units left. Entries that the source itself dates outside
the window are counted, never fetched; unusable entries become skip rows.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from extractors import feed_pages, saved_pages, warc_pages
from extractors.date_window import DateWindow, child_sitemap_is_outside, entry_is_outside
from extractors.errors import SourceError, UsageError
from extractors.feed_entries import parse_feed
from extractors.models import Skip, SkipReason
from extractors.robots import default_sitemap_urls, sitemap_urls_from_robots
from extractors.sitemaps import parse_sitemap
from extractors.urls import UnusableLink, absolute_url, canonical_url
from fetching.client import Fetcher
from storage.backfills import BackfillItem

# URLs shown by --dry-run: enough to check the source was understood, short enough to read.
DRY_RUN_SHOWN = 10


@dataclass
class Unit:
    """What one unit listed: pages to process, entries dated outside the window, unusable ones."""

    name: str  # 'kind:locator', also the `discovered_by` of its pages
    items: list[BackfillItem] = field(default_factory=list)
    outside_window: int = 0
    skips: list[Skip] = field(default_factory=list)
    warning: str | None = None  # what went wrong reading it (malformed, cut short, unreachable)
    failed: bool = False  # nothing could be read: not recorded as done, retried next run
    passed_over: Counter[str] = field(default_factory=Counter)  # archive records that are no pages


@dataclass(frozen=True, slots=True)
class Source:
    kind: str
    locators: tuple[str, ...]
    window: DateWindow
    source_name: Callable[[str], str]  # the outlet name of a page URL

    @property
    def locator(self) -> str:
        return " ".join(self.locators)


async def discover(source: Source, fetcher: Fetcher, done: set[str]) -> AsyncIterator[Unit]:
    """Every unit of the source not in `done`, in order."""
    if source.kind == "urls":
        units = _url_list(source)
    elif source.kind == "dir":
        units = _saved_pages(source)
    elif source.kind == "warc":
        units = _warc_files(source, done)
    elif source.kind == "feed_pages":
        async for unit in _feed_pages(source, fetcher, done):
            yield unit
        return
    else:
        async for unit in _sitemaps(source, fetcher, done):
            yield unit
        return
    for unit in units:
        if unit.name not in done:
            yield unit


def _url_list(source: Source) -> list[Unit]:
    path = Path(source.locators[0])
    unit = Unit(f"urls:{path}")
    try:
        lines = path.read_text("utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise SourceError(str(path), f"cannot be read as a UTF-8 list of URLs ({exc})") from exc
    for number, line in enumerate(lines, 1):
        link = line.strip()
        if not link or link.startswith("#"):
            continue
        _add_link(unit, link, None, source, f"{path}:{number}")
    return [unit]


def _add_link(unit: Unit, link: str, entry_base: str | None, source: Source, where: str, **hints):
    """A page for the unit, or a `bad_link` skip saying where the unusable link was."""
    try:
        url = absolute_url(link, entry_base or link)
    except UnusableLink as exc:
        unit.skips.append(
            Skip(
                link or f"(empty link at {where})",
                None,
                None,
                None,
                SkipReason.BAD_LINK,
                f"{where}: {exc}",
                unit.name,
            )
        )
        return
    unit.items.append(BackfillItem(url, canonical_url(url), unit.name, **hints))


async def _sitemaps(source: Source, fetcher: Fetcher, done: set[str]) -> AsyncIterator[Unit]:
    if source.kind == "site":
        queue = await _site_sitemaps(source.locators[0], fetcher)
    else:
        queue = [source.locators[0]]
    seen: set[str] = set()
    while queue:
        url = queue.pop(0)
        if url in seen:
            continue
        seen.add(url)
        name = f"sitemap:{url}"
        if name in done:
            continue
        result = await fetcher.fetch_feed(url)
        if not result.ok:
            yield Unit(name, warning=f"{url}: {result.error or result.error_kind}", failed=True)
            continue
        try:
            sitemap = parse_sitemap(result.body or b"", result.final_url)
        except SourceError as exc:
            yield Unit(name, warning=str(exc), failed=True)
            continue
        if sitemap.kind == "index":  # indexes are read again on resume: never a done unit
            name = f"sitemap-index:{url}"
        unit = Unit(name, warning=sitemap.warning)
        for ref in sitemap.sitemaps:
            if child_sitemap_is_outside(source.window, ref):
                unit.outside_window += 1
            else:
                queue.append(ref.loc)
        for entry in sitemap.entries:
            if entry_is_outside(source.window, entry):
                unit.outside_window += 1
                continue
            published = entry.news_publication_date
            _add_link(
                unit,
                entry.loc,
                None,
                source,
                url,
                published_hint=published,
                title_hint=entry.news_title,
            )
        for number in range(sitemap.unusable):
            unit.skips.append(
                Skip(
                    f"{url}#unusable-loc-{number + 1}",
                    None,
                    None,
                    None,
                    SkipReason.BAD_LINK,
                    f"{url}: a <loc> that is missing or not an http(s) URL",
                    name,
                )
            )
        yield unit


async def _site_sitemaps(site: str, fetcher: Fetcher) -> list[str]:
    robots = await fetcher.fetch_feed(absolute_url("/robots.txt", site))
    named = []
    if robots.ok and robots.body:
        named = sitemap_urls_from_robots(robots.body.decode("utf-8", "replace"), site)
    return named or default_sitemap_urls(site)


async def _feed_pages(source: Source, fetcher: Fetcher, done: set[str]) -> AsyncIterator[Unit]:
    feed_url = source.locators[0]
    previous: frozenset[str] | None = None
    for number in range(1, feed_pages.MAX_FEED_PAGES + 1):
        url = feed_pages.page_url(feed_url, number)
        name = f"feed_page:{url}"
        if name in done:
            previous = None
            continue
        result = await fetcher.fetch_feed(url)
        if result.status == 404 and number > 1:
            return  # past the last page, as WordPress answers
        if not result.ok:
            yield Unit(name, warning=f"{url}: {result.error or result.error_kind}", failed=True)
            return
        parsed = parse_feed(
            result.body or b"", result.final_url, result.headers.get("content-type")
        )
        unit = Unit(name, warning=parsed.warning)
        for entry in parsed.entries:
            if source.window.contains(entry.published) is False:
                unit.outside_window += 1
                continue
            _add_link(
                unit,
                entry.link or "",
                url,
                source,
                url,
                published_hint=entry.published,
                title_hint=entry.title,
            )
        verdict = feed_pages.judge_page(parsed.entries, previous, source.window, number)
        yield unit
        if not verdict.go_on:
            return
        previous = feed_pages.page_links(parsed.entries)


def _saved_pages(source: Source) -> list[Unit]:
    root = Path(source.locators[0])
    if not root.is_dir():
        raise SourceError(str(root), "is not a folder; --dir takes a folder of saved HTML pages")
    unit = Unit(f"dir:{root}")
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        relative = path.relative_to(root).as_posix()
        if not saved_pages.is_saved_page(relative):
            continue
        try:
            html = saved_pages.saved_page_bytes(path.read_bytes(), relative)
        except (OSError, SourceError) as exc:
            unit.skips.append(
                Skip(str(path), None, None, None, SkipReason.UNREADABLE, str(exc), unit.name)
            )
            continue
        url, how = saved_pages.saved_page_url(html, relative, None)
        unit.items.append(
            BackfillItem(url, canonical_url(url), f"dir:{root} ({how})", locator=str(path))
        )
    return [unit]


def _warc_files(source: Source, done: set[str]) -> list[Unit]:
    units = []
    for locator in source.locators:
        path = Path(locator)
        name = f"warc:{path}"
        if name in done:
            continue
        unit = Unit(name)
        try:
            with path.open("rb") as stream:
                for record in warc_pages.iter_warc_pages(stream, name=str(path)):
                    if isinstance(record, warc_pages.WarcPassed):
                        unit.passed_over[record.kind] += 1  # a request, a 404, an image…
                        continue
                    where = f"{path}@{record.offset}"
                    _add_link(unit, record.url, None, source, where, locator=where)
        except OSError as exc:
            raise SourceError(str(path), f"cannot be read ({exc})") from exc
        except SourceError as exc:
            unit.warning = str(exc)
        units.append(unit)
    return units


def choose_source(
    urls_file: str | None,
    site: str | None,
    sitemap: str | None,
    feed_pages: str | None,
    directory: str | None,
    warc: Sequence[str] | None,
) -> tuple[str, tuple[str, ...]]:
    """Exactly one source per backfill: (kind, locators)."""
    given = {
        "urls": (urls_file,) if urls_file else (),
        "site": (site,) if site else (),
        "sitemap": (sitemap,) if sitemap else (),
        "feed_pages": (feed_pages,) if feed_pages else (),
        "dir": (str(Path(directory).resolve()),) if directory else (),
        "warc": tuple(str(Path(w).resolve()) for w in warc or ()),
    }
    chosen = [(kind, locators) for kind, locators in given.items() if locators]
    if len(chosen) != 1:
        raise UsageError(
            "give exactly one source: --urls FILE, --site URL, --sitemap URL, --feed-pages URL, "
            f"--dir PATH or --warc FILE... (got {len(chosen)})"
        )
    return chosen[0]


async def dry_run_counts(source: Source, fetcher: Fetcher) -> dict:
    """What a backfill would do: pages per unit, distinct pages, the first URLs; writes nothing."""
    per_unit: dict[str, int] = {}
    pages: dict[str, str] = {}  # canonical URL -> URL, in discovery order
    outside = unusable = 0
    warnings = []
    async for unit in discover(source, fetcher, set()):
        per_unit[unit.name] = len(unit.items)
        outside += unit.outside_window
        unusable += len(unit.skips)
        for item in unit.items:
            pages.setdefault(item.canonical_url, item.url)
        if unit.warning:
            warnings.append(unit.warning)
    first = list(pages.values())[:DRY_RUN_SHOWN]
    lines = [f"# Backfill dry run: {source.kind} {source.locator}", ""]
    lines += ["| unit | pages listed |", "|---|---:|"]
    lines += [f"| {name} | {n} |" for name, n in per_unit.items()]
    lines += [
        "",
        f"pages to fetch: {len(pages)}; dated outside the window by the source: {outside}; "
        f"unusable entries: {unusable}",
        "",
        "first pages:",
        *[f"- {url}" for url in first],
        *[f"\nWarning: {w}" for w in warnings],
    ]
    return {
        "units": per_unit,
        "pages": len(pages),
        "outside_window": outside,
        "unusable": unusable,
        "first_urls": first,
        "report": "\n".join(lines),
    }
