"""Store stage: write the article row. A commit per article, so a crash loses at most the page in hand."""

from __future__ import annotations

import logging

from crawler.items import PageItem
from pipelines import DatabaseStage, rejected
from storage.archive import insert_article
from storage.db import open_database

logger = logging.getLogger(__name__)


class StorePipeline(DatabaseStage):
    def process(self, item: PageItem) -> PageItem:
        if item.source_id is None:
            raise RuntimeError(f"item from {item.url} has no source id: crawl it through crawler.worker")
        _, sessions = open_database(self.db_url)
        with sessions.begin() as session:
            article_id = insert_article(
                session,
                {
                    "source_id": item.source_id,
                    "run_id": item.run_id,
                    "url": item.canonical_url,
                    "fetched_url": item.url,
                    "title": item.title,
                    "published": item.published,
                    "author": item.author,
                    "source_name": item.source_name,
                    "language": item.language,
                    "text": item.text,
                    "relevance": item.relevance,
                    "is_pairing": item.is_pairing,
                    "relevance_terms": item.relevance_terms,
                    "content_hash": item.content_hash,
                    "charset": item.charset,
                    "http_status": item.http_status,
                    "first_seen": item.fetched_at,
                },
            )
        if article_id is None:
            raise rejected("duplicate", f"stored meanwhile by another crawl: {item.url}")
        logger.info("stored article %d from %s", article_id, item.url)
        return item
