"""The DuckLake store: several processes write at once and every key stays single.

The other storage tests run each behaviour on a DuckDB file and on a lake (STORE_BACKENDS); these
are what only a lake has: concurrent writer processes, a PostgreSQL catalog, its locator.
"""

from __future__ import annotations

import multiprocessing
import os
import time

import pytest

from extractors import neardup
from extractors.errors import StoreError, UsageError
from extractors.models import Skip, SkipReason
from flows import dedup
from storage import documents
from storage.lake import LakeStore, parse_locator
from storage.stores import store_at
from tests.storage.test_documents import make_doc
from tests.storage.test_neardup_store import ANSONGO as STORY

WRITERS = 4
ROUNDS = 12
# Each writer appends, in its own order, every one of these pages: the same canonical URLs, and
# the same texts under other URLs, as partitions racing over shared wire copies would.
PAGES = 24
TEXTS = 8


def _pages_in_order(writer: int) -> list:
    docs = [
        make_doc(f"http://site{n % 3}.example/{n}", f"Texte numéro {n % TEXTS} sur le Niger.")
        for n in range(PAGES)
    ]
    return docs[writer::2] + docs[(writer + 1) % 2 :: 2][::-1]


def _write_concurrently(locator: str, writer: int, start: float) -> None:
    """One writer process: waits for the common start, then appends in short transactions."""
    store = LakeStore.from_locator(locator)
    time.sleep(max(0.0, start - time.time()))
    docs = _pages_in_order(writer)
    for round_ in range(ROUNDS):
        batch = docs[(round_ * 5) % PAGES :][:5] or docs[:5]
        skip = Skip(f"http://site0.example/en/{round_ % 4}", None, None, None,
                    SkipReason.NOT_FRENCH, "en", "feed:http://site0.example/rss")  # fmt: skip
        with store.write() as con:
            documents.append(con, batch, [skip], run_id="shared-run")
    for doc in docs:  # whatever the rounds missed
        with store.write() as con:
            documents.append(con, [doc], [], run_id="shared-run")
    store.close()


def test_four_processes_appending_the_same_pages_at_once_store_each_once(lake_store):
    context = multiprocessing.get_context("spawn")
    start = time.time() + 3.0  # every process attached and waiting before the first write
    writers = [
        context.Process(target=_write_concurrently, args=(lake_store.locator, n, start))
        for n in range(WRITERS)
    ]
    for process in writers:
        process.start()
    for process in writers:
        process.join(timeout=300)
    assert [p.exitcode for p in writers] == [0] * WRITERS

    with lake_store.read() as con:
        docs = con.execute(
            "SELECT count(*), count(DISTINCT canonical_url), count(DISTINCT content_hash) "
            "FROM documents"
        ).fetchone()
        urls = con.execute(
            "SELECT count(*), count(DISTINCT url) FROM (SELECT url FROM documents "
            "UNION ALL SELECT url FROM document_urls WHERE relation = 'same_text')"
        ).fetchone()
        skips = con.execute("SELECT count(*), count(DISTINCT url) FROM skipped").fetchone()
    assert docs == (TEXTS, TEXTS, TEXTS)  # one document per text, whoever stored it first
    assert urls == (PAGES, PAGES)  # every other URL of a text kept once, none lost
    assert skips == (4, 4)  # one row per (run, source, item, reason)


def _hold_the_write_lock_then_die(locator: str) -> None:
    store = LakeStore.from_locator(locator)
    with store.write():
        os._exit(9)  # killed in the middle of a write transaction


def test_a_writer_killed_mid_transaction_frees_the_lake_and_leaves_nothing(lake_store):
    context = multiprocessing.get_context("spawn")
    dying = context.Process(target=_hold_the_write_lock_then_die, args=(lake_store.locator,))
    dying.start()
    dying.join(timeout=60)
    assert dying.exitcode == 9
    with lake_store.write() as con:  # PostgreSQL ended the dead session and its lock
        documents.append(con, [make_doc("http://a.example/1")], [], run_id="after")
    with lake_store.read() as con:
        assert con.execute("SELECT count(*) FROM documents").fetchone() == (1,)


def test_a_reader_sees_the_last_committed_snapshot_while_a_write_is_open(lake_store):
    with lake_store.write() as con:
        documents.append(con, [make_doc("http://a.example/1")], [], run_id="r1")
    with lake_store.write() as con:
        documents.append(con, [make_doc("http://a.example/2", "Autre.")], [], run_id="r2")
        with store_at(lake_store.locator).read_current() as reader:  # another open, no wait
            assert reader.execute("SELECT count(*) FROM documents").fetchone() == (1,)
    with store_at(lake_store.locator).read_current() as reader:
        assert reader.execute("SELECT count(*) FROM documents").fetchone() == (2,)


def test_users_sql_on_a_lake_reads_the_tables_and_nothing_else(lake_store):
    with lake_store.write() as con:
        documents.append(con, [make_doc("http://a.example/1")], [], run_id="r1")
    with lake_store.read_current(sandboxed=True) as con:
        assert con.execute("SELECT count(*) FROM documents").fetchone() == (1,)
        with pytest.raises(Exception, match="Permission Error"):
            con.execute("SELECT * FROM read_csv('/etc/passwd')")
        with pytest.raises(Exception, match="Cannot change configuration"):
            con.execute("SET enable_external_access = true")


@pytest.mark.parametrize(
    "locator",
    [
        "ducklake:postgres:dbname=sahel host=127.0.0.1",  # no data path
        "ducklake:postgres:?data_path=/tmp/lake",  # no catalog
    ],
)
def test_a_lake_locator_without_its_catalog_or_data_path_is_refused_with_the_form(locator):
    with pytest.raises(UsageError) as refused:
        parse_locator(locator)
    assert "?data_path=" in str(refused.value) and "\n" not in str(refused.value)


def test_an_unreachable_catalog_is_one_line_naming_the_lake(tmp_path, postgres_server):
    locator = (
        f"ducklake:postgres:dbname=nowhere host=127.0.0.1 port={postgres_server.port + 1} "
        f"user=x connect_timeout=2?data_path={tmp_path}/"
    )
    with pytest.raises(StoreError) as refused, store_at(locator).read_current():
        pass
    assert "cannot open the lake" in str(refused.value) and "\n" not in str(refused.value)
    assert not store_at(locator).exists()


def _store_and_group(locator: str, copy: int, start: float) -> None:
    """One worker: stores its copy of the story, then groups, at the same moment as the other."""
    store = LakeStore.from_locator(locator)
    text = STORY[copy]["text"]
    doc = make_doc(f"http://outlet{copy}.example/depeche", text)
    time.sleep(max(0.0, start - time.time()))
    with store.write() as con:
        documents.append(con, [doc], [], run_id=f"worker-{copy}")
    time.sleep(max(0.0, start + 1.0 - time.time()))  # both stored before either groups
    dedup.index_new_documents(store)
    store.close()


@pytest.mark.parametrize("attempt", range(3))
def test_two_workers_grouping_copies_of_one_story_at_once_make_one_root(lake_store, attempt):
    context = multiprocessing.get_context("spawn")
    start = time.time() + 3.0
    workers = [
        context.Process(target=_store_and_group, args=(lake_store.locator, n, start))
        for n in (0, 1)
    ]
    for process in workers:
        process.start()
    for process in workers:
        process.join(timeout=120)
    assert [p.exitcode for p in workers] == [0, 0]
    with lake_store.read() as con:
        rows = con.execute("SELECT id, duplicate_of FROM documents ORDER BY id").fetchall()
        (bands,) = con.execute("SELECT count(*) FROM lsh_bands").fetchone()
        (signatures,) = con.execute("SELECT count(*) FROM document_signatures").fetchone()
    roots = [doc_id for doc_id, parent in rows if parent is None]
    assert len(roots) == 1  # one is the first...
    assert [
        parent for _, parent in rows if parent is not None
    ] == roots  # ...the other points to it
    assert (signatures, bands) == (2, 2 * neardup.BANDS)  # each indexed once, whoever did it
