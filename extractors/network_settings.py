"""The `network:` section of feeds.yaml and what an HTTP status means: pure, no I/O.

Kept in extractors/ because reading feeds.yaml (`extractors.feeds_config`) and naming a skip
reason (`extractors.models`) need them, and extractors/ must not import the fetcher (httpx).
The rules the fetcher applies with these settings live in `fetching.netpolicy`.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

DEFAULT_USER_AGENT = (
    "sahelwatch/0.1 (+https://github.com/sahelwatch/sahelwatch; French-language Sahel news monitor)"
)
TOO_MANY_REQUESTS = 429
# `network.proxy`: "" uses the environment (HTTPS_PROXY, HTTP_PROXY, NO_PROXY), "none" ignores
# it, and an http(s) proxy URL is used for every request. SOCKS would need another package.
PROXY_FROM_ENVIRONMENT = ""
NO_PROXY = "none"


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
    proxy: str = PROXY_FROM_ENVIRONMENT  # or NO_PROXY, or "http://proxy.example:3128"


def is_retryable_status(status: int) -> bool:
    """The server is overloaded (429, 503) or broken for a moment (5xx): worth asking again.

    Other 4xx say the request itself is wrong, and asking again would only add load.
    """
    return status == TOO_MANY_REQUESTS or 500 <= status <= 599


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
    if settings.proxy not in (PROXY_FROM_ENVIRONMENT, NO_PROXY) and not is_proxy_url(
        settings.proxy
    ):
        problems.append(
            ("proxy", f"must be an http(s)://host:port URL or 'none', got {settings.proxy!r}")
        )
    agent = settings.user_agent
    if not agent.strip() or any(c in agent for c in "\r\n") or not agent.isascii():
        problems.append(("user_agent", "must be one ASCII line naming the crawler and a contact"))
    return problems


def is_proxy_url(url: str) -> bool:
    """An http(s) proxy address: scheme, optional user:password@, host, optional port."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - parsing the port is what rejects "host:abc"
    except ValueError:
        return False
    return (
        parts.scheme.lower() in ("http", "https")
        and bool(parts.hostname)
        and parts.path in ("", "/")
        and not parts.query
        and not parts.fragment
        and not any(c.isspace() for c in url)
    )
