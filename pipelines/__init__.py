"""What happens to one fetched page, one module per stage:
extract -> clean -> language -> relevance -> dedup -> store.

Expected rejections raise `DropItem` whose message starts with a short reason word (see `rejected`).
"""

from __future__ import annotations

from typing import Any, Self

from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem

from storage.db import open_database


def rejected(reason: str, detail: str = "") -> DropItem:
    """A DropItem whose message is `reason: detail`, the form the run recorder counts by."""
    return DropItem(f"{reason}: {detail}" if detail else reason)


def reason_of(exc: BaseException) -> tuple[str, str]:
    """Split a DropItem message back into (reason word, detail)."""
    reason, _, detail = str(exc).partition(": ")
    return (reason if reason.replace("_", "").isalnum() else "dropped"), detail


class Stage:
    """A Scrapy item pipeline wrapping one stage; `process_item` is the stage's `process`."""

    def __init__(self, crawler: Crawler | None = None) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler)

    def process_item(self, item: Any) -> Any:
        return self.process(item)

    def process(self, item: Any) -> Any:
        raise NotImplementedError


class DatabaseStage(Stage):
    """A stage that reads or writes the archive named by the crawl's PAIRCHIVE_DB setting."""

    def __init__(self, crawler: Crawler | None = None) -> None:
        super().__init__(crawler)
        if crawler is None:
            raise ValueError(f"{type(self).__name__} needs a crawler (for PAIRCHIVE_DB)")
        self.db_url: str = crawler.settings["PAIRCHIVE_DB"]

    def open_spider(self) -> None:
        open_database(self.db_url)  # fail at the start of the crawl, not at its first article
