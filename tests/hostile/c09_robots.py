"""Class 9, a robots.txt that never answers: the server takes the connection for `robots.txt` and sends
nothing, until the test lets it go (`let_go`); its listing and article answer at once.

Scrapy asks for robots.txt at the root of a host (`/robots.txt`), which the shared hostile web answers
with a 404 for every class; a test of this class serves these routes on a web of its own, `robots.txt` at
the root (`robots_web`), and the rest under `/c09/` as everywhere.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import cast

from tests.crawls import STORY, WAIT
from tests.hostile import Case, HostileHandler, HostileWeb, Route, class_folder, routes

ROBOTS = "robots.txt"
let_go = threading.Event()  # set by a test once its crawl is over: the silent robots.txt then hangs up


def _silent(handler: HostileHandler) -> None:
    let_go.wait(WAIT)  # answers nothing; the connection closes when the test is done with it
    handler.close_connection = True


def _listing(handler: HostileHandler) -> None:
    handler.send_body(f'<html><body><a href="{class_folder(9)}a/1.html">结对</a></body></html>'.encode())


def _article(handler: HostileHandler) -> None:
    title = "robots.txt 不应答时：两地学校结对"
    handler.send_body(
        f"<html><head><title>{title}</title></head><body><h1>{title}</h1><p>{STORY}</p></body></html>".encode()
    )


CASES = [
    Case(
        klass=9,
        name="robots-txt-never-answers",
        does="robots.txt takes the connection and never answers: one warning line, the portal crawled as allowed",
        routes={ROBOTS: _silent, "list.html": _listing, "a/1.html": _article},
    ),
]


@contextmanager
def robots_web() -> Iterator[HostileWeb]:
    """A hostile web whose `/robots.txt` is this class's silent one (the rest as the shared web serves it)."""
    table: dict[str, Route] = {**routes(), "/" + ROBOTS: _silent}
    web = HostileWeb()
    handler = cast(type[HostileHandler], web.handler)
    handler.table = table
    let_go.clear()
    with web:
        try:
            yield web
        finally:
            let_go.set()
