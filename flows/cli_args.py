"""Argument types shared by the command line's modules: clear messages for bad numbers."""

from __future__ import annotations

import argparse
from datetime import date


def positive_int(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number of 1 or more, got {value!r}")
    return number


def non_negative_seconds(value: str) -> float:
    return _non_negative(value, "seconds")


def non_negative_days(value: str) -> float:
    return _non_negative(value, "days")


def _non_negative(value: str, unit: str) -> float:
    try:
        number = float(value)
    except ValueError:
        number = -1.0
    if not 0 <= number < float("inf"):
        raise argparse.ArgumentTypeError(f"must be a number of {unit}, 0 or more, got {value!r}")
    return number


def positive_rate(value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        number = 0.0
    if number <= 0:
        raise argparse.ArgumentTypeError(
            f"must be a number of pages per second above 0, got {value!r}"
        )
    return number


def iso_date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a date as YYYY-MM-DD, got {value!r}") from None
