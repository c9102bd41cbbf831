"""Disk full while a backfill writes: one clear line, the store as it was, and the next run (with
room again) completes the work. The store lives on a small tmpfs mounted for the test."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.faults.report import FaultResult, record
from tests.support.archive_fixtures import make_articles, write_warc
from tests.support.process_tree import PeakRss
from tests.support.store_snapshot import snapshot

pytestmark = pytest.mark.slow

EXE = Path(sys.executable).with_name("sahelwatch")
TMPFS_SIZE = "64m"
# Room left for the backfill's writes: less than one DuckDB block allocation of its batch.
ROOM_LEFT = 256 * 1024
ARTICLES = 30


@pytest.fixture
def small_disk(tmp_path):
    """A tmpfs of TMPFS_SIZE, or a skip naming why it cannot be mounted here."""
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={TMPFS_SIZE}", "tmpfs", str(mount)],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        why = f"cannot mount a tmpfs here ({done.stderr.strip()}): disk-full test not run"
        if os.environ.get("CI") == "true" and os.geteuid() == 0:
            pytest.fail(why)
        pytest.skip(why)
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def fill(mount: Path, leave: int) -> Path:
    """A file taking all the free space but `leave` bytes."""
    free = os.statvfs(mount).f_bavail * os.statvfs(mount).f_frsize
    filler = mount / "filler"
    with open(filler, "wb") as out:
        out.truncate(0)
        remaining = max(0, free - leave)
        block = b"\0" * 2**20
        while remaining > 0:
            out.write(block[: min(len(block), remaining)])
            remaining -= min(len(block), remaining)
    return filler


def test_disk_full_mid_backfill_fails_in_one_line_keeps_the_store_and_the_next_run_completes(
    small_disk, api_env, tmp_path
):
    db = small_disk / "store.duckdb"
    warc = tmp_path / "crawl.warc.gz"
    write_warc(warc, make_articles(ARTICLES), "https://sahel.example")
    init = subprocess.run(
        [str(EXE), "init", "--db", str(db)], env=api_env, capture_output=True, text=True
    )
    assert init.returncode == 0, init.stderr
    before = snapshot(db)
    filler = fill(small_disk, ROOM_LEFT)
    command = [str(EXE), "backfill", "--db", str(db), "--warc", str(warc), "--no-progress"]
    with PeakRss() as peak:
        full = subprocess.run(command, env=api_env, capture_output=True, text=True, timeout=300)
    error = full.stderr.strip()
    after_full = snapshot(db)
    filler.unlink()
    again = subprocess.run(command, env=api_env, capture_output=True, text=True, timeout=300)
    done = snapshot(db)
    stored = len(done["documents"]) - len(before["documents"])
    record(
        FaultResult(
            "disk full during backfill",
            2,
            ARTICLES - stored,
            0,
            peak.bytes,
            f"exit {full.returncode}: {error[:60]}",
        )
    )
    assert full.returncode != 0
    assert error.count("\n") == 0 and "Traceback" not in error, error
    assert {k: v for k, v in after_full.items() if k != "backfill_items"} == {
        k: v for k, v in before.items() if k != "backfill_items"
    }
    assert again.returncode == 0, again.stderr
    assert stored == ARTICLES
