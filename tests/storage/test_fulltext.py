"""French full-text search: inflections and accents, title above passing mention, filters."""

from __future__ import annotations

from datetime import date

import pytest

from extractors.errors import UsageError
from storage import fulltext
from tests.support.analyst_store import id_of, load_manifest

# Each behaviour holds on a DuckDB file and on a DuckLake alike (tests/storage/conftest.py).
STORE_BACKENDS = ("duckdb", "ducklake")

MANIFEST = load_manifest()
BY_KEY = {a["key"]: a for a in MANIFEST["articles"]}


def search(store, query: str, **filters) -> list[str]:
    """The stories found, best first, each named by its first copy's key."""
    keys = {id_of(a): a["key"] for a in MANIFEST["articles"]}
    with store.read() as con:
        return [keys[hit.story_id] for hit in fulltext.search(con, query, **filters)]


def test_a_title_match_ranks_above_a_passing_mention(analyst_store):
    # a1 has "attaques" and "drones" in its title; a3 says "une attaque de drone" once.
    assert search(analyst_store, "attaque drone") == MANIFEST["expected"]["search_attaque_drone"]


def test_inflected_and_unaccented_forms_are_found(analyst_store):
    # "securite frontieres": a5 writes "la sécurité des frontières".
    assert search(analyst_store, "securite frontiere") == ["a5"]
    # "tues" finds "tués" (a4), "convois" finds "convoi"/"convois" (a4, a10)
    assert search(analyst_store, "tues") == ["a4"]
    assert sorted(search(analyst_store, "convois")) == ["a10", "a4"]


def test_copies_of_a_story_come_back_as_one_result(analyst_store):
    with analyst_store.read() as con:
        hits = fulltext.search(con, "délégation russe")
    assert [h.story_id for h in hits] == [id_of(BY_KEY["a5"])]
    assert hits[0].copies_matched == 2


def test_filters_by_entity_source_and_dates(analyst_store):
    assert search(analyst_store, "drones", entities=("NER",)) == ["a3"]
    both = search(analyst_store, "drones", entities=("Burkina Faso", "jnim"))
    assert sorted(both) == ["a1", "a6"]
    assert sorted(search(analyst_store, "convois", sources=("Burkina 24",))) == ["a10", "a4"]
    assert search(analyst_store, "convoi", sources=("Le Sahélien",)) == []
    one_day = {"since": date(2025, 3, 20), "until": date(2025, 3, 20)}
    assert search(analyst_store, "jnim", **one_day) == ["a10"]


def test_a_query_of_common_words_only_is_refused(analyst_store):
    with analyst_store.read() as con, pytest.raises(UsageError):
        fulltext.search(con, "le la des")


def test_the_index_is_rebuilt_only_when_documents_changed(analyst_store):
    assert fulltext.refresh(analyst_store).rebuilt is False
    assert fulltext.refresh(analyst_store, force=True).rebuilt is True
    with analyst_store.read() as con:
        assert fulltext.is_current(con)


def _postings_out_of_order(store) -> int:
    """Postings stored after a posting with a greater stem (0: sorted by stem on disk)."""
    with store.read() as con:
        (n,) = con.execute(
            """SELECT count(*) FROM (
                   SELECT stem, lag(stem) OVER (ORDER BY rowid) AS before FROM search_postings)
               WHERE stem < before"""
        ).fetchone()
    return n


def _forget_one_story(store) -> None:
    """Test-only SQL: the index forgets a document, as if it had just been stored."""
    with store.write() as con:
        for table in ("search_postings", "search_fields"):
            con.execute(f"DELETE FROM {table} WHERE document_id = ?", [id_of(BY_KEY["a1"])])
        con.execute(
            "UPDATE search_index_state SET documents = documents - 1, sorted_postings = "
            "least(sorted_postings, (SELECT count(*) FROM search_postings))"
        )


def test_a_refresh_sorts_the_postings_again_once_the_unsorted_tail_is_long(
    analyst_store, monkeypatch
):
    assert fulltext.refresh(analyst_store, force=True).rebuilt
    assert _postings_out_of_order(analyst_store) == 0
    _forget_one_story(analyst_store)
    assert fulltext.refresh(analyst_store).rebuilt
    assert _postings_out_of_order(analyst_store) > 0  # a short tail is left unsorted
    _forget_one_story(analyst_store)
    monkeypatch.setattr(fulltext, "RESORT_MIN_ROWS", 0)
    monkeypatch.setattr(fulltext, "RESORT_SHARE", 0.0)
    assert fulltext.refresh(analyst_store).rebuilt
    assert _postings_out_of_order(analyst_store) == 0
    with analyst_store.read() as con:
        (sorted_rows, total) = con.execute(
            "SELECT sorted_postings, (SELECT count(*) FROM search_postings) FROM search_index_state"
        ).fetchone()
    assert sorted_rows == total
    assert search(analyst_store, "attaque drone") == MANIFEST["expected"]["search_attaque_drone"]


def _index_rows(store) -> dict[str, list[tuple]]:
    with store.read() as con:
        return {
            table: sorted(con.execute(f"FROM {table}").fetchall())
            for table in ("search_words", "search_postings", "search_fields")
        }


def test_a_refresh_in_slices_indexes_what_one_slice_does(analyst_store, monkeypatch):
    assert fulltext.refresh(analyst_store, force=True).rebuilt
    whole = _index_rows(analyst_store)
    monkeypatch.setattr(fulltext, "REFRESH_SLICE_DOCUMENTS", 3)
    assert fulltext.refresh(analyst_store, force=True).rebuilt
    assert _index_rows(analyst_store) == whole
    with analyst_store.read() as con:
        assert fulltext.is_current(con)
    assert search(analyst_store, "attaque drone") == MANIFEST["expected"]["search_attaque_drone"]
