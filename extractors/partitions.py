"""Splitting the feeds over workers: each host belongs to exactly one partition.

A partition is written `i/N` (1 <= i <= N). A feed goes to the partition of its host, found by a
stable hash, so the same host lands in the same partition on every machine and every run: one
worker polls all of an outlet's feeds and fetches most of its pages, which keeps its politeness
local. (A page linked from a feed may sit on another outlet's host; across workers, the Prefect
concurrency limit of that host keeps it polite, see flows/host_limits.py.)
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from extractors.errors import UsageError

_FORM = re.compile(r"^\s*(?P<index>\d+)\s*/\s*(?P<count>\d+)\s*$")
# More partitions than this is a typo (workers are machines or processes, not thousands).
MAX_PARTITIONS = 1024


@dataclass(frozen=True, slots=True)
class Partition:
    index: int  # 1-based
    count: int

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"

    @property
    def scope(self) -> str:
        """The run lease's scope of an ingest of this partition (storage/leases.py)."""
        return f"ingest:{self}"

    def owns(self, url: str) -> bool:
        return partition_of_host(host_of(url), self.count) == self.index


def parse_partition(value: str) -> Partition:
    match = _FORM.match(value or "")
    index, count = (int(match["index"]), int(match["count"])) if match else (0, 0)
    if not (1 <= index <= count <= MAX_PARTITIONS):
        raise UsageError(
            f"partition {value!r} is not of the form i/N with 1 <= i <= N <= {MAX_PARTITIONS} "
            "(e.g. 2/4: the second of four)"
        )
    return Partition(index, count)


def all_partitions(count: int) -> list[Partition]:
    if not 1 <= count <= MAX_PARTITIONS:
        raise UsageError(f"partitions must be from 1 to {MAX_PARTITIONS}, not {count}")
    return [Partition(i, count) for i in range(1, count + 1)]


def host_of(url: str) -> str:
    return (urlsplit(url).hostname or "").lower()


def partition_of_host(host: str, count: int) -> int:
    """1..count, the same for a host everywhere (sha1, not Python's per-process salted hash)."""
    digest = hashlib.sha1(host.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % count + 1
