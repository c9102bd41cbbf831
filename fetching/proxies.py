"""Which proxy a request goes through: feeds.yaml's `network.proxy`, else the environment.

The order, documented in the README: `network.proxy` set to a URL wins and the environment is
not read; `network.proxy: none` means no proxy whatever the environment says; left empty, the
standard variables apply (`HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY`, lower-case first, and
`NO_PROXY`). A loopback target (127.x, ::1, localhost) is never sent to a proxy: a proxy
elsewhere would reach its own loopback, not ours. No httpx here: the rules are testable alone.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlsplit
from urllib.request import getproxies_environment, proxy_bypass_environment

from extractors.errors import UsageError
from extractors.network_settings import NO_PROXY, is_proxy_url
from fetching import netpolicy

# Proxy variables name the proxy for one scheme ("https" for HTTPS_PROXY) or for all ("all").
_ALL = "all"
_BYPASS = "no"


class ProxyChooser:
    """Answers `proxy_for(url)` for one run, from the settings and the environment at start."""

    def __init__(self, configured: str, environment: Mapping[str, str] | None = None) -> None:
        self._configured = configured
        env = getproxies_environment() if environment is None else dict(environment)
        self._environment = {k: _with_scheme(v) if k != _BYPASS else v for k, v in env.items()}
        if not configured:
            for scheme in ("http", "https", _ALL):
                value = self._environment.get(scheme)
                if value and not is_proxy_url(value):
                    raise UsageError(
                        f"{scheme.upper()}_PROXY={value!r} is not an http(s) proxy URL"
                        " (SOCKS proxies are not supported)"
                    )

    def proxy_for(self, url: str) -> str | None:
        """The proxy URL for this request, or None to connect directly."""
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        if is_loopback_name(host) or self._configured == NO_PROXY:
            return None
        if self._configured:
            return self._configured
        proxy = self._environment.get(parts.scheme.lower()) or self._environment.get(_ALL)
        if not proxy:
            return None
        host_port = parts.netloc.rpartition("@")[2]
        if proxy_bypass_environment(host_port, self._environment):
            return None
        return proxy


def is_loopback_name(host: str) -> bool:
    """localhost (RFC 6761 keeps it on this machine) or a loopback address."""
    if host == "localhost" or host.endswith(".localhost"):
        return True
    return netpolicy.is_ip_literal(host) and netpolicy.classify_address(host) == "loopback"


def _with_scheme(value: str) -> str:
    """`proxy.example:3128`, as curl accepts it, means http://proxy.example:3128."""
    value = value.strip()
    return value if "://" in value or not value else f"http://{value}"
