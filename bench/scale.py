"""`make scale`: one cluster ingest with 1 worker, then with 4, on one DuckLake each; compared.

Starts everything itself, offline: a temporary PostgreSQL (the lakes' catalogs), a temporary
Prefect server, a site of FEEDS outlets on as many local hosts (bench/e2e_corpus.py's pages,
20-150 KB), then from a clean copy of the repository `prefect work-pool create` and `prefect
deploy`, and `prefect worker start` processes. Each ingest is `prefect deployment run
ingest_cluster/sahel-ingest-cluster`. The two lakes must hold the same rows on content keys;
the pages per second of each run are printed and written to bench/results/scale.json.

    python -m bench.scale [--feeds 200] [--items 5] [--workers 4] [--kill]

`--kill` also runs a third ingest with 4 workers and SIGKILLs one worker mid-run: its partition
must be run again and the lake must still equal the 1-worker one.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import tempfile
import time
from pathlib import Path

import yaml

from bench.cluster import Cluster, flow_runs_of, pages_per_second, talking_to
from bench.e2e_corpus import generate
from bench.e2e_server import CorpusServer, free_port
from storage.lake import LAKE_PREFIX
from tests.support.postgres_server import PostgresServer
from tests.support.prefect_server import PrefectServer
from tests.support.store_snapshot import half_written, lost_and_doubled, snapshot

RESULTS = Path(__file__).resolve().parent / "results" / "scale.json"
FEEDS, ITEMS, WORKERS = 200, 5, 4
LATENCY_S = 0.05
RUN_TIMEOUT_S = 1800


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.scale", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--feeds", type=int, default=FEEDS, help="outlets, one feed and host each")
    parser.add_argument("--items", type=int, default=ITEMS, help="items per feed")
    parser.add_argument("--workers", type=int, default=WORKERS, help="workers of the cluster run")
    parser.add_argument("--kill", action="store_true", help="also kill a worker mid-run")
    args = parser.parse_args(argv)
    # Stopped from outside (timeout, Ctrl-C): the servers it started are stopped on the way out.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        results = run(args.feeds, args.items, args.workers, kill=args.kill)
    except (RuntimeError, TimeoutError) as exc:  # no PostgreSQL, a server that did not start
        print(f"scale: {str(exc).splitlines()[0]}", file=sys.stderr)
        return 1
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2), encoding="utf-8")
    print(render(results))
    print(f"scale: results written to {RESULTS}", file=sys.stderr)
    same = all(
        r["lost"] == r["doubled"] == 0 and not r["half_written"] for r in results["runs"][1:]
    )
    return 0 if same else 1


def run(feeds: int, items: int, workers: int, *, kill: bool = False) -> dict:
    root = Path(tempfile.mkdtemp(prefix="sahelwatch-scale-"))
    hosts = [f"127.0.0.{n}" for n in range(2, min(feeds, 250) + 2)]
    corpus = generate(root / "corpus", feeds, items, len(hosts), free_port(hosts))
    feeds_file = root / "feeds.yaml"
    network = {"allow_private_hosts": corpus.hosts}
    config = {"version": 1, "network": network,
              "feeds": [{"name": f.name, "url": f.url} for f in corpus.feeds]}  # fmt: skip
    feeds_file.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    postgres = PostgresServer().start()
    postgres.create_database("prefect")  # the Prefect server's own database, as in production
    prefect = PrefectServer(root / "prefect", postgres.sqlalchemy_url("prefect")).start()
    cluster = Cluster(prefect, root / "cluster")
    runs: list[dict] = []
    try:
        with CorpusServer(corpus, LATENCY_S), talking_to(prefect):
            cluster.deploy()
            plan = [("1 worker", 1, False), (f"{workers} workers", workers, False)]
            plan += [(f"{workers} workers, one killed", workers, True)] if kill else []
            for label, count, with_kill in plan:
                lake = f"{LAKE_PREFIX}{postgres.create_database(f'lake_{len(runs)}')}"
                lake += f"?data_path={root / f'lake-{len(runs)}'}/"
                cluster.start_workers(count)
                runs.append(_one_run(cluster, feeds_file, lake, label, count, with_kill))
                cluster.stop_workers()
        reference = snapshot(runs[0]["lake"])
        for result in runs:
            result["lost"], result["doubled"] = lost_and_doubled(
                reference, snapshot(result["lake"])
            )
            result["half_written"] = half_written(result["lake"])
    finally:
        cluster.stop_workers()
        prefect.stop()
        postgres.stop()
    pages = len(corpus.pages)
    return {"feeds": feeds, "pages": pages, "cores": os.cpu_count(), "runs": runs,
            "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}  # fmt: skip


def _one_run(
    cluster: Cluster, feeds: Path, lake: str, label: str, workers: int, kill: bool
) -> dict:
    run_id = cluster.start_cluster_ingest(feeds, lake, workers)
    killed = _kill_one(cluster, run_id) if kill else None
    finished = cluster.wait(run_id, RUN_TIMEOUT_S)
    if finished.state != "Completed":
        raise RuntimeError(f"{label}: the cluster run ended {finished.state}\n{cluster.logs()}")
    attempts = flow_runs_of(run_id)
    partitions = [
        {"partition": a.parameters["partition"], "state": a.state.name,
         "seconds": round((a.end_time - a.start_time).total_seconds(), 1) if a.end_time else None}
        for a in attempts
    ]  # fmt: skip
    return {
        "label": label,
        "workers": workers,
        "lake": lake,
        "seconds": round(finished.seconds, 1),
        "attempts": len(attempts),
        "killed_partition": killed,
        "partitions": partitions,
    }


def _kill_one(cluster: Cluster, run_id) -> str | None:
    """SIGKILL the worker of the first partition run seen running (not the coordinator's)."""
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        for part in flow_runs_of(run_id):
            if part.state.is_running():
                time.sleep(3)  # let it store something first
                worker = cluster.worker_running(part.id)
                if worker is not None and cluster.worker_running(run_id) is not worker:
                    cluster.kill(worker)
                    return part.parameters["partition"]
        time.sleep(0.5)
    return None


def render(results: dict) -> str:
    pages = results["pages"]
    lines = [
        f"# Cluster ingest, {results['feeds']} feeds, {pages} pages, {results['cores']} cores",
        "",
        "| run | seconds | pages/s | partition runs | rows lost | rows doubled |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for r in results["runs"]:
        lines.append(
            f"| {r['label']} | {r['seconds']} | {pages_per_second(pages, r['seconds'])} "
            f"| {r['attempts']} | {r['lost']} | {r['doubled']} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
