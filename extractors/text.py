"""Text normalisation for exact-duplicate detection, and the identifiers derived from it."""

from __future__ import annotations

import hashlib
import re
import unicodedata

# Typographic variants that syndication changes without changing the text.
_QUOTES = str.maketrans({"’": "'", "‘": "'", "ʼ": "'", "«": '"', "»": '"', "“": '"', "”": '"'})
_SPACES = re.compile(r"\s+")
# Stable ids are a prefix of a sha256: 16 hex digits make collisions negligible below ~10^9 docs.
ID_HEX_DIGITS = 16


def normalise_for_hash(text: str) -> str:
    """Fold what two copies of one text differ in: Unicode form, case, quotes, spacing."""
    text = unicodedata.normalize("NFKC", text).translate(_QUOTES).casefold()
    return _SPACES.sub(" ", text).strip()


def content_hash(text: str) -> str:
    return hashlib.sha256(normalise_for_hash(text).encode("utf-8")).hexdigest()


def document_id(canonical_url: str) -> str:
    """A document's id depends only on its canonical URL, so re-ingesting it yields the same id."""
    return hashlib.sha256(canonical_url.encode("utf-8")).hexdigest()[:ID_HEX_DIGITS]
