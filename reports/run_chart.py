"""The per-run chart published beside a run's summary: new documents per source, as markdown.

Text bars in a markdown table render in Prefect's UI, in a terminal and in the stored report
alike, with no image to host.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping

# Width of the longest bar, in block characters.
BAR_WIDTH = 30
BLOCK = "█"


def new_documents_chart(
    counts: Mapping[str, object], title: str = "New documents per source"
) -> str:
    """A bar per source from a run's `per_feed` counts, longest first; sources with none last."""
    stored: Counter[str] = Counter()
    for feed in counts.get("per_feed") or []:  # type: ignore[union-attr]
        stored[str(feed.get("source") or feed.get("feed_url"))] += int(feed.get("stored") or 0)
    lines = [f"## {title}", ""]
    if not stored:
        return "\n".join([*lines, "No source was polled in this run."])
    top = max(stored.values()) or 1
    lines += ["| source | new documents | |", "|---|---:|---|"]
    for source, n in sorted(stored.items(), key=lambda item: (-item[1], item[0])):
        bar = BLOCK * round(BAR_WIDTH * n / top) if n else ""
        lines.append(f"| {source.replace('|', '/')} | {n} | {bar} |")
    return "\n".join(lines)
