"""Incremental runs: before a spider starts, load the article URLs its source already settled.

The spider then skips them, and stops paging a listing once a page holds only known articles, so a nightly
run fetches what is new and leaves a small server alone.
"""

from __future__ import annotations

import logging

from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.spiders import Spider

from crawler.vocabulary.pages import KnownPage
from crawler.vocabulary.urls import canonical_url
from storage.archive import recrawl_targets
from storage.db import open_for_writing
from storage.outcomes import COMPLETED, Reason
from storage.queries import known_urls, last_finished_run

logger = logging.getLogger(__name__)


class KnownPages:
    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.db_url: str = crawler.settings["PAIRCHIVE_DB"]

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> KnownPages:
        ext = cls(crawler)
        crawler.signals.connect(ext.spider_opened, signal=signals.spider_opened)
        return ext

    def spider_opened(self, spider: Spider) -> None:
        source_id = getattr(spider, "source_id", None)
        if source_id is None or not hasattr(spider, "known"):
            return
        source = getattr(spider, "source", None)
        same_hosts: tuple[str, ...] = source.same_hosts if source is not None else ()
        sessions = open_for_writing(self.db_url).sessions
        with sessions() as session:
            for url, article_id, fetched_at in known_urls(session, source_id):
                spider.known[canonical_url(url, same_hosts)] = KnownPage(article_id, fetched_at)
            last = last_finished_run(session, source_id, before=getattr(spider, "run_id", None))
            # pages a portal asked to wait for (crawler.process.politeness) were left for this run to fetch
            deferred = last is not None and last.counts.get(Reason.RETRY_AFTER)
            ended = last is not None and last.status in COMPLETED  # a degraded run read its pages too
            if last is not None and (not ended or last.counts.get("capped") or deferred):
                spider.resume = True  # type: ignore[attr-defined]
                logger.info(
                    "%s: run %d ended %s: paging past known articles this time",
                    spider.name,
                    last.id,
                    last.status
                    if not ended
                    else "capped"
                    if last.counts.get("capped")
                    else "with pages deferred",
                )
            targets = getattr(spider, "recrawl_targets", None)
            if getattr(spider, "recrawl", False) and targets is not None:
                targets.extend(recrawl_targets(session, source_id))
        logger.info("%s: %d article URLs already settled by earlier runs", spider.name, len(spider.known))
