"""The project's only HTTP client: polite, bounded, and never raising for network trouble.

feedparser and trafilatura only ever see bytes from here. Every rule about what may be fetched
and how often lives in `fetching.netpolicy` and `extractors.robots`; this module applies them
with httpx. A fetch returns a `FetchResult` whatever happens on the network, because one broken
site must not stop a run: the caller turns a failed result into a skipped row or a feed failure.

Each name is resolved once per run by the fetcher itself; the addresses are checked, and the
connection goes to those very addresses (`fetching.transport`), so a DNS answer that changes
after the check (DNS rebinding) is never used. A name that does not exist fails at once; a DNS
server that does not answer is asked again like any other passing failure.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from types import TracebackType
from urllib.parse import urlsplit

import httpx

from extractors.errors import UsageError
from extractors.network_settings import NetworkSettings, settings_problems
from extractors.robots import MAX_ROBOTS_BYTES
from fetching import netpolicy
from fetching.body import ACCEPT_ENCODING, BadEncoding, BodyTooLarge, read_capped
from fetching.cookies import OriginCookies, refusing_jar
from fetching.hosts import HostGates, Resolver, is_no_such_host, system_resolver
from fetching.proxies import ProxyChooser
from fetching.result import (
    NOT_MODIFIED,
    Exchange,
    FetchResult,
    Trace,
    describe,
    timeout_message,
)
from fetching.robots import RobotsCache, RobotsVerdict, robots_verdict
from fetching.transport import CheckedAddresses, RoutingTransport

__all__ = ["FetchResult", "Fetcher", "Resolver", "system_resolver"]

FEED_ACCEPT = (
    "application/rss+xml, application/atom+xml, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5"
)
PAGE_ACCEPT = "text/html, application/xhtml+xml;q=0.9, */*;q=0.5"
# We read French news: asking for French gets the French edition of bilingual sites.
ACCEPT_LANGUAGE = "fr, fr-FR;q=0.9, *;q=0.3"
# Headers a caller gives that say nothing about one site: they follow a redirect anywhere.
# The rest (validators such as If-None-Match, and any credential) stay with their origin.
PORTABLE_HEADERS = frozenset({"accept"})
_STAT_NAMES = (
    "requests",
    "retries",
    "redirects",
    "bytes",
    "not_modified",
    "errors",
    "robots_fetches",
    "robots_disallowed",
    "blocked_addresses",
)


class Fetcher:
    """Use as `async with Fetcher(settings) as fetcher:`; one instance per run.

    `resolver` maps (host, port) to IP addresses; tests inject one to prove that a name resolving
    to a private address is refused before any connection, and that the connection goes to the
    address that was checked. `rng` drives the backoff jitter. Proxies: see `fetching.proxies`.
    """

    def __init__(
        self,
        settings: NetworkSettings,
        *,
        resolver: Resolver | None = None,
        rng: random.Random | None = None,
    ) -> None:
        problems = settings_problems(settings)
        if problems:
            name, problem = problems[0]
            raise UsageError(f"network.{name} {problem}")
        self.settings = settings
        self._resolver = resolver or system_resolver
        self._rng = rng or random.Random()
        self._client: httpx.AsyncClient | None = None
        self._lookups: dict[tuple[str, int], asyncio.Future[Sequence[str]]] = {}
        self._checked = CheckedAddresses()
        self._cookies = OriginCookies()
        self._proxies = ProxyChooser(settings.proxy)  # reads the environment once, now
        self._stats = dict.fromkeys(_STAT_NAMES, 0)

    async def __aenter__(self) -> Fetcher:
        s = self.settings
        self._global = asyncio.Semaphore(s.max_concurrency)
        self._gates = HostGates(s.per_host_concurrency, s.min_host_delay)
        self._robots = RobotsCache(self._load_robots)
        limits = httpx.Limits(
            max_connections=s.max_concurrency, max_keepalive_connections=s.max_concurrency
        )
        self._client = httpx.AsyncClient(
            headers={
                "User-Agent": s.user_agent,
                "Accept-Encoding": ACCEPT_ENCODING,
                "Accept-Language": ACCEPT_LANGUAGE,
            },
            timeout=httpx.Timeout(
                connect=s.connect_timeout,
                read=s.read_timeout,
                write=s.read_timeout,
                pool=s.total_timeout,
            ),
            transport=RoutingTransport(self._checked, self._proxies.proxy_for, limits),
            cookies=refusing_jar(),  # httpx's jar ignores ports; OriginCookies does not
            follow_redirects=False,  # each hop is checked here, see _fetch
            trust_env=False,  # proxy variables are read by ProxyChooser, with its own rules
        )
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._robots.close()
        for lookup in self._lookups.values():
            lookup.cancel()
        for lookup in self._lookups.values():
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await lookup
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    @property
    def stats(self) -> dict[str, int]:
        """Counters for the run report: requests sent, retries, decompressed bytes read, …"""
        return dict(self._stats)

    async def fetch_feed(
        self, url: str, *, etag: str | None = None, last_modified: str | None = None
    ) -> FetchResult:
        """A feed, conditionally when validators are given; robots.txt does not apply to feeds
        the user configured. The feed URL is its own origin, so a local feed may be fetched."""
        headers = {"Accept": FEED_ACCEPT}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        result = await self._fetch(url, url, self.settings.max_feed_bytes, headers, robots=False)
        return self._count_result(result)

    async def fetch_page(self, url: str, *, origin: str) -> FetchResult:
        """An article page linked from the feed at `origin`, if robots.txt allows it."""
        headers = {"Accept": PAGE_ACCEPT}
        result = await self._fetch(url, origin, self.settings.max_page_bytes, headers, robots=True)
        return self._count_result(result)

    # -- one URL, hop by hop ------------------------------------------------------------------

    async def _fetch(
        self,
        url: str,
        origin: str,
        limit: int,
        headers: Mapping[str, str],
        *,
        robots: bool,
        truncate: bool = False,
    ) -> FetchResult:
        trace = Trace(url)
        current = url
        portable = {k: v for k, v in headers.items() if k.lower() in PORTABLE_HEADERS}
        for _hop in range(self.settings.max_redirects + 1):
            refusal = await self._refusal(current, origin, robots=robots)
            if refusal is not None:
                return trace.refused(current, *refusal)
            same_site = netpolicy.keeps_request_headers(url, current)
            hop_headers = headers if same_site else portable
            ex = await self._with_retries(current, hop_headers, limit, trace, truncate=truncate)
            if ex.location is None:
                return trace.result(ex)
            self._stats["redirects"] += 1
            current = ex.location
        message = f"more than {self.settings.max_redirects} redirects"
        return trace.refused(current, "too_many_redirects", message)

    async def _refusal(self, url: str, origin: str, *, robots: bool) -> tuple[str, str] | None:
        """(error_kind, message) when `url` must not be requested; checked before each hop."""
        target = netpolicy.origin_of(url)
        if not netpolicy.is_allowed_scheme(url) or target is None:
            return "bad_scheme", f"not an http(s) URL: {url[:200]}"
        _, host, port = target
        try:
            addresses = await self._resolve(host, port)
        except NoSuchHost as exc:
            return "no_such_host", str(exc)
        except OSError as exc:
            return "connection", f"cannot resolve {host}: {describe(exc)}"
        if not netpolicy.address_check_exempt(url, origin, self.settings.allow_private_hosts):
            reason = netpolicy.blocked_address_reason(host, addresses)
            if reason is not None:
                self._stats["blocked_addresses"] += 1
                return "blocked_address", reason
        connect_host = _connection_host(url, host)
        if connect_host is None:
            return "bad_scheme", f"not a usable address: {url[:200]}"
        self._checked.pin(connect_host, port, addresses)
        if robots and not self._ignores_robots(url):
            return await self._robots_refusal(url, origin)
        return None

    async def _resolve(self, host: str, port: int) -> Sequence[str]:
        """The addresses of `host`, asked once per run and shared by concurrent callers, so
        every request to a host is checked against, and connected to, one answer.

        NoSuchHost when the name does not exist; the outcome, failure included, holds for the run.
        """
        if netpolicy.is_ip_literal(host):
            return [host]
        key = (host, port)
        lookup = self._lookups.get(key)
        if lookup is None:
            lookup = self._lookups[key] = asyncio.ensure_future(self._lookup(host, port))
        # A caller that is cancelled must not cancel the lookup the other callers wait for.
        return await asyncio.shield(lookup)

    async def _lookup(self, host: str, port: int) -> Sequence[str]:
        """Ask the resolver; a DNS server that does not answer (EAI_AGAIN, a timeout) is asked
        again with a request's backoff, a name that does not exist is not."""
        s = self.settings
        attempt = 0
        while True:
            try:
                async with asyncio.timeout(s.connect_timeout):
                    return await self._resolver(host, port)
            except OSError as exc:  # TimeoutError included
                if is_no_such_host(exc):
                    reason = exc.strerror or describe(exc)
                    raise NoSuchHost(f"no such host: {host} ({reason}); not retried") from None
                if attempt >= s.max_retries:
                    raise
            self._stats["retries"] += 1
            await asyncio.sleep(
                netpolicy.backoff_delay(attempt, s.backoff_base, s.backoff_max, self._rng)
            )
            attempt += 1

    def _ignores_robots(self, url: str) -> bool:
        parts = urlsplit(url)
        return netpolicy.host_matches(
            parts.hostname or "", parts.netloc, self.settings.ignore_robots_for
        )

    def _count_result(self, result: FetchResult) -> FetchResult:
        self._stats["errors"] += result.error_kind is not None
        self._stats["not_modified"] += result.not_modified
        return result

    # -- one hop, attempt by attempt ----------------------------------------------------------

    async def _with_retries(
        self, url: str, headers: Mapping[str, str], limit: int, trace: Trace, *, truncate: bool
    ) -> Exchange:
        s = self.settings
        tries = 0
        for attempt in range(s.max_retries + 1):
            ex = await self._exchange(url, headers, limit, truncate=truncate)
            trace.attempts += 1
            tries += 1
            if not ex.retryable:
                return ex
            retry_after = netpolicy.parse_retry_after(
                ex.headers.get("retry-after"), datetime.now(UTC)
            )
            if retry_after is not None and retry_after > s.max_retry_after:
                ex.error_kind = "retry_after_too_long"
                ex.error = f"HTTP {ex.status} with Retry-After {retry_after:.0f} s; not waiting"
                return ex
            if retry_after is not None:
                self._gates[netpolicy.host_key(url)].hold_off(retry_after)
            if attempt == s.max_retries:
                break
            self._stats["retries"] += 1
            backoff = netpolicy.backoff_delay(attempt, s.backoff_base, s.backoff_max, self._rng)
            await asyncio.sleep(retry_after if retry_after is not None else backoff)
        if tries > 1 and ex.error:
            ex.error = f"{ex.error} after {tries} attempts"
        return ex

    async def _exchange(
        self, url: str, headers: Mapping[str, str], limit: int, *, truncate: bool
    ) -> Exchange:
        gate = self._gates[netpolicy.host_key(url)]
        async with gate.turn(self._global):
            self._stats["requests"] += 1
            try:
                async with asyncio.timeout(self.settings.total_timeout):
                    return await self._send(url, headers, limit, truncate=truncate)
            except (TimeoutError, httpx.TimeoutException) as exc:
                return Exchange(
                    url, error_kind="timeout", error=timeout_message(exc, self.settings)
                )
            except httpx.InvalidURL as exc:
                return Exchange(url, error_kind="bad_scheme", error=f"invalid URL: {exc}")
            except httpx.TransportError as exc:
                return Exchange(url, error_kind="connection", error=describe(exc))

    async def _send(
        self, url: str, headers: Mapping[str, str], limit: int, *, truncate: bool
    ) -> Exchange:
        client = self._client
        if client is None:
            raise RuntimeError("Fetcher used outside `async with`")
        site = netpolicy.origin_of(url)
        cookie = self._cookies.header(site) if site is not None else None
        if cookie is not None:
            headers = {**headers, "Cookie": cookie}
        request = client.build_request("GET", url, headers=headers)
        response = await client.send(request, stream=True)
        try:
            if site is not None:
                self._cookies.remember(site, response.headers.get_list("set-cookie"))
            ex = Exchange(url, response.status_code, dict(response.headers.items()))
            if 200 <= ex.status < 300:
                ex.body = await read_capped(response, limit, truncate=truncate)
                self._stats["bytes"] += len(ex.body)
            elif ex.status != NOT_MODIFIED and ex.location is None:
                ex.error_kind, ex.error = "http_status", f"HTTP {ex.status}"
            return ex
        except BodyTooLarge as exc:
            return Exchange(
                url, response.status_code, ex.headers, error_kind="too_large", error=str(exc)
            )
        except BadEncoding as exc:
            return Exchange(
                url,
                response.status_code,
                ex.headers,
                error_kind="connection",
                error=str(exc),
                final=True,
            )
        finally:
            await response.aclose()

    # -- robots.txt -----------------------------------------------------------------------------

    async def _robots_refusal(self, url: str, origin: str) -> tuple[str, str] | None:
        verdict = await self._robots.get(url, origin)
        if verdict.failure is not None:
            self._stats["robots_disallowed"] += 1
            return verdict.failure
        if not verdict.rules.can_fetch(url, self.settings.user_agent):
            self._stats["robots_disallowed"] += 1
            return "robots_disallowed", f"robots.txt disallows {urlsplit(url).path or '/'}"
        return None

    async def _load_robots(self, robots_url: str, origin: str) -> RobotsVerdict:
        """Fetch one robots.txt (its first 500 KiB) with the same politeness as any request, and
        space this host's requests by its Crawl-delay from now on."""
        self._stats["robots_fetches"] += 1
        result = await self._fetch(
            robots_url,
            origin,
            MAX_ROBOTS_BYTES,
            {"Accept": "text/plain"},
            robots=False,
            truncate=True,
        )
        verdict = robots_verdict(result)
        crawl_delay = verdict.rules.crawl_delay(self.settings.user_agent)
        delay = netpolicy.host_delay(self.settings.min_host_delay, crawl_delay)
        self._gates[netpolicy.host_key(robots_url)].slow_down(delay)
        return verdict


class NoSuchHost(OSError):
    """The DNS says the name does not exist: the fetch fails at once, without retries."""


def _connection_host(url: str, host: str) -> str | None:
    """The host httpx will connect to (IDNA-encoded), when it is the one that was checked.

    Two URL parsers (urllib's for the check, httpx's for the request) must agree on the host,
    or a crafted URL could be checked as one host and sent to another.
    """
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL:
        return None
    if parsed.host.lower() != host.lower():
        return None
    return parsed.raw_host.decode("ascii").lower()
