"""prefect.yaml declares the deployments the README promises, each naming a real flow."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from prefect.flows import load_flow_from_entrypoint

REPO = Path(__file__).resolve().parents[2]
PREFECT_YAML = yaml.safe_load((REPO / "prefect.yaml").read_text("utf-8"))
DEPLOYMENTS = {d["name"]: d for d in PREFECT_YAML["deployments"]}
# Every deployment writes the store: one run at a time, the next one waits its turn, except the
# partitions of a cluster ingest, which run side by side on a lake (flows/cluster.py).
ONE_AT_A_TIME = {"limit": 1, "collision_strategy": "ENQUEUE"}
SIDE_BY_SIDE = {"sahel-ingest-partition", "sahel-backfill-partition"}
# The lake deployments need a lake's locator for `db`: their schedules ship switched off.
LAKE_SCHEDULED = {"sahel-ingest-cluster", "sahel-lake-compact"}


def test_the_deployments_and_their_flows():
    assert {name: d["entrypoint"] for name, d in DEPLOYMENTS.items()} == {
        "sahel-ingest": "flows/ingest.py:ingest_feeds",
        "sahel-backfill": "flows/backfill.py:backfill",
        "sahel-retag": "flows/retag.py:retag",
        "sahel-dedup-rebuild": "flows/dedup_flow.py:dedup_flow",
        "sahel-ingest-partition": "flows/ingest.py:ingest_feeds",
        "sahel-ingest-cluster": "flows/cluster.py:ingest_cluster",
        "sahel-backfill-partition": "flows/backfill.py:backfill",
        "sahel-backfill-cluster": "flows/cluster.py:backfill_cluster",
        "sahel-lake-compact": "flows/compaction.py:compact_lake",
    }


def test_only_ingest_is_scheduled_every_half_hour_in_utc_and_lake_schedules_start_off():
    assert DEPLOYMENTS["sahel-ingest"]["schedules"] == [
        {"cron": "*/30 * * * *", "timezone": "UTC", "active": True}
    ]
    active = [n for n, d in DEPLOYMENTS.items() if any(s["active"] for s in d["schedules"])]
    assert active == ["sahel-ingest"]
    scheduled = {n for n, d in DEPLOYMENTS.items() if d["schedules"]}
    assert scheduled == {"sahel-ingest", *LAKE_SCHEDULED}
    for name in LAKE_SCHEDULED:
        assert "db" not in DEPLOYMENTS[name]["parameters"]  # never the default DuckDB file


@pytest.mark.parametrize("name", DEPLOYMENTS)
def test_every_deployment_runs_alone_on_the_sahelwatch_process_pool(name):
    deployment = DEPLOYMENTS[name]
    assert deployment["work_pool"]["name"] == "sahelwatch"
    if name in SIDE_BY_SIDE:
        assert "concurrency_limit" not in deployment
    else:
        assert deployment["concurrency_limit"] == ONE_AT_A_TIME


def test_rebuild_deployment_regroups_everything():
    assert DEPLOYMENTS["sahel-dedup-rebuild"]["parameters"]["rebuild"] is True


def test_flow_runs_change_into_the_directory_prefect_deploy_ran_in():
    (build,) = PREFECT_YAML["build"]
    (pull,) = PREFECT_YAML["pull"]
    step = build["prefect.deployments.steps.run_shell_script"]
    assert step["script"] == "pwd"
    directory = pull["prefect.deployments.steps.set_working_directory"]["directory"]
    assert directory == "{{ " + step["id"] + ".stdout }}"
    assert "$" not in str(PREFECT_YAML)  # no environment variable to set on the worker


@pytest.mark.parametrize("name", DEPLOYMENTS)
def test_every_deployment_entrypoint_loads_a_flow_that_takes_its_parameters(name, monkeypatch):
    deployment = DEPLOYMENTS[name]
    monkeypatch.chdir(REPO)
    flow = load_flow_from_entrypoint(deployment["entrypoint"])
    assert set(deployment["parameters"]) <= set(flow.parameters.properties)


@pytest.mark.parametrize("name", DEPLOYMENTS)
def test_every_relative_path_parameter_exists_in_the_repository_or_under_data(name):
    for key, value in DEPLOYMENTS[name]["parameters"].items():
        if key in {"feeds", "watchlist"}:
            assert (REPO / value).is_file(), value
        if key == "db":
            assert value == "data/sahelwatch.duckdb"
