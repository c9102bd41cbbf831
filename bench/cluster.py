"""A whole distributed sahelwatch on one machine: PostgreSQL, a Prefect server, process workers.

What `make scale` (bench/scale.py) and tests/flows/test_cluster.py run: the repository's tracked
files copied as a clean clone, `prefect work-pool create` and `prefect deploy` of the lake
deployments from it, `prefect worker start` processes, and cluster ingests started with
`prefect deployment run`, exactly as an operator would on several machines.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from uuid import UUID

import psutil

from flows.extraction_pool import WORKERS_ENV_VAR
from flows.host_limits import LIMIT_PREFIX, LIMITS_PAGE
from tests.support.prefect_server import (
    POLL_SECONDS,
    PREFECT,
    Background,
    PrefectServer,
    stop_all,
)

REPO = Path(__file__).resolve().parents[1]
POOL = "sahelwatch"
CLUSTER = "ingest_cluster/sahel-ingest-cluster"
BACKFILL_CLUSTER = "backfill_cluster/sahel-backfill-cluster"
DEPLOYMENTS = (
    "sahel-ingest-partition",
    "sahel-ingest-cluster",
    "sahel-backfill-partition",
    "sahel-backfill-cluster",
    "sahel-lake-compact",
)
CLI_TIMEOUT_S = 180
# Flow runs a worker runs at once (a cluster run and a partition, or two partitions). Without a
# limit a worker submits every scheduled run it finds when it polls, so the first to poll may
# take the cluster run and all its partitions while the others idle.
RUNS_PER_WORKER = 2


def copy_tracked_files(destination: Path) -> Path:
    """The files git tracks, as they are in the working tree: what a fresh clone would hold."""
    listed = subprocess.run(
        ["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True, timeout=60
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        source = REPO / name
        if source.is_file():  # tracked but deleted in the working tree: not part of the copy
            (destination / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, destination / name)
    return destination


@dataclass
class FinishedRun:
    flow_run_id: UUID
    state: str
    seconds: float  # from the run's start to its end, as Prefect recorded them


class Cluster:
    """The deployed clone and its workers, on one Prefect server."""

    def __init__(self, server: PrefectServer, root: Path) -> None:
        self.server, self.root = server, root
        self.clone = copy_tracked_files(root / "sahelwatch")
        self.env = server.cli_env(root / "cli-home", PREFECT_WORKER_QUERY_SECONDS=str(POLL_SECONDS))
        self.workers: list[Background] = []

    def deploy(self) -> None:
        self.prefect("work-pool", "create", POOL, "--type", "process", "--overwrite")
        names = [x for name in DEPLOYMENTS for x in ("--name", name)]
        self.prefect("deploy", *names)

    def start_workers(self, count: int, *, sharing: int | None = None) -> None:
        """`count` more workers; their runs share the cores with `sharing` workers in all (the
        workers of one machine divide its cores, flows/extraction_pool.py)."""
        cores = max(1, (os.cpu_count() or 1) // (sharing or count))
        env = {**self.env, WORKERS_ENV_VAR: str(cores)}
        for n in range(len(self.workers), len(self.workers) + count):
            name, limit = f"scale-worker-{n}", str(RUNS_PER_WORKER)
            self.workers.append(
                Background(
                    f"worker-{n}",
                    [PREFECT, "worker", "start", "--pool", POOL, "--name", name, "--limit", limit],
                    self.root / f"worker-{n}.log",
                    env=env,
                    cwd=self.root,
                )
            )

    def stop_workers(self) -> None:
        stop_all(self.workers)
        self.workers = []

    def start_cluster_ingest(self, feeds: Path, db: str, partitions: int) -> UUID:
        """`prefect deployment run` of sahel-ingest-cluster; returns its flow run id."""
        return self.start(CLUSTER, feeds=feeds, db=db, partitions=partitions)

    def start_cluster_backfill(self, urls: Path, feeds: Path, db: str, partitions: int) -> UUID:
        """`prefect deployment run` of sahel-backfill-cluster over a URL list."""
        return self.start(
            BACKFILL_CLUSTER, urls_file=urls, feeds=feeds, db=db, partitions=partitions
        )

    def start(self, deployment: str, **params: object) -> UUID:
        options = [x for k, v in params.items() for x in ("--param", f"{k}={v}")]
        out = self.prefect("deployment", "run", deployment, *options)
        return UUID(re.search(r"UUID: ([0-9a-f-]{36})", out).group(1))

    def wait(self, flow_run_id: UUID, timeout_s: float) -> FinishedRun:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            run = api(lambda c: c.read_flow_run(flow_run_id))
            if run.state is not None and run.state.is_final():
                seconds = (run.end_time - run.start_time).total_seconds() if run.end_time else 0.0
                return FinishedRun(flow_run_id, run.state.name, seconds)
            time.sleep(1)
        raise TimeoutError(
            f"flow run {flow_run_id} not finished after {timeout_s:.0f} s\n{self.logs()}"
        )

    def worker_running(self, flow_run_id: UUID) -> Background | None:
        """The worker whose process tree runs this flow run (by the engine's environment)."""
        for worker in self.workers:
            for child in psutil.Process(worker.process.pid).children(recursive=True):
                try:
                    if child.environ().get("PREFECT__FLOW_RUN_ID") == str(flow_run_id):
                        return worker
                except psutil.Error:
                    continue
        return None

    def kill(self, worker: Background) -> None:
        """SIGKILL the worker and every process it started, as if its machine had died (the
        flow-run processes of a process worker live in sessions of their own)."""
        tree = psutil.Process(worker.process.pid).children(recursive=True)
        for process in [*tree, psutil.Process(worker.process.pid)]:
            with contextlib.suppress(psutil.Error):
                process.kill()
        worker.process.wait()
        psutil.wait_procs(tree, timeout=10)
        self.workers.remove(worker)

    def prefect(self, *args: str) -> str:
        done = subprocess.run(
            [PREFECT, *args], capture_output=True, text=True, env=self.env, cwd=self.clone,
            timeout=CLI_TIMEOUT_S, stdin=subprocess.DEVNULL,
        )  # fmt: skip
        if done.returncode != 0:
            raise RuntimeError(f"$ prefect {' '.join(args)}\n{done.stdout}\n{done.stderr}")
        return done.stdout

    def logs(self) -> str:
        return "\n".join([w.log_text() for w in self.workers] + [self.server.log_text()])


def flow_runs_of(parent: UUID) -> list:
    """The partition runs a cluster run started (its subflow runs)."""
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterParentFlowRunId

    flow_filter = FlowRunFilter(parent_flow_run_id=FlowRunFilterParentFlowRunId(any_=[parent]))
    return api(lambda c: c.read_flow_runs(flow_run_filter=flow_filter))


def host_limits() -> list:
    """The per-host global concurrency limits the partition runs created."""

    async def read_all(client) -> list:
        found: list = []
        while page := await client.read_global_concurrency_limits(LIMITS_PAGE, len(found)):
            found += page
        return found

    return [limit for limit in api(read_all) if limit.name.startswith(LIMIT_PREFIX)]


@contextlib.contextmanager
def talking_to(server: PrefectServer) -> Iterator[None]:
    """This process's Prefect client (`api`) on the server: Prefect reads its settings once, at
    import, so the environment variable alone comes too late."""
    from prefect.settings import PREFECT_API_URL, temporary_settings

    saved = os.environ.get("PREFECT_API_URL")
    os.environ["PREFECT_API_URL"] = server.api_url
    try:
        with temporary_settings(updates={PREFECT_API_URL: server.api_url}):
            yield
    finally:
        if saved is None:
            os.environ.pop("PREFECT_API_URL", None)
        else:
            os.environ["PREFECT_API_URL"] = saved


def api(call):
    from prefect.client.orchestration import get_client

    async def go():
        async with get_client() as client:
            return await call(client)

    return asyncio.run(go())


def pages_per_second(pages: int, seconds: float) -> float:
    return round(pages / seconds, 1) if seconds > 0 else 0.0
