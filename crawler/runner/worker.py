"""`pairchive worker`: one machine's part of distributed crawls, taking runs from Redis.

A worker waits on the ticket list (a blocking pop: an idle worker costs Redis nothing) and crawls each
ticket's run as today's crawl subprocess (crawler.process.worker: a fresh reactor, the time limit of its
run kept by the coordinator, WARC capture under this worker's data directory, which in distributed mode
is a shared path), with scrapy-redis's scheduler over the run's shared frontier. It writes its own part of
the run (`run_workers`); the coordinator closes the run. `slots` crawls run at once.

A crawl subprocess that dies without closing its part (a crash, out of memory) has it closed here as failed
with its exit code and last log line, and its in-flight requests put back into the frontier at once.
SIGTERM or SIGINT: no new tickets are taken; running crawls are asked to stop and get the grace to leave
their runs (their in-flight requests back in the frontier, for other workers).

Redis or PostgreSQL that does not answer: one line, and the worker asks again with backoff (1 s doubling
to 30 s), at start and before each ticket it crawls, so workers can start before the servers and ride out
a restart; a worker stopped while it waits gives its ticket back.
"""

from __future__ import annotations

import collections
import contextlib
import functools
import json
import logging
import os
import re
import socket
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import IO, Any, TypeVar

import redis
import sqlalchemy as sa
from sqlalchemy.exc import OperationalError, SQLAlchemyError

from crawler.runner.coordinator import check_distributed
from crawler.runner.crawl import TAIL_LINES, pump_log, stop_process
from crawler.vocabulary.config import AppConfig
from crawler.vocabulary.errors import DatabaseUnreachable, StorageError, first_line
from crawler.vocabulary.frontier import (
    ALIVE_SECONDS,
    RunKeys,
    connect,
    join,
    release_holds,
    requeue,
    tickets,
    worker_key,
)
from storage.db import open_for_writing
from storage.models import CrawlRun
from storage.outcomes import RunStatus
from storage.redact import display_url
from storage.runworkers import finish_worker, workers_of

logger = logging.getLogger(__name__)

TAKE_SECONDS = 2  # how long one blocking pop waits for a ticket before the worker looks at its stop flag
BEAT_SECONDS = 5.0  # how often the worker says it is alive
WORKER_KEY_SECONDS = 15  # ... and how long that lasts
BACKOFF = (1.0, 30.0)  # first and longest pause between two tries of a server that does not answer
POLL_SECONDS = 0.5

T = TypeVar("T")


def default_name() -> str:
    """This worker's id: the host name and process id (unique across machines and restarts)."""
    return worker_name(f"{socket.gethostname()}-{os.getpid()}")


def worker_name(text: str) -> str:
    """A worker id as keys and file names can carry it: letters, digits and `._-`, at most 100."""
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-.")[:100]
    if not name:
        raise ValueError(f"worker name {text!r}: use letters, digits, '.', '_' or '-'")
    return name


@dataclass
class Worker:
    cfg: AppConfig
    redis_url: str
    prefix: str
    name: str = field(default_factory=default_name)
    slots: int = 1
    grace: float = 60.0
    settings: dict[str, Any] = field(default_factory=dict)
    log_sink: IO[str] | None = sys.stderr
    stop: threading.Event = field(default_factory=threading.Event)
    crawls: int = 0  # tickets crawled, for the tests and the log

    def __post_init__(self) -> None:
        check_distributed(self.cfg.db_url, self.prefix)
        self.server = connect(self.redis_url)
        self.lock = threading.Lock()

    def serve(self) -> int:
        """Take and crawl tickets until asked to stop; 0 when stopped."""
        if self._patiently("Redis at " + display_url(self.redis_url), self.server.ping) is None:
            return 0
        if self._patiently("the database " + display_url(self.cfg.db_url), self._database) is None:
            return 0
        logger.info(
            "worker %s ready: %d slot(s), tickets from %s", self.name, self.slots, display_url(self.redis_url)
        )
        threads = [threading.Thread(target=self._beat, daemon=True, name="worker-beat")]
        threads += [
            threading.Thread(target=self._slot, args=(n,), daemon=True, name=f"worker-slot-{n}")
            for n in range(1, self.slots + 1)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        logger.info("worker %s stopped after %d crawl(s)", self.name, self.crawls)
        return 0

    def _database(self) -> bool:
        """The database answers (its schema brought up to date by the first to ask)."""
        with open_for_writing(self.cfg.db_url).engine.connect() as conn:
            conn.execute(sa.select(1))
        return True

    def _patiently(self, what: str, action: Callable[[], T]) -> T | None:
        """`action` until it works (a server that does not answer is asked again with backoff) or the
        worker is asked to stop (None)."""
        pause = BACKOFF[0]
        since: float | None = None
        while not self.stop.is_set():
            try:
                result = action()
            except (redis.ConnectionError, redis.TimeoutError, DatabaseUnreachable, OperationalError) as exc:
                if since is None:
                    since = time.monotonic()
                    logger.warning("%s is unreachable, trying again: %s", what, first_line(exc))
                self.stop.wait(pause)
                pause = min(pause * 2, BACKOFF[1])
                continue
            if since is not None:
                logger.warning("%s answers again after %.0f s", what, time.monotonic() - since)
            return result
        return None

    def _beat(self) -> None:
        key = worker_key(self.prefix, self.name)
        about = json.dumps({"host": socket.gethostname(), "pid": os.getpid(), "slots": self.slots})
        while not self.stop.is_set():
            with contextlib.suppress(redis.ConnectionError, redis.TimeoutError):  # said by the slots
                self.server.set(key, about, ex=WORKER_KEY_SECONDS)
            self.stop.wait(BEAT_SECONDS)
        with contextlib.suppress(redis.ConnectionError, redis.TimeoutError):
            self.server.delete(key)

    def _slot(self, number: int) -> None:
        base = self.name if self.slots == 1 else f"{self.name}.{number}"
        attempts: collections.Counter[int] = collections.Counter()  # run id -> this slot's parts in it
        while not self.stop.is_set():
            taken = self._patiently(
                "Redis at " + display_url(self.redis_url),
                lambda: self.server.blpop([tickets(self.prefix)], timeout=TAKE_SECONDS),
            )
            if not taken:
                continue
            try:
                job = json.loads(taken[1])
                run_id = int(job["sources"][0]["run_id"])
            except (ValueError, KeyError, TypeError, IndexError):
                logger.warning("worker %s: a ticket that is no ticket dropped: %.80r", base, taken[1])
                continue
            if not self._patiently("the database " + display_url(self.cfg.db_url), self._database):
                self._give_back(taken[1])  # stopped while the database was away: for another worker
                continue
            if not self._running(run_id):
                continue  # its record is closed (a coordinator that could not take its tickets back)
            attempts[run_id] += 1
            # One id per part: a slot that crawls a run again (a ticket pushed in place of its first
            # part) is a new member, so the coordinator sees each part live and die.
            member = base if attempts[run_id] == 1 else f"{base}-{attempts[run_id]}"
            keys = RunKeys(self.prefix, run_id)
            joined = self._patiently(
                "Redis", functools.partial(join, self.server, keys, member, ALIVE_SECONDS)
            )
            if joined is None:
                self._give_back(taken[1])
            elif joined:
                self._crawl(member, job, run_id)
            # else: the run ended before its ticket was taken

    def _running(self, run_id: int) -> bool:
        """Whether the run's record is still open (else its ticket is stale)."""
        try:
            with open_for_writing(self.cfg.db_url).sessions() as session:
                run = session.get(CrawlRun, run_id)
                return run is not None and run.status == RunStatus.RUNNING
        except (SQLAlchemyError, StorageError) as exc:
            logger.warning("worker %s: could not read run %s: %s", self.name, run_id, first_line(exc))
            return True  # the crawl will say what the database says

    def _give_back(self, ticket: bytes | str) -> None:
        """A ticket taken and not crawled goes back to the head of the list, for another worker."""
        try:
            self.server.lpush(tickets(self.prefix), ticket)
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            logger.warning("worker %s: could not give a ticket back (Redis: %s)", self.name, first_line(exc))

    def _crawl(self, member: str, ticket: dict[str, Any], run_id: int) -> None:
        """One worker's part of a run, as a crawl subprocess."""
        job = {
            **ticket,
            # The worker's own database URL and data directory: a ticket carries no password, and each
            # machine mounts the shared data directory where it likes.
            "db_url": self.cfg.db_url,
            "warc_dir": str(self.cfg.warc_dir.resolve()),
            "settings": {**ticket.get("settings", {}), **self.settings},
            "parent_pid": os.getpid(),
            "distributed": {"redis_url": self.redis_url, "prefix": self.prefix, "worker": member},
        }
        source = job["sources"][0]["source"].get("name", "?")
        logger.info("worker %s takes part in run %s of %s", member, run_id, source)
        tail: deque[str] = deque(maxlen=TAIL_LINES)
        try:
            proc = subprocess.Popen(
                [sys.executable, "-m", "crawler.process.worker", "-"],
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
            logger.error("worker %s: cannot start a crawl process: %s", member, exc)
            self._after(member, run_id, -1, deque([f"cannot start a crawl process: {exc}"]))
            return
        pump = threading.Thread(target=pump_log, args=(proc.stderr, self.log_sink, tail), daemon=True)
        pump.start()
        limit = ticket.get("time_limit")
        deadline = time.monotonic() + float(limit) + self.grace if limit else None
        alive, beat = RunKeys(self.prefix, run_id).alive(member), 0.0
        while proc.poll() is None:
            if time.monotonic() - beat > BEAT_SECONDS:
                # alive while this worker and its crawl live (from the join, before the crawl has started)
                with contextlib.suppress(redis.ConnectionError, redis.TimeoutError):
                    self.server.set(alive, "1", ex=ALIVE_SECONDS, xx=True)
                beat = time.monotonic()
            if self.stop.wait(POLL_SECONDS) or (deadline is not None and time.monotonic() > deadline):
                stop_process(proc, self.grace)
        pump.join(timeout=10)
        proc.stderr.close()
        with self.lock:
            self.crawls += 1
        self._after(member, run_id, proc.returncode, tail)

    def _after(self, member: str, run_id: int, code: int, tail: deque[str]) -> None:
        """A crawl that died without closing its part: closed here, its requests back in the frontier."""
        keys = RunKeys(self.prefix, run_id)
        died = code != 0
        try:
            with open_for_writing(self.cfg.db_url).sessions.begin() as session:
                row = next((r for r in workers_of(session, run_id) if r.worker == member), None)
                if row is None or row.finished_at is None:
                    died = True
                    last = next((line for line in reversed(tail) if line.strip()), "")
                    finish_worker(
                        session,
                        run_id,
                        member,
                        status=RunStatus.FAILED,
                        counts=(row.counts if row is not None else None) or {},
                        health_counts=row.health_counts if row is not None else None,
                        error=f"crawl process exited with code {code} before closing its part: {last}",
                    )
        except (SQLAlchemyError, StorageError) as exc:
            logger.error(
                "worker %s: could not record its part of run %s: %s", member, run_id, first_line(exc)
            )
        try:
            if back := requeue(self.server, keys, member):
                logger.warning(
                    "worker %s: %d request(s) of run %s back in the frontier", member, back, run_id
                )
            self.server.delete(keys.alive(member), keys.idle(member))
            if died:  # a crawl that died may have held its hosts
                release_holds(self.server, self.prefix, member)
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            logger.warning(
                "worker %s: could not leave run %s in Redis (%s); its coordinator will", member, run_id, exc
            )
