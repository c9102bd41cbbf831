"""`make bench`: run every benchmark, print the headline figures, keep the full results as JSON.

Each benchmark module exposes `run(**sizes) -> dict` and prints nothing. They run one after the
other (each wants every core to itself), each guarded so that one failure is reported and the
others still run. Progress goes to stderr; the table and the JSON go to stdout; the JSON is also
written to `bench/results/latest.json` (git-ignored), with the machine and the date, so figures
from different machines and days can be compared.

    python -m bench.run                      # everything, about two and a half minutes on 2 cores
    python -m bench.run --only tagging,extraction --quick
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

RESULTS_FILE = Path(__file__).resolve().parent / "results" / "latest.json"
# Exit code when every benchmark that was asked for failed; one success is enough for 0.
EXIT_ALL_FAILED = 1
# Error messages are cut to this length in the table; the JSON and stderr keep them whole.
TABLE_ERROR_CHARS = 70

Headline = Callable[[dict], list[tuple[str, Any]]]


def headline_keys(*names: str) -> Headline:
    """Headline figures that are plain top-level keys of a benchmark's dict."""
    return lambda figures: [(name, figures[name]) for name in names if name in figures]


def _neardup_headline(figures: dict) -> list[tuple[str, Any]]:
    rows = [
        (f"indexed_ms_per_doc @ {size:,} docs", sized["indexed_ms_per_doc"])
        for size, sized in figures["sizes"].items()
    ]
    return [*rows, ("growth_largest_vs_smallest", figures["growth_largest_vs_smallest"])]


def _analyst_headline(figures: dict) -> list[tuple[str, Any]]:
    rows = []
    for size, sized in figures["sizes"].items():
        rows += [
            (f"slowest of 5 analyst queries s @ {size:,} docs", max(sized["queries_s"].values())),
            (f"search s @ {size:,} docs", sized["search_s"]),
            (f"index refresh (100 new) s @ {size:,} docs", sized["index_refresh_100_new_s"]),
            (f"index full rebuild s @ {size:,} docs", sized["index_full_rebuild_s"]),
        ]
    return rows


def _backfill_headline(figures: dict) -> list[tuple[str, Any]]:
    rows = []
    for size, sized in figures["sizes"].items():
        rows += [
            (f"pages/s @ {size:,} WARC pages", sized["pages_per_s"]),
            (f"peak RSS MB @ {size:,} WARC pages", sized["peak_rss_mb"]),
        ]
    return [*rows, ("peak RSS largest / smallest", figures["peak_rss_growth_largest_vs_smallest"])]


# The end-to-end benchmark at a size that only shows it runs (tests/bench use it too).
QUICK_E2E = {
    "feeds": 4,
    "items": 5,
    "naive_pages": 5,
    "idle_feeds": 4,
    "idle_pause_s": 0.0,
    "rounds": 1,
}


@dataclass(frozen=True)
class Benchmark:
    name: str
    module: str
    duration: str  # shown while it runs, so a long silence is not taken for a hang
    quick_duration: str
    headline: Headline
    quick_kwargs: dict[str, Any] = field(default_factory=dict)  # {} when run() takes no sizes


BENCHMARKS = {
    b.name: b
    for b in (
        Benchmark(
            "extraction",
            "bench.extraction",
            "about a minute",
            "about 20 s",
            headline_keys(
                "trafilatura_pages_per_s",
                "pipeline_pages_per_s",
                "pipeline_vs_trafilatura",
                "pipeline_vs_trafilatura_pipeline_options",
                "pipeline_one_batch_in_flight_pages_per_s",
                "rss_growth_mb",
                "rss_growth_mb_without_reset",
            ),
            {"pages": 96, "rounds": 1, "memory_batches": 10},
        ),
        Benchmark(
            "tagging",
            "bench.tagging",
            "about 5 s",
            "about 5 s (no smaller size)",
            headline_keys("mb_per_s", "documents_per_s", "large_watchlist_mb_per_s"),
        ),
        Benchmark(
            "neardup",
            "bench.neardup",
            "about a minute",
            "about 20 s",
            _neardup_headline,
            {"sizes": (1_000, 10_000)},
        ),
        Benchmark(
            "store_append",
            "bench.store_append",
            "about 10 s",
            "about 5 s",
            headline_keys("append_s", "append_again_s"),
            {"archive": 2_000, "batch_documents": 500, "batch_skips": 5_000, "rounds": 1},
        ),
        Benchmark(
            "prefect_cost",
            "bench.prefect_cost",
            "about a minute",
            "about 40 s",
            headline_keys(
                "temporary_api_start_fresh_home_s",
                "temporary_api_start_s",
                "idle_run_s",
                "idle_cli_s",
            ),
            {"feeds": 32, "starts": 1},
        ),
        Benchmark(
            "fetching",
            "bench.fetching",
            "about 10 s",
            "about 10 s (no smaller size)",
            headline_keys("pages_per_s", "sequential_ms_per_page", "bomb_peak_python_mb"),
        ),
        Benchmark(
            "e2e",
            "bench.e2e",
            "about five minutes",
            "about 40 s",
            headline_keys(
                "pipeline_vs_ceiling",
                "pipeline_vs_ceiling_excluding_prefect_start",
                "pipeline_vs_ceiling_pipeline_options",
                "pipeline_vs_naive",
                "pipeline_vs_naive_excluding_prefect_start",
                "pipeline_pages_per_s",
                "pipeline_pages_per_s_excluding_prefect_start",
                "ceiling_pages_per_s",
                "naive_pages_per_s",
                "peak_rss_mb",
                "peak_rss_with_prefect_api_mb",
                "idle_run_s",
            ),
            dict(QUICK_E2E),
        ),
        Benchmark(
            "backfill",
            "bench.backfill_warc",
            "about fifteen minutes on a loaded machine",
            "about 40 s",
            _backfill_headline,
            {"sizes": (100, 300)},
        ),
        Benchmark(
            "analyst",
            "bench.analyst",
            "about three minutes",
            "about 10 s",
            _analyst_headline,
            {"sizes": (1_000, 2_000), "repeats": 1},
        ),
    )
}


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    selected = _selected(args.only)
    if selected is None:
        parser.error(f"--only takes names among {', '.join(BENCHMARKS)}; got {args.only!r}")
    results = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "quick": args.quick,
        "machine": _machine(),
        "benchmarks": {b.name: run_one(b, quick=args.quick) for b in selected},
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(results, indent=2, ensure_ascii=False, default=str)
    args.output.write_text(text + "\n", encoding="utf-8")
    print(render_table(selected, results["benchmarks"]))
    print()
    print(text)
    print(f"bench: results written to {args.output}", file=sys.stderr)
    failed = [n for n, r in results["benchmarks"].items() if r["status"] != "ok"]
    return EXIT_ALL_FAILED if len(failed) == len(selected) else 0


def run_one(benchmark: Benchmark, *, quick: bool) -> dict[str, Any]:
    """Run one benchmark; its failure becomes a result instead of stopping the others."""
    duration = benchmark.quick_duration if quick else benchmark.duration
    print(f"bench: running {benchmark.name} ({duration})…", file=sys.stderr, flush=True)
    load_before = _load_average()
    started = time.perf_counter()
    try:
        module = importlib.import_module(benchmark.module)
        figures = module.run(**(benchmark.quick_kwargs if quick else {}))
    except Exception as exc:  # any failure, import errors included: report it, run the others
        seconds = round(time.perf_counter() - started, 1)
        print(f"bench: {benchmark.name} failed after {seconds} s:", file=sys.stderr)
        traceback.print_exc(file=sys.stderr)
        return {"status": "failed", "seconds": seconds, "error": f"{type(exc).__name__}: {exc}"}
    seconds = round(time.perf_counter() - started, 1)
    print(f"bench: {benchmark.name} done in {seconds} s", file=sys.stderr, flush=True)
    return {
        "status": "ok",
        "seconds": seconds,
        # Other processes on the machine slow every figure down; this says how busy it was.
        "load_average_before": load_before,
        "figures": figures,
    }


def render_table(selected: Sequence[Benchmark], results: dict[str, dict]) -> str:
    """Benchmark, figure, value: one line per headline figure, one per failure."""
    rows: list[tuple[str, str, str]] = []
    for benchmark in selected:
        result = results[benchmark.name]
        if result["status"] != "ok":
            rows.append((benchmark.name, "FAILED", result["error"][:TABLE_ERROR_CHARS]))
            continue
        try:
            headline = benchmark.headline(result["figures"])
        except (KeyError, TypeError, AttributeError) as exc:  # a renamed figure: say so, go on
            headline = [("(headline unavailable)", f"{type(exc).__name__}: {exc}")]
        rows += [(benchmark.name, label, _format(value)) for label, value in headline]
        rows.append((benchmark.name, "seconds (whole benchmark)", _format(result["seconds"])))
    header = ("benchmark", "figure", "value")
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(2)]
    lines = [f"{a:<{widths[0]}}  {b:<{widths[1]}}  {c}" for a, b, c in [header, *rows]]
    lines.insert(1, "-" * max(len(line) for line in lines))
    return "\n".join(lines)


def _format(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.3f}".rstrip("0").rstrip(".")
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)


def _selected(only: str | None) -> list[Benchmark] | None:
    """The benchmarks asked for, in their usual order; None if a name is unknown."""
    if not only:
        return list(BENCHMARKS.values())
    names = {name.strip() for name in only.split(",") if name.strip()}
    if not names or names - BENCHMARKS.keys():
        return None
    return [b for name, b in BENCHMARKS.items() if name in names]


def _machine() -> dict[str, Any]:
    return {
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
    }


def _load_average() -> list[float] | None:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:  # not available on every platform
        return None


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench.run",
        description="Run sahelwatch's benchmarks and write bench/results/latest.json.",
    )
    parser.add_argument(
        "--only",
        metavar="NAME[,NAME]",
        help=f"run only these benchmarks, among: {', '.join(BENCHMARKS)}",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="smaller sizes where a benchmark accepts them (a check that it runs, not a figure)",
    )
    parser.add_argument(
        "--output",
        type=Path,
        default=RESULTS_FILE,
        metavar="PATH",
        help=f"where to write the JSON results (default {RESULTS_FILE})",
    )
    return parser


if __name__ == "__main__":
    sys.exit(main())
