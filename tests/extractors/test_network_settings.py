"""The network settings from feeds.yaml, and which HTTP statuses are worth asking again."""

from __future__ import annotations

from dataclasses import replace

import pytest

from extractors.network_settings import NetworkSettings, is_retryable_status, settings_problems


@pytest.mark.parametrize(
    ("status", "retry"),
    [
        (429, True),
        (500, True),
        (502, True),
        (503, True),
        (504, True),
        (400, False),
        (401, False),
        (403, False),
        (404, False),
        (410, False),
        (451, False),
        (200, False),
    ],
)
def test_only_overload_and_server_errors_are_retried(status: int, retry: bool) -> None:
    assert is_retryable_status(status) is retry


def test_default_user_agent_names_the_project_and_a_contact() -> None:
    agent = NetworkSettings().user_agent
    assert agent.startswith("sahelwatch/")
    assert "+https://" in agent


def test_default_settings_are_usable() -> None:
    assert settings_problems(NetworkSettings()) == []


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"max_concurrency": 0}, "max_concurrency"),
        ({"per_host_concurrency": 0}, "per_host_concurrency"),
        ({"max_page_bytes": 0}, "max_page_bytes"),
        ({"total_timeout": 0.0}, "total_timeout"),
        ({"min_host_delay": -1.0}, "min_host_delay"),
        ({"user_agent": "sahelwatch\r\nX-Injected: 1"}, "user_agent"),
        ({"user_agent": "  "}, "user_agent"),
    ],
)
def test_unworkable_settings_are_named(change: dict, field: str) -> None:
    problems = settings_problems(replace(NetworkSettings(), **change))
    assert [name for name, _ in problems] == [field]


@pytest.mark.parametrize(
    "proxy", ["", "none", "http://proxy.example:3128", "https://user:pw@proxy.example/"]
)
def test_proxy_setting_takes_the_environment_none_or_an_http_proxy(proxy: str) -> None:
    assert settings_problems(replace(NetworkSettings(), proxy=proxy)) == []


@pytest.mark.parametrize(
    "proxy", ["socks5://proxy.example:1080", "proxy.example:3128", "http://proxy:abc", "http://"]
)
def test_unusable_proxy_setting_is_named(proxy: str) -> None:
    problems = settings_problems(replace(NetworkSettings(), proxy=proxy))
    assert [name for name, _ in problems] == ["proxy"]
