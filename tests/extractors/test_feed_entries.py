"""Feed bytes to entries: RSS and Atom, broken and mis-encoded feeds still yield what they can."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from extractors.feed_entries import html_to_text, parse_feed

FEEDS = Path(__file__).resolve().parents[1] / "fixtures" / "feeds"


def load(name: str) -> bytes:
    return (FEEDS / name).read_bytes()


def test_rss_entry_carries_link_date_author_and_both_texts():
    feed = parse_feed(load("rss_content_encoded.xml"), "https://liptako.example/rss.xml")
    entry = feed.entries[0]
    assert feed.title == "L'Écho du Liptako" and feed.warning is None
    assert (
        entry.link
        == "https://liptako.example/societe/dori-deplaces-eau.html?utm_source=rss&utm_medium=feed"
    )
    assert entry.published == datetime(2025, 3, 4, 9, 0, tzinfo=UTC)
    assert entry.author == "Aminata Ouédraogo"
    assert entry.content_text == (
        "Les familles installées à Dori depuis janvier demandent des forages.\n"
        "La mairie promet une réponse avant la saison sèche."
    )
    assert entry.summary_text == "Les familles installées à Dori demandent des forages."


def test_entries_without_usable_links_are_still_returned_for_the_caller_to_record():
    feed = parse_feed(load("rss_content_encoded.xml"), "https://liptako.example/rss.xml")
    assert [e.link for e in feed.entries[1:]] == [None, "javascript:void(0)"]


def test_atom_entry_uses_alternate_link_and_updated_date():
    feed = parse_feed(load("atom_basic.xml"), "https://tchad-hebdo.example/atom.xml")
    (entry,) = feed.entries
    assert entry.link == "https://tchad-hebdo.example/2025/03/reunion-lac-tchad"
    assert entry.published == datetime(2025, 3, 5, 7, 30, tzinfo=UTC)
    assert entry.author == "Mahamat Abakar"


def test_truncated_feed_yields_its_intact_items_with_a_warning():
    feed = parse_feed(load("rss_truncated.xml"), "https://gao.example/rss")
    assert feed.is_feed and feed.warning
    assert [e.link for e in feed.entries[:2]] == [
        "https://gao.example/a1",
        "https://gao.example/a2",
    ]


def test_feed_declared_utf8_but_written_in_windows_1252_keeps_its_accents():
    feed = parse_feed(
        load("rss_cp1252_declared_utf8.xml"),
        "https://kayes.example/rss",
        "application/rss+xml; charset=utf-8",
    )
    assert feed.entries[0].title == "Ségou : la fête du fleuve reportée"


def test_html_page_is_not_a_feed():
    feed = parse_feed(b"<html><body><p>Erreur 404</p></body></html>", "https://x.example/rss")
    assert not feed.is_feed and feed.entries == ()


def test_feed_html_is_flattened_with_paragraph_breaks():
    assert html_to_text("<p>Un</p><p>Deux<br>Trois</p>") == "Un\nDeux\nTrois"
    assert html_to_text("texte   brut") == "texte brut"
    assert html_to_text("") == ""
