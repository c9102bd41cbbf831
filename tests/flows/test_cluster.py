"""Past one machine: four process workers write one DuckLake, as one plain ingest would.

Real parts only: the session's PostgreSQL (the lakes' catalogs, and the database of this
module's own Prefect server, as a server many workers talk to should have), a clean copy of the
repository deployed with `prefect deploy`, four `prefect worker start` processes on the
`sahelwatch` process pool, and a local site of 200 feeds on 200 hosts (127.0.0.2 ...). One more
outlet's feed is not in the feed list: its pages are listed only by an aggregator feed on
another partition's host, so they are fetched under their host's Prefect concurrency limit.
Cluster ingests are started with `prefect deployment run`, as an operator would. What they
store is compared row by row on content keys (tests/support/store_snapshot.py) with what the
plain `ingest_feeds` flow stores of the same site on one machine, into a DuckDB file.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
import yaml

from bench.cluster import Cluster, flow_runs_of, host_limits, talking_to
from bench.e2e_corpus import Corpus, generate, load
from bench.e2e_server import CorpusServer, free_port
from extractors.partitions import partition_of_host
from flows.prefect_reports import flush_run_reports
from storage.lake import LakeStore
from tests.support.postgres_fixtures import new_lake_locator
from tests.support.prefect_server import PrefectServer
from tests.support.store_snapshot import (
    differences,
    half_written,
    reading,
    run_statuses,
    snapshot,
)

FEEDS = 200  # one outlet, feed and host each, in the feed list
AGGREGATOR_PATH = "/a-la-une.xml"
ITEMS = 1
WORKERS = 4
LATENCY_S = 0.05
# The shipped politeness: a partition's hosts each take a few seconds (robots.txt, feed, page),
# so there is a run in progress to kill.
MIN_HOST_DELAY_S = 1.0
RUN_TIMEOUT_S = 600
KILL_WINDOW_S = 300


@dataclass
class Site:
    corpus: Corpus
    feeds: Path
    root: Path
    hidden_host: str  # the outlet reached only through the aggregator


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Iterator[Site]:
    root = tmp_path_factory.mktemp("cluster-site")
    hosts = [f"127.0.0.{n}" for n in range(2, FEEDS + 3)]
    generate(root / "corpus", FEEDS + 1, ITEMS, FEEDS + 1, free_port(hosts))
    hidden, aggregator = _add_aggregator(root / "corpus")
    corpus = load(root / "corpus")
    listed = [f for f in corpus.feeds if f.host != hidden]
    feeds = root / "feeds.yaml"
    network = {"allow_private_hosts": corpus.hosts, "min_host_delay": MIN_HOST_DELAY_S}
    config = {"version": 1, "network": network,
              "feeds": [{"name": f.name, "url": f.url} for f in listed]}  # fmt: skip
    feeds.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    assert aggregator in {f.url for f in listed}
    with CorpusServer(corpus, LATENCY_S):
        yield Site(corpus, feeds, root, hidden)


def _add_aggregator(directory: Path) -> tuple[str, str]:
    """Take the last outlet's feed out of the list; list its pages in a feed on a host of
    another partition (of WORKERS). Returns (hidden host, aggregator feed URL)."""
    manifest = json.loads((directory / "manifest.json").read_text("utf-8"))
    *listed, hidden = manifest["feeds"]
    owner = partition_of_host(hidden["host"], WORKERS)
    home = next(f for f in listed if partition_of_host(f["host"], WORKERS) != owner)
    url = home["url"].rsplit("/", 1)[0] + AGGREGATOR_PATH
    hidden_pages = [p["url"] for p in manifest["pages"] if p["feed"] == len(listed)]
    items = "".join(f"<item><title>À la une</title><link>{u}</link></item>" for u in hidden_pages)
    rss = '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>À la une'
    (directory / "feeds" / "aggregator.xml").write_text(
        f"{rss}</title>{items}</channel></rss>", "utf-8"
    )
    manifest["feeds"].append(
        {"name": "À la une", "url": url, "file": "feeds/aggregator.xml", "host": home["host"]}
    )
    (directory / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    return hidden["host"], url


@pytest.fixture(scope="module")
def cluster_server(postgres_server, tmp_path_factory) -> Iterator[PrefectServer]:
    """This module's own Prefect server, on PostgreSQL: four workers' runs reporting at once
    made the SQLite-backed one answer 'database is locked' and 503."""
    postgres_server.create_database("prefect_cluster")
    root = tmp_path_factory.mktemp("cluster-prefect")
    server = PrefectServer(root, postgres_server.sqlalchemy_url("prefect_cluster")).start()
    try:
        with talking_to(server):
            yield server
            flush_run_reports(timeout_s=60)
    finally:
        server.stop()


@pytest.fixture(scope="module")
def cluster(cluster_server, tmp_path_factory) -> Iterator[Cluster]:
    cluster = Cluster(cluster_server, tmp_path_factory.mktemp("cluster"))
    cluster.deploy()
    cluster.start_workers(WORKERS)
    try:
        yield cluster
    finally:
        cluster.stop_workers()


@pytest.fixture(scope="module")
def single_machine_store(cluster_server, site) -> Path:
    """The reference: the whole site ingested by the plain `ingest_feeds` flow, in this process,
    into a DuckDB file (no partitions, no workers, no lake; stories grouped at the run's end)."""
    from flows.ingest import ingest_feeds

    db = site.root / "single-machine.duckdb"
    result = asyncio.run(ingest_feeds(feeds=str(site.feeds), db=str(db)))
    assert result["failed"] == 0, result["report"]
    return db


def expected_rows(corpus: Corpus) -> dict[str, int]:
    """What the site must leave in a store, from the corpus's own manifest: one document per
    French text (a wire copy points to the page it copies, maybe itself a copy), the other URLs
    of a text as same_text rows, and every page whose text is not French as a not_french skip."""

    def original(n: int) -> int:
        while corpus.pages[n].wire_of is not None:
            n = corpus.pages[n].wire_of
        return n

    texts = [original(n) for n in range(len(corpus.pages))]
    french = [t for t in texts if corpus.pages[t].language == "fr"]
    return {
        "documents": len(set(french)),
        "same_text": len(french) - len(set(french)),
        "not_french": len(texts) - len(french),
    }


def stored_rows(store: Path | str) -> dict[str, int]:
    """Per kind, the rows a store (a DuckDB file or a lake's locator) holds."""
    with reading(store) as con:
        rows = con.execute(
            "SELECT 'documents', count(*) FROM documents WHERE origin <> 'seed' "
            "UNION ALL SELECT relation, count(*) FROM document_urls GROUP BY ALL "
            "UNION ALL SELECT reason, count(*) FROM skipped GROUP BY ALL"
        ).fetchall()
    return dict(rows)


@pytest.mark.slow
def test_four_workers_store_exactly_what_a_plain_ingest_on_one_machine_stores(
    cluster, site, single_machine_store, postgres_server
):
    lake = new_lake_locator(postgres_server, site.root / "four-workers")
    run_id = cluster.start_cluster_ingest(site.feeds, lake, WORKERS)
    run = cluster.wait(run_id, RUN_TIMEOUT_S)
    assert run.state == "Completed", cluster.logs()

    partitions = partition_runs(run_id)
    assert sorted(p.parameters["partition"] for p in partitions) == ["1/4", "2/4", "3/4", "4/4"]
    assert {p.state.name for p in partitions} == {"Completed"}
    assert stored_rows(single_machine_store) == expected_rows(site.corpus)
    reference, four = snapshot(single_machine_store), snapshot(lake)
    assert four == reference, differences(reference, four)
    assert half_written(lake) == {}
    # The pages on another partition's host were fetched under that host's Prefect concurrency
    # limit, and its slots given back; hosts a partition owns need none.
    limits = {limit.name: limit for limit in host_limits()}
    assert set(limits) == {f"sahelwatch-host-{site.hidden_host}"}
    assert [limit.active_slots for limit in limits.values()] == [0]


@pytest.mark.slow
def test_a_worker_killed_mid_run_has_its_partition_run_again_nothing_lost_or_doubled(
    cluster, site, single_machine_store, postgres_server
):
    lake = new_lake_locator(postgres_server, site.root / "killed-worker")
    run_id = cluster.start_cluster_ingest(site.feeds, lake, WORKERS)
    storing, killed = _kill_a_worker_that_has_stored_part_of_its_partition(cluster, run_id, lake)
    run = cluster.wait(run_id, RUN_TIMEOUT_S)
    assert run.state == "Completed", cluster.logs()

    # A worker may run several partitions: each one it was running is run again, once.
    attempts = partition_runs(run_id)
    lost = {p.parameters["partition"] for p in attempts if p.id in killed}
    again = Counter(p.parameters["partition"] for p in attempts)
    assert again == Counter({f"{n}/{WORKERS}": 2 if f"{n}/{WORKERS}" in lost else 1
                             for n in range(1, WORKERS + 1)})  # fmt: skip
    assert {p.state.name for p in attempts if p.id in killed} == {"Crashed"}
    statuses = {run: status for run, _, status in run_statuses(lake)}
    assert statuses[str(storing.id)] == "interrupted"  # found dead and ended, not left running
    reference, after_kill = snapshot(single_machine_store), snapshot(lake)
    assert after_kill == reference, differences(reference, after_kill)
    assert half_written(lake) == {}
    cluster.start_workers(1, sharing=WORKERS)  # back to four for whatever runs next


@pytest.mark.slow
def test_a_backfill_split_over_four_workers_stores_every_page_once(cluster, site, postgres_server):
    urls = site.root / "urls.txt"
    urls.write_text("".join(f"{p.url}\n" for p in site.corpus.pages), encoding="utf-8")
    lake = new_lake_locator(postgres_server, site.root / "backfill")
    run_id = cluster.start_cluster_backfill(urls, site.feeds, lake, WORKERS)
    run = cluster.wait(run_id, RUN_TIMEOUT_S)
    assert run.state == "Completed", cluster.logs()

    discovery = [r for r in flow_runs_of(run_id) if r.parameters.get("stage") == "discover"]
    assert [r.state.name for r in discovery] == ["Completed"]  # the source was read once
    parts = partition_runs(run_id)
    assert sorted(p.parameters["partition"] for p in parts) == ["1/4", "2/4", "3/4", "4/4"]
    assert stored_rows(lake) == expected_rows(site.corpus)
    assert half_written(lake) == {}
    store = LakeStore.from_locator(lake)
    try:
        with store.read() as con:
            progress = con.execute(
                "SELECT b.status, count(*), count(i.done_at) FROM backfills b "
                "JOIN backfill_items i USING (backfill_id) GROUP BY ALL"
            ).fetchall()
    finally:
        store.close()
    pages = len(site.corpus.pages)
    assert progress == [("completed", pages, pages)]  # every page found, every page done


def partition_runs(run_id: UUID) -> list:
    """The runs a cluster run started for its partitions (not its discovery subflow)."""
    return [r for r in flow_runs_of(run_id) if r.parameters.get("partition")]


def _kill_a_worker_that_has_stored_part_of_its_partition(
    cluster: Cluster, run_id: UUID, lake: str
) -> tuple[Any, set[UUID]]:
    """SIGKILL the worker (and its flow-run processes) of a partition run that has begun storing;
    returns that run and every partition run the worker was running."""
    store = LakeStore.from_locator(lake)
    deadline = time.monotonic() + KILL_WINDOW_S
    try:
        while time.monotonic() < deadline:
            stored = _stored_by_run(store)
            for part in partition_runs(run_id):
                if part.state.is_running() and stored.get(str(part.id), 0) > 0:
                    worker = cluster.worker_running(part.id)
                    if worker is not None and cluster.worker_running(run_id) is not worker:
                        on_it = {p.id for p in partition_runs(run_id)
                                 if cluster.worker_running(p.id) is worker}  # fmt: skip
                        cluster.kill(worker)
                        return part, on_it
            time.sleep(0.2)
    finally:
        store.close()
    seen = [(p.parameters["partition"], p.state.name, cluster.worker_running(p.id) is not None)
            for p in partition_runs(run_id)]  # fmt: skip
    pytest.fail(
        f"no partition run was caught storing within {KILL_WINDOW_S} s; partition runs "
        f"(partition, state, on a live worker): {seen}; stored by run: {stored}\n{cluster.logs()}"
    )


def _stored_by_run(store: LakeStore) -> dict[str, int]:
    # exists(): the catalog is created a moment before the migrations' one transaction commits
    if not store.exists():
        return {}
    with store.read() as con:
        return dict(con.execute("SELECT run_id, count(*) FROM documents GROUP BY 1").fetchall())
