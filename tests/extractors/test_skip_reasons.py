"""Which skip reason a failed fetch becomes, and so whether a later run tries the page again."""

from __future__ import annotations

import pytest

from extractors.models import RETRYABLE_SKIPS, SkipReason, skip_reason_for_fetch


@pytest.mark.parametrize(
    "error_kind,status,reason",
    [
        ("http_status", 404, SkipReason.HTTP_ERROR),
        ("http_status", 410, SkipReason.HTTP_ERROR),
        ("http_status", 429, SkipReason.FETCH_FAILED),
        ("http_status", 503, SkipReason.FETCH_FAILED),
        ("timeout", None, SkipReason.FETCH_FAILED),
        ("connection", None, SkipReason.FETCH_FAILED),
        ("robots_disallowed", None, SkipReason.ROBOTS),
        ("blocked_address", None, SkipReason.BLOCKED_ADDRESS),
        ("bad_scheme", None, SkipReason.BAD_LINK),
        ("too_large", 200, SkipReason.TOO_LARGE),
    ],
)
def test_fetch_error_becomes_its_skip_reason(error_kind, status, reason):
    assert skip_reason_for_fetch(error_kind, status) == reason


def test_only_passing_failures_are_retried():
    assert skip_reason_for_fetch("http_status", 503) in RETRYABLE_SKIPS
    assert skip_reason_for_fetch("http_status", 404) not in RETRYABLE_SKIPS
    assert skip_reason_for_fetch("robots_disallowed", None) not in RETRYABLE_SKIPS
