"""Running the real `pairchive` command in tests: a subprocess, on loopback, without politeness delays;
one-off portals that hold a page until the test lets it go; the run records a crawl left."""

from __future__ import annotations

import io
import logging
import os
import queue
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import IO

import sqlalchemy as sa

from crawler.sampleweb import SampleWeb
from storage.db import close_all, open_for_writing
from storage.models import CrawlRun

# The sample web is on loopback: a real portal's delays would only make the tests slow.
LOOPBACK = ["-s", "AUTOTHROTTLE_ENABLED=False", "-s", "DOWNLOAD_DELAY=0"]
LOOPBACK_SETTINGS = {"AUTOTHROTTLE_ENABLED": False, "DOWNLOAD_DELAY": 0}
WAIT = 120  # seconds a test waits for a line, a request or a process before it fails (never a sleep)
STORY = "两地学校结对帮扶，教师互派交流，学生手拉手结对，共建教育共同体，学校共同提高。" * 4


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


def article_page(n: int | str) -> bytes:
    return (
        f"<html><head><title>第{n}批学校结对</title></head><body><h1>第{n}批学校结对</h1>"
        f"<p>第{n}批：{STORY}</p></body></html>"
    ).encode()


def answer(handler: BaseHTTPRequestHandler, body: bytes) -> None:
    """200 with `body` as HTML, or 404 when it is empty."""
    handler.send_response(200 if body else 404)
    handler.send_header("Content-Type", "text/html; charset=utf-8")
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)


@contextmanager
def slow_portal() -> Iterator[tuple[str, threading.Event, threading.Event]]:
    """A portal whose first article answers at once and whose second waits until the test releases it;
    yields its root URL, the event set when the second is asked for, and the release event."""
    asked, release = threading.Event(), threading.Event()

    class Slow(QuietHandler):
        def do_GET(self) -> None:
            if self.path == "/list.html":
                body = b'<html><body><a href="/a/1.html">one</a> <a href="/a/2.html">two</a></body></html>'
            elif self.path in ("/a/1.html", "/a/2.html"):
                if self.path == "/a/2.html":
                    asked.set()
                    release.wait(WAIT)
                body = article_page(self.path[3])
            else:
                body = b""
            answer(self, body)

    with serve(Slow) as base:
        try:
            yield base, asked, release
        finally:
            release.set()


def slow_sources(folder: Path, base: str) -> Path:
    """A sources file with the one source `slow` of a `slow_portal`."""
    path = folder / "sources.toml"
    path.write_text(
        f'[[source]]\nname = "slow"\nstart_urls = ["{base}/list.html"]\narticle_pattern = "/a/"\n'
        'schedule = "0 2 * * *"\n',
        encoding="utf-8",
    )
    return path


def run_rows(db: str) -> list[tuple[int, str, str, str | None]]:
    """Every run record: id, trigger, status, error, oldest first."""
    sessions = open_for_writing(db).sessions
    with sessions() as s:
        out = [
            (r.id, r.trigger, r.status, r.error) for r in s.scalars(sa.select(CrawlRun).order_by(CrawlRun.id))
        ]
    close_all()
    return out


class Lines:
    """A process's stderr read on a thread, so a test can wait for a line with a time limit."""

    def __init__(self, stream: IO[str]) -> None:
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._read, args=(stream,), daemon=True).start()

    def _read(self, stream: IO[str]) -> None:
        for line in stream:
            self.lines.put(line.rstrip("\n"))
        self.lines.put("")  # end of stream

    def wait_for(self, pattern: str) -> str:
        while True:
            try:
                line = self.lines.get(timeout=WAIT)
            except queue.Empty:
                raise AssertionError(f"no line matching {pattern!r}; got:\n" + "\n".join(self.seen)) from None
            self.seen.append(line)
            if re.search(pattern, line):
                return line
            if line == "" and self.lines.empty():
                raise AssertionError(f"stream ended before {pattern!r}:\n" + "\n".join(self.seen))


class LogWatch(logging.Handler):
    """Log records of this process, kept so a test can wait (with a deadline) for a message to appear."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.messages: list[str] = []
        self.changed = threading.Condition()

    def emit(self, record: logging.LogRecord) -> None:
        with self.changed:
            self.messages.append(f"{record.levelname} {record.getMessage()}")
            self.changed.notify_all()

    def wait_for(self, pattern: str) -> str:
        def found() -> str | None:
            return next((m for m in self.messages if re.search(pattern, m)), None)

        with self.changed:
            if not self.changed.wait_for(found, timeout=WAIT):
                raise AssertionError(
                    f"no log message matching {pattern!r}; got:\n" + "\n".join(self.messages)
                )
            return found() or ""


class WatchedSink(io.StringIO):
    """A crawl's log sink that a test can wait on (with a deadline) for a line to appear."""

    def __init__(self) -> None:
        super().__init__()
        self.changed = threading.Condition()

    def write(self, text: str) -> int:
        with self.changed:
            n = super().write(text)
            self.changed.notify_all()
            return n

    def wait_for(self, pattern: str) -> None:
        with self.changed:
            if not self.changed.wait_for(lambda: re.search(pattern, self.getvalue(), re.M), timeout=WAIT):
                raise AssertionError(f"no log line matching {pattern!r}; got:\n{self.getvalue()}")


@contextmanager
def watching(logger: str) -> Iterator[LogWatch]:
    """A LogWatch on `logger` (at every level) for the block."""
    log = logging.getLogger(logger)
    watch, level = LogWatch(), log.level
    log.addHandler(watch)
    log.setLevel(logging.DEBUG)
    try:
        yield watch
    finally:
        log.removeHandler(watch)
        log.setLevel(level)


@contextmanager
def started(*args: str) -> Iterator[tuple[subprocess.Popen[str], Lines]]:
    """`pairchive ARGS` as a process of its own (its own process group), its stderr read line by line;
    killed with its children if still alive at the end of the block."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "crawler", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    assert proc.stderr is not None
    try:
        yield proc, Lines(proc.stderr)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=WAIT)
        proc.stderr.close()
        if proc.stdout is not None:
            proc.stdout.close()


def worker_pids() -> list[int]:
    """The crawl subprocesses (crawler.process.worker) this process started and that are still alive."""
    me, found = os.getpid(), []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == me and b"crawler.process.worker" in cmdline and stat.rsplit(")", 1)[1].split()[0] != "Z":
            found.append(int(entry.name))
    return found
