"""What an ingest run did, per feed and in total: printed, stored in `runs`, and published."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field


@dataclass(slots=True)
class FeedOutcome:
    name: str
    url: str
    status: str = "pending"  # ok, unchanged, failed, not_due
    error: str | None = None
    warning: str | None = None  # a malformed feed that still yielded items
    items_seen: int = 0
    already_known: int = 0
    fetched: int = 0
    stored: int = 0
    same_url: int = 0
    same_text: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    left_for_later: int = 0  # items cut by --limit or failed for a retryable reason
    retry_later: int = 0  # pages whose fetch failed before, left until their back-off ends


@dataclass(slots=True)
class IngestReport:
    run_id: str
    feeds: list[FeedOutcome] = field(default_factory=list)
    dead_feeds: list[str] = field(default_factory=list)
    silent_feeds: list[str] = field(default_factory=list)
    duration_s: float = 0.0
    near_duplicates: int = 0
    alias_urls: int = 0  # tracking variants of known pages, recorded at the end of the run
    warnings: list[str] = field(default_factory=list)  # run-level problems that did not stop it
    title: str = "Ingest run"  # a backfill reports with the same table under its own title
    polls_feeds: bool = True  # False for a backfill: no feed lines, its source in the table
    extra: dict[str, int] = field(default_factory=dict)  # flow-specific measures, in order

    def counts(self) -> dict[str, object]:
        status = Counter(f.status for f in self.feeds)
        skipped: Counter[str] = Counter()
        for feed in self.feeds:
            skipped.update(feed.skipped)
        return {
            "feeds": len(self.feeds),
            "polled": len(self.feeds) - status["not_due"],
            "changed": status["ok"],
            "unchanged": status["unchanged"],
            "failed": status["failed"],
            "not_due": status["not_due"],
            "items_seen": sum(f.items_seen for f in self.feeds),
            "already_known": sum(f.already_known for f in self.feeds),
            "fetched": sum(f.fetched for f in self.feeds),
            "stored": sum(f.stored for f in self.feeds),
            "same_url": sum(f.same_url for f in self.feeds) + self.alias_urls,
            "same_text": sum(f.same_text for f in self.feeds),
            "near_duplicates": self.near_duplicates,
            "skipped": sum(skipped.values()),
            "retry_later": sum(f.retry_later for f in self.feeds),
            "skipped_by_reason": dict(sorted(skipped.items())),
            "dead_feeds": list(self.dead_feeds),
            "silent_feeds": list(self.silent_feeds),
            "duration_s": round(self.duration_s, 2),
            # Per feed, for the `source_health` view and the per-run chart of new documents.
            "per_feed": [
                {
                    "source": f.name,
                    "feed_url": f.url,
                    "status": f.status,
                    "items_seen": f.items_seen,
                    "stored": f.stored,
                    "skipped": sum(f.skipped.values()),
                }
                for f in self.feeds
            ],
            **self.extra,
        }

    def to_markdown(self) -> str:
        c = self.counts()
        lines = [
            f"# {self.title} {self.run_id}",
            "",
            "| measure | value |",
            "|---|---:|",
        ]
        if self.polls_feeds:
            lines += [
                f"| feeds polled / changed / unchanged / failed | {c['polled']} / "
                f"{c['changed']} / {c['unchanged']} / {c['failed']} |",
                f"| feeds not due yet | {c['not_due']} |",
            ]
        lines += [
            f"| items seen | {c['items_seen']} |",
            f"| already known (not fetched) | {c['already_known']} |",
            f"| pages fetched | {c['fetched']} |",
            f"| documents stored | {c['stored']} |",
            f"| duplicate items, kept as URLs (same URL / same text) | {c['same_url']} / "
            f"{c['same_text']} |",
            f"| near-duplicate copies grouped | {c['near_duplicates']} |",
            f"| skipped | {c['skipped']} |",
        ]
        if c["retry_later"]:
            lines.append(f"| failed before, retried after their back-off | {c['retry_later']} |")
        lines += [f"| skipped: {reason} | {n} |" for reason, n in c["skipped_by_reason"].items()]
        lines += [f"| {name.replace('_', ' ')} | {n} |" for name, n in self.extra.items()]
        lines += [
            f"| duration | {c['duration_s']:.1f} s |",
            "",
            "## Feeds" if self.polls_feeds else "## Source",
            "",
            "| feed | url | status | seen | new | stored | copies | skipped | note |",
            "|---|---|---|---:|---:|---:|---:|---:|---|",
        ]
        for f in self.feeds:
            note = (f.error or f.warning or "").replace("|", "/")[:120]
            new = f.items_seen - f.already_known
            lines.append(
                f"| {f.name} | {f.url} | {f.status} | {f.items_seen} | {new} | {f.stored} | "
                f"{f.same_url + f.same_text} | "
                f"{sum(f.skipped.values())} | {note} |"
            )
        lines += [f"\nWarning: {w}" for w in self.warnings]
        if self.dead_feeds:
            lines += ["", f"Dead feeds (failing repeatedly): {', '.join(self.dead_feeds)}"]
        if self.silent_feeds:
            lines += ["", f"Silent feeds (nothing new for a week): {', '.join(self.silent_feeds)}"]
        return "\n".join(lines)
