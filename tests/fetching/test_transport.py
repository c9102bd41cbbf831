"""Connections are made only to addresses the fetcher checked, over a real socket, and each
host's connection is kept alive between its requests."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import httpcore
import httpx
import psutil
import pytest

from fetching.transport import CheckedAddresses, HostPools, PinnedBackend
from tests.support.http_server import HttpTestServer


def connect(checked: CheckedAddresses, host: str, port: int) -> None:
    async def go() -> None:
        stream = await PinnedBackend(checked).connect_tcp(host, port, timeout=2.0)
        await stream.aclose()

    asyncio.run(go())


def test_a_host_that_was_not_checked_is_never_connected_to(http_server: HttpTestServer) -> None:
    with pytest.raises(httpcore.ConnectError, match="was not checked"):
        connect(CheckedAddresses(), "127.0.0.1", http_server.port)


def test_a_checked_name_connects_to_its_checked_address(http_server: HttpTestServer) -> None:
    checked = CheckedAddresses()
    checked.pin("Sahel.test", http_server.port, ["127.0.0.1"])
    connect(checked, "sahel.test", http_server.port)  # would fail if the name were resolved


def test_the_next_checked_address_is_tried_when_one_refuses(http_server: HttpTestServer) -> None:
    checked = CheckedAddresses()
    checked.pin("sahel.test", http_server.port, ["127.0.0.3", "127.0.0.1"])
    connect(checked, "sahel.test", http_server.port)


def test_a_checked_port_is_not_another_port(http_server: HttpTestServer) -> None:
    checked = CheckedAddresses()
    checked.pin("127.0.0.1", http_server.port + 1, ["127.0.0.1"])
    with pytest.raises(httpcore.ConnectError, match="was not checked"):
        connect(checked, "127.0.0.1", http_server.port)


# -- connections kept per host ---------------------------------------------------------------------


@pytest.fixture
def two_hosts(http_server: HttpTestServer) -> Iterator[tuple[HttpTestServer, HttpTestServer]]:
    """Two servers (two host:port) answering /a."""
    with HttpTestServer() as other:
        for server in (http_server, other):
            server.route("/a", body=b"a")
        yield http_server, other


def send_all(transport: HostPools, urls: list[str]) -> None:
    """GET each URL in turn through `transport`, reading each answer."""

    async def go() -> None:
        async with httpx.AsyncClient(transport=transport) as client:
            for url in urls:
                response = await client.get(url)
                assert response.status_code == 200

    asyncio.run(go())


def pools_for(
    *servers: HttpTestServer, keepalive_s: float = 5.0, kept_alive: int = 16
) -> HostPools:
    checked = CheckedAddresses()
    for server in servers:
        checked.pin("127.0.0.1", server.port, ["127.0.0.1"])
    limits = httpx.Limits(max_keepalive_connections=kept_alive, keepalive_expiry=keepalive_s)
    return HostPools(checked, limits)


def open_connections_to(server: HttpTestServer) -> int:
    return sum(
        1
        for c in psutil.Process().net_connections("tcp")
        if c.raddr and c.raddr.port == server.port and c.status == psutil.CONN_ESTABLISHED
    )


def test_a_hosts_requests_share_one_kept_alive_connection(http_server: HttpTestServer) -> None:
    http_server.route("/a", body=b"a")
    send_all(pools_for(http_server), [http_server.url("/a")] * 3)
    assert len({r.client_port for r in http_server.requests}) == 1


def test_each_host_keeps_its_own_connection_while_others_take_turns(two_hosts) -> None:
    one, other = two_hosts
    urls = [one.url("/a"), other.url("/a")] * 3  # taking turns, as hosts do
    # One connection kept alive: in a pool shared by the hosts, each turn would reconnect.
    send_all(pools_for(one, other, kept_alive=1), urls)
    assert len({r.client_port for r in one.requests}) == 1
    assert len({r.client_port for r in other.requests}) == 1


def test_a_host_unused_for_the_keep_alive_expiry_is_disconnected(two_hosts) -> None:
    one, other = two_hosts
    transport = pools_for(one, other, keepalive_s=0.2)

    async def go() -> tuple[int, int]:
        async with httpx.AsyncClient(transport=transport) as client:
            await client.get(one.url("/a"))
            kept = open_connections_to(one)
            await asyncio.sleep(0.3)
            await client.get(other.url("/a"))  # any request closes the unused hosts' pools
            return kept, open_connections_to(one)

    assert asyncio.run(go()) == (1, 0)
