"""Class 2, secrets in output: database URLs carrying a password that cannot be used (a closed port, a
driver that does not exist, a URL that does not parse, a server that refuses the database), and a portal
whose address carries one (`http://user:password@host/`). No password may reach stdout, stderr, a log or a
run record.

Inputs are URL templates: `{secret}` is SECRET, `{pg}` the host and port of the PostgreSQL server the
tests use (cases that need it are skipped without one).
"""

from __future__ import annotations

from tests.crawls import article_page
from tests.hostile import Case, HostileHandler

SECRET = "c02-s3cret-Pw"


def _listing(handler: HostileHandler) -> None:
    handler.send_body(b'<html><body><a href="/c02/private/a/1.html">one</a></body></html>')


def _article(handler: HostileHandler) -> None:
    handler.send_body(article_page("c02"))


UNREACHABLE = (
    "postgresql+psycopg://pairchive:{secret}@127.0.0.1:1/archive",
    "postgresql+nosuchdriver://pairchive:{secret}@127.0.0.1:1/archive",
)
UNPARSABLE = (
    "postgresql+psycopg://pairchive:{secret}@127.0.0.1:notaport/archive",
    "postgresql+psycopg://pairchive:{secret}@[::1/archive",
    "postgresql+psycopg://pairchive:{secret}@127.0.0.1:99999999999/archive",
)
REFUSING = ("postgresql+psycopg://postgres:{secret}@{pg}/c02_no_such_database",)

CASES = [
    Case(
        klass=2,
        name="unreachable-database-with-a-password",
        does="a database URL with a password on a closed port, and one naming a driver that does not exist",
        inputs=UNREACHABLE,
    ),
    Case(
        klass=2,
        name="unparsable-database-url-with-a-password",
        does="database URLs with a password and a port that is not a number, an open bracket, a huge port",
        inputs=UNPARSABLE,
    ),
    Case(
        klass=2,
        name="refusing-database-with-a-password",
        does="a database URL with a password to a server that answers but has no such database",
        inputs=REFUSING,
    ),
    Case(
        klass=2,
        name="portal-address-with-a-password",
        does="a source whose entry point is http://user:password@host/: refused when the file loads",
        routes={"private/list.html": _listing, "private/a/1.html": _article},
        inputs=("http://editor:{secret}@{host}/c02/private/list.html",),
    ),
]
