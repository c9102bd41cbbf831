"""A backfill from a WARC file: pages per second and peak memory, at two archive sizes.

The pages are bench/e2e_corpus.py's (20–150 KB, furniture, ~10% not French, wire copies), written
as a crawler would (a request and a response record per page, gzip per record). The `backfill`
flow reads the WARC and runs every page through the same pipeline as ingestion, in chunks of
`flows.backfill.CHUNK_PAGES`, one Prefect task per chunk. Memory must stay flat with the number
of pages: the peak RSS of the process tree (the `sahelwatch backfill` command and its extraction
workers; the Prefect API apart) is sampled at each size, and the larger's peak is compared with the
smaller's.
"""

from __future__ import annotations

import gzip
import os
import shutil
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from bench.e2e import TreeSampler, _api_pid, _load, cpu_since
from bench.e2e_corpus import generate
from bench.scratch import scratch
from tests.support.archive_fixtures import _request, _response, _warcinfo

SIZES = (2_000, 10_000)
REPO = Path(__file__).resolve().parents[1]
COMMAND = str(Path(sys.executable).with_name("sahelwatch"))  # the console script beside python
ITEMS_PER_OUTLET = 100
CAPTURED = datetime(2026, 11, 20, tzinfo=UTC)


def run(sizes: tuple[int, ...] = SIZES) -> dict:
    with scratch("bench-backfill-") as work:
        return _run_in(work, sizes)


def _run_in(work: Path, sizes: tuple[int, ...]) -> dict:
    from flows.cli_runs import prefect_session

    largest = max(sizes)
    outlets = max(1, largest // ITEMS_PER_OUTLET)
    corpus = generate(work / "corpus", outlets, largest // outlets, outlets, port=80)
    warcs = {size: _write_warc(work / f"crawl-{size}.warc.gz", corpus, size) for size in sizes}
    warc_mb = {size: round(path.stat().st_size / 2**20, 1) for size, path in warcs.items()}
    shutil.rmtree(work / "corpus")  # the WARCs hold the pages now
    figures: dict = {"mean_page_kb": None, "warc_mb": warc_mb, "sizes": {}}
    with prefect_session() as ready:
        ready()
        api = _api_pid()
        for size, path in warcs.items():
            figures["sizes"][size] = _backfill(path, work / f"store-{size}.duckdb", api)
    peaks = [figures["sizes"][size]["peak_rss_mb"] for size in sizes]
    figures["peak_rss_growth_largest_vs_smallest"] = round(peaks[-1] / peaks[0], 3)
    figures["pages_per_s"] = figures["sizes"][largest]["pages_per_s"]
    figures.pop("mean_page_kb")
    return figures


def _write_warc(path: Path, corpus, size: int) -> Path:
    """warcinfo, then a request and an HTML 200 response per page, gzip per record."""
    with path.open("wb") as out:
        out.write(gzip.compress(_warcinfo(path.name), compresslevel=1, mtime=0))
        for page in corpus.pages[:size]:
            body = (corpus.directory / page.file).read_bytes()
            for record in (
                _request(page.url, CAPTURED),
                _response(page.url, CAPTURED, 200, "text/html; charset=utf-8", body),
            ):
                out.write(gzip.compress(record, compresslevel=1, mtime=0))
    return path


def _backfill(warc: Path, db: Path, api_pid: int | None) -> dict:
    """`sahelwatch backfill --warc` as a user runs it, in a process of its own reaching the
    benchmark's Prefect API: the tree measured is that command and its extraction workers. (Run
    inside this process, the tree also counted what generating the corpus and the WARC left in
    it: 60 MB more at the start.)"""
    command = [COMMAND, "backfill", "--warc", str(warc), "--db", str(db), "--no-progress"]
    load = _load()
    before = os.times()
    started = time.perf_counter()
    process = subprocess.Popen(
        command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    excluded = {api_pid} if api_pid else set()
    with TreeSampler(excluded, api=api_pid, root=process.pid) as tree:
        _, err = process.communicate()
    seconds = time.perf_counter() - started
    after = os.times()
    if process.returncode != 0:
        last = (err.strip().splitlines() or ["no message"])[-1]
        raise RuntimeError(f"sahelwatch backfill exited with {process.returncode}: {last}")
    counts = _run_counts(db)
    pages = sum(counts.get(k, 0) for k in ("stored", "skipped", "same_url", "same_text"))
    tree_cpu = cpu_since(before, after)["extraction_workers"]  # the command, workers included
    return {
        "seconds": round(seconds, 1),
        "pages": pages,
        "stored": counts.get("stored"),
        "pages_per_s": round(pages / seconds, 1),
        "peak_rss_mb": tree.peak_mb,
        "peak_rss_with_api_mb": tree.peak_with_api_mb,
        "cpu_s": {
            "flow_process": round(tree.root_cpu_s, 1),
            "extraction_workers": round(tree_cpu - tree.root_cpu_s, 1),
        },
        "load_average_before": load,
    }


def _run_counts(db: Path) -> dict:
    """The counts the backfill run recorded in its (fresh) store."""
    from storage import runs
    from storage.store import Store

    with Store(db).read() as con:
        recorded = runs.counts_by_flow(con, "backfill")
    if len(recorded) != 1:
        raise RuntimeError(f"expected one backfill run in {db}, found {len(recorded)}")
    return recorded[0]


if __name__ == "__main__":
    import json
    import sys

    sizes = (100, 300) if "--quick" in sys.argv else SIZES
    print(json.dumps(run(sizes), indent=2, default=str))
