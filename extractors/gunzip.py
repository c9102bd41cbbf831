"""Gunzip with a size cap: a few KiB of gzip can inflate to gigabytes (a "gzip bomb")."""

from __future__ import annotations

import zlib

from extractors.errors import SourceError

GZIP_MAGIC = b"\x1f\x8b"
# wbits for zlib.decompressobj: a gzip header and trailer around deflate data.
_GZIP_WBITS = 16 + zlib.MAX_WBITS


def is_gzip(data: bytes) -> bool:
    """By the magic bytes, whatever the name or the Content-Type said."""
    return data.startswith(GZIP_MAGIC)


def gunzip_capped(data: bytes, cap: int, locator: str) -> bytes:
    """Inflate one gzip member, never producing more than cap + 1 bytes; SourceError if over."""
    inflater = zlib.decompressobj(_GZIP_WBITS)
    try:
        out = inflater.decompress(data, cap + 1)
    except zlib.error as exc:
        raise SourceError(locator, f"corrupt gzip data ({exc})") from exc
    if len(out) > cap:
        raise SourceError(locator, f"gzip data inflates past the {cap}-byte cap")
    return out
