"""URL canonicalisation: one address per article, whatever tracking the feed glued onto it."""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

FETCHABLE_SCHEMES = frozenset({"http", "https"})
_DEFAULT_PORTS = {"http": 80, "https": 443}
# Query parameters that only say who sent the reader: dropping them never changes the page.
# utm_* (Google Analytics), xtor/at_* (AT Internet, common on French outlets), fbclid/gclid/
# msclkid (ad click ids), mc_* (Mailchimp), _ga/_gl (cross-domain GA), igshid, ref_src.
_TRACKING_PARAM = re.compile(
    r"^(utm_\w+|xtor|at_\w+|fbclid|gclid|dclid|msclkid|mc_cid|mc_eid|_ga|_gl|igshid|ref_src"
    r"|yclid|twclid|ns_\w+|ito|oly_\w+|wt_\w+)$",
    re.IGNORECASE,
)


_SPACE = re.compile(r"\s")


class UnusableLink(ValueError):
    """A link that cannot name a web page: empty, relative without base, or another scheme."""


def absolute_url(link: str | None, base: str) -> str:
    """Resolve a feed entry's link against the feed URL; refuse what is not an http(s) address."""
    link = (link or "").strip()
    if not link:
        raise UnusableLink("no link")
    try:
        url = urljoin(base, link)
        parts = urlsplit(url)
        parts.port  # noqa: B018 - parsing the port is what rejects "host:99999" or "host:abc"
    except ValueError as exc:
        raise UnusableLink(f"malformed address ({exc}): {link[:200]}") from exc
    if parts.scheme.lower() not in FETCHABLE_SCHEMES:
        raise UnusableLink(f"scheme {parts.scheme or '(none)'!r} is not http(s): {link[:200]}")
    if not parts.hostname or _SPACE.search(parts.hostname):
        raise UnusableLink(f"no valid host in {link[:200]}")
    return url


def canonical_url(url: str) -> str:
    """Lower-case scheme and host, no default port, no fragment, no tracking parameters."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower().rstrip(".")
    if ":" in host:  # an IPv6 address: its brackets are part of the URL's syntax
        host = f"[{host}]"
    port = parts.port
    netloc = host if port in (None, _DEFAULT_PORTS.get(scheme)) else f"{host}:{port}"
    if parts.username:
        netloc = f"{parts.username}@{netloc}"
    query = [
        (k, v)
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
        if not _TRACKING_PARAM.match(k)
    ]
    return urlunsplit((scheme, netloc, parts.path or "/", urlencode(query, doseq=True), ""))
