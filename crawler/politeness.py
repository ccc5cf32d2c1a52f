"""Good-citizen behaviour the stock Scrapy middlewares leave out.

- `RetryAfterMiddleware`: a 429 or 503 with a Retry-After header slows the whole download slot (the
  portal) to that delay before the retry, instead of retrying at once; an absurd Retry-After gives up.
- `HtmlOnly`: stops a download as soon as its headers say it is not a page, feed or sitemap (a PDF, a
  video), so the crawl neither spends the bandwidth nor the size cap on it.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

from scrapy import Request, Spider, signals
from scrapy.crawler import Crawler
from scrapy.downloadermiddlewares.retry import get_retry_request
from scrapy.exceptions import StopDownload
from scrapy.http import Response

logger = logging.getLogger(__name__)

WANTED_TYPES = ("html", "xml", "rss", "atom", "gzip", "text/plain")


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


class RetryAfterMiddleware:
    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.max_wait = crawler.settings.getfloat("PAIRCHIVE_RETRY_AFTER_MAX", 600.0)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RetryAfterMiddleware:
        return cls(crawler)

    def process_response(
        self, request: Request, response: Response, spider: Spider | None = None
    ) -> Request | Response:
        if response.status not in (429, 503) or b"Retry-After" not in response.headers:
            return response
        wait = retry_after_seconds((response.headers.get(b"Retry-After") or b"").decode("latin-1"))
        if wait is None or wait > self.max_wait:
            logger.warning(
                "%s: Retry-After %r is unreadable or too long; not retrying",
                request.url,
                response.headers.get(b"Retry-After"),
            )
            return response
        engine = self.crawler.engine
        if engine is not None and engine.downloader is not None:
            slot = engine.downloader.slots.get(engine.downloader.get_slot_key(request))
            if slot is not None and slot.delay < wait:
                slot.delay = wait
        spider = spider or self.crawler.spider
        assert spider is not None
        retry = get_retry_request(
            request,
            spider=spider,
            reason=f"HTTP {response.status}, Retry-After {wait:g}s",
        )
        logger.info(
            "%s: HTTP %d, waiting %.0f s before asking this portal again", request.url, response.status, wait
        )
        return retry or response


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
