"""Prefect's fixed cost around a command-line run, and a run with nothing new.

- `temporary_api_start_s`: what `sahelwatch ingest` pays first when PREFECT_API_URL is unset
  (spawning Prefect's API server and waiting until it answers), on a fresh PREFECT_HOME (its
  database is created) and on one already used.
- `idle_run_s`: the `ingest_feeds` flow over FEEDS feeds that answer 304, once Prefect is ready:
  the cost of a scheduled poll when nothing changed.
- `idle_cli_s`: the same through the `sahelwatch` command with PREFECT_API_URL set to a running
  API (Python start, imports, config, store, flow), i.e. the cost that `serve` or a server avoid.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from bench.scratch import scratch
from tests.support.http_server import HttpTestServer

FEEDS = 32  # as many as the shipped config/feeds.yaml lists, a little more
HOSTS = 8  # several outlets, as in real life: per-host politeness applies
ITEMS_PER_FEED = 3
STARTS = 2  # temporary API starts measured on each kind of PREFECT_HOME
ARTICLE = (
    Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "pages" / "article_full.html"
).read_bytes()


def run(feeds: int = FEEDS, starts: int = STARTS) -> dict:
    from flows import prefect_api

    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("DO_NOT_TRACK", "1")
    os.environ["PREFECT_LOGGING_LEVEL"] = "CRITICAL"
    os.environ.pop(prefect_api.API_URL_ENV, None)
    home = tempfile.mkdtemp(prefix="bench-prefect-home-")
    os.environ["PREFECT_HOME"] = home
    cold = [_start(prefect_api) for _ in range(1)]
    warm = [_start(prefect_api) for _ in range(starts)]
    with prefect_api.prefect_api() as api:
        prefect_api.wait_ready(api)
        idle, idle_cli = _idle_runs(feeds)
    return {
        "temporary_api_start_fresh_home_s": round(cold[0], 2),
        "temporary_api_start_s": round(min(warm), 2),
        "temporary_api_start_worst_s": round(max(warm), 2),
        "feeds": feeds,
        "idle_run_s": round(idle, 2),
        "idle_cli_s": round(idle_cli, 2),
    }


def _start(prefect_api) -> float:
    api = prefect_api.spawn_temporary_api()
    try:
        prefect_api.wait_ready(api)
        return api.ready_after_s or 0.0
    finally:
        prefect_api.stop(api)


def _idle_runs(feeds: int) -> tuple[float, float]:
    servers = [HttpTestServer().start() for _ in range(HOSTS)]
    try:
        urls = [_serve_feed(servers[n % HOSTS], n) for n in range(feeds)]
        with scratch("bench-idle-") as work:
            return _idle_runs_in(work, urls)
    finally:
        for server in servers:
            server.stop()


def _serve_feed(server: HttpTestServer, n: int) -> str:
    """Feed n and its ITEMS_PER_FEED pages on `server`; the feed's URL."""
    links = []
    for i in range(ITEMS_PER_FEED):
        path = f"/f{n}/a{i}.html"
        server.route(path, body=ARTICLE, headers={"Content-Type": "text/html"})
        links.append(f"<item><title>A {n}.{i}</title><link>{server.url(path)}</link></item>")
    body = f'<rss version="2.0"><channel><title>F{n}</title>{"".join(links)}</channel></rss>'
    server.route(f"/f{n}.xml", body=body.encode(), etag=f'"v{n}"')
    return server.url(f"/f{n}.xml")


def _idle_runs_in(work: Path, urls: list[str]) -> tuple[float, float]:
    """A run that stores the pages, then a forced run (in this process, then the CLI's)."""
    from flows.ingest import ingest_feeds

    feeds_file = work / "feeds.yaml"
    feeds_file.write_text(
        yaml.safe_dump(
            {
                "network": {"allow_private_hosts": ["127.0.0.1"], "min_host_delay": 0.0},
                "feeds": [{"name": f"Feed {n}", "url": u} for n, u in enumerate(urls)],
            }
        )
    )
    db = str(work / "store.duckdb")
    asyncio.run(ingest_feeds(feeds=str(feeds_file), db=db))  # first run stores the pages
    started = time.perf_counter()
    asyncio.run(ingest_feeds(feeds=str(feeds_file), db=db, force=True))
    idle = time.perf_counter() - started
    exe = Path(sys.executable).with_name("sahelwatch")
    started = time.perf_counter()
    subprocess.run(
        [str(exe), "ingest", "--force", "--feeds", str(feeds_file), "--db", db],
        check=True,
        capture_output=True,
    )
    return idle, time.perf_counter() - started
