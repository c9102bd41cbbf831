"""The `sahelwatch` command line: argument parsing, and turning errors into messages and exit codes.

Heavy imports (Prefect, trafilatura) happen inside the commands that need them, so `query` and
`stats` answer quickly.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

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
    return parser


def _init(args: argparse.Namespace) -> int:
    from flows.store_setup import open_store
    from storage.documents import count_documents

    store = open_store(args.db, args.watchlist)
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
