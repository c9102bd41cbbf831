"""Which addresses may be contacted, when to retry and how long to wait: the pure rules."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from fetching.netpolicy import (
    MAX_CRAWL_DELAY,
    address_check_exempt,
    backoff_delay,
    blocked_address_reason,
    classify_address,
    host_delay,
    host_key,
    is_allowed_scheme,
    keeps_request_headers,
    parse_retry_after,
    same_origin,
)

NOW = datetime(2025, 3, 14, 12, 0, 0, tzinfo=UTC)
FEED = "https://lesahelien.example/rss.xml"


@pytest.mark.parametrize(
    ("ip", "kind"),
    [
        ("127.0.0.1", "loopback"),
        ("127.8.9.10", "loopback"),
        ("::1", "loopback"),
        ("10.0.0.5", "private"),
        ("172.16.3.4", "private"),
        ("192.168.1.1", "private"),
        ("fd00::1", "private"),
        ("169.254.169.254", "link_local"),  # cloud metadata endpoint
        ("fe80::1", "link_local"),
        ("224.0.0.1", "multicast"),
        ("ff02::1", "multicast"),
        ("0.0.0.0", "reserved"),
        ("240.0.0.1", "reserved"),
        ("100.64.0.1", "reserved"),  # carrier-grade NAT: not routable on the internet
        ("196.200.80.10", "public"),
        ("2001:4860:4860::8888", "public"),
    ],
)
def test_addresses_are_classified_by_where_they_lead(ip: str, kind: str) -> None:
    assert classify_address(ip) == kind


def test_ipv4_written_inside_ipv6_is_judged_as_the_ipv4_address() -> None:
    assert classify_address("::ffff:10.0.0.1") == "private"
    assert classify_address("::ffff:127.0.0.1") == "loopback"
    assert classify_address("2002:a00:5::1") == "private"  # 6to4 of 10.0.0.5
    assert classify_address("2002:7f00:1::1") == "loopback"
    assert classify_address("2002:c4c8:500a::1") == "public"  # 6to4 of 196.200.80.10


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("https://lesahelien.example/article", True),
        ("HTTP://lesahelien.example/article", True),
        ("ftp://lesahelien.example/article.txt", False),
        ("javascript:alert(1)", False),
        ("mailto:redaction@lesahelien.example", False),
        ("file:///etc/passwd", False),
        ("/relative/path", False),
    ],
)
def test_only_http_and_https_may_be_fetched(url: str, allowed: bool) -> None:
    assert is_allowed_scheme(url) is allowed


def test_explicit_default_port_is_the_same_origin() -> None:
    assert same_origin("http://bamako.example/a", "http://BAMAKO.example:80/b?x=1")
    assert same_origin("https://bamako.example/a", "https://bamako.example:443/b")


def test_other_scheme_host_or_port_is_another_origin() -> None:
    assert not same_origin("http://bamako.example/a", "https://bamako.example/a")
    assert not same_origin("http://bamako.example/a", "http://bamako.example:8080/a")
    assert not same_origin("http://bamako.example/a", "http://www.bamako.example/a")


def test_url_without_host_has_no_origin() -> None:
    assert not same_origin("http:///a", "http:///a")


def test_host_key_counts_ports_as_distinct_hosts() -> None:
    assert host_key("http://127.0.0.1:8001/a") == "127.0.0.1:8001"
    assert host_key("https://Niamey.example/a") == "niamey.example:443"
    assert host_key("http://[::1]:8080/") == "[::1]:8080"
    assert host_key("http://127.0.0.1:8001/a") != host_key("http://127.0.0.1:8002/a")


def test_links_on_the_feeds_own_origin_are_exempt_from_the_address_check() -> None:
    feed = "http://127.0.0.1:8000/feed.xml"
    assert address_check_exempt("http://127.0.0.1:8000/article/1", feed, frozenset())
    assert not address_check_exempt("http://127.0.0.1:9000/article/1", feed, frozenset())


def test_hosts_listed_by_the_user_are_exempt_from_the_address_check() -> None:
    allowed = frozenset({"intranet.example", "127.0.0.1:9000"})
    assert address_check_exempt("http://intranet.example/a", FEED, allowed)
    assert address_check_exempt("http://127.0.0.1:9000/a", FEED, allowed)
    assert not address_check_exempt("http://127.0.0.1:9001/a", FEED, allowed)


def test_one_private_address_among_public_ones_blocks_the_host() -> None:
    reason = blocked_address_reason("evil.example", ["196.200.80.10", "10.0.0.5"])
    assert reason == "evil.example resolves to private address 10.0.0.5"


def test_public_addresses_are_not_blocked() -> None:
    assert (
        blocked_address_reason("lesahelien.example", ["196.200.80.10", "2001:4860:4860::8888"])
        is None
    )


def test_a_host_without_addresses_is_blocked() -> None:
    assert blocked_address_reason("nulle.example", []) is not None


def test_retry_after_in_seconds() -> None:
    assert parse_retry_after("120", NOW) == 120.0
    assert parse_retry_after(" 0 ", NOW) == 0.0


def test_retry_after_as_http_date_counts_from_now() -> None:
    later = format_datetime(NOW + timedelta(seconds=90), usegmt=True)
    assert parse_retry_after(later, NOW) == 90.0


def test_retry_after_in_the_past_means_now() -> None:
    earlier = format_datetime(NOW - timedelta(hours=1), usegmt=True)
    assert parse_retry_after(earlier, NOW) == 0.0


@pytest.mark.parametrize("value", [None, "", "bientôt", "-5", "1.5e3", "Mon, 99 Foo"])
def test_unusable_retry_after_is_ignored(value: str | None) -> None:
    assert parse_retry_after(value, NOW) is None


def test_backoff_stays_within_an_exponentially_growing_capped_ceiling() -> None:
    rng = random.Random(7)
    for attempt in range(12):
        ceiling = min(4.0, 0.5 * 2**attempt)
        delays = [backoff_delay(attempt, 0.5, 4.0, rng) for _ in range(200)]
        assert all(0.0 <= d <= ceiling for d in delays)
        # Full jitter: the delays spread over the whole range rather than bunching at the top.
        assert min(delays) < ceiling * 0.1 and max(delays) > ceiling * 0.9


def test_backoff_survives_absurd_attempt_numbers() -> None:
    assert 0.0 <= backoff_delay(10_000, 0.5, 30.0, random.Random(1)) <= 30.0


def test_crawl_delay_raises_the_host_delay() -> None:
    assert host_delay(1.0, 5.0) == 5.0


def test_crawl_delay_never_lowers_our_own_delay() -> None:
    assert host_delay(2.0, 0.5) == 2.0
    assert host_delay(2.0, None) == 2.0


def test_huge_crawl_delay_is_capped() -> None:
    assert host_delay(1.0, 86_400.0) == MAX_CRAWL_DELAY


@pytest.mark.parametrize(
    ("to", "kept"),
    [
        ("http://bamako.example/b", True),
        ("http://BAMAKO.example:80/c", True),
        ("https://bamako.example/a", True),  # the usual upgrade to https on the same host
        ("https://bamako.example:8443/a", False),
        ("http://bamako.example:8080/a", False),
        ("http://cdn.bamako.example/a", False),
        ("http://autre.example/a", False),
    ],
)
def test_request_headers_follow_a_redirect_on_the_same_site_only(to: str, kept: bool) -> None:
    assert keeps_request_headers("http://bamako.example/a", to) is kept


def test_request_headers_never_follow_a_downgrade_to_http() -> None:
    assert not keeps_request_headers("https://bamako.example/a", "http://bamako.example/a")
