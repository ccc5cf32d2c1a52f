"""Good-citizen behaviour the stock Scrapy middlewares leave out.

- `RetryAfterMiddleware`: a 429 or 503 with a Retry-After header pauses the portal (its download slot)
  for that long, once, and then asks for the page again; the portal goes back to its own pace after the
  pause. The waits are bounded: one Retry-After longer than `PAIRCHIVE_RETRY_AFTER_MAX` seconds, or one
  that would take the portal's pauses in this run past `PAIRCHIVE_RETRY_AFTER_TOTAL` seconds, or one
  still sent after the page's retries, is not waited for: the page is left for the next run, recorded
  as a rejection with reason `retry_after` (not settled, so the next run asks again).
- `HtmlOnly`: stops a download as soon as its headers say it is not a page, feed or sitemap (a PDF, a
  video), so the crawl neither spends the bandwidth nor the size cap on it.
"""

from __future__ import annotations

import logging
import math
import time
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

from scrapy import Request, Spider, signals
from scrapy.crawler import Crawler
from scrapy.downloadermiddlewares.retry import get_retry_request
from scrapy.exceptions import StopDownload
from scrapy.http import Response
from scrapy.settings import BaseSettings
from scrapy.utils.defer import maybe_deferred_to_future
from twisted.internet.task import deferLater

from crawler.vocabulary.reasons import Reason, RefusedUrl

logger = logging.getLogger(__name__)

WANTED_TYPES = ("html", "xml", "rss", "atom", "gzip", "text/plain")
RETRY_AFTER_STATUSES = (429, 503)
# A pause is waited in steps this long, so that a crawl asked to stop does not wait out the pause first.
PAUSE_STEP = 1.0
MAX_SETTING_SECONDS = 86_400.0  # a day: past it a Retry-After bound is a typo


def retry_after_seconds(value: str, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header: delta-seconds or an HTTP date; None if unreadable."""
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def seconds_setting(settings: BaseSettings, name: str) -> float:
    """A bound in seconds from the settings: a finite number from 0 to a day, else a ValueError naming it."""
    raw = settings.get(name)
    try:
        value = float(raw)
    except (TypeError, ValueError):
        value = math.nan
    if not (math.isfinite(value) and 0 <= value <= MAX_SETTING_SECONDS):
        raise ValueError(f"{name} must be a number of seconds from 0 to {MAX_SETTING_SECONDS:g}, got {raw!r}")
    return value


class RetryAfterMiddleware:
    """Honours Retry-After within bounds: pauses the portal once per answer, defers the page past them."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.max_wait = seconds_setting(crawler.settings, "PAIRCHIVE_RETRY_AFTER_MAX")
        self.max_total = seconds_setting(crawler.settings, "PAIRCHIVE_RETRY_AFTER_TOTAL")
        self.resume_at: dict[str, float] = {}  # download slot -> when (monotonic) it may be asked again
        self.paused: dict[str, float] = {}  # download slot -> seconds it was paused for in this run

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RetryAfterMiddleware:
        return cls(crawler)

    def _slot(self, request: Request) -> str:
        engine = self.crawler.engine
        if engine is not None and engine.downloader is not None:
            return engine.downloader.get_slot_key(request)
        return request.url

    def _running(self) -> bool:
        engine = self.crawler.engine
        return engine is None or engine.running

    async def process_request(self, request: Request, spider: Spider | None = None) -> None:
        """Holds every request for a paused portal until its pause is over."""
        until = self.resume_at.get(self._slot(request))
        if until is None:
            return
        from twisted.internet import reactor  # here: importing it installs one, before Scrapy chose its own

        while (left := until - time.monotonic()) > 0:
            if not self._running():
                raise self._defer(request, "the crawl stopped while the portal asked to wait (Retry-After)")
            await maybe_deferred_to_future(deferLater(reactor, min(left, PAUSE_STEP), lambda: None))

    def process_response(
        self, request: Request, response: Response, spider: Spider | None = None
    ) -> Request | Response:
        if response.status not in RETRY_AFTER_STATUSES or b"Retry-After" not in response.headers:
            return response
        if request.meta.get("dont_retry"):  # asked once or not at all (robots.txt): the answer is the answer
            return response
        header = (response.headers.get(b"Retry-After") or b"").decode("latin-1")
        wait = retry_after_seconds(header)
        if wait is None:
            logger.warning(
                "%s: Retry-After %r is unreadable; retried as any HTTP %d",
                request.url,
                header,
                response.status,
            )
            return response
        asked = f"HTTP {response.status}, Retry-After {wait:g} s"
        if wait > self.max_wait:
            raise self._defer(
                request,
                f"{asked}: longer than the {self.max_wait:g} s a page may wait (PAIRCHIVE_RETRY_AFTER_MAX)",
            )
        slot, now = self._slot(request), time.monotonic()
        paused_until = max(self.resume_at.get(slot, now), now)
        longer = max(0.0, now + wait - paused_until)  # what this answer adds to a pause already under way
        paused = self.paused.get(slot, 0.0)
        if paused + longer > self.max_total:
            raise self._defer(
                request,
                f"{asked}: the portal's pauses in this run would pass {self.max_total:g} s "
                f"(PAIRCHIVE_RETRY_AFTER_TOTAL; {paused:.0f} s so far)",
            )
        spider = spider or self.crawler.spider
        assert spider is not None
        retry = get_retry_request(request, spider=spider, reason=asked)
        if retry is None:
            raise self._defer(request, f"{asked}: still asked to wait after the page's retries")
        self.resume_at[slot] = paused_until + longer
        self.paused[slot] = paused + longer
        logger.info(
            "%s: %s; this portal is paused for %.0f s", request.url, asked, paused_until + longer - now
        )
        return retry

    def _defer(self, request: Request, detail: str) -> RefusedUrl:
        """The page left for the next run: a rejection with reason `retry_after` (crawler.process.urlpolicy's
        refusal, which the spider records with its reason)."""
        if self.crawler.stats is not None:
            self.crawler.stats.inc_value(f"pairchive/refused/{Reason.RETRY_AFTER}")
        logger.warning("%s: %s; left for the next run", request.url, detail)
        return RefusedUrl(Reason.RETRY_AFTER, f"{detail}; left for the next run")


class HtmlOnly:
    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> HtmlOnly:
        ext = cls(crawler)
        crawler.signals.connect(ext.headers_received, signal=signals.headers_received)
        return ext

    def headers_received(self, headers: Any, body_length: int, request: Request, spider: Spider) -> None:
        content_type = (headers.get(b"Content-Type") or b"").decode("latin-1").lower()
        if content_type and not any(kind in content_type for kind in WANTED_TYPES):
            raise StopDownload(fail=True)
