"""The analyst's read-only commands: `search`, `export`, `report` (README "For analysts")."""

from __future__ import annotations

import argparse

from flows.cli_args import iso_date, positive_int
from flows.cli_runs import CommandFactory


def add_analyst_commands(command: CommandFactory) -> None:
    search = command(
        "search",
        "French full-text search: stories with every word of QUERY (any inflection, accents "
        "ignored), best first, one line per story",
        'sahelwatch search "attaque drone" --entity MLI --since 2025-01-01',
    )
    search.add_argument("query", help="words to find, e.g. 'attaque drone'")
    _window(search)
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
        "--limit", type=positive_int, default=20, metavar="N", help="at most N stories (default 20)"
    )
    search.set_defaults(handler=_search)

    export = command(
        "export",
        "write documents, mentions and stories under DIR: Parquet partitioned by month "
        "(DIR/documents/month=2025-03/…), or one CSV or JSON-lines file per table",
        "sahelwatch export --format parquet --out exports/ --since 2025-01-01",
    )
    _window(export)
    export.add_argument("--format", choices=("parquet", "csv", "jsonl"), default="parquet")
    export.add_argument("--out", required=True, metavar="DIR", help="output folder")
    export.set_defaults(handler=_export)

    report = command(
        "report",
        "write one self-contained HTML report (no network needed to open it): mentions over "
        "time, largest stories and their republication delays, co-mentions, source health",
        "sahelwatch report --out report.html --since 2025-03-01 --entity jnim",
    )
    _window(report)
    report.add_argument("--out", required=True, metavar="FILE", help="the HTML file to write")
    report.add_argument(
        "--entity",
        action="append",
        default=[],
        metavar="ID",
        help="only stories naming this entity (id or name; repeatable: any)",
    )
    report.set_defaults(handler=_report)


def _window(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--since", type=iso_date, metavar="YYYY-MM-DD", help="from this day (UTC)")
    parser.add_argument(
        "--until", type=iso_date, metavar="YYYY-MM-DD", help="to this day, included"
    )


def _search(args: argparse.Namespace) -> int:
    from flows.analyst import run_search

    return run_search(args)


def _export(args: argparse.Namespace) -> int:
    from flows.analyst import run_export

    return run_export(args)


def _report(args: argparse.Namespace) -> int:
    from flows.analyst import run_report

    return run_report(args)
