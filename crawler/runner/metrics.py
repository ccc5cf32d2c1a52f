"""Every Prometheus metric pairchive exposes: defined here, counted where its event happens (a run's end in
the daemon's job and in `pairchive crawl`, a lease taken over in the runner, a skipped or coalesced job in
the scheduler's events), served over HTTP by the daemon (`--metrics HOST:PORT`) or written for
node_exporter's textfile collector by `pairchive crawl --metrics-file`.

The metrics live in a registry of their own, not prometheus_client's global one, so each process (and each
test) counts only its own. A process counts once a `Metrics` is installed; until then the counting
functions below do nothing, so the runner and the scheduler need no metrics to work. Label values come from
bounded sets only: source names, run statuses, page outcomes, skip reasons; never a URL or free text.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    start_http_server,
    write_to_textfile,
)
from prometheus_client.gc_collector import GCCollector
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector
from sqlalchemy.exc import SQLAlchemyError

from crawler.vocabulary.errors import PairchiveError, first_line
from storage.db import open_for_writing
from storage.outcomes import Reason, RunStatus
from storage.runs import Standing, standing

if TYPE_CHECKING:
    from apscheduler.events import JobEvent
    from apscheduler.schedulers.base import BaseScheduler

    from crawler.runner.crawl import RunSummary

logger = logging.getLogger(__name__)

# A `_created` series beside every counter and histogram (when each series was made) would double the
# exposition for a time no alert or dashboard of ours reads; rate() needs only the counters.
disable_created_metrics()

# Crawls last from seconds (a portal with nothing new) to hours (a first crawl, the 180-minute limit).
RUN_SECONDS_BUCKETS = (1, 5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600, 5400, 7200, 10800, 14400)

# A run's counts that are pages: what happened to each (the rejection reasons), and how many were fetched,
# skipped as known or too old. Any other word a run's counts carry becomes "other", so the label stays a
# bounded set whatever a later version records.
PAGE_OUTCOMES = frozenset({*(r.value for r in Reason), "fetched", "stored", "revised", "known", "too_old"})
OTHER = "other"
NOT_PAGES = frozenset({"capped"})  # a flag in the counts (the run hit a cap), not a number of pages
# Shown for every source from the start (zero), so a dashboard sees them before the first run.
SEEDED_OUTCOMES = (
    "fetched",
    "stored",
    "revised",
    "unchanged",
    "duplicate",
    "not_pairing",
    "no_text",
    "failed",
)
SEEDED_STATUSES = tuple(s.value for s in RunStatus if s != RunStatus.RUNNING)

# Why a scheduled run made no run record, or why scheduled times made fewer runs than they were.
BUSY, STOPPING, NOT_DUE, COALESCED, MISSED, ERROR = (
    "busy",
    "stopping",
    "not_due",
    "coalesced",
    "missed",
    "error",
)
SKIP_REASONS = (BUSY, STOPPING, NOT_DUE, COALESCED, MISSED, ERROR)
# The words the daemon's job returns when it made no run, and the skip reason each is counted as.
SKIPPED_WORDS = {"busy": BUSY, "skipped": STOPPING, "not_due": NOT_DUE}


def outcome_label(word: str) -> str | None:
    """The `outcome` label of a word of a run's counts: itself when it is a known page outcome, "other" when
    it is not, None when it does not count pages."""
    if word in NOT_PAGES:
        return None
    return word if word in PAGE_OUTCOMES else OTHER


def _timestamp(when: datetime | None) -> float:
    return when.timestamp() if when is not None else 0.0


class Metrics:
    """The registry of one process and its metrics. `process`: also the process's own (CPU, memory, open
    files, GC, Python version), worth having for a long-lived daemon and meaningless in a finished cron job.
    `db_url`: where the per-source gauges are read from (see read_standing)."""

    def __init__(self, *, process: bool = False, db_url: str | None = None) -> None:
        self.registry = CollectorRegistry()
        if process:
            ProcessCollector(registry=self.registry)
            PlatformCollector(registry=self.registry)
            GCCollector(registry=self.registry)
        r = self.registry
        self.runs = Counter(
            "pairchive_runs", "Crawl runs ended, by source and status.", ["source", "status"], registry=r
        )
        self.run_seconds = Histogram(
            "pairchive_run_duration_seconds",
            "How long crawl runs took, start to end.",
            ["source"],
            buckets=RUN_SECONDS_BUCKETS,
            registry=r,
        )
        self.pages = Counter(
            "pairchive_pages",
            "Pages of ended runs by outcome (fetched; stored, revised; each rejection reason; known, too_old).",
            ["source", "outcome"],
            registry=r,
        )
        self.degraded = Counter(
            "pairchive_degraded_runs",
            "Runs that ended degraded (extraction drifted).",
            ["source"],
            registry=r,
        )
        self.last_success = Gauge(
            "pairchive_last_success_timestamp_seconds",
            "When the source's last ok run ended (unix time; 0: never).",
            ["source"],
            registry=r,
        )
        self.failures = Gauge(
            "pairchive_consecutive_failures",
            "Runs in a row since the source's last completed (ok or degraded) run that failed, timed out or were interrupted.",
            ["source"],
            registry=r,
        )
        self.crawls_running = Gauge("pairchive_crawls_running", "Crawls running now.", registry=r)
        self.takeovers = Counter(
            "pairchive_lease_takeovers",
            "Expired leases of dead crawls taken over (their runs closed as interrupted).",
            ["source"],
            registry=r,
        )
        self.skipped = Counter(
            "pairchive_runs_skipped",
            "Scheduled runs not made: busy, stopping, not_due, coalesced (into a later one), missed, error.",
            ["source", "reason"],
            registry=r,
        )
        self.db_url = db_url
        self._expected: dict[str, datetime | None] = {}  # job id -> the run time it was due at next
        self._lock = threading.Lock()

    def declare(self, sources: Iterable[str]) -> None:
        """Make every series of these sources exist (counters at zero), so absence can be alerted on."""
        for source in sources:
            for status in SEEDED_STATUSES:
                self.runs.labels(source, status)
            for outcome in SEEDED_OUTCOMES:
                self.pages.labels(source, outcome)
            for reason in SKIP_REASONS:
                self.skipped.labels(source, reason)
            self.run_seconds.labels(source)
            self.degraded.labels(source)
            self.takeovers.labels(source)
            self.last_success.labels(source)
            self.failures.labels(source)

    def read_standing(self, names: list[str], db_url: str | None = None) -> None:
        """Set the per-source gauges from the database (storage.runs.standing), the same facts `pairchive
        status` shows: a restarted daemon does not report zeros, and several daemons agree. A database that
        does not answer leaves them as they were, with one warning."""
        self.db_url = db_url or self.db_url
        if self.db_url is None or not names:
            return
        try:
            with open_for_writing(self.db_url).sessions() as session:
                found = standing(session, names)
        except (SQLAlchemyError, PairchiveError) as exc:
            logger.warning("metrics: could not read the sources' standing: %s", first_line(exc))
            return
        self.set_standing(found)

    def set_standing(self, found: Mapping[str, Standing]) -> None:
        for name, stand in found.items():
            self.last_success.labels(name).set(_timestamp(stand.last_ok))
            self.failures.labels(name).set(stand.consecutive_failures)

    def count_run(self, run: RunSummary) -> None:
        """An ended run: its status, duration and pages by outcome."""
        self.runs.labels(run.source, run.status).inc()
        if run.status == RunStatus.DEGRADED:
            self.degraded.labels(run.source).inc()
        if run.seconds is not None:
            self.run_seconds.labels(run.source).observe(max(run.seconds, 0.0))
        for word, n in run.counts.items():
            outcome = outcome_label(word)
            if outcome is not None and n > 0:
                self.pages.labels(run.source, outcome).inc(n)
        self.read_standing([run.source])

    def watch(self, scheduler: BaseScheduler) -> None:
        """Count what the scheduler's events say of the daemon's cron jobs: runs missed past their grace,
        scheduled times coalesced into one run, runs not started because the previous one is still going,
        and the jobs that returned without making a run."""
        from apscheduler.events import (
            EVENT_JOB_ADDED,
            EVENT_JOB_EXECUTED,
            EVENT_JOB_MAX_INSTANCES,
            EVENT_JOB_MISSED,
            EVENT_JOB_MODIFIED,
            EVENT_JOB_SUBMITTED,
        )

        def on_event(event: JobEvent) -> None:
            source = _source_of(event.job_id)
            if source is None:
                return
            if event.code == EVENT_JOB_MISSED:
                self.skipped.labels(source, MISSED).inc()
            elif event.code == EVENT_JOB_MAX_INSTANCES:  # its previous run still going: not started
                self.skipped.labels(source, BUSY).inc()
            elif event.code == EVENT_JOB_EXECUTED:
                reason = SKIPPED_WORDS.get(getattr(event, "retval", None) or "")
                if reason is not None:
                    self.skipped.labels(source, reason).inc()
            if event.code in (EVENT_JOB_SUBMITTED, EVENT_JOB_MAX_INSTANCES):
                merged = self._coalesced(scheduler, event)
                if merged:
                    self.skipped.labels(source, COALESCED).inc(merged)
            if event.code in (
                EVENT_JOB_ADDED,
                EVENT_JOB_MODIFIED,
                EVENT_JOB_SUBMITTED,
                EVENT_JOB_MAX_INSTANCES,
            ):
                job = scheduler.get_job(event.job_id)
                with self._lock:
                    self._expected[event.job_id] = job.next_run_time if job is not None else None

        scheduler.add_listener(
            on_event,
            EVENT_JOB_ADDED
            | EVENT_JOB_MODIFIED
            | EVENT_JOB_SUBMITTED
            | EVENT_JOB_MAX_INSTANCES
            | EVENT_JOB_EXECUTED
            | EVENT_JOB_MISSED,
        )

    def _coalesced(self, scheduler: BaseScheduler, event: Any) -> int:
        """How many scheduled times this one submission stands for beyond the one it runs. With
        `coalesce=True` APScheduler hands over only the latest due time, so the earlier ones are counted
        from the trigger: its fire times from the time the job was last due at, up to the one submitted."""
        times: list[datetime] = list(getattr(event, "scheduled_run_times", []) or [])
        if not times:
            return 0
        merged = len(times) - 1
        with self._lock:
            due = self._expected.get(event.job_id)
        job = scheduler.get_job(event.job_id)
        if due is None or job is None:
            return merged
        when: datetime | None = due
        while when is not None and when < times[0] and merged < 100_000:
            merged += 1
            when = job.trigger.get_next_fire_time(when, when)
            if when is not None and when <= due:  # a trigger that does not move on: stop
                break
        return merged

    def serve(self, host: str, port: int) -> tuple[str, int]:
        """Serve /metrics over HTTP on a daemon thread; the address it listens on (the real port when 0
        was asked). Raises OSError when it cannot listen (the port in use, an address not of this host)."""
        server, _thread = start_http_server(port, addr=host, registry=self.registry)
        bound_host, bound_port = server.server_address[:2]
        return str(bound_host), int(bound_port)

    def write(self, path: str) -> None:
        """The metrics in the text format at `path`, replaced at once (a collector never reads half a file)."""
        write_to_textfile(path, self.registry)


def _source_of(job_id: str) -> str | None:
    """The source of one of the daemon's jobs (`crawl:NAME`; its retry `retry:NAME`)."""
    kind, _, name = job_id.partition(":")
    return name if kind in ("crawl", "retry") and name else None


# The metrics this process counts into, once one is installed.
_installed: Metrics | None = None


def install(metrics: Metrics | None) -> Metrics | None:
    """Count into `metrics` from now on (None: stop counting); returns it."""
    global _installed
    _installed = metrics
    return metrics


def installed() -> Metrics | None:
    return _installed


def count_run(run: RunSummary) -> None:
    if _installed is not None:
        _installed.count_run(run)


def count_skip(source: str, reason: str) -> None:
    if _installed is not None:
        _installed.skipped.labels(source, reason).inc()


def count_takeover(source: str) -> None:
    if _installed is not None:
        _installed.takeovers.labels(source).inc()


def crawl_started() -> None:
    if _installed is not None:
        _installed.crawls_running.inc()


def crawl_ended() -> None:
    if _installed is not None:
        _installed.crawls_running.dec()


def sources_loaded(names: Iterable[str]) -> None:
    if _installed is not None:
        _installed.declare(names)
