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
    """httpx's own transport, its connection pool built on `PinnedBackend`."""

    def __init__(self, checked: CheckedAddresses, limits: httpx.Limits) -> None:
        super().__init__(trust_env=False, limits=limits)
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=httpx.create_ssl_context(trust_env=False),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=PinnedBackend(checked),
        )


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
        self._direct = PinnedTransport(checked, limits)
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
