"""What happens to one fetched page, one module per stage:
extract -> clean -> language -> relevance -> dedup -> pairings (facts) -> store.

Expected rejections raise `Rejected` (crawler.vocabulary.reasons), a `DropItem` carrying its `Reason`.
"""

from __future__ import annotations

from typing import Any, Self

from scrapy.crawler import Crawler

from storage.db import Database, open_for_writing


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
    """A stage that reads or writes the archive named by the crawl's PAIRCHIVE_DB setting (a writer: the
    crawl's first opening of it brings its schema to the newest migration)."""

    def __init__(self, crawler: Crawler | None = None) -> None:
        super().__init__(crawler)
        if crawler is None:
            raise ValueError(f"{type(self).__name__} needs a crawler (for PAIRCHIVE_DB)")
        self.db_url: str = crawler.settings["PAIRCHIVE_DB"]
        self._database: Database | None = None

    def open_spider(self) -> None:
        # Fail at the start of the crawl, not at its first article.
        self._database = open_for_writing(self.db_url)

    @property
    def database(self) -> Database:
        """The archive, opened at the spider's start (or now, for a stage driven without a spider)."""
        if self._database is None:
            self._database = open_for_writing(self.db_url)
        return self._database
