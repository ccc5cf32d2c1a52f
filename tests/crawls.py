"""Running the real `pairchive` command in tests: a subprocess, on loopback, without politeness delays."""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from crawler.sampleweb import SampleWeb

# The sample web is on loopback: a real portal's delays would only make the tests slow.
LOOPBACK = ["-s", "AUTOTHROTTLE_ENABLED=False", "-s", "DOWNLOAD_DELAY=0"]


def pairchive(*args: str) -> subprocess.CompletedProcess[str]:
    """`pairchive ARGS` as a subprocess, output captured."""
    return subprocess.run(
        [sys.executable, "-m", "crawler", *args], capture_output=True, text=True, timeout=300, check=False
    )


def demo_sources(sample_web: SampleWeb, folder: Path, text: str | None = None) -> Path:
    """A sources file for the live sample web (or `text`), written into `folder`."""
    path = folder / "sources.toml"
    path.write_text(sample_web.sources_toml() if text is None else text, encoding="utf-8")
    return path


def crawl(sources: Path, db: str, *args: str) -> subprocess.CompletedProcess[str]:
    """`pairchive crawl` of `sources` into `db` with loopback settings; `args` are further options."""
    return pairchive("crawl", "--sources", str(sources), "--db", db, *args, *LOOPBACK)


def crawl_sample(sample_web: SampleWeb, folder: Path, source: str, *args: str) -> str:
    """Crawl one sample portal into a fresh SQLite file in `folder`; returns the database URL."""
    sources = demo_sources(sample_web, folder)
    db = f"sqlite:///{folder / 'a.db'}"
    result = crawl(sources, db, "--source", source, *args)
    assert result.returncode == 0, result.stderr[-2000:]
    return db


class QuietHandler(BaseHTTPRequestHandler):
    """A request handler for a test's own one-off portal: it logs nothing."""

    def log_message(self, format: str, *args: object) -> None:
        pass


@contextmanager
def serve(handler: type[BaseHTTPRequestHandler]) -> Iterator[str]:
    """Serve `handler` on 127.0.0.1 (port chosen by the OS) for the block; yields the root URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
