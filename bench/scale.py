"""`make scale`: one cluster ingest with 1 worker, then with 4, on one DuckLake each; compared.

Starts everything itself, offline: a temporary PostgreSQL (the lakes' catalogs), a temporary
Prefect server, a site of FEEDS outlets on as many local hosts (bench/e2e_corpus.py's pages,
20-150 KB), then from a clean copy of the repository `prefect work-pool create` and `prefect
deploy`, and `prefect worker start` processes. Each ingest is `prefect deployment run
ingest_cluster/sahel-ingest-cluster`. The two lakes must hold the same rows on content keys;
the pages per second of each run are printed and written to bench/results/scale.json.

    python -m bench.scale [--feeds 200] [--items 5] [--workers 4] [--kill] [--keep]

`--kill` also runs a third ingest with 4 workers and SIGKILLs one worker mid-run: its partition
must be run again and the lake must still equal the 1-worker one.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path

import yaml

from bench.cluster import Cluster, flow_runs_of, pages_per_second, talking_to
from bench.e2e_corpus import Corpus, generate
from bench.e2e_server import CorpusServer, free_port
from storage.lake import LAKE_PREFIX
from tests.support.postgres_server import PostgresServer
from tests.support.prefect_server import PrefectServer
from tests.support.store_snapshot import half_written, lost_and_doubled, snapshot

RESULTS = Path(__file__).resolve().parent / "results" / "scale.json"
FEEDS, ITEMS, WORKERS = 200, 5, 4
LATENCY_S = 0.05
RUN_TIMEOUT_S = 1800
KILL_WINDOW_S = 300


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.scale", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--feeds", type=int, default=FEEDS, help="outlets, one feed and host each")
    parser.add_argument("--items", type=int, default=ITEMS, help="items per feed")
    parser.add_argument("--workers", type=int, default=WORKERS, help="workers of the cluster run")
    parser.add_argument("--kill", action="store_true", help="also kill a worker mid-run")
    parser.add_argument(
        "--keep", action="store_true", help="keep the site, lakes and logs (a temporary folder)"
    )
    args = parser.parse_args(argv)
    # Stopped from outside (timeout, Ctrl-C): the servers it started are stopped on the way out.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        results = run(args.feeds, args.items, args.workers, kill=args.kill, keep=args.keep)
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


def say(message: str) -> None:
    """A progress line: a whole run takes minutes."""
    print(f"scale: {message}", file=sys.stderr, flush=True)


def run(feeds: int, items: int, workers: int, *, kill: bool = False, keep: bool = False) -> dict:
    with contextlib.ExitStack() as stack:  # whatever started is stopped, even on a failure
        root = Path(tempfile.mkdtemp(prefix="sahelwatch-scale-"))
        if not keep:  # about 100 MB for 1,000 pages
            stack.callback(shutil.rmtree, root, ignore_errors=True)
        say(f"generating a site of {feeds} feeds x {items} items under {root}")
        corpus, feeds_file = _site(root, feeds, items)
        say("starting PostgreSQL and a Prefect server on it")
        postgres = PostgresServer().start()
        stack.callback(postgres.stop)
        postgres.create_database("prefect")  # the Prefect server's own database, as in production
        prefect = PrefectServer(root / "prefect", postgres.sqlalchemy_url("prefect")).start()
        stack.callback(prefect.stop)
        cluster = Cluster(prefect, root / "cluster")
        stack.callback(cluster.stop_workers)
        stack.enter_context(CorpusServer(corpus, LATENCY_S))
        stack.enter_context(talking_to(prefect))
        say("deploying from a clean copy of the repository")
        cluster.deploy()
        plan = [("1 worker", 1, False), (f"{workers} workers", workers, False)]
        plan += [(f"{workers} workers, one killed", workers, True)] if kill else []
        runs: list[dict] = []
        for label, count, with_kill in plan:
            lake = f"{LAKE_PREFIX}{postgres.create_database(f'lake_{len(runs)}')}"
            lake += f"?data_path={root / f'lake-{len(runs)}'}/"
            cluster.start_workers(count)
            say(f"{label}: cluster ingest started")
            runs.append(_one_run(cluster, feeds_file, lake, label, count, with_kill))
            say(f"{label}: done in {runs[-1]['seconds']} s")
            cluster.stop_workers()
        say("comparing the lakes row by row on content keys")
        _compare(runs)
    return {"feeds": feeds, "pages": len(corpus.pages), "cores": os.cpu_count(), "runs": runs,
            "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}  # fmt: skip


def _site(root: Path, feeds: int, items: int) -> tuple[Corpus, Path]:
    """The generated site on up to 250 local hosts, and a feeds.yaml that lists it."""
    hosts = [f"127.0.0.{n}" for n in range(2, min(feeds, 250) + 2)]
    corpus = generate(root / "corpus", feeds, items, len(hosts), free_port(hosts))
    feeds_file = root / "feeds.yaml"
    network = {"allow_private_hosts": corpus.hosts}
    config = {"version": 1, "network": network,
              "feeds": [{"name": f.name, "url": f.url} for f in corpus.feeds]}  # fmt: skip
    feeds_file.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    return corpus, feeds_file


def _compare(runs: list[dict]) -> None:
    """Each run's rows lost and doubled against the first (1 worker) run's lake."""
    reference = snapshot(runs[0]["lake"])
    for result in runs:
        result["lost"], result["doubled"] = lost_and_doubled(reference, snapshot(result["lake"]))
        result["half_written"] = half_written(result["lake"])


def _one_run(
    cluster: Cluster, feeds: Path, lake: str, label: str, workers: int, kill: bool
) -> dict:
    run_id = cluster.start_cluster_ingest(feeds, lake, workers)
    killed = _kill_one(cluster, run_id) if kill else None
    if kill:
        say(f"{label}: killed the worker of partition {killed}")
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


def _kill_one(cluster: Cluster, run_id) -> str:
    """SIGKILL the worker of the first partition run seen running (not the coordinator's)."""
    deadline = time.monotonic() + KILL_WINDOW_S
    while time.monotonic() < deadline:
        for part in flow_runs_of(run_id):
            if part.state.is_running():
                time.sleep(3)  # let it store something first
                worker = cluster.worker_running(part.id)
                if worker is not None and cluster.worker_running(run_id) is not worker:
                    cluster.kill(worker)
                    return part.parameters["partition"]
        time.sleep(0.5)
    raise RuntimeError(f"no partition run was seen running within {KILL_WINDOW_S} s to kill")


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
