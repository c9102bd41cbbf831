"""prefect.yaml names real flows, so `prefect deploy --all` has something to deploy."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from prefect.flows import load_flow_from_entrypoint

REPO = Path(__file__).resolve().parents[2]
DEPLOYMENTS = yaml.safe_load((REPO / "prefect.yaml").read_text("utf-8"))["deployments"]


@pytest.mark.parametrize("deployment", DEPLOYMENTS, ids=lambda d: d["name"])
def test_every_deployment_entrypoint_loads_a_flow(deployment, monkeypatch):
    monkeypatch.chdir(REPO)
    flow = load_flow_from_entrypoint(deployment["entrypoint"])
    assert flow.name in {"ingest_feeds", "retag", "dedup"}
    assert deployment["work_pool"]["name"] == "sahelwatch"
