"""One crawl, as the CLI and the daemon run it: run records first, then a crawl subprocess, then the books closed.

The parent first takes each source's lease (storage.leases: one crawl per source at a time, across
processes), then creates a `running` record per source before starting the subprocess, so a crawl that dies
(killed, out of memory, a bug) still leaves a record: the parent marks what the child left open as failed,
with the exit code and the last lines the child logged. While the child runs, the parent renews the leases,
enforces the time limit (`timeout`) and honours a stop request (`interrupted`); a lease another crawl took
over (it expired unrenewed) ends the crawl too (`interrupted`). The child dies with its parent
(crawler.process.worker), and the parent stops the child before it lets go of the leases, whatever went wrong, so
no crawl runs on behind a released or expiring lease.

A run's counts match what it stored however it ended: a run the child did not close (killed after the
grace period, dead) gets the counts the child last reported, with `stored`, `revised` and each rejection
reason recounted from the run's rows in the database. The child's own account of its end (status and
reason, sent as its last line) is recorded when the child could not write it. When the database refuses
the closing writes (a server gone, a full disk), the parent tries again until its lease would expire, so
a database back in time gets the run's real reason and a released lease.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import IO, Any

import sqlalchemy.exc
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session

from crawler.vocabulary.config import AppConfig
from crawler.vocabulary.errors import PairchiveError, StorageError, first_line
from crawler.vocabulary.sources import Source
from storage.archive import finish_run, set_exit_code, start_run, upsert_sources
from storage.db import Database, open_for_writing, seconds_from_env
from storage.leases import (
    HEARTBEAT_SECONDS,
    LEASE_SECONDS,
    Holder,
    acquire,
    attach_run,
    heartbeat,
    new_owner,
    release,
)
from storage.models import ArticleRevision, Capture, CrawlRun, Rejection
from storage.outcomes import Reason, RunStatus
from storage.redact import scrub

TAIL_LINES = 20
POLL_SECONDS = 0.5  # how often a waiting parent looks at the time limit, the stop request and the heartbeat
RETRY_SECONDS = (0.5, 10.0)  # first and longest pause between two tries of a write the database refused
GRACE_SECONDS = 30.0  # how long a crawl asked to stop may take to close its runs before it is ended
GRACE_ENV = "PAIRCHIVE_STOP_GRACE"  # seconds, instead of GRACE_SECONDS when crawl() is given no grace

logger = logging.getLogger(__name__)


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
    health: dict[str, Any] | None = None  # storage.health: the run's extraction health and verdict

    @property
    def verdict(self) -> str | None:
        """The drift verdict's line on the run's health, if it was judged."""
        return str(self.health["verdict_line"]) if self.health and self.health.get("verdict_line") else None

    @property
    def seconds(self) -> float | None:
        return (self.finished_at - self.started_at).total_seconds() if self.finished_at else None


class CrawlInterrupted(KeyboardInterrupt):
    """Ctrl-C ended the crawl; its runs are closed (`interrupted`) and summarised in `runs`."""

    def __init__(self, runs: list[RunSummary]) -> None:
        super().__init__()
        self.runs = runs


def pump_log(stream: IO[str], sink: IO[str] | None, tail: deque[str]) -> None:
    for line in stream:
        line = scrub(line)  # the log and the run record never carry a database password
        tail.append(line.rstrip("\n"))
        if sink is None:
            continue
        try:
            sink.write(line)
            sink.flush()
        except (OSError, ValueError):
            # The operator's end is gone (a closed pipe, a closed terminal). Keep draining the child's
            # stderr all the same: a full pipe would block the crawl until its time limit.
            sink = None


@dataclass
class _Report:
    """What the child said of its runs: the counts it last reported, and the end of each it closed."""

    counts: dict[int, dict[str, int]] = field(default_factory=dict)
    ends: dict[int, tuple[str, str | None]] = field(default_factory=dict)  # run id -> status, error


def _pump_progress(
    stream: IO[str], progress: Callable[[int, dict[str, int]], None] | None, report: _Report
) -> None:
    """The worker's events (one JSON object per line on its stdout: run id, counts so far, and at the
    run's end its status and error)."""
    for line in stream:
        try:
            event = json.loads(line)
            run_id = int(event["run_id"])
            counts = {str(k): int(v) for k, v in event["counts"].items()}
            if isinstance(end := event.get("end"), dict):
                report.ends[run_id] = (str(end["status"]), end.get("error") and str(end["error"]))
        except (ValueError, KeyError, TypeError, AttributeError):
            continue
        report.counts[run_id] = counts
        if progress is not None:
            progress(run_id, counts)


# What a database says when it cannot take a write for now (gone, full, locked, its pool exhausted); any
# other error (an integrity or a programming error: a bug) is raised at once, not retried for minutes.
TRANSIENT = (
    sqlalchemy.exc.OperationalError,
    sqlalchemy.exc.InterfaceError,
    sqlalchemy.exc.DisconnectionError,
    sqlalchemy.exc.TimeoutError,
)


def retrying(what: str, action: Callable[[], None], until: float) -> None:
    """Do `action`, a write to the database; while the database refuses it (a server gone, a full disk,
    locked), try again until `until` (monotonic), then raise its last error."""
    pause, longest = RETRY_SECONDS
    log = logger.warning  # once; the tries after it only in the debug log
    while True:
        try:
            action()
            return
        except (*TRANSIENT, StorageError) as exc:
            left = until - time.monotonic()
            if left <= 0:
                raise
            log("could not %s, trying again for %.0fs more: %s", what, left, first_line(exc, with_type=True))
            log = logger.debug
            time.sleep(min(pause, left))
            pause = min(pause * 2, longest)


@dataclass
class Leases:
    """The leases one crawl holds: taken before it starts, renewed while it runs, released at its end."""

    database: Database
    owner: str
    seconds: float
    held: dict[int, str] = field(default_factory=dict)  # source id -> name
    renewed: float = field(default_factory=time.monotonic)  # when the leases were last taken or renewed

    @property
    def expiry(self) -> float:
        """When (monotonic) the leases expire if not renewed again: until then nobody else may take them."""
        return self.renewed + self.seconds

    def take(self, sources: Mapping[int, str]) -> list[Holder]:
        sessions = self.database.sessions
        taken_over: list[Holder] = []
        try:
            for source_id, name in sources.items():
                with sessions.begin() as session:
                    previous = acquire(session, source_id, self.owner, seconds=self.seconds)
                self.held[source_id] = name
                if previous is not None:
                    taken_over.append(previous)
        except BaseException:
            # What failed is the error to report; a release the database refuses too only expires.
            with contextlib.suppress(SQLAlchemyError, StorageError):
                self.release()
            raise
        self.renewed = time.monotonic()
        return taken_over

    @property
    def beat_seconds(self) -> float:
        """How often to renew: the lease outlasts several missed beats (30 s against 120 s by default)."""
        return self.seconds * HEARTBEAT_SECONDS / LEASE_SECONDS

    def renew(self) -> list[str]:
        """Renew every lease; the sources whose lease another crawl has taken over (it expired unrenewed).

        A database error (SQLite busy past its timeout, a dropped connection) is logged and the next beat
        tries again: the lease lasts several beats, and a crawl is not thrown away for one missed renewal.
        """
        lost: list[str] = []
        beat = time.monotonic()
        try:
            with self.database.sessions.begin() as session:
                for source_id, name in self.held.items():
                    if not heartbeat(session, source_id, self.owner, seconds=self.seconds):
                        lost.append(name)
            self.renewed = beat
        except (OperationalError, StorageError) as exc:
            logger.warning(
                "could not renew the leases, trying again at the next beat: %s",
                first_line(exc, with_type=True),
            )
            return []
        return lost

    def release(self) -> None:
        if not self.held:
            return
        with self.database.sessions.begin() as session:
            for source_id in self.held:
                release(session, source_id, self.owner)
        self.held = {}

    def let_go(self) -> None:
        """Release the leases at a crawl's end, however it ended: a database that refuses (gone, full) is
        tried again until the leases would expire anyway; then one error line, and they expire."""
        if not self.held:
            return
        names = ", ".join(self.held.values())
        try:
            retrying(f"release the lease of {names}", self.release, self.expiry)
        except (SQLAlchemyError, StorageError) as exc:
            logger.error(
                "could not release the lease of %s, it expires by itself: %s", names, first_line(exc)
            )


def close_abandoned(database: Database, taken_over: Sequence[Holder]) -> None:
    """A lease taken over was left by a crawl that died without closing its run: close it as interrupted,
    with the counts of what it stored and rejected."""
    if taken_over:
        # Here rather than at the top: readers load this module (the run summaries) without the metrics.
        from crawler.runner import metrics

        for holder in taken_over:
            metrics.count_takeover(holder.source)
    with database.sessions.begin() as session:
        for holder in taken_over:
            logger.warning("took over the expired lease of %s held by %s", holder.source, holder.owner)
            run = session.get(CrawlRun, holder.run_id) if holder.run_id is not None else None
            if run is not None and run.status == RunStatus.RUNNING:
                finish_run(
                    session,
                    run.id,
                    status=RunStatus.INTERRUPTED,
                    # a reprocess run's counts are its outcomes, not pages: kept as they are
                    counts=None if run.trigger == "reprocess" else recount(session, run.id, run.counts or {}),
                    error=(
                        f"the crawl ({holder.owner}) stopped without closing this run; its lease expired at "
                        f"{holder.expires_at:%Y-%m-%d %H:%M:%S}Z and was taken over"
                    ),
                    only_if_running=True,
                )


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
    cancel: threading.Event | None = None,
    grace: float | None = None,
    progress: Callable[[int, dict[str, int]], None] | None = None,
    lease_seconds: float = LEASE_SECONDS,
) -> list[RunSummary]:
    """Crawl `sources` in one subprocess into `cfg.db_url`; returns one summary per source.

    Takes each source's lease first (SourceBusy names the holder when one is held) and renews it while
    the crawl runs. `timeout` (seconds) ends the crawl and marks its runs `timeout`; setting `cancel` (or
    Ctrl-C: CrawlInterrupted, with the runs) asks it to stop, waits `grace` seconds (default: stop_grace()),
    then ends it, and marks its runs `interrupted`.
    `progress` is called with a run id and its counts so far as pages are settled.
    """
    grace = stop_grace() if grace is None else grace
    database = open_for_writing(cfg.db_url)  # the crawl is a writer: the schema is brought up first
    with database.sessions.begin() as session:
        source_ids = upsert_sources(session, [s.to_dict() for s in sources])
    leases = Leases(database, new_owner(trigger), lease_seconds)
    taken_over = leases.take({source_ids[s.name]: s.name for s in sources})
    try:
        close_abandoned(database, taken_over)
        with database.sessions.begin() as session:
            entries: list[dict[str, Any]] = []
            for s in sources:
                run_id = start_run(session, source_ids[s.name], trigger)
                attach_run(session, source_ids[s.name], leases.owner, run_id)
                entries.append({"source": s.to_dict(), "source_id": source_ids[s.name], "run_id": run_id})
        run_ids: list[int] = [e["run_id"] for e in entries]
        job = {
            "db_url": cfg.db_url,
            "warc_dir": str(cfg.warc_dir.resolve()),
            "contact_url": cfg.contact_url,
            "sources": entries,
            "settings": settings or {},
            "since": since.isoformat() if since else None,
            "recrawl": recrawl,
            "parent_pid": os.getpid(),
            "lease_owner": leases.owner,
        }
        try:
            return _run_worker(database, job, run_ids, leases, log_sink, timeout, cancel, grace, progress)
        except KeyboardInterrupt:
            raise CrawlInterrupted(run_summaries(database, run_ids)) from None
    finally:
        leases.let_go()


def stop_grace() -> float:
    """The grace of a crawl asked to stop: PAIRCHIVE_STOP_GRACE seconds (tests of a crawl held mid-page
    need not wait half a minute for the kill), else GRACE_SECONDS."""
    return seconds_from_env(GRACE_ENV, GRACE_SECONDS, PairchiveError)


def _run_worker(
    database: Database,
    job: dict[str, Any],
    run_ids: list[int],
    leases: Leases,
    log_sink: IO[str] | None,
    timeout: float | None,
    cancel: threading.Event | None,
    grace: float,
    progress: Callable[[int, dict[str, int]], None] | None,
) -> list[RunSummary]:
    tail: deque[str] = deque(maxlen=TAIL_LINES)
    try:
        # The job goes on stdin: a few hundred sources would not fit in a command line.
        proc = subprocess.Popen(
            [sys.executable, "-m", "crawler.process.worker", "-"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            encoding="utf-8",
            errors="replace",
        )
        assert proc.stdin is not None and proc.stderr is not None and proc.stdout is not None
        proc.stdin.write(json.dumps(job))
        proc.stdin.close()
    except OSError as exc:
        _close_books(
            database, run_ids, -1, deque([f"cannot start the crawl process: {exc}"]), None, _Report()
        )
        raise
    report = _Report()
    # Log and progress are pumped on threads, so the time limit applies even to a child that says nothing.
    pumps = [
        threading.Thread(target=pump_log, args=(proc.stderr, log_sink, tail), daemon=True),
        threading.Thread(target=_pump_progress, args=(proc.stdout, progress, report), daemon=True),
    ]
    for pump in pumps:
        pump.start()
    ending: Ending | None = None
    in_flight = True  # an exception is on its way out: a failure to close the books must not replace it
    try:
        ending = _wait(proc, leases, timeout, cancel, grace)
        in_flight = False
    except KeyboardInterrupt:
        # The terminal sent SIGINT to the child too: Scrapy closes the run; give it the grace period.
        ending = Ending(RunStatus.INTERRUPTED, "the crawl was stopped")
        stop_process(proc, grace, already_asked=True)
        raise
    except BaseException as exc:
        ending = Ending(
            RunStatus.FAILED,
            f"the crawl was stopped after an error in its parent: {first_line(exc, with_type=True)}",
        )
        raise
    finally:
        if proc.poll() is None:
            # Whatever went wrong here, the lease is released next: a crawl left running would be a second
            # crawl of its source as soon as another one starts.
            stop_process(proc, grace)
        for pump in pumps:
            pump.join(timeout=10)
        proc.stderr.close()
        proc.stdout.close()
        try:
            retrying(
                "record the end of the crawl",
                lambda: _close_books(database, run_ids, proc.returncode, tail, ending, report),
                leases.expiry,
            )
        except (SQLAlchemyError, StorageError) as exc:
            logger.error("could not record the end of the crawl: %s", first_line(exc))
            if not in_flight:
                raise
    return run_summaries(database, run_ids)


@dataclass(frozen=True)
class Ending:
    """Why the parent ended a crawl: the status every run of it gets, and the reason."""

    status: str
    reason: str


def _wait(
    proc: subprocess.Popen[str],
    leases: Leases,
    timeout: float | None,
    cancel: threading.Event | None,
    grace: float,
) -> Ending | None:
    """Wait for the crawl to end, renewing its leases; end it on its time limit, a stop request or a lost
    lease, and say why (None: it ended by itself)."""
    deadline = None if timeout is None else time.monotonic() + timeout
    next_beat = time.monotonic() + leases.beat_seconds
    while True:
        try:
            proc.wait(timeout=POLL_SECONDS)
            return None
        except subprocess.TimeoutExpired:
            pass
        now = time.monotonic()
        ending = None
        if now >= next_beat:
            next_beat = now + leases.beat_seconds
            if lost := leases.renew():
                # Another crawl took the lease over after it expired: it is crawling the source now, and
                # this one must neither go on nor close its run over the new holder's record.
                logger.error("lost the lease of %s: another crawl took it over; stopping", ", ".join(lost))
                ending = Ending(
                    RunStatus.INTERRUPTED, f"the lease of {', '.join(lost)} was taken over by another crawl"
                )
        if ending is None and deadline is not None and now >= deadline:
            ending = Ending(RunStatus.TIMEOUT, "the time limit was reached")
        if ending is None and cancel is not None and cancel.is_set():
            ending = Ending(RunStatus.INTERRUPTED, "the crawl was stopped")
        if ending is not None:
            stop_process(proc, grace)
            return ending


def stop_process(proc: subprocess.Popen[str], grace: float, already_asked: bool = False) -> int:
    """Ask the crawl to stop (SIGTERM: Scrapy closes the spider and its run), then end it after `grace`."""
    if not already_asked:
        proc.terminate()
    try:
        return proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        return proc.wait()


def _close_books(
    database: Database,
    run_ids: list[int],
    exit_code: int,
    tail: deque[str],
    ending: Ending | None,
    report: _Report,
) -> None:
    """Close what the child left open: with the end the child reported, else as failed, its counts
    recounted; with an `ending` (a timeout, a stop, a lost lease: the parent's doing), set its status on
    every run of this crawl, keeping the counts the child recorded."""
    last = next((line for line in reversed(tail) if line.strip()), "")
    with database.sessions.begin() as session:
        for run_id in run_ids:
            run = session.get(CrawlRun, run_id)
            if run is None:
                continue
            counts = None
            status, error = (
                RunStatus.FAILED.value,  # or the child's own word for its end, as text
                f"crawl process exited with code {exit_code} before closing this run: {last}",
            )
            if run.status == RunStatus.RUNNING:
                counts = recount(session, run_id, report.counts.get(run_id, {}))
                if run_id in report.ends:  # the child's account of its end, which it could not write
                    status, reason = report.ends[run_id]
                    error = reason or ""
            elif ending is None:
                continue  # the child closed it
            if ending is not None:
                status = ending.status
                error = f"{ending.reason}; crawl process exit code {exit_code}"
                if exit_code == -signal.SIGKILL:
                    error += " (it did not stop within the grace period and was killed)"
            finish_run(session, run_id, status=status, counts=counts, error=error, exit_code=exit_code)
        set_exit_code(session, run_ids, exit_code)


def recount(session: Session, run_id: int, reported: Mapping[str, int]) -> dict[str, int]:
    """A run's counts from the rows it left: articles stored and revised, each rejection reason, captures
    fetched; over what the child last `reported` (fetched pages, skips), never below what the rows say."""
    counts = dict(reported)
    made = select(func.count()).where(
        ArticleRevision.run_id == run_id, ArticleRevision.made_by != "reprocess"
    )
    counts["stored"] = int(session.scalar(made.where(ArticleRevision.revision == 1)) or 0)
    revised = int(session.scalar(made.where(ArticleRevision.revision > 1)) or 0)
    if revised or "revised" in counts:
        counts["revised"] = revised
    for reason, n in session.execute(
        select(Rejection.reason, func.count()).where(Rejection.run_id == run_id).group_by(Rejection.reason)
    ).all():
        counts[str(reason)] = max(counts.get(str(reason), 0), int(n))
    captured = session.scalar(select(func.count()).where(Capture.run_id == run_id)) or 0
    counts["fetched"] = max(counts.get("fetched", 0), int(captured))
    counts.setdefault(Reason.FAILED, 0)
    return counts


def run_summaries(database: Database, run_ids: Sequence[int]) -> list[RunSummary]:
    with database.sessions() as session:
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
                health=r.health,
            )
            for r in runs
        ]
