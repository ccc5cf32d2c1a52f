"""The crawl subprocess: `python -m crawler.process.worker -` (the job as JSON on stdin).

One process per crawl, so each run gets a fresh Twisted reactor and a crash or leak dies with it. The job
names the database, the sources (with their source and run ids), single-key setting overrides, the parent's
pid and the owner of the leases the parent holds for it.

A crawl that cannot start (a setting Scrapy cannot read, say) fails its runs with the reason. A crawl
whose parent died (killed: it is asked to stop, see die_with_parent) closes its runs and releases the
parent's leases itself, so the next crawl of its sources need not wait for them to expire. Exit status 1
when a run could not be started or its end could not be recorded.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import json
import logging
import os
import signal
import sys
import threading
from datetime import date
from typing import Any

from scrapy.core.engine import ExecutionEngine
from scrapy.crawler import CrawlerProcess
from scrapy.settings import Settings
from sqlalchemy.exc import SQLAlchemyError
from twisted.python.failure import Failure

from crawler.process import runrecord
from crawler.process.urlpolicy import block_mode
from crawler.vocabulary.errors import StorageError, first_line
from crawler.vocabulary.frontier import CONNECT_TIMEOUT, SOCKET_TIMEOUT, RunKeys
from crawler.vocabulary.logformat import JSON
from crawler.vocabulary.logformat import configure as configure_log
from crawler.vocabulary.sources import source_from_dict
from spiders.portal import PortalSpider
from storage.archive import finish_run
from storage.db import open_for_writing
from storage.leases import release
from storage.outcomes import RunStatus
from storage.runworkers import finish_worker

logger = logging.getLogger("crawler.process.worker")  # also when run as __main__

PR_SET_PDEATHSIG = 1
IDLE_POLL_SECONDS = 1.0  # how often an idle worker looks at its run's shared frontier (one ZCARD)


def build_settings(job: dict[str, Any]) -> Settings:
    settings = Settings()
    settings.setmodule("crawler.settings", priority="project")
    settings.set("PAIRCHIVE_DB", job["db_url"], priority="cmdline")
    if job.get("warc_dir"):
        settings.set("PAIRCHIVE_WARC_DIR", job["warc_dir"], priority="cmdline")
    contact = job.get("contact_url")
    if contact:
        version = settings.get("USER_AGENT").split(" ", 1)[0]
        settings.set("USER_AGENT", f"{version} (+{contact})", priority="cmdline")
    for key, value in job.get("settings", {}).items():
        settings.set(key, value, priority="cmdline")
    if job.get("parent_pid"):
        settings.set("PAIRCHIVE_PARENT_PID", job["parent_pid"], priority="cmdline")
    if job.get("distributed"):
        distribute(settings, job["distributed"], job["sources"][0]["run_id"])
        if "CONCURRENT_REQUESTS" not in job.get("settings", {}):
            # A worker takes from the shared frontier only what it can fetch now: with Scrapy's 16 it
            # would take a portal's requests into its own queue, leaving none for the run's other workers.
            settings.set(
                "CONCURRENT_REQUESTS", settings.getint("CONCURRENT_REQUESTS_PER_DOMAIN"), priority="cmdline"
            )
    return settings


def distribute(settings: Settings, where: dict[str, Any], run_id: int) -> None:
    """A worker's part in a run several workers share: scrapy-redis's scheduler over the run's frontier in
    Redis (crawler.process.frontier), the worker's membership, its own run_workers row for its counts."""
    keys = RunKeys(where["prefix"], run_id)
    values: dict[str, Any] = {
        "SCHEDULER": "crawler.process.frontier.RunScheduler",  # scrapy-redis's, its stats calls of today
        "SCHEDULER_PERSIST": True,  # the run's other workers go on with its frontier: the coordinator deletes it
        "SCHEDULER_QUEUE_CLASS": "crawler.process.frontier.RunFrontier",
        "SCHEDULER_QUEUE_KEY": keys.requests,
        "SCHEDULER_DUPEFILTER_KEY": keys.seen,
        "DUPEFILTER_CLASS": "crawler.process.frontier.RunSeen",
        "SCHEDULER_SERIALIZER": "crawler.process.frontier",  # JSON, not pickle
        "REDIS_URL": where["redis_url"],
        "REDIS_PARAMS": {"socket_timeout": SOCKET_TIMEOUT, "socket_connect_timeout": CONNECT_TIMEOUT},
        "PAIRCHIVE_REDIS_URL": where["redis_url"],
        "PAIRCHIVE_REDIS_PREFIX": where["prefix"],
        "PAIRCHIVE_WORKER_ID": where["worker"],
        "PAIRCHIVE_RUN_ID": run_id,
    }
    for key, value in values.items():
        settings.set(key, value, priority="cmdline")
    # An idle engine asks its scheduler for requests at each heartbeat (5 s in Scrapy): a worker waiting
    # for the requests other workers add to the shared frontier would join them that late. Scrapy has no
    # setting for it; tests/test_frontier.py fails if the attribute goes away.
    ExecutionEngine._SLOT_HEARTBEAT_INTERVAL = IDLE_POLL_SECONDS
    # after the run recorder (500): it has written the worker's counts when the worker leaves the run
    extensions = dict(settings.getdict("EXTENSIONS"))
    extensions["crawler.process.frontier.RunMembership"] = 550
    settings.set("EXTENSIONS", extensions, priority="cmdline")
    middlewares = dict(settings.getdict("SPIDER_MIDDLEWARES"))
    # outermost: a request is done once its callback's whole output has been handed on
    middlewares["crawler.process.frontier.FrontierDone"] = 10
    settings.set("SPIDER_MIDDLEWARES", middlewares, priority="cmdline")


def _not_started(failure: Failure, job: dict[str, Any], run_id: int, not_started: list[int]) -> None:
    """A crawl whose start failed (an unreadable setting, a component that cannot load): fail its run."""
    error = failure.value if failure.value is not None else Exception(str(failure))
    reason = f"the crawl could not start: {first_line(error, with_type=True)}"
    logger.error("run %s: %s", run_id, reason)
    not_started.append(run_id)
    try:
        sessions = open_for_writing(job["db_url"]).sessions
        with sessions.begin() as session:
            if job.get("distributed"):  # the run is the coordinator's: only this worker's part failed
                worker = job["distributed"]["worker"]
                finish_worker(
                    session,
                    run_id,
                    worker,
                    status=RunStatus.FAILED,
                    counts={},
                    health_counts=None,
                    error=reason,
                )
            else:
                finish_run(session, run_id, status=RunStatus.FAILED, error=reason, only_if_running=True)
    except (SQLAlchemyError, StorageError) as exc:
        logger.error("could not record the end of run %s: %s", run_id, first_line(exc, with_type=True))
        runrecord.UNRECORDED.append(run_id)
    runrecord.emit({"run_id": run_id, "counts": {}, "end": {"status": RunStatus.FAILED, "error": reason}})


def release_orphaned_leases(job: dict[str, Any]) -> None:
    """The parent died: nobody renews its leases now. Release them, so the next crawl need not wait."""
    owner = job.get("lease_owner")
    if not owner:
        return
    try:
        sessions = open_for_writing(job["db_url"]).sessions
        with sessions.begin() as session:
            for entry in job["sources"]:
                release(session, entry["source_id"], owner)
    except (SQLAlchemyError, StorageError) as exc:
        logger.error("could not release the leases of %s: %s", owner, first_line(exc, with_type=True))
        return
    logger.warning("the process that started this crawl is gone: released its leases (%s)", owner)


def run(job: dict[str, Any]) -> int:
    settings = build_settings(job)
    # A bad value here would otherwise be lost inside the engine's start-up: fail the runs with it.
    block_mode(settings.get("PAIRCHIVE_BLOCK_PRIVATE_ADDRESSES"))
    if settings.get("PAIRCHIVE_LOG_FORMAT") == JSON:
        # Ours instead of Scrapy's root handler, from the first line Scrapy logs (its start-up banner).
        configure_log(JSON, logging.NOTSET).setLevel(settings.get("LOG_LEVEL"))
        settings.set("LOG_INSTALL_ROOT_HANDLER", False, priority="cmdline")
    process = CrawlerProcess(settings)
    # Schema checks on opening the database are routine here, not news for the crawl log.
    logging.getLogger("alembic").setLevel(logging.WARNING)
    not_started: list[int] = []
    for entry in job["sources"]:
        source = source_from_dict(entry["source"])
        started = process.crawl(
            PortalSpider,
            source=source,
            source_id=entry["source_id"],
            run_id=entry["run_id"],
            since=date.fromisoformat(job["since"]) if job.get("since") else None,
            recrawl=bool(job.get("recrawl")),
        )
        started.addErrback(_not_started, job, entry["run_id"], not_started)
    # Everything loaded so far lives as long as the process: keep it out of every collection, and collect
    # less often; each page allocates many short-lived lxml proxies (measured: ~15% less CPU per page).
    gc.freeze()
    gc.set_threshold(100_000, 50, 50)
    process.start()
    if runrecord.parent_gone(job.get("parent_pid")):
        release_orphaned_leases(job)
    return 1 if not_started or runrecord.UNRECORDED else 0


PARENT_DEATH_SIGNAL = signal.SIGHUP  # Scrapy handles SIGTERM as a stop and a second one as a kill

# Taken by the first delivery of the parent-death signal. Acquiring without blocking is one C call, so a
# delivery that enters the handler again before it has returned (Python runs signal handlers between any
# two bytecodes, nested ones included) finds it taken and asks nothing.
_ASKED_TO_STOP = threading.Lock()


def _set_parent_death_signal(signum: int) -> None:
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signum)


def _parent_died(_signum: int, _frame: object) -> None:
    """Ask the crawl to stop once (a graceful close of its runs).

    The kernel sends the parent-death signal at each change of parent: when the thread that started this
    process ends and the process is handed to another thread of the dying parent, again when that one ends,
    and when a later parent ends (a thread of init). A killed parent with several threads sends it a few
    times within microseconds, so a second delivery can land while the first is still being handled, before
    the signal is disarmed. A second SIGTERM would make Scrapy stop at once, leaving its runs open; so only
    the first delivery asks for the stop, and it disarms the signal before anything else."""
    if not _ASKED_TO_STOP.acquire(blocking=False):
        return
    signal.signal(PARENT_DEATH_SIGNAL, signal.SIG_IGN)
    _set_parent_death_signal(0)
    os.kill(os.getpid(), signal.SIGTERM)


def die_with_parent(parent_pid: int | None) -> None:
    """Be asked to stop (SIGTERM, a graceful close of the run) when the parent dies, so a killed
    `pairchive crawl` or daemon leaves no crawl running on (Linux; elsewhere the parent's lease expires)."""
    if sys.platform.startswith("linux"):
        signal.signal(PARENT_DEATH_SIGNAL, _parent_died)
        _set_parent_death_signal(PARENT_DEATH_SIGNAL)
    if parent_pid is not None and os.getppid() != parent_pid:
        sys.exit("the process that started this crawl is gone")


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print(
            "usage: python -m crawler.process.worker JOB_JSON|-  (- reads the job from stdin)",
            file=sys.stderr,
        )
        return 2
    job = json.loads(sys.stdin.read() if args[0] == "-" else args[0])
    die_with_parent(job.get("parent_pid"))
    return run(job)


if __name__ == "__main__":
    sys.exit(main())
