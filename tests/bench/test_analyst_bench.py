"""bench/analyst.py runs on a tiny store and reports every figure (speed is never asserted)."""

from __future__ import annotations

from bench import analyst
from bench import run as bench_run


def test_the_analyst_benchmark_reports_each_query_search_and_index_figure():
    figures = analyst.run(sizes=(300, 600), repeats=1)
    for sized in figures["sizes"].values():
        assert set(sized["queries_s"]) == set(analyst.QUERIES)
        assert all(s >= 0 for s in sized["queries_s"].values())
        assert sized["search_hits"] > 0
        assert sized["index_full_rebuild_s"] > 0
    headline = bench_run.BENCHMARKS["analyst"].headline(figures)
    assert len(headline) == 4 * 2
