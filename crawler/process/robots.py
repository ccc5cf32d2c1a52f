"""robots.txt that cannot be had: one warning line, and the host is crawled as Scrapy does.

Scrapy's robots.txt middleware asks each host for its robots.txt before the first page. When that request
fails (a server that accepts the connection and never answers, a reset, a refused connection) Scrapy
logs the error with its whole traceback and then crawls the host as if robots.txt allowed everything.
pairchive keeps that choice (allow after the failure: a portal's pages are still tried, each within
DOWNLOAD_TIMEOUT and RETRY_TIMES like any page, and a dead portal fails its run as before) and says it in
one warning line naming the robots.txt and what went wrong, counted in the crawl's stats as
`pairchive/robots_unavailable`. robots.txt is asked for once per host and run, within DOWNLOAD_TIMEOUT
(30 s), without retries: a silent server holds its host's pages up for one timeout, not three. A
robots.txt that answers, with any status, is read as Scrapy reads it.

In a distributed crawl (PAIRCHIVE_REDIS_URL) robots.txt is asked for once per host and run across all the
run's workers: the first to need it takes a lock in Redis (`RunKeys.robots_lock`), fetches it and keeps
the body for the others (`RunKeys.robots`, for a day; a robots.txt that could not be had is kept as
"allowed everything"); the others wait for it, up to DOWNLOAD_TIMEOUT, and then fetch it themselves. A
Redis that does not answer is said in one warning line and the worker fetches robots.txt itself. A
robots.txt read from Redis is counted as `pairchive/robots_shared`.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from scrapy import Request, signals
from scrapy.crawler import Crawler
from scrapy.downloadermiddlewares.robotstxt import RobotsTxtMiddleware
from scrapy.exceptions import IgnoreRequest
from scrapy.http.request import NO_CALLBACK
from scrapy.robotstxt import RobotParser
from scrapy.utils.defer import maybe_deferred_to_future
from scrapy.utils.httpobj import urlparse_cached
from scrapy.utils.misc import build_from_crawler
from twisted.internet.defer import Deferred

from crawler.process.budget import REDIS_DOWN, off_reactor, pause_for, shown, worker_id
from crawler.vocabulary.errors import first_line
from crawler.vocabulary.frontier import DEFAULT_PREFIX, RunKeys, connect

logger = logging.getLogger(__name__)

LOCK_SECONDS = 60  # how long the worker fetching a robots.txt for the run holds the lock
POLL_SECONDS = 0.25  # how often a worker waiting for another's robots.txt looks for it
KEEP_SECONDS = 86_400  # a kept robots.txt outlives any run (the coordinator deletes a run's keys at its end)
# A kept robots.txt in Redis: FETCHED and the body as the host sent it, or UNAVAILABLE (crawled as if it
# allowed everything, as Scrapy does after a failed robots.txt).
FETCHED = b"fetched:"
UNAVAILABLE = b"unavailable"


def failure_line(exc: BaseException) -> str:
    """What went wrong, in one line: the exception's type and its first line."""
    message = str(exc).strip().splitlines()
    return type(exc).__name__ + (f": {message[0]}" if message else "")


class RobotsTxt(RobotsTxtMiddleware):
    """Scrapy's robots.txt middleware, with a failed robots.txt said in one warning line, and in a
    distributed crawl the run's robots.txt fetched once for all its workers."""

    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler)
        self._shared: RunRobots | None = None
        url = crawler.settings.get("PAIRCHIVE_REDIS_URL") or ""
        if url:
            self._shared = RunRobots(crawler, str(url))

    async def robot_parser(self, request: Request) -> RobotParser | None:
        url = urlparse_cached(request)
        netloc = url.netloc
        if netloc not in self._parsers:
            self._parsers[netloc] = Deferred()
            if self._shared is not None and (kept := await self._shared.fetched(netloc)) is not None:
                await self._parse_kept(kept, netloc, request)
            else:
                fetched = await self._fetch(f"{url.scheme}://{netloc}/robots.txt", netloc, request)
                if self._shared is not None:
                    await self._shared.keep(netloc, fetched)
        parser = self._parsers[netloc]
        if isinstance(parser, Deferred):
            return await maybe_deferred_to_future(parser)
        return parser

    async def _fetch(self, robots_url: str, netloc: str, request: Request) -> Kept | None:
        """Fetch and parse `netloc`'s robots.txt; returns what the run's other workers may use of it: its
        body, or no body when it could not be had; None when it was not asked for (an IgnoreRequest: the
        URL policy refused it, the crawl is stopping), which says nothing about the host."""
        robots_request = Request(
            robots_url,
            priority=self.DOWNLOAD_PRIORITY,
            # asked once: a host that let one attempt time out is not held up for RETRY_TIMES more
            meta={"dont_obey_robotstxt": True, "dont_retry": True},
            callback=NO_CALLBACK,
        )
        assert self.crawler.engine is not None
        fetched: Kept | None = None
        try:
            response = await self.crawler.engine.download_async(robots_request)
            fetched = Kept(response.body)
            await self._parse_robots(response, netloc, request)
        except Exception as exc:  # whatever failed the download: the host is crawled as if allowed
            fetched = None if isinstance(exc, IgnoreRequest) else Kept(None)
            if not isinstance(exc, IgnoreRequest):
                self._stats.inc_value("pairchive/robots_unavailable")
                logger.warning(
                    "%s could not be fetched (%s): crawling %s as if robots.txt allowed everything",
                    robots_url,
                    failure_line(exc),
                    netloc,
                )
            self._robots_error(exc, netloc)
        self._stats.inc_value("robotstxt/request_count")
        return fetched

    async def _parse_kept(self, kept: Kept, netloc: str, request: Request) -> None:
        """Use the robots.txt another worker of the run fetched, as Scrapy would have parsed it."""
        self._stats.inc_value("pairchive/robots_shared")
        waiting = self._parsers[netloc]
        assert isinstance(waiting, Deferred)
        parser: RobotParser | None = None
        if kept.body is not None:
            parser = build_from_crawler(self._parserimpl, self.crawler, kept.body)
            await self.crawler.signals.send_catch_log_async(
                signal=signals.robots_parsed, robotparser=parser, request=request
            )
        self._parsers[netloc] = parser
        waiting.callback(parser)


@dataclass(frozen=True)
class Kept:
    """A robots.txt as a worker of the run kept it: its body, or None when it could not be had."""

    body: bytes | None


class RunRobots:
    """The robots.txt bodies a run's workers share in Redis (crawler.vocabulary.frontier.RunKeys)."""

    def __init__(self, crawler: Crawler, url: str) -> None:
        self.crawler = crawler
        self.client = connect(url)
        self.url = shown(url)
        self.worker = worker_id(crawler.settings)
        self.prefix = crawler.settings.get("PAIRCHIVE_REDIS_PREFIX") or DEFAULT_PREFIX
        self.wait = crawler.settings.getfloat("DOWNLOAD_TIMEOUT")
        self.locked: set[str] = set()  # the hosts whose robots.txt this worker took the lock for

    def _keys(self) -> RunKeys:
        run_id = self.crawler.settings.getint("PAIRCHIVE_RUN_ID") or getattr(self.crawler.spider, "run_id", 0)
        return RunKeys(self.prefix, int(run_id or 0))

    async def fetched(self, netloc: str) -> Kept | None:
        """`netloc`'s robots.txt as another worker of the run kept it; None when this worker is to fetch
        it (it took the lock, waited for the holder in vain, or Redis did not answer)."""
        keys = self._keys()
        try:
            if (kept := await self._read(keys, netloc)) is not None:
                return kept
            if await off_reactor(
                self.client.set, keys.robots_lock(netloc), self.worker, nx=True, ex=LOCK_SECONDS
            ):
                self.locked.add(netloc)
                return None
            deadline = time.monotonic() + self.wait
            while time.monotonic() < deadline:
                await pause_for(POLL_SECONDS)
                if (kept := await self._read(keys, netloc)) is not None:
                    return kept
            logger.warning(
                "%s: robots.txt still not fetched by another worker after %g s; fetching it here",
                netloc,
                self.wait,
            )
        except REDIS_DOWN as exc:
            self._unreachable(netloc, exc)
        return None

    async def _read(self, keys: RunKeys, netloc: str) -> Kept | None:
        value = await off_reactor(self.client.get, keys.robots(netloc))
        if value is None:
            return None
        raw = value.encode() if isinstance(value, str) else value
        return Kept(None if raw == UNAVAILABLE else raw.removeprefix(FETCHED))

    async def keep(self, netloc: str, fetched: Kept | None) -> None:
        """Keep what this worker fetched for the others (unless one of them kept it first); with nothing
        to keep, let go of the lock so that another worker fetches it without waiting for it."""
        keys = self._keys()
        try:
            if fetched is None and netloc in self.locked:
                await off_reactor(self.client.delete, keys.robots_lock(netloc))
            if fetched is None:
                return
            value = UNAVAILABLE if fetched.body is None else FETCHED + fetched.body
            await off_reactor(self.client.set, keys.robots(netloc), value, nx=True, ex=KEEP_SECONDS)
        except REDIS_DOWN as exc:
            self._unreachable(netloc, exc)

    def _unreachable(self, netloc: str, exc: Exception) -> None:
        logger.warning(
            "Redis at %s is unreachable (%s): %s's robots.txt is not shared with the run's other workers",
            self.url,
            first_line(exc, with_type=True),
            netloc,
        )
