"""Connections are made only to addresses the fetcher checked, over a real socket."""

from __future__ import annotations

import asyncio

import httpcore
import pytest

from fetching.transport import CheckedAddresses, PinnedBackend
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
