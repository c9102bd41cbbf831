"""Network politeness and safety rules, as pure functions the fetcher applies.

Kept apart from `flows/fetcher.py` so that every rule (which addresses may be contacted, when to
retry, how long to wait) can be tested without a socket, and so the settings can be validated
from `feeds.yaml` by `extractors.feeds_config` without importing httpx.
"""

from __future__ import annotations

import ipaddress
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Literal
from urllib.parse import urlsplit

DEFAULT_USER_AGENT = (
    "sahelwatch/0.1 (+https://github.com/sahelwatch/sahelwatch; French-language Sahel news monitor)"
)
ALLOWED_SCHEMES = frozenset({"http", "https"})
DEFAULT_PORTS = {"http": 80, "https": 443}
# A robots.txt crawl-delay above this is treated as this: some sites write 3600 to mean "go away
# slowly", and one feed must not hold a run for hours. Sixty seconds is still very polite.
MAX_CRAWL_DELAY = 60.0
TOO_MANY_REQUESTS = 429

AddressClass = Literal["public", "loopback", "private", "link_local", "multicast", "reserved"]


@dataclass(frozen=True, slots=True)
class NetworkSettings:
    """How the fetcher behaves towards other people's servers; `network:` in feeds.yaml."""

    user_agent: str = DEFAULT_USER_AGENT
    connect_timeout: float = 10.0
    read_timeout: float = 20.0
    total_timeout: float = 60.0  # whole request incl. body streaming
    max_concurrency: int = 16  # global
    per_host_concurrency: int = 2
    min_host_delay: float = 1.0  # seconds between two request starts to one host
    max_feed_bytes: int = 10 * 2**20  # decompressed
    max_page_bytes: int = 5 * 2**20  # decompressed
    max_redirects: int = 5
    max_retries: int = 3  # after the first attempt; timeouts, connection errors, 429 and 5xx only
    backoff_base: float = 0.5  # exponential backoff with full jitter, capped by backoff_max
    backoff_max: float = 30.0
    max_retry_after: float = 120.0  # a longer Retry-After gives up for this run instead
    ignore_robots_for: frozenset[str] = frozenset()  # hostnames the user owns
    allow_private_hosts: frozenset[str] = frozenset()  # hosts allowed on private addresses


def classify_address(ip: str) -> AddressClass:
    """Only 'public' addresses may be contacted freely: the rest reach the user's own network.

    An IPv4 address written inside IPv6 (::ffff:10.0.0.1) is judged as the IPv4 address, since
    that is where the packets go.
    """
    address = ipaddress.ip_address(ip)
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if address.is_loopback:
        return "loopback"
    if address.is_link_local:
        return "link_local"
    if address.is_multicast:
        return "multicast"
    if address.is_unspecified or address.is_reserved:
        return "reserved"
    if address.is_private:
        return "private"
    # Shared address space (100.64/10) and similar are neither private nor globally routable.
    return "public" if address.is_global else "reserved"


def is_ip_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def is_allowed_scheme(url: str) -> bool:
    """A link may be javascript:, mailto: or ftp:; only http(s) is ever fetched."""
    return urlsplit(url).scheme.lower() in ALLOWED_SCHEMES


def origin_of(url: str) -> tuple[str, str, int] | None:
    """(scheme, host, port) with the default port filled in; None when the URL has no host."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        port = parts.port
    except ValueError:
        return None
    if not parts.hostname or scheme not in DEFAULT_PORTS:
        return None
    return scheme, parts.hostname.lower(), port or DEFAULT_PORTS[scheme]


def same_origin(a: str, b: str) -> bool:
    """Same scheme, host and port: http://x and http://x:80 are one origin, https://x is not."""
    origin = origin_of(a)
    return origin is not None and origin == origin_of(b)


def host_key(url: str) -> str:
    """The key politeness is counted by: host and port, so two test servers are two hosts."""
    origin = origin_of(url)
    if origin is None:
        return urlsplit(url).netloc.lower()
    _, host, port = origin
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def address_check_exempt(url: str, origin: str, allow_private_hosts: frozenset[str]) -> bool:
    """True when `url` may go to a private address: it is on the configured feed's own origin (a
    feed the user set up on a local server may link to itself), or the user listed its host."""
    if same_origin(url, origin):
        return True
    parts = urlsplit(url)
    return host_matches(parts.hostname or "", parts.netloc, allow_private_hosts)


def blocked_address_reason(host: str, addresses: Sequence[str]) -> str | None:
    """Why `host` must not be contacted at these addresses, or None when it may.

    A link in a public feed must not make us probe the user's own network (a router's admin
    page, cloud metadata at 169.254.169.254). Every address must be public, since the connection
    may use any of them.
    """
    if not addresses:
        return f"{host} resolves to no address"
    for ip in addresses:
        kind = classify_address(ip)
        if kind != "public":
            return f"{host} resolves to {kind} address {ip}"
    return None


def is_retryable_status(status: int) -> bool:
    """The server is overloaded (429, 503) or broken for a moment (5xx): worth asking again.

    Other 4xx say the request itself is wrong, and asking again would only add load.
    """
    return status == TOO_MANY_REQUESTS or 500 <= status <= 599


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP-date); None if unusable.

    A date in the past means "now" (0.0). `now` must be timezone-aware, like HTTP dates.
    """
    if value is None:
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # "-0000" in an HTTP-date means UTC per RFC 5322
        when = when.replace(tzinfo=now.tzinfo)
    return max(0.0, (when - now).total_seconds())


def backoff_delay(attempt: int, base: float, cap: float, rng: random.Random) -> float:
    """Exponential backoff with full jitter: uniform in [0, min(cap, base * 2**attempt)].

    Full jitter spreads the retries of many clients hitting one broken server, instead of having
    them all come back at the same instant. `attempt` counts from 0 for the first retry.
    """
    ceiling = min(cap, base * 2 ** min(attempt, 62))
    return rng.uniform(0.0, ceiling)


def host_delay(min_host_delay: float, crawl_delay: float | None) -> float:
    """Seconds between request starts to one host: ours, raised by robots.txt, within reason."""
    if crawl_delay is None:
        return min_host_delay
    return max(min_host_delay, min(crawl_delay, MAX_CRAWL_DELAY))


def host_matches(host: str, netloc: str, hosts: frozenset[str]) -> bool:
    """A settings list may name a host ("example.org") or a host and port ("127.0.0.1:8080")."""
    return host.lower() in hosts or netloc.lower() in hosts


def settings_problems(settings: NetworkSettings) -> list[tuple[str, str]]:
    """(field, problem) for each value the fetcher cannot work with, for config error messages.

    Zero concurrency would wait forever and a zero size cap would refuse every page, so both are
    caught when the configuration is read rather than discovered as a hung or empty run.
    """
    problems = []
    for name in ("max_concurrency", "per_host_concurrency", "max_feed_bytes", "max_page_bytes"):
        if getattr(settings, name) < 1:
            problems.append((name, f"must be at least 1, got {getattr(settings, name)!r}"))
    for name in ("connect_timeout", "read_timeout", "total_timeout"):
        if not getattr(settings, name) > 0:
            problems.append((name, f"must be more than 0 seconds, got {getattr(settings, name)!r}"))
    for name in (
        "min_host_delay",
        "max_redirects",
        "max_retries",
        "backoff_base",
        "backoff_max",
        "max_retry_after",
    ):
        if getattr(settings, name) < 0:
            problems.append((name, f"must be zero or more, got {getattr(settings, name)!r}"))
    agent = settings.user_agent
    if not agent.strip() or any(c in agent for c in "\r\n") or not agent.isascii():
        problems.append(("user_agent", "must be one ASCII line naming the crawler and a contact"))
    return problems
