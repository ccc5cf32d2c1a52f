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
"""

from __future__ import annotations

import logging

from scrapy import Request
from scrapy.downloadermiddlewares.robotstxt import RobotsTxtMiddleware
from scrapy.exceptions import IgnoreRequest
from scrapy.http.request import NO_CALLBACK
from scrapy.robotstxt import RobotParser
from scrapy.utils.defer import maybe_deferred_to_future
from scrapy.utils.httpobj import urlparse_cached
from twisted.internet.defer import Deferred

logger = logging.getLogger(__name__)


def failure_line(exc: BaseException) -> str:
    """What went wrong, in one line: the exception's type and its first line."""
    message = str(exc).strip().splitlines()
    return type(exc).__name__ + (f": {message[0]}" if message else "")


class RobotsTxt(RobotsTxtMiddleware):
    """Scrapy's robots.txt middleware, with a failed robots.txt said in one warning line."""

    async def robot_parser(self, request: Request) -> RobotParser | None:
        url = urlparse_cached(request)
        netloc = url.netloc
        if netloc not in self._parsers:
            self._parsers[netloc] = Deferred()
            robots_url = f"{url.scheme}://{netloc}/robots.txt"
            robots_request = Request(
                robots_url,
                priority=self.DOWNLOAD_PRIORITY,
                # asked once: a host that let one attempt time out is not held up for RETRY_TIMES more
                meta={"dont_obey_robotstxt": True, "dont_retry": True},
                callback=NO_CALLBACK,
            )
            assert self.crawler.engine is not None
            try:
                response = await self.crawler.engine.download_async(robots_request)
                await self._parse_robots(response, netloc, request)
            except Exception as exc:  # whatever failed the download: the host is crawled as if allowed
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
        parser = self._parsers[netloc]
        if isinstance(parser, Deferred):
            return await maybe_deferred_to_future(parser)
        return parser
