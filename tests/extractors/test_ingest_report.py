"""The run summary: totals that add up, and the feeds an analyst must look at named."""

from __future__ import annotations

from collections import Counter

from extractors.ingest_report import FeedOutcome, IngestReport


def report() -> IngestReport:
    ok = FeedOutcome(
        "Le Sahel",
        "https://a.example/rss",
        status="ok",
        items_seen=5,
        already_known=1,
        fetched=4,
        stored=2,
        same_text=1,
        skipped=Counter({"not_french": 1}),
    )
    down = FeedOutcome("Tchad Hebdo", "https://b.example/rss", status="failed", error="HTTP 503")
    return IngestReport(
        "run-1", [ok, down], dead_feeds=["Tchad Hebdo"], silent_feeds=["Kidal Info"], alias_urls=2
    )


def test_counts_add_feeds_and_copies_up():
    counts = report().counts()
    assert (counts["polled"], counts["changed"], counts["failed"]) == (2, 1, 1)
    assert (counts["stored"], counts["same_url"], counts["same_text"]) == (2, 2, 1)
    assert counts["skipped_by_reason"] == {"not_french": 1}


def test_markdown_names_failed_dead_and_silent_feeds():
    text = report().to_markdown()
    assert "| Tchad Hebdo | https://b.example/rss | failed |" in text and "HTTP 503" in text
    assert "Dead feeds (failing repeatedly): Tchad Hebdo" in text
    assert "Silent feeds (nothing new for a week): Kidal Info" in text
    assert "| skipped: not_french | 1 |" in text
