"""Hosts: which addresses a name leads to, and how politely each host is asked.

Politeness per host (host:port) is how many requests it gets at once and how far apart they start.
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager

# (host, port) -> IP addresses; injectable so tests can resolve names without DNS.
Resolver = Callable[[str, int], Awaitable[Sequence[str]]]
# getaddrinfo's answers for "this name has no address" (NXDOMAIN, or a name without A/AAAA):
# asking again cannot help, unlike EAI_AGAIN ("the DNS server did not answer in time").
NO_SUCH_NAME_ERRORS = frozenset(
    {socket.EAI_NONAME, getattr(socket, "EAI_NODATA", socket.EAI_NONAME)}
)


def is_no_such_host(exc: BaseException) -> bool:
    """True when the resolver said the name does not exist, as opposed to a passing failure."""
    return isinstance(exc, socket.gaierror) and exc.errno in NO_SUCH_NAME_ERRORS


async def system_resolver(host: str, port: int) -> list[str]:
    """The addresses a connection to `host` may use, in the system's order of preference
    (RFC 6724, as getaddrinfo sorts them), each once."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


class HostGate:
    """Admits requests to one host (host:port): a few at a time, starts spaced by `delay`.

    The spacing is measured between request starts, whether the previous one has finished or
    not, so a host with `delay` 2 s never sees more than one new request per 2 s from us.
    """

    def __init__(self, concurrency: int, delay: float) -> None:
        self._slots = asyncio.Semaphore(concurrency)
        self._spacing = asyncio.Lock()
        self._delay = delay
        self._last_start: float | None = None
        self._not_before = 0.0

    @asynccontextmanager
    async def turn(self, global_slots: asyncio.Semaphore) -> AsyncIterator[None]:
        """Hold a host slot, wait until this host may be asked again, then take a global slot.

        The host slot and the spacing wait come before the global slot: a request waiting for
        its host's turn must not hold a global slot that another host could use at once (with
        16 global slots and 1 s spacing, holding them while waiting capped a run over 100 hosts
        at about 16 pages/s). The start is recorded once the global slot is held, so starts to
        one host stay at least `delay` apart.
        """
        async with self._slots:
            async with self._spacing:
                wait = self._next_start() - time.monotonic()
                if wait > 0:
                    await asyncio.sleep(wait)
                await global_slots.acquire()
                self._last_start = time.monotonic()
            try:
                yield
            finally:
                global_slots.release()

    def slow_down(self, delay: float) -> None:
        """Raise the spacing (robots.txt Crawl-delay); it is never lowered below the setting."""
        self._delay = max(self._delay, delay)

    def hold_off(self, seconds: float) -> None:
        """Start nothing for `seconds`: the host said so with Retry-After."""
        self._not_before = max(self._not_before, time.monotonic() + seconds)

    def _next_start(self) -> float:
        spaced = self._last_start + self._delay if self._last_start is not None else 0.0
        return max(spaced, self._not_before)


class HostGates:
    """One gate per host key, created on first use."""

    def __init__(self, concurrency: int, delay: float) -> None:
        self._concurrency = concurrency
        self._delay = delay
        self._gates: dict[str, HostGate] = {}

    def __getitem__(self, key: str) -> HostGate:
        gate = self._gates.get(key)
        if gate is None:
            gate = self._gates[key] = HostGate(self._concurrency, self._delay)
        return gate
