"""`backfill`: each source against generated archives, the date window, dry runs, resuming.

The expected pages come from each fixture's manifest (tests/support/archive_fixtures.py).
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest
import yaml

from flows.backfill import backfill
from flows.extraction_pool import WORKERS_ENV_VAR
from tests.support.archive_fixtures import (
    make_articles,
    serve_outlet_site,
    serve_paged_feed,
    write_saved_pages,
    write_warc,
)
from tests.support.http_server import HttpTestServer

SINCE, UNTIL = "2024-03-01", "2024-04-30"
SINCE_DT = datetime(2024, 3, 1, tzinfo=UTC)
UNTIL_DT = datetime(2024, 4, 30, 23, 59, 59, 999999, tzinfo=UTC)
EXE = Path(sys.executable).with_name("sahelwatch")
# Pages of the archive a run is killed in the middle of (see that test).
MIDWAY_ARTICLES = 160


def network_file(tmp_path: Path) -> str:
    config = {
        "network": {
            "allow_private_hosts": ["127.0.0.1"],
            "min_host_delay": 0.0,
            "backoff_base": 0.01,
            "max_retries": 1,
            "per_host_concurrency": 4,
        },
        # feeds.yaml must list a feed; a backfill reads only its network settings (and outlet
        # names by host, see test_pages_are_named_after_the_outlet_of_their_host).
        "feeds": [{"name": "Unrelated outlet", "url": "https://unrelated.example/rss"}],
    }
    path = tmp_path / "feeds.yaml"
    path.write_text(yaml.safe_dump(config), "utf-8")
    return str(path)


def rows(db: Path, sql: str) -> list[tuple]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def kill_once_midway(run: subprocess.Popen, db: Path) -> tuple[int, int]:
    """Kill `run` once the store shows some of its backfill pages done; returns (done, total)
    as seen then. The store stays open read-only until the kill, so the run cannot write
    anything more in between (its next write waits for the file)."""
    deadline = time.monotonic() + 180
    done = total = 0
    while time.monotonic() < deadline and run.poll() is None:
        try:
            con = duckdb.connect(str(db), read_only=True)
        except duckdb.Error:  # not created yet, or being written
            time.sleep(0.05)
            continue
        with con:  # held until the kill
            try:
                done, total = con.execute(
                    "SELECT count(done_at), count(*) FROM backfill_items"
                ).fetchone()
            except duckdb.Error:  # created, its tables not yet
                done = total = 0
            if done:
                run.kill()
                break
        time.sleep(0.05)
    run.kill()
    run.wait()
    return done, total


def stored_urls(db: Path) -> set[str]:
    return {u for (u,) in rows(db, "SELECT url FROM documents WHERE origin = 'backfill'")}


def run_backfill(tmp_path: Path, **kw) -> dict:
    kw.setdefault("db", str(tmp_path / "store.duckdb"))
    kw.setdefault("feeds", network_file(tmp_path))
    return asyncio.run(backfill(**kw))


@pytest.fixture(scope="module")
def articles():
    return make_articles()


@pytest.fixture
def site(articles):
    with HttpTestServer() as server:
        yield server, serve_outlet_site(server, articles)


def test_a_site_backfill_stores_exactly_the_pages_published_in_the_window(
    prefect_api, site, tmp_path
):
    server, manifest = site
    result = run_backfill(tmp_path, site=manifest.base_url, since=SINCE, until=UNTIL)
    db = tmp_path / "store.duckdb"
    assert stored_urls(db) == manifest.published_in(SINCE_DT, UNTIL_DT)
    assert result["stored"] == len(manifest.published_in(SINCE_DT, UNTIL_DT))
    # a page last modified before the window was published before it: never fetched
    fetched = {server.base_url + r.path for r in server.requests} & set(manifest.articles)
    assert fetched and not {u for u in fetched if manifest.articles[u].modified < SINCE_DT}
    # a page fetched (its sitemap could not rule it out: edited later, or after --until) and
    # found outside the window by its own date is a skip row, not a silent drop
    outside = {u for (u,) in rows(db, "SELECT url FROM skipped WHERE reason = 'outside_window'")}
    assert outside == fetched - manifest.published_in(SINCE_DT, UNTIL_DT)
    kinds = {
        d.split(":", 1)[0]
        for (d,) in rows(db, "SELECT discovered_by FROM documents WHERE origin = 'backfill'")
    }
    assert kinds == {"sitemap"}


def test_rerunning_a_finished_backfill_adds_nothing(prefect_api, site, tmp_path):
    _, manifest = site
    run_backfill(tmp_path, site=manifest.base_url, since=SINCE, until=UNTIL)
    db = tmp_path / "store.duckdb"
    tables = ("documents", "document_urls", "skipped", "mentions", "backfill_items")
    before = {t: rows(db, f"SELECT count(*) FROM {t}") for t in tables}
    again = run_backfill(tmp_path, site=manifest.base_url, since=SINCE, until=UNTIL)
    assert {t: rows(db, f"SELECT count(*) FROM {t}") for t in tables} == before
    assert again["stored"] == 0 and again["fetched"] == 0


def test_one_sitemap_index_given_directly_is_read_with_its_children(prefect_api, site, tmp_path):
    _, manifest = site
    run_backfill(tmp_path, sitemap=manifest.index_url)
    assert stored_urls(tmp_path / "store.duckdb") == set(manifest.articles)


def test_a_paged_feed_is_walked_back_to_since_and_no_further(prefect_api, articles, tmp_path):
    with HttpTestServer() as server:
        serve_outlet_site(server, articles)  # the article pages the feed links to
        manifest = serve_paged_feed(server, articles)
        run_backfill(tmp_path, feed_pages=manifest.feed_url, since=SINCE)
        asked = [server.base_url + r.path for r in server.requests]
    assert stored_urls(tmp_path / "store.duckdb") == manifest.published_in(SINCE_DT, None)
    pages_read = [u for u in manifest.page_urls if u in asked]
    assert len(pages_read) == manifest.pages_reaching(SINCE_DT)


def test_saved_pages_get_their_canonical_url_else_og_url_else_their_path(
    prefect_api, articles, tmp_path
):
    manifest = write_saved_pages(tmp_path / "saved", articles[:12])
    run_backfill(tmp_path, directory=str(manifest.root))
    db = tmp_path / "store.duckdb"
    assert stored_urls(db) == {p.url for p in manifest.pages}
    found = dict(rows(db, "SELECT url, discovered_by FROM documents WHERE origin = 'backfill'"))
    for page in manifest.pages:
        assert found[page.url].endswith(f"({page.how})")


def test_a_warc_gives_its_html_pages_and_counts_every_other_record(prefect_api, articles, tmp_path):
    manifest = write_warc(tmp_path / "crawl.warc.gz", articles[:10], "https://sahel.example")
    result = run_backfill(tmp_path, warc=[str(manifest.path)])
    assert stored_urls(tmp_path / "store.duckdb") == {r.url for r in manifest.pages}
    passed = {
        k.split(":", 1)[1]: n
        for k, n in result.items()
        if k.startswith("archive_records_passed_over:")
    }
    assert passed == dict(manifest.passed_kinds())


def test_a_url_list_stores_its_pages_and_records_its_unusable_lines(prefect_api, site, tmp_path):
    _, manifest = site
    urls = sorted(manifest.articles)[:5]
    listing = tmp_path / "urls.txt"
    listing.write_text("\n".join(["# a comment", *urls, "", "mailto:redaction@example.org"]))
    run_backfill(tmp_path, urls_file=str(listing))
    db = tmp_path / "store.duckdb"
    assert stored_urls(db) == set(urls)
    assert rows(db, "SELECT url, reason FROM skipped") == [
        ("mailto:redaction@example.org", "bad_link")
    ]


def test_a_dry_run_counts_and_shows_pages_but_writes_nothing(site, tmp_path):
    _, manifest = site
    db = tmp_path / "store.duckdb"
    result = subprocess.run(
        [
            str(EXE),
            "backfill",
            "--site",
            manifest.base_url,
            "--since",
            SINCE,
            "--until",
            UNTIL,
            "--dry-run",
            "--db",
            str(db),
            "--feeds",
            network_file(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert not db.exists()
    shown = [line[2:] for line in result.stdout.splitlines() if line.startswith("- ")]
    assert shown and set(shown) <= set(manifest.articles)
    # a lastmod before --since rules a page out; an edit after it keeps an older page listed
    listed = {u for u, a in manifest.articles.items() if a.modified >= SINCE_DT}
    assert f"pages to fetch: {len(listed)};" in result.stdout


def test_a_backfill_killed_midway_resumes_to_the_same_store_as_an_uninterrupted_one(
    prefect_api, tmp_path
):
    from prefect.settings import PREFECT_API_URL

    env = {**os.environ, "PREFECT_API_URL": PREFECT_API_URL.value()}
    # Enough pages that the rest, after the first write, take about as long as the writes'
    # spacing (1 s): with the 36 of `articles`, they were all written 0.2 s after the first.
    many = make_articles(MIDWAY_ARTICLES)
    warc = write_warc(tmp_path / "crawl.warc.gz", many, "https://sahel.example")
    killed, whole = tmp_path / "killed.duckdb", tmp_path / "whole.duckdb"
    command = [
        str(EXE),
        "backfill",
        "--warc",
        str(warc.path),
        "--feeds",
        network_file(tmp_path),
        "--no-progress",
    ]
    # One worker, so the pages after the first write take a second or more: the window in which
    # the run is seen midway. With two, the rest could all be written between two looks and the
    # run end before the kill (it did, once in a full suite).
    run = subprocess.Popen(
        [*command, "--db", str(killed)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env={**env, WORKERS_ENV_VAR: "1"},
    )
    done, total = kill_once_midway(run, killed)
    assert 0 < done < total, f"the run was seen with {done} of {total} pages done, not midway"
    # The killed run's rerun and the uninterrupted run write stores of their own: side by side.
    finishing = [subprocess.Popen([*command, "--db", str(db)], env=env) for db in (killed, whole)]
    assert [p.wait(timeout=300) for p in finishing] == [0, 0]
    key = (
        "SELECT canonical_url, content_hash, title, duplicate_of IS NULL FROM documents ORDER BY 1"
    )
    assert rows(killed, key) == rows(whole, key)
    assert rows(killed, "SELECT count(*) = count(DISTINCT canonical_url) FROM documents") == [
        (True,)
    ]
    mentions = "SELECT document_id, entity_id, count FROM mentions ORDER BY ALL"
    assert rows(killed, mentions) == rows(whole, mentions)
    statuses = [s for (s,) in rows(killed, "SELECT status FROM runs ORDER BY started_at")]
    assert statuses[-1] == "completed" and statuses.count("completed") == 1


def test_status_lists_each_backfill_with_its_progress(prefect_api, articles, tmp_path):
    warc = write_warc(tmp_path / "crawl.warc.gz", articles[:6], "https://sahel.example")
    run_backfill(tmp_path, warc=[str(warc.path)], limit=2)
    result = subprocess.run(
        [str(EXE), "backfill", "--status", "--db", str(tmp_path / "store.duckdb")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    line = next(x for x in result.stdout.splitlines() if " warc " in x)
    cells = [c.strip() for c in line.split("|")]
    assert cells[3:8] == ["partial", "1", str(len(warc.pages)), "2", str(len(warc.pages) - 2)]
