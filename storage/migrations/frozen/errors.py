"""The error a migration raises when what the database holds keeps it from running."""

from __future__ import annotations


class MigrationRefused(Exception):
    """A migration that will not run on the rows it found (the message says which, in one line); nothing
    of it is applied, and the rows stay as they are."""
