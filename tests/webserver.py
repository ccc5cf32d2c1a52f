"""The reading room as its users run it: `pairchive serve` in a subprocess on 127.0.0.1, a free port,
and its URL read from the line it prints when it listens (never a sleep)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import Message

from tests.crawls import WAIT

LISTENING = re.compile(r"serving the archive at (http://\S+/) ")


@contextmanager
def serve(db_url: str, data_dir: str | None = None, *args: str) -> Iterator[str]:
    """`pairchive serve` on the archive at `db_url`; yields its base URL (ending in /)."""
    command = [sys.executable, "-m", "crawler", "serve", "--db", db_url, "--port", "0", *args]
    if data_dir:
        command += ["--data-dir", data_dir]
    proc = subprocess.Popen(
        command, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True, env={**os.environ}
    )
    assert proc.stderr is not None
    found: list[str] = []
    seen: list[str] = []
    ready = threading.Event()

    def read() -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            seen.append(line)
            match = LISTENING.search(line)
            if match and not found:
                found.append(match.group(1))
                ready.set()
        ready.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        assert ready.wait(WAIT), "pairchive serve did not start"
        assert found, f"pairchive serve ended: {''.join(seen)[-2000:]}"
        yield found[0]
    finally:
        proc.terminate()
        try:
            proc.wait(WAIT)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        reader.join(WAIT)
        proc.stderr.close()


@dataclass
class Reply:
    status: int
    headers: Message
    body: bytes = field(repr=False)

    @property
    def text(self) -> str:
        return self.body.decode("utf-8")


def get(url: str) -> Reply:
    """One GET on loopback, whatever the status."""
    try:
        with urllib.request.urlopen(url, timeout=WAIT) as response:
            return Reply(response.status, response.headers, response.read())
    except urllib.error.HTTPError as exc:
        with exc:
            return Reply(exc.code, exc.headers, exc.read())
