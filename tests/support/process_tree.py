"""Peak resident memory of a process and all its descendants, sampled while a fault plays out."""

from __future__ import annotations

import threading
from types import TracebackType

import psutil

# Often enough to catch a short-lived spike of an extraction worker, rarely enough to cost
# nothing measurable on a 2-core machine.
SAMPLE_EVERY_S = 0.05


def tree_rss(root: psutil.Process) -> int:
    """RSS of `root` and its descendants now, in bytes (processes that vanish count as 0)."""
    total = 0
    try:
        members = [root, *root.children(recursive=True)]
    except psutil.Error:
        return 0
    for process in members:
        try:
            total += process.memory_info().rss
        except psutil.Error:
            continue
    return total


class PeakRss:
    """`with PeakRss(pid) as peak: ...; peak.bytes`: the largest tree RSS seen meanwhile."""

    def __init__(self, pid: int | None = None) -> None:
        self.root = psutil.Process(pid)
        self.bytes = tree_rss(self.root)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.wait(SAMPLE_EVERY_S):
            self.bytes = max(self.bytes, tree_rss(self.root))

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join()
        self.bytes = max(self.bytes, tree_rss(self.root))

    @property
    def mib(self) -> float:
        return self.bytes / 2**20
