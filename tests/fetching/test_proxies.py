"""Proxies: feeds.yaml's `network.proxy` wins, else HTTP(S)_PROXY / NO_PROXY; the private-address
guard still applies to the target. Requests go through a real forward proxy on 127.0.0.1."""

from __future__ import annotations

import asyncio
import socket
from dataclasses import replace

import pytest

from extractors.errors import UsageError
from extractors.network_settings import NO_PROXY, NetworkSettings
from fetching.client import Fetcher, FetchResult
from fetching.proxies import ProxyChooser
from tests.support.forward_proxy import ForwardProxy
from tests.support.http_server import HttpTestServer

FAST = NetworkSettings(min_host_delay=0.0, backoff_base=0.01, backoff_max=0.02, max_retries=0)
RSS = b'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel></channel></rss>'
ENV = {"http": "http://proxy.example:3128", "https": "http://secure-proxy.example:3128"}


def dead_proxy() -> str:
    """A proxy address where nothing listens: a request sent through it fails."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{probe.getsockname()[1]}"


class NewsResolver:
    """news.test and intranet.test as a DNS would answer them on this test machine."""

    async def __call__(self, host: str, port: int) -> list[str]:
        return {"news.test": ["127.0.0.1"], "intranet.test": ["10.0.0.5"]}[host]


def fetch_feed(url: str, settings: NetworkSettings) -> FetchResult:
    async def go() -> FetchResult:
        async with Fetcher(settings, resolver=NewsResolver()) as fetcher:
            return await fetcher.fetch_feed(url)

    return asyncio.run(go())


@pytest.fixture
def news(http_server: HttpTestServer) -> str:
    """A feed at http://news.test:PORT/rss.xml, served by the test server."""
    http_server.route("/rss.xml", body=RSS)
    return f"http://news.test:{http_server.port}/rss.xml"


LOCAL_NEWS = replace(FAST, allow_private_hosts=frozenset({"news.test"}))


# -- which proxy: the rules ----------------------------------------------------------------------


def test_environment_proxy_is_chosen_by_the_target_scheme() -> None:
    chooser = ProxyChooser("", ENV)
    assert chooser.proxy_for("http://lesahelien.example/a") == ENV["http"]
    assert chooser.proxy_for("https://lesahelien.example/a") == ENV["https"]


def test_all_proxy_applies_when_no_scheme_has_its_own() -> None:
    chooser = ProxyChooser("", {"all": "proxy.example:3128"})
    assert chooser.proxy_for("https://lesahelien.example/a") == "http://proxy.example:3128"


def test_no_proxy_lists_hosts_and_domains_reached_directly() -> None:
    chooser = ProxyChooser("", {**ENV, "no": "intranet.example, .agence.example"})
    assert chooser.proxy_for("http://intranet.example/a") is None
    assert chooser.proxy_for("http://photos.agence.example/a") is None
    assert chooser.proxy_for("http://lesahelien.example/a") == ENV["http"]


def test_configured_proxy_wins_over_the_environment() -> None:
    configured = "http://configured.example:8080"
    chooser = ProxyChooser(configured, {**ENV, "no": "lesahelien.example"})
    assert chooser.proxy_for("https://lesahelien.example/a") == configured


def test_proxy_none_ignores_the_environment() -> None:
    assert ProxyChooser(NO_PROXY, ENV).proxy_for("http://lesahelien.example/a") is None


@pytest.mark.parametrize("host", ["127.0.0.1", "127.8.9.10", "[::1]", "localhost"])
def test_loopback_targets_never_go_through_a_proxy(host: str) -> None:
    assert ProxyChooser("http://configured.example:8080", ENV).proxy_for(f"http://{host}/") is None


def test_a_socks_proxy_in_the_environment_is_refused_in_one_line(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ALL_PROXY", "socks5://127.0.0.1:1080")
    with pytest.raises(UsageError, match=r"ALL_PROXY.*SOCKS proxies are not supported"):
        Fetcher(FAST)


# -- through a real proxy ------------------------------------------------------------------------


def test_http_proxy_from_the_environment_is_used(
    monkeypatch: pytest.MonkeyPatch, http_server: HttpTestServer, news: str
) -> None:
    with ForwardProxy(hosts={"news.test": "127.0.0.1"}) as proxy:
        monkeypatch.setenv("HTTP_PROXY", proxy.url)
        result = fetch_feed(news, LOCAL_NEWS)
        assert result.ok and result.body == RSS
        assert proxy.requests == [news]
        assert http_server.requests_to("/rss.xml")[0].headers["host"] == news.split("/")[2]


def test_no_proxy_sends_the_request_directly(
    monkeypatch: pytest.MonkeyPatch, http_server: HttpTestServer, news: str
) -> None:
    with ForwardProxy(hosts={"news.test": "127.0.0.1"}) as proxy:
        monkeypatch.setenv("HTTP_PROXY", proxy.url)
        monkeypatch.setenv("NO_PROXY", "news.test")
        assert fetch_feed(news, LOCAL_NEWS).ok
        assert proxy.requests == [] and len(http_server.requests_to("/rss.xml")) == 1


def test_proxy_in_feeds_yaml_wins_over_the_environment(
    monkeypatch: pytest.MonkeyPatch, news: str
) -> None:
    monkeypatch.setenv("HTTP_PROXY", dead_proxy())
    with ForwardProxy(hosts={"news.test": "127.0.0.1"}) as proxy:
        assert fetch_feed(news, replace(LOCAL_NEWS, proxy=proxy.url)).ok
        assert proxy.requests == [news]


def test_proxy_none_in_feeds_yaml_connects_directly(
    monkeypatch: pytest.MonkeyPatch, news: str
) -> None:
    monkeypatch.setenv("HTTP_PROXY", dead_proxy())
    assert fetch_feed(news, replace(LOCAL_NEWS, proxy=NO_PROXY)).ok


def test_the_proxy_environment_is_honoured_at_all(
    monkeypatch: pytest.MonkeyPatch, http_server: HttpTestServer, news: str
) -> None:
    """The counterpart of the tests above: a dead proxy in the environment makes a fetch fail."""
    monkeypatch.setenv("HTTP_PROXY", dead_proxy())
    assert fetch_feed(news, LOCAL_NEWS).error_kind == "connection"
    assert http_server.requests == []


def test_private_address_guard_applies_through_a_proxy(http_server: HttpTestServer) -> None:
    with ForwardProxy(hosts={"intranet.test": "127.0.0.1"}) as proxy:
        settings = replace(FAST, proxy=proxy.url)

        async def go() -> FetchResult:
            async with Fetcher(settings, resolver=NewsResolver()) as fetcher:
                return await fetcher.fetch_page(
                    f"http://intranet.test:{http_server.port}/admin",
                    origin="https://lesahelien.example/rss.xml",
                )

        result = asyncio.run(go())
        assert result.error_kind == "blocked_address"
        assert result.error == "intranet.test resolves to private address 10.0.0.5"
        assert proxy.requests == [] and http_server.requests == []
