"""Where command-line flow runs report: the server named by PREFECT_API_URL, or a temporary one.

Prefect 3 needs an API for every flow run. Without PREFECT_API_URL it starts a temporary local
server itself, but with a 20 s start timeout that a loaded 2-core machine misses, in the
terminal's process group (so Ctrl-C kills it mid-run and the run then hangs reporting its end),
and it survives a `kill -9` of the command. So sahelwatch starts that server itself:
- in a session of its own: Ctrl-C reaches the flow, never the API it reports to;
- bound to this process's life (Linux's parent-death signal): nothing is orphaned;
- with a start timeout that holds on a busy machine, and a one-line error naming the setting.

The server is spawned before Prefect is imported, so its 7–14 s start overlaps the import, and
PREFECT_API_URL is set in this process's environment before Prefect reads its settings.
"""

from __future__ import annotations

import contextlib
import functools
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO

from extractors.errors import SahelwatchError
from flows.process_life import die_with_parent

API_URL_ENV = "PREFECT_API_URL"
START_TIMEOUT_ENV = "SAHELWATCH_PREFECT_START_TIMEOUT"
# Measured here: 7–14 s on an idle 2-core machine with a fresh PREFECT_HOME, over 20 s when the
# cores are busy. Two minutes holds under load and still fails a broken install in bounded time.
DEFAULT_START_TIMEOUT_S = 120.0
# A running server answers /health in milliseconds; 5 s tells a dead URL from a slow one.
HEALTH_TIMEOUT_S = 5.0
HEALTH_POLL_S = 0.2
STOP_GRACE_S = 5.0


class PrefectApiError(SahelwatchError):
    """The Prefect API that flow runs must report to cannot be reached or started."""


@dataclass
class TemporaryApi:
    process: subprocess.Popen[bytes]
    url: str
    spawned_at: float
    log: IO[bytes]  # the server's stderr, read only to explain a failed start
    ready_after_s: float | None = None


@contextlib.contextmanager
def prefect_api() -> Iterator[TemporaryApi | None]:
    """For the block, PREFECT_API_URL names an API that answers; a temporary one is stopped after.

    Yields the temporary API (to report its start cost), or None when a server was configured.
    """
    configured = os.environ.get(API_URL_ENV)
    if configured:
        check_api(configured)
        yield None
        return
    api = spawn_temporary_api()
    os.environ[API_URL_ENV] = api.url
    try:
        yield api
    finally:
        os.environ.pop(API_URL_ENV, None)
        stop(api)


def spawn_temporary_api() -> TemporaryApi:
    """Start Prefect's API server in the background; `wait_ready` waits for it."""
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k != API_URL_ENV}
    env.update(
        {
            "PREFECT_UI_ENABLED": "0",
            "PREFECT__SERVER_EPHEMERAL": "1",
            "PREFECT__SERVER_FINAL": "1",
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        }
    )
    log = tempfile.TemporaryFile()  # noqa: SIM115 (closed by stop(), it outlives this call)
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "--factory",
            "prefect.server.api.server:create_app",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "error",
            "--lifespan",
            "on",
        ],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=log,
        start_new_session=True,
        preexec_fn=functools.partial(die_with_parent, signal.SIGTERM, os.getpid()),
    )
    return TemporaryApi(process, f"http://127.0.0.1:{port}/api", time.monotonic(), log)


def wait_ready(api: TemporaryApi | None) -> None:
    """Block until the temporary API answers, within SAHELWATCH_PREFECT_START_TIMEOUT."""
    if api is None or api.ready_after_s is not None:
        return
    timeout = start_timeout()
    while not _healthy(api.url, HEALTH_POLL_S * 5):
        code = api.process.poll()
        if code is not None:
            raise PrefectApiError(
                f"Prefect's temporary API exited with code {code} while starting: "
                f"{_last_error_line(api)}; run 'prefect server start' and set {API_URL_ENV}"
            )
        if time.monotonic() - api.spawned_at > timeout:
            raise PrefectApiError(
                f"Prefect's temporary API did not start within {timeout:.0f} s; raise "
                f"{START_TIMEOUT_ENV} (seconds), or run 'prefect server start' and set "
                f"{API_URL_ENV}=http://127.0.0.1:4200/api"
            )
        time.sleep(HEALTH_POLL_S)
    api.ready_after_s = time.monotonic() - api.spawned_at


def check_api(url: str) -> None:
    if not _healthy(url, HEALTH_TIMEOUT_S):
        raise PrefectApiError(
            f"{API_URL_ENV}={url} does not answer; start that server ('prefect server start') "
            f"or unset {API_URL_ENV} to use a temporary local API"
        )


def start_timeout() -> float:
    raw = os.environ.get(START_TIMEOUT_ENV)
    if raw is None:
        return DEFAULT_START_TIMEOUT_S
    try:
        value = float(raw)
    except ValueError:
        value = 0.0
    if value <= 0:
        raise PrefectApiError(f"{START_TIMEOUT_ENV}={raw!r} must be a number of seconds above 0")
    return value


def stop(api: TemporaryApi) -> None:
    """Stop the server and anything it started; quietly, it was ours."""
    api.log.close()
    if api.process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(api.process.pid, signal.SIGTERM)
    try:
        api.process.wait(STOP_GRACE_S)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(api.process.pid, signal.SIGKILL)
        api.process.wait()


def _healthy(url: str, timeout: float) -> bool:
    try:
        with urllib.request.urlopen(f"{url.rstrip('/')}/health", timeout=timeout) as answer:
            return answer.status == 200
    except (urllib.error.URLError, OSError, ValueError):
        return False


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _last_error_line(api: TemporaryApi) -> str:
    api.log.seek(0)
    lines = api.log.read().decode("utf-8", "replace").strip().splitlines()
    return lines[-1] if lines else "no output"
