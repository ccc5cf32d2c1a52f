"""One crawl, as the CLI and the daemon run it: run records first, then a crawl subprocess, then the books closed.

The parent creates a `running` record per source before starting the subprocess, so a crawl that dies
(killed, out of memory, a bug) still leaves a record: the parent marks what the child left open as failed,
with the exit code and the last lines the child logged.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import IO, Any

from sqlalchemy import select

from crawler.config import AppConfig
from crawler.sources import Source
from storage.archive import finish_run, set_exit_code, start_run, upsert_sources
from storage.db import open_database
from storage.models import CrawlRun

TAIL_LINES = 20


@dataclass
class RunSummary:
    run_id: int
    source: str
    status: str
    started_at: datetime
    finished_at: datetime | None
    counts: dict[str, int] = field(default_factory=dict)
    error: str | None = None
    exit_code: int | None = None

    @property
    def seconds(self) -> float | None:
        return (self.finished_at - self.started_at).total_seconds() if self.finished_at else None


def _pump(stream: IO[str], sink: IO[str] | None, tail: deque[str]) -> None:
    for line in stream:
        tail.append(line.rstrip("\n"))
        if sink is not None:
            sink.write(line)
            sink.flush()


def crawl(
    cfg: AppConfig,
    sources: Sequence[Source],
    *,
    trigger: str = "cli",
    settings: dict[str, Any] | None = None,
    log_sink: IO[str] | None = sys.stderr,
    timeout: float | None = None,
    since: date | None = None,
    recrawl: bool = False,
) -> list[RunSummary]:
    """Crawl `sources` in one subprocess into `cfg.db_url`; returns one summary per source."""
    _, sessions = open_database(cfg.db_url)
    with sessions.begin() as session:
        source_ids = upsert_sources(session, [s.to_dict() for s in sources])
        entries: list[dict[str, Any]] = [
            {
                "source": s.to_dict(),
                "source_id": source_ids[s.name],
                "run_id": start_run(session, source_ids[s.name], trigger),
            }
            for s in sources
        ]
    run_ids: list[int] = [e["run_id"] for e in entries]
    job = {
        "db_url": cfg.db_url,
        "warc_dir": str(cfg.warc_dir.resolve()),
        "contact_url": cfg.contact_url,
        "sources": entries,
        "settings": settings or {},
        "since": since.isoformat() if since else None,
        "recrawl": recrawl,
    }
    tail: deque[str] = deque(maxlen=TAIL_LINES)
    try:
        # The job goes on stdin: a few hundred sources would not fit in a command line.
        proc = subprocess.Popen(
            [sys.executable, "-m", "crawler.worker", "-"],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            encoding="utf-8",
            errors="replace",
        )
        assert proc.stdin is not None and proc.stderr is not None
        proc.stdin.write(json.dumps(job))
        proc.stdin.close()
    except OSError as exc:
        _close_books(cfg.db_url, run_ids, -1, "failed", deque([f"cannot start the crawl process: {exc}"]))
        raise
    # The log is pumped on a thread so that the time limit applies even to a child that logs nothing.
    pump = threading.Thread(target=_pump, args=(proc.stderr, log_sink, tail), daemon=True)
    pump.start()
    status_if_open, exit_code = "failed", -1
    try:
        exit_code = proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        exit_code = proc.wait()
        status_if_open = "timeout"
    except KeyboardInterrupt:
        proc.terminate()
        exit_code = proc.wait()
        status_if_open = "interrupted"
        raise
    finally:
        pump.join(timeout=10)
        proc.stderr.close()
        _close_books(cfg.db_url, run_ids, exit_code, status_if_open, tail)
    return run_summaries(cfg.db_url, run_ids)


def _close_books(db_url: str, run_ids: list[int], exit_code: int, status: str, tail: deque[str]) -> None:
    _, sessions = open_database(db_url)
    last = next((line for line in reversed(tail) if line.strip()), "")
    with sessions.begin() as session:
        for run_id in run_ids:
            finish_run(
                session,
                run_id,
                status=status,
                error=f"crawl process exited with code {exit_code} before closing this run: {last}",
                exit_code=exit_code,
                only_if_running=True,
            )
        set_exit_code(session, run_ids, exit_code)


def run_summaries(db_url: str, run_ids: Sequence[int]) -> list[RunSummary]:
    _, sessions = open_database(db_url)
    with sessions() as session:
        runs = session.scalars(select(CrawlRun).where(CrawlRun.id.in_(run_ids)).order_by(CrawlRun.id)).all()
        return [
            RunSummary(
                run_id=r.id,
                source=r.source.name,
                status=r.status,
                started_at=r.started_at,
                finished_at=r.finished_at,
                counts=dict(r.counts or {}),
                error=r.error,
                exit_code=r.exit_code,
            )
            for r in runs
        ]
