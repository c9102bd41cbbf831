"""Cost bombs: small gzip pages that would cost trafilatura a minute and a gigabyte each end as a
`skipped` row with a reason, and the pages beside them are still stored. Real server, real flow,
real worker processes."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import yaml

from extractors import article
from extractors.article import FetchedItem
from extractors.feed_entries import FeedEntry
from extractors.models import Document, Origin
from flows import extraction_pool
from flows.extraction_pool import ExtractionPool
from flows.ingest import ingest_feeds

PAGES = Path(__file__).resolve().parents[1] / "fixtures" / "pages"
ARTICLE = (PAGES / "article_full.html").read_bytes()
FIVE_MIB = 5 * 1024 * 1024
HTML = {"Content-Type": "text/html; charset=utf-8"}


def bomb(unit: bytes, size: int = FIVE_MIB - 1024) -> bytes:
    """A page of `unit` repeated up to just under the fetcher's 5 MiB cap."""
    return b"<html><body>" + unit * (size // len(unit)) + b"</body></html>"


def under_the_caps(unit: bytes = b"<p>Texte ") -> bytes:
    """The costliest page the markup caps let through: only the CPU bound stops it."""
    return b"<html><body>" + unit * (article.MAX_ELEMENTS - 2) + b"</body></html>"


def rss(links: list[str]) -> bytes:
    items = "".join(f"<item><title>T</title><link>{u}</link></item>" for u in links)
    return f'<?xml version="1.0"?><rss version="2.0"><channel>{items}</channel></rss>'.encode()


def run(tmp_path: Path, feed: str) -> dict:
    config = {
        "network": {"min_host_delay": 0.0, "max_retries": 1, "backoff_base": 0.01},
        "feeds": [{"name": "Bombes", "url": feed}],
    }
    (tmp_path / "feeds.yaml").write_text(yaml.safe_dump(config), "utf-8")
    db = str(tmp_path / "db.duckdb")
    return asyncio.run(ingest_feeds(feeds=str(tmp_path / "feeds.yaml"), db=db))


def test_cost_bombs_become_skips_and_the_article_beside_them_is_stored(
    prefect_api, http_server, tmp_path, monkeypatch
):
    monkeypatch.setattr(extraction_pool, "PAGE_CPU_SECONDS", 0.5)  # the bomb below takes ~4 s
    pages = {
        "/p.html": (bomb(b"<p>Texte "), "too_complex"),
        "/li.html": (bomb(b"<li>Texte "), "too_complex"),
        "/a.html": (bomb(b'<a href="/x">Texte</a> '), "too_complex"),
        "/deep.html": (bomb(b"<div>", 200_000), "too_complex"),
        "/slow.html": (under_the_caps(), "extraction_timeout"),
    }
    for path, (body, _) in pages.items():
        http_server.route(path, body=body, headers=HTML, gzip=True)
    http_server.route("/article.html", body=ARTICLE, headers=HTML)
    links = [http_server.url(p) for p in [*pages, "/article.html"]]
    http_server.route("/rss.xml", body=rss(links), headers={"Content-Type": "application/xml"})

    result = run(tmp_path, http_server.url("/rss.xml"))

    assert result["stored"] == 1
    con = duckdb.connect(str(tmp_path / "db.duckdb"), read_only=True)
    try:
        found = dict(con.execute("SELECT url, reason FROM skipped").fetchall())
    finally:
        con.close()
    assert found == {http_server.url(p): reason for p, (_, reason) in pages.items()}
    assert result["skipped"] == len(pages)


def test_a_worker_killed_mid_batch_is_replaced_and_only_its_batch_is_retried():
    def item(n: int, body: bytes) -> FetchedItem:
        url = f"http://example.org/{n}"
        entry = FeedEntry(url, "Titre", None, None, "", "", None)
        now = datetime.now(UTC)
        return FetchedItem(url, url, url, body, "text/html", now, entry, "S", "", Origin.FEED, "r")

    items = [item(0, under_the_caps()), item(1, ARTICLE)]

    async def kill_while_busy(pool: ExtractionPool) -> list:
        task = asyncio.ensure_future(pool.extract(items, datetime.now(UTC)))
        workers = list(pool._executor._processes.values())
        while not task.done() and not workers:
            await asyncio.sleep(0.05)
            workers = list(pool._executor._processes.values())
        await asyncio.sleep(0.5)  # the worker is inside the slow page now
        for process in workers:
            os.kill(process.pid, signal.SIGKILL)
        return await task

    started = time.monotonic()
    with ExtractionPool(workers=1, page_cpu_s=60) as pool:
        results = asyncio.run(kill_while_busy(pool))
    assert pool.replaced == 1, f"after {time.monotonic() - started:.1f} s"
    assert len(results) == len(items)
    assert isinstance(results[1], Document)


def test_a_feed_whose_worker_died_is_parsed_in_the_flow_process_and_the_pool_replaced():
    feed = (
        b'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>Le Sahel'
        b"</title><item><title>Gao</title><link>http://example.org/gao.html</link></item>"
        b"</channel></rss>"
    )

    async def parse_after_the_workers_died(pool: ExtractionPool):
        await pool.parse_feed(feed, "http://example.org/rss.xml", "application/rss+xml")
        for process in list(pool._executor._processes.values()):
            os.kill(process.pid, signal.SIGKILL)
            process.join(30)
        return await pool.parse_feed(feed, "http://example.org/rss.xml", "application/rss+xml")

    with ExtractionPool(workers=1) as pool:
        parsed = asyncio.run(parse_after_the_workers_died(pool))
    assert [entry.link for entry in parsed.entries] == ["http://example.org/gao.html"]
    assert pool.replaced == 1
