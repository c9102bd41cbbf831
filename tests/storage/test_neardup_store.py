"""The near-duplicate index in a real store: archive look-ups, idempotence, rebuild, the views."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path

import numpy as np
import pytest
import yaml

from extractors import neardup
from extractors.errors import StoreError
from extractors.text import content_hash, document_id
from flows import dedup
from storage import neardup as index

# Each behaviour holds on a DuckDB file and on a DuckLake alike (tests/storage/conftest.py).
STORE_BACKENDS = ("duckdb", "ducklake")

STORIES = Path(__file__).resolve().parents[1] / "fixtures" / "neardup" / "stories"
T0 = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)


@cache
def _story(name: str) -> list[dict]:
    """The copies of one labelled story, first-seen first."""
    return yaml.safe_load((STORIES / name).read_text("utf-8"))["copies"]


ANSONGO = _story("01_mali-ansongo-attaque-poste.yaml")
KENIEBA = _story("12_mali-kenieba-eboulement-mine.yaml")


def _chain() -> tuple[str, str, str]:
    """Three overlapping slices of French prose: B copies A, C copies B, C is not a copy of A."""
    words = " ".join(c["text"] for c in ANSONGO[:1] + KENIEBA[:1]).split()
    return " ".join(words[0:200]), " ".join(words[60:260]), " ".join(words[120:320])


def _add(store, key: str, text: str, minutes: int, **columns) -> str:
    """Store one document seen `minutes` after T0; returns its id."""
    url = f"https://presse.example/{key}"
    doc_id = document_id(url)
    row = {
        "id": doc_id,
        "url": url,
        "canonical_url": url,
        "language": "fr",
        "text": text,
        "text_source": "page",
        "content_hash": content_hash(text),
        "origin": "feed",
        "stored_at": T0 + timedelta(minutes=minutes),
        **columns,
    }
    with store.write() as con:
        con.execute(
            f"INSERT INTO documents ({', '.join(row)}) VALUES ({', '.join('?' for _ in row)})",
            list(row.values()),
        )
    return doc_id


def _add_copy(store, copy: dict, minutes: int) -> str:
    published = datetime.fromisoformat(copy["published_at"])
    return _add(
        store, copy["key"], copy["text"], minutes,
        source=copy["source"], title=copy["title"], published_at=published,
    )  # fmt: skip


def _links(store) -> dict[str, tuple[str | None, float | None]]:
    with store.read() as con:
        rows = con.execute("SELECT id, duplicate_of, duplicate_similarity FROM documents")
        return {doc_id: (dup, sim) for doc_id, dup, sim in rows.fetchall()}


def _count(store, table: str) -> int:
    with store.read() as con:
        return con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


def test_copies_arriving_in_later_runs_are_found_in_the_archive(store):
    root = _add_copy(store, ANSONGO[0], 0)
    assert dedup.index_new_documents(store) == {"indexed": 1, "grouped": 0, "stories": 0}
    copy = _add_copy(store, ANSONGO[2], 60)
    other = _add_copy(store, KENIEBA[0], 61)

    assert dedup.index_new_documents(store) == {"indexed": 2, "grouped": 1, "stories": 1}

    links = _links(store)
    assert links[root] == (None, None)
    assert links[copy][0] == root and links[copy][1] >= neardup.SIMILARITY_THRESHOLD
    assert links[other] == (None, None)


def test_a_copy_of_a_copy_points_to_the_root_across_runs(store):
    a, b, c = _chain()
    ids = []
    for minutes, text in enumerate((a, b, c)):
        ids.append(_add(store, f"chain-{minutes}", text, minutes))
        dedup.index_new_documents(store)
    links = _links(store)
    assert [links[i][0] for i in ids] == [None, ids[0], ids[0]]
    # The similarity recorded is with the root, which C resembles only through B.
    assert links[ids[2]][1] == neardup.similarity(neardup.signature(c), neardup.signature(a))
    assert links[ids[2]][1] < neardup.SIMILARITY_THRESHOLD


def test_a_second_run_changes_nothing(store):
    for minutes, copy in enumerate(ANSONGO + KENIEBA):
        _add_copy(store, copy, minutes)
    dedup.index_new_documents(store)
    before = (_links(store), _count(store, "document_signatures"), _count(store, "lsh_bands"))

    assert dedup.index_new_documents(store) == {"indexed": 0, "grouped": 0, "stories": 0}
    assert (_links(store), _count(store, "document_signatures"), _count(store, "lsh_bands")) == (
        before
    )


def test_signatures_taken_before_give_the_groups_of_signing_at_the_end(store):
    """A run signs its documents as it stores them and hands the signatures to its end."""
    copies = ANSONGO + KENIEBA
    ids = [_add_copy(store, copy, minutes) for minutes, copy in enumerate(copies)]
    signed = {i: neardup.signature(c["text"]) for i, c in list(zip(ids, copies, strict=True))[::2]}

    dedup.index_new_documents(store, signed_before=signed)  # some signed before, some not
    with_signatures = _links(store)
    dedup.rebuild(store)  # every one signed from the stored text

    assert with_signatures == _links(store)
    stories = 2  # the two labelled stories: every copy but their first joins one
    assert sum(dup is not None for dup, _ in with_signatures.values()) == len(copies) - stories


def test_the_signatures_handed_over_are_the_ones_used(store):
    """The end does not sign again what it is given: a given signature decides the grouping."""
    one = _add_copy(store, ANSONGO[0], 0)
    other = _add_copy(store, KENIEBA[0], 1)  # not a copy, by its own text
    as_if_a_copy = {other: neardup.signature(ANSONGO[0]["text"])}

    assert dedup.index_new_documents(store, signed_before=as_if_a_copy)["grouped"] == 1
    links = _links(store)
    assert (links[one][0], links[other][0]) in {(None, one), (other, None)}  # one story


def test_recording_an_indexed_document_again_adds_nothing(store):
    doc = _add_copy(store, ANSONGO[0], 0)
    sig = neardup.signature(ANSONGO[0]["text"])
    row = [(doc, sig, neardup.band_keys(sig))]
    assignment = [neardup.Assignment(doc, None, None)]
    with store.write() as con:
        assert index.record(con, row, assignment, neardup.SCHEME) == 1
        assert index.record(con, row, assignment, neardup.SCHEME) == 0
    assert _count(store, "document_signatures") == 1
    assert _count(store, "lsh_bands") == neardup.BANDS


def test_rebuild_gives_the_incremental_result_and_is_idempotent(store):
    copies = ANSONGO + KENIEBA
    for run in range(0, len(copies), 3):
        for minutes, copy in list(enumerate(copies))[run : run + 3]:
            _add_copy(store, copy, minutes)
        dedup.index_new_documents(store)
    incremental = _links(store)
    bands = _count(store, "lsh_bands")

    first = dedup.rebuild(store)
    assert _links(store) == incremental and _count(store, "lsh_bands") == bands
    assert first == {"indexed": len(copies), "grouped": len(copies) - 2, "stories": 2}
    assert dedup.rebuild(store) == first
    assert _links(store) == incremental


def test_rebuild_forgets_stale_groupings(store):
    root = _add_copy(store, ANSONGO[0], 0)
    other = _add_copy(store, KENIEBA[0], 1)
    dedup.index_new_documents(store)
    with store.write() as con:
        con.execute("UPDATE documents SET duplicate_of = ?, duplicate_similarity = 0.9"
                    " WHERE id = ?", [root, other])  # fmt: skip
    dedup.rebuild(store)
    assert _links(store)[other] == (None, None)


def test_documents_are_indexed_in_first_seen_order(store):
    late = _add(store, "b", "Deuxième texte.", 5)
    early = _add(store, "a", "Premier texte.", 1)
    tie_first, tie_second = sorted([_add(store, "x", "Texte x.", 9), _add(store, "y", "Y.", 9)])
    with store.read() as con:
        pending = index.documents_to_index(con, 10)
        assert [doc_id for doc_id, _ in pending] == [early, late, tie_first, tie_second]
        assert index.documents_to_index(con, 1) == [(early, "Premier texte.")]


def test_candidates_come_with_the_root_of_the_copy_they_match(store):
    a, b, c = _chain()
    ids = [_add(store, f"chain-{i}", text, i) for i, text in enumerate((a, b))]
    dedup.index_new_documents(store)
    keys = {"new": neardup.band_keys(neardup.signature(c))}
    with store.read() as con:
        found = index.candidates_for(con, keys)["new"]
    assert [(cand_id, dup) for cand_id, dup, _ in found] == [(ids[0], None), (ids[1], ids[0])]
    assert np.array_equal(found[0][2], neardup.signature(a))


def test_seed_documents_take_part_like_any_other(store):
    seed_text = ANSONGO[0]["text"]
    seed = _add(store, "seed-1", seed_text, 0, origin="seed", text_source="seed", source="seed")
    copy = _add_copy(store, ANSONGO[1], 30)
    dedup.index_new_documents(store)
    assert _links(store)[copy][0] == seed
    with store.read() as con:
        story = con.execute(
            "SELECT first_source, first_seen, copies FROM stories WHERE story_id = ?", [seed]
        ).fetchone()
    # A seed has no publication or fetch date: its story starts when the store saw it.
    assert story == ("seed", T0, 2)


def test_the_views_list_stories_and_their_copies(store):
    ids = [_add_copy(store, copy, minutes) for minutes, copy in enumerate(ANSONGO)]
    lonely = _add_copy(store, KENIEBA[0], 99)
    dedup.index_new_documents(store)
    first = datetime.fromisoformat(ANSONGO[0]["published_at"])

    with store.read() as con:
        stories = con.execute(
            "SELECT story_id, title, first_source, first_seen, copies, sources FROM stories"
            " ORDER BY copies DESC"
        ).fetchall()
        copies = con.execute(
            "SELECT story_id, document_id, is_root, source, title, seen_at, lag, similarity"
            " FROM story_copies WHERE story_id = ? ORDER BY seen_at",
            [ids[0]],
        ).fetchall()

    assert stories == [
        (ids[0], ANSONGO[0]["title"], ANSONGO[0]["source"], first, 4,
         [c["source"] for c in ANSONGO]),
        (lonely, KENIEBA[0]["title"], KENIEBA[0]["source"],
         datetime.fromisoformat(KENIEBA[0]["published_at"]), 1, [KENIEBA[0]["source"]]),
    ]  # fmt: skip
    links = _links(store)
    assert copies == [
        (
            ids[0],
            doc_id,
            doc_id == ids[0],
            copy["source"],
            copy["title"],
            datetime.fromisoformat(copy["published_at"]),
            datetime.fromisoformat(copy["published_at"]) - first,
            links[doc_id][1],
        )
        for doc_id, copy in zip(ids, ANSONGO, strict=True)
    ]


def test_a_store_indexed_with_other_parameters_asks_for_a_rebuild(store):
    doc = _add_copy(store, ANSONGO[0], 0)
    with store.write() as con:
        con.execute(
            "INSERT INTO document_signatures (document_id, signature, scheme)"
            " VALUES (?, ''::BLOB, 'minhash-v0 words=3')",
            [doc],
        )
    _add_copy(store, ANSONGO[1], 1)
    with pytest.raises(StoreError, match="dedup --rebuild"):
        dedup.index_new_documents(store)
    assert dedup.rebuild(store)["grouped"] == 1


def _every_labelled_copy() -> list[dict]:
    return [copy for path in sorted(STORIES.glob("*.yaml")) for copy in _story(path.name)]


@pytest.mark.parametrize(
    ("batch_size", "max_pairs"),
    [(3, 10**9), (10_000, 1), (4, 100)],
    ids=["3-documents-per-read", "one-document-per-pass", "both-cut"],
)
def test_indexing_in_passes_gives_the_groups_of_one_pass(store, batch_size, max_pairs):
    # Stored out of first-seen order, so that passes are cut in the middle of stories.
    copies = _every_labelled_copy()
    for minutes, copy in enumerate(reversed(copies)):
        _add_copy(store, copy, minutes)
    one_pass = dedup.index_new_documents(store, batch_size=10_000, max_pairs=10**9)
    grouped = _links(store)
    with store.write() as con:
        index.clear(con)

    assert dedup.index_new_documents(store, batch_size=batch_size, max_pairs=max_pairs) == one_pass
    assert _links(store) == grouped
    assert one_pass["stories"] == len(list(STORIES.glob("*.yaml")))
