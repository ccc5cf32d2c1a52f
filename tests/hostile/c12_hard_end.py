"""Class 12, run records after a hard end: a portal that holds its second article until the test lets
it go, so a crawl is caught mid-run when its parent is killed, or when a time limit or a stop needs a kill.

The run must be closed with counts that match what it stored, whichever process survives: the crawl
process whose parent died (its progress pipe dead), or the parent that killed its crawl process.
"""

from __future__ import annotations

import threading

from tests.crawls import WAIT, article_page
from tests.hostile import Case, HostileHandler


class Gate:
    """The held article: `asked` is set when a crawl asks for it, `release` lets it answer. One test at a
    time uses it (reset() at its start)."""

    asked = threading.Event()
    release = threading.Event()

    @classmethod
    def reset(cls) -> None:
        cls.asked.clear()
        cls.release.clear()


def _listing(handler: HostileHandler) -> None:
    handler.send_body(b'<html><body><a href="a/1.html">one</a> <a href="a/2.html">two</a></body></html>')


def _first(handler: HostileHandler) -> None:
    handler.send_body(article_page(1))


def _held(handler: HostileHandler) -> None:
    Gate.asked.set()
    Gate.release.wait(WAIT)
    handler.send_body(article_page(2))


CASES = [
    Case(
        klass=12,
        name="crawl-caught-mid-run",
        does="a listing of two articles, the second held until released: a crawl to kill mid-run",
        routes={"list.html": _listing, "a/1.html": _first, "a/2.html": _held},
    ),
]


def sources_toml(list_url: str, name: str = "held") -> str:
    """A sources file with the one source of this case, at `list_url`."""
    return f'[[source]]\nname = "{name}"\nstart_urls = ["{list_url}"]\narticle_pattern = "/a/"\n'
