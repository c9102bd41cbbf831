"""A real, temporary PostgreSQL server on 127.0.0.1: the lake's catalog in tests and `make scale`.

    server = PostgresServer().start()          # initdb in a new /tmp folder, a free port, trust
    server.create_database("lake1")            # -> "dbname=lake1 host=127.0.0.1 port=... user=..."
    server.stop()

Debian's `postgresql` package provides the binaries (.ci/run installs it where missing). The
server refuses to run as root, so as root it runs as the `postgres` user the package creates.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

from tests.support.prefect_server import free_port

START_TIMEOUT_S = 60.0
SUPERUSER = "postgres"  # the cluster's superuser role, whatever system user runs it


def find_bindir() -> Path:
    """Where initdb and pg_ctl are: on PATH, else the newest /usr/lib/postgresql/*/bin."""
    on_path = shutil.which("initdb")
    if on_path:
        return Path(os.path.realpath(on_path)).parent
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not found:
        raise RuntimeError(
            "PostgreSQL is not installed: 'apt-get install postgresql' (Debian), or put its bin/ "
            "folder on PATH"
        )
    return Path(found[-1]).parent


class PostgresServer:
    """Its folder is made under /tmp, not in pytest's private (mode 0700) one: as root, the
    server runs as `postgres`, which must be able to reach it."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="sahelwatch-pg-"))
        self.data = self.root / "pgdata"
        self.port = free_port()
        self.bindir = find_bindir()
        self.user = SUPERUSER
        self._run_as = "postgres" if os.geteuid() == 0 else None

    def start(self) -> PostgresServer:
        if self._run_as:
            owner = pwd.getpwnam(self._run_as)
            os.chown(self.root, owner.pw_uid, owner.pw_gid)
        self._run(["initdb", "-D", str(self.data), "-U", SUPERUSER, "--auth=trust", "-E", "UTF8"])
        options = f"-h 127.0.0.1 -p {self.port} -k {self.root} -c max_connections=200"
        self._run(["pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.log), "-w",
                   "-t", str(int(START_TIMEOUT_S)), "start"])  # fmt: skip
        return self

    @property
    def log(self) -> Path:
        return self.root / "postgres.log"

    def conninfo(self, database: str) -> str:
        return f"dbname={database} host=127.0.0.1 port={self.port} user={self.user}"

    def sqlalchemy_url(self, database: str) -> str:
        """The URL a Prefect server takes for its own database (asyncpg, Prefect's driver)."""
        return f"postgresql+asyncpg://{self.user}@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        """A new, empty database; returns its libpq connection string."""
        self._run(["createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", SUPERUSER, name])
        return self.conninfo(name)

    def stop(self) -> None:
        """Stop the server and remove its folder: each test session left about 550 MB in /tmp."""
        if self.data.exists():
            self._run(
                ["pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop"], check=False
            )
        shutil.rmtree(self.root, ignore_errors=True)

    def _run(self, argv: list[str], *, check: bool = True) -> None:
        command = [str(self.bindir / argv[0]), *argv[1:]]
        if self._run_as:
            command = ["runuser", "-u", self._run_as, "--", *command]
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if check and done.returncode != 0:
            log = self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""
            raise RuntimeError(
                f"{' '.join(argv[:2])} failed ({done.returncode}): {done.stderr.strip()}\n{log}"
            )
