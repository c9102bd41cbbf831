"""Flow commands as a user meets them: one writer at a time, Ctrl-C and kill -9 handled, Prefect
problems told in one line. Real `sahelwatch` processes against a real local site."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import psutil
import pytest
import yaml

from flows.cli import build_parser

PAGES = Path(__file__).resolve().parents[1] / "fixtures" / "pages"
ARTICLE = (PAGES / "article_full.html").read_bytes()
HTML = {"Content-Type": "text/html; charset=utf-8"}
# Long enough that the test sees the run in the middle of its work, short enough to keep the
# suite quick; the pages of the slow feed each take this long to answer.
SLOW_PAGE_S = 4.0
# The tests that stop a run once the fast page is stored: the slow pages must still be on their
# way when the signal lands, however long the extraction pool takes to start on a loaded machine.
# Stopped runs never wait for these pages, so the length costs nothing.
SLOW_PAGE_WHEN_STOPPED_S = 60.0
EXE = Path(sys.executable).with_name("sahelwatch")


def rss(*links: str) -> bytes:
    items = "".join(
        f"<item><title>Article {n}</title><link>{u}</link></item>" for n, u in enumerate(links)
    )
    return (
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>{items}'
        "</channel></rss>".encode()
    )


def site_with_a_fast_and_a_slow_feed(server, slow_page_s: float = SLOW_PAGE_S) -> None:
    for n in range(3):
        server.route(
            f"/fast/{n}.html",
            body=ARTICLE.replace(b"<title>", f"<title>{n} ".encode()),
            headers=HTML,
        )
        server.route(f"/slow/{n}.html", body=ARTICLE, headers=HTML, delay=slow_page_s)
    server.route("/fast.xml", body=rss(server.url("/fast/0.html")))
    server.route("/slow.xml", body=rss(*(server.url(f"/slow/{n}.html") for n in range(3))))


def feeds_file(tmp_path: Path, server, *paths: str) -> str:
    config = {
        "network": {
            "allow_private_hosts": ["127.0.0.1"],
            "min_host_delay": 0.0,
            "max_retries": 0,
            "read_timeout": 30.0,
            "total_timeout": 60.0,
            "per_host_concurrency": 4,
        },
        "feeds": [{"name": p, "url": server.url(p)} for p in paths],
    }
    path = tmp_path / "feeds.yaml"
    path.write_text(yaml.safe_dump(config), "utf-8")
    return str(path)


def start(*args: str, env: dict | None = None) -> subprocess.Popen:
    return subprocess.Popen(
        [str(EXE), *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )


def run(*args: str, env: dict | None = None, timeout: float = 180) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(EXE), *args], capture_output=True, text=True, env=env, timeout=timeout
    )


def query(db: Path, sql: str) -> list[tuple]:
    """Read the store read-only, retrying while a writer holds it for a moment."""
    for _ in range(100):
        try:
            con = duckdb.connect(str(db), read_only=True)
        except duckdb.IOException:
            time.sleep(0.1)
            continue
        try:
            return con.execute(sql).fetchall()
        finally:
            con.close()
    raise AssertionError(f"the store {db} stayed locked")


def wait_for(condition, what: str, process: subprocess.Popen, timeout: float = 120.0) -> None:
    """Poll until `condition()`; fail at once, with its output, if `process` ends first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        if process.poll() is not None:
            _, err = process.communicate()
            raise AssertionError(f"{what}: the command ended first ({process.returncode}): {err}")
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def api_env(prefect_api) -> dict:
    """The environment of a command that reports to the test session's Prefect API."""
    from prefect.settings import PREFECT_API_URL

    return {**os.environ, "PREFECT_API_URL": PREFECT_API_URL.value()}


def test_version_is_the_installed_package_version():
    from importlib.metadata import version

    result = run("--version")
    assert (result.returncode, result.stdout.strip()) == (0, f"sahelwatch {version('sahelwatch')}")


def test_every_command_has_a_description_and_an_example():
    parser = build_parser()
    commands = parser._subparsers._group_actions[0].choices  # argparse keeps them here
    assert {"ingest", "backfill", "retag", "dedup", "serve", "query", "stats"} <= set(commands)
    for name, command in commands.items():
        assert command.description, name
        assert command.epilog.startswith("example:\n  sahelwatch "), name


def test_a_second_ingest_is_refused_in_one_line_naming_the_run_that_writes(
    http_server, tmp_path, api_env
):
    site_with_a_fast_and_a_slow_feed(http_server)
    db = tmp_path / "store.duckdb"
    feeds = feeds_file(tmp_path, http_server, "/slow.xml")
    first = start("ingest", "--db", str(db), "--feeds", feeds, env=api_env)
    wait_for(
        lambda: db.exists() and query(db, "SELECT count(*) FROM run_lease")[0][0] == 1,
        "the first ingest to hold the store",
        first,
    )
    (run_id,) = query(db, "SELECT run_id FROM run_lease")[0]
    second = run("ingest", "--db", str(db), "--feeds", feeds, env=api_env)
    assert first.wait(120) == 0, first.stderr.read()
    assert second.returncode == 1
    assert second.stderr.count("\n") == 1
    assert f"ingest_feeds run {run_id}" in second.stderr and "--wait" in second.stderr
    pages = [r.path for r in http_server.requests if r.path.startswith("/slow/")]
    assert sorted(pages) == [f"/slow/{n}.html" for n in range(3)]  # each fetched once


def test_an_ingest_told_to_wait_runs_after_the_first_and_fetches_nothing_twice(
    http_server, tmp_path, api_env
):
    site_with_a_fast_and_a_slow_feed(http_server)
    db = tmp_path / "store.duckdb"
    feeds = feeds_file(tmp_path, http_server, "/slow.xml")
    first = start("ingest", "--db", str(db), "--feeds", feeds, env=api_env)
    wait_for(
        lambda: db.exists() and query(db, "SELECT count(*) FROM run_lease")[0][0] == 1,
        "the first ingest to hold the store",
        first,
    )
    second = run(
        "ingest", "--db", str(db), "--feeds", feeds, "--force", "--wait", "120", env=api_env
    )
    assert first.wait(120) == 0
    assert second.returncode == 0, second.stderr
    assert query(db, "SELECT status, count(*) FROM runs GROUP BY ALL") == [("completed", 2)]
    pages = [r.path for r in http_server.requests if r.path.startswith("/slow/")]
    assert sorted(pages) == [f"/slow/{n}.html" for n in range(3)]


def test_ctrl_c_ends_the_run_as_interrupted_and_keeps_what_finished(http_server, tmp_path):
    """Without PREFECT_API_URL: the temporary API must survive the terminal's Ctrl-C."""
    site_with_a_fast_and_a_slow_feed(http_server, SLOW_PAGE_WHEN_STOPPED_S)
    db = tmp_path / "store.duckdb"
    feeds = feeds_file(tmp_path, http_server, "/fast.xml", "/slow.xml")
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    # start_new_session: a process group of its own, like a shell job the user presses Ctrl-C in
    ingest = subprocess.Popen(
        [str(EXE), "ingest", "--db", str(db), "--feeds", feeds],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        start_new_session=True,
    )
    fast = http_server.url("/fast.xml")
    wait_for(
        lambda: (
            db.exists()
            and query(db, "SELECT count(*) FROM documents WHERE origin = 'feed'")[0][0] == 1
        ),
        "the fast feed's page to be stored",
        ingest,
    )
    os.killpg(ingest.pid, signal.SIGINT)
    _out, err = ingest.communicate(timeout=60)
    assert ingest.returncode == 130
    assert err.strip() == "sahelwatch: interrupted"
    assert query(db, "SELECT flow, status FROM runs") == [("ingest_feeds", "interrupted")]
    assert query(db, "SELECT feed_url FROM feed_state") == [(fast,)]
    assert query(db, "SELECT count(*) FROM documents WHERE origin = 'feed'") == [(1,)]


def test_kill_9_leaves_no_process_behind_and_the_next_run_reports_it_interrupted(
    http_server, tmp_path, api_env
):
    site_with_a_fast_and_a_slow_feed(http_server)
    db = tmp_path / "store.duckdb"
    feeds = feeds_file(tmp_path, http_server, "/slow.xml")
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    ingest = start("ingest", "--db", str(db), "--feeds", feeds, env=env)
    wait_for(
        lambda: db.exists() and query(db, "SELECT count(*) FROM run_lease")[0][0] == 1,
        "the ingest to hold the store",
        ingest,
    )
    children = psutil.Process(ingest.pid).children(recursive=True)
    assert children  # the temporary API and the extraction workers
    ingest.kill()
    ingest.wait()
    _gone, alive = psutil.wait_procs(children, timeout=30)
    assert alive == []
    again = run("ingest", "--db", str(db), "--feeds", feeds, env=api_env)
    assert again.returncode == 0, again.stderr
    statuses = query(db, "SELECT status FROM runs ORDER BY started_at")
    assert statuses == [("interrupted",), ("completed",)]


def test_an_unreachable_prefect_api_is_one_line_naming_the_setting(tmp_path):
    env = {**os.environ, "PREFECT_API_URL": "http://127.0.0.1:9/api"}
    result = run("retag", "--db", str(tmp_path / "s.duckdb"), env=env, timeout=60)
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1
    assert "PREFECT_API_URL=http://127.0.0.1:9/api does not answer" in result.stderr


def test_a_prefect_start_slower_than_the_timeout_is_one_line_naming_the_setting(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    env["SAHELWATCH_PREFECT_START_TIMEOUT"] = "0.01"
    result = run("dedup", "--db", str(tmp_path / "s.duckdb"), env=env, timeout=60)
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1
    assert "raise SAHELWATCH_PREFECT_START_TIMEOUT" in result.stderr


def test_sigterm_ends_the_run_as_interrupted_in_one_line(http_server, tmp_path, api_env):
    site_with_a_fast_and_a_slow_feed(http_server, SLOW_PAGE_WHEN_STOPPED_S)
    db = tmp_path / "store.duckdb"
    feeds = feeds_file(tmp_path, http_server, "/fast.xml", "/slow.xml")
    ingest = start("ingest", "--db", str(db), "--feeds", feeds, env=api_env)
    wait_for(
        lambda: (
            db.exists()
            and query(db, "SELECT count(*) FROM documents WHERE origin = 'feed'")[0][0] == 1
        ),
        "the fast feed's page to be stored",
        ingest,
    )
    ingest.send_signal(signal.SIGTERM)  # what a service manager or `kill` sends
    _, err = ingest.communicate(timeout=60)
    assert (ingest.returncode, err.strip()) == (143, "sahelwatch: terminated")
    assert query(db, "SELECT flow, status FROM runs") == [("ingest_feeds", "interrupted")]
