"""The `sahelwatch` command line: argument parsing, and turning errors into messages and exit codes.

Heavy imports (Prefect, trafilatura) happen inside the commands that need them, so `query` and
`stats` answer quickly. Those two only read: they open an existing store read-only (`query` with
DuckDB's sandbox switches) and never create, migrate or seed one; `init` does that. Commands
that run a flow are in `flows/cli_runs.py`.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Sequence
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING

from extractors.errors import SahelwatchError
from flows import cli_analyst, cli_runs
from flows.output import DEFAULT_MAX_WIDTH, FORMATS, render

if TYPE_CHECKING:
    from storage.stores import AnyStore

EXIT_INTERRUPTED = 130
EXIT_TERMINATED = 143  # 128 + SIGTERM, as shells report it


_terminated = False


def _on_sigterm(signum: int, frame: object) -> None:
    """SIGTERM stops a run the way Ctrl-C does (the run ends `interrupted`), then exits 143."""
    global _terminated
    _terminated = True
    signal.raise_signal(signal.SIGINT)


def main(argv: Sequence[str] | None = None) -> int:
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _on_sigterm)
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args) or 0)
    except SahelwatchError as exc:
        print(f"sahelwatch: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        if _terminated:
            print("sahelwatch: terminated", file=sys.stderr)
            return EXIT_TERMINATED
        print("sahelwatch: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader went away (`sahelwatch stats | head`): not an error worth a traceback.
        sys.stderr.close()
        return 0
    except BaseException as exc:
        # Prefect may turn SIGTERM during a flow run into its TerminationSignal; the run is
        # already booked `interrupted` (flows/run_guard.py): one line, not a traceback.
        if type(exc).__name__ != "TerminationSignal":
            raise
        print("sahelwatch: terminated", file=sys.stderr)
        return EXIT_TERMINATED


def _version() -> str:
    try:
        return version("sahelwatch")
    except PackageNotFoundError:  # run from a checkout that was never installed
        return "unknown"


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--db",
        "--store",
        dest="db",
        metavar="STORE",
        help="the store: a DuckDB file, or a lake 'ducklake:postgres:<catalog>?data_path=<dir>' "
        "(default: $SAHELWATCH_DB, else data/sahelwatch.duckdb)",
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
    parser.add_argument("--version", action="version", version=f"sahelwatch {_version()}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, summary: str, example: str) -> argparse.ArgumentParser:
        return sub.add_parser(
            name,
            parents=[common],
            help=summary,
            description=f"{summary[0].upper()}{summary[1:]}.",
            epilog=f"example:\n  {example}",
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )

    init = command("init", "create, migrate and seed the store", "sahelwatch init --db news.duckdb")
    init.set_defaults(handler=_init)

    query = command(
        "query",
        "run one read-only SQL statement",
        'sahelwatch query "SELECT source, count(*) FROM documents GROUP BY ALL" --format csv',
    )
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

    stats = command("stats", "what is in the store, at a glance", "sahelwatch stats")
    stats.set_defaults(handler=_stats)

    cli_runs.add_flow_commands(command)
    cli_analyst.add_analyst_commands(command)
    return parser


def _init(args: argparse.Namespace) -> int:
    from flows.store_setup import open_store
    from storage import fulltext
    from storage.documents import count_documents

    store = open_store(args.db, args.watchlist)
    fulltext.refresh(store)  # a store made before schema 4 gets its search index here
    with store.read() as con:
        total, seeds = count_documents(con), count_documents(con, "seed")
    print(f"store ready: {store.locator} ({total} documents, {seeds} seed)")
    return 0


def _query(args: argparse.Namespace) -> int:
    from storage.query import check_read_only, run_query

    check_read_only(args.sql)  # refuse a write before touching any store
    with _existing_store(args).read_current(sandboxed=True) as con:
        result = run_query(con, args.sql)
    print(render(result.columns, result.rows, args.format, args.max_width))
    return 0


def _stats(args: argparse.Namespace) -> int:
    from storage.stats import store_stats

    store = _existing_store(args)
    with store.read_current() as con:
        sections = store_stats(con)
    print(f"store: {store.locator}")
    for title, result in sections.items():
        print(f"\n## {title}\n{render(result.columns, result.rows, 'table')}")
    return 0


def _existing_store(args: argparse.Namespace) -> AnyStore:
    """The store a read command names: opened read-only, so never created, migrated or seeded."""
    from storage.stores import store_at

    return store_at(args.db)


if __name__ == "__main__":
    sys.exit(main())
