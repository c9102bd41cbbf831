"""Reading a response body without ever holding more than the size cap in memory.

httpx's own decoding inflates each network chunk in one go, so a 64 KiB chunk of a gzip bomb
becomes ~64 MiB before anyone can count it. Here the raw bytes are inflated with zlib's
`max_length`, so no more than cap + 1 decompressed bytes are ever produced.
"""

from __future__ import annotations

import zlib

import httpx

# wbits for zlib.decompressobj: gzip or zlib header auto-detected / zlib header / no header.
_GZIP_OR_ZLIB = 32 + zlib.MAX_WBITS
_ZLIB = zlib.MAX_WBITS
_RAW_DEFLATE = -zlib.MAX_WBITS
_IDENTITY = {"", "identity"}
_GZIP = {"gzip", "x-gzip"}
# What we announce in Accept-Encoding; anything else a server sends is refused, not guessed.
ACCEPT_ENCODING = "gzip, deflate"


class BodyTooLarge(Exception):
    def __init__(self, limit: int, declared: int | None = None) -> None:
        self.limit = limit
        if declared is not None:
            super().__init__(f"Content-Length {declared} exceeds the {limit}-byte cap")
        else:
            super().__init__(f"body exceeds {limit} bytes")


class BadEncoding(Exception):
    """The body cannot be decoded: an encoding we did not ask for, or corrupt compressed data."""


class BoundedDecoder:
    """Undoes one Content-Encoding incrementally, producing at most `limit` + 1 bytes in all.

    Once more than `limit` bytes came out, `exceeded` is set and further input is ignored.
    """

    def __init__(self, content_encoding: str, limit: int) -> None:
        codings = [c.strip().lower() for c in content_encoding.split(",")]
        codings = [c for c in codings if c not in _IDENTITY]
        if len(codings) > 1 or (codings and codings[0] not in _GZIP | {"deflate"}):
            raise BadEncoding(f"unsupported Content-Encoding: {content_encoding}")
        self._coding = codings[0] if codings else ""
        self._limit = limit
        self._produced = 0
        self._inflater: zlib._Decompress | None = None

    @property
    def exceeded(self) -> bool:
        return self._produced > self._limit

    def feed(self, data: bytes) -> bytes:
        if self.exceeded:
            return b""
        if not self._coding:
            self._produced += len(data)
            return data
        try:
            return self._inflate(data)
        except zlib.error as exc:
            raise BadEncoding(f"corrupt {self._coding} body: {exc}") from None

    def _inflate(self, data: bytes) -> bytes:
        out: list[bytes] = []
        pending = data
        while pending and not self.exceeded:
            inflater = self._inflater or self._new_inflater(pending)
            self._inflater = inflater
            chunk = inflater.decompress(pending, self._limit - self._produced + 1)
            out.append(chunk)
            self._produced += len(chunk)
            if not inflater.eof:
                pending = inflater.unconsumed_tail
                continue
            # Several gzip members may follow one another; trailing padding is ignored.
            pending = inflater.unused_data
            self._inflater = None
            if not pending.strip(b"\0\r\n "):
                break
        return b"".join(out)

    def _new_inflater(self, data: bytes) -> zlib._Decompress:
        if self._coding in _GZIP:
            return zlib.decompressobj(_GZIP_OR_ZLIB)
        # "deflate" should be zlib-wrapped, but some servers send raw deflate; accept both.
        try:
            zlib.decompressobj(_ZLIB).decompress(data[:2])
        except zlib.error:
            return zlib.decompressobj(_RAW_DEFLATE)
        return zlib.decompressobj(_ZLIB)


async def read_capped(response: httpx.Response, limit: int, *, truncate: bool = False) -> bytes:
    """The decompressed body; BodyTooLarge as soon as it passes `limit`, without reading on.

    With `truncate`, the first `limit` bytes are returned instead, as robots.txt wants: its
    first 500 KiB are still meaningful.
    """
    declared = _content_length(response)
    if declared is not None and declared > limit and not truncate:
        raise BodyTooLarge(limit, declared)
    decoder = BoundedDecoder(response.headers.get("content-encoding", ""), limit)
    parts: list[bytes] = []
    async for raw in response.aiter_raw():
        parts.append(decoder.feed(raw))
        if decoder.exceeded:
            if not truncate:
                raise BodyTooLarge(limit)
            break
    return b"".join(parts)[:limit]


def _content_length(response: httpx.Response) -> int | None:
    value = response.headers.get("content-length", "")
    return int(value) if value.strip().isdigit() else None
