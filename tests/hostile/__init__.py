"""The hostile web: one loopback server holding a case for every class of hostile input pairchive refuses.

Each module `tests/hostile/cNN_*.py` holds the cases of one class (the number is the class's number in
the project's list of hostile classes, see the README's "Limits and refusals"). A module defines `CASES`, a
list of `Case`: the paths it serves under `/cNN/` and, for classes that are not about servers (a bad
argument, a bad configuration), the inputs it feeds the CLI. `tests/test_hostile.py` checks that every
class has a case here and a test that uses it; each class's own tests live in `tests/test_hostile_cNN_*.py`.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

Route = Callable[["HostileHandler"], None]

# The classes of hostile input, by number, as the README lists them.
CLASSES = {
    1: "schemes and addresses",
    2: "secrets in output",
    3: "output injection",
    4: "names that escape their pattern",
    5: "a declared charset that is not a text codec",
    6: "feed and sitemap bombs",
    7: "legitimately large sitemaps",
    8: "silent refusals",
    9: "a robots.txt that never answers",
    10: "long URLs",
    11: "hangs",
    12: "run records after a hard end",
    13: "leases and reasons after faults",
    14: "numbers",
    15: "text arguments",
    16: "files and URLs",
    17: "entry points of one kind",
}


@dataclass(frozen=True)
class Case:
    """One hostile case: its class number, a name, what it does, the paths it serves (relative to its
    class's folder `/cNN/`) and any inputs it feeds the CLI (arguments or file texts)."""

    klass: int
    name: str
    does: str
    routes: dict[str, Route] = field(default_factory=dict)
    inputs: tuple[str, ...] = ()


def class_folder(klass: int) -> str:
    return f"/c{klass:02d}/"


def case_modules() -> list[str]:
    """The names of the case modules, one per class: `cNN_what`."""
    return sorted(m.name for m in pkgutil.iter_modules(__path__) if re.fullmatch(r"c\d\d_\w+", m.name))


def all_cases() -> list[Case]:
    cases: list[Case] = []
    for name in case_modules():
        module = importlib.import_module(f"{__name__}.{name}")
        cases.extend(module.CASES)
    return cases


def routes() -> dict[str, Route]:
    """Every path the hostile web serves, absolute, from every case."""
    table: dict[str, Route] = {}
    for case in all_cases():
        for path, route in case.routes.items():
            full = class_folder(case.klass) + path.lstrip("/")
            if full in table:
                raise ValueError(f"two hostile cases serve {full}")
            table[full] = route
    return table


class HostileHandler(BaseHTTPRequestHandler):
    """Answers each path from the route table; remembers every path asked for; logs nothing."""

    table: ClassVar[dict[str, Route]] = {}
    asked: ClassVar[list[str]] = []
    lock: ClassVar[threading.Lock] = threading.Lock()

    def do_GET(self) -> None:
        with self.lock:
            self.asked.append(self.path)
        route = self.table.get(self.path.split("?", 1)[0])
        if route is None:
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        route(self)

    def send_body(
        self, body: bytes, content_type: str = "text/html; charset=utf-8", status: int = 200
    ) -> None:
        """A whole answer: status, type, length and body; a client that hangs up early is no error."""
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        with suppress(BrokenPipeError, ConnectionResetError):
            self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


class HostileWeb:
    """The hostile web on 127.0.0.1 (port chosen by the OS): `url(klass, path)` names one of its pages and
    `asked` lists the paths asked for since the web started (or since `forget()`)."""

    def __init__(self) -> None:
        handler: type[HostileHandler] = type(
            "Handler", (HostileHandler,), {"table": routes(), "asked": [], "lock": threading.Lock()}
        )
        self.handler = handler
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.server.daemon_threads = True
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"

    def url(self, klass: int, path: str = "") -> str:
        return self.base + class_folder(klass) + path.lstrip("/")

    @property
    def asked(self) -> list[str]:
        with self.handler.lock:
            return list(self.handler.asked)

    def forget(self) -> None:
        with self.handler.lock:
            self.handler.asked.clear()

    def __enter__(self) -> HostileWeb:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@contextmanager
def hostile_web() -> Iterator[HostileWeb]:
    with HostileWeb() as web:
        yield web
