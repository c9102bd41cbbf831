"""`make demo`: the whole pipeline over the bundled sample site, offline, on a fresh demo store.

Serves the sample outlets on 127.0.0.1, writes a feed list pointing at them, runs the real
`ingest_feeds` flow twice (the second run shows that nothing is added again), backfills one
outlet's archive through its sitemaps, then queries the result with `sahelwatch query` as an
analyst would.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import yaml

from demo.site_server import DemoSite
from flows.cli import main as sahelwatch
from flows.prefect_api import prefect_api, wait_ready

DEMO_DIR = Path(".demo")
DEMO_DB = DEMO_DIR / "demo.duckdb"
DEMO_FEEDS = DEMO_DIR / "feeds.yaml"

# The sample outlet whose archive `make demo` backfills, and the window (demo/site/README.md says
# which of its archive pages fall inside it).
BACKFILL_OUTLET = "bamako-matin"
BACKFILL_SINCE, BACKFILL_UNTIL = "2025-01-01", "2025-03-31"

QUERIES = {
    "Documents per source": """
        SELECT source, count(*) AS docs, count(duplicate_of) AS near_copies,
               min(published_at)::DATE AS first, max(published_at)::DATE AS last
        FROM documents GROUP BY source ORDER BY docs DESC""",
    "Why items were not stored": """
        SELECT reason, count(*) AS items, any_value(detail) AS example
        FROM skipped GROUP BY reason ORDER BY items DESC""",
    "Most mentioned countries and actors": """
        SELECT entity_kind, entity_name, count(*) AS documents
        FROM mentions GROUP BY ALL ORDER BY documents DESC LIMIT 12""",
    "Stories carried by several outlets": """
        SELECT * FROM stories WHERE copies > 1 ORDER BY copies DESC LIMIT 10""",
    "Where documents came from": """
        SELECT origin, split_part(discovered_by, ':', 1) AS found_by, count(*) AS docs
        FROM documents GROUP BY ALL ORDER BY docs DESC""",
    "Copies kept as extra URLs": """
        SELECT relation, count(*) AS urls FROM document_urls GROUP BY relation""",
}


def write_feed_list(site: DemoSite) -> None:
    config = {
        "version": 1,
        # The sample outlets live on 127.0.0.1; these hosts are ours, so robots rules and the
        # private-address guard are kept, except that the loopback host is allowed by name.
        "network": {
            "allow_private_hosts": ["127.0.0.1"],
            "min_host_delay": 0.05,
            "backoff_base": 0.05,
            "max_retries": 1,
        },
        "feeds": [
            {"name": f.name, "url": f.url, **({"country": f.country} if f.country else {})}
            for f in site.feeds
        ],
    }
    DEMO_FEEDS.write_text(yaml.safe_dump(config, allow_unicode=True, sort_keys=False), "utf-8")


def backfill_archive(site: DemoSite, db: list[str]) -> int:
    """Bamako Matin's archive through its robots.txt sitemaps: a dry run, then the backfill."""
    window = ["--since", BACKFILL_SINCE, "--until", BACKFILL_UNTIL]
    source = ["--site", site.bases[BACKFILL_OUTLET], "--feeds", str(DEMO_FEEDS)]
    step(f"Backfill dry run: {BACKFILL_OUTLET}'s sitemaps, {BACKFILL_SINCE} to {BACKFILL_UNTIL}")
    if sahelwatch(["backfill", *source, *window, "--dry-run", *db]) != 0:
        return 1
    step("Backfill: pages published in the window that the feeds never listed")
    if sahelwatch(["backfill", *source, *window, *db]) != 0:
        return 1
    step("sahelwatch backfill --status")
    return sahelwatch(["backfill", "--status", *db])


def step(title: str) -> None:
    print(f"\n{'=' * 78}\n{title}\n{'=' * 78}", flush=True)


def run() -> int:
    DEMO_DIR.mkdir(exist_ok=True)
    for stale in (DEMO_DB, DEMO_DB.with_suffix(".duckdb.wal")):
        stale.unlink(missing_ok=True)  # a fresh store each time: the sample site's ports change
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("DO_NOT_TRACK", "1")
    db = ["--db", str(DEMO_DB)]
    # One temporary Prefect API for every command of the demo, instead of one each.
    with prefect_api() as api, DemoSite() as site:
        wait_ready(api)
        write_feed_list(site)
        step(f"Sample site: {len(site.feeds)} feeds from {len(site.bases)} outlets on 127.0.0.1")
        for feed in site.feeds:
            print(f"  {feed.name:<32} {feed.url}")
        step("First ingest run: poll every feed, fetch, extract, keep French, deduplicate, tag")
        if sahelwatch(["ingest", "--feeds", str(DEMO_FEEDS), *db]) != 0:
            return 1
        step("Second run, nothing new: conditional GETs, no rows added except in `runs`")
        if sahelwatch(["ingest", "--feeds", str(DEMO_FEEDS), "--force", *db]) != 0:
            return 1
        if backfill_archive(site, db) != 0:
            return 1
    for title, sql in QUERIES.items():
        step(f"sahelwatch query: {title}")
        print(" ".join(sql.split()))
        sahelwatch(["query", *db, sql])
    step("sahelwatch stats")
    sahelwatch(["stats", *db])
    print(
        f"\nDemo store: {DEMO_DB}. Try: .venv/bin/sahelwatch query --db {DEMO_DB} "
        '"SELECT title, source FROM documents LIMIT 5"'
    )
    return 0


if __name__ == "__main__":
    sys.exit(run())
