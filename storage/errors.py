"""The errors every layer shares, kept at the bottom so that storage needs nothing above it.

Each carries a one-line message fit for an operator's terminal; the CLI turns a `PairchiveError` into that
line and an exit status, never a traceback.
"""

from storage.redact import scrub


class PairchiveError(Exception):
    """Base class: an expected failure with a one-line explanation."""


class StorageError(PairchiveError):
    """The database cannot be reached, created or migrated."""


class NoArchive(StorageError):
    """No archive here yet: a missing SQLite file, or a database without pairchive's schema. A reader
    says so; a writer (a crawl, `pairchive db upgrade`) creates it."""


class DatabaseUnreachable(StorageError):
    """A database server did not answer (down, starting, or the network): worth trying again later."""


def first_line(exc: BaseException, *, with_type: bool = False) -> str:
    """An exception as one line for a log or a terminal: the driver's own message when SQLAlchemy wraps
    one (`orig`), its first line, and the exception's type when asked for or when there is no message.
    A password in it (a driver may echo the connection string) is hidden."""
    text = scrub(str(getattr(exc, "orig", None) or exc)).strip()
    if not text:
        return type(exc).__name__
    line = text.splitlines()[0]
    return f"{type(exc).__name__}: {line}" if with_type else line
