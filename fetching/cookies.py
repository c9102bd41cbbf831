"""Cookies kept for one run, each sent back only to the origin that set it.

An origin is scheme, host and port, so two servers on one machine are two sites and a cookie
never follows a redirect to another one. Domain and Path attributes are not honoured: a cookie
goes to its own origin only, which is narrower than a browser and enough for the cookie-then-
redirect dance some news sites do before serving a page.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from http.cookiejar import CookieJar, DefaultCookiePolicy

Origin = tuple[str, str, int]
# A hostile site must not grow the jar without bound; real sites set a few dozen at most.
MAX_COOKIES_PER_ORIGIN = 50
MAX_COOKIE_BYTES = 4096  # RFC 6265 §6.1: what user agents must at least support, per cookie


class OriginCookies:
    def __init__(self) -> None:
        self._jar: dict[Origin, dict[str, str]] = {}

    def header(self, origin: Origin) -> str | None:
        """The Cookie header for a request to `origin`, or None when it set none."""
        cookies = self._jar.get(origin)
        if not cookies:
            return None
        return "; ".join(f"{name}={value}" for name, value in cookies.items())

    def remember(self, origin: Origin, set_cookie: Iterable[str]) -> None:
        """Take the Set-Cookie headers of a response from `origin`."""
        for line in set_cookie:
            parsed = _parse(line)
            if parsed is None:
                continue
            name, value, expired = parsed
            cookies = self._jar.setdefault(origin, {})
            if expired:
                cookies.pop(name, None)
            elif name in cookies or len(cookies) < MAX_COOKIES_PER_ORIGIN:
                cookies[name] = value


def refusing_jar() -> CookieJar:
    """A jar that keeps nothing, for httpx: its own matches by domain and would send a cookie
    from 127.0.0.1:8001 to 127.0.0.1:8002, another site for the fetcher."""
    return CookieJar(policy=DefaultCookiePolicy(allowed_domains=[]))


def _parse(line: str) -> tuple[str, str, bool] | None:
    """(name, value, expired) from one Set-Cookie value; None when unusable."""
    if len(line) > MAX_COOKIE_BYTES:
        return None
    pair, *attributes = line.split(";")
    name, sep, value = pair.partition("=")
    name, value = name.strip(), value.strip()
    if not sep or not name or any(c in name + value for c in "\r\n\0"):
        return None
    return name, value, any(_expires_now(a) for a in attributes)


def _expires_now(attribute: str) -> bool:
    key, _, value = attribute.partition("=")
    key, value = key.strip().lower(), value.strip()
    if key == "max-age":
        return value.lstrip("-").isdigit() and int(value) <= 0
    if key == "expires":
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return False
        return when.replace(tzinfo=when.tzinfo or UTC) <= datetime.now(UTC)
    return False
