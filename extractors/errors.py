"""The project's one error hierarchy.

Every error a user can cause or fix derives from `SahelwatchError`; the CLI turns it into a
one-line message and the exit code it carries. Anything else is a bug and keeps its traceback.
"""

from __future__ import annotations


class SahelwatchError(Exception):
    """An error with a message meant for the user and the exit code the CLI should return."""

    exit_code = 1


class UsageError(SahelwatchError):
    """The user asked for something that cannot be done as asked (bad SQL, bad option)."""

    exit_code = 2


class ConfigError(SahelwatchError):
    """A configuration file is invalid. The message names the file, the entry and the fix."""

    def __init__(self, path: str, entry: str, problem: str) -> None:
        self.path, self.entry, self.problem = path, entry, problem
        where = f"{path}: {entry}" if entry else path
        super().__init__(f"{where}: {problem}")


class StoreError(SahelwatchError):
    """The store cannot be opened or written (locked, too new, not writable)."""


class StoreLockedError(StoreError):
    """Another process held the store's write lock for longer than we were willing to wait."""


class StoreBusyError(StoreError):
    """Another flow run holds the store's run lease: two writers would fetch and store twice."""


class SchemaTooNewError(StoreError):
    """The store was written by a newer sahelwatch; opening it could corrupt it."""


class SourceError(SahelwatchError):
    """A backfill source cannot be read (not a sitemap, over the size cap, a corrupt WARC record).

    The message is one line naming the source (URL, file, file offset) and the problem.
    """

    def __init__(self, locator: str, problem: str) -> None:
        self.locator, self.problem = locator, problem
        super().__init__(f"{locator}: {' '.join(problem.split())}")
