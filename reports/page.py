"""The report: one self-contained HTML page (inline CSS and SVG, no script, no external link)."""

from __future__ import annotations

from datetime import datetime
from html import escape

from reports import charts
from storage.analyst import ReportData

CSS = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 2rem auto; max-width: 62rem; color: #222; }
h1 { font-size: 1.5rem; } h2 { font-size: 1.15rem; margin-top: 2rem; }
figure.chart { margin: 1rem 0; } figure.chart svg { max-width: 100%; height: auto; }
table { border-collapse: collapse; font-size: 13px; } td, th { padding: .2rem .6rem;
border-bottom: 1px solid #ddd; text-align: left; } td.n { text-align: right; }
.bad { color: #b00; font-weight: 600; } .muted { color: #666; }
"""


def build_page(data: ReportData, generated_at: datetime) -> str:
    """The whole page; every chart is a <figure class="chart" id=...> holding one <svg>."""
    window = data.window
    scope = f"{window.since or 'the beginning'} to {window.until or data.as_of}" + (
        f", stories naming {', '.join(window.entities)}" if window.entities else ""
    )
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        "<title>sahelwatch report</title>",
        f"<style>{CSS}</style></head><body>",
        "<h1>sahelwatch report</h1>",
        f"<p>{escape(scope)}: {data.stories} stories, {data.documents} documents. "
        f'<span class="muted">Generated {generated_at:%Y-%m-%d %H:%M} UTC.</span></p>',
        "<h2>Mentions over time (unique stories)</h2>",
        _figure(
            "countries", charts.mentions_over_time(data.series.get("country", []), "Top countries")
        ),
        _figure("actors", charts.mentions_over_time(data.series.get("actor", []), "Top actors")),
        "<h2>Largest stories</h2>",
        _figure("stories", charts.story_delays(data.largest)),
        _stories_table(data),
        "<h2>Co-mentions</h2>",
        _figure("co-mentions", charts.co_mention_matrix(data.matrix_entities, data.matrix_pairs)),
        "<h2>Source health</h2>",
        _figure("source-health", charts.source_health_chart(data.health)),
        _health_table(data),
        "</body></html>",
    ]
    return "\n".join(parts)


CHART_IDS = ("countries", "actors", "stories", "co-mentions", "source-health")


def _figure(chart_id: str, svg: str) -> str:
    return f'<figure class="chart" id="chart-{chart_id}">{svg}</figure>'


def _stories_table(data: ReportData) -> str:
    rows = ["<table><tr><th>story</th><th>first</th><th>copies: source (hours later)</th></tr>"]
    for story in data.largest:
        copies = ", ".join(
            f"{escape(c.source or '?')} ({c.lag_hours:+.1f} h)"
            for c in story.copies
            if not c.is_root
        )
        rows.append(
            f"<tr><td>{escape(story.title or story.story_id)}</td>"
            f"<td>{escape(story.first_source or '?')}</td><td>{copies}</td></tr>"
        )
    return "\n".join([*rows, "</table>"])


def _health_table(data: ReportData) -> str:
    rows = [
        "<table><tr><th>source</th><th>last new document</th><th>days silent</th>"
        "<th>failed polls in a row</th><th>stored</th><th>skipped</th><th>feed failures</th></tr>"
    ]
    for h in data.health:
        last = f"{h.last_new_item_at:%Y-%m-%d %H:%M}" if h.last_new_item_at else "never"
        silent = "–" if h.days_since_new_item is None else h.days_since_new_item
        rows.append(
            f"<tr><td>{escape(h.source)}</td><td>{last}</td>"
            f'<td class="n{" bad" if h.silent else ""}">{silent}</td>'
            f'<td class="n{" bad" if h.failing else ""}">{h.failure_streak}</td>'
            f'<td class="n">{h.stored}</td><td class="n">{h.skipped}</td>'
            f'<td class="n">{h.feed_failures}</td></tr>'
        )
    return "\n".join([*rows, "</table>"])
