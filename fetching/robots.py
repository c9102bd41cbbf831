"""robots.txt for the fetcher: fetched once per site and run, shared by concurrent callers."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from extractors.robots import RobotsRules, parse_robots
from fetching.result import FetchResult

# Statuses meaning "the server is in trouble", not "there is no robots.txt" (RFC 9309 §2.3.1).
_SERVER_TROUBLE = 429


@dataclass(frozen=True, slots=True)
class RobotsVerdict:
    """The rules for one site, or why the site is not crawled at all this run."""

    rules: RobotsRules
    failure: tuple[str, str] | None = None  # (error_kind, message) for every page of the site


def robots_url_for(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}/robots.txt"


def robots_verdict(result: FetchResult) -> RobotsVerdict:
    """What a robots.txt fetch means, following RFC 9309 §2.3.1.

    - found: its rules;
    - 4xx (except 429), or a redirect we refuse to follow: unavailable, everything allowed;
    - 5xx, 429, timeout, connection failure: unreachable, nothing allowed this run. The pages
      get the robots failure's own error_kind ('http_status', 'timeout', ...) rather than
      'robots_disallowed', since the site has not forbidden anything: they are tried again
      on the next run.
    """
    if result.ok:
        text = (result.body or b"").decode("utf-8", "replace").lstrip("\ufeff")
        return RobotsVerdict(parse_robots(text))
    status = result.status or 0
    if result.error_kind == "http_status" and status < 500 and status != _SERVER_TROUBLE:
        return RobotsVerdict(RobotsRules.allow_all())
    if result.error_kind in ("too_many_redirects", "blocked_address", "bad_scheme"):
        return RobotsVerdict(RobotsRules.allow_all())
    host = urlsplit(result.url).netloc
    message = f"robots.txt unavailable ({result.error}); {host} not crawled this run"
    return RobotsVerdict(RobotsRules.disallow_all(), (result.error_kind or "connection", message))


class RobotsCache:
    """One load per robots.txt URL; callers arriving during the load wait for that same load."""

    def __init__(self, load: Callable[[str, str], Awaitable[RobotsVerdict]]) -> None:
        self._load = load
        self._loads: dict[str, asyncio.Future[RobotsVerdict]] = {}

    async def get(self, url: str, origin: str) -> RobotsVerdict:
        robots_url = robots_url_for(url)
        load = self._loads.get(robots_url)
        if load is None:
            load = self._loads[robots_url] = asyncio.ensure_future(self._load(robots_url, origin))
        # A caller that is cancelled must not cancel the load the other callers wait for.
        return await asyncio.shield(load)

    async def close(self) -> None:
        for load in self._loads.values():
            load.cancel()
        for load in self._loads.values():
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await load
