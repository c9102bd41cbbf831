"""Appending documents: new ones are stored once, other copies are kept as URLs, nothing lost."""

from __future__ import annotations

from dataclasses import replace

from extractors.models import Document, Origin, Skip, SkipReason, TextSource
from extractors.text import content_hash, document_id
from storage import documents


def make_doc(url: str, text: str = "Un texte sur le Mali.", **changes) -> Document:
    doc = Document(
        id=document_id(url),
        url=url,
        canonical_url=url,
        source="Le Sahélien",
        feed_url="http://example.org/rss",
        title="Titre",
        author=None,
        published_at=None,
        published_source=None,
        fetched_at=None,
        language="fr",
        language_score=0.99,
        text=text,
        text_source=TextSource.PAGE,
        content_hash=content_hash(text),
        origin=Origin.FEED,
        run_id="run-1",
    )
    return replace(doc, **changes)


def _count(store, sql: str) -> int:
    with store.read() as con:
        return con.execute(sql).fetchone()[0]


def test_new_documents_are_stored(store):
    with store.write() as con:
        result = documents.append(
            con,
            [make_doc("http://a.org/1"), make_doc("http://a.org/2", "Autre texte.")],
            [],
            "run-1",
        )
    assert len(result.stored_ids) == 2
    assert _count(store, "SELECT count(*) FROM documents") == 2


def test_rerun_adds_no_rows(store):
    batch = [make_doc("http://a.org/1"), make_doc("http://a.org/2", "Autre texte.")]
    skips = [Skip("http://a.org/en", "http://a.org/en", None, None, SkipReason.NOT_FRENCH, "en")]
    for _ in range(2):
        with store.write() as con:
            documents.append(con, batch, skips, "run-1")
    assert _count(store, "SELECT count(*) FROM documents") == 2
    assert _count(store, "SELECT count(*) FROM document_urls") == 0
    assert _count(store, "SELECT count(*) FROM skipped") == 1


def test_same_text_at_another_url_is_kept_as_a_url_not_a_document(store):
    with store.write() as con:
        documents.append(con, [make_doc("http://a.org/1")], [], "run-1")
    with store.write() as con:
        result = documents.append(con, [make_doc("http://b.org/copie")], [], "run-2")
    assert result.stored_ids == () and result.same_text == 1
    with store.read() as con:
        rows = con.execute("SELECT document_id, url, relation FROM document_urls").fetchall()
    assert rows == [(document_id("http://a.org/1"), "http://b.org/copie", "same_text")]


def test_text_hash_ignores_case_quotes_and_spacing(store):
    first = make_doc("http://a.org/1", "L’armée malienne  a annoncé.")
    second = make_doc("http://b.org/2", "l'armée malienne a annoncé.\n")
    with store.write() as con:
        result = documents.append(con, [first, second], [], "run-1")
    assert len(result.stored_ids) == 1 and result.same_text == 1


def test_known_urls_include_documents_copies_and_final_skips_but_not_retryable_ones(store):
    skips = [
        Skip("http://a.org/en", "http://a.org/en", None, None, SkipReason.NOT_FRENCH, "en"),
        Skip("http://a.org/down", "http://a.org/down", None, None, SkipReason.FETCH_FAILED, "503"),
    ]
    with store.write() as con:
        documents.append(con, [make_doc("http://a.org/1"), make_doc("http://b.org/c")], skips, "r")
        known = documents.known_urls(
            con,
            [
                "http://a.org/1",
                "http://b.org/c",
                "http://a.org/en",
                "http://a.org/down",
                "http://a.org/new",
            ],
        )
    assert known == {"http://a.org/1", "http://b.org/c", "http://a.org/en"}


def test_another_raw_url_of_a_stored_document_is_recorded_once(store):
    with store.write() as con:
        documents.append(con, [make_doc("http://a.org/1")], [], "r")
        aliases = [("http://a.org/1?utm_source=rss", "http://a.org/1", "S", None)] * 2
        added = documents.record_url_aliases(con, aliases, "r")
    assert added == 1
    assert _count(store, "SELECT count(*) FROM document_urls WHERE relation = 'same_url'") == 1
