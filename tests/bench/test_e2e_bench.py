"""The end-to-end benchmark runs on a tiny corpus and reports its three rates and its ratios.

Speed is never asserted: only that every part ran over the same pages and gave a positive figure.
Both report to the session's Prefect server (`prefect_api`), as `sahelwatch` does when
PREFECT_API_URL is set, instead of starting a temporary API each (about 10 s apiece here).
"""

from __future__ import annotations

import pytest

from bench import e2e
from bench.run import QUICK_E2E


@pytest.fixture(scope="module")
def figures(prefect_api) -> dict:
    return e2e.run(**QUICK_E2E)


def test_pipeline_ceiling_and_naive_each_give_a_positive_rate(figures: dict) -> None:
    for name in ("pipeline_pages_per_s", "ceiling_pages_per_s", "naive_pages_per_s"):
        assert figures[name] > 0, name
    assert figures["pipeline_vs_ceiling"] > 0
    assert figures["pipeline_vs_naive"] > 0


def test_the_rate_less_prefects_start_counts_the_same_pages_in_less_time(figures: dict) -> None:
    run = figures["pipeline"]
    assert run["prefect_start_s"] > 0
    assert run["pages_per_s_excluding_prefect_start"] > run["pages_per_s"]
    assert figures["pipeline_vs_ceiling_excluding_prefect_start"] > figures["pipeline_vs_ceiling"]


def test_pipeline_handles_every_page_of_the_corpus(figures: dict) -> None:
    assert figures["pipeline"]["pages"] == QUICK_E2E["feeds"] * QUICK_E2E["items"]


def test_idle_run_stores_nothing(figures: dict) -> None:
    assert figures["idle"]["stored_by_last_run"] == 0
    assert figures["idle_run_s"] > 0


def test_memory_of_the_process_tree_is_sampled(figures: dict) -> None:
    assert figures["peak_rss_mb"] > 0
    assert figures["peak_rss_with_prefect_api_mb"] >= figures["peak_rss_mb"]


def test_warc_backfill_reports_rate_and_memory_at_each_size(prefect_api) -> None:
    from bench import backfill_warc

    sizes = (20, 40)
    figures = backfill_warc.run(sizes)
    for size in sizes:
        assert figures["sizes"][size]["pages"] == size
        assert figures["sizes"][size]["pages_per_s"] > 0
        assert figures["sizes"][size]["peak_rss_mb"] > 0
