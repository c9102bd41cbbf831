"""Static SVG charts with matplotlib, to inline in a page that must open with no network."""

from __future__ import annotations

import io
import re
from collections import Counter, defaultdict
from collections.abc import Sequence
from datetime import date, timedelta

import matplotlib

matplotlib.use("Agg")  # no display: render to files only

import matplotlib.dates as mdates
import matplotlib.pyplot as plt

from storage.analyst import SourceHealth, Story

# Text stays text in the SVG (smaller, selectable); the page's own font draws it.
matplotlib.rcParams.update(
    {"svg.fonttype": "none", "svg.hashsalt": "sahelwatch", "font.size": 9, "axes.grid": True}
)
WIDTH_IN, HEIGHT_IN = 9.0, 3.4
# Longer windows are drawn per ISO week: daily lines over months are unreadable.
WEEKLY_AFTER_DAYS = 45
NO_DATA = "nothing in this window"
# Story titles are cut to this many characters on the chart's axis.
TITLE_CHARS = 48
_XML_PROLOGUE = re.compile(r"^.*?(?=<svg)", re.S)


def mentions_over_time(series: Sequence[tuple[date, str, str, int]], title: str) -> str:
    """One line per entity: unique stories naming it per day, or per week over a long window."""
    fig, ax = plt.subplots(figsize=(WIDTH_IN, HEIGHT_IN))
    counts: dict[str, Counter[date]] = defaultdict(Counter)
    days = [day for day, *_ in series]
    weekly = bool(days) and (max(days) - min(days)).days > WEEKLY_AFTER_DAYS
    for day, _, name, stories in series:
        counts[name][_bucket(day, weekly)] += stories
    if counts:
        step = timedelta(days=7 if weekly else 1)
        first, last = _bucket(min(days), weekly), _bucket(max(days), weekly)
        buckets = [first + step * i for i in range((last - first) // step + 1)]
        for name, per_bucket in counts.items():  # days without a story are zeros, not gaps
            ax.plot(buckets, [per_bucket[b] for b in buckets], marker="o", ms=3, label=name)
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=8, frameon=False)
        ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(ax.xaxis.get_major_locator()))
        ax.yaxis.get_major_locator().set_params(integer=True)
    else:
        _no_data(ax)
    ax.set_ylabel(f"stories per {'week' if weekly else 'day'}")
    ax.set_title(title)
    return _svg(fig)


def _bucket(day: date, weekly: bool) -> date:
    return day - timedelta(days=day.weekday()) if weekly else day


def story_delays(stories: Sequence[Story]) -> str:
    """Each large story on a row, a dot per copy at its delay (hours) behind the first copy."""
    fig, ax = plt.subplots(figsize=(WIDTH_IN, max(HEIGHT_IN, 0.45 * len(stories) + 1)))
    for row, story in enumerate(reversed(stories)):
        lags = [c.lag_hours for c in story.copies]
        ax.plot(lags, [row] * len(lags), color="0.7", lw=1)
        ax.scatter(lags, [row] * len(lags), s=28, zorder=3)
        for copy in story.copies:
            ax.annotate(
                copy.source or "?",
                (copy.lag_hours, row),
                fontsize=7,
                xytext=(2, 4),
                textcoords="offset points",
            )
    ax.set_yticks(range(len(stories)))
    ax.set_yticklabels([_cut(s.title or s.story_id) for s in reversed(stories)])
    if not stories:
        _no_data(ax)
    ax.set_xlabel("hours after the first copy")
    ax.set_title("Largest stories: who republished them, and how late")
    return _svg(fig)


def co_mention_matrix(
    entities: Sequence[tuple[str, str]], pairs: dict[tuple[str, str], int]
) -> str:
    """Stories naming both entities of each pair, as a heat map."""
    n = len(entities)
    size = max(HEIGHT_IN + 1, 0.45 * n + 2)
    fig, ax = plt.subplots(figsize=(size + 1.5, size))
    grid = [[0] * n for _ in range(n)]
    for i, (a, _) in enumerate(entities):
        for j, (b, _) in enumerate(entities):
            if i != j:
                grid[i][j] = pairs.get((min(a, b), max(a, b)), 0)
    if n:
        image = ax.imshow(grid, cmap="Blues")
        fig.colorbar(image, ax=ax, label="stories naming both", shrink=0.8)
        for i in range(n):
            for j in range(n):
                if grid[i][j]:
                    ax.text(j, i, str(grid[i][j]), ha="center", va="center", fontsize=7)
        names = [name for _, name in entities]
        ax.set_xticks(range(n), names, rotation=60, ha="right")
        ax.set_yticks(range(n), names)
        ax.grid(False)
    else:
        _no_data(ax)
    ax.set_title("Co-mentions")
    return _svg(fig)


def source_health_chart(health: Sequence[SourceHealth]) -> str:
    """Days since each source's last new document, and its current streak of failed polls."""
    fig, (left, right) = plt.subplots(
        1, 2, figsize=(WIDTH_IN, max(HEIGHT_IN, 0.3 * len(health) + 1)), sharey=True
    )
    names = [h.source for h in health]
    silence = [h.days_since_new_item or 0 for h in health]
    streaks = [h.failure_streak for h in health]
    left.barh(names, silence, color=["tab:red" if h.silent else "tab:blue" for h in health])
    right.barh(names, streaks, color=["tab:red" if h.failing else "tab:orange" for h in health])
    left.set_xlabel("days since the last new document")
    right.set_xlabel("failed polls in a row")
    for ax in (left, right):
        if not health:
            _no_data(ax)
    left.invert_yaxis()
    fig.suptitle("Source health (red: silent for a week, or failing)")
    return _svg(fig)


def _no_data(ax) -> None:
    ax.text(0.5, 0.5, NO_DATA, ha="center", va="center", transform=ax.transAxes, color="0.4")


def _cut(text: str) -> str:
    return text if len(text) <= TITLE_CHARS else text[: TITLE_CHARS - 1] + "…"


def _svg(fig) -> str:
    """The figure as an <svg> element, without the XML prologue (it is inlined in HTML)."""
    buffer = io.StringIO()
    fig.tight_layout()
    fig.savefig(buffer, format="svg")
    plt.close(fig)
    return _XML_PROLOGUE.sub("", buffer.getvalue(), count=1)
