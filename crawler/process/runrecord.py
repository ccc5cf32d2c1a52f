"""The run recorder: a Scrapy extension that keeps a crawl run's record in the database.

It counts every page by outcome (fetched, stored, and each rejection reason), writes each rejection with
its reason as it happens, and closes the run with a status when the spider closes, with the run's
extraction health (crawler.process.health) and, for a run that ended ok, the verdict on it against its
source's history: `degraded` when it drifted (storage.health). A run killed before that is closed by the
parent process (see crawler.runner.crawl).

Counts go to the parent as JSON lines on stdout: counts so far, and the run's end (status, counts, error)
as the last line, so a parent can record the end itself when this process cannot (the database gone, a
full disk). A parent that is gone (its pipe closed) is no reason to stop: the run is still closed here.
A database that refuses a write is the run's reason for failing, said in one log line, not a traceback.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from collections import Counter
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.http import Response
from scrapy.spiders import Spider
from sqlalchemy.exc import SQLAlchemyError
from w3lib.url import safe_url_string

from crawler.process.health import health_counts_of_crawl, health_of_crawl
from crawler.vocabulary.errors import StorageError, first_line
from crawler.vocabulary.items import PageItem
from crawler.vocabulary.reasons import Reason, Rejected
from crawler.vocabulary.signals import page_not_fetched
from storage.archive import finish_run, record_rejection
from storage.db import open_for_writing
from storage.outcomes import RunStatus
from storage.runs import judge_run
from storage.runworkers import finish_worker

logger = logging.getLogger(__name__)

PROGRESS_INTERVAL = 0.2  # seconds between progress lines

# Finish reasons under which a run counts as completed (a page cap reached is a normal end).
OK_FINISH = {"finished", "closespider_pagecount", "closespider_itemcount", "closespider_timeout"}

# Runs of this process whose end could not be written to the database (the crawl process exits 1).
UNRECORDED: list[int] = []


def parent_gone(parent_pid: int | None) -> bool:
    """Whether the process that started this crawl has died (this one was handed to another parent)."""
    return parent_pid is not None and os.getppid() != parent_pid


def emit(event: dict[str, Any]) -> bool:
    """One JSON line on stdout for the parent; False when the parent's end of the pipe is gone.

    stdout then points at /dev/null, so neither a later line nor the interpreter's last flush raises."""
    try:
        print(json.dumps(event), flush=True)
        return True
    except (OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)
        os.close(devnull)
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 (lives as long as the process)
        return False


# Rejections of an entry point that are no refusal of it: it failed (said as the run's first error), it
# was read in part (truncated), or the portal asked to wait and it is left for the next run (retry_after).
NOT_REFUSALS = frozenset({Reason.FAILED, Reason.TRUNCATED, Reason.RETRY_AFTER})


def entry_points(spider: Spider) -> set[str]:
    """The URLs a run starts from: its source's start URLs, feeds and sitemaps."""
    source = getattr(spider, "source", None)
    if source is None:
        return set()
    return {normal_url(url) for url in (*source.start_urls, *source.feeds, *source.sitemaps)}


def normal_url(url: str) -> str:
    """A URL as a request carries it (percent-encoded, the host in punycode) with its host in lower case,
    so an entry point matches the request made for it however the sources file spells it."""
    parts = urlsplit(safe_url_string(url))
    host = (parts.hostname or "") + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme.lower(), host, parts.path or "/", parts.query, ""))


class RunRecorder:
    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.db_url: str = crawler.settings["PAIRCHIVE_DB"]
        self.counts: Counter[str] = Counter()
        self.first_error: str | None = None
        self.error_responses = 0
        self.last_progress = 0.0
        self.listening = True  # the parent reads our stdout
        self.write_error: str | None = None  # the first write the database refused
        self.entry_refusals: dict[str, str] = {}  # entry point -> "reason: detail", for the run's error line
        self.entries: set[str] | None = None  # the run's entry points, read from its spider once
        pid = crawler.settings.get("PAIRCHIVE_PARENT_PID")
        self.parent_pid: int | None = int(pid) if pid else None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RunRecorder:
        ext = cls(crawler)
        crawler.signals.connect(ext.item_scraped, signal=signals.item_scraped)
        crawler.signals.connect(ext.item_dropped, signal=signals.item_dropped)
        crawler.signals.connect(ext.item_error, signal=signals.item_error)
        crawler.signals.connect(ext.spider_closed, signal=signals.spider_closed)
        crawler.signals.connect(ext.page_not_fetched, signal=page_not_fetched)
        crawler.signals.connect(ext.response_received, signal=signals.response_received)
        return ext

    def response_received(self, response: Response, request: Any, spider: Spider) -> None:
        # An error status is a response but not a page: not counted as fetched. Counted where the engine
        # receives it, not by a rejection's wording: a response a downloader middleware turned into a
        # rejection (a Retry-After deferral) never reaches the engine, nor its count of responses.
        if response.status >= 400 and not request.meta.get("dont_obey_robotstxt"):
            self.error_responses += 1

    def _run_id(self) -> int | None:
        return getattr(self.crawler.spider, "run_id", None)

    def _fetched(self) -> int:
        """Pages fetched so far: responses, less robots.txt files and error statuses."""
        stats = self.crawler.stats
        assert stats is not None
        return (
            int(stats.get_value("response_received_count", 0) or 0)
            - int(stats.get_value("robotstxt/response_count", 0) or 0)
            - self.error_responses
        )

    def _progress(self) -> None:
        """Counts so far as one JSON line on stdout, for the parent's live display (at most 5 a second)."""
        now = time.monotonic()
        if now - self.last_progress < PROGRESS_INTERVAL:
            return
        self.last_progress = now
        run_id = self._run_id()
        if run_id is None or self.crawler.stats is None:
            return
        counts = dict(self.counts)
        counts["fetched"] = self._fetched()
        self._emit({"run_id": run_id, "counts": counts})

    def _emit(self, event: dict[str, Any]) -> None:
        if self.listening and not emit(event):
            self.listening = False
            logger.warning("the process that started this crawl stopped listening; the run goes on")

    def item_scraped(self, item: Any, response: Response, spider: Spider) -> None:
        self.counts[getattr(item, "outcome", "stored")] += 1
        self._progress()

    def page_not_fetched(self, url: str, reason: Reason, detail: str, spider: Spider) -> None:
        self.counts[reason] += 1
        self._progress()
        if reason == Reason.FAILED and not self.first_error:
            self.first_error = f"{url}: {detail}"
        if reason not in NOT_REFUSALS and normal_url(url) in self._entry_points(spider):
            # A refused entry point (a feed bomb, an unparsable sitemap...) is said in the run's own
            # record, not only among its rejections: the portal may yield nothing because of it.
            self.entry_refusals.setdefault(url, f"{reason}: {detail}" if detail else reason)
        self._record(url, reason, detail, None)

    def _record(
        self, url: str, reason: Reason, detail: str, title: str | None, capture_id: int | None = None
    ) -> None:
        run_id = self._run_id()
        if run_id is None:
            return
        try:
            sessions = open_for_writing(self.db_url).sessions
            with sessions.begin() as session:
                record_rejection(session, run_id, url, reason, detail, title, capture_id)
        except (SQLAlchemyError, StorageError) as exc:
            self._refused(exc, f"the rejection of {url}")

    def _refused(self, exc: BaseException, what: str) -> None:
        """The database refused a write (gone, full, locked too long): one line, and the run's reason."""
        line = first_line(exc, with_type=True)
        logger.error("could not record %s: %s", what, line)
        if self.write_error is None:
            self.write_error = line

    def item_dropped(self, item: Any, response: Response, exception: BaseException, spider: Spider) -> None:
        if not isinstance(exception, Rejected):
            # Every stage of pipelines/ rejects with a Reason, and Scrapy drops no item by itself: a plain
            # DropItem is a stage's bug, counted as a failed page (like an unexpected error), its message kept.
            self.page_not_fetched(response.url, Reason.FAILED, first_line(exception, with_type=True), spider)
            return
        reason, detail = exception.reason, exception.detail
        self.counts[reason] += 1
        self._progress()
        if self.crawler.stats is not None:
            self.crawler.stats.inc_value(f"pairchive/dropped/{reason}")
        title = item.title if isinstance(item, PageItem) else None
        capture_id = item.capture_id if isinstance(item, PageItem) else None
        self._record(response.url, reason, detail, title or None, capture_id)

    def item_error(self, item: Any, response: Response, spider: Spider, failure: Any) -> None:
        """An unexpected error in a stage (a bug, a database gone): the page is counted as failed."""
        detail = f"{failure.type.__name__ if failure.type else 'Error'}: {failure.getErrorMessage()}"
        self.page_not_fetched(response.url, Reason.FAILED, detail, spider)

    def _entry_points(self, spider: Spider) -> set[str]:
        if self.entries is None:
            self.entries = entry_points(spider)
        return self.entries

    def _refusals_line(self) -> str:
        url, why = next(iter(self.entry_refusals.items()))
        more = len(self.entry_refusals) - 1
        return f"{url}: {why}" + (f" (and {more} more)" if more else "")

    def spider_closed(self, spider: Spider, reason: str) -> None:
        stats = self.crawler.stats
        assert stats is not None
        counts = dict(self.counts)
        counts["fetched"] = self._fetched()
        if stats.get_value("pairchive/capped"):
            counts["capped"] = 1  # the next run pages past known articles to finish what this one left
        counts.setdefault(Reason.FAILED, 0)
        for skip in ("known", "too_old"):
            if value := int(stats.get_value(f"pairchive/skipped/{skip}", 0) or 0):
                counts[skip] = value
        if offsite := int(stats.get_value("offsite/filtered", 0) or 0):
            counts[Reason.OFFSITE] = offsite  # links and redirects leading off the portal, never followed
        first_error = self.first_error
        error: str | None
        if self.write_error is not None:  # what it stored is in the database; the rest could not be
            status, error = RunStatus.FAILED, f"the database refused a write: {self.write_error}"
        elif reason == "shutdown" and parent_gone(self.parent_pid):
            status, error = (
                RunStatus.INTERRUPTED,
                "the crawl was stopped: the process that started it is gone",
            )
        elif reason == "shutdown":  # asked to stop (SIGTERM, SIGINT): the parent says why
            status, error = RunStatus.INTERRUPTED, "the crawl was stopped before it finished"
        elif reason not in OK_FINISH:
            # what ended it (a stage that cannot go on, e.g. raw captures on a full disk), else the first error
            cause = stats.get_value("pairchive/stopped_by") or (
                f"first error: {first_error}" if first_error else ""
            )
            status, error = RunStatus.FAILED, f"crawl ended early: {reason}" + (f": {cause}" if cause else "")
        elif counts["fetched"] == 0 and counts[Reason.FAILED]:
            status, error = RunStatus.FAILED, f"no page could be fetched; first error: {first_error}"
        elif self.entry_refusals and set(self.entry_refusals) >= self._entry_points(spider):
            status, error = RunStatus.FAILED, "every entry point was refused: " + self._refusals_line()
        else:
            notes = [f"{counts[Reason.FAILED]} page(s) failed; first: {first_error}"] if first_error else []
            if self.entry_refusals:
                notes.append(f"{len(self.entry_refusals)} entry point(s) refused: " + self._refusals_line())
            status, error = RunStatus.OK, "; ".join(notes) or None
        run_id = self._run_id()
        logger.info("run %s of %s: %s %s", run_id, spider.name, status, counts)
        if run_id is None:
            return
        worker = self.crawler.settings.get("PAIRCHIVE_WORKER_ID")
        health = health_of_crawl(self.crawler) if not worker else None
        try:
            sessions = open_for_writing(self.db_url).sessions
            with sessions.begin() as session:
                if worker:
                    # One worker's part of a distributed run: the coordinator closes the run itself, with
                    # the counts and health of all its workers (crawler.runner.coordinator).
                    finish_worker(
                        session,
                        run_id,
                        worker,
                        status=status,
                        counts=counts,
                        health_counts=health_counts_of_crawl(self.crawler),
                        error=error,
                    )
                else:
                    if status == RunStatus.OK and health is not None:
                        # judged against the history read in the same transaction as the run's end
                        health, verdict = judge_run(session, run_id, health)
                        if verdict.degraded:
                            status = RunStatus.DEGRADED
                            logger.warning("run %s of %s is degraded: %s", run_id, spider.name, verdict.line)
                    finish_run(session, run_id, status=status, counts=counts, error=error, health=health)
        except (SQLAlchemyError, StorageError) as exc:
            # The parent records this end once the database takes writes again.
            UNRECORDED.append(run_id)
            line = first_line(exc, with_type=True)
            logger.error("could not record the end of run %s: %s", run_id, line)
            if status != RunStatus.FAILED:
                status, error = (
                    RunStatus.FAILED,
                    f"the database refused a write: {line}" + (f"; {error}" if error else ""),
                )
        self._emit({"run_id": run_id, "counts": counts, "end": {"status": status, "error": error}})
