"""The per-run chart of new documents per source, from a run's counts."""

from __future__ import annotations

from collections import Counter

from extractors.ingest_report import FeedOutcome, IngestReport
from reports.run_chart import BAR_WIDTH, BLOCK, new_documents_chart


def test_each_source_gets_a_bar_in_proportion_longest_first():
    report = IngestReport(
        "run-1",
        [
            FeedOutcome("Le Sahélien", "https://a.example/rss", status="ok", stored=4),
            FeedOutcome(
                "Burkina 24",
                "https://b.example/rss",
                status="ok",
                stored=2,
                skipped=Counter({"not_french": 1}),
            ),
            FeedOutcome("Niamey Soir", "https://c.example/rss", status="failed"),
        ],
    )
    lines = new_documents_chart(report.counts()).splitlines()
    rows = lines[lines.index("|---|---:|---|") + 1 :]
    assert rows == [
        f"| Le Sahélien | 4 | {BLOCK * BAR_WIDTH} |",
        f"| Burkina 24 | 2 | {BLOCK * (BAR_WIDTH // 2)} |",
        "| Niamey Soir | 0 |  |",
    ]


def test_a_run_that_polled_nothing_says_so():
    assert "No source was polled" in new_documents_chart(IngestReport("run-2").counts())
