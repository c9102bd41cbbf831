"""Network politeness and safety rules, as pure functions the fetcher applies.

Kept apart from `fetching.client` so that every rule (which addresses may be contacted, when to
retry, how long to wait) can be tested without a socket. No httpx here. The settings themselves
are `extractors.network_settings.NetworkSettings`, read from feeds.yaml without the fetcher.
"""

from __future__ import annotations

import ipaddress
import random
from collections.abc import Sequence
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Literal
from urllib.parse import urlsplit

ALLOWED_SCHEMES = frozenset({"http", "https"})
DEFAULT_PORTS = {"http": 80, "https": 443}
# A robots.txt crawl-delay above this is treated as this: some sites write 3600 to mean "go away
# slowly", and one feed must not hold a run for hours. Sixty seconds is still very polite.
MAX_CRAWL_DELAY = 60.0

AddressClass = Literal["public", "loopback", "private", "link_local", "multicast", "reserved"]


def classify_address(ip: str) -> AddressClass:
    """Only 'public' addresses may be contacted freely: the rest reach the user's own network.

    An IPv4 address written inside IPv6 (::ffff:10.0.0.1, or 6to4's 2002:a00:1::) is judged as
    the IPv4 address, since that is where the packets go.
    """
    address = ipaddress.ip_address(ip)
    if isinstance(address, ipaddress.IPv6Address):
        address = address.ipv4_mapped or address.sixtofour or address
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


def keeps_request_headers(from_url: str, to_url: str) -> bool:
    """May a redirect hop carry the headers meant for `from_url` (validators, cookies)?

    Only to the same origin, or to the same host upgraded from http to https on default ports
    (the most common feed redirect, where losing If-None-Match would refetch every feed). Never
    to another host or port: whatever one site was sent is not another site's business.
    """
    a, b = origin_of(from_url), origin_of(to_url)
    if a is None or b is None:
        return False
    if a == b:
        return True
    return a == ("http", b[1], DEFAULT_PORTS["http"]) and b[0] == "https" and b[2] == 443


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
