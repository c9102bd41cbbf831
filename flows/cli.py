"""The `sahelwatch` command line: argument parsing, and turning errors into messages and exit codes.

Heavy imports (Prefect, trafilatura) happen inside the commands that need them, so `query` and
`stats` answer quickly.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from datetime import date

from extractors.errors import SahelwatchError
from flows.output import DEFAULT_MAX_WIDTH, FORMATS, render

EXIT_INTERRUPTED = 130


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args) or 0)
    except SahelwatchError as exc:
        print(f"sahelwatch: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("sahelwatch: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader went away (`sahelwatch stats | head`): not an error worth a traceback.
        sys.stderr.close()
        return 0


def _positive_int(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number of 1 or more, got {value!r}")
    return number


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--db",
        metavar="PATH",
        help="DuckDB store (default: $SAHELWATCH_DB, else data/sahelwatch.duckdb)",
    )
    common.add_argument(
        "--watchlist",
        metavar="FILE",
        help="watchlist YAML (default: $SAHELWATCH_WATCHLIST, else config/watchlist.yaml)",
    )
    parser = argparse.ArgumentParser(
        prog="sahelwatch",
        description="Ingest, deduplicate and tag French-language Sahel news into DuckDB.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    init = sub.add_parser("init", parents=[common], help="create, migrate and seed the store")
    init.set_defaults(handler=_init)

    query = sub.add_parser("query", parents=[common], help="run one read-only SQL statement")
    query.add_argument("sql", help="one SELECT (or DESCRIBE, SHOW, SUMMARIZE, EXPLAIN) statement")
    query.add_argument("--format", choices=FORMATS, default="table", help="output (default table)")
    query.add_argument(
        "--max-width",
        type=int,
        default=DEFAULT_MAX_WIDTH,
        metavar="N",
        help=f"cut table cells to N characters (default {DEFAULT_MAX_WIDTH})",
    )
    query.set_defaults(handler=_query)

    stats = sub.add_parser("stats", parents=[common], help="what is in the store, at a glance")
    stats.set_defaults(handler=_stats)

    ingest = sub.add_parser("ingest", parents=[common], help="poll feeds and store new articles")
    ingest.add_argument(
        "--feeds",
        metavar="FILE",
        help="feed list (default: $SAHELWATCH_FEEDS, else config/feeds.yaml)",
    )
    ingest.add_argument(
        "--feed",
        action="extend",
        nargs="+",
        metavar="URL",
        default=[],
        help="poll only these feed URLs, due or not (a URL missing from the feed list is "
        "polled with default settings)",
    )
    ingest.add_argument(
        "--limit", type=_positive_int, metavar="N", help="fetch at most N new articles per feed"
    )
    ingest.add_argument(
        "--force",
        action="store_true",
        help="poll every selected feed now, even those backing off or not due",
    )
    ingest.add_argument("--no-progress", action="store_true", help="no progress bar")
    ingest.set_defaults(handler=_ingest)

    retag = sub.add_parser(
        "retag", parents=[common], help="re-apply the current watchlist to every stored document"
    )
    retag.set_defaults(handler=_retag)

    dedup = sub.add_parser("dedup", parents=[common], help="group near-duplicate copies")
    dedup.add_argument(
        "--rebuild", action="store_true", help="recompute signatures and groups for the whole store"
    )
    dedup.set_defaults(handler=_dedup)
    _add_analyst_commands(sub, common)
    return parser


def _date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a date as YYYY-MM-DD, got {value!r}") from None


def _add_analyst_commands(sub, common: argparse.ArgumentParser) -> None:
    """`search`, `export`, `report`: read-only, over the analyst views (README "For analysts")."""
    window = argparse.ArgumentParser(add_help=False, parents=[common])
    window.add_argument("--since", type=_date, metavar="YYYY-MM-DD", help="from this day (UTC)")
    window.add_argument("--until", type=_date, metavar="YYYY-MM-DD", help="to this day, included")
    raw = argparse.RawDescriptionHelpFormatter
    search = sub.add_parser(
        "search",
        parents=[window],
        formatter_class=raw,
        help="French full-text search",
        description="Stories containing every word of QUERY (any inflection, accents ignored), "
        "best first, one line per story.",
        epilog='example: sahelwatch search "attaque drone" --entity MLI --since 2025-01-01',
    )
    search.add_argument("query", help="words to find, e.g. 'attaque drone'")
    search.add_argument(
        "--entity",
        action="append",
        default=[],
        metavar="ID",
        help="only documents naming this entity (id or name; repeatable: all)",
    )
    search.add_argument(
        "--source",
        action="append",
        default=[],
        metavar="NAME",
        help="only this outlet (repeatable: any)",
    )
    search.add_argument(
        "--limit",
        type=_positive_int,
        default=20,
        metavar="N",
        help="at most N stories (default 20)",
    )
    search.set_defaults(handler=_search)
    export = sub.add_parser(
        "export",
        parents=[window],
        formatter_class=raw,
        help="export documents, mentions, stories",
        description="Write documents, mentions and stories under DIR: Parquet partitioned by "
        "month (DIR/documents/month=2025-03/…), or one CSV or JSON-lines file per table.",
        epilog="example: sahelwatch export --format parquet --out exports/ --since 2025-01-01",
    )
    export.add_argument("--format", choices=("parquet", "csv", "jsonl"), default="parquet")
    export.add_argument("--out", required=True, metavar="DIR", help="output folder")
    export.set_defaults(handler=_export)
    report = sub.add_parser(
        "report",
        parents=[window],
        formatter_class=raw,
        help="a self-contained HTML report",
        description="One HTML file, no network needed to open it: mentions over time, largest "
        "stories and their republication delays, co-mentions, source health.",
        epilog="example: sahelwatch report --out report.html --since 2025-03-01 --entity jnim",
    )
    report.add_argument("--out", required=True, metavar="FILE", help="the HTML file to write")
    report.add_argument(
        "--entity",
        action="append",
        default=[],
        metavar="ID",
        help="only stories naming this entity (id or name; repeatable: any)",
    )
    report.set_defaults(handler=_report)


def _search(args: argparse.Namespace) -> int:
    from flows.analyst import run_search

    return run_search(args)


def _export(args: argparse.Namespace) -> int:
    from flows.analyst import run_export

    return run_export(args)


def _report(args: argparse.Namespace) -> int:
    from flows.analyst import run_report

    return run_report(args)


def _init(args: argparse.Namespace) -> int:
    from flows.store_setup import open_store
    from storage import fulltext
    from storage.documents import count_documents

    store = open_store(args.db, args.watchlist)
    fulltext.refresh(store)  # a store made before schema 4 gets its search index here
    with store.read() as con:
        total, seeds = count_documents(con), count_documents(con, "seed")
    print(f"store ready: {store.path} ({total} documents, {seeds} seed)")
    return 0


def _query(args: argparse.Namespace) -> int:
    from flows.store_setup import open_store
    from storage.query import check_read_only, run_query

    check_read_only(args.sql)  # refuse a write before touching (or creating) any store
    store = open_store(args.db, args.watchlist)
    with store.read() as con:
        result = run_query(con, args.sql)
    print(render(result.columns, result.rows, args.format, args.max_width))
    return 0


def _stats(args: argparse.Namespace) -> int:
    from flows.store_setup import open_store
    from storage.stats import store_stats

    store = open_store(args.db, args.watchlist)
    with store.read() as con:
        sections = store_stats(con)
    print(f"store: {store.path}")
    for title, result in sections.items():
        print(f"\n## {title}\n{render(result.columns, result.rows, 'table')}")
    return 0


def _quiet_prefect() -> None:
    """Prefect logs every task run at INFO; the command line prints its own summary instead."""
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    # The temporary local API's telemetry heartbeat only adds noise (and lock errors) here.
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("DO_NOT_TRACK", "1")


def _ingest(args: argparse.Namespace) -> int:
    _quiet_prefect()
    from flows.ingest import run_ingest_cli

    return run_ingest_cli(args)


def _retag(args: argparse.Namespace) -> int:
    _quiet_prefect()
    from flows.retag import run_retag_cli

    return run_retag_cli(args)


def _dedup(args: argparse.Namespace) -> int:
    _quiet_prefect()
    from flows.dedup_flow import run_dedup_cli

    return run_dedup_cli(args)


if __name__ == "__main__":
    sys.exit(main())
