"""Fetched pages to the extraction pool as each arrives, from whichever batch it belongs to.

A batch of one host's pages is fetched one request a second (politeness), so its last page
comes seconds after its first. Handed to the pool whole, a batch's first pages waited for its
last while the pool sat idle: every host's batches start together at a run's start, so they also
ended together, and the 2,000-page benchmark's pool was idle in waves over its first 10 s (all
128 fetch slots held by batches half fetched, none ready), about 4 of its 8 idle core-seconds.

Here each page joins one queue as soon as it is fetched, and the pool takes pages from it in
hand-offs of up to `max_pages`, whatever their batch: pages reach a free worker at once when
few wait, and in full hand-offs when many do. The batch stays the unit of fetching and writing.
"""

from __future__ import annotations

import asyncio
import math
from collections import deque
from datetime import UTC, datetime

from extractors.article import FetchedItem
from extractors.models import Document, Skip
from flows.extraction_pool import ExtractionPool


class ExtractionQueue:
    """Pages waiting for the pool, and `slots` hand-offs to it in flight at most."""

    def __init__(self, pool: ExtractionPool, slots: int, max_pages: int) -> None:
        if slots < 1 or max_pages < 1:
            raise ValueError(f"slots and max_pages must be 1 or more, not {slots}, {max_pages}")
        self.pool = pool
        self.max_pages = max_pages
        self._free = slots
        self._waiting: deque[tuple[FetchedItem, asyncio.Future]] = deque()
        self._handoffs: set[asyncio.Task] = set()  # held, so that none is collected mid-flight

    def submit(self, item: FetchedItem) -> asyncio.Future[Document | Skip]:
        """The page's document or skip, once a worker has extracted it."""
        result: asyncio.Future[Document | Skip] = asyncio.get_running_loop().create_future()
        self._waiting.append((item, result))
        self._hand_off()
        return result

    def _hand_off(self) -> None:
        """Share the waiting pages between the free slots, `max_pages` a hand-off at most: two
        pages and two idle workers make two hand-offs of one, not one of two."""
        while self._free and self._waiting:
            size = min(self.max_pages, math.ceil(len(self._waiting) / self._free))
            taken = [self._waiting.popleft() for _ in range(size)]
            taken = [(item, result) for item, result in taken if not result.cancelled()]
            if not taken:  # their batches were cancelled: nothing to extract
                continue
            self._free -= 1
            handoff = asyncio.get_running_loop().create_task(self._extract(taken))
            self._handoffs.add(handoff)
            handoff.add_done_callback(self._handoffs.discard)

    async def _extract(self, taken: list[tuple[FetchedItem, asyncio.Future]]) -> None:
        try:
            outcomes = await self.pool.extract([item for item, _ in taken], datetime.now(UTC))
        except asyncio.CancelledError:  # the run is stopping: no new hand-off
            for _, result in taken:
                result.cancel()
            raise
        except BaseException as exc:
            # Each page's batch fails, as it did when it awaited the pool itself. That includes a
            # signal's exception raised while this hand-off ran (Prefect's TerminationSignal on
            # SIGTERM): nobody awaits this task, so kept here it would be lost and the run would
            # go on, its batches waiting for pages that never come.
            for _, result in taken:
                if not result.done():
                    result.set_exception(exc)
            if not isinstance(exc, Exception):
                return  # the batches carry it to the flow; no new hand-off
        else:
            for (_, result), outcome in zip(taken, outcomes, strict=True):
                if not result.done():
                    result.set_result(outcome)
        self._free += 1
        self._hand_off()
