"""A real `prefect server start` and other long-lived Prefect CLI processes, for the tests.

    server = PrefectServer(tmp_dir).start()    # its own PREFECT_HOME, free port, no UI
    server.api_url                             # "http://127.0.0.1:PORT/api"
    server.cli_env()                           # environment for `prefect ...` child processes
    worker = Background("worker", [prefect, "worker", "start", ...], log, env=..., cwd=...)
    worker.log_text()                          # what it printed, for failure messages
    server.stop()

Every process gets its own process group, so stopping it also stops what it started (the flow-run
processes of a worker, the server's services).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import httpx

PREFECT = str(Path(sys.executable).with_name("prefect"))

# The machine running the tests may be loaded (2 shared cores): a cold server start has been seen
# to take 15-20 s there, so allow several times that before calling it broken.
SERVER_START_TIMEOUT_S = 120.0
# The scheduler service creates runs for new deployments on its own loop; Prefect's default
# (60 s) would make a test wait a minute for the first scheduled runs.
SCHEDULER_LOOP_SECONDS = 2
# How often the tests' workers, `serve` runners and waits on a run ask the server for news
# (Prefect's defaults, 5-10 s, would add that much waiting to every run a test starts).
POLL_SECONDS = 1
# A run refused a deployment concurrency slot is rescheduled this much later (Prefect's default
# is 30 s); as short as a worker's poll, so the queued run of a test starts within a second or
# two of the first one's end (5 s added 2-5 s of waiting to each such test).
CONCURRENCY_SLOT_WAIT_SECONDS = POLL_SECONDS
# A worker stopped with Ctrl-C (SIGINT) finishes its own shutdown; after this it is killed.
STOP_GRACE_S = 15.0
# Prefect settings of the developer's shell that would point a child at another server/profile.
_INHERITED_PREFECT = ("PREFECT_API_URL", "PREFECT_API_KEY", "PREFECT_PROFILE", "PREFECT_HOME")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def quiet_env(home: Path, **extra: str) -> dict[str, str]:
    """This process's environment minus Prefect/sahelwatch settings, plus a private home."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in _INHERITED_PREFECT and not k.startswith("SAHELWATCH_")
    }
    env.update(
        PREFECT_HOME=str(home),
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        DO_NOT_TRACK="1",
        PREFECT_LOGGING_LEVEL="WARNING",
        **extra,
    )
    return env


class Background:
    """A child process in its own process group, its output in a log file."""

    def __init__(
        self, name: str, argv: Sequence[str], log: Path, *, env: dict[str, str], cwd: Path
    ) -> None:
        self.name, self.log = name, log
        with log.open("wb") as out:
            self.process = subprocess.Popen(
                list(argv),
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=env,
                cwd=cwd,
                start_new_session=True,
            )

    def log_text(self, tail: int = 6000) -> str:
        text = self.log.read_text("utf-8", errors="replace") if self.log.exists() else ""
        return f"--- {self.name} log ({self.log}) ---\n{text[-tail:]}"

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self) -> None:
        """Ctrl-C to the whole group, then a kill if it has not finished within the grace."""
        stop_all([self])

    def _signal(self, sig: signal.Signals) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, sig)


def stop_all(processes: Sequence[Background]) -> None:
    """Ctrl-C to every group at once, then a kill to what is left after one shared grace: the
    grace runs once, not once per process (four workers stopped in turn could take four)."""
    for process in processes:
        if process.alive():
            process._signal(signal.SIGINT)
    deadline = time.monotonic() + STOP_GRACE_S
    for process in processes:
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.process.wait(max(deadline - time.monotonic(), 0.0))
        process._signal(signal.SIGKILL)  # whatever is left of the group, children included
        process.process.wait()


class PrefectServer:
    """`prefect server start` on 127.0.0.1 with a temporary PREFECT_HOME (its own database)."""

    def __init__(self, root: Path, database_url: str | None = None) -> None:
        """`database_url`: the server's own database (e.g. PostgreSQL, as a server that many
        workers talk to should have); SQLite in PREFECT_HOME by default."""
        self.root = root
        self.database_url = database_url
        self.home = root / "home"
        self.home.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.api_url = f"http://127.0.0.1:{self.port}/api"
        self.process: Background | None = None
        self.started_in_s: float | None = None

    def start(self) -> PrefectServer:
        env = quiet_env(
            self.home,
            PREFECT_SERVER_UI_ENABLED="false",
            PREFECT_SERVER_LOGGING_LEVEL="WARNING",
            PREFECT_SERVER_SERVICES_SCHEDULER_LOOP_SECONDS=str(SCHEDULER_LOOP_SECONDS),
            PREFECT_SERVER_DEPLOYMENTS_CONCURRENCY_SLOT_WAIT_SECONDS=str(
                CONCURRENCY_SLOT_WAIT_SECONDS
            ),
        )
        if self.database_url:
            env["PREFECT_API_DATABASE_CONNECTION_URL"] = self.database_url
        argv = [PREFECT, "server", "start", "--host", "127.0.0.1", "--port", str(self.port)]
        began = time.monotonic()
        self.process = Background(
            "prefect server", argv, self.root / "server.log", env=env, cwd=self.root
        )
        self._wait_healthy(self.process, began)
        self.started_in_s = time.monotonic() - began
        return self

    def _wait_healthy(self, process: Background, began: float) -> None:
        while time.monotonic() - began < SERVER_START_TIMEOUT_S:
            if not process.alive():
                self.stop()
                raise RuntimeError(f"prefect server exited at start\n{process.log_text()}")
            try:
                if httpx.get(f"{self.api_url}/health", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        log = process.log_text()
        self.stop()
        raise RuntimeError(f"prefect server not healthy after {SERVER_START_TIMEOUT_S} s\n{log}")

    def cli_env(self, home: Path | None = None, **extra: str) -> dict[str, str]:
        """Environment for a `prefect` child talking to this server; no sahelwatch variable."""
        return quiet_env(home or self.home, PREFECT_API_URL=self.api_url, **extra)

    def log_text(self) -> str:
        return self.process.log_text() if self.process else ""

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop()
