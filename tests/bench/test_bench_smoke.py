"""`make bench` as a user runs it: results on disk, every benchmark reported, failures isolated.

Only the quickest real benchmark (tagging) runs here, once for the module; speed is never asserted,
only that the figures exist and are positive numbers.
"""

from __future__ import annotations

import io
import json
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from pathlib import Path

import pytest

from bench import run as bench_run
from bench.extraction import NOW, copy_item, load_templates
from extractors.article import process_batch
from extractors.models import Document

HEADLINE_TAGGING_FIGURES = ("mb_per_s", "documents_per_s", "large_watchlist_mb_per_s")
# A benchmark whose module does not exist: it fails the way a broken benchmark would, for real.
MISSING = bench_run.Benchmark(
    "missing", "bench.no_such_benchmark", "instantly", "instantly", bench_run.headline_keys("x")
)


@dataclass(frozen=True)
class Outcome:
    exit_code: int
    results: dict
    stdout: str
    stderr: str


def run_bench(argv: list[str], output: Path) -> Outcome:
    stdout, stderr = io.StringIO(), io.StringIO()
    with redirect_stdout(stdout), redirect_stderr(stderr):
        exit_code = bench_run.main([*argv, "--output", str(output)])
    results = json.loads(output.read_text(encoding="utf-8"))
    return Outcome(exit_code, results, stdout.getvalue(), stderr.getvalue())


@pytest.fixture(scope="module")
def tagging_and_missing(tmp_path_factory) -> Outcome:
    """One real run of `--only tagging,missing`: a benchmark that works and one that cannot."""
    output = tmp_path_factory.mktemp("bench") / "results" / "latest.json"
    with pytest.MonkeyPatch.context() as patch:
        patch.setitem(bench_run.BENCHMARKS, MISSING.name, MISSING)
        return run_bench(["--only", "tagging,missing"], output)


def test_tagging_figures_are_written_as_positive_numbers(tagging_and_missing: Outcome) -> None:
    tagging = tagging_and_missing.results["benchmarks"]["tagging"]
    assert tagging["status"] == "ok"
    for name in HEADLINE_TAGGING_FIGURES:
        value = tagging["figures"][name]
        assert isinstance(value, int | float) and not isinstance(value, bool), name
        assert value > 0, name
    assert tagging["seconds"] > 0


def test_the_results_file_says_which_machine_and_when(tagging_and_missing: Outcome) -> None:
    results = tagging_and_missing.results
    assert results["machine"]["cpu_count"] >= 1
    assert results["date"].startswith("20")
    assert results["quick"] is False


def test_a_failing_benchmark_is_reported_and_the_others_still_run(
    tagging_and_missing: Outcome,
) -> None:
    missing = tagging_and_missing.results["benchmarks"]["missing"]
    assert missing["status"] == "failed"
    assert "ModuleNotFoundError" in missing["error"]
    assert tagging_and_missing.exit_code == 0


def test_the_table_shows_headline_figures_and_failures(tagging_and_missing: Outcome) -> None:
    table = tagging_and_missing.stdout.split("\n\n")[0]
    for name in HEADLINE_TAGGING_FIGURES:
        assert name in table
    assert "missing" in table and "FAILED" in table


def test_progress_goes_to_stderr(tagging_and_missing: Outcome) -> None:
    assert "running tagging" in tagging_and_missing.stderr
    assert "running tagging" not in tagging_and_missing.stdout


def test_the_run_fails_when_every_benchmark_failed(tmp_path, monkeypatch) -> None:
    monkeypatch.setitem(bench_run.BENCHMARKS, MISSING.name, MISSING)
    outcome = run_bench(["--only", "missing"], tmp_path / "latest.json")
    assert outcome.exit_code == bench_run.EXIT_ALL_FAILED
    assert outcome.results["benchmarks"]["missing"]["status"] == "failed"


def test_an_unknown_benchmark_name_is_a_usage_error(tmp_path) -> None:
    with pytest.raises(SystemExit) as exit_info, redirect_stderr(io.StringIO()):
        bench_run.main(["--only", "taging", "--output", str(tmp_path / "latest.json")])
    assert exit_info.value.code == 2
    assert not (tmp_path / "latest.json").exists()


def test_each_copy_of_a_demo_page_carries_its_own_sentence_into_the_text() -> None:
    templates = load_templates()
    first, again = copy_item(templates, 0), copy_item(templates, len(templates))
    assert first.url != again.url
    documents = process_batch([first, again], NOW)
    texts = [d.text for d in documents if isinstance(d, Document)]
    assert len(texts) == 2
    assert "n° 0 :" in texts[0] and f"n° {len(templates)} :" in texts[1]


def test_the_windows_1252_page_keeps_its_accents_and_the_added_sentence() -> None:
    templates = load_templates()
    n = next(i for i, t in enumerate(templates) if not t.encoding.startswith("utf"))
    [document] = process_batch([copy_item(templates, n)], NOW)
    assert isinstance(document, Document)
    assert "Œuvre" in document.text
    assert f"Note de la rédaction n° {n}" in document.text
