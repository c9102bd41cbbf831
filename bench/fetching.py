"""Fetcher overhead: pages per second against local servers, and memory used on a gzip bomb.

Real runs are bound by politeness (one request per host per `min_host_delay`), not by the
fetcher; this measures what the fetcher itself costs, with spacing switched off, so a slow-down
in it shows up. Speed is measured here, never asserted in tests.
"""

from __future__ import annotations

import asyncio
import gzip
import random
import time
import tracemalloc
from dataclasses import replace

from extractors.network_settings import NetworkSettings
from fetching.client import Fetcher
from tests.support.http_server import HttpTestServer

HOSTS = 5  # distinct ports, so per-host limits apply as on real sites
PAGES_PER_HOST = 80
PAGE_BYTES = 30_000  # a news page with its markup, before compression
BOMB_BYTES = 64 * 2**20  # inflated size; about 64 KiB on the wire
RANDOM_SEED = 20250314  # fixed pages, so runs on different machines are comparable
REPEATS = 3  # the best of a few passes: other processes only ever make a pass slower
# Vocabulary of the invented pages (written for this benchmark).
WORDS = (
    "le convoi la région de Gao les autorités de transition à Niamey une attaque près de Djibo "
    "le ministre a déclaré que la situation sécuritaire reste préoccupante selon des sources"
)
UNSPACED = replace(NetworkSettings(), min_host_delay=0.0)


def run() -> dict[str, float | int]:
    """Start the servers, time the passes and the bomb, and return the figures."""
    servers = [HttpTestServer().start() for _ in range(HOSTS)]
    try:
        for server in servers:
            server.route("/robots.txt", body=b"User-agent: *\nDisallow: /abonnes/\n")
            server.route(
                "/page",
                body=_page(),
                gzip=True,
                headers={"Content-Type": "text/html; charset=utf-8"},
            )
        urls = [
            (s.url("/page"), s.url("/feed.xml")) for s in servers for _ in range(PAGES_PER_HOST)
        ]
        best = min(asyncio.run(_fetch_all(urls)) for _ in range(REPEATS))
        sequential = min(
            asyncio.run(_fetch_all(urls[:100], one_at_a_time=True)) for _ in range(REPEATS)
        )
        bomb_seconds, bomb_peak = _bomb(servers[0])
    finally:
        for server in servers:
            server.stop()
    return {
        "pages": len(urls),
        "hosts": HOSTS,
        "pages_per_s": round(len(urls) / best),
        "sequential_ms_per_page": round(sequential / 100 * 1000, 2),
        "bomb_inflated_mb": BOMB_BYTES // 2**20,
        "bomb_cap_mb": UNSPACED.max_page_bytes // 2**20,
        "bomb_seconds": round(bomb_seconds, 3),
        "bomb_peak_python_mb": round(bomb_peak / 2**20, 1),
    }


async def _fetch_all(urls: list[tuple[str, str]], *, one_at_a_time: bool = False) -> float:
    async with Fetcher(UNSPACED) as fetcher:
        started = time.perf_counter()
        if one_at_a_time:
            results = [await fetcher.fetch_page(u, origin=o) for u, o in urls]
        else:
            results = await asyncio.gather(*(fetcher.fetch_page(u, origin=o) for u, o in urls))
        seconds = time.perf_counter() - started
    failed = [r for r in results if not r.ok]
    if failed:
        raise RuntimeError(f"{len(failed)} fetches failed, e.g. {failed[0].error}")
    return seconds


def _bomb(server: HttpTestServer) -> tuple[float, int]:
    server.route(
        "/bomb", body=gzip.compress(b"\0" * BOMB_BYTES), headers={"Content-Encoding": "gzip"}
    )
    tracemalloc.start()
    try:
        seconds = asyncio.run(_fetch_expecting_too_large(server.url("/bomb")))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return seconds, peak


async def _fetch_expecting_too_large(url: str) -> float:
    async with Fetcher(UNSPACED) as fetcher:
        started = time.perf_counter()
        result = await fetcher.fetch_page(url, origin=url)
        seconds = time.perf_counter() - started
    if result.error_kind != "too_large":
        raise RuntimeError(f"the bomb was not stopped: {result}")
    return seconds


def _page() -> bytes:
    """An invented French page of PAGE_BYTES, reproducible from RANDOM_SEED."""
    words = WORDS.split()
    rng = random.Random(RANDOM_SEED)
    paragraphs = []
    size = 0
    while size < PAGE_BYTES:
        paragraph = "<p>" + " ".join(rng.choice(words) for _ in range(60)) + ".</p>\n"
        paragraphs.append(paragraph)
        size += len(paragraph.encode("utf-8"))
    return ("<html><body>" + "".join(paragraphs) + "</body></html>").encode("utf-8")


if __name__ == "__main__":
    print(run())
