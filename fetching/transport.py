"""Connections go to the address that was checked, or through the proxy chosen for the URL.

httpx would resolve a name again when connecting, and a DNS answer changed since the fetcher
checked it (DNS rebinding) would reach an address that was never checked. Here the TCP
connection is made to the addresses the fetcher resolved and checked (`CheckedAddresses`), and
to nothing else; TLS still names the host (SNI and certificate), since httpcore starts TLS with
the URL's host whatever address the socket reached.

httpx 0.28 has no public parameter for the network backend: `PinnedTransport` replaces the
`_pool` its own `handle_async_request` uses (httpx is pinned to 0.28.1; tests/fetching proves
the connection goes where it should).
"""

from __future__ import annotations

import math
import ssl
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from types import TracebackType

import httpcore
import httpx


class CheckedAddresses:
    """(host, port) -> the addresses the fetcher resolved and allowed, for one run."""

    def __init__(self) -> None:
        self._pins: dict[tuple[str, int], tuple[str, ...]] = {}

    def pin(self, host: str, port: int, addresses: Sequence[str]) -> None:
        self._pins[(host.lower(), port)] = tuple(addresses)

    def get(self, host: str, port: int) -> tuple[str, ...]:
        return self._pins.get((host.lower(), port), ())


class PinnedBackend(httpcore.AsyncNetworkBackend):
    """Opens TCP connections only to checked addresses, trying them in order (the request's
    total timeout bounds the whole attempt)."""

    def __init__(self, checked: CheckedAddresses) -> None:
        self._checked = checked
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        addresses = self._checked.get(host, port)
        if not addresses:
            raise httpcore.ConnectError(f"{host}:{port} was not checked before connecting")
        failure: Exception = httpcore.ConnectError("")
        for ip in addresses:
            try:
                return await self._inner.connect_tcp(
                    ip,
                    port,
                    timeout=timeout,
                    local_address=local_address,
                    socket_options=socket_options,
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                # An unreachable IPv6 address must not fail a host that also has IPv4.
                message = f"cannot connect to {ip} port {port} for {host}: {exc or 'timed out'}"
                failure = type(exc)(message)
        raise failure

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("the fetcher never connects to local sockets")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class PinnedTransport(httpx.AsyncHTTPTransport):
    """httpx's own transport, its connection pool built on `PinnedBackend`.

    httpx's `__init__` is not called: it would build a pool and an SSL context of its own, only
    for this one to replace them (loading the CA bundle costs about 30 ms, and there is a
    transport per host). Its `handle_async_request` and `aclose` use `_pool` alone.
    """

    def __init__(
        self, checked: CheckedAddresses, limits: httpx.Limits, ssl_context: ssl.SSLContext
    ) -> None:
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=ssl_context,
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=PinnedBackend(checked),
        )
        self.last_used = 0.0  # time.monotonic() of its last request (HostPools' sweep)

    def busy(self) -> bool:
        """Whether a connection is in use (connecting, or a response not yet closed)."""
        return any(not connection.is_idle() for connection in self._pool.connections)


class HostPools(httpx.AsyncBaseTransport):
    """One small connection pool per origin, so a host's connection is kept alive between its
    requests (a second apart by politeness) and finding it never looks at other hosts'.

    One pool shared by every host reused few connections: on the 2,000-page benchmark, 100 hosts
    took turns at its 16 kept-alive connections, so nearly every request closed one and connected
    again, and httpcore checks each pooled connection on every request, so a larger shared pool
    (256) cost more CPU than it saved. A pool unused for `keepalive_expiry` is closed, so a run
    over many hosts does not keep a socket open to each of them.
    """

    def __init__(self, checked: CheckedAddresses, limits: httpx.Limits) -> None:
        self._checked = checked
        self._limits = limits
        self._ssl_context = httpx.create_ssl_context(trust_env=False)  # one for every host
        # httpx's None: connections never expire, so neither do the pools.
        expiry = limits.keepalive_expiry
        self._expiry = math.inf if expiry is None else expiry
        # Least recently used first: the sweep stops at the first pool used within the expiry.
        self._pools: OrderedDict[tuple[bytes, bytes, int | None], PinnedTransport] = OrderedDict()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        key = (url.raw_scheme, url.raw_host, url.port)
        pool = self._pools.pop(key, None) or self._new_pool()
        pool.last_used = time.monotonic()
        self._pools[key] = pool
        await self._close_unused(pool.last_used)
        return await pool.handle_async_request(request)

    def _new_pool(self) -> PinnedTransport:
        return PinnedTransport(self._checked, self._limits, self._ssl_context)

    async def _close_unused(self, now: float) -> None:
        """Close the pools unused for `keepalive_expiry`, oldest first; one still reading a long
        response counts as used now."""
        while self._pools:
            key, pool = next(iter(self._pools.items()))
            if now - pool.last_used < self._expiry:
                return
            del self._pools[key]
            if pool.busy():
                pool.last_used = now
                self._pools[key] = pool
                continue
            await pool.aclose()

    async def aclose(self) -> None:
        pools, self._pools = list(self._pools.values()), OrderedDict()
        for pool in pools:
            await pool.aclose()


class RoutingTransport(httpx.AsyncBaseTransport):
    """Sends each request directly (to checked addresses) or through the proxy `choose` names.

    Through a proxy, the socket goes to the proxy: the target's address was still checked by the
    fetcher before the request, but the proxy resolves the name itself.
    """

    def __init__(
        self,
        checked: CheckedAddresses,
        choose: Callable[[str], str | None],
        limits: httpx.Limits,
    ) -> None:
        self._direct = HostPools(checked, limits)
        self._choose = choose
        self._limits = limits
        self._proxied: dict[str, httpx.AsyncHTTPTransport] = {}

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        proxy = self._choose(str(request.url))
        if proxy is None:
            return await self._direct.handle_async_request(request)
        transport = self._proxied.get(proxy)
        if transport is None:
            transport = httpx.AsyncHTTPTransport(proxy=proxy, trust_env=False, limits=self._limits)
            self._proxied[proxy] = transport
        return await transport.handle_async_request(request)

    async def aclose(self) -> None:
        await self._direct.aclose()
        for transport in self._proxied.values():
            await transport.aclose()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None = None,
        exc: BaseException | None = None,
        tb: TracebackType | None = None,
    ) -> None:
        await self.aclose()
