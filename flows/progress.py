"""A progress bar for long runs on a terminal, kept out of the flows' parameters.

Flow parameters are serialised by Prefect, so the bar is installed here by the command line and
looked up by the flow; scheduled runs (no terminal) simply have none.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

ProgressHook = Callable[[str, int], None]  # ("total", n) adds work, ("advance", n) completes it


def _no_progress(event: str, amount: int) -> None:
    return None


_current: ProgressHook = _no_progress


def report(event: str, amount: int) -> None:
    _current(event, amount)


@contextmanager
def progress_bar(description: str, enabled: bool | None = None) -> Iterator[None]:
    """Show a bar on stderr while the block runs (only on a terminal unless told otherwise)."""
    global _current
    if enabled is None:
        enabled = sys.stderr.isatty()
    if not enabled:
        yield
        return
    bar = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        transient=True,
    )
    task_id = bar.add_task(description, total=0)

    def hook(event: str, amount: int) -> None:
        if event == "total":
            bar.update(task_id, total=(bar.tasks[0].total or 0) + amount)
        else:
            bar.advance(task_id, amount)

    _current = hook
    try:
        with bar:
            yield
    finally:
        _current = _no_progress
