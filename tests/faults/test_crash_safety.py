"""`kill -9` of a real `sahelwatch` process at seeded random points, then the same command again:
the store ends exactly as an uninterrupted run leaves it, and the killed run is told apart.

Each flow (ingest of the bundled sample site, backfill of a generated WARC, retag with an edited
watchlist) is first run once uninterrupted on a fresh store: that is the reference store, and its
timeline (when the run was booked, when it ended) scales the kill delays. A single kill point (the
default) falls early in the run's working time. With more, one falls in start-up and the others
are spread by stratified seeded sampling over the run's working time, so they reach fetch and
extraction, the store writes, the near-duplicate update and the run's end.
The phase each kill actually hit is read back from the store and shown in the test's output and
the faults report.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import psutil
import pytest

from demo.site_server import DemoSite
from tests.faults.conftest import fault_points, fault_seed
from tests.faults.report import FaultResult, record
from tests.support.archive_fixtures import make_articles, write_warc
from tests.support.process_tree import PeakRss
from tests.support.sample_site import write_feeds
from tests.support.store_snapshot import (
    Snapshot,
    connect,
    differences,
    half_written,
    lost_and_doubled,
    run_statuses,
    snapshot,
)

pytestmark = pytest.mark.slow

EXE = Path(sys.executable).with_name("sahelwatch")
REPO = Path(__file__).resolve().parents[2]
WATCHLIST = REPO / "config" / "watchlist.yaml"
FLOWS = ("ingest", "backfill", "retag")
# Enough pages that a backfill spends most of its time storing them, few enough to stay quick.
WARC_ARTICLES = 60
# Kills land up to this far past the reference run's end: a run may take longer when killed and
# restarted, and a kill after the end must change nothing either.
KILL_SPAN = 1.1
# Helper processes (extraction workers) are told of their parent's death by the kernel; they get
# this long to go before they count as orphans.
ORPHAN_GRACE_S = 10.0
# A single kill point falls in this share of the run's working time. Drawn over the whole run it
# landed after the run's end in two flows of three (ingest and retag, seed 2025): the reference
# is timed on a cold server and runs vary by a few tenths, and a kill after the end proves only
# that nothing changes. Ingest and backfill are now killed mid-run (store writes, extraction);
# a retag of the 60-document store works for a few tenths of a second once booked, and its
# kill still lands at its end.
SINGLE_POINT_SHARE = (0.05, 0.3)
RUN_TIMEOUT_S = 300.0
POLL_S = 0.1


@dataclass
class Reference:
    """An uninterrupted run: the store it leaves and when it did what."""

    store: Snapshot
    booked_s: float  # from process start to the run's row in `runs`
    total_s: float  # from process start to exit


@dataclass
class Workload:
    tmp: Path
    feeds: Path
    warc: Path
    watchlist: Path
    retag_base: Path  # a backfilled store, tagged with the shipped watchlist, for retag
    env: dict[str, str]
    references: dict[str, Reference]
    seeded: Snapshot | None = None  # a store just created: migrated and seeded

    def command(self, flow: str, db: Path) -> list[str]:
        common = ["--db", str(db), "--no-progress"]
        if flow == "ingest":
            return [str(EXE), "ingest", *common, "--feeds", str(self.feeds)]
        if flow == "backfill":
            return [
                str(EXE),
                "backfill",
                *common,
                "--feeds",
                str(self.feeds),
                "--warc",
                str(self.warc),
            ]
        return [str(EXE), "retag", *common, "--watchlist", str(self.watchlist)]

    def fresh_store(self, flow: str, db: Path) -> None:
        """Where each run of `flow` starts: no store, or the backfilled one for retag."""
        if flow == "retag":
            shutil.copyfile(self.retag_base, db)


def edited_watchlist(path: Path) -> Path:
    """The shipped watchlist with Mali named only "Mali": a retag rewrites many documents."""
    text = WATCHLIST.read_text("utf-8")
    aliases = "    aliases: [malien, malienne, maliens, maliennes, Bamako]\n"
    if aliases not in text:
        raise RuntimeError(f"{WATCHLIST} no longer lists Mali's aliases as this test expects")
    path.write_text(text.replace(aliases, ""), "utf-8")
    return path


def run_to_completion(command: list[str], env: dict) -> tuple[float, float, int]:
    """Run uninterrupted; (seconds until the run was booked, total seconds, peak tree RSS)."""
    db = Path(command[command.index("--db") + 1])
    started = time.monotonic()
    booked = None
    with PeakRss() as peak:
        process = subprocess.Popen(
            command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
        )
        while process.poll() is None:
            if booked is None and db.exists() and _running_runs(db):
                booked = time.monotonic() - started
            time.sleep(POLL_S)
            if time.monotonic() - started > RUN_TIMEOUT_S:
                process.kill()
                raise AssertionError(f"{command[1]} did not end in {RUN_TIMEOUT_S:.0f} s")
    total = time.monotonic() - started
    err = process.stderr.read()
    if process.returncode != 0:
        raise AssertionError(f"{' '.join(command[:2])} failed ({process.returncode}): {err}")
    return booked if booked is not None else total / 2, total, peak.bytes


def _running_runs(db: Path) -> int:
    try:
        con = connect(db, attempts=1)
    except AssertionError:
        return 0
    try:
        return con.execute("SELECT count(*) FROM runs WHERE status = 'running'").fetchone()[0]
    except Exception:  # the schema is still being created
        return 0
    finally:
        con.close()


@pytest.fixture(scope="module")
def workload(api_env, tmp_path_factory):
    """The three flows' inputs and their reference runs, shared by every kill point."""
    tmp = tmp_path_factory.mktemp("crash")
    with DemoSite() as site:
        feeds = write_feeds(site, tmp / "feeds.yaml")
        warc = tmp / "crawl.warc.gz"
        write_warc(warc, make_articles(WARC_ARTICLES), "https://sahel.example")
        work = Workload(
            tmp,
            feeds,
            warc,
            edited_watchlist(tmp / "watchlist.yaml"),
            tmp / "retag-base.duckdb",
            api_env,
            {},
        )
        seeded = tmp / "seeded.duckdb"
        init = subprocess.run(
            [str(EXE), "init", "--db", str(seeded)], env=api_env, capture_output=True, text=True
        )
        if init.returncode != 0:
            raise AssertionError(f"sahelwatch init failed: {init.stderr}")
        work.seeded = snapshot(seeded)
        for flow in FLOWS:
            db = tmp / f"reference-{flow}.duckdb"
            work.fresh_store(flow, db)
            booked, total, _ = run_to_completion(work.command(flow, db), api_env)
            work.references[flow] = Reference(snapshot(db), booked, total)
            print(f"\nreference {flow}: booked after {booked:.1f} s, ended after {total:.1f} s")
            if flow == "backfill":
                shutil.copyfile(db, work.retag_base)
        yield work


def kill_points() -> list:
    points, seed = fault_points(), fault_seed()
    return [
        pytest.param(flow, n, points, seed, id=f"{flow}-{n + 1}of{points}-seed{seed}")
        for flow in FLOWS
        for n in range(points)
    ]


def kill_delay(reference: Reference, flow: str, n: int, points: int, seed: int) -> float:
    """Point n of `points`: a seeded instant in its own slice of the reference run's timeline.

    A single point falls early in the run's working time (SINGLE_POINT_SHARE). Of several, the
    first falls in start-up (before the run is booked); the others share the run's
    working time (fetch, extraction, store writes, the near-duplicate update, its end), where
    what can go wrong is: start-up writes nothing but the seeds.
    """
    rng = random.Random(f"{seed}:{flow}:{n}")
    if points == 1:
        share = rng.uniform(*SINGLE_POINT_SHARE)
        return reference.booked_s + (reference.total_s - reference.booked_s) * share
    if n == 0:
        return reference.booked_s * rng.random()
    working = (reference.total_s - reference.booked_s) * KILL_SPAN
    return reference.booked_s + working * (n - 1 + rng.random()) / (points - 1)


def kill_tree(process: subprocess.Popen) -> int:
    """`kill -9` the command alone, as the OOM killer or a power cut would; return the orphans."""
    try:
        helpers = psutil.Process(process.pid).children(recursive=True)
    except psutil.NoSuchProcess:
        helpers = []
    if process.poll() is None:
        os.kill(process.pid, signal.SIGKILL)
    process.wait()
    _, alive = psutil.wait_procs(helpers, timeout=ORPHAN_GRACE_S)
    for orphan in alive:  # left to the test, not to the machine
        orphan.kill()
    return len(alive)


def phase_reached(db: Path, flow: str, before: Snapshot, runs_before: int) -> str:
    """What the killed run had done, read from the store it left."""
    if not db.exists():
        return "start-up"
    ours = run_statuses(db)[runs_before:]
    if not ours:
        return "start-up"
    if ours[-1][2] == "completed":
        return "run's end (completed)"
    now = snapshot(db)
    if now["document_signatures"] != before.get("document_signatures", []):
        return "near-duplicate update"
    wrote = any(now[t] != before.get(t, []) for t in ("documents", "skipped", "tagged_documents"))
    if wrote or any(row[2] == "True" for row in now["backfill_items"]):
        return "store writes"
    return "fetch and extraction"


@pytest.mark.parametrize(("flow", "n", "points", "seed"), kill_points())
def test_a_killed_run_rerun_leaves_the_store_an_uninterrupted_run_leaves(
    workload, tmp_path, flow, n, points, seed
):
    reference = workload.references[flow]
    db = tmp_path / "store.duckdb"
    workload.fresh_store(flow, db)
    before = snapshot(db) if db.exists() else workload.seeded
    runs_before = len(run_statuses(db)) if db.exists() else 0
    delay = kill_delay(reference, flow, n, points, seed)
    command = workload.command(flow, db)

    with PeakRss() as peak:
        killed = subprocess.Popen(
            command, env=workload.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        time.sleep(delay)
        ended_first = killed.poll() is not None
        orphans = kill_tree(killed)
        phase = "after it ended" if ended_first else phase_reached(db, flow, before, runs_before)
        broken = half_written(db) if db.exists() else {}
        _, _, rerun_rss = run_to_completion(command, workload.env)
    after = snapshot(db)
    broken.update({f"after the re-run: {k}": v for k, v in half_written(db).items()})
    lost, doubled = lost_and_doubled(reference.store, after)
    statuses = [(flow_, status) for _, flow_, status in run_statuses(db)]
    print(f"\n{flow}: killed after {delay:.1f} s in {phase}; runs {statuses}")

    same = after == reference.store
    outcome = "identical store" if same and not broken and not orphans else "DIFFERS"
    record(FaultResult(f"kill -9 {flow}", 2, lost, doubled, max(peak.bytes, rerun_rss), outcome))
    record(FaultResult(f"kill -9 {flow}: phases hit", 0, 0, 0, 0, phase))
    assert not broken, f"half-written batch left by the kill: {broken}"
    assert orphans == 0, f"{orphans} helper processes outlived the killed command"
    assert same, differences(reference.store, after)
    assert statuses[-1][1] == "completed"
    assert "running" not in {status for _, status in statuses}
    if not ended_first and phase not in ("start-up", "run's end (completed)"):
        assert statuses[-2][1] == "interrupted", statuses
