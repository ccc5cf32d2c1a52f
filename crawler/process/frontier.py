"""A run's shared frontier, when several workers crawl it: scrapy-redis's scheduler with our queue and filter.

scrapy-redis (`scrapy_redis.scheduler.Scheduler`) keeps the run's requests and its duplicate filter in Redis,
so the workers of one run share them; this module adds what a run needs of them beyond that:

- `RunScheduler`: scrapy-redis's scheduler, its stats kept without the calls Scrapy 2.14 deprecates.
- `RunFrontier`, the queue: scrapy-redis's priority queue whose pop moves the request, in the same Lua
  script, into the worker's in-flight set. A worker killed mid-page loses nothing: the coordinator (or the
  worker's own close) puts what it had in flight back into the queue. Requests are stored as JSON
  (`dumps`/`loads`), not pickles, so whoever can write to Redis cannot make a worker run code.
- `RunSeen`, the duplicate filter: scrapy-redis's, keyed by the page's canonical URL when the spider gives
  one (tracking parameters, host aliases: one fetch per page, across workers), and never deleted by a
  worker: the coordinator owns the run's keys.
- `RunMembership`, an extension: the worker joins the run (its id in the run's worker set, its row in
  `run_workers`), says it is alive and when it is idle, and closes only when the coordinator says the run is
  done or stopped; an idle spider otherwise waits for requests other workers add.
- `FrontierDone`, a spider middleware: a request whose callback has run is taken out of the in-flight set.

Each raises NotConfigured without PAIRCHIVE_REDIS_URL: a single-machine crawl is unchanged. A Redis that
stops answering is waited for (one warning line, retries with backoff) for PAIRCHIVE_REDIS_OUTAGE seconds
before the crawl gives up; the calls block the crawl meanwhile, as it cannot go on without its frontier.
"""

from __future__ import annotations

import base64
import contextlib
import json
import logging
import time
from collections.abc import AsyncIterator, Callable, Iterable
from typing import Any, TypeVar

import redis
from scrapy import Request, Spider, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import CloseSpider, DontCloseSpider, NotConfigured
from scrapy.http import Response
from scrapy.settings import BaseSettings
from scrapy.utils.defer import deferred_from_coro
from scrapy_redis.dupefilter import RFPDupeFilter
from scrapy_redis.queue import PriorityQueue
from scrapy_redis.scheduler import Scheduler
from sqlalchemy.exc import SQLAlchemyError
from twisted.internet.task import LoopingCall

from crawler.vocabulary.errors import StorageError
from crawler.vocabulary.frontier import (
    ALIVE_SECONDS,
    DONE,
    OPEN,
    RUN_KEYS_SECONDS,
    STOP,
    RunKeys,
    connect,
    join,
    requeue,
    text,
)
from crawler.vocabulary.pages import CANONICAL_META
from storage.db import open_for_writing
from storage.redact import display_url
from storage.runworkers import join_run

logger = logging.getLogger(__name__)

ENTRY_META = "pairchive_frontier_entry"  # the queue entry a popped request came from (never stored)
BEAT_SECONDS = 0.5  # how often a worker renews it and reads the run's state
OUTAGE_DEFAULT = 120.0
RETRY_PAUSES = (0.5, 5.0)  # first and longest pause between two tries of a Redis that does not answer

T = TypeVar("T")

# Pop the best request and keep it in the worker's in-flight set with its score, the worker busy again.
POP = """
local entry = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
if entry[1] == nil then return nil end
redis.call('ZREM', KEYS[1], entry[1])
redis.call('ZADD', KEYS[2], entry[2], entry[1])
redis.call('EXPIRE', KEYS[2], ARGV[1])
redis.call('DEL', KEYS[3])
return entry[1]
"""
# Into the run's filter (unless no fingerprint is given) and, if new there, into its frontier.
OFFER = """
if ARGV[1] ~= '' then
  if redis.call('SADD', KEYS[2], ARGV[1]) == 0 then return 0 end
  redis.call('EXPIRE', KEYS[2], ARGV[4])
end
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[2])
redis.call('EXPIRE', KEYS[1], ARGV[4])
return 1
"""

# --- JSON instead of pickle for stored requests (Request.to_dict holds bytes: body, headers) ---


def _plain(value: Any) -> Any:
    if isinstance(value, bytes):
        return {"__bytes__": base64.b64encode(value).decode("ascii")}
    if isinstance(value, dict):
        return {
            str(k) if not isinstance(k, bytes) else k.decode("latin-1"): _plain(v) for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _restored(value: Any) -> Any:
    if isinstance(value, dict):
        if set(value) == {"__bytes__"}:
            return base64.b64decode(value["__bytes__"])
        return {k: _restored(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_restored(v) for v in value]
    return value


def dumps(obj: dict[str, Any]) -> bytes:
    """A request's dict as JSON (the serializer scrapy-redis's queue takes: SCHEDULER_SERIALIZER)."""
    return json.dumps(_plain(obj), sort_keys=True, separators=(",", ":")).encode()


def loads(data: bytes) -> dict[str, Any]:
    restored = _restored(json.loads(data))
    assert isinstance(restored, dict)
    return restored


class RedisGone(redis.ConnectionError):
    """Redis did not answer for the whole outage a crawl waits: its part of the run ends (failed)."""


def _stop_for_outage(crawler: Crawler, exc: BaseException) -> None:
    """End this worker's part of the run, failed, with why (the run recorder says it)."""
    if crawler.stats is not None and not crawler.stats.get_value("pairchive/stopped_by"):
        crawler.stats.set_value("pairchive/stopped_by", f"the frontier is gone: {exc}")
    engine = crawler.engine
    if engine is not None and engine.spider is not None:
        deferred_from_coro(engine.close_spider_async(reason="redis_unreachable"))


class Patient:
    """Calls to a Redis that may be gone for a while: retried with backoff, said once, given up after
    `outage` seconds (the last error raised)."""

    def __init__(self, url: str, outage: float) -> None:
        self.where = display_url(url)
        self.outage = outage

    def call(self, action: Callable[[], T]) -> T:
        pause, longest = RETRY_PAUSES
        since: float | None = None
        while True:
            try:
                result = action()
            except (redis.ConnectionError, redis.TimeoutError) as exc:
                now = time.monotonic()
                if since is None:
                    since = now
                    logger.warning("Redis at %s is unreachable, waiting: %s", self.where, exc)
                if now - since >= self.outage:
                    logger.error("Redis at %s unreachable for %.0f s: giving up", self.where, now - since)
                    raise RedisGone(f"Redis at {self.where} unreachable for {now - since:.0f} s") from exc
                time.sleep(pause)  # the crawl cannot go on without its frontier: it waits with it
                pause = min(pause * 2, longest)
                continue
            if since is not None:
                logger.warning("Redis at %s answers again after %.0f s", self.where, time.monotonic() - since)
            return result


def _patient(settings: BaseSettings) -> Patient:
    return Patient(
        settings["PAIRCHIVE_REDIS_URL"], settings.getfloat("PAIRCHIVE_REDIS_OUTAGE", OUTAGE_DEFAULT)
    )


def _run_keys(settings: BaseSettings) -> tuple[RunKeys, str]:
    """The run's keys and this worker's id, from the crawl's settings (NotConfigured when not distributed)."""
    if not settings.get("PAIRCHIVE_REDIS_URL"):
        raise NotConfigured  # (no message: Scrapy would warn of it)
    worker = settings.get("PAIRCHIVE_WORKER_ID") or ""
    run_id = settings.getint("PAIRCHIVE_RUN_ID")
    if not worker or not run_id:
        raise NotConfigured("a distributed crawl needs PAIRCHIVE_WORKER_ID and PAIRCHIVE_RUN_ID")
    return RunKeys(settings.get("PAIRCHIVE_REDIS_PREFIX") or "pairchive", run_id), worker


class RunScheduler(Scheduler):
    """scrapy-redis's scheduler with the run's filter and frontier written in one step (a request is never
    marked seen without being queued), its stats kept without the calls Scrapy 2.14 deprecates, and a
    Redis gone for good ending the worker's part of the run rather than the engine's loop."""

    def enqueue_request(self, request: Request) -> bool:
        fingerprint = "" if request.dont_filter else self.df.request_fingerprint(request)
        try:
            queued = self.queue.offer(request, fingerprint)
        except RedisGone as exc:
            _stop_for_outage(self.spider.crawler, exc)
            return False
        if not queued:
            self.df.log(request, self.spider)
            return False
        if self.stats:
            self.stats.inc_value("scheduler/enqueued/redis")
        return True

    def next_request(self) -> Request | None:
        try:
            request: Request | None = self.queue.pop(self.idle_before_close)
        except RedisGone as exc:
            _stop_for_outage(self.spider.crawler, exc)
            return None
        if request is not None and self.stats:
            self.stats.inc_value("scheduler/dequeued/redis")
        return request

    def has_pending_requests(self) -> bool:
        try:
            return len(self.queue) > 0
        except RedisGone as exc:
            _stop_for_outage(self.spider.crawler, exc)
            return False


class RunFrontier(PriorityQueue):
    """scrapy-redis's priority queue, each pop kept in the worker's in-flight set until done."""

    def __init__(self, server: redis.Redis, spider: Spider, key: str, serializer: Any = None) -> None:
        super().__init__(server, spider, key, serializer)
        self.run_keys, self.worker = _run_keys(spider.settings)
        self.patient = _patient(spider.settings)
        self.pop_script = server.register_script(POP)
        self.offer_script = server.register_script(OFFER)

    def __len__(self) -> int:
        return int(self.patient.call(lambda: self.server.zcard(self.key)))

    def push(self, request: Request) -> None:
        self.offer(request, "")

    def offer(self, request: Request, fingerprint: str) -> bool:
        """Queue `request` unless its fingerprint is in the run's filter (empty: queue it anyway); the
        filter and the frontier written in one script, each kept a day past its last write."""
        request.meta.pop(ENTRY_META, None)  # a retry of a popped request is a new entry
        data = self._encode_request(request)
        keys, args = [self.key, self.run_keys.seen], [fingerprint, data, -request.priority, RUN_KEYS_SECONDS]
        return bool(int(self.patient.call(lambda: self.offer_script(keys=keys, args=args))))

    def pop(self, timeout: int = 0) -> Request | None:
        keys = [self.key, self.run_keys.inflight(self.worker), self.run_keys.idle(self.worker)]
        data = self.patient.call(lambda: self.pop_script(keys=keys, args=[RUN_KEYS_SECONDS]))
        if not data:
            return None
        request: Request = self._decode_request(data)
        request.meta[ENTRY_META] = data
        return request


class RunSeen(RFPDupeFilter):
    """scrapy-redis's duplicate filter on the run's key, by canonical URL; its set outlives the worker."""

    @classmethod
    def from_spider(cls, spider: Spider) -> RunSeen:
        keys, _ = _run_keys(spider.settings)
        seen = cls(connect(spider.settings["PAIRCHIVE_REDIS_URL"]), key=keys.seen)
        seen.patient = _patient(spider.settings)
        return seen

    def request_seen(self, request: Request) -> bool:
        fingerprint = self.request_fingerprint(request)
        return int(self.patient.call(lambda: self.server.sadd(self.key, fingerprint))) == 0

    def request_fingerprint(self, request: Request) -> str:
        canonical = request.meta.get(CANONICAL_META)
        if canonical:
            return f"{request.method} {canonical}"
        return str(super().request_fingerprint(request))

    def close(self, reason: str = "") -> None:
        """Kept: the run's other workers still filter with it; the coordinator deletes it with the run."""

    def clear(self) -> None:
        """Never by a worker (see close)."""


class FrontierDone:
    """Takes a request out of the worker's in-flight set once what its page gave is settled: its item
    through the stages (stored or dropped), or, for a page that gives none (a listing), its links handed on.

    Items are settled on their own signals, not at the end of the callback's output: Scrapy hands a
    callback's items to the stages in parallel, so its output can be over before the last one is stored."""

    def __init__(self, crawler: Crawler) -> None:
        self.keys, self.worker = _run_keys(crawler.settings)
        self.server = connect(crawler.settings["PAIRCHIVE_REDIS_URL"])
        self.patient = _patient(crawler.settings)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> FrontierDone:
        done = cls(crawler)
        for signal in (signals.item_scraped, signals.item_dropped, signals.item_error):
            crawler.signals.connect(done.item_settled, signal=signal)
        return done

    def done(self, request: Request | None) -> None:
        entry = request.meta.get(ENTRY_META) if request is not None else None
        if entry:
            key = self.keys.inflight(self.worker)
            # (a Redis gone for good ends the crawl through the scheduler; here the request stays in flight)
            with contextlib.suppress(RedisGone):
                self.patient.call(lambda: self.server.zrem(key, entry))

    def item_settled(self, item: Any, response: Response, spider: Spider, **_: Any) -> None:
        self.done(response.request)

    async def process_spider_output_async(
        self, response: Response, result: AsyncIterator[Any]
    ) -> AsyncIterator[Any]:
        items = 0
        async for output in result:
            items += not isinstance(output, Request)
            yield output
        if not items:
            self.done(response.request)

    def process_spider_output(
        self, response: Response, result: Iterable[Any], spider: Spider
    ) -> Iterable[Any]:
        items = 0
        for output in result:
            items += not isinstance(output, Request)
            yield output
        if not items:
            self.done(response.request)

    def process_spider_exception(self, response: Response, exception: BaseException) -> None:
        self.done(response.request)


class RunMembership:
    """The worker's part in a run: joined, alive, idle or busy, and closed when the coordinator says so."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.keys, self.worker = _run_keys(crawler.settings)
        self.server = connect(crawler.settings["PAIRCHIVE_REDIS_URL"])
        self.patient = _patient(crawler.settings)
        self.beat = LoopingCall(self._beat)
        self.closing = False

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RunMembership:
        ext = cls(crawler)
        crawler.signals.connect(ext.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(ext.spider_idle, signal=signals.spider_idle)
        crawler.signals.connect(ext.spider_closed, signal=signals.spider_closed)
        return ext

    def _state(self) -> str | None:
        return text(self.patient.call(lambda: self.server.hget(self.keys.state, "state")))

    def spider_opened(self, spider: Spider) -> None:
        # (its worker joined it already; again here for a crawl started otherwise, and to know the run is
        # still open: one that ended meanwhile is left at the first beat, before anything is crawled)
        try:
            if not self.patient.call(lambda: join(self.server, self.keys, self.worker, ALIVE_SECONDS)):
                logger.info("run %s ended before worker %s started on it", self.keys.run_id, self.worker)
        except RedisGone as exc:
            _stop_for_outage(self.crawler, exc)
            return
        try:
            with open_for_writing(self.crawler.settings["PAIRCHIVE_DB"]).sessions.begin() as session:
                join_run(session, self.keys.run_id, self.worker)
        except (SQLAlchemyError, StorageError) as exc:  # its row is written at its end all the same
            logger.warning("could not record that %s joined run %s: %s", self.worker, self.keys.run_id, exc)
        logger.info("worker %s joined run %s", self.worker, self.keys.run_id)
        self.beat.start(BEAT_SECONDS, now=False)

    def _beat(self) -> None:
        """Renew the alive key; close the spider when the coordinator ended the run."""
        try:
            self.server.set(self.keys.alive(self.worker), "1", ex=ALIVE_SECONDS)
            state = self._state()
        except (redis.ConnectionError, redis.TimeoutError):
            return  # said by the patient calls of the queue; the next beat tries again
        if self.closing or state == OPEN:
            return
        engine = self.crawler.engine
        if state == DONE and engine is not None and not engine.spider_is_idle():
            return  # the coordinator's view and ours cross: close once idle (spider_idle)
        self.closing = True
        reason = "finished" if state == DONE else "shutdown"
        logger.info("run %s is %s: worker %s closes", self.keys.run_id, state or "gone", self.worker)
        if engine is not None and engine.spider is not None:
            deferred_from_coro(engine.close_spider_async(reason=reason))

    def spider_idle(self, spider: Spider) -> None:
        try:
            self._idle()
        except RedisGone as exc:
            if self.crawler.stats is not None:
                self.crawler.stats.set_value("pairchive/stopped_by", f"the frontier is gone: {exc}")
            raise CloseSpider("redis_unreachable") from None

    def _idle(self) -> None:
        state = self._state()
        if state == DONE:
            raise CloseSpider("finished")
        if state == STOP or state is None:
            raise CloseSpider("shutdown")

        def idle() -> None:
            with self.server.pipeline() as pipe:
                # nothing is in flight when the engine is idle: what the set holds was handed on already
                pipe.delete(self.keys.inflight(self.worker))
                pipe.set(self.keys.idle(self.worker), "1", ex=RUN_KEYS_SECONDS)
                pipe.execute()

        self.patient.call(idle)
        raise DontCloseSpider("waiting for the run's other workers")

    def spider_closed(self, spider: Spider, reason: str) -> None:
        if self.beat.running:
            self.beat.stop()
        try:
            back = requeue(self.server, self.keys, self.worker) if self._state() == OPEN else 0
            with self.server.pipeline() as pipe:
                pipe.delete(self.keys.alive(self.worker), self.keys.idle(self.worker))
                pipe.delete(self.keys.inflight(self.worker))
                pipe.execute()
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            logger.warning(
                "could not leave run %s cleanly (Redis: %s); its coordinator will", self.keys.run_id, exc
            )
            return
        if back:
            logger.info(
                "worker %s left run %s: %d request(s) back to the frontier",
                self.worker,
                self.keys.run_id,
                back,
            )
