"""The nightly daemon: one APScheduler cron job per source, each running one crawl in a subprocess.

    pairchive daemon [--sources FILE] [--db URL] [--max-concurrent 2] [--time-limit 180] [--grace 60] [--now]
    python scheduler.py                       (the same, configured by PAIRCHIVE_* variables)

- Jobs: explicit ids (`crawl:NAME`), the source's cron `schedule` in its `timezone` (default 0 2 * * * in
  Asia/Shanghai), `coalesce=True` (a backlog of missed runs is one run), `max_instances=1`, and
  `misfire_grace_time` MISFIRE_GRACE_SECONDS (a run delayed by a restart or a busy machine still runs
  within the hour; later it waits for its next time).
- Each job is one crawl subprocess (crawler.runner.crawl) holding the source's lease, with a time limit; at most
  `max_concurrent` crawls run at once (the executor's thread pool), the rest wait their turn.
- A run that finds its source's lease held (another crawl, or a dead one whose lease has not expired yet:
  a daemon restarted after a kill) is tried once more just after that lease's expiry (job `retry:NAME`),
  rather than waiting for its next cron time; if the source is still busy then, it waits for that.
- A source with `min_interval` and `max_interval` is visited at those of its cron times its own recent
  runs make due (crawler.vocabulary.polling); a cron time too early returns `not_due`, in one log line with
  the next visit and why. `--now` crawls every source at start whatever its polling says.
- At start, the sources file and the database (migrated to the newest schema) must open; if either does
  not, one error line and exit status 2 (a configuration error: not worth a restart), or 1 when a database
  server does not answer (it may be starting: worth a restart).
- SIGTERM or SIGINT: no new runs start (jobs waiting for a free slot are skipped); running crawls get
  `grace` seconds to finish, then are asked to stop, with `grace` seconds again to close their runs (past
  them they are killed), and marked `interrupted`; the daemon exits 0.
- SIGHUP, or a change to the sources file: the sources are read again and the jobs added, replaced or
  removed to match, without a restart. A file that does not load keeps the old schedule; the error is
  logged in one line.
- With `--metrics HOST:PORT`, Prometheus metrics (crawler.runner.metrics) are served on that address; one
  that cannot be listened on (a port in use) is one error line and exit status 2.
- Logs go to stderr, one line per event: readable text, or one JSON object per event (`--log-format json`,
  crawler.vocabulary.logformat).
- Under systemd (NOTIFY_SOCKET set, crawler.runner.sdnotify): READY=1 once the schedule is loaded, the
  database opened and the scheduler started; STATUS=... with the sources and the crawls running;
  RELOADING=1 and READY=1 around a reload; STOPPING=1 when it starts to stop; and, with a watchdog
  (WATCHDOG_USEC), WATCHDOG=1 at half its time from the main loop, only while the scheduler runs, so a
  wedged daemon is restarted.
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import signal
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import FrameType
from typing import Any

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import STATE_RUNNING, BaseScheduler
from apscheduler.triggers.date import DateTrigger
from sqlalchemy.exc import SQLAlchemyError

from crawler.runner import metrics
from crawler.runner.crawl import RunSummary, crawl
from crawler.runner.sdnotify import Notifier
from crawler.vocabulary.config import DEFAULT_TIME_LIMIT_MINUTES, AppConfig
from crawler.vocabulary.errors import DatabaseUnreachable, PairchiveError, StorageError, first_line
from crawler.vocabulary.logformat import FORMAT_ENV, FORMATS, TEXT, configure, event
from crawler.vocabulary.polling import planned_visit
from crawler.vocabulary.sources import Source, cron_trigger, load_sources, select, source_from_dict
from storage.db import open_for_writing
from storage.leases import Holder, SourceBusy
from storage.outcomes import COMPLETED, RunStatus
from storage.redact import display_url, scrub_logging

logger = logging.getLogger("pairchive.daemon")

MISFIRE_GRACE_SECONDS = 3600  # a run delayed by up to an hour (daemon restart, busy machine) still runs
MAX_CONCURRENT = 2  # crawls at once, across all sources
MAX_DISPATCHED = (
    100  # with Redis: runs dispatched to the workers at once (the workers' slots are the real cap)
)
TIME_LIMIT_MINUTES = DEFAULT_TIME_LIMIT_MINUTES  # a crawl running longer is ended and recorded as `timeout`
GRACE_SECONDS = 60.0  # at shutdown, how long running crawls may go on before they are stopped
WATCH_SECONDS = 5.0  # how often the daemon looks at the sources file for changes
RETRY_AFTER_EXPIRY_SECONDS = 5.0  # a busy source is tried again this long after its holder's lease expires

# Set as soon as the daemon starts to stop: jobs still waiting for the pool are skipped.
SHUTTING_DOWN = threading.Event()
# Set when the daemon shuts down past its grace period: running crawls are stopped and marked interrupted.
STOPPING = threading.Event()
_running: dict[str, int] = {}  # source name -> crawls of it in progress in this process
_running_changed = threading.Condition()
# The running daemon's scheduler, where a run that found its source busy schedules its retry.
_retries: BaseScheduler | None = None
# Sources whose next run the operator asked for (`daemon --now`): crawled whatever their polling says.
_asked_now: set[str] = set()


def run_source(
    config: dict[str, Any],
    source: dict[str, Any] | str,
    settings: dict[str, Any] | None = None,
    time_limit: float | None = TIME_LIMIT_MINUTES,
    retry_when_busy: bool = True,
    *,
    grace: float = GRACE_SECONDS,
) -> str:
    """The job: crawl one source now; returns the run's status (`busy` when another crawl holds it,
    `skipped` when the daemon is stopping, `failed` when no run could be made, `not_due` when adaptive
    polling finds this cron time too early). A crawl asked to stop (the daemon stopping) has `grace`
    seconds to close its run before it is ended.

    `source` is the source's table as the daemon loaded it (or, for a one-off call, its name, looked up in
    the sources file). The job's arguments are plain data, so it runs from any job store. A busy source
    is tried again once, after the holder's lease expires (`retry_when_busy`, false for that retry).
    """
    name = source if isinstance(source, str) else str(source.get("name", "?"))
    if SHUTTING_DOWN.is_set():
        # A job queued behind the concurrency cap is still handed to the pool while it shuts down: it must
        # not take a lease and start a crawl only to be stopped at once and marked interrupted.
        logger.info(
            "run of %s skipped: the daemon is stopping", name, extra=event("run_skipped", source=name)
        )
        return "skipped"
    if _not_due(config, source, name):
        return "not_due"
    with _running_changed:
        _running[name] = _running.get(name, 0) + 1
    metrics.crawl_started()
    try:
        run = _crawl_one(AppConfig(**config), source, settings, time_limit, grace)
    except SourceBusy as exc:
        retry = (
            _retry_after(exc.holder, name, [config, source, settings, time_limit], grace)
            if retry_when_busy
            else None
        )
        skipped = event("run_skipped", source=name, status="busy", error=str(exc), retry_at=retry)
        if retry is not None:
            logger.warning(
                "run of %s skipped: %s; trying again at %s", name, exc, retry.isoformat(), extra=skipped
            )
        else:
            logger.warning("run of %s skipped: %s", name, exc, extra=skipped)
        return "busy"
    except Exception as exc:  # a bad file, the database gone, a full disk: one line, and the daemon goes on
        failed = event("run_failed", source=name, status="failed", error=first_line(exc))
        logger.error("run of %s failed: %s", name, first_line(exc), extra=failed)
        logger.debug("run of %s failed", name, exc_info=True, extra=failed)
        metrics.count_skip(name, metrics.ERROR)  # no run record was made: not a run that failed
        return "failed"
    finally:
        metrics.crawl_ended()
        with _running_changed:
            _running[name] -= 1
            if not _running[name]:
                del _running[name]
            _running_changed.notify_all()
    metrics.count_run(run)
    counts = " ".join(f"{k}={v}" for k, v in sorted(run.counts.items()))
    level = logging.ERROR if run.status not in COMPLETED else logging.INFO
    level = logging.WARNING if run.status == RunStatus.DEGRADED else level  # ended, but drifted
    logger.log(
        level,
        "run %s of %s: %s %s%s",
        run.run_id,
        name,
        run.status,
        counts,
        f" {_one_line(said)}" if (said := run.error or _drift(run)) else "",
        extra=event(
            "run_finished",
            source=name,
            run=run.run_id,
            status=run.status,
            counts=run.counts,
            error=run.error,
            reason=_drift(run),
        ),
    )
    return run.status


def _drift(run: RunSummary) -> str | None:
    """The drift verdict's line of a degraded run, what its log line and event say; None for the others
    (an ok run's "steady" is in its record, not news for the log)."""
    return run.verdict if run.status == RunStatus.DEGRADED else None


def _not_due(config: dict[str, Any], source: dict[str, Any] | str, name: str) -> bool:
    """Whether adaptive polling (crawler.vocabulary.polling) finds this cron time too early for the
    source, said in one line with its next visit and why. A run the operator asked for is never too
    early; a check that cannot be made (a bad file, the database away) leaves the crawl to say why."""
    with _running_changed:
        if name in _asked_now:
            _asked_now.discard(name)
            return False
    try:
        cfg = AppConfig(**config)
        chosen = _chosen(cfg, source)
        if chosen.min_interval is None:
            return False
        with open_for_writing(cfg.db_url).sessions() as session:
            plan = planned_visit(session, chosen, datetime.now(UTC))
    except (PairchiveError, SQLAlchemyError) as exc:
        logger.debug("run of %s: no due check (%s)", name, first_line(exc))
        return False
    if plan.due:
        return False
    when = plan.next_visit.astimezone(UTC).isoformat() if plan.next_visit else "-"
    not_due = event("run_skipped", source=name, status="not_due", next_run=plan.next_visit, reason=plan.why)
    logger.info("run of %s not_due: next visit %s, %s", name, when, plan.why, extra=not_due)
    return True


def _retry_after(holder: Holder, name: str, args: list[Any], grace: float) -> datetime | None:
    """Schedule one more run of a busy source just after its holder's lease expires: a dead crawl's lease
    (a daemon restarted after a kill) is taken over then, not at the next cron time. None when no daemon
    is running to do it (a one-off call) or it is stopping."""
    sched = _retries
    if sched is None or SHUTTING_DOWN.is_set():
        return None
    when = holder.expires_at + timedelta(seconds=RETRY_AFTER_EXPIRY_SECONDS)
    sched.add_job(
        run_source,
        DateTrigger(run_date=when),
        args=[*args, False],
        kwargs={"grace": grace},
        id=f"retry:{name}",
        name=f"retry {name}",
        replace_existing=True,
        coalesce=True,
        max_instances=1,
        misfire_grace_time=MISFIRE_GRACE_SECONDS,
    )
    return when


def _crawl_one(
    cfg: AppConfig,
    source: dict[str, Any] | str,
    settings: dict[str, Any] | None,
    time_limit: float | None,
    grace: float,
) -> RunSummary:
    chosen = _chosen(cfg, source)
    logger.info("run of %s starting", chosen.name, extra=event("run_started", source=chosen.name))
    if cfg.redis_url:
        # Distributed: the run is crawled by workers (`pairchive worker`); this thread coordinates it.
        from crawler.runner.coordinator import Coordinator

        (run,) = Coordinator(cfg.redis_url, cfg.redis_prefix, quiet=cfg.done_after).dispatch(
            cfg,
            [chosen],
            trigger="schedule",
            settings=settings,
            timeout=time_limit * 60 if time_limit else None,
            cancel=STOPPING,
            grace=grace,
        )
        return run
    (run,) = crawl(
        cfg,
        [chosen],
        trigger="schedule",
        settings=settings,
        log_sink=None,
        timeout=time_limit * 60 if time_limit else None,
        cancel=STOPPING,
        grace=grace,
    )
    return run


def _chosen(cfg: AppConfig, source: dict[str, Any] | str) -> Source:
    """The job's source: its table as the daemon loaded it, or its name looked up in the sources file."""
    if isinstance(source, str):
        (chosen,) = select(load_sources(cfg.sources_path), [source], cfg.sources_path)
        return chosen
    return source_from_dict(source)


def _one_line(text: str) -> str:
    """A message as one log line: the daemon's log is one line per event."""
    return " | ".join(line.strip() for line in text.splitlines() if line.strip())


def running() -> dict[str, int]:
    with _running_changed:
        return dict(_running)


def job_id(name: str) -> str:
    return f"crawl:{name}"


def add_jobs(
    scheduler: BaseScheduler,
    cfg: AppConfig,
    sources: Sequence[Source],
    settings: dict[str, Any] | None = None,
    time_limit: float | None = TIME_LIMIT_MINUTES,
    grace: float = GRACE_SECONDS,
) -> None:
    """One cron job per source, in the source's own time zone; re-adding replaces the old job. `grace` is
    how long each crawl, once asked to stop, may take to close its run."""
    for source in sources:
        scheduler.add_job(
            run_source,
            cron_trigger(source.schedule, source.timezone),
            args=[asdict(cfg), source.to_dict(), settings, time_limit],
            kwargs={"grace": grace},
            id=job_id(source.name),
            name=f"crawl {source.name}",
            replace_existing=True,
            coalesce=True,
            max_instances=1,
            misfire_grace_time=MISFIRE_GRACE_SECONDS,
        )


class Daemon:
    """The scheduler, the sources it was given, and what reloading and stopping do to them."""

    def __init__(
        self,
        cfg: AppConfig,
        *,
        max_concurrent: int = MAX_CONCURRENT,
        time_limit: float | None = TIME_LIMIT_MINUTES,
        grace: float = GRACE_SECONDS,
        settings: dict[str, Any] | None = None,
        scheduler: BaseScheduler | None = None,
        notifier: Notifier | None = None,
    ) -> None:
        self.cfg = cfg
        self.notifier = notifier or Notifier()  # the service manager's, or one that sends nothing
        self.time_limit = time_limit
        self.grace = grace
        self.settings = settings
        self.scheduler = scheduler or BackgroundScheduler(
            timezone="UTC", executors={"default": ThreadPoolExecutor(max_concurrent)}
        )
        self.sources: dict[str, dict[str, Any]] = {}
        self.loaded_mtime: float | None = None
        # A signal puts a word here: look at the flags below now. A SimpleQueue, not an Event: its put is
        # reentrant, so a handler that interrupts the main loop inside the queue cannot deadlock on it (an
        # Event's set would wait for the lock the interrupted wait or clear of the same thread holds).
        self.wake: queue.SimpleQueue[None] = queue.SimpleQueue()
        self.stop_requested = False
        self.reload_requested = False

    def _mtime(self) -> float | None:
        try:
            return Path(self.cfg.sources_path).stat().st_mtime
        except OSError:
            return None

    def load(self) -> bool:
        """Read the sources file and make the jobs match it. On a bad file keep everything as it was."""
        mtime = self._mtime()
        try:
            sources = load_sources(self.cfg.sources_path)
        except PairchiveError as exc:
            self.loaded_mtime = mtime  # report a bad file once, not at every look
            invalid = event("sources_invalid", error=str(exc))
            if self.sources:
                logger.error("sources not reloaded, keeping the old schedule: %s", exc, extra=invalid)
            else:
                logger.error("%s", exc, extra=invalid)
            return False
        self.loaded_mtime = mtime
        new = {s.name: s.to_dict() for s in sources}
        changed = [s for s in sources if self.sources.get(s.name) != new[s.name]]
        removed = sorted(set(self.sources) - set(new))
        add_jobs(self.scheduler, self.cfg, changed, self.settings, self.time_limit, self.grace)
        for name in removed:
            self.scheduler.remove_job(job_id(name))
            if self.scheduler.get_job(f"retry:{name}") is not None:
                self.scheduler.remove_job(f"retry:{name}")
        if self.sources and (changed or removed):
            added = sorted(s.name for s in changed if s.name not in self.sources)
            updated = sorted(s.name for s in changed if s.name in self.sources)
            logger.info(
                "sources reloaded: added %s, changed %s, removed %s",
                ",".join(added) or "-",
                ",".join(updated) or "-",
                ",".join(removed) or "-",
                extra=event("sources_reloaded", added=added, changed=updated, removed=removed),
            )
        self.sources = new
        metrics.sources_loaded(sorted(new))
        return True

    def next_runs(self) -> dict[str, datetime | None]:
        """The next cron run of each source (retries of busy sources: `retries`)."""
        return {
            job.id.removeprefix("crawl:"): job.next_run_time
            for job in self.scheduler.get_jobs()
            if job.id.startswith("crawl:")
        }

    def retries(self) -> dict[str, datetime | None]:
        """When each source found busy is tried again."""
        return {
            job.id.removeprefix("retry:"): job.next_run_time
            for job in self.scheduler.get_jobs()
            if job.id.startswith("retry:")
        }

    def start(self, run_now: bool = False) -> None:
        global _retries
        _retries = self.scheduler
        self.scheduler.start()
        for name, when in sorted(self.next_runs().items()):
            logger.info(
                "scheduled %s: next run %s",
                name,
                when.astimezone(UTC).isoformat() if when else "-",
                extra=event("scheduled", source=name, next_run=when),
            )
        if run_now:
            now = datetime.now(UTC)
            for job in self.scheduler.get_jobs():
                with _running_changed:
                    _asked_now.add(job.id.removeprefix("crawl:"))
                job.modify(next_run_time=now)

    def watch(self) -> None:
        """Until asked to stop: reload on SIGHUP or when the sources file changes, and tell the service
        manager how the daemon is (its status; with a watchdog, that it is alive, at half the watchdog's
        time, so the loop wakes at least that often)."""
        interval = self.notifier.watchdog_interval
        look = min(WATCH_SECONDS, interval) if interval else WATCH_SECONDS
        next_beat = time.monotonic()
        while True:
            if interval and time.monotonic() >= next_beat and self.healthy():
                self.notifier.watchdog()
                next_beat = time.monotonic() + interval
            self.notifier.status(self.status_line())
            with contextlib.suppress(queue.Empty):
                self.wake.get(timeout=look)
            while not self.wake.empty():
                self.wake.get_nowait()
            if self.stop_requested:
                return
            if self.reload_requested or self._mtime() != self.loaded_mtime:
                self.reload_requested = False
                self.notifier.reloading()
                self.load()
                self.notifier.ready(self.status_line())

    def healthy(self) -> bool:
        """The scheduler runs (its thread alive): otherwise no watchdog beat, and systemd restarts us."""
        thread = getattr(self.scheduler, "_thread", None)  # BackgroundScheduler's; others have none
        return self.scheduler.state == STATE_RUNNING and (thread is None or thread.is_alive())

    def status_line(self) -> str:
        """What the daemon is doing, in a few words (systemd's STATUS):
        `3 sources, 1 crawling: huli-edu; next run linxia-news at 2026-11-24 18:30Z`."""
        busy = running()
        n = len(self.sources)
        line = f"{n} source{'' if n == 1 else 's'}, {len(busy)} crawling"
        if busy:
            line += f": {', '.join(sorted(busy))}"
        # a job not yet scheduled (the scheduler not started) has no next_run_time at all
        times = ((getattr(job, "next_run_time", None), job.id) for job in self.scheduler.get_jobs())
        upcoming = [(when, job_id.partition(":")[2]) for when, job_id in times if when is not None]
        if upcoming:
            when, name = min(upcoming)
            line += f"; next run {name} at {when.astimezone(UTC):%Y-%m-%d %H:%MZ}"
        return line

    def stop(self) -> None:
        """No new runs; running crawls get the grace period, then are stopped and marked interrupted."""
        SHUTTING_DOWN.set()
        self.scheduler.pause()
        busy = running()
        self.notifier.stopping(f"stopping: {self.status_line()}")
        if busy:
            logger.info(
                "stopping: waiting up to %gs for %s",
                self.grace,
                ",".join(sorted(busy)),
                extra=event("stopping", crawling=sorted(busy)),
            )
            with _running_changed:
                _running_changed.wait_for(lambda: not _running, timeout=self.grace)
            if running():
                ending = sorted(running())
                logger.warning(
                    "stopping: ending %s (marked interrupted)",
                    ",".join(ending),
                    extra=event("crawls_stopped", crawling=ending),
                )
        STOPPING.set()
        self.scheduler.shutdown(wait=True)
        global _retries
        if _retries is self.scheduler:
            _retries = None
        STOPPING.clear()
        SHUTTING_DOWN.clear()
        with _running_changed:
            _asked_now.clear()  # a --now run that never started is no order for the next daemon
        logger.info("stopped", extra=event("stopped"))

    def install_signal_handlers(self) -> None:
        def stop(signum: int, _frame: FrameType | None) -> None:
            name = signal.Signals(signum).name
            logger.info("%s received: stopping", name, extra=event("stop_requested", signal=name))
            self.stop_requested = True
            self.wake.put(None)

        def reload(_signum: int, _frame: FrameType | None) -> None:
            logger.info(
                "SIGHUP received: reloading sources", extra=event("reload_requested", signal="SIGHUP")
            )
            self.reload_requested = True
            self.wake.put(None)

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGHUP, reload)


def _distributed(cfg: AppConfig) -> bool:
    """A distributed daemon's configuration: a server database (else one error line, False); a Redis
    that does not answer yet is said in one line (its runs ask again, with backoff)."""
    import redis

    from crawler.runner.coordinator import RedisConfigError, check_distributed
    from crawler.vocabulary.frontier import connect

    try:
        check_distributed(cfg.db_url, cfg.redis_prefix)
    except RedisConfigError as exc:
        logger.error("cannot coordinate workers: %s", exc, extra=event("config_invalid", error=str(exc)))
        return False
    try:
        connect(cfg.redis_url).ping()
    except redis.RedisError as exc:
        logger.warning(
            "Redis at %s is unreachable for now; runs will ask again: %s",
            display_url(cfg.redis_url),
            first_line(exc),
            extra=event("redis_unreachable", redis=display_url(cfg.redis_url), error=first_line(exc)),
        )
    return True


def serve(
    cfg: AppConfig,
    *,
    max_concurrent: int = MAX_CONCURRENT,
    time_limit: float | None = TIME_LIMIT_MINUTES,
    grace: float = GRACE_SECONDS,
    run_now: bool = False,
    settings: dict[str, Any] | None = None,
    metrics_address: tuple[str, int] | None = None,
) -> int:
    """Run the daemon in this process until SIGTERM or SIGINT; the exit status. `metrics_address`: serve
    Prometheus metrics on that host and port."""
    logging.getLogger("apscheduler").setLevel(logging.WARNING)  # misfires and errors only
    logging.getLogger("alembic").setLevel(logging.WARNING)  # schema checks at start are routine
    scrub_logging()  # a driver's error may echo the database URL; its password never reaches the log
    notifier = Notifier.from_env()
    daemon = Daemon(
        cfg,
        max_concurrent=max_concurrent,
        time_limit=time_limit,
        grace=grace,
        settings=settings,
        notifier=notifier,
    )
    if cfg.redis_url and not _distributed(cfg):
        return 2
    if not daemon.load():
        return 2
    try:
        # Now rather than at the first run, at 02:00: a wrong --db is an error the operator sees at start.
        # Opening also brings the schema to the newest migration, as every crawl would.
        open_for_writing(cfg.db_url)
    except DatabaseUnreachable as exc:
        # Not a configuration error: the server may be starting (at boot) or away. Exit 1, so a service
        # manager tries again, as it does not after exit 2.
        logger.error(
            "cannot reach the database, exiting to be restarted: %s",
            first_line(exc),
            extra=event("database_unreachable", database=display_url(cfg.db_url), error=first_line(exc)),
        )
        return 1
    except (PairchiveError, SQLAlchemyError) as exc:
        detail = first_line(exc)
        if not isinstance(exc, StorageError):  # a StorageError names the database itself
            detail = f"{display_url(cfg.db_url)}: {detail}"
        logger.error(
            "cannot open the database: %s",
            detail,
            extra=event("database_invalid", database=display_url(cfg.db_url), error=detail),
        )
        return 2
    if metrics_address is not None and not _serve_metrics(daemon, *metrics_address):
        return 2  # a port in use or an address not of this host: a configuration error
    daemon.install_signal_handlers()
    logger.info(
        "daemon started: %d source(s) from %s, database %s, at most %d %s at once",
        len(daemon.sources),
        cfg.sources_path,
        display_url(cfg.db_url),
        max_concurrent,
        f"run(s) dispatched to the workers of {display_url(cfg.redis_url)}" if cfg.redis_url else "crawl(s)",
        extra=event("daemon_started", sources=sorted(daemon.sources), database=display_url(cfg.db_url)),
    )
    daemon.start(run_now=run_now)
    notifier.ready(daemon.status_line())
    try:
        daemon.watch()
        daemon.stop()
    finally:
        notifier.close()
    return 0


def _serve_metrics(daemon: Daemon, host: str, port: int) -> bool:
    """Count this daemon's runs and serve them: every source's series from the start, the per-source
    gauges read from the database (a restarted daemon does not report zeros), the scheduler's events
    watched. False, with one error line, when the address cannot be listened on."""
    tally = metrics.Metrics(process=True)
    tally.declare(sorted(daemon.sources))
    tally.read_standing(sorted(daemon.sources), daemon.cfg.db_url)
    tally.watch(daemon.scheduler)
    try:
        bound = tally.serve(host, port)
    except OSError as exc:
        failed = event("metrics_not_served", error=str(exc.strerror or exc))
        logger.error(
            "cannot serve metrics on %s: %s", _address(host, port), exc.strerror or exc, extra=failed
        )
        return False
    metrics.install(tally)
    logger.info("metrics served at http://%s/metrics", _address(*bound), extra=event("metrics_served"))
    return True


def _address(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def main(cfg: AppConfig | None = None) -> int:
    log_format = os.environ.get(FORMAT_ENV) or TEXT
    configure(log_format if log_format in FORMATS else TEXT)
    if log_format not in FORMATS:
        logger.error("%s=%s: not a log format (%s)", FORMAT_ENV, log_format, ", ".join(FORMATS))
        return 2
    return serve(cfg or AppConfig.from_env())


if __name__ == "__main__":
    sys.exit(main())
