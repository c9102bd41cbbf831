"""The commands that run a flow: ingest, backfill, retag, dedup, serve.

Each one checks its config files, options and store first, so a mistake costs a fraction of a
second and one line; only then does it start (or reach) the Prefect API and run the flow.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from flows.cli_args import non_negative_days, non_negative_seconds, positive_int, positive_rate

CommandFactory = Callable[[str, str, str], argparse.ArgumentParser]
DEFAULT_SCHEDULE = "*/30 * * * *"  # every 30 minutes, UTC: the default of `sahel-ingest`
# Backfill sources are long paths and URLs: --status shows them whole up to this width.
STATUS_CELL_WIDTH = 160


def add_flow_commands(command: CommandFactory) -> None:
    ingest = command(
        "ingest",
        "poll feeds once and store new articles",
        "sahelwatch ingest --feed https://example.org/rss --limit 20",
    )
    _feeds_option(ingest)
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
        "--limit", type=positive_int, metavar="N", help="fetch at most N new articles per feed"
    )
    ingest.add_argument(
        "--force",
        action="store_true",
        help="poll every selected feed now, even those backing off or not due",
    )
    ingest.add_argument(
        "--partition",
        metavar="I/N",
        help="only the feeds whose host falls in partition I of N, beside other partitions' "
        "runs on a lake (see README, 'Past one machine')",
    )
    _run_options(ingest)
    ingest.set_defaults(handler=run_ingest)

    _add_backfill(command)

    retag = command(
        "retag",
        "re-apply the current watchlist to every stored document",
        "sahelwatch retag --watchlist config/watchlist.yaml",
    )
    _run_options(retag)
    retag.set_defaults(handler=run_retag)

    dedup = command(
        "dedup", "group near-duplicate copies into stories", "sahelwatch dedup --rebuild"
    )
    dedup.add_argument(
        "--rebuild", action="store_true", help="recompute signatures and groups for the whole store"
    )
    _run_options(dedup)
    dedup.set_defaults(handler=run_dedup)

    compact = command(
        "compact",
        "merge a lake's small files and expire its old snapshots",
        "sahelwatch compact --db 'ducklake:postgres:dbname=sahel host=db?data_path=/srv/lake/'",
    )
    compact.add_argument(
        "--keep-snapshots-days",
        type=non_negative_days,
        default=None,
        metavar="DAYS",
        help="keep snapshots this recent for time travel (default 7)",
    )
    _run_options(compact)
    compact.set_defaults(handler=run_compact)

    serve = command(
        "serve",
        "run the ingest schedule and the on-demand flows in this process (Ctrl-C stops)",
        'sahelwatch serve --cron "*/15 * * * *"',
    )
    _feeds_option(serve)
    serve.add_argument(
        "--cron",
        default=DEFAULT_SCHEDULE,
        help=f"when sahel-ingest runs, a cron expression in UTC (default {DEFAULT_SCHEDULE!r})",
    )
    serve.set_defaults(handler=run_serve)


def _add_backfill(command: CommandFactory) -> None:
    backfill = command(
        "backfill",
        "pull an archive for a period: a URL list, a site's sitemaps, paged feeds, saved "
        "pages or WARC files",
        "sahelwatch backfill --site https://example.org --since 2024-01-01 --until 2024-03-31",
    )
    source = backfill.add_mutually_exclusive_group()
    source.add_argument("--urls", metavar="FILE", help="article URLs, one a line ('-': stdin)")
    source.add_argument("--site", metavar="URL", help="an outlet, through its robots.txt sitemaps")
    source.add_argument("--sitemap", metavar="URL", help="one sitemap or sitemap index")
    source.add_argument("--feed-pages", metavar="URL", help="a paged feed (?paged=N), walked back")
    source.add_argument("--dir", metavar="PATH", help="a folder of saved HTML pages")
    source.add_argument("--warc", metavar="FILE", nargs="+", help="WARC files (.warc, .warc.gz)")
    source.add_argument(
        "--status", action="store_true", help="list the store's backfills and their progress"
    )
    backfill.add_argument(
        "--since", help="first publication date kept (ISO date or timestamp, UTC)"
    )
    backfill.add_argument("--until", help="last publication date kept (a date includes its day)")
    backfill.add_argument(
        "--rate",
        type=positive_rate,
        metavar="N",
        help="at most N pages per second per host (robots.txt's crawl-delay still wins)",
    )
    backfill.add_argument("--limit", type=positive_int, metavar="N", help="process at most N pages")
    backfill.add_argument(
        "--dry-run",
        action="store_true",
        help="discover and count, show the first URLs that would be fetched; write nothing",
    )
    _feeds_option(backfill, what="network settings")
    _run_options(backfill)
    backfill.set_defaults(handler=run_backfill)


def _feeds_option(parser: argparse.ArgumentParser, what: str = "feed list") -> None:
    parser.add_argument(
        "--feeds",
        metavar="FILE",
        help=f"{what} (default: $SAHELWATCH_FEEDS, else config/feeds.yaml)",
    )


def _run_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--wait",
        type=non_negative_seconds,
        default=0.0,
        metavar="SECONDS",
        help="when another run is writing the store, wait up to this long (default: refuse)",
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


@contextmanager
def prefect_session(*, quiet: bool = True) -> Iterator[Callable[[], None]]:
    """Start (or reach) the Prefect API; yields `ready()`, which waits for it to answer.

    `quiet`: silence Prefect's console logs (not for `serve`, whose flow runs log as usual).
    """
    # The command prints its own summary and one-line errors; Prefect's log lines (a failed
    # feed's traceback, "Crash detected!" on Ctrl-C) would repeat them as noise. Runs through
    # a deployment keep Prefect's logs.
    if quiet:
        os.environ["PREFECT_LOGGING_LEVEL"] = "CRITICAL"
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("DO_NOT_TRACK", "1")
    from flows.prefect_api import API_URL_ENV, prefect_api, wait_ready

    if not os.environ.get(API_URL_ENV):
        # Nobody reads a temporary API's logs, and it stops before the last ones are flushed.
        os.environ.setdefault("PREFECT_LOGGING_TO_API_ENABLED", "false")

    with prefect_api() as api, _api_setting(os.environ[API_URL_ENV]):

        def ready() -> None:
            wait_ready(api)
            if api is not None and sys.stderr.isatty():
                print(
                    f"prefect: temporary API ready in {api.ready_after_s:.1f} s "
                    "(set PREFECT_API_URL to a running server to skip this)",
                    file=sys.stderr,
                )

        try:
            yield ready
        finally:
            _flush_reports()


def _flush_reports() -> None:
    """Send Prefect's queued run events before the API stops; exit never waits on a gone API."""
    from flows.prefect_reports import flush_run_reports

    dropped = flush_run_reports()
    if dropped:
        print(f"prefect: {dropped} run events or log lines not sent to the API", file=sys.stderr)


@contextmanager
def _api_setting(url: str) -> Iterator[None]:
    """Prefect reads PREFECT_API_URL once per process: a second command in the same process (the
    demo runs several) must override what the first one left in Prefect's settings."""
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings(updates={PREFECT_API_URL: url}):
        yield


def _prepared_store(args: argparse.Namespace):
    """The store, migrated and seeded, refused early if another run is writing it."""
    from flows.run_guard import check_store_free
    from flows.store_setup import open_store

    store = open_store(args.db, args.watchlist)
    if not args.wait:
        check_store_free(store)
    return store


def _bar(args: argparse.Namespace, description: str):
    from flows.progress import progress_bar

    return progress_bar(description, enabled=False if args.no_progress else None)


def run_ingest(args: argparse.Namespace) -> int:
    """`sahelwatch ingest`: run the flow once with a progress bar, then print the summary."""
    from flows.config_files import load_feeds, load_watchlist

    load_feeds(args.feeds)
    load_watchlist(args.watchlist)
    _prepared_store(args)
    with prefect_session() as ready:
        from flows.ingest import ingest_feeds

        ready()
        with _bar(args, "fetching pages"):
            result = asyncio.run(
                ingest_feeds(
                    feeds=args.feeds,
                    feed_urls=args.feed or None,
                    db=args.db,
                    limit=args.limit,
                    force=args.force,
                    watchlist=args.watchlist,
                    wait_for_store=args.wait,
                    partition=args.partition,
                )
            )
    print(result["report"])
    return 0


def run_compact(args: argparse.Namespace) -> int:
    """`sahelwatch compact`: the lake's maintenance once, with its one-line result."""
    from flows.store_setup import open_store

    open_store(args.db)
    with prefect_session() as ready:
        from flows.compaction import DEFAULT_KEEP_SNAPSHOTS_DAYS, compact_lake

        ready()
        days = args.keep_snapshots_days
        result = compact_lake(
            db=args.db,
            keep_snapshots_days=DEFAULT_KEEP_SNAPSHOTS_DAYS if days is None else days,
            wait_for_store=args.wait,
        )
    print(result["report"])
    return 0


def run_backfill(args: argparse.Namespace) -> int:
    """`sahelwatch backfill`: one source, resumable; --status and --dry-run need no Prefect."""
    from extractors.date_window import parse_window
    from flows.backfill_sources import choose_source
    from flows.config_files import load_feeds, load_watchlist

    if args.status:
        return _print_backfill_status(args)
    urls_file = _urls_file(args.urls, args.db) if args.urls else None
    source = (urls_file, args.site, args.sitemap, args.feed_pages, args.dir, args.warc)
    choose_source(*source)
    parse_window(args.since, args.until)
    load_feeds(args.feeds)
    if args.dry_run:
        return _dry_run(args, *source)
    load_watchlist(args.watchlist)
    _prepared_store(args)
    with prefect_session() as ready:
        from flows.backfill import backfill

        ready()
        with _bar(args, "backfilling pages"):
            result = asyncio.run(
                backfill(
                    *source,
                    since=args.since,
                    until=args.until,
                    rate=args.rate,
                    limit=args.limit,
                    db=args.db,
                    watchlist=args.watchlist,
                    feeds=args.feeds,
                    wait_for_store=args.wait,
                )
            )
    print(result["report"])
    return 0


def _urls_file(value: str, db: str | None) -> str:
    """The URL list's path; stdin ('-') is kept beside the store, named by its content, so the
    same list piped again resumes the same backfill."""
    if value != "-":
        return value
    import hashlib

    from storage.stores import local_folder

    data = sys.stdin.buffer.read()
    folder = local_folder(db) / "backfill-lists"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"stdin-{hashlib.sha256(data).hexdigest()[:16]}.txt"
    path.write_bytes(data)
    return str(path)


def _dry_run(args: argparse.Namespace, *source: object) -> int:
    from extractors.date_window import parse_window
    from fetching.client import Fetcher
    from flows.backfill_sources import Source, choose_source, dry_run_counts
    from flows.config_files import load_feeds

    kind, locators = choose_source(*source)
    config = load_feeds(args.feeds)
    target = Source(kind, locators, parse_window(args.since, args.until), lambda url: url)

    async def count() -> dict:
        async with Fetcher(config.network) as fetcher:
            return await dry_run_counts(target, fetcher)

    print(asyncio.run(count())["report"])
    return 0


def _print_backfill_status(args: argparse.Namespace) -> int:
    from flows.output import render
    from storage import backfills
    from storage.stores import store_at

    store = store_at(args.db)
    with store.read() as con:
        rows = backfills.statuses(con)
    columns = (
        "backfill",
        "source",
        "window",
        "status",
        "units",
        "pages",
        "done",
        "pending",
        "outside window",
        "updated",
    )
    table = [
        (
            r.backfill_id,
            f"{r.kind} {r.locator}",
            f"{_moment(r.since)} – {_moment(r.until)}",
            r.status,
            r.units,
            r.found,
            r.done,
            r.found - r.done,
            r.outside_window,
            r.updated_at,
        )
        for r in rows
    ]
    shown = render(columns, table, "table", max_width=STATUS_CELL_WIDTH)
    print(shown if table else "no backfill in this store yet")
    return 0


def run_retag(args: argparse.Namespace) -> int:
    from flows.config_files import load_watchlist

    load_watchlist(args.watchlist)
    _prepared_store(args)
    with prefect_session() as ready:
        from flows.retag import retag

        ready()
        with _bar(args, "tagging documents"):
            result = retag(db=args.db, watchlist=args.watchlist, wait_for_store=args.wait)
    print(result["report"])
    return 0


def run_dedup(args: argparse.Namespace) -> int:
    _prepared_store(args)
    with prefect_session() as ready:
        from flows.dedup_flow import dedup_flow

        ready()
        result = dedup_flow(db=args.db, rebuild=args.rebuild, wait_for_store=args.wait)
    action = "rebuilt" if args.rebuild else "indexed"
    print(
        f"{action}: {result['indexed']} documents indexed, {result['grouped']} grouped as "
        f"copies into {result['stories']} stories"
    )
    return 0


def run_serve(args: argparse.Namespace) -> int:
    """`sahelwatch serve`: the deployments' schedules, in this process, until Ctrl-C."""
    from flows.config_files import load_feeds, load_watchlist
    from flows.store_setup import open_store

    load_feeds(args.feeds)
    load_watchlist(args.watchlist)
    open_store(args.db, args.watchlist)
    with prefect_session(quiet=False) as ready:
        from flows.serving import serve_deployments

        ready()
        print(
            f"sahelwatch: serving; to trigger a run from another shell, set "
            f"PREFECT_API_URL={os.environ['PREFECT_API_URL']} (Ctrl-C stops)",
            file=sys.stderr,
            flush=True,
        )
        serve_deployments(args.cron, feeds=args.feeds, db=args.db, watchlist=args.watchlist)
    print("sahelwatch: serve stopped", file=sys.stderr)
    return 0


def _moment(value) -> str:
    return "…" if value is None else f"{value:%Y-%m-%d %H:%M}"
