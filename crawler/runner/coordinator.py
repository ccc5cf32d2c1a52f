"""The coordinator of distributed crawls: runs dispatched to workers through Redis, and their books closed.

The daemon with `--redis URL` (and `pairchive crawl --redis URL`) calls `dispatch` instead of starting crawl
subprocesses. For each source it takes the source's lease and opens a `running` record as today, then opens
the run in Redis (its state `open`) and pushes one ticket per worker the source may use (`max_workers`).
Workers (crawler.runner.worker) take tickets and crawl the run together over its shared frontier; the first
to start seeds it with the source's entry points (the shared duplicate filter lets one copy of each in).

The coordinator alone decides when a run is over, so no worker guesses: when its frontier is empty, every
worker that took part is idle or gone and nothing is in flight, and that has held for `quiet` seconds, the
run is `done`; on its time limit (counted from dispatch: a run waiting for a free worker is waiting too), a
stop request or a lost lease it is `stop`ped. Workers close their part then; the coordinator waits for
them (at most the grace), closes the run record with the counts summed over its workers (recounted from
the rows it left, as a single-machine run's are) and their merged extraction health, judged as today, and
deletes the run's keys.

A worker that stops mid-run (killed: its alive key expires unrenewed) has its in-flight requests put back
into the frontier and a ticket pushed in its place, so another worker can take over. A Redis that does not
answer is said in one line and asked again with backoff; the time limit still runs meanwhile.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import redis
from sqlalchemy.exc import SQLAlchemyError

from crawler.runner.crawl import (
    CrawlInterrupted,
    Ending,
    Leases,
    RunSummary,
    close_abandoned,
    retrying,
    run_summaries,
    stop_grace,
)
from crawler.runner.parts import close_from_parts
from crawler.vocabulary.config import AppConfig
from crawler.vocabulary.errors import PairchiveError, StorageError, first_line
from crawler.vocabulary.frontier import (
    DONE,
    OPEN,
    RUN_KEYS_SECONDS,
    STOP,
    RunKeys,
    connect,
    release_holds,
    requeue,
    text,
    tickets,
    valid_prefix,
)
from crawler.vocabulary.sources import Source
from storage.archive import start_run, upsert_sources
from storage.db import Database, open_for_writing
from storage.leases import LEASE_SECONDS, attach_run, new_owner
from storage.outcomes import RunStatus
from storage.redact import display_url

logger = logging.getLogger(__name__)

POLL_SECONDS = 0.25  # how often the coordinator looks at its runs
QUIET_SECONDS = 5.0  # a run whose frontier stayed empty and workers idle this long is done
RETRY_PAUSES = (0.5, 10.0)  # first and longest pause between two tries of a Redis that does not answer
ALIVE_WAIT = 15.0  # past the grace, how long a run's workers may take to leave it before it is closed anyway
ABANDONED_KEYS_SECONDS = 3600  # the keys of a run whose coordinator died live this long after a takeover
MAX_REPLACEMENTS = 3  # tickets pushed, per ticket of the run, in place of workers that stopped mid-run


class RedisConfigError(PairchiveError):
    """A distributed crawl asked for with a configuration it cannot work with (SQLite, a bad prefix)."""


def check_distributed(db_url: str, prefix: str) -> None:
    """Workers on several machines need one server database: SQLite with Redis is a configuration error."""
    if db_url.startswith("sqlite"):
        raise RedisConfigError(
            "distributed crawls need a server database that every worker reaches (PostgreSQL: "
            "--db postgresql+psycopg://...); SQLite is one machine's file"
        )
    try:
        valid_prefix(prefix)
    except ValueError as exc:
        raise RedisConfigError(str(exc)) from None


@dataclass
class _Run:
    source: Source
    source_id: int
    run_id: int
    keys: RunKeys
    dispatched: float  # monotonic
    tickets: list[str] = field(default_factory=list)  # tickets pushed, as pushed (to take back at the end)
    opened: bool = False  # its state and tickets are in Redis
    quiet_since: float | None = None
    ending: Ending | None = None
    state: str = OPEN  # as said in Redis: open, then done or stop
    ended_at: float | None = None  # when its end was decided
    told: bool = False  # its end is in Redis: workers know
    members: set[str] = field(default_factory=set)
    gone: dict[str, int] = field(default_factory=dict)  # worker -> requests it had in flight when it stopped
    replacements: int = 0
    closed: bool = False  # its record closed and its keys deleted


class _Outage:
    """Redis errors of the coordinator's loop, said once per outage, with a growing pause."""

    def __init__(self, url: str) -> None:
        self.where = display_url(url)
        self.since: float | None = None
        self.pause = RETRY_PAUSES[0]

    def failed(self, exc: Exception) -> float:
        if self.since is None:
            self.since = time.monotonic()
            logger.warning("Redis at %s is unreachable, trying again: %s", self.where, first_line(exc))
        else:
            self.pause = min(self.pause * 2, RETRY_PAUSES[1])
        return self.pause

    def answered(self) -> None:
        if self.since is not None:
            logger.warning(
                "Redis at %s answers again after %.0f s", self.where, time.monotonic() - self.since
            )
        self.since, self.pause = None, RETRY_PAUSES[0]


@dataclass
class Coordinator:
    """Dispatches runs to workers and closes them; one per daemon (or `crawl --redis`)."""

    redis_url: str
    prefix: str
    quiet: float = QUIET_SECONDS

    def __post_init__(self) -> None:
        self.server = connect(self.redis_url)

    def dispatch(
        self,
        cfg: AppConfig,
        sources: Sequence[Source],
        *,
        trigger: str = "cli",
        settings: dict[str, Any] | None = None,
        timeout: float | None = None,
        since: date | None = None,
        recrawl: bool = False,
        cancel: threading.Event | None = None,
        grace: float | None = None,
        lease_seconds: float = LEASE_SECONDS,
    ) -> list[RunSummary]:
        """Crawl `sources` on the workers; returns one summary per source once every run is closed."""
        check_distributed(cfg.db_url, self.prefix)
        grace = stop_grace() if grace is None else grace
        database = open_for_writing(cfg.db_url)
        with database.sessions.begin() as session:
            source_ids = upsert_sources(session, [s.to_dict() for s in sources])
        leases = Leases(database, new_owner(trigger), lease_seconds)
        taken_over = leases.take({source_ids[s.name]: s.name for s in sources})
        try:
            close_abandoned(database, taken_over)
            self._stop_abandoned([h.run_id for h in taken_over if h.run_id is not None])
            runs: list[_Run] = []
            with database.sessions.begin() as session:
                for s in sources:
                    run_id = start_run(session, source_ids[s.name], trigger)
                    attach_run(session, source_ids[s.name], leases.owner, run_id)
                    runs.append(
                        _Run(s, source_ids[s.name], run_id, RunKeys(self.prefix, run_id), time.monotonic())
                    )
            # No database URL nor data directory: each worker has its own (a ticket in Redis carries no
            # password, and machines mount the shared data directory where they like).
            job = {
                "contact_url": cfg.contact_url,
                "settings": settings or {},
                "since": since.isoformat() if since else None,
                "recrawl": recrawl,
            }
            watch = _Watch(self, database, leases, runs, job, timeout, cancel, grace)
            try:
                watch.run()
            except Exception as exc:
                # A bug, or a database refusing for longer than the lease: the runs are closed as failed
                # with why (their leases are released next, so no takeover would close them later).
                watch.fail_all(f"the coordinator failed: {first_line(exc, with_type=True)}")
                raise
            except KeyboardInterrupt:
                # Ctrl-C: the runs are stopped and closed as interrupted (a second one leaves them to the
                # next coordinator, whose takeover of the leases closes them)
                watch.stop_all(Ending(RunStatus.INTERRUPTED, "the crawl was stopped"))
                watch.run()
                raise CrawlInterrupted(run_summaries(database, [r.run_id for r in runs])) from None
            return run_summaries(database, [r.run_id for r in runs])
        finally:
            leases.let_go()
            self.server.connection_pool.disconnect()  # (reconnected if dispatch is called again)

    def _stop_abandoned(self, run_ids: Sequence[int]) -> None:
        """Runs whose coordinator died (their leases taken over, their records closed): their workers are
        told to stop, and their keys expire within the hour."""
        for run_id in run_ids:
            keys = RunKeys(self.prefix, run_id)
            try:
                self.server.hset(keys.state, mapping={"state": STOP, "reason": "its coordinator stopped"})
                for name in self.server.scan_iter(match=keys.pattern(), count=500):
                    self.server.expire(name, ABANDONED_KEYS_SECONDS)
            except (redis.ConnectionError, redis.TimeoutError) as exc:
                logger.warning("could not stop the workers of abandoned run %s: %s", run_id, first_line(exc))


class _Watch:
    """The coordinator's loop over the runs of one dispatch, until every one is closed."""

    def __init__(
        self,
        coordinator: Coordinator,
        database: Database,
        leases: Leases,
        runs: list[_Run],
        job: dict[str, Any],
        timeout: float | None,
        cancel: threading.Event | None,
        grace: float,
    ) -> None:
        self.c = coordinator
        self.server = coordinator.server
        self.database = database
        self.leases = leases
        self.runs = runs
        self.job = job
        self.timeout = timeout
        self.cancel = cancel
        self.grace = grace
        self.outage = _Outage(coordinator.redis_url)

    def fail_all(self, reason: str) -> None:
        for run in self.runs:
            if not run.closed:
                run.ending, run.state = Ending(RunStatus.FAILED, reason), STOP
                with contextlib.suppress(redis.RedisError):
                    self._tell(run)
                self._close(run)

    def stop_all(self, ending: Ending) -> None:
        for run in self.runs:
            if run.ending is None:
                self._end(run, STOP, ending)

    def run(self) -> None:
        next_beat = time.monotonic() + self.leases.beat_seconds
        open_runs = [run for run in self.runs if not run.closed]
        while open_runs:
            now = time.monotonic()
            if now >= next_beat:
                next_beat = now + self.leases.beat_seconds
                if lost := self.leases.renew():
                    logger.error(
                        "lost the lease of %s: another crawl took it over; stopping", ", ".join(lost)
                    )
                    for run in open_runs:
                        if run.source.name in lost:
                            self._end(
                                run,
                                STOP,
                                Ending(RunStatus.INTERRUPTED, "its lease was taken over by another crawl"),
                            )
            pause = POLL_SECONDS
            try:
                for run in list(open_runs):
                    if self._look(run, now):
                        open_runs.remove(run)
                self.outage.answered()
            except redis.RedisError as exc:  # gone, or refusing (out of memory, read-only, no permission)
                pause = self.outage.failed(exc)
                for run in list(open_runs):
                    if self._give_up(run, now):
                        open_runs.remove(run)
            time.sleep(pause)

    # --- one run ---

    def _ticket(self, run: _Run) -> str:
        entry = {"source": run.source.to_dict(), "source_id": run.source_id, "run_id": run.run_id}
        # The time limit goes along: a worker whose coordinator died ends its crawl by itself.
        ticket = {**self.job, "sources": [entry], "time_limit": self.timeout}
        return json.dumps(ticket, sort_keys=True)

    def _open(self, run: _Run) -> None:
        ticket = self._ticket(run)
        count = run.source.max_workers
        with self.server.pipeline() as pipe:
            pipe.hset(run.keys.state, mapping={"state": OPEN, "source": run.source.name, "workers": count})
            pipe.expire(run.keys.state, RUN_KEYS_SECONDS)  # renewed at each look: it outlives no coordinator
            pipe.rpush(tickets(self.c.prefix), *([ticket] * count))
            pipe.execute()
        run.tickets = [ticket] * count
        run.opened = True
        logger.info("run %s of %s dispatched to %d worker(s)", run.run_id, run.source.name, count)

    def _look(self, run: _Run, now: float) -> bool:
        """One look at a run; True once it is closed."""
        if run.ending is None:
            self._watch_open(run, now)
        if run.ending is not None:
            if not run.told:
                self._tell(run)
            if self._left(run) or now - (run.ended_at or now) > self.grace + ALIVE_WAIT:
                self._close(run)
                return True
        return False

    def _watch_open(self, run: _Run, now: float) -> None:
        if self.timeout is not None and now - run.dispatched >= self.timeout:
            self._end(run, STOP, Ending(RunStatus.TIMEOUT, "the time limit was reached"))
            return
        if self.cancel is not None and self.cancel.is_set():
            self._end(run, STOP, Ending(RunStatus.INTERRUPTED, "the crawl was stopped"))
            return
        if not run.opened:
            self._open(run)
        self.server.expire(run.keys.state, RUN_KEYS_SECONDS)
        members = {str(text(m)) for m in self.server.smembers(run.keys.workers)}
        run.members |= members
        quiet = bool(members) and self.server.zcard(run.keys.requests) == 0
        for worker in sorted(members):
            with self.server.pipeline() as pipe:
                pipe.exists(run.keys.alive(worker))
                pipe.exists(run.keys.idle(worker))
                pipe.zcard(run.keys.inflight(worker))
                alive, idle, inflight = pipe.execute()
            if not alive and worker not in run.gone:
                self._gone(run, worker)
                quiet = False  # what it had in flight is back in the frontier
            elif alive and (not idle or inflight):
                quiet = False
        if not quiet:
            run.quiet_since = None
        elif run.quiet_since is None:
            run.quiet_since = now
        elif now - run.quiet_since >= self.c.quiet:
            self._end(run, DONE, None)

    def _gone(self, run: _Run, worker: str) -> None:
        """A worker left the run while it was open (killed, stopped, crashed): its requests go back."""
        back = requeue(self.server, run.keys, worker)
        release_holds(self.server, self.c.prefix, worker)  # its hosts are free for the others at once
        run.gone[worker] = back
        logger.warning(
            "run %s of %s: worker %s left before the run was done; %d request(s) it had back in the frontier",
            run.run_id,
            run.source.name,
            worker,
            back,
        )
        if run.replacements < MAX_REPLACEMENTS * run.source.max_workers:
            run.replacements += 1
            ticket = self._ticket(run)
            self.server.rpush(tickets(self.c.prefix), ticket)
            run.tickets.append(ticket)

    def _end(self, run: _Run, state: str, ending: Ending | None) -> None:
        run.ending = ending or Ending(RunStatus.OK, "")
        run.ended_at = time.monotonic()
        run.told = False
        run.state = state
        if state == DONE:
            logger.info(
                "run %s of %s: frontier empty and its workers idle: done", run.run_id, run.source.name
            )
        else:
            logger.info("run %s of %s: stopping (%s)", run.run_id, run.source.name, run.ending.reason)

    def _tell(self, run: _Run) -> None:
        state = run.state
        with self.server.pipeline() as pipe:
            pipe.hset(
                run.keys.state, mapping={"state": state, "reason": run.ending.reason if run.ending else ""}
            )
            for ticket in set(run.tickets):
                pipe.lrem(tickets(self.c.prefix), 0, ticket)
            pipe.execute()
        run.told = True

    def _left(self, run: _Run) -> bool:
        """Whether every worker of the run has closed its part."""
        members = {str(text(m)) for m in self.server.smembers(run.keys.workers)}
        run.members |= members
        return not any(self.server.exists(run.keys.alive(w)) for w in members)

    def _give_up(self, run: _Run, now: float) -> bool:
        """Redis does not answer: a run past its time limit and grace is closed all the same."""
        if run.ending is None and self.timeout is not None and now - run.dispatched >= self.timeout:
            self._end(
                run, STOP, Ending(RunStatus.TIMEOUT, "the time limit was reached while Redis was unreachable")
            )
        if run.ending is not None and now - (run.ended_at or now) > self.grace + ALIVE_WAIT:
            self._close(run, keys=False)
            return True
        return False

    # --- the books ---

    def _close(self, run: _Run, keys: bool = True) -> None:
        """The run record closed with its workers' counts and health; its keys deleted."""
        run.closed = True

        def close() -> None:
            with self.database.sessions.begin() as session:
                assert run.ending is not None
                close_from_parts(
                    session,
                    run.run_id,
                    run.source.name,
                    run.ending,
                    done=run.state == DONE,
                    members=run.members,
                    gone=run.gone,
                )

        try:
            # a database that refuses (gone, full) is asked again until the lease would expire
            retrying(f"record the end of run {run.run_id}", close, self.leases.expiry)
        except (SQLAlchemyError, StorageError) as exc:
            logger.error(
                "could not record the end of run %s: %s", run.run_id, first_line(exc, with_type=True)
            )
        if keys:
            self._delete_keys(run)

    def _delete_keys(self, run: _Run) -> None:
        try:
            names = list(self.server.scan_iter(match=run.keys.pattern(), count=500))
            if names:
                self.server.delete(*names)
        except redis.RedisError as exc:  # they expire within a day of their last write
            logger.warning("could not delete the Redis keys of run %s: %s", run.run_id, first_line(exc))
