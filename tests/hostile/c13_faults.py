"""Class 13, leases and reasons after faults: a database that goes away mid-crawl (a TCP proxy in front
of PostgreSQL that the test cuts and restores; the machine's server is never touched), a full disk (in
tests/test_full_disk.py), a daemon restarted over a dead lease (tests/test_daemon.py), and `-s` values
that Scrapy cannot read.

The portal is class 12's kind: two articles, the second held until the test releases it, so the fault
comes while the crawl is mid-run.
"""

from __future__ import annotations

import contextlib
import socket
import threading

from tests.crawls import WAIT, article_page
from tests.hostile import Case, HostileHandler


class Gate:
    """The held article: `asked` is set when a crawl asks for it, `release` lets it answer."""

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


# -s values Scrapy cannot read as their setting's kind: each a usage error before any crawl starts
BAD_SETTINGS = (
    "DOWNLOAD_DELAY=abc",
    "DOWNLOAD_DELAY=nan",
    "ROBOTSTXT_OBEY=maybe",
    "CONCURRENT_REQUESTS=lots",
    "DEFAULT_REQUEST_HEADERS=[1]",
)

CASES = [
    Case(
        klass=13,
        name="database-gone-mid-crawl",
        does="two articles, the second held: the database goes away while it is in flight",
        routes={"list.html": _listing, "a/1.html": _first, "a/2.html": _held},
    ),
    Case(
        klass=13,
        name="unreadable-scrapy-settings",
        does="-s values that are not their setting's kind (a number, a boolean, a JSON object)",
        inputs=BAD_SETTINGS,
    ),
    Case(
        klass=13,
        name="setting-unreadable-at-start",
        does="a -s value of the right kind that Scrapy still cannot read when the crawl starts",
        inputs=("CONCURRENT_REQUESTS=2.5",),
    ),
]


def sources_toml(list_url: str, name: str = "held") -> str:
    return f'[[source]]\nname = "{name}"\nstart_urls = ["{list_url}"]\narticle_pattern = "/a/"\n'


class Proxy:
    """A TCP proxy on 127.0.0.1 to `target`: `cut()` closes the listener and every connection (the
    database is gone: connections fail, new ones are refused), `restore()` listens again on the same port."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.port = 0
        self.lock = threading.Lock()
        self.conns: list[socket.socket] = []
        self.listener: socket.socket | None = None
        self.restore()

    def restore(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        self.port = listener.getsockname()[1]
        listener.listen(64)
        self.listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # cut
            try:
                upstream = socket.create_connection(self.target)
            except OSError:
                client.close()
                continue
            with self.lock:
                self.conns += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                sink.sendall(data)
        for end in (source, sink):
            with contextlib.suppress(OSError):
                end.shutdown(socket.SHUT_RDWR)

    def cut(self) -> None:
        if self.listener is not None:
            # shutdown first: a close alone leaves a thread blocked in accept() still accepting
            with contextlib.suppress(OSError):
                self.listener.shutdown(socket.SHUT_RDWR)
            self.listener.close()
            self.listener = None
        with self.lock:
            conns, self.conns = self.conns, []
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
            conn.close()

    def close(self) -> None:
        self.cut()
