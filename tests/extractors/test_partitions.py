"""Feeds split over workers: each host in exactly one partition, the same one everywhere."""

from __future__ import annotations

import subprocess
import sys

import pytest

from extractors.errors import UsageError
from extractors.partitions import Partition, all_partitions, parse_partition, partition_of_host

HOSTS = [f"127.0.0.{n}" for n in range(2, 202)] + ["www.lesahel.org", "aib.media", "ortm.ml"]


@pytest.mark.parametrize("value", ["2/4", " 2 / 4 ", "1/1", "4/4"])
def test_a_partition_is_written_i_of_n(value):
    part = parse_partition(value)
    assert str(part) == value.replace(" ", "") and part.scope == f"ingest:{part}"


@pytest.mark.parametrize("value", ["0/4", "5/4", "2", "2/0", "a/b", "-1/4", "", "2/4/8", "1/2000"])
def test_anything_else_is_refused_with_the_form(value):
    with pytest.raises(UsageError, match="i/N"):
        parse_partition(value)


def test_every_host_belongs_to_exactly_one_partition():
    parts = all_partitions(4)
    for host in HOSTS:
        owners = [p for p in parts if p.owns(f"http://{host}/article/1.html")]
        assert len(owners) == 1


def test_hosts_spread_over_all_partitions():
    counts = {n: 0 for n in range(1, 5)}
    for host in HOSTS:
        counts[partition_of_host(host, 4)] += 1
    assert all(count > len(HOSTS) // 8 for count in counts.values()), counts


def test_the_partition_of_a_host_is_the_same_in_another_process():
    """Not Python's hash(), which is salted per process: workers on other machines agree."""
    script = "from extractors.partitions import partition_of_host as p; print(p('aib.media', 7))"
    other = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    assert int(other.stdout) == partition_of_host("aib.media", 7)


def test_the_port_and_case_of_a_url_do_not_move_its_host():
    part = Partition(partition_of_host("aib.media", 3), 3)
    assert part.owns("http://AIB.media:8080/a") and part.owns("https://aib.media/b")
