"""The session's real Prefect server, shared by every test folder that runs flows (a plugin)."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.support.prefect_server import PrefectServer


@pytest.fixture(scope="session")
def prefect_server(tmp_path_factory) -> Iterator[PrefectServer]:
    """One real `prefect server start` for the whole session: starting one costs 15-20 s here."""
    server = PrefectServer(tmp_path_factory.mktemp("prefect-server")).start()
    print(f"\nprefect server healthy after {server.started_in_s:.1f} s at {server.api_url}")
    try:
        yield server
    finally:
        _drain_prefect_clients()
        server.stop()


@pytest.fixture(scope="session")
def prefect_api(prefect_server: PrefectServer) -> Iterator[str]:
    """Flows run in this process and its children report to the session's real server."""
    from prefect.settings import PREFECT_API_URL, temporary_settings

    saved = {k: os.environ.get(k) for k in ("PREFECT_API_URL", "PREFECT_LOGGING_LEVEL")}
    os.environ["PREFECT_API_URL"] = prefect_server.api_url  # inherited by child processes
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    try:
        with temporary_settings(updates={PREFECT_API_URL: prefect_server.api_url}):
            yield prefect_server.api_url
            _drain_prefect_clients()
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _drain_prefect_clients() -> None:
    """Send buffered events and logs before the server goes away: left queued, Prefect's exit
    hook would retry them against a stopped server for hours (flows/prefect_reports.py)."""
    from flows.prefect_reports import flush_run_reports

    dropped = flush_run_reports(timeout_s=120)
    if dropped:
        print(f"\n{dropped} Prefect events or log lines were not sent before the server stopped")
