"""Prefect's background reports (run events, API logs): sent while the API answers, then dropped.

Prefect sends events and API log lines from background queues and, at interpreter exit, waits for
those queues without a time limit. Each event first looks up its run through the API, with
retries and back-off; once the API has stopped, a few hundred queued events keep the process alive
for hours. That is how a CI run passed all its tests and then hung until it was killed at 90
minutes: the session's Prefect server had stopped with 284 events still queued.

So whoever stops an API flushes first: wait (bounded) for the queues while the API still answers,
then discard what is left, so the exit waits at most for the one report being sent.
"""

from __future__ import annotations

import contextlib
import queue
import sys
import time

# A healthy local API takes a few hundred events a second; a backlog that is not sent within
# this much time is not going to be, and the user is waiting for their prompt.
REPORT_FLUSH_TIMEOUT_S = 30.0
_SERVICES_MODULE = "prefect._internal.concurrency.services"


def flush_run_reports(timeout_s: float = REPORT_FLUSH_TIMEOUT_S) -> int:
    """Send Prefect's queued events and logs within `timeout_s`; returns how many were dropped.

    Reaches into Prefect's queue services (pinned 3.8.8): Prefect offers `drain_all` with a
    timeout, but nothing to give up on what a timed-out drain left behind.
    """
    if _SERVICES_MODULE not in sys.modules:
        return 0  # Prefect never started a background queue in this process
    from prefect.events.worker import EventsWorker
    from prefect.logging.handlers import APILogWorker

    deadline = time.monotonic() + timeout_s
    for worker in (EventsWorker, APILogWorker):  # events first: sending them may log
        with contextlib.suppress(RuntimeError):  # Prefect's loop already shut down at exit
            worker.drain_all(timeout=max(deadline - time.monotonic(), 0.0))
    return sum(_discard_queued(service) for service in _unfinished_services())


def _unfinished_services() -> list:
    services = sys.modules[_SERVICES_MODULE]
    return [
        service
        for service in list(services._active_services)
        if service._done_event is not None and not service._done_event.is_set()
    ]


def _discard_queued(service) -> int:
    """Empty one service's queue and leave it the stop signal its loop is waiting for."""
    dropped = 0
    while True:
        try:
            item = service._queue.get_nowait()
        except queue.Empty:
            break
        service._queue.task_done()
        dropped += item is not None
    service._queue.put_nowait(None)
    return dropped


def pending_run_reports() -> int:
    """How many reports Prefect's queues still hold (what an exit would wait for)."""
    if _SERVICES_MODULE not in sys.modules:
        return 0
    return sum(service._queue.qsize() for service in _unfinished_services())
