"""One fetched item to a document or a reasoned skip: text, fallback, date, language."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from extractors.article import FetchedItem, build_document, is_error_page, process_batch
from extractors.feed_entries import FeedEntry
from extractors.models import Document, Origin, Skip, SkipReason, TextSource

PAGES = Path(__file__).resolve().parents[1] / "fixtures" / "pages"
NOW = datetime(2025, 3, 1, tzinfo=UTC)
BRIEF = (
    "Le gouverneur de Mopti a annoncé la réouverture du pont de Sofara. "
    "Les travaux avaient duré six mois."
)


def entry(**changes) -> FeedEntry:
    base = FeedEntry(
        link="https://courrier.example/a",
        title="Titre du flux",
        author=None,
        published=None,
        content_text="",
        summary_text="",
        guid=None,
    )
    return replace(base, **changes)


def item(page: str | None, feed_entry: FeedEntry | None = None, **changes) -> FetchedItem:
    body = (PAGES / page).read_bytes() if page else None
    base = FetchedItem(
        url="https://courrier.example/a?utm_source=rss",
        canonical_url="https://courrier.example/a",
        final_url="https://courrier.example/a",
        body=body,
        content_type="text/html; charset=utf-8",
        fetched_at=NOW,
        entry=feed_entry or entry(),
        source="Le Courrier du Sahel",
        feed_url="https://courrier.example/rss",
        origin=Origin.FEED,
        run_id="run-1",
    )
    return replace(base, **changes)


def test_article_text_comes_from_the_page_without_boilerplate():
    doc = build_document(item("article_full.html"), NOW)
    assert isinstance(doc, Document) and doc.text_source == TextSource.PAGE
    assert "Une colonne d’hommes armés a tenté lundi soir" in doc.text
    for boilerplate in ("cookies", "À lire aussi", "S’abonner", "Mentions légales", "Accueil"):
        assert boilerplate not in doc.text
    assert doc.language == "fr" and doc.language_score > 0.9
    assert doc.author == "Boubacar Maïga"


def test_feed_date_wins_over_page_metadata():
    feed_date = datetime(2025, 2, 11, 15, 0, tzinfo=UTC)
    doc = build_document(item("article_full.html", entry(published=feed_date)), NOW)
    assert (doc.published_at, doc.published_source) == (feed_date, "feed")


def test_page_metadata_date_is_used_when_the_feed_has_none():
    doc = build_document(item("article_full.html"), NOW)
    assert doc.published_at == datetime(2025, 2, 11, 15, 45, tzinfo=UTC)
    assert doc.published_source == "page"


def test_implausible_feed_date_is_not_used():
    for bad in (datetime(2099, 1, 1, tzinfo=UTC), datetime(1970, 1, 1, tzinfo=UTC)):
        doc = build_document(item("article_full.html", entry(published=bad)), NOW)
        assert doc.published_source == "page"


def test_htmldate_finds_a_date_written_in_the_page_when_nothing_else_does():
    doc = build_document(item("dated_in_text.html"), NOW)
    assert doc.published_source == "htmldate"
    assert doc.published_at.date().isoformat() == "2025-01-14"


def test_page_without_text_falls_back_to_the_feed_content():
    content = "Le marché de Mopti a rouvert ses portes après trois semaines de fermeture. " * 4
    doc = build_document(
        item("video_only.html", entry(content_text=content.strip(), summary_text="Court résumé.")),
        NOW,
    )
    assert doc.text_source == TextSource.FEED_CONTENT
    assert doc.text.startswith("Le marché de Mopti a rouvert")


def test_short_brief_from_the_feed_summary_is_kept():
    doc = build_document(item(None, entry(summary_text=BRIEF)), NOW)
    assert isinstance(doc, Document)
    assert (doc.text, doc.text_source) == (BRIEF, TextSource.FEED_SUMMARY)


def test_english_page_becomes_a_not_french_skip_naming_the_language():
    skip = build_document(item("english.html"), NOW)
    assert isinstance(skip, Skip) and skip.reason == SkipReason.NOT_FRENCH
    assert skip.detail.startswith("detected en")


def test_item_with_no_text_anywhere_is_skipped_as_no_text():
    empty = item(None, body=b"<html><head><title></title></head><body></body></html>")
    skip = build_document(empty, NOW)
    assert isinstance(skip, Skip) and skip.reason == SkipReason.NO_TEXT


def test_non_html_body_without_feed_text_is_skipped_as_not_html():
    skip = build_document(item(None, body=b"%PDF-1.7 ...", content_type="application/pdf"), NOW)
    assert skip.reason == SkipReason.NOT_HTML


def test_a_page_that_breaks_the_extractor_becomes_a_skip_not_a_crash():
    broken = item(
        "article_full.html",
        content_type="text/html; charset=utf-8",
        entry=entry(published="not a datetime"),
    )  # wrong type on purpose
    (result,) = process_batch([broken], NOW)
    assert isinstance(result, Skip) and result.reason == SkipReason.EXTRACTION_ERROR


def test_full_text_feed_beats_a_page_whose_extraction_is_only_furniture():
    furniture = (
        "<html><body><article><h1>Vidéo : la pêche à Mopti</h1><p>"
        + "Partager Facebook X WhatsApp LinkedIn. Reportage de notre envoyé spécial, "
        "trois minutes. Mots-clés : Mopti, économie, pêche, fleuve, marché, vidéo. "
        + "</p></article></body></html>"
    ).encode()
    article = "À Mopti, les pêcheurs du fleuve rentrent avec des filets presque vides. " * 8
    doc = build_document(item(None, entry(content_text=article.strip()), body=furniture), NOW)
    assert doc.text_source == TextSource.FEED_CONTENT


def test_feed_summary_shorter_than_the_page_does_not_replace_it():
    doc = build_document(item("article_full.html", entry(summary_text=BRIEF)), NOW)
    assert doc.text_source == TextSource.PAGE


@pytest.mark.parametrize(
    ("title", "text"),
    [
        (None, "Erreur 500\nService indisponible."),
        ("Page introuvable", "La page que vous cherchez n'existe pas."),
        ("404 Not Found", "Not Found"),
        (None, "Site en maintenance, revenez plus tard."),
    ],
)
def test_a_short_error_message_is_an_error_page(title, text):
    assert is_error_page(title, text)


@pytest.mark.parametrize(
    ("title", "text"),
    [
        ("Bamako : coupure d'électricité", "EDM annonce des délestages de douze heures."),
        (None, "Une erreur de calcul du ministère a retardé le versement des salaires. " * 3),
    ],
)
def test_a_brief_or_an_article_that_mentions_an_error_is_not_an_error_page(title, text):
    assert not is_error_page(title, text)
