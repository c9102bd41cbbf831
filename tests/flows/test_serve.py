"""`sahelwatch serve`: the deployments served in-process run flows, and Ctrl-C stops cleanly."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest

from demo.site_server import DemoSite
from tests.support.prefect_server import POLL_SECONDS
from tests.support.sample_site import manifest_stored_documents, write_feeds

EXE = Path(sys.executable).with_name("sahelwatch")
SERVED = (
    "ingest_feeds/sahel-ingest-served",
    "backfill/sahel-backfill-served",
    "retag/sahel-retag-served",
    "dedup/sahel-dedup-rebuild-served",
)


def served_deployments(since: datetime) -> set[str]:
    """The deployments this serve registered (updated since it started) and is polling for."""
    from prefect.client.orchestration import get_client

    async def names() -> set[str]:
        async with get_client() as client:
            found = set()
            for name in SERVED:
                try:
                    deployment = await client.read_deployment_by_name(name)
                except Exception:  # not there yet
                    continue
                fresh = deployment.updated is not None and deployment.updated >= since
                if fresh and deployment.status and deployment.status.value == "READY":
                    found.add(name)
            return found

    import asyncio

    return asyncio.run(names())


@pytest.mark.slow
def test_serve_runs_a_triggered_ingest_and_stops_on_ctrl_c(prefect_api, tmp_path):
    from prefect.deployments import run_deployment

    db = tmp_path / "store.duckdb"
    # The server may hold deployments of the same names from prefect.yaml (another test, or a
    # user who also deployed): only the ones this serve registered count.
    started = datetime.now(UTC)
    with DemoSite() as site:
        feeds = write_feeds(site, tmp_path / "feeds.yaml")
        serve = subprocess.Popen(
            [str(EXE), "serve", "--db", str(db), "--feeds", str(feeds)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={
                **os.environ,
                "PREFECT_API_URL": prefect_api,
                "PREFECT_RUNNER_POLL_FREQUENCY": str(POLL_SECONDS),
            },
            start_new_session=True,
        )
        try:
            deadline = time.monotonic() + 120
            while served_deployments(started) != set(SERVED):
                assert serve.poll() is None, serve.communicate()
                assert time.monotonic() < deadline, "serve never registered its deployments"
                time.sleep(1)
            run = run_deployment(
                "ingest_feeds/sahel-ingest-served",
                timeout=240,
                poll_interval=POLL_SECONDS,
            )
        finally:
            os.killpg(serve.pid, signal.SIGINT)
            _, err = serve.communicate(timeout=60)
        assert run.state.is_completed(), (run.state, err[-3000:])
    assert serve.returncode == 0, err
    assert err.strip().endswith("sahelwatch: serve stopped")
    con = duckdb.connect(str(db), read_only=True)
    try:
        (stored,) = con.execute("SELECT count(*) FROM documents WHERE origin = 'feed'").fetchone()
        (runs,) = con.execute("SELECT count(*) FROM runs WHERE status = 'completed'").fetchone()
    finally:
        con.close()
    assert (stored, runs) == (manifest_stored_documents(), 1)
