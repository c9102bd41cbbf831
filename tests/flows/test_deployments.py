"""prefect.yaml as a Prefect user runs it: the README's commands, the scheduler, a real worker.

One real Prefect server for the session (tests/flows/conftest.py). The module deploys once from
a copy of the repository's tracked files (a clean clone of what is tested), with no sahelwatch
environment variable set, then runs `sahel-ingest` on a real `prefect worker` against the
bundled sample site. Expected figures come from the sample site's own README.
"""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from uuid import UUID

import duckdb
import pytest

from bench.cluster import copy_tracked_files
from demo.site_server import DemoSite
from tests.support.prefect_server import POLL_SECONDS, PREFECT, Background, PrefectServer
from tests.support.sample_site import manifest_stored_documents, write_feeds

REPO = Path(__file__).resolve().parents[2]
INGEST = "ingest_feeds/sahel-ingest"

# The README's "Prefect" section, in order; each must exit 0 (the worker is started separately).
README_COMMANDS = (
    ("work-pool", "create", "sahelwatch", "--type", "process"),
    ("deploy", "--all"),
    ("work-pool", "ls"),
    ("deployment", "ls"),
    ("flow-run", "ls"),
    ("artifact", "ls"),
)
# Bounded waits on a loaded 2-core machine; every timeout fails with the server and worker logs.
CLI_TIMEOUT_S = 120
SCHEDULED_RUNS_TIMEOUT_S = 90
FLOW_RUN_TIMEOUT_S = 300


def prefect_cli(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [PREFECT, *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=CLI_TIMEOUT_S,
        stdin=subprocess.DEVNULL,
    )


def shown(result: subprocess.CompletedProcess) -> str:
    return f"$ {' '.join(result.args[1:])}\n{result.stdout}\n{result.stderr}"


def api(call) -> Any:
    """Run one coroutine with a fresh Prefect client of the session's server."""
    from prefect.client.orchestration import get_client

    async def go():
        async with get_client() as client:
            return await call(client)

    return asyncio.run(go())


def scheduled_runs(deployment_id: UUID) -> list:
    from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterId

    return api(
        lambda c: c.read_flow_runs(
            deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[deployment_id]))
        )
    )


def feed_documents(db: Path) -> tuple[int, int]:
    """(documents, distinct canonical URLs) that came from feeds."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(
            "SELECT count(*), count(DISTINCT canonical_url) FROM documents WHERE origin = 'feed'"
        ).fetchone()
    finally:
        con.close()


def run_counts(db: Path) -> dict[str, dict]:
    """Each run's counts as the ingest flow recorded them, by flow run id."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        return {
            r: json.loads(c) for r, c in con.execute("SELECT run_id, counts FROM runs").fetchall()
        }
    finally:
        con.close()


class Deployed:
    """The deployed copy, its worker and the sample site, plus what deploying it printed."""

    def __init__(self, server: PrefectServer, root: Path) -> None:
        self.server, self.root = server, root
        self.clone = copy_tracked_files(root / "sahelwatch")
        self.env = server.cli_env(root / "cli-home", PREFECT_WORKER_QUERY_SECONDS=str(POLL_SECONDS))
        self.results: list[subprocess.CompletedProcess] = []
        self.worker: Background | None = None
        self.timings: dict[str, float] = {}
        self.ingest_id: UUID | None = None
        self.scheduled: list = []
        self.site: DemoSite | None = None
        self.feeds: Path | None = None
        self.one_run_pages: Counter | None = None

    def logs(self) -> str:
        worker = self.worker.log_text() if self.worker else ""
        return f"{worker}\n{self.server.log_text()}"

    def run_ingest_from_the_cli(self, *params: str) -> tuple[UUID, Any, Counter]:
        """`prefect deployment run` of sahel-ingest on the sample site, waited for."""
        seen_before = len(self.site.requests)
        options = [x for p in (f"feeds={self.feeds}", *params) for x in ("--param", p)]
        run = prefect_cli("deployment", "run", INGEST, *options, env=self.env, cwd=self.clone)
        assert run.returncode == 0, shown(run)
        run_id = UUID(re.search(r"UUID: ([0-9a-f-]{36})", run.stdout).group(1))
        (finished,) = self.wait_final([run_id])
        self.one_run_pages = self.page_requests(seen_before)
        return run_id, finished, self.one_run_pages

    def page_requests(self, since: int) -> Counter:
        """How often each page other than feeds and robots.txt was requested after `since`."""
        feed_paths = {urlsplit(f.url).path for f in self.site.feeds}
        return Counter(
            (r.outlet, r.path)
            for r in self.site.requests[since:]
            if r.path not in feed_paths and r.path != "/robots.txt"
        )

    def wait_final(self, ids: list[UUID]) -> list:
        """The flow runs once all are in a final state; fails with the logs after the timeout."""
        deadline = time.monotonic() + FLOW_RUN_TIMEOUT_S
        while time.monotonic() < deadline:
            runs = api(lambda c: asyncio.gather(*(c.read_flow_run(i) for i in ids)))
            if all(r.state and r.state.is_final() for r in runs):
                return runs
            time.sleep(1)
        states = [(str(r.id), r.state and r.state.name) for r in runs]
        pytest.fail(f"flow runs not finished after {FLOW_RUN_TIMEOUT_S} s: {states}\n{self.logs()}")


@pytest.fixture(scope="module")
def deployed(prefect_api, prefect_server, tmp_path_factory) -> Iterator[Deployed]:
    if not (REPO / ".git").exists():
        pytest.skip("needs a git checkout: the deployment is made from a copy of its tracked files")
    d = Deployed(prefect_server, tmp_path_factory.mktemp("deployed"))
    began = time.monotonic()
    for command in README_COMMANDS:
        d.results.append(prefect_cli(*command, env=d.env, cwd=d.clone))
        if d.results[-1].returncode != 0:
            pytest.fail(f"{shown(d.results[-1])}\n{d.logs()}")
        if command == ("deploy", "--all"):
            deployed_at = time.monotonic()
            d.timings["work-pool create + deploy --all"] = deployed_at - began
    ingest = api(lambda c: c.read_deployment_by_name(INGEST))
    d.ingest_id = ingest.id
    while time.monotonic() - deployed_at < SCHEDULED_RUNS_TIMEOUT_S and not d.scheduled:
        d.scheduled = [r for r in scheduled_runs(ingest.id) if r.state_type.value == "SCHEDULED"]
        time.sleep(0.5)
    d.timings["until scheduled runs"] = time.monotonic() - deployed_at
    # The cron runs would poll the real feeds at the next :00 or :30; switching the schedule off
    # deletes them, so the worker below only runs what the tests ask for.
    for schedule in ingest.schedules:
        api(lambda c, s=schedule: c.update_deployment_schedule(ingest.id, s.id, active=False))
    elsewhere = d.root / "elsewhere"  # the worker's own directory does not matter
    elsewhere.mkdir()
    d.worker = Background(
        "prefect worker",
        [PREFECT, "worker", "start", "--pool", "sahelwatch"],
        d.root / "worker.log",
        env=d.env,
        cwd=elsewhere,
    )
    with DemoSite() as site:
        d.site = site
        d.feeds = write_feeds(site, d.root / "feeds.yaml")
        try:
            yield d
        finally:
            d.worker.stop()
    print(f"\ndeployment timings (s): { {k: round(v, 1) for k, v in d.timings.items()} }")


@pytest.mark.slow
def test_readme_commands_deploy_schedule_and_run_ingest_on_a_worker(deployed):
    for result in deployed.results:
        assert result.returncode == 0, shown(result)
    listed = shown(deployed.results[3])
    for name in ("sahel-ingest", "sahel-backfill", "sahel-retag", "sahel-dedup-rebuild"):
        assert name in listed
    assert deployed.scheduled, (
        f"no scheduled run of {INGEST} after {SCHEDULED_RUNS_TIMEOUT_S} s\n{deployed.logs()}"
    )
    assert {r.deployment_id for r in deployed.scheduled} == {deployed.ingest_id}

    began = time.monotonic()
    run_id, finished, _ = deployed.run_ingest_from_the_cli()  # `db` left at its default
    deployed.timings["worker ingest run"] = time.monotonic() - began
    assert finished.state.is_completed(), f"{finished.state}\n{deployed.logs()}"

    # The default `db`, data/sahelwatch.duckdb, is relative to the clone `prefect deploy` ran in.
    store = deployed.clone / "data" / "sahelwatch.duckdb"
    assert store.exists(), deployed.logs()
    assert feed_documents(store) == (manifest_stored_documents(),) * 2

    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

    artifacts = api(
        lambda c: c.read_artifacts(
            artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[run_id]))
        )
    )
    assert sorted(a.key for a in artifacts) == ["ingest-new-documents", "ingest-report"]


@pytest.mark.slow
def test_two_runs_at_once_wait_for_each_other_and_store_nothing_twice(deployed, tmp_path):
    one_run_pages = (
        deployed.one_run_pages
        or deployed.run_ingest_from_the_cli(f"db={tmp_path / 'alone.duckdb'}")[2]
    )
    db = tmp_path / "overlap.duckdb"
    params = {"feeds": str(deployed.feeds), "db": str(db)}
    seen_before = len(deployed.site.requests)
    ids = [
        api(lambda c: c.create_flow_run_from_deployment(deployed.ingest_id, parameters=params)).id
        for _ in range(2)
    ]
    runs = deployed.wait_final(ids)
    assert all(r.state.is_completed() for r in runs), f"{runs}\n{deployed.logs()}"

    histories = [[s.name for s in api(lambda c, i=i: c.read_flow_run_states(i))] for i in ids]
    first, second = sorted(runs, key=lambda r: r.start_time)
    print(f"\nstate histories of the two runs: {[list(dict.fromkeys(h)) for h in histories]}")
    assert first.end_time <= second.start_time, (first.end_time, second.start_time, histories)
    assert any("AwaitingConcurrencySlot" in names for names in histories), histories

    assert feed_documents(db) == (manifest_stored_documents(),) * 2
    counts = run_counts(db)
    assert counts[str(first.id)]["stored"] == manifest_stored_documents()
    assert (counts[str(second.id)]["fetched"], counts[str(second.id)]["stored"]) == (0, 0)
    # Every article page was requested exactly as often as by one run alone.
    assert deployed.page_requests(seen_before) == one_run_pages


def test_readme_prefect_section_shows_the_commands_the_tests_run():
    section = README_SECTION.search((REPO / "README.md").read_text("utf-8")).group(1)
    for command in (*README_COMMANDS, ("worker", "start", "--pool", "sahelwatch")):
        assert f"prefect {' '.join(command)}" in section
    assert f"prefect deployment run '{INGEST}'" in section


README_SECTION = re.compile(r"^## Prefect\n(.*?)^## ", re.S | re.M)
