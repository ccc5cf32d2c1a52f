"""Real worker processes for the distributed tests: started, watched, killed and stopped."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import pytest
import sqlalchemy as sa

from tests.conftest import PG_ENV, _pg_schema_url
from tests.crawls import LOOPBACK, Lines

T = TypeVar("T")
WAIT = 120.0  # seconds a test waits for a condition before it fails


def pg_schema_url() -> Iterator[str]:
    """A fresh PostgreSQL schema for the test (distributed crawls need a server database)."""
    base = os.environ.get(PG_ENV)
    if not base:
        pytest.skip(
            f"set {PG_ENV}=postgresql+psycopg://... to run the distributed tests (they need PostgreSQL)"
        )
    yield from _pg_schema_url(base)


def until(condition: Callable[[], T | None], what: str, timeout: float = WAIT) -> T:
    """Poll `condition` until it gives a true value, for at most `timeout` seconds."""
    deadline = time.monotonic() + timeout
    pause = threading.Event()
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        pause.wait(0.1)


class Worker:
    """One `pairchive worker` process (in its own process group, so a kill takes its crawls too)."""

    def __init__(self, name: str, args: Sequence[str]) -> None:
        self.name = name
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "crawler", "worker", "--name", name, *args],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        assert self.proc.stderr is not None
        self.log = Lines(self.proc.stderr)

    def kill(self) -> None:
        """The machine dies: the worker and its crawl processes, at once, without a word."""
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=30)

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            code = self.proc.wait()
        with contextlib.suppress(AssertionError):
            self.log.wait_for("^$")  # the end of its log, read
        assert self.proc.stderr is not None
        self.proc.stderr.close()
        return code


@contextmanager
def workers(
    count: int, redis_url: str, prefix: str, db_url: str, data_dir: Path, *extra: str
) -> Iterator[list[Worker]]:
    """`count` workers (w1, w2...) on `redis_url` under `prefix`, stopped at the end of the block."""
    args = ["--redis", redis_url, "--redis-prefix", prefix, "--db", db_url, "--data-dir", str(data_dir)]
    args += [*LOOPBACK, "--grace", "10", *extra]
    started = [Worker(f"w{n}", args) for n in range(1, count + 1)]
    try:
        yield started
    finally:
        for worker in started:
            worker.stop()


def rows(db_url: str, query: str) -> list[tuple[Any, ...]]:
    engine = sa.create_engine(db_url)
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(sa.text(query))]
    finally:
        engine.dispose()
