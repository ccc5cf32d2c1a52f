"""One line per page event: the URL and the outcome, never the item (which carries the whole page)."""

from __future__ import annotations

import logging
from typing import Any

from scrapy import Spider
from scrapy.http import Response
from scrapy.logformatter import LogFormatter, LogFormatterResult
from twisted.python.failure import Failure


def _url(item: Any, response: Response | Failure | None) -> str:
    url = getattr(item, "url", None)
    if url:
        return str(url)
    return response.url if isinstance(response, Response) else "?"


class PageLogFormatter(LogFormatter):
    def scraped(self, item: Any, response: Response | Failure | None, spider: Spider) -> LogFormatterResult:
        return {"level": logging.DEBUG, "msg": "stored: %(url)s", "args": {"url": _url(item, response)}}

    def dropped(
        self, item: Any, exception: BaseException, response: Response | Failure | None, spider: Spider
    ) -> LogFormatterResult:
        return {
            "level": logging.INFO,
            "msg": "dropped (%(reason)s): %(url)s",
            "args": {"reason": exception, "url": _url(item, response)},
        }

    def item_error(
        self, item: Any, exception: BaseException, response: Response | Failure | None, spider: Spider
    ) -> LogFormatterResult:
        return {
            "level": logging.ERROR,
            "msg": "pipeline error on %(url)s: %(exception)s",
            "args": {"url": _url(item, response), "exception": exception},
        }
