"""Prefect's queued run events: sent while the API answers, and never a reason to hang at exit.

A CI run once passed every test and then hung until it was killed: its Prefect server had stopped
with events still queued, and Prefect's exit hook retries each one for seconds, without a limit.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from flows.prefect_reports import flush_run_reports, pending_run_reports

ROOT = Path(__file__).resolve().parents[2]
# Far more events than a worker sends before the API is killed, so some are surely queued.
QUEUED_EVENTS = 2000
# Liveness bound, not a speed target: without the flush this process ran for hours.
EXIT_BOUND_S = 240

API_DIES_WITH_EVENTS_QUEUED = f"""
import os, signal
from flows.prefect_api import spawn_temporary_api, wait_ready
api = spawn_temporary_api()
wait_ready(api)
os.environ["PREFECT_API_URL"] = api.url
os.environ["PREFECT_LOGGING_LEVEL"] = "CRITICAL"
from tests.flows.test_prefect_reports import emit_events
emit_events({QUEUED_EVENTS})
from flows.prefect_reports import flush_run_reports, pending_run_reports
queued = pending_run_reports()
os.killpg(api.process.pid, signal.SIGKILL)
print("queued", queued, "dropped", flush_run_reports(timeout_s=2), flush=True)
"""


def emit_events(count: int) -> None:
    from prefect.events import emit_event

    for n in range(count):
        emit_event(event="sahelwatch.test", resource={"prefect.resource.id": f"sahelwatch.{n}"})


def test_events_queued_when_the_api_dies_are_dropped_and_the_process_exits():
    done = subprocess.run(
        [sys.executable, "-c", API_DIES_WITH_EVENTS_QUEUED],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=EXIT_BOUND_S,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    words = done.stdout.split()
    queued, dropped = int(words[words.index("queued") + 1]), int(words[-1])
    assert queued > 0
    assert 0 < dropped <= queued


def test_a_live_api_receives_every_queued_event(prefect_api):
    emit_events(200)
    assert flush_run_reports(timeout_s=120) == 0
    assert pending_run_reports() == 0
