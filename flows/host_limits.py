"""Per-host politeness across workers: one Prefect global concurrency limit per host.

Within one process, fetching/hosts.py spaces the requests to a host. Partitioned runs on several
workers may still meet on one host (a feed linking to another outlet's pages), so a batch of a
host's pages is fetched only while holding a slot of the host's global concurrency limit,
`sahelwatch-host-<host>`, whose size is the feed config's `per_host_concurrency`. The limits are
created on first use; an operator may lower one in Prefect's UI or with
`prefect gcl update sahelwatch-host-<host> --limit 1`.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress

from prefect.client.orchestration import get_client
from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate
from prefect.concurrency.asyncio import concurrency
from prefect.exceptions import ObjectAlreadyExists, ObjectNotFound

from extractors.partitions import host_of

LIMIT_PREFIX = "sahelwatch-host-"
# A slot is held for one batch's fetch; a worker killed while holding it frees it after this
# many seconds (Prefect's lease on the slot), long enough for a batch of slow pages.
SLOT_LEASE_S = 300.0


def limit_name(host: str) -> str:
    return f"{LIMIT_PREFIX}{host}"


class HostLimits:
    """Acquire a host's slot around a fetch; creates each host's limit once per process."""

    def __init__(self, per_host_concurrency: int) -> None:
        self.per_host = per_host_concurrency
        self._ready: set[str] = set()
        self._creating = asyncio.Lock()

    @asynccontextmanager
    async def slot(self, url: str) -> AsyncIterator[None]:
        name = limit_name(host_of(url))
        await self._ensure(name)
        async with concurrency(name, occupy=1, strict=True, lease_duration=SLOT_LEASE_S):
            yield

    async def _ensure(self, name: str) -> None:
        if name in self._ready:
            return
        async with self._creating:
            if name not in self._ready:
                await _create_if_missing(name, self.per_host)
                self._ready.add(name)


async def _create_if_missing(name: str, limit: int) -> None:
    """Create the limit unless it exists: an operator's change to an existing one is kept."""
    async with get_client() as client:
        try:
            await client.read_global_concurrency_limit_by_name(name)
            return
        except ObjectNotFound:
            pass
        with suppress(ObjectAlreadyExists):  # another worker created it meanwhile
            await client.create_global_concurrency_limit(
                GlobalConcurrencyLimitCreate(name=name, limit=limit)
            )
