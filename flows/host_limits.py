"""Per-host politeness across workers: one Prefect global concurrency limit per host.

Within one process, fetching/hosts.py spaces the requests to a host. A partition run owns its
hosts (extractors/partitions.py), and the run lease lets one run of a partition write at a time,
so a host it owns and nobody else visits is fetched by it alone: local spacing is enough. A page
on a host it does not own (a feed linking to another outlet's pages) may be fetched by that
host's owner at the same moment, so such a batch is fetched only while holding a slot of the
host's global concurrency limit, `sahelwatch-host-<host>`, whose size is the feed config's
`per_host_concurrency`, created on first use. The owner of a host that has such a limit takes it
too: the limits that exist are read when the run starts and every LIMITS_REFRESH_S after. An
operator may lower a limit in Prefect's UI or with `prefect gcl update sahelwatch-host-<host>
--limit 1`, and that is kept.

Slots are taken and given back with the API's lease calls directly, two requests a batch:
Prefect's `concurrency()` helper starts a service thread per limit name, and with a few hundred
hosts those threads cost the flow process more CPU than its fetching.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from types import TracebackType
from uuid import UUID

from prefect.client.orchestration import PrefectClient, get_client
from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate
from prefect.exceptions import ObjectAlreadyExists, ObjectNotFound, PrefectHTTPStatusError

from extractors.partitions import Partition, host_of

LIMIT_PREFIX = "sahelwatch-host-"
# A slot is held for one batch's fetch (a few seconds); its lease is renewed every half of this
# while held, so a worker killed while holding one frees it after at most this many seconds.
# (Prefect's minimum lease is 60 s.)
SLOT_LEASE_S = 60.0
# The API answers 423 (with Retry-After) while a host's slots are all taken; wait at least this.
RETRY_MIN_S = 0.2
LOCKED = 423
# How often a run re-reads which hosts have a limit (one API call): a host another partition
# starts visiting mid-run is shared from then on.
LIMITS_REFRESH_S = 30.0
# The API's largest page of limits (PREFECT_SERVER_API_DEFAULT_LIMIT's default).
LIMITS_PAGE = 200


def limit_name(host: str) -> str:
    return f"{LIMIT_PREFIX}{host}"


class HostLimits:
    """`async with HostLimits(n, partition) as limits:` then `async with limits.slot(url):`."""

    def __init__(self, per_host_concurrency: int, partition: Partition) -> None:
        self.per_host = per_host_concurrency
        self.partition = partition
        self._ready: set[str] = set()  # limit names that exist
        self._refresher: asyncio.Task | None = None
        self._creating = asyncio.Lock()
        self._client: PrefectClient | None = None

    async def __aenter__(self) -> HostLimits:
        self._client = await get_client().__aenter__()
        await self._read_existing()
        self._refresher = asyncio.create_task(self._refresh())
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._refresher is not None:
            self._refresher.cancel()
        if self._client is not None:
            await self._client.__aexit__(kind, exc, tb)
            self._client = None

    @asynccontextmanager
    async def slot(self, url: str) -> AsyncIterator[None]:
        """Hold one slot of the URL's host for the block, unless the host is this partition's
        and nobody else's (it has no limit)."""
        name = limit_name(host_of(url))
        if self.partition.owns(url) and name not in self._ready:
            yield
            return
        await self._ensure(name)
        lease = await self._acquire(name)
        renewing = asyncio.create_task(self._renew(lease))
        try:
            yield
        finally:
            renewing.cancel()
            # Best effort: a slot not given back (API unreachable) is freed when its lease ends.
            with suppress(Exception):
                await self._client.release_concurrency_slots_with_lease(lease)

    async def _acquire(self, name: str) -> UUID:
        while True:
            try:
                response = await self._client.increment_concurrency_slots_with_lease(
                    [name], 1, "concurrency", SLOT_LEASE_S
                )
                return UUID(response.json()["lease_id"])
            except PrefectHTTPStatusError as exc:
                if exc.response.status_code != LOCKED:
                    raise
                wait = float(exc.response.headers.get("Retry-After", RETRY_MIN_S))
                await asyncio.sleep(max(wait, RETRY_MIN_S))

    async def _renew(self, lease: UUID) -> None:
        while True:
            await asyncio.sleep(SLOT_LEASE_S / 2)
            with suppress(Exception):  # a missed renewal: the next one, or the lease ends
                await self._client.renew_concurrency_lease(lease, SLOT_LEASE_S)

    async def _read_existing(self) -> None:
        offset = 0
        while True:
            page = await self._client.read_global_concurrency_limits(LIMITS_PAGE, offset)
            self._ready.update(lim.name for lim in page if lim.name.startswith(LIMIT_PREFIX))
            if len(page) < LIMITS_PAGE:
                return
            offset += LIMITS_PAGE

    async def _refresh(self) -> None:
        while True:
            await asyncio.sleep(LIMITS_REFRESH_S)
            with suppress(Exception):  # the API unreachable for a moment: the next refresh
                await self._read_existing()

    async def _ensure(self, name: str) -> None:
        if name in self._ready:
            return
        async with self._creating:
            if name not in self._ready:
                await _create_if_missing(self._client, name, self.per_host)
                self._ready.add(name)


async def _create_if_missing(client: PrefectClient, name: str, limit: int) -> None:
    """Create the limit unless it exists: an operator's change to an existing one is kept."""
    try:
        await client.read_global_concurrency_limit_by_name(name)
        return
    except ObjectNotFound:
        pass
    with suppress(ObjectAlreadyExists):  # another worker created it meanwhile
        await client.create_global_concurrency_limit(
            GlobalConcurrencyLimitCreate(name=name, limit=limit)
        )
