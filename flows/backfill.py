"""Placeholder for the `backfill` flow so `prefect deploy --all` finds it; the lead replaces it."""

from __future__ import annotations

from prefect import flow


@flow(name="backfill")
async def backfill(
    urls_file: str | None = None,
    site: str | None = None,
    sitemap: str | None = None,
    feed_pages: str | None = None,
    directory: str | None = None,
    warc: list[str] | None = None,
    since: str | None = None,
    until: str | None = None,
    rate: float | None = None,
    limit: int | None = None,
    dry_run: bool = False,
    db: str | None = None,
    watchlist: str | None = None,
    feeds: str | None = None,
) -> dict:
    """Not built in this branch: the lead's backfill flow replaces this file at merge."""
    raise NotImplementedError("placeholder: replaced by the lead")
