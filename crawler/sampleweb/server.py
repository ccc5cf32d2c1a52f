"""A small threaded HTTP server per sample portal, each on 127.0.0.1 with a port chosen by the OS."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from types import TracebackType

from crawler.sampleweb.portals import PORTALS, TEMPLATES, Page, build_site


def _handler_for(pages: dict[str, Page], hits: list[str], base: list[str]) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "SamplePortal/1.0"

        def do_GET(self) -> None:
            hits.append(self.path)
            page = pages.get(self.path.split("?", 1)[0])
            if page is None:
                body = b"<html><body><h1>404 Not Found</h1></body></html>"
                self.send_response(404)
                self.send_header("Content-Type", "text/html")
            elif page.busy_every_other and hits.count(self.path) % 2 == 1:
                body = b"<html><body><h1>503 Service Unavailable</h1></body></html>"
                self.send_response(503)
                self.send_header("Content-Type", "text/html")
                self.send_header("Retry-After", "1")
            else:
                body = page.served(base[0])
                self.send_response(page.status)
                self.send_header("Content-Type", page.content_type)
                for name, value in page.headers:
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass  # quiet: the crawl logs every fetch itself

    return Handler


class SampleWeb:
    """Serves every sample portal; use as a context manager. `base_urls` maps portal name -> root URL."""

    def __init__(self) -> None:
        self.templates: dict[str, str] = {}  # portal name -> its article template, when not "usual"
        self.published: dict[str, int] = {}  # portal name -> how many more stories it carries
        self.site = build_site()
        self.servers: dict[str, ThreadingHTTPServer] = {}
        self.threads: list[threading.Thread] = []
        self.base_urls: dict[str, str] = {}
        self.hits: dict[str, list[str]] = {}  # portal name -> every path requested, in order

    def start(self) -> SampleWeb:
        for portal in PORTALS:
            self.hits[portal.name] = []
            base: list[str] = []  # filled in once the OS has chosen the port
            server = ThreadingHTTPServer(
                ("127.0.0.1", 0), _handler_for(self.site[portal.name], self.hits[portal.name], base)
            )
            base.append(f"http://127.0.0.1:{server.server_address[1]}")
            server.daemon_threads = True
            thread = threading.Thread(
                target=server.serve_forever, name=f"sampleweb-{portal.name}", daemon=True
            )
            thread.start()
            self.servers[portal.name] = server
            self.threads.append(thread)
            self.base_urls[portal.name] = f"http://127.0.0.1:{server.server_address[1]}"
        return self

    def stop(self) -> None:
        for server in self.servers.values():
            server.shutdown()
            server.server_close()
        for thread in self.threads:
            thread.join(timeout=5)
        self.servers.clear()
        self.threads.clear()

    def __enter__(self) -> SampleWeb:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @contextmanager
    def edited(self, portal: str, path: str, edit: Callable[[str], str]) -> Iterator[None]:
        """Serve `path` with its HTML changed by `edit` (a portal correcting a story), then restore it."""
        pages = self.site[portal]
        original = pages[path]
        encoding = next(p.encoding for p in PORTALS if p.name == portal)
        pages[path] = dataclasses.replace(
            original, body=edit(original.body.decode(encoding)).encode(encoding)
        )
        try:
            yield
        finally:
            pages[path] = original

    def use_template(self, portal: str, template: str) -> None:
        """Serve `portal`'s article pages in another template from now on (portals.TEMPLATES): a portal
        redesigned between two crawls."""
        if template not in TEMPLATES:
            raise ValueError(f"unknown template {template!r}: one of {', '.join(TEMPLATES)}")
        self.templates[portal] = template
        self._rebuild(portal)

    def publish(self, portal: str, count: int) -> None:
        """Have `portal` carry `count` more stories from now on, listed first: the sample web's others, then
        new editions of every story (a portal publishing night after night)."""
        self.published[portal] = count
        self._rebuild(portal)

    def _rebuild(self, portal: str) -> None:
        # in place: the portal's request handler holds this dict
        pages = self.site[portal]
        pages.clear()
        pages.update(build_site(self.templates, self.published)[portal])

    def sources_toml(self) -> str:
        """The demo's sources file with each portal's placeholder replaced by its live root URL."""
        text = resources.files("crawler.sampleweb").joinpath("sources.toml").read_text(encoding="utf-8")
        for name, url in self.base_urls.items():
            text = text.replace("{base:" + name + "}", url)
        return text
