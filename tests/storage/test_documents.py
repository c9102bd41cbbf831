"""Appending documents: new ones are stored once, other copies are kept as URLs, nothing lost."""

from __future__ import annotations

from dataclasses import astuple, replace
from datetime import UTC, datetime, timedelta, timezone

from extractors.models import Document, Origin, Skip, SkipReason, TextSource
from extractors.text import content_hash, document_id
from storage import documents

# Each behaviour holds on a DuckDB file and on a DuckLake alike (tests/storage/conftest.py).
STORE_BACKENDS = ("duckdb", "ducklake")


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


def _at(doc: Document, raw_url: str) -> Document:
    """The same document found at another raw URL (its canonical URL and id unchanged)."""
    return replace(doc, url=raw_url)


def _store_one_batch_each(store, *batches: list[Document]) -> None:
    """Each batch in its own transaction, so later batches have a later stored_at."""
    for batch in batches:
        with store.write() as con:
            documents.append(con, batch, [], "run-0")


def _url_rows(store) -> set[tuple[str, str, str]]:
    with store.read() as con:
        return set(con.execute("SELECT document_id, url, relation FROM document_urls").fetchall())


def test_a_mixed_batch_keeps_one_document_per_url_then_per_text_and_every_other_url(store):
    stored_a = make_doc("http://a.org/1", "Texte A.")
    stored_b = make_doc("http://a.org/2", "Texte B.")
    _store_one_batch_each(store, [stored_a], [stored_b])
    new = make_doc("http://n.org/1", "Texte neuf.")
    url_of_a = _at(make_doc("http://a.org/1", "Texte A revu."), "http://a.org/1?utm_source=rss")
    batch = [
        new,
        url_of_a,  # stored canonical URL: a copy of A, whatever its text
        make_doc("http://b.org/1", "Texte B."),  # stored text at another URL: a copy of B
        _at(make_doc("http://n.org/1", "Autre."), "http://n.org/1?x=1"),  # URL of `new`
        make_doc("http://n.org/2", "Texte neuf."),  # text of `new`
        make_doc("http://n.org/3", "Texte A revu."),  # text of url_of_a, itself a copy of A
        # URL of B (stored later) and text of A (stored earlier): the URL wins. Its URL is B's
        # own URL, so no row is added for it.
        make_doc("http://a.org/2", "Texte A."),
    ]
    with store.write() as con:
        result = documents.append(con, batch, [], "run-1")
    assert result == documents.AppendResult((new.id,), 3, 3, 0)
    assert _count(store, "SELECT count(*) FROM documents") == 3
    assert _url_rows(store) == {
        (stored_a.id, "http://a.org/1?utm_source=rss", "same_url"),
        (stored_b.id, "http://b.org/1", "same_text"),
        (new.id, "http://n.org/1?x=1", "same_url"),
        (new.id, "http://n.org/2", "same_text"),
        (stored_a.id, "http://n.org/3", "same_text"),
    }


def test_a_text_stored_twice_is_matched_to_the_earliest_stored_copy(store):
    # Two stored documents with one text can only come from outside append (an older store).
    _store_one_batch_each(store, [make_doc("http://a.org/late", "Même texte.")])
    with store.write() as con:
        con.execute(
            "INSERT INTO documents (id, url, canonical_url, language, text, text_source,"
            " content_hash, origin, stored_at) VALUES ('early', 'http://a.org/early',"
            " 'http://a.org/early', 'fr', 'Même texte.', 'page', ?, 'feed',"
            " TIMESTAMPTZ '2020-01-01 00:00:00+00')",
            [content_hash("Même texte.")],
        )
    with store.write() as con:
        result = documents.append(con, [make_doc("http://b.org/copie", "Même texte.")], [], "r")
    assert result.same_text == 1
    assert _url_rows(store) == {("early", "http://b.org/copie", "same_text")}


def test_a_copy_seen_again_in_the_batch_or_a_later_one_is_recorded_once(store):
    original = make_doc("http://a.org/1", "Texte A.")
    copy = make_doc("http://b.org/copie", "Texte A.")
    _store_one_batch_each(store, [original])
    for _ in range(2):
        with store.write() as con:
            result = documents.append(con, [copy, copy], [], "r")
        assert (result.stored_ids, result.same_url, result.same_text) == ((), 1, 1)
    assert _url_rows(store) == {(original.id, "http://b.org/copie", "same_text")}


def test_stored_ids_follow_the_input_order(store):
    urls = [f"http://a.org/{name}" for name in ("zeta", "alpha", "mu", "beta")]
    batch = [make_doc(url, f"Texte {url}.") for url in urls]
    with store.write() as con:
        result = documents.append(con, batch, [], "r")
    assert result.stored_ids == tuple(doc.id for doc in batch)
    assert sorted(result.stored_ids) != list(result.stored_ids)


def test_every_field_of_a_document_reads_back_as_it_was_given(store):
    doc = make_doc(
        "http://a.org/1",
        "L’armée « malienne » a dit 'oui'.\nDeuxième ligne\ttabulée.",
        author="Aïcha Traoré",
        published_at=datetime(2024, 5, 1, 10, 30, 15, 123456, tzinfo=timezone(timedelta(hours=2))),
        published_source="page",
        fetched_at=datetime(2024, 5, 2, 8, 0, tzinfo=UTC),
        language_score=0.1 + 0.2,
        text_source=TextSource.FEED_SUMMARY,
        origin=Origin.BACKFILL,
        discovered_by="sitemap:http://a.org/sitemap.xml",
    )
    with store.write() as con:
        documents.append(con, [doc], [], "r")
    with store.read() as con:
        row = con.execute(
            f"SELECT {', '.join(documents.DOCUMENT_COLUMNS)} FROM documents"
        ).fetchone()
    assert row == astuple(doc)


def _skip(url: str, reason: SkipReason, canonical: str | None = "same", **changes) -> Skip:
    canonical_url = url if canonical == "same" else canonical
    return replace(Skip(url, canonical_url, None, "S", reason, "détail"), **changes)


def test_skips_are_one_row_per_run_source_item_and_reason(store):
    feed_a, feed_b = "feed:http://a.org/rss", "feed:http://b.org/rss"
    first = [
        _skip("http://a.org/en", SkipReason.NOT_FRENCH, discovered_by=feed_a),
        _skip("http://a.org/en", SkipReason.NOT_FRENCH, discovered_by=feed_a),  # repeated
        _skip(
            "http://a.org/en?utm=1",
            SkipReason.NOT_FRENCH,
            canonical="http://a.org/en",
            discovered_by=feed_a,
        ),  # the same page by its canonical URL
        _skip("http://a.org/en", SkipReason.NOT_FRENCH, discovered_by=feed_b),  # another feed
        _skip("http://a.org/en", SkipReason.HTTP_ERROR, discovered_by=feed_a),  # another reason
        _skip(
            "mailto:x@a.org",
            SkipReason.BAD_LINK,
            canonical=None,
            discovered_by=feed_a,
            item_key="entry:1",
        ),
        _skip(
            "mailto:x@a.org",
            SkipReason.BAD_LINK,
            canonical=None,
            discovered_by=feed_a,
            item_key="entry:2",
        ),  # the same bad link on another item of the feed
        _skip("", SkipReason.NO_LINK, canonical=None, discovered_by=feed_a, item_key="entry:3"),
        _skip("", SkipReason.NO_LINK, canonical=None, discovered_by=feed_a, item_key="guid:g"),
        _skip("http://a.org/down", SkipReason.FETCH_FAILED, discovered_by=feed_a),
    ]
    second = [
        _skip("http://a.org/en", SkipReason.NOT_FRENCH, discovered_by=feed_a),  # final: known
        _skip("", SkipReason.NO_LINK, canonical=None, discovered_by=feed_a, item_key="guid:g"),
        _skip("http://a.org/down", SkipReason.FETCH_FAILED, discovered_by=feed_a),  # a new try
        _skip("http://a.org/pdf", SkipReason.NOT_HTML, discovered_by=feed_a),  # new
    ]
    with store.write() as con:
        added_first = documents.record_skips(con, first, "run-1")
        again_first = documents.record_skips(con, first, "run-1")  # the same run writes again
    with store.write() as con:
        added_second = documents.append(con, [], second, "run-2")
    assert added_first == {
        "not_french": 2,
        "http_error": 1,
        "bad_link": 2,
        "no_link": 2,
        "fetch_failed": 1,
    }
    assert not again_first
    assert (added_second.skipped, added_second.skipped_by_reason) == (
        2,
        {"fetch_failed": 1, "not_html": 1},
    )
    for run_id, added in [("run-1", added_first), ("run-2", added_second.skipped_by_reason)]:
        assert _count(store, f"SELECT count(*) FROM skipped WHERE run_id = '{run_id}'") == sum(
            added.values()
        )


def test_url_aliases_go_to_the_stored_document_once_and_never_repeat_its_own_url(store):
    doc = make_doc("http://a.org/1")
    _store_one_batch_each(store, [doc])
    aliases = [
        ("http://a.org/1?utm_source=rss", "http://a.org/1", "S", None),
        ("http://a.org/1?utm_source=rss", "http://a.org/1", "S", None),  # repeated in the batch
        ("http://a.org/1#top", "http://a.org/1", "S", None),
        ("http://a.org/1", "http://a.org/1", "S", None),  # the document's own URL
        ("http://x.org/unknown?a=1", "http://x.org/unknown", "S", None),  # nothing stored
    ]
    with store.write() as con:
        added = [documents.record_url_aliases(con, aliases, "r") for _ in range(2)]
    assert added == [2, 0]
    assert _url_rows(store) == {
        (doc.id, "http://a.org/1?utm_source=rss", "same_url"),
        (doc.id, "http://a.org/1#top", "same_url"),
    }


def test_appending_the_same_mixed_batch_twice_adds_rows_once(store):
    _store_one_batch_each(
        store, [make_doc(f"http://old.org/{i}", f"Ancien {i}.") for i in range(5)]
    )
    docs = [make_doc(f"http://new.org/{i}", f"Neuf {i % 7}.") for i in range(20)]  # 7 texts
    docs += [
        _at(make_doc(f"http://old.org/{i}", f"Autre {i}."), f"http://old.org/{i}?u")
        for i in range(3)
    ]
    docs += [make_doc(f"http://copie.org/{i}", f"Ancien {i}.") for i in range(5)]
    skips = [_skip(f"http://a.org/{i % 6}", SkipReason.NOT_FRENCH) for i in range(15)]
    skips += [_skip(f"http://a.org/{i % 4}", SkipReason.HTTP_ERROR) for i in range(10)]
    results = []
    for _ in range(2):
        with store.write() as con:
            results.append(documents.append(con, docs, skips, "r"))
    distinct_texts = len({d.content_hash for d in docs[:20]})
    assert len(results[0].stored_ids) == distinct_texts
    assert results[1] == documents.AppendResult((), *_copies(results[0], len(docs)), 0)
    assert results[0].skipped == len({(s.canonical_url, s.reason) for s in skips})
    assert results[0].skipped_by_reason == {
        str(reason): len({s.canonical_url for s in skips if s.reason == reason})
        for reason in {s.reason for s in skips}
    }
    assert _count(store, "SELECT count(*) FROM documents") == 5 + distinct_texts
    # Every copy at a URL other than its document's own is one row, whatever batch saw it.
    copy_urls = len({d.url for d in docs[distinct_texts:]})
    assert _count(store, "SELECT count(*) FROM document_urls") == copy_urls
    assert _count(store, "SELECT count(*) FROM skipped") == results[0].skipped
    for table, key in [
        ("documents", "canonical_url"),
        ("documents", "content_hash"),
        ("document_urls", "(document_id, url)"),
        ("skipped", "(run_id, discovered_by, coalesce(item_key, canonical_url, url), reason)"),
    ]:
        assert _count(store, f"SELECT count(*) - count(DISTINCT {key}) FROM {table}") == 0


def _copies(first: documents.AppendResult, batch_size: int) -> tuple[int, int]:
    """(same_url, same_text) of a batch appended again: every item is a copy, by URL first."""
    same_url = first.same_url + len(first.stored_ids)
    return same_url, batch_size - same_url


def _batches_with_copies_and_repeated_skips() -> list[tuple[list[Document], list[Skip]]]:
    not_french = Skip("http://a.org/en", "http://a.org/en", "f", "S", SkipReason.NOT_FRENCH, "en")
    empty = Skip("http://a.org/vide", "http://a.org/vide", "f", "S", SkipReason.NO_TEXT, "vide")
    first = make_doc("http://a.org/1", "Texte A.")
    return [
        ([first], [not_french]),
        (
            [
                _at(first, "http://a.org/1?x=1"),
                make_doc("http://b.org/c", "Texte A."),
                make_doc("http://a.org/2", "Texte B."),
            ],
            [not_french, empty],
        ),
        ([make_doc("http://c.org/3", "Texte B.")], [empty]),
    ]


def _rows(store) -> list[tuple]:
    with store.read() as con:
        return [
            sorted(con.execute("SELECT id, url FROM documents").fetchall()),
            sorted(con.execute("SELECT document_id, url, relation FROM document_urls").fetchall()),
            sorted(con.execute("SELECT url, reason FROM skipped").fetchall()),
        ]


def test_batches_appended_together_end_as_if_appended_one_after_the_other(store, tmp_path):
    from storage.store import Store

    alone = Store(tmp_path / "alone.duckdb")
    alone.migrate()
    one_by_one = []
    for docs, skips in _batches_with_copies_and_repeated_skips():
        with alone.write() as con:
            one_by_one.append(documents.append(con, docs, skips, "run-1"))
    with store.write() as con:
        together = documents.append_batches(con, _batches_with_copies_and_repeated_skips(), "run-1")

    assert together == one_by_one
    assert _rows(store) == _rows(alone)
    assert [(r.same_url, r.same_text, r.skipped) for r in together] == [
        (0, 0, 1),
        (1, 1, 1),
        (0, 1, 0),
    ]
