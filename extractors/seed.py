"""The seed documents: the user's own texts that every store starts with."""

from __future__ import annotations

from extractors.language import detect_language
from extractors.models import Document, Origin, TextSource
from extractors.text import content_hash, document_id

SEED_URL_SCHEME = "seed:"  # seed documents have no web address; `seed:<file name>` stands for one
SEED_SOURCE = "seed"


def seed_url(file_name: str) -> str:
    return f"{SEED_URL_SCHEME}{file_name}"


def seed_document(file_name: str, text: str) -> Document:
    """A seed keeps its text exactly as given; only language and hash are derived from it."""
    url = seed_url(file_name)
    guess = detect_language(text)
    return Document(
        id=document_id(url),
        url=url,
        canonical_url=url,
        source=SEED_SOURCE,
        feed_url=None,
        title=None,
        author=None,
        published_at=None,
        published_source=None,
        fetched_at=None,
        language=guess.language,
        language_score=guess.score,
        text=text,
        text_source=TextSource.SEED,
        content_hash=content_hash(text),
        origin=Origin.SEED,
        run_id=None,
    )
