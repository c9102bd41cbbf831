"""What a fetch came to: the fetcher's only output, whatever happened on the network.

`FetchResult` is public; `Exchange` (one attempt at one hop) and `Trace` (one URL's attempts)
are the fetcher's working records.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urljoin

import httpx

from extractors.network_settings import NetworkSettings, is_retryable_status

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
NOT_MODIFIED = 304
# "text/html; charset=ISO-8859-1" or charset="utf-8": the value is a token or a quoted string.
_CHARSET = re.compile(r"""charset\s*=\s*["']?([^"';\s]+)""", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class FetchResult:
    """One fetch. `error_kind` None means success (a 304 included).

    error_kind is one of: 'timeout', 'connection', 'no_such_host', 'http_status', 'too_large',
    'too_many_redirects', 'blocked_address', 'bad_scheme', 'robots_disallowed',
    'retry_after_too_long'. `attempts` counts the requests sent for this URL, retries and
    redirect hops included (0 when it was refused before any request).
    """

    url: str  # as requested
    final_url: str  # after redirects
    status: int | None  # last HTTP status, None when no response
    headers: Mapping[str, str]  # response headers, lower-case names
    body: bytes | None  # decompressed body; None on error or 304
    not_modified: bool  # True on 304
    error_kind: str | None
    error: str | None  # one human line, e.g. "HTTP 503 after 4 attempts"
    attempts: int
    elapsed: float  # seconds, including waiting for our turn at the host

    @property
    def ok(self) -> bool:
        return self.error_kind is None

    @property
    def content_type(self) -> str | None:
        """The media type alone, lower-case: "text/html"; None when not declared."""
        value = self.headers.get("content-type", "")
        media = value.split(";", 1)[0].strip().lower()
        return media or None

    @property
    def charset(self) -> str | None:
        """The charset declared in Content-Type, lower-case, or None; it may be wrong."""
        match = _CHARSET.search(self.headers.get("content-type", ""))
        return match.group(1).lower() if match else None


@dataclass(slots=True)
class Exchange:
    """What one request/response (one attempt at one hop) came to."""

    url: str
    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | None = None
    error_kind: str | None = None
    error: str | None = None
    final: bool = False  # an error that asking again cannot fix (e.g. an unknown encoding)

    @property
    def retryable(self) -> bool:
        if self.final:
            return False
        if self.error_kind in ("timeout", "connection"):
            return True
        return self.error_kind == "http_status" and is_retryable_status(self.status or 0)

    @property
    def location(self) -> str | None:
        if self.status in REDIRECT_STATUSES and self.headers.get("location"):
            return urljoin(self.url, self.headers["location"].strip())
        return None


@dataclass(slots=True)
class Trace:
    """One URL's fetch in progress: when it began and how many requests it has sent."""

    url: str
    started: float = field(default_factory=time.monotonic)
    attempts: int = 0

    def result(self, ex: Exchange) -> FetchResult:
        not_modified = ex.error_kind is None and ex.status == NOT_MODIFIED
        return FetchResult(
            self.url,
            ex.url,
            ex.status,
            ex.headers,
            ex.body,
            not_modified,
            ex.error_kind,
            ex.error,
            self.attempts,
            time.monotonic() - self.started,
        )

    def refused(self, url: str, kind: str, message: str) -> FetchResult:
        return self.result(Exchange(url, error_kind=kind, error=message))


def timeout_message(exc: BaseException, settings: NetworkSettings) -> str:
    """Which timeout fired, in words a run report can show."""
    if isinstance(exc, httpx.ConnectTimeout):
        return f"no connection within {settings.connect_timeout:g} s"
    if isinstance(exc, httpx.ReadTimeout):
        return f"no data for {settings.read_timeout:g} s"
    if isinstance(exc, httpx.TimeoutException):
        return f"timed out ({type(exc).__name__})"
    return f"not complete within {settings.total_timeout:g} s"


def describe(exc: BaseException) -> str:
    """The first line of an exception's message, short enough for one report line."""
    text = str(exc) or type(exc).__name__
    return text.splitlines()[0][:200]
