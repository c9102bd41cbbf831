"""`sahelwatch search`, `export` and `report`: read-only commands over the analyst views.

Thin wiring: the SQL is in storage/ (fulltext, exports, analyst), the snippet in extractors/,
the charts and the page in reports/. Each opens the store read-only and never creates one.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from extractors.errors import UsageError
from extractors.snippet import make_snippet, words
from storage import analyst, exports, fulltext
from storage.stores import store_at

# Terminal highlighting of the query's words in snippets; plain markers when piped.
ANSI_MARK = ("\x1b[1;33m", "\x1b[0m")
PLAIN_MARK = ("**", "**")


@contextmanager
def reading(db: str | None) -> Iterator[Any]:
    """A read-only connection to an existing, upgraded store: read commands never create one."""
    with store_at(db).read_current() as con:
        yield con


def check_window(since: date | None, until: date | None) -> None:
    if since and until and until < since:
        raise UsageError(f"--until {until} is before --since {since}")


def run_search(args) -> int:
    check_window(args.since, args.until)
    with reading(args.db) as con:
        hits = fulltext.search(
            con,
            args.query,
            since=args.since,
            until=args.until,
            entities=tuple(args.entity),
            sources=tuple(args.source),
            limit=args.limit,
        )
        stems = fulltext.query_stems(con, args.query)
        vocabulary = fulltext.word_stems(con, [w for h in hits for w in words(h.text)])
    mark = ANSI_MARK if sys.stdout.isatty() else PLAIN_MARK
    if not hits:
        print(f"no document matches {args.query!r}")
        return 0
    for rank, hit in enumerate(hits, 1):
        snippet = make_snippet(hit.text, lambda w: vocabulary.get(w) in stems)
        when = f"{hit.seen_at:%Y-%m-%d}" if hit.seen_at else "?"
        more = f" (+{hit.copies_matched - 1} copies)" if hit.copies_matched > 1 else ""
        print(f"{rank}. [{hit.score:.2f}] {hit.title or '(no title)'} — {hit.source} {when}{more}")
        print(f"   {hit.url}")
        print(f"   {snippet.render(*mark)}")
    return 0


def run_export(args) -> int:
    check_window(args.since, args.until)
    with reading(args.db) as con:
        done = exports.export(con, Path(args.out), args.format, since=args.since, until=args.until)
    for table in done:
        print(f"{table.name}: {table.rows} rows -> {table.path}")
    return 0


def run_report(args) -> int:
    from reports.page import build_page  # matplotlib: only for this command

    check_window(args.since, args.until)
    now = datetime.now(UTC)
    window = analyst.Window(args.since, args.until, tuple(args.entity))
    with reading(args.db) as con:
        data = analyst.report_data(con, window, args.until or now.date())
    out = Path(args.out)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(build_page(data, now), encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot write the report {out}: {exc}") from exc
    print(f"report: {data.stories} stories, {data.documents} documents -> {out}")
    return 0
