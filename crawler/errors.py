"""Domain errors. Each carries a one-line message fit for an operator's terminal."""


class PairchiveError(Exception):
    """Base class: an expected failure with a one-line explanation."""


class SourceConfigError(PairchiveError):
    """A sources file is missing, malformed, or has an invalid source."""


class StorageError(PairchiveError):
    """The database cannot be reached, created or migrated."""


class DatabaseUnreachable(StorageError):
    """A database server did not answer (down, starting, or the network): worth trying again later."""
