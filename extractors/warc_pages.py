"""HTML pages out of WARC files (ISO 28500), read with FastWARC from a stream the caller opened.

Only `response` records that answered 200 with an HTML type are pages. Every other record is
yielded too, as a `WarcPassed` saying why it was passed over, so the caller can count and report
them: nothing in an archive is dropped silently. Each item carries the byte offset of its record
in the file (for `.warc.gz`, the start of its gzip member), so a resumed backfill can seek there.
A truncated or corrupt record ends the iteration with a one-line SourceError naming the offset.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import BinaryIO, Literal

from fastwarc.warc import ArchiveIterator, WarcRecord, WarcRecordType

from extractors.errors import SourceError
from extractors.gunzip import GZIP_MAGIC, gunzip_capped, is_gzip

# Content types that are pages; the same pair extractors/article.py accepts from the network.
HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
# An article page is well under this; a larger HTML record is a dump or an attack, not news.
MAX_WARC_PAGE_BYTES = 20 * 1024 * 1024
# FastWARC's own default: an HTTP or WARC header block longer than this is corrupt.
MAX_HEADER_BYTES = 32 * 1024

# Read size while re-inflating the last gzip member to find its end.
TAIL_CHUNK = 64 * 1024

# Headers every record has exactly once (ISO 28500 §5); two of them mean two headers ran together.
ONCE_HEADERS = ("WARC-Type", "WARC-Record-ID", "WARC-Date", "Content-Length")

PassReason = Literal["record_type", "http_status", "not_html", "too_large"]


@dataclass(frozen=True, slots=True)
class WarcPage:
    url: str  # WARC-Target-URI
    offset: int  # byte offset of the record in the file
    warc_date: datetime | None  # WARC-Date (when it was captured), UTC
    http_status: int
    content_type: str | None  # HTTP Content-Type as sent, charset included
    body: bytes  # the HTTP payload, still transfer/content-encoded as stored
    content_encoding: str | None = None  # HTTP Content-Encoding as sent: decoded_body undoes it
    transfer_encoding: str | None = None  # HTTP Transfer-Encoding (chunked) as sent


@dataclass(frozen=True, slots=True)
class WarcPassed:
    """A record that is not an HTML page, and why: so the caller can count it."""

    offset: int
    url: str | None
    record_type: str  # warcinfo, request, response, revisit, metadata, resource...
    reason: PassReason
    http_status: int | None = None
    content_type: str | None = None

    @property
    def kind(self) -> str:
        """A short label for reports: 'request', 'revisit', 'http 404', 'not html', 'too large'."""
        if self.reason == "record_type":
            return self.record_type
        if self.reason == "http_status":
            return f"http {self.http_status}"
        return self.reason.replace("_", " ")


def iter_warc_pages(
    stream: BinaryIO, start_offset: int = 0, *, name: str = "WARC"
) -> Iterator[WarcPage | WarcPassed]:
    """Every record from `start_offset` on, as a page or as a passed-over record, in file order.

    `name` (the file's path) is only used in error messages. Resuming at a record's offset
    yields that record again.
    """
    if start_offset:
        stream.seek(start_offset)
    records = ArchiveIterator(
        stream, parse_http=True, max_header_len=MAX_HEADER_BYTES, fsspec_args=False
    )
    last: int | None = None
    while True:
        try:
            record = next(records)
        except StopIteration:
            break
        except (OSError, ValueError) as exc:
            where = f"{name} at byte {_next_offset(stream, start_offset, last)}"
            raise SourceError(where, f"corrupt WARC data ({exc})") from None
        offset = record.stream_pos
        if last is not None and offset <= last:
            raise SourceError(
                name,
                "compressed as one gzip stream, not one gzip member per record, so records "
                "have no offsets to resume from; gunzip it first",
            )
        last = offset
        yield _judge(record, f"{name} at byte {offset}")
    _check_tail(stream, start_offset if last is None else last, name)


def read_warc_page(stream: BinaryIO, offset: int, *, name: str = "WARC") -> WarcPage | WarcPassed:
    """The one record at `offset` (from an earlier scan); SourceError if none starts there."""
    where = f"{name} at byte {offset}"
    try:
        stream.seek(offset)
        records = ArchiveIterator(
            stream, parse_http=True, max_header_len=MAX_HEADER_BYTES, fsspec_args=False
        )
        record = next(records, None)
    except (OSError, ValueError) as exc:
        raise SourceError(where, f"no readable WARC record starts here ({exc})") from None
    if record is None or record.stream_pos != offset:
        raise SourceError(where, "no WARC record starts here")
    return _judge(record, where)


def _judge(record: WarcRecord, where: str) -> WarcPage | WarcPassed:
    offset = record.stream_pos
    record_type = _type_name(record)
    url = record.headers.get("WARC-Target-URI")
    if record.record_type == WarcRecordType.no_type or any(
        len(record.headers.get_multiple(h)) != 1 for h in ONCE_HEADERS
    ):
        raise SourceError(where, "truncated or corrupt WARC record header")
    if record.record_type != WarcRecordType.response or not record.is_http:
        _drain(record, where)
        return WarcPassed(offset, url, record_type, "record_type")
    status = record.http_headers.status_code if record.http_headers is not None else None
    if status is None:
        raise SourceError(where, "response record without a readable HTTP status line")
    content_type = record.http_headers.get("Content-Type")
    if status != 200:
        _drain(record, where)
        return WarcPassed(offset, url, record_type, "http_status", status, content_type)
    if (record.http_content_type or "").lower() not in HTML_TYPES:
        _drain(record, where)
        return WarcPassed(offset, url, record_type, "not_html", status, content_type)
    if record.content_length > MAX_WARC_PAGE_BYTES:
        _drain(record, where)
        return WarcPassed(offset, url, record_type, "too_large", status, content_type)
    body = _read_all(record, where)
    headers = record.http_headers
    return WarcPage(
        url or "",
        offset,
        _utc(record.record_date),
        status,
        content_type,
        body,
        headers.get("Content-Encoding"),
        headers.get("Transfer-Encoding"),
    )


def decoded_body(page: WarcPage) -> bytes:
    """The page's HTML bytes: chunks joined and Content-Encoding undone, capped like a fetch.

    Crawlers differ: some store the payload as it came over the wire, some already decoded
    while keeping the headers. So a body that is not chunked or not gzip is taken as it is.
    """
    where = f"{page.url} (WARC byte {page.offset})"
    body = page.body
    if "chunked" in (page.transfer_encoding or "").lower():
        body = _dechunked(body) or body
    for coding in reversed([c.strip().lower() for c in (page.content_encoding or "").split(",")]):
        if coding in {"gzip", "x-gzip"} and is_gzip(body):
            body = gunzip_capped(body, MAX_WARC_PAGE_BYTES, where)
        elif coding == "deflate":
            body = _inflated(body, where)
        elif coding == "br":
            body = _unbrotli(body, where)
        elif coding not in {"", "identity", "gzip", "x-gzip"}:
            raise SourceError(where, f"unknown Content-Encoding {coding!r}")
    return body


def _dechunked(body: bytes) -> bytes | None:
    """HTTP/1.1 chunks joined, or None when the body is not chunked after all."""
    out, position = bytearray(), 0
    while True:
        end = body.find(b"\r\n", position)
        if end < 0:
            return None
        try:
            size = int(body[position:end].split(b";")[0], 16)
        except ValueError:
            return None
        if size == 0:
            return bytes(out)
        out += body[end + 2 : end + 2 + size]
        position = end + 2 + size + 2
        if len(out) > MAX_WARC_PAGE_BYTES:
            return bytes(out)


def _inflated(body: bytes, where: str) -> bytes:
    for wbits in (zlib.MAX_WBITS, -zlib.MAX_WBITS):  # zlib-wrapped, as the RFC says, or raw
        try:
            out = zlib.decompressobj(wbits).decompress(body, MAX_WARC_PAGE_BYTES + 1)
        except zlib.error:
            continue
        if len(out) > MAX_WARC_PAGE_BYTES:
            raise SourceError(where, f"inflates past the {MAX_WARC_PAGE_BYTES}-byte cap")
        return out
    raise SourceError(where, "corrupt deflate data")


def _unbrotli(body: bytes, where: str) -> bytes:
    import brotli

    try:
        out = brotli.decompress(body)
    except brotli.error as exc:
        raise SourceError(where, f"corrupt brotli data ({exc})") from exc
    if len(out) > MAX_WARC_PAGE_BYTES:
        raise SourceError(where, f"inflates past the {MAX_WARC_PAGE_BYTES}-byte cap")
    return out


def _type_name(record: WarcRecord) -> str:
    return record.headers.get("WARC-Type") or str(record.record_type)


def _read_all(record: WarcRecord, where: str) -> bytes:
    """The rest of the record's block; fewer bytes than its Content-Length means truncated."""
    expected = record.content_length
    try:
        body = record.reader.read()
    except OSError as exc:
        raise SourceError(where, f"unreadable WARC record ({exc})") from None
    if len(body) < expected:
        raise SourceError(where, f"truncated WARC record: {len(body)} of {expected} bytes")
    return body


def _drain(record: WarcRecord, where: str) -> None:
    """Skip a record's block, checking it is all there: a cut-off file must not end quietly."""
    expected = record.content_length
    try:
        consumed = record.consume()
    except OSError as exc:
        raise SourceError(where, f"unreadable WARC record ({exc})") from None
    if consumed < expected:
        raise SourceError(where, f"truncated WARC record: {consumed} of {expected} bytes")


def _check_tail(stream: BinaryIO, offset: int, name: str) -> None:
    """FastWARC ends quietly at a cut-off gzip member: look for bytes after the last record.

    Only gzip files need this (an uncompressed cut shows as a short block, checked above).
    """
    if not _is_gzip_at(stream, offset):
        return
    end = _gzip_member_end(stream, offset, name)
    stream.seek(end)
    if stream.read(1):
        raise SourceError(f"{name} at byte {end}", "truncated or corrupt WARC record")


def _next_offset(stream: BinaryIO, start_offset: int, last: int | None) -> int | str:
    """Where the record after `last` starts, for an error message: exact for gzip members."""
    if last is None:
        return start_offset
    try:
        if _is_gzip_at(stream, last):
            return _gzip_member_end(stream, last, "")
    except SourceError:
        pass
    return f"{last} or after"


def _is_gzip_at(stream: BinaryIO, offset: int) -> bool:
    try:
        stream.seek(offset)
        return stream.read(2) == GZIP_MAGIC
    except OSError:
        return False


def _gzip_member_end(stream: BinaryIO, offset: int, name: str) -> int:
    """Where the gzip member starting at `offset` ends, found by inflating it (output dropped)."""
    stream.seek(offset)
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    consumed = 0
    try:
        while not inflater.eof:
            chunk = stream.read(TAIL_CHUNK)
            if not chunk:
                break
            consumed += len(chunk)
            inflater.decompress(chunk, TAIL_CHUNK)
            while inflater.unconsumed_tail and not inflater.eof:
                inflater.decompress(inflater.unconsumed_tail, TAIL_CHUNK)
    except (OSError, zlib.error) as exc:
        raise SourceError(f"{name} at byte {offset}", f"corrupt gzip member ({exc})") from None
    if not inflater.eof:
        raise SourceError(f"{name} at byte {offset}", "truncated gzip member")
    return offset + consumed - len(inflater.unused_data)


def _utc(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)
