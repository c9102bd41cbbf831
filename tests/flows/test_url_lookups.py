"""Feeds finishing together share one read of which links are stored: answers stay per feed."""

from __future__ import annotations

import asyncio

import pytest

from extractors.errors import StoreError
from extractors.models import Skip, SkipReason
from flows.url_lookups import UrlLookups
from storage import documents
from storage.store import Store
from tests.storage.test_documents import make_doc


@pytest.fixture
def store(tmp_path) -> Store:
    store = Store(tmp_path / "store.duckdb")
    store.migrate()
    with store.write() as con:
        docs = [make_doc(f"http://a.example/{n}", f"Texte {n}.") for n in range(3)]
        failed = Skip("http://b.example/9", "http://b.example/9", None, None,
                      SkipReason.FETCH_FAILED, "timeout")  # fmt: skip
        documents.append(con, docs, [failed], run_id="earlier")
    return store


def test_feeds_asking_at_once_each_get_only_their_own_links(store):
    asked = {
        "first": ["http://a.example/0", "http://b.example/1"],
        "second": ["http://a.example/1", "http://a.example/2", "http://b.example/9"],
        "third": ["http://c.example/5"],
    }

    async def ask_all():
        lookups = UrlLookups(store, asyncio.Lock())
        answers = await asyncio.gather(*(lookups.lookup(urls) for urls in asked.values()))
        return dict(zip(asked, answers, strict=True))

    answers = asyncio.run(ask_all())
    assert answers["first"][0] == {"http://a.example/0"}
    assert answers["second"][0] == {"http://a.example/1", "http://a.example/2"}
    assert set(answers["second"][1]) == {"http://b.example/9"}  # failed once, by run "earlier"
    assert answers["second"][1]["http://b.example/9"][0] == 1
    assert answers["third"] == (set(), {})
    assert answers["first"][1] == {}


def test_a_failed_read_fails_every_feed_that_asked_and_the_next_read_answers(tmp_path):
    missing = Store(tmp_path / "missing.duckdb")  # reading a store that is not there fails

    async def ask():
        lookups = UrlLookups(missing, asyncio.Lock())
        results = await asyncio.gather(
            lookups.lookup(["http://a.example/0"]),
            lookups.lookup(["http://a.example/1"]),
            return_exceptions=True,
        )
        missing.migrate()
        return results, await lookups.lookup(["http://a.example/0"])

    results, after = asyncio.run(ask())
    assert [type(r) for r in results] == [StoreError, StoreError]
    assert after == (set(), {})
