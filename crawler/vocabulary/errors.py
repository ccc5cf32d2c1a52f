"""Domain errors. Each carries a one-line message fit for an operator's terminal.

The base class and the storage errors live in `storage.errors` (the bottom layer); they are named here too
so that the floors above have one place to import errors from.
"""

from storage.errors import DatabaseUnreachable, PairchiveError, StorageError, first_line

__all__ = ["DatabaseUnreachable", "PairchiveError", "SourceConfigError", "StorageError", "first_line"]


class SourceConfigError(PairchiveError):
    """A sources file is missing, malformed, or has an invalid source."""
