"""Redis for the tests: the configured server (PAIRCHIVE_TEST_REDIS_URL) under a key prefix of each test's
own, deleted afterwards, and a private `redis-server` a test may stop and start again.

The configured server is shared (by tests running at once, by anyone else using it), so a test touches only
keys under its own prefix, and cleanup deletes exactly those: never FLUSHDB. The private server keeps its
data in an append-only file synced at every write, so a test can stop it (a Redis gone mid-crawl) and start
it again on the same port with every key it held.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

import pytest
import redis

from crawler.vocabulary.frontier import connect

REDIS_ENV = "PAIRCHIVE_TEST_REDIS_URL"
NO_REDIS = f"set {REDIS_ENV}=redis://... to run the distributed tests"
NO_SERVER = "redis-server is not installed (`make redis-server` installs it)"
WAIT = 30.0  # seconds a private server has to start or to stop before the test fails
POLL = 0.02  # seconds between two looks at a starting server


def configured_url() -> str:
    """The URL of the Redis the distributed tests use; skips the test when none is configured."""
    url = os.environ.get(REDIS_ENV)
    if not url:
        pytest.skip(NO_REDIS)
    return url


def delete_prefixed(url: str, prefix: str) -> int:
    """Delete every key under `prefix:` (SCAN, then DEL in batches); returns how many there were."""
    client = connect(url)
    deleted = 0
    try:
        batch: list[bytes] = []
        for key in client.scan_iter(match=f"{prefix}:*", count=500):
            batch.append(key)
            if len(batch) == 500:
                deleted += client.delete(*batch)
                batch = []
        if batch:
            deleted += client.delete(*batch)
    finally:
        client.close()
    return deleted


@contextmanager
def prefixed(url: str) -> Iterator[str]:
    """A fresh random key prefix (`pt-<hex>`) for the block; its keys are deleted at the end."""
    prefix = f"pt-{uuid.uuid4().hex[:12]}"
    try:
        yield prefix
    finally:
        delete_prefixed(url, prefix)


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now (the OS's choice)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class PrivateRedis:
    """A `redis-server` of one test's own on a loopback port, its data kept in `folder` across restarts."""

    def __init__(self, folder: Path, binary: str) -> None:
        self.folder = folder
        self.binary = binary
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None
        self.log: IO[bytes] | None = None

    def start(self) -> PrivateRedis:
        """Start the server (again on the same port) and wait until it answers PING."""
        if self.process is not None:
            raise RuntimeError(f"the private Redis on port {self.port} is already running")
        self.log = (self.folder / "redis.log").open("ab")
        self.process = subprocess.Popen(
            [
                self.binary,
                *("--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.folder)),
                *("--save", "", "--appendonly", "yes", "--appendfsync", "always"),
                *("--daemonize", "no", "--logfile", ""),
            ],
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        self._wait_until_it_answers(self.process)
        return self

    def _wait_until_it_answers(self, process: subprocess.Popen[bytes]) -> None:
        deadline = time.monotonic() + WAIT
        client = redis.Redis(host="127.0.0.1", port=self.port, socket_connect_timeout=1.0, socket_timeout=1.0)
        try:
            while True:
                try:
                    if client.ping():
                        return
                except redis.ConnectionError:
                    pass  # not listening yet, or still loading its data (BusyLoadingError)
                try:  # waits for the process to end: a server that dies is told at once
                    code = process.wait(timeout=POLL)
                except subprocess.TimeoutExpired:
                    code = None
                if code is not None or time.monotonic() > deadline:
                    log = (self.folder / "redis.log").read_text(errors="replace")[-2000:]
                    self.stop()
                    why = (
                        f"exited with status {code}" if code is not None else f"did not answer in {WAIT:g} s"
                    )
                    raise RuntimeError(f"redis-server on port {self.port} {why}:\n{log}")
        finally:
            client.close()

    def stop(self) -> None:
        """Stop the server (SIGTERM: it finishes its append-only file and exits) and wait for it to end."""
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=WAIT)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=WAIT)
        if self.log is not None:
            self.log.close()
            self.log = None

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None


def redis_server_binary() -> str:
    """The path of `redis-server`; skips the test when it is not installed."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip(NO_SERVER)
    return binary


@contextmanager
def private_server(folder: Path) -> Iterator[PrivateRedis]:
    """A started PrivateRedis keeping its data in `folder`, stopped at the end of the block."""
    server = PrivateRedis(folder, redis_server_binary())
    try:
        yield server.start()
    finally:
        server.stop()
