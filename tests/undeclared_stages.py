"""Item pipelines that break the reason protocol on purpose, for the crawls of tests/test_outcomes.py:
one rejects with a plain DropItem (no Reason), one reports a page under a word outside the declared set.
Scrapy loads them by name in the crawl subprocess (`-s ITEM_PIPELINES=...`)."""

from __future__ import annotations

from typing import Any, Self

from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem

from crawler.vocabulary.signals import page_not_fetched

UNDECLARED = "no_such_reason"


class PlainDrop:
    """Drops every page with a DropItem that carries no Reason, worded as the old protocol did."""

    def process_item(self, item: Any) -> Any:
        raise DropItem(f"{UNDECLARED}: dropped by a stage that names no Reason")


class UndeclaredReason:
    """Reports every page as not fetched, for a word that is no Reason (a sender that bypasses the types)."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler)

    def process_item(self, item: Any) -> Any:
        self.crawler.signals.send_catch_log(
            signal=page_not_fetched,
            url=item.url,
            reason=UNDECLARED,
            detail="reported under an undeclared word",
            spider=self.crawler.spider,
        )
        return item
