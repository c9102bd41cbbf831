"""How fetched pages reach the extraction pool (flows/extraction_queue.py): each page on its own,
as soon as it is fetched, its result back to it, in hand-offs shared between the free slots.
Real worker processes; the pool is only wrapped to record what it is handed."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import pytest

from extractors.article import FetchedItem
from extractors.feed_entries import FeedEntry
from extractors.models import Document, Origin, Skip
from flows.extraction_pool import ExtractionPool
from flows.extraction_queue import ExtractionQueue

ARTICLE = (
    Path(__file__).resolve().parents[1] / "fixtures" / "pages" / "article_full.html"
).read_bytes()
NOT_HTML = b"%PDF-1.4 not a page"
BROKEN_URL = "https://example.test/broken"
SIGNALLED_URL = "https://example.test/signalled"


class Signalled(BaseException):
    """What a signal handler raises in the middle of a hand-off (Prefect's TerminationSignal)."""


def item(n: int, body: bytes = ARTICLE, url: str | None = None) -> FetchedItem:
    url = url or (f"https://example.test/{n}" if n >= 0 else BROKEN_URL)
    entry = FeedEntry(url, None, None, None, "", "", None)
    now = datetime.now(UTC)
    return FetchedItem(url, url, url, body, "text/html", now, entry, "S", "", Origin.FEED, "r")


class RecordingPool(ExtractionPool):
    """The real pool, recording the size of each hand-off and the most in flight at once; a
    hand-off holding BROKEN_URL raises, as a bug beside the pages would."""

    def __init__(self) -> None:
        super().__init__(workers=1)
        self.handoffs: list[int] = []
        self.in_flight = self.most_in_flight = 0

    async def extract(self, items, now):
        self.handoffs.append(len(items))
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            if any(i.url == BROKEN_URL for i in items):
                raise RuntimeError("a bug beside the pages")
            if any(i.url == SIGNALLED_URL for i in items):
                raise Signalled()
            return await super().extract(items, now)
        finally:
            self.in_flight -= 1


@pytest.fixture(scope="module")
def pool():
    with RecordingPool() as pool:
        yield pool


@pytest.fixture(autouse=True)
def fresh_records(pool):
    pool.handoffs.clear()
    pool.most_in_flight = 0


def test_each_page_gets_its_own_result_whatever_hand_off_carried_it(pool):
    async def submit_all() -> list[Document | Skip]:
        queue = ExtractionQueue(pool, slots=2, max_pages=4)
        pages = [item(n, ARTICLE if n % 3 else NOT_HTML) for n in range(11)]
        return await asyncio.gather(*(queue.submit(page) for page in pages))

    results = asyncio.run(submit_all())

    assert [r.url for r in results] == [f"https://example.test/{n}" for n in range(11)]
    assert [isinstance(r, Skip) for r in results] == [n % 3 == 0 for n in range(11)]
    assert sum(pool.handoffs) == 11


def test_hand_offs_stay_within_the_slots_and_the_largest_size(pool):
    async def submit_all() -> None:
        queue = ExtractionQueue(pool, slots=2, max_pages=3)
        await asyncio.gather(*(queue.submit(item(n)) for n in range(20)))

    asyncio.run(submit_all())

    assert pool.most_in_flight == 2
    assert max(pool.handoffs) == 3
    assert sum(pool.handoffs) == 20


def test_few_pages_are_shared_between_the_free_slots_not_handed_off_together(pool):
    """Two pages and two free slots: two hand-offs of one, so two workers can take them."""

    async def submit_two() -> None:
        queue = ExtractionQueue(pool, slots=2, max_pages=4)
        await asyncio.gather(queue.submit(item(0)), queue.submit(item(1)))

    asyncio.run(submit_two())

    assert pool.handoffs == [1, 1]


def test_pages_whose_batch_was_cancelled_are_not_extracted(pool):
    async def cancel_some() -> list[Document | Skip]:
        queue = ExtractionQueue(pool, slots=1, max_pages=4)
        first = queue.submit(item(0))  # handed off at once: the one slot is taken
        cancelled = [queue.submit(item(n)) for n in range(1, 4)]
        kept = queue.submit(item(4))
        for result in cancelled:
            result.cancel()
        return await asyncio.gather(first, kept)

    results = asyncio.run(cancel_some())

    assert [r.url for r in results] == ["https://example.test/0", "https://example.test/4"]
    assert pool.handoffs == [1, 1]


def test_a_failing_hand_off_fails_its_own_pages_and_the_queue_goes_on(pool):
    async def with_a_bug() -> list[object]:
        queue = ExtractionQueue(pool, slots=1, max_pages=2)
        first = queue.submit(item(0))  # alone in the first hand-off
        rest = [queue.submit(page) for page in (item(-1), item(1), item(2), item(3))]
        return await asyncio.gather(first, *rest, return_exceptions=True)

    results = asyncio.run(with_a_bug())

    assert isinstance(results[0], Document)
    assert [type(r) for r in results[1:3]] == [RuntimeError, RuntimeError]  # one hand-off
    assert all(isinstance(r, Document) for r in results[3:])
    assert pool.handoffs == [1, 2, 2]


def test_a_signal_raised_during_a_hand_off_reaches_the_batches_awaiting_its_pages(pool):
    """Nobody awaits a hand-off: a signal's exception raised there must still stop the run."""

    async def signalled() -> None:
        queue = ExtractionQueue(pool, slots=1, max_pages=4)
        await asyncio.wait_for(queue.submit(item(0, url=SIGNALLED_URL)), timeout=60)

    with pytest.raises(Signalled):
        asyncio.run(signalled())


def test_a_queue_needs_a_slot_and_room_for_a_page(pool):
    with pytest.raises(ValueError, match="1 or more"):
        ExtractionQueue(pool, slots=0, max_pages=4)
