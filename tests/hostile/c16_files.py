"""Class 16, files and URLs: sources files nested deeper than the TOML parser recurses (arrays, inline
tables, both), database URLs that do not parse (a port that is not a number or out of range, a broken
IPv6 address), and output that cannot be written (a full device, a directory, a missing directory).

Sources inputs are whole files; database inputs are URLs; output inputs are command lines (shlex), in
which `{out}` stands for where the output goes.
"""

from __future__ import annotations

from tests.crawls import article_page
from tests.hostile import Case, HostileHandler


def _listing(handler: HostileHandler) -> None:
    handler.send_body(b'<html><body><a href="/c16/a/1.html">1</a></body></html>')


def _article(handler: HostileHandler) -> None:
    handler.send_body(article_page("c16"))


SOURCE = """[[source]]
name = "c16"
start_urls = ["http://127.0.0.1:9/c16/"]
article_pattern = "/c16/"
schedule = "0 2 * * *"
"""
DEPTH = 20_000

DEEP_SOURCES = (
    SOURCE + "nested = " + "[" * DEPTH + "]" * DEPTH + "\n",
    SOURCE + "nested = " + "{a = " * DEPTH + "1" + "}" * DEPTH + "\n",
    SOURCE + "nested = " + "[{a = " * (DEPTH // 2) + "1" + "}]" * (DEPTH // 2) + "\n",
    "[[source]]\n" + "x = " + "[" * DEPTH + "\n",  # and never closed
)
# Each with its exit status: 2 for a URL that does not parse or names a port no TCP port can be.
BAD_DATABASE_URLS = {
    "postgresql+psycopg://pairchive@127.0.0.1:port/archive": 2,
    "postgresql+psycopg://pairchive@127.0.0.1:5x/archive": 2,
    "postgresql+psycopg://pairchive@[::1/archive": 2,
    "://archive": 2,
    "postgresql+psycopg://pairchive@127.0.0.1:-1/archive": 2,
    "postgresql+psycopg://pairchive@127.0.0.1:65536/archive": 2,
    "postgresql+psycopg://pairchive@127.0.0.1:0/archive": 2,
}
# Output that cannot be written: where it goes is `{out}`.
UNWRITABLE = {
    "export --format csv -o {out}": "/dev/full",
    "export -o {out}": "/dev/full",
}
UNWRITABLE_STDOUT = (
    "export --format csv",
    "search 结对 --all --csv",
    "show 1 --json",
    "runs --json",
)
UNOPENABLE = {
    "a directory": "export -o {tmp}",
    "a missing directory": "export -o {tmp}/missing/out.csv",
}

CASES = [
    Case(
        klass=16,
        name="deeply-nested-sources-file",
        does="sources files nested 20,000 deep in arrays, inline tables, both, and an array never closed",
        inputs=DEEP_SOURCES,
    ),
    Case(
        klass=16,
        name="database-url-that-does-not-parse",
        does="database URLs with a port that is not a number or negative, an open IPv6 bracket, no scheme",
        inputs=tuple(BAD_DATABASE_URLS),
    ),
    Case(
        klass=16,
        name="output-to-a-full-device",
        does="export -o /dev/full, and export, search, show and runs with stdout on /dev/full, of a story",
        routes={"list.html": _listing, "a/1.html": _article},
        inputs=(*UNWRITABLE, *UNWRITABLE_STDOUT),
    ),
    Case(
        klass=16,
        name="output-that-cannot-be-opened",
        does="export -o a directory, or a file in a directory that does not exist",
        inputs=tuple(UNOPENABLE.values()),
    ),
]
