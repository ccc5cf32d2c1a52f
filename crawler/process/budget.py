"""The per-host politeness budget every worker of a distributed crawl shares, kept in Redis.

A worker's Scrapy holds each host to CONCURRENT_REQUESTS_PER_DOMAIN and DOWNLOAD_DELAY, but only for its own
requests: ten workers would ask a small portal ten times as hard. `SharedBudget` makes the limits hold for
all of them together. It is the last downloader middleware before the download handler: each request first
takes a *hold* on its host from Redis, granted when fewer than CONCURRENT_REQUESTS_PER_DOMAIN holds are out,
DOWNLOAD_DELAY has passed since the last grant and no Retry-After pause is on; otherwise it waits (on the
reactor, never blocking it) and asks again. The hold is given back with the response or the error. One Lua
script decides, on Redis's own clock, so the machines' clocks need not agree; a hold expires by itself
DOWNLOAD_TIMEOUT + 30 s after it was granted, so a killed worker's holds do not block the host for long.

A 429 or 503 with a Retry-After header pauses the host for every worker (capped at
PAIRCHIVE_RETRY_AFTER_MAX; a pause is never shortened), beside what crawler.process.politeness does for this
crawl. When Redis does not answer, the request waits (0.5 s, doubling to 5 s) and says so once; after
PAIRCHIVE_REDIS_OUTAGE seconds without an answer requests are failed instead. Counted in the crawl's stats as
`pairchive/budget/waits` (requests that had to wait) and `pairchive/budget/wait_seconds`.

Off (NotConfigured) when PAIRCHIVE_REDIS_URL is empty: a single-machine crawl is Scrapy's own politeness.
"""

from __future__ import annotations

import logging
import os
import socket
import time
import uuid
from collections.abc import Callable
from typing import Any, TypeVar

import redis
from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest, NotConfigured
from scrapy.http import Response
from scrapy.settings import BaseSettings
from scrapy.utils.defer import maybe_deferred_to_future
from scrapy.utils.httpobj import urlparse_cached
from twisted.internet.task import deferLater
from twisted.internet.threads import deferToThread

from crawler.process.politeness import RETRY_AFTER_STATUSES, retry_after_seconds, seconds_setting
from crawler.vocabulary.errors import first_line
from crawler.vocabulary.frontier import DEFAULT_PREFIX, HostKeys, connect, host_keys
from storage.redact import display_url, scrub

logger = logging.getLogger(__name__)

T = TypeVar("T")

# Redis failing to answer: waited for, within PAIRCHIVE_REDIS_OUTAGE. Any other Redis error is a bug.
REDIS_DOWN = (redis.ConnectionError, redis.TimeoutError)
HOLD_META = "_pairchive_budget_hold"  # request.meta: the id of the hold the request was granted
HOLD_MARGIN = 30.0  # seconds a hold outlives DOWNLOAD_TIMEOUT before Redis drops it as a dead worker's
FULL_POLL_MS = 100  # how soon a request for a host with all its holds out asks again
WAIT_STEP = 1.0  # longest single wait, so a crawl asked to stop is not held up by a long pause
BACKOFF = (0.5, 5.0)  # first and longest wait between two tries of a Redis that does not answer

# KEYS: holders, next, pause. ARGV: hold id, limit, hold time to live (ms), delay (ms), poll (ms).
# Returns 0 when the hold is granted, else how many milliseconds to wait before asking again.
ACQUIRE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local wait = 0
local nxt = tonumber(redis.call('GET', KEYS[2]) or '0')
local pause = tonumber(redis.call('GET', KEYS[3]) or '0')
if nxt - now > wait then wait = nxt - now end
if pause - now > wait then wait = pause - now end
if wait > 0 then return wait end
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then
  local first = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  return math.max(1, math.min(tonumber(ARGV[5]), tonumber(first[2]) - now))
end
local ttl = tonumber(ARGV[3])
redis.call('ZADD', KEYS[1], string.format('%.0f', now + ttl), ARGV[1])
redis.call('PEXPIRE', KEYS[1], ttl)
local delay = tonumber(ARGV[4])
redis.call('SET', KEYS[2], string.format('%.0f', now + delay), 'PX', delay + 60000)
return 0
"""

# KEYS: pause. ARGV: seconds (ms). Sets the pause to now + ms unless a later one is set; returns the pause.
PAUSE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local want = now + tonumber(ARGV[1])
local cur = tonumber(redis.call('GET', KEYS[1]) or '0')
if want > cur then
  redis.call('SET', KEYS[1], string.format('%.0f', want), 'PX', tonumber(ARGV[1]) + 60000)
  return want
end
return cur
"""


def redis_url(settings: BaseSettings) -> str:
    """PAIRCHIVE_REDIS_URL, or NotConfigured when it is empty (a single-machine crawl)."""
    url = settings.get("PAIRCHIVE_REDIS_URL") or ""
    if not url:
        raise NotConfigured("no PAIRCHIVE_REDIS_URL: not a distributed crawl")
    return str(url)


def worker_id(settings: BaseSettings) -> str:
    """PAIRCHIVE_WORKER_ID, or this machine and process when none is set."""
    return str(settings.get("PAIRCHIVE_WORKER_ID") or f"{socket.gethostname()}:{os.getpid()}")


def shown(url: str) -> str:
    """A Redis URL as a log line shows it: its password hidden."""
    return scrub(display_url(url))


async def off_reactor(call: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """`call(*args, **kwargs)` on a thread: a slow or unreachable Redis never stalls the other downloads."""
    result: T = await maybe_deferred_to_future(deferToThread(call, *args, **kwargs))
    return result


async def pause_for(seconds: float) -> None:
    """Wait `seconds` on the reactor."""
    from twisted.internet import reactor  # here: importing it installs one, before Scrapy chose its own

    await maybe_deferred_to_future(deferLater(reactor, seconds, lambda: None))


class HostBudget:
    """The shared per-host budget in Redis: holds granted by the ACQUIRE script, pauses by PAUSE."""

    def __init__(
        self, client: redis.Redis, prefix: str, *, limit: int, delay: float, hold_seconds: float
    ) -> None:
        self.client = client
        self.prefix = prefix
        self.limit = limit
        self.delay_ms = round(delay * 1000)
        self.hold_ms = round(hold_seconds * 1000)
        self._acquire = client.register_script(ACQUIRE)
        self._pause = client.register_script(PAUSE)

    def keys(self, netloc: str) -> HostKeys:
        return host_keys(self.prefix, netloc)

    def try_acquire(self, netloc: str, hold: str) -> int:
        """0 when `hold` was granted on `netloc`, else the milliseconds to wait before asking again."""
        keys = self.keys(netloc)
        return int(
            self._acquire(
                keys=[keys.holders, keys.next, keys.pause],
                args=[hold, self.limit, self.hold_ms, self.delay_ms, FULL_POLL_MS],
            )
        )

    def release(self, netloc: str, hold: str) -> None:
        self.client.zrem(self.keys(netloc).holders, hold)

    def pause(self, netloc: str, seconds: float) -> int:
        """Pause `netloc` for every worker for `seconds` (a later pause stays); returns the pause's end (ms)."""
        return int(self._pause(keys=[self.keys(netloc).pause], args=[max(1, round(seconds * 1000))]))


class SharedBudget:
    """Holds each request until its host's shared budget grants it, and gives the hold back after."""

    def __init__(self, crawler: Crawler, budget: HostBudget, url: str) -> None:
        self.crawler = crawler
        self.budget = budget
        self.url = shown(url)
        self.worker = worker_id(crawler.settings)
        self.max_pause = seconds_setting(crawler.settings, "PAIRCHIVE_RETRY_AFTER_MAX")
        self.outage = seconds_setting(crawler.settings, "PAIRCHIVE_REDIS_OUTAGE")
        self.down_since: float | None = None  # monotonic time of the first unanswered call of an outage

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> SharedBudget:
        url = redis_url(crawler.settings)
        settings = crawler.settings
        budget = HostBudget(
            connect(url),
            settings.get("PAIRCHIVE_REDIS_PREFIX") or DEFAULT_PREFIX,
            limit=max(1, settings.getint("CONCURRENT_REQUESTS_PER_DOMAIN")),
            delay=max(0.0, settings.getfloat("DOWNLOAD_DELAY")),
            hold_seconds=settings.getfloat("DOWNLOAD_TIMEOUT") + HOLD_MARGIN,
        )
        return cls(crawler, budget, url)

    def _running(self) -> bool:
        engine = self.crawler.engine
        return engine is None or engine.running

    async def process_request(self, request: Request) -> None:
        """Waits until the host's shared budget grants the request a hold."""
        netloc = (urlparse_cached(request).netloc or "").lower()
        hold = f"{self.worker}:{uuid.uuid4().hex}"
        waited, backoff = 0.0, BACKOFF[0]
        while True:
            try:
                wait_ms = await off_reactor(self.budget.try_acquire, netloc, hold)
            except REDIS_DOWN as exc:
                self._unanswered(exc)
                await pause_for(backoff)
                backoff = min(backoff * 2, BACKOFF[1])
                continue
            self._answered()
            if wait_ms == 0:
                break
            if not self._running():
                raise IgnoreRequest(f"the crawl stopped while {netloc} had no room in its shared budget")
            step = min(wait_ms / 1000, WAIT_STEP)
            await pause_for(step)
            waited += step
        request.meta[HOLD_META] = hold
        stats = self.crawler.stats
        if waited and stats is not None:
            stats.inc_value("pairchive/budget/waits")
            total = stats.get_value("pairchive/budget/wait_seconds", 0.0) + waited
            stats.set_value("pairchive/budget/wait_seconds", round(total, 3))

    async def process_response(self, request: Request, response: Response) -> Response:
        await self._release(request)
        if response.status in RETRY_AFTER_STATUSES and b"Retry-After" in response.headers:
            await self._pause(request, (response.headers.get(b"Retry-After") or b"").decode("latin-1"))
        return response

    async def process_exception(self, request: Request, exception: Exception) -> None:
        await self._release(request)

    async def _release(self, request: Request) -> None:
        # popped: a retry or a redirect copies the meta, and its hold is its own
        hold = request.meta.pop(HOLD_META, None)
        if hold is None:
            return
        try:
            await off_reactor(self.budget.release, (urlparse_cached(request).netloc or "").lower(), hold)
        except REDIS_DOWN as exc:
            logger.debug("%s: hold not given back (%s); it expires by itself", request.url, first_line(exc))

    async def _pause(self, request: Request, header: str) -> None:
        seconds = retry_after_seconds(header)
        if seconds is None or seconds <= 0:
            return
        seconds = min(seconds, self.max_pause)
        try:
            await off_reactor(self.budget.pause, (urlparse_cached(request).netloc or "").lower(), seconds)
        except REDIS_DOWN as exc:
            logger.warning(
                "%s: Retry-After %s not shared with the other workers: Redis at %s is unreachable (%s)",
                request.url,
                header,
                self.url,
                first_line(exc, with_type=True),
            )
            return
        logger.info("%s: every worker waits %.0f s before asking this host again", request.url, seconds)

    def _unanswered(self, exc: Exception) -> None:
        """An outage seen: said once; past PAIRCHIVE_REDIS_OUTAGE the request is failed."""
        now = time.monotonic()
        if self.down_since is None:
            self.down_since = now
            logger.warning(
                "Redis at %s is unreachable (%s); waiting up to %g s for it (PAIRCHIVE_REDIS_OUTAGE)",
                self.url,
                first_line(exc, with_type=True),
                self.outage,
            )
        if now - self.down_since >= self.outage:
            raise IgnoreRequest(
                f"Redis at {self.url} has been unreachable for {now - self.down_since:.0f} s "
                "(PAIRCHIVE_REDIS_OUTAGE): no hold on the host's shared budget can be had"
            )

    def _answered(self) -> None:
        if self.down_since is not None:
            logger.warning(
                "Redis at %s answers again after %.0f s", self.url, time.monotonic() - self.down_since
            )
            self.down_since = None
