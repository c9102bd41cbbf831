"""Turning page bytes into text when the declared charset may be wrong.

Servers often declare iso-8859-1 for UTF-8 pages (or nothing at all). Valid multi-byte UTF-8
almost never happens by accident in another encoding, so bytes that decode as UTF-8 are UTF-8;
only when they do not is the declared charset believed, then windows-1252, the usual culprit.
"""

from __future__ import annotations

import codecs
import re

# A <meta charset> or http-equiv declaration sits in the first bytes of any sane page.
META_SNIFF_BYTES = 4096
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.I)
FALLBACK_ENCODING = "cp1252"


def declared_charset(content_type: str | None) -> str | None:
    """The charset parameter of a Content-Type header, if any."""
    if not content_type:
        return None
    match = re.search(r"charset\s*=\s*[\"']?([A-Za-z0-9_.:-]+)", content_type, re.I)
    return match.group(1) if match else None


def decode_html(body: bytes, header_charset: str | None = None) -> tuple[str, str]:
    """(text, encoding used). Never fails: undecodable bytes become U+FFFD as a last resort."""
    if body.startswith(codecs.BOM_UTF8):
        return body[len(codecs.BOM_UTF8) :].decode("utf-8", "replace"), "utf-8-sig"
    try:
        return body.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    meta = _META_CHARSET.search(body[:META_SNIFF_BYTES])
    candidates = [header_charset, meta.group(1).decode("ascii") if meta else None]
    for encoding in [*candidates, FALLBACK_ENCODING]:
        if not encoding or _is_utf8(encoding):
            continue
        try:
            return body.decode(encoding), codecs.lookup(encoding).name
        except (LookupError, UnicodeDecodeError, ValueError):  # ValueError: a NUL in the name
            continue
    return body.decode("utf-8", "replace"), "utf-8 (with replacements)"


def _is_utf8(encoding: str) -> bool:
    try:
        return codecs.lookup(encoding).name == "utf-8"
    except (LookupError, ValueError):
        return False
