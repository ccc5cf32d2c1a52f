"""Extraction health, counted where it happens: a Scrapy extension that sees every article page as the
stages leave it (stored, revised, or dropped with its reason) and keeps the few numbers of its health.

The run recorder (crawler.process.runrecord) asks it for the run's health when the run ends, and writes it
with the run's end, judged against the source's history (storage.health). Per page it costs a few
comparisons and one pass of the cleaning rules' line patterns over the cleaned text.
"""

from __future__ import annotations

from typing import Any

from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.http import Response
from scrapy.spiders import Spider

from crawler.vocabulary.items import PageItem
from crawler.vocabulary.reasons import Reason, Rejected
from pipelines.clean import carries_boilerplate
from storage.health import health_of

# The drops of a page the stages read whole: a rejection for any other reason (a failed stage) says
# nothing of how the portal's pages extract.
READ_PAGES = frozenset({Reason.NO_TEXT, Reason.NOT_PAIRING, Reason.DUPLICATE, Reason.UNCHANGED})


class PageHealth:
    """Counts of a run's article pages: with text, dated, credited, through the gate, duplicates."""

    def __init__(self) -> None:
        self.pages = 0
        self.no_text = 0
        self.lengths: list[int] = []
        self.dated = 0
        self.credited = 0
        self.gate = 0
        self.boilerplate = 0
        self.duplicate = 0

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> PageHealth:
        ext = cls()
        crawler.signals.connect(ext.item_scraped, signal=signals.item_scraped)
        crawler.signals.connect(ext.item_dropped, signal=signals.item_dropped)
        return ext

    def item_scraped(self, item: Any, response: Response, spider: Spider) -> None:
        if isinstance(item, PageItem):
            self.count(item, None)

    def item_dropped(self, item: Any, response: Response, exception: BaseException, spider: Spider) -> None:
        if isinstance(item, PageItem) and isinstance(exception, Rejected) and exception.reason in READ_PAGES:
            self.count(item, exception.reason)

    def count(self, item: PageItem, dropped: Reason | None) -> None:
        """One article page as the stages left it (`dropped`: the reason it was not stored)."""
        self.pages += 1
        if dropped == Reason.NO_TEXT or not item.text:
            self.no_text += 1
            return
        self.lengths.append(len(item.text))
        self.dated += item.published is not None
        self.credited += bool(item.author or item.source_name)
        self.gate += item.is_pairing
        self.boilerplate += carries_boilerplate(item.text)
        self.duplicate += dropped == Reason.DUPLICATE

    def counts(self) -> dict[str, Any]:
        """The raw counts, which add up over the workers of a distributed run (lengths concatenated)."""
        return {
            "pages": self.pages,
            "no_text": self.no_text,
            "lengths": list(self.lengths),
            "dated": self.dated,
            "credited": self.credited,
            "gate": self.gate,
            "boilerplate": self.boilerplate,
            "duplicate": self.duplicate,
        }

    def health(self) -> dict[str, Any]:
        return health_of(**self.counts())


def _page_health(crawler: Crawler) -> PageHealth | None:
    extensions = crawler.extensions.middlewares if crawler.extensions is not None else ()
    return next((ext for ext in extensions if isinstance(ext, PageHealth)), None)


def health_of_crawl(crawler: Crawler) -> dict[str, Any] | None:
    """The health its PageHealth extension counted, or None when the extension is off."""
    found = _page_health(crawler)
    return found.health() if found is not None else None


def health_counts_of_crawl(crawler: Crawler) -> dict[str, Any] | None:
    """The raw counts its PageHealth extension kept (a worker's part of a distributed run), or None."""
    found = _page_health(crawler)
    return found.counts() if found is not None else None
