"""The fetcher against a real HTTP server on 127.0.0.1: each politeness and safety rule.

Timing rules (spacing, concurrency) are checked on the server's request log, never on how long
the test took. Delays are tens of milliseconds so the whole file runs in a few seconds.
"""

from __future__ import annotations

import asyncio
import gzip
import itertools
import socket
import tracemalloc
import zlib
from collections.abc import Coroutine, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any, TypeVar

import pytest

from extractors.errors import UsageError
from extractors.network_settings import NetworkSettings
from fetching.client import Fetcher, FetchResult
from tests.support.http_server import HttpTestServer, LoggedRequest, Response

T = TypeVar("T")
FAST = NetworkSettings(
    min_host_delay=0.0,
    backoff_base=0.01,
    backoff_max=0.02,
    connect_timeout=2.0,
    read_timeout=2.0,
    total_timeout=5.0,
)
# Spacing is enforced in the client but observed at the server, where thread scheduling on a
# busy 2-core CI machine shifts arrivals by tens of milliseconds: accept two thirds of the delay.
SPACING_SEEN_AT_LEAST = 2 / 3
PAGE = b"<html><body><p>Un article sur Niamey.</p></body></html>"
LAST_WEEK = format_datetime(datetime.now(UTC) - timedelta(days=7), usegmt=True)
RSS = b'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel></channel></rss>'


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


async def fetch_pages(
    server: HttpTestServer, *paths: str, settings: NetworkSettings = FAST, **kwargs: Any
) -> list[FetchResult]:
    """Fetch pages linked from a feed configured on `server` itself, all at once."""
    origin = server.url("/feed.xml")
    async with Fetcher(settings, **kwargs) as fetcher:
        urls = [server.url(p) if p.startswith("/") else p for p in paths]
        return await asyncio.gather(*(fetcher.fetch_page(u, origin=origin) for u in urls))


def page(server: HttpTestServer, path: str, settings: NetworkSettings = FAST, **kw: Any):
    return run(fetch_pages(server, path, settings=settings, **kw))[0]


def feed(
    server: HttpTestServer, path: str = "/feed.xml", settings: NetworkSettings = FAST, **kw: Any
) -> FetchResult:
    async def go() -> FetchResult:
        async with Fetcher(settings) as fetcher:
            return await fetcher.fetch_feed(server.url(path), **kw)

    return run(go())


def max_overlap(requests: Sequence[LoggedRequest]) -> int:
    """The largest number of requests the server was handling at one instant."""
    ends = [r.finished if r.finished is not None else float("inf") for r in requests]
    return max(
        sum(r.started <= q.started < end for r, end in zip(requests, ends, strict=True))
        for q in requests
    )


def start_gaps(requests: Sequence[LoggedRequest]) -> list[float]:
    starts = sorted(r.started for r in requests)
    return [b - a for a, b in itertools.pairwise(starts)]


class MappingResolver:
    """A DNS stand-in: answers from a table and remembers every question."""

    def __init__(self, table: dict[str, list[str]]) -> None:
        self.table = table
        self.asked: list[tuple[str, int]] = []

    async def __call__(self, host: str, port: int) -> list[str]:
        self.asked.append((host, port))
        return self.table[host]


# -- identity, bodies and headers --------------------------------------------------------------


def test_user_agent_identifies_sahelwatch(http_server: HttpTestServer) -> None:
    http_server.route("/a", body=PAGE)
    assert page(http_server, "/a").ok
    agents = {r.headers["user-agent"] for r in http_server.requests}
    assert agents == {NetworkSettings().user_agent}  # robots.txt and the page alike


def test_feed_body_and_headers_are_returned(http_server: HttpTestServer) -> None:
    http_server.route(
        "/feed.xml",
        body=RSS,
        etag='"v7"',
        headers={"Content-Type": "application/rss+xml; charset=UTF-8"},
    )
    result = feed(http_server)
    assert result.ok and result.status == 200 and result.body == RSS
    assert result.headers["etag"] == '"v7"'
    assert result.content_type == "application/rss+xml"
    assert result.charset == "utf-8"
    assert result.final_url == result.url == http_server.url("/feed.xml")
    assert result.attempts == 1


def test_declared_charset_is_reported_even_when_it_is_wrong(
    http_server: HttpTestServer, tmp_path: Path
) -> None:
    (tmp_path / "article.html").write_bytes("<p>Défense à Gao</p>".encode())
    http_server.mount_dir(
        "/site",
        tmp_path,
        headers={"/site/article.html": {"Content-Type": "text/html; charset=iso-8859-1"}},
    )
    result = page(http_server, "/site/article.html")
    assert result.body == "<p>Défense à Gao</p>".encode()
    assert result.content_type == "text/html"
    assert result.charset == "iso-8859-1"


def test_gzip_body_is_decompressed(http_server: HttpTestServer) -> None:
    http_server.route("/a", body=PAGE, gzip=True)
    result = page(http_server, "/a")
    assert result.body == PAGE
    assert http_server.requests_to("/a")[0].headers["accept-encoding"] == "gzip, deflate"


@pytest.mark.parametrize("wbits", [zlib.MAX_WBITS, -zlib.MAX_WBITS], ids=["zlib", "raw"])
def test_deflate_body_is_decompressed_with_or_without_zlib_header(
    http_server: HttpTestServer, wbits: int
) -> None:
    packer = zlib.compressobj(wbits=wbits)
    body = packer.compress(PAGE) + packer.flush()
    http_server.route("/a", body=body, headers={"Content-Encoding": "deflate"})
    assert page(http_server, "/a").body == PAGE


def test_encoding_we_did_not_ask_for_is_an_error(http_server: HttpTestServer) -> None:
    http_server.route("/a", body=b"\x8b\x00brotli?", headers={"Content-Encoding": "br"})
    result = page(http_server, "/a")
    assert result.error_kind == "connection"
    assert result.error == "unsupported Content-Encoding: br"
    assert result.body is None and result.attempts == 1  # asking again would not help


def test_corrupt_gzip_body_is_an_error(http_server: HttpTestServer) -> None:
    http_server.route("/a", body=b"<html>pas du gzip</html>", headers={"Content-Encoding": "gzip"})
    result = page(http_server, "/a")
    assert result.error_kind == "connection" and result.status == 200
    assert (result.error or "").startswith("corrupt gzip body")


# -- conditional GET -----------------------------------------------------------------------------


def test_sends_if_none_match_and_reports_not_modified(http_server: HttpTestServer) -> None:
    http_server.route("/feed.xml", body=RSS, etag='"v1"')
    result = feed(http_server, etag='"v1"')
    assert result.ok and result.not_modified
    assert result.status == 304 and result.body is None
    assert http_server.requests[0].headers["if-none-match"] == '"v1"'


def test_sends_if_modified_since_and_reports_not_modified(http_server: HttpTestServer) -> None:
    stamp = "Fri, 14 Mar 2025 08:00:00 GMT"
    http_server.route("/feed.xml", body=RSS, last_modified=stamp)
    result = feed(http_server, last_modified=stamp)
    assert result.not_modified and result.body is None
    assert http_server.requests[0].headers["if-modified-since"] == stamp


def test_changed_feed_is_returned_despite_validators(http_server: HttpTestServer) -> None:
    http_server.route("/feed.xml", body=RSS, etag='"v2"')
    result = feed(http_server, etag='"v1"')
    assert result.ok and not result.not_modified and result.body == RSS
    assert result.headers["etag"] == '"v2"'


def test_no_validators_are_sent_unless_given(http_server: HttpTestServer) -> None:
    http_server.route("/feed.xml", body=RSS, etag='"v1"')
    feed(http_server)
    sent = http_server.requests[0].headers
    assert "if-none-match" not in sent and "if-modified-since" not in sent


# -- retries -------------------------------------------------------------------------------------


def test_retries_503_then_succeeds(http_server: HttpTestServer) -> None:
    http_server.route(
        "/flaky", responses=[Response(status=503), Response(status=503), Response(body=PAGE)]
    )
    result = page(http_server, "/flaky")
    assert result.ok and result.body == PAGE
    assert result.attempts == 3
    http_server.wait_idle()  # the server logs a status once its answer is sent, after the client
    assert [r.status for r in http_server.requests_to("/flaky")] == [503, 503, 200]


def test_429_is_retried(http_server: HttpTestServer) -> None:
    http_server.route("/a", responses=[Response(status=429), Response(body=PAGE)])
    assert page(http_server, "/a").ok
    assert len(http_server.requests_to("/a")) == 2


def test_gives_up_after_max_retries(http_server: HttpTestServer) -> None:
    http_server.route("/down", status=500)
    result = page(http_server, "/down", replace(FAST, max_retries=2))
    assert result.error_kind == "http_status" and result.status == 500
    assert result.error == "HTTP 500 after 3 attempts"
    assert result.attempts == 3 and len(http_server.requests_to("/down")) == 3


@pytest.mark.parametrize("status", [400, 403, 404, 410])
def test_no_retry_on_client_errors(http_server: HttpTestServer, status: int) -> None:
    http_server.route("/a", status=status)
    result = page(http_server, "/a")
    assert result.error_kind == "http_status" and result.status == status
    assert result.error == f"HTTP {status}"
    assert len(http_server.requests_to("/a")) == 1


def test_retries_a_dropped_connection(http_server: HttpTestServer) -> None:
    http_server.route("/a", responses=[Response(drop=True), Response(body=PAGE)])
    result = page(http_server, "/a")
    assert result.ok and result.attempts == 2


def test_timeout_is_retried_then_reported(http_server: HttpTestServer) -> None:
    http_server.route("/slow", body=PAGE, delay=0.3)
    settings = replace(FAST, read_timeout=0.05, max_retries=1)
    result = page(http_server, "/slow", settings)
    assert result.error_kind == "timeout" and result.status is None
    assert "after 2 attempts" in (result.error or "")
    http_server.wait_idle()
    assert len(http_server.requests_to("/slow")) == 2


def test_total_timeout_stops_a_body_that_trickles_forever(http_server: HttpTestServer) -> None:
    # Each chunk comes well within the read timeout; only the total timeout can stop this.
    http_server.route("/drip", body=b"x" * 4000, trickle=(10, 0.02))
    settings = replace(FAST, read_timeout=1.0, total_timeout=0.3, max_retries=0)
    result = page(http_server, "/drip", settings)
    assert result.error_kind == "timeout"
    assert result.error == "not complete within 0.3 s"


def test_honours_retry_after_seconds(http_server: HttpTestServer) -> None:
    http_server.route(
        "/busy", responses=[Response(status=503, headers={"Retry-After": "1"}), Response(body=PAGE)]
    )
    assert page(http_server, "/busy").ok
    first, second = http_server.requests_to("/busy")
    assert second.started - first.started >= 0.95  # backoff alone would be under 0.02 s


def test_retry_after_longer_than_limit_gives_up_this_run(http_server: HttpTestServer) -> None:
    http_server.route("/busy", status=429, headers={"Retry-After": "3600"})
    result = page(http_server, "/busy")
    assert result.error_kind == "retry_after_too_long" and result.status == 429
    assert len(http_server.requests_to("/busy")) == 1


def test_retry_after_as_a_date_is_understood(http_server: HttpTestServer) -> None:
    tomorrow = format_datetime(datetime.now(UTC) + timedelta(days=1), usegmt=True)
    http_server.route("/busy", status=503, headers={"Retry-After": tomorrow})
    result = page(http_server, "/busy")
    assert result.error_kind == "retry_after_too_long"
    assert len(http_server.requests_to("/busy")) == 1


# -- size caps -----------------------------------------------------------------------------------


def test_content_length_over_the_cap_is_refused_before_reading(
    http_server: HttpTestServer,
) -> None:
    http_server.route("/big", body=b"x" * 5000)
    result = page(http_server, "/big", replace(FAST, max_page_bytes=1000))
    assert result.error_kind == "too_large" and result.body is None
    assert result.error == "Content-Length 5000 exceeds the 1000-byte cap"


def test_body_without_length_is_cut_while_streaming(http_server: HttpTestServer) -> None:
    http_server.route("/endless", body=b"x" * 400_000, trickle=(8000, 0.005), content_length=False)
    result = page(http_server, "/endless", replace(FAST, max_page_bytes=20_000))
    assert result.error_kind == "too_large"
    assert result.error == "body exceeds 20000 bytes"
    # The server could not finish writing: the fetcher hung up instead of reading on.
    http_server.wait_idle()
    assert http_server.requests_to("/endless")[0].status is None


def test_gzip_bomb_is_cut_at_decompressed_cap(http_server: HttpTestServer) -> None:
    bomb = gzip.compress(b"\0" * (32 * 2**20))  # 32 KiB on the wire, 32 MiB inflated
    http_server.route("/bomb", body=bomb, headers={"Content-Encoding": "gzip"})
    tracemalloc.start()
    try:
        result = page(http_server, "/bomb", replace(FAST, max_page_bytes=2**20))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert result.error_kind == "too_large" and result.body is None
    assert peak < 8 * 2**20  # never inflated anywhere near the 32 MiB


def test_feed_cap_applies_to_feeds(http_server: HttpTestServer) -> None:
    http_server.route("/feed.xml", body=RSS * 100, gzip=True)
    result = feed(http_server, settings=replace(FAST, max_feed_bytes=len(RSS) * 10))
    assert result.error_kind == "too_large"


# -- redirects and addresses ---------------------------------------------------------------------


def test_follows_redirects_and_reports_final_url(http_server: HttpTestServer) -> None:
    http_server.route("/old", status=301, redirect_to="/middle")
    http_server.route("/middle", status=302, redirect_to=http_server.url("/new"))
    http_server.route("/new", body=PAGE)
    result = page(http_server, "/old")
    assert result.ok and result.body == PAGE
    assert result.url == http_server.url("/old") and result.final_url == http_server.url("/new")
    assert result.attempts == 3


def test_too_many_redirects_stop(http_server: HttpTestServer) -> None:
    http_server.route("/loop", status=302, redirect_to="/loop")
    result = page(http_server, "/loop", replace(FAST, max_redirects=3))
    assert result.error_kind == "too_many_redirects"
    assert len(http_server.requests_to("/loop")) == 4  # the first request and 3 redirects


def test_link_to_loopback_off_the_feeds_origin_is_refused(http_server: HttpTestServer) -> None:
    with HttpTestServer() as other:
        other.route("/admin", body=b"secret")
        result = page(http_server, other.url("/admin"))
        assert result.error_kind == "blocked_address"
        assert "loopback" in (result.error or "") and result.attempts == 0
        assert other.requests == []


def test_redirect_to_private_address_is_refused(http_server: HttpTestServer) -> None:
    with HttpTestServer() as other:
        other.route("/admin", body=b"secret")
        http_server.route("/a", status=302, redirect_to=other.url("/admin"))
        result = page(http_server, "/a")
        assert result.error_kind == "blocked_address"
        assert result.final_url == other.url("/admin")
        assert other.requests == []


def test_host_listed_as_private_may_be_fetched(http_server: HttpTestServer) -> None:
    with HttpTestServer() as other:
        other.route("/a", body=PAGE)
        settings = replace(FAST, allow_private_hosts=frozenset({"127.0.0.1"}))
        assert page(http_server, other.url("/a"), settings).ok


def test_feed_on_a_loopback_address_may_be_fetched(http_server: HttpTestServer) -> None:
    http_server.route("/feed.xml", body=RSS)
    assert feed(http_server).ok


def test_name_resolving_to_private_address_is_refused_before_connecting(
    http_server: HttpTestServer,
) -> None:
    resolver = MappingResolver({"evil.test": ["196.200.80.10", "10.0.0.5"]})
    result = page(http_server, "http://evil.test/metadata", resolver=resolver)
    assert result.error_kind == "blocked_address"
    assert result.error == "evil.test resolves to private address 10.0.0.5"
    assert resolver.asked == [("evil.test", 80)]
    assert result.attempts == 0 and http_server.requests == []


def test_redirect_to_a_name_resolving_to_private_address_is_refused(
    http_server: HttpTestServer,
) -> None:
    resolver = MappingResolver({"metadata.test": ["169.254.169.254"]})
    http_server.route("/a", status=302, redirect_to="https://metadata.test/latest/")
    result = page(http_server, "/a", resolver=resolver)
    assert result.error_kind == "blocked_address" and "link_local" in (result.error or "")
    assert resolver.asked == [("metadata.test", 443)]


def test_unresolvable_name_is_a_connection_error(http_server: HttpTestServer) -> None:
    async def no_such_host(host: str, port: int) -> list[str]:
        raise OSError(f"Name or service not known: {host}")

    result = page(http_server, "http://nulle-part.test/", resolver=no_such_host)
    assert result.error_kind == "connection" and "nulle-part.test" in (result.error or "")


@pytest.mark.parametrize(
    "url", ["ftp://127.0.0.1/a.txt", "javascript:alert(1)", "mailto:a@b.example", "http:///x"]
)
def test_non_http_links_are_refused(http_server: HttpTestServer, url: str) -> None:
    result = page(http_server, url)
    assert result.error_kind == "bad_scheme" and result.attempts == 0
    assert http_server.requests == []


def test_redirect_to_another_scheme_is_refused(http_server: HttpTestServer) -> None:
    http_server.route("/a", status=301, redirect_to="ftp://127.0.0.1/a.txt")
    assert page(http_server, "/a").error_kind == "bad_scheme"


class ChangingResolver:
    """A DNS stand-in whose answer changes after the first question, as in DNS rebinding."""

    def __init__(self, host: str, first: list[str], later: list[str]) -> None:
        self.host, self.first, self.later = host, first, later
        self.asked: list[tuple[str, int]] = []

    async def __call__(self, host: str, port: int) -> list[str]:
        if host != self.host:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        self.asked.append((host, port))
        return self.first if len(self.asked) == 1 else self.later


def closed_port() -> int:
    """A port on 127.0.0.1 where nothing listens: connecting is refused."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.parametrize(
    "host",
    [
        "127.1",
        "2130706433",  # 127.0.0.1 as one decimal number
        "0177.0.0.1",  # octal
        "0x7f.0.0.1",  # hex
        "0x7f000001",
        "[::1]",
        "[::ffff:127.0.0.1]",  # IPv4-mapped IPv6
        "[0:0:0:0:0:ffff:7f00:1]",
        "0.0.0.0",
        "localhost",
    ],
)
def test_every_spelling_of_a_local_address_is_refused(
    http_server: HttpTestServer, host: str
) -> None:
    with HttpTestServer() as other:
        other.route("/admin", body=b"secret")
        result = page(http_server, f"http://{host}:{other.port}/admin")
        assert result.error_kind == "blocked_address", result.error
        assert result.attempts == 0 and other.requests == []


def test_connection_goes_to_the_address_that_was_checked(http_server: HttpTestServer) -> None:
    """DNS rebinding: the name is resolved and checked once; a later, different answer is never
    used to connect. (A public first answer would send a real packet out of this machine, so
    both answers are loopback addresses, the host being allowed on private addresses.)"""
    http_server.route("/a", body=PAGE)
    http_server.route("/b", body=PAGE)
    resolver = ChangingResolver("rebind.test", ["127.0.0.1"], ["127.0.0.2"])
    settings = replace(FAST, allow_private_hosts=frozenset({"rebind.test"}))
    with socket.create_server(("127.0.0.2", http_server.port)) as elsewhere:
        elsewhere.setblocking(False)
        base = f"http://rebind.test:{http_server.port}"
        first, second = run(
            fetch_pages(http_server, f"{base}/a", f"{base}/b", settings=settings, resolver=resolver)
        )
        assert first.ok and second.ok and first.body == PAGE
        assert resolver.asked == [("rebind.test", http_server.port)]
        assert [r.headers["host"] for r in http_server.requests_to("/b")] == [
            f"rebind.test:{http_server.port}"
        ]
        with pytest.raises(BlockingIOError):
            elsewhere.accept()  # nothing ever connected to the second answer


# -- names that do not resolve -------------------------------------------------------------------


def test_name_that_does_not_exist_fails_at_once(http_server: HttpTestServer) -> None:
    async def no_such_name(host: str, port: int) -> list[str]:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    async def go() -> tuple[list[FetchResult], dict[str, int]]:
        async with Fetcher(FAST, resolver=no_such_name) as fetcher:
            feed = await fetcher.fetch_feed("http://nulle-part.test/rss.xml")
            links = [
                await fetcher.fetch_page(f"http://nulle-part.test/{n}", origin=feed.url)
                for n in range(2)
            ]
            return [feed, *links], fetcher.stats

    results, stats = run(go())
    for result in results:
        assert result.error_kind == "no_such_host" and result.attempts == 0
        assert result.error == (
            "no such host: nulle-part.test (Name or service not known); not retried"
        )
    assert stats["retries"] == 0 and stats["requests"] == 0


def test_a_real_invalid_name_fails_at_once() -> None:
    """`.invalid` never resolves (RFC 6761): the system resolver says so, and it is final."""

    async def go() -> tuple[FetchResult, dict[str, int]]:
        async with Fetcher(FAST) as fetcher:
            result = await fetcher.fetch_feed("http://sahelwatch-test.invalid/rss.xml")
            return result, fetcher.stats

    result, stats = run(go())
    assert result.error_kind == "no_such_host", result.error
    assert "sahelwatch-test.invalid" in (result.error or "")
    assert stats["retries"] == 0


def test_dns_server_not_answering_is_asked_again(http_server: HttpTestServer) -> None:
    http_server.route("/a", body=PAGE)
    asked: list[str] = []

    async def busy_then_answers(host: str, port: int) -> list[str]:
        asked.append(host)
        if len(asked) == 1:
            raise socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")
        return ["127.0.0.1"]

    settings = replace(FAST, allow_private_hosts=frozenset({"lent.test"}))
    url = f"http://lent.test:{http_server.port}/a"
    assert page(http_server, url, settings, resolver=busy_then_answers).ok
    assert asked == ["lent.test", "lent.test"]


def test_refused_connection_is_retried() -> None:
    async def go() -> FetchResult:
        async with Fetcher(replace(FAST, max_retries=2)) as fetcher:
            return await fetcher.fetch_feed(f"http://127.0.0.1:{closed_port()}/rss.xml")

    result = run(go())
    assert result.error_kind == "connection" and result.attempts == 3


# -- what follows a redirect to another site -----------------------------------------------------


def test_redirect_to_another_host_carries_no_cookie_credential_or_validator(
    http_server: HttpTestServer,
) -> None:
    http_server.route("/login", body=PAGE, headers={"Set-Cookie": "session=s3cret; Path=/"})
    with HttpTestServer() as other:
        other.route("/rss.xml", body=RSS)
        http_server.route("/feed.xml", status=301, redirect_to=other.url("/rss.xml"))
        settings = replace(FAST, allow_private_hosts=frozenset({"127.0.0.1"}))
        feed_url = http_server.url("/feed.xml").replace("http://", "http://lecteur:motdepasse@")

        async def go() -> FetchResult:
            async with Fetcher(settings) as fetcher:
                await fetcher.fetch_page(http_server.url("/login"), origin=feed_url)
                return await fetcher.fetch_feed(feed_url, etag='"v1"', last_modified=LAST_WEEK)

        assert run(go()).ok
        (sent,) = http_server.requests_to("/feed.xml")
        assert sent.headers["cookie"] == "session=s3cret"
        assert sent.headers["authorization"].startswith("Basic ")
        assert sent.headers["if-none-match"] == '"v1"'
        (forwarded,) = other.requests_to("/rss.xml")
        secrets = {"cookie", "authorization", "if-none-match", "if-modified-since"}
        assert secrets.isdisjoint(forwarded.headers)
        assert forwarded.headers["accept"] == sent.headers["accept"]


def test_cookies_follow_a_redirect_on_the_same_site(http_server: HttpTestServer) -> None:
    http_server.route(
        "/a", status=302, redirect_to="/a/consent", headers={"Set-Cookie": "consent=oui"}
    )
    http_server.route("/a/consent", body=PAGE)
    assert page(http_server, "/a").ok
    assert http_server.requests_to("/a/consent")[0].headers["cookie"] == "consent=oui"
    assert "cookie" not in http_server.requests_to("/a")[0].headers


# -- robots.txt ----------------------------------------------------------------------------------


def test_disallowed_page_is_not_requested(http_server: HttpTestServer) -> None:
    http_server.route("/robots.txt", body=b"User-agent: *\nDisallow: /abonnes/\n")
    http_server.route("/abonnes/a", body=PAGE)
    http_server.route("/actualites/a", body=PAGE)
    blocked, allowed = run(fetch_pages(http_server, "/abonnes/a", "/actualites/a"))
    assert blocked.error_kind == "robots_disallowed" and blocked.attempts == 0
    assert allowed.ok
    assert http_server.requests_to("/abonnes/a") == []


@pytest.mark.parametrize("status", [401, 403, 404, 410])
def test_missing_robots_allows_all(http_server: HttpTestServer, status: int) -> None:
    http_server.route("/robots.txt", status=status)
    http_server.route("/a", body=PAGE)
    assert page(http_server, "/a").ok


def test_robots_server_error_keeps_the_host_out_for_this_run(http_server: HttpTestServer) -> None:
    http_server.route("/robots.txt", status=503)
    http_server.route("/a", body=PAGE)
    results = run(fetch_pages(http_server, "/a", "/b", settings=replace(FAST, max_retries=1)))
    for result in results:
        # Not 'robots_disallowed': the site forbade nothing, so the page is tried again next run.
        assert result.error_kind == "http_status" and result.attempts == 0
        assert "robots.txt unavailable" in (result.error or "")
    assert http_server.requests_to("/a") == []
    assert len(http_server.requests_to("/robots.txt")) == 2  # one try and one retry, then cached


def test_unreachable_robots_keeps_the_host_out_for_this_run(http_server: HttpTestServer) -> None:
    http_server.route("/robots.txt", drop=True)
    http_server.route("/a", body=PAGE)
    result = page(http_server, "/a", replace(FAST, max_retries=0))
    assert result.error_kind == "connection"
    assert http_server.requests_to("/a") == []


def test_robots_is_fetched_once_for_concurrent_pages(http_server: HttpTestServer) -> None:
    http_server.route("/robots.txt", body=b"User-agent: *\nDisallow:\n", delay=0.05)
    http_server.route("/a", body=PAGE)
    results = run(fetch_pages(http_server, *["/a"] * 6))
    assert all(r.ok for r in results)
    assert len(http_server.requests_to("/robots.txt")) == 1


def test_redirect_to_a_disallowed_page_is_not_followed(http_server: HttpTestServer) -> None:
    http_server.route("/robots.txt", body=b"User-agent: *\nDisallow: /abonnes/\n")
    http_server.route("/a", status=302, redirect_to="/abonnes/a")
    result = page(http_server, "/a")
    assert result.error_kind == "robots_disallowed"
    assert result.final_url == http_server.url("/abonnes/a")
    assert http_server.requests_to("/abonnes/a") == []


def test_robots_redirect_is_followed(http_server: HttpTestServer) -> None:
    http_server.route("/robots.txt", status=301, redirect_to="/static/robots.txt")
    http_server.route("/static/robots.txt", body=b"User-agent: *\nDisallow: /\n")
    assert page(http_server, "/a").error_kind == "robots_disallowed"


def test_robots_does_not_apply_to_feeds(http_server: HttpTestServer) -> None:
    http_server.route("/robots.txt", body=b"User-agent: *\nDisallow: /\n")
    http_server.route("/feed.xml", body=RSS)
    assert feed(http_server).ok
    assert http_server.requests_to("/robots.txt") == []


def test_ignore_robots_for_skips_robots_entirely(http_server: HttpTestServer) -> None:
    http_server.route("/robots.txt", body=b"User-agent: *\nDisallow: /\n")
    http_server.route("/a", body=PAGE)
    settings = replace(FAST, ignore_robots_for=frozenset({"127.0.0.1"}))
    assert page(http_server, "/a", settings).ok
    assert http_server.requests_to("/robots.txt") == []


def test_crawl_delay_spaces_requests(http_server: HttpTestServer) -> None:
    http_server.route("/robots.txt", body=b"User-agent: *\nCrawl-delay: 0.15\n")
    http_server.route("/a", body=PAGE)
    results = run(fetch_pages(http_server, "/a", "/a", "/a"))
    assert all(r.ok for r in results)
    gaps = start_gaps(http_server.requests)  # robots.txt, then three pages
    assert len(gaps) == 3 and min(gaps) >= SPACING_SEEN_AT_LEAST * 0.15


# -- politeness ----------------------------------------------------------------------------------


def test_min_host_delay_spaces_request_starts(http_server: HttpTestServer) -> None:
    http_server.route("/feed.xml", body=RSS)
    settings = replace(FAST, min_host_delay=0.15, per_host_concurrency=4)

    async def go() -> None:
        async with Fetcher(settings) as fetcher:
            await asyncio.gather(
                *(fetcher.fetch_feed(http_server.url("/feed.xml")) for _ in range(4))
            )

    run(go())
    gaps = start_gaps(http_server.requests)
    # Without spacing the four would arrive together; the margin absorbs the server's jitter.
    assert len(gaps) == 3 and min(gaps) >= SPACING_SEEN_AT_LEAST * 0.15


def test_per_host_concurrency_is_bounded(http_server: HttpTestServer) -> None:
    http_server.route("/slow", body=PAGE, delay=0.1)
    settings = replace(FAST, per_host_concurrency=2, ignore_robots_for=frozenset({"127.0.0.1"}))
    results = run(fetch_pages(http_server, *["/slow"] * 6, settings=settings))
    assert all(r.ok for r in results)
    assert max_overlap(http_server.requests) == 2


def test_global_concurrency_is_bounded_across_hosts() -> None:
    settings = replace(FAST, max_concurrency=2, per_host_concurrency=2)
    servers = [HttpTestServer().start() for _ in range(3)]
    try:
        for server in servers:
            server.route("/feed.xml", body=RSS, delay=0.1)

        async def go() -> list[FetchResult]:
            async with Fetcher(settings) as fetcher:
                return await asyncio.gather(
                    *(fetcher.fetch_feed(s.url("/feed.xml")) for s in servers for _ in range(2))
                )

        assert all(r.ok for r in run(go()))
        assert max_overlap([r for s in servers for r in s.requests]) == 2
    finally:
        for server in servers:
            server.stop()


def test_a_slow_host_does_not_hold_up_another(http_server: HttpTestServer) -> None:
    settings = replace(FAST, min_host_delay=0.2)
    with HttpTestServer() as other:
        http_server.route("/feed.xml", body=RSS)
        other.route("/feed.xml", body=RSS)

        async def go() -> None:
            async with Fetcher(settings) as fetcher:
                await asyncio.gather(
                    *(
                        fetcher.fetch_feed(s.url("/feed.xml"))
                        for s in (http_server, other)
                        for _ in range(2)
                    )
                )

        run(go())
        first_of_each = [http_server.requests[0].started, other.requests[0].started]
        second_of_each = [http_server.requests[1].started, other.requests[1].started]
        # Both hosts got their first request before either host got its second.
        assert max(first_of_each) < min(second_of_each)


# -- reporting -----------------------------------------------------------------------------------


def test_stats_count_requests_retries_and_robots(http_server: HttpTestServer) -> None:
    http_server.route("/feed.xml", body=RSS)
    http_server.route("/a", responses=[Response(status=503), Response(body=PAGE)])
    http_server.route("/gone", status=404)

    async def go() -> dict[str, int]:
        async with Fetcher(FAST) as fetcher:
            await fetcher.fetch_feed(http_server.url("/feed.xml"))
            origin = http_server.url("/feed.xml")
            await fetcher.fetch_page(http_server.url("/a"), origin=origin)
            await fetcher.fetch_page(http_server.url("/gone"), origin=origin)
            return fetcher.stats

    stats = run(go())
    assert stats["requests"] == len(http_server.requests) == 5  # feed, robots, 503, 200, 404
    assert stats["retries"] == 1
    assert stats["robots_fetches"] == 1
    assert stats["errors"] == 1
    assert stats["bytes"] == len(RSS) + len(PAGE)


def test_fetcher_refuses_unworkable_settings() -> None:
    with pytest.raises(UsageError, match=r"network\.max_concurrency"):
        Fetcher(replace(FAST, max_concurrency=0))
