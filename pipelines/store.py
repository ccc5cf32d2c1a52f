"""Store stage: write the article row. A commit per article, so a crash loses at most the page in hand."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy.exc import IntegrityError

from crawler.vocabulary.items import PageItem
from crawler.vocabulary.reasons import Reason, Rejected
from pipelines import DatabaseStage
from pipelines.page import stage_versions
from pipelines.pairings import VERSION as FACTS_VERSION
from storage.archive import add_revision, insert_article, touch_sighting
from storage.normalize import search_form
from storage.pairings import record_facts

logger = logging.getLogger(__name__)


def article_values(item: PageItem) -> dict[str, Any]:
    """The article row (and revision) a processed page makes, with the versions of the stages that made it."""
    return {
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
        "search_text": item.search_text or search_form(item.text),
        "relevance": item.relevance,
        "is_pairing": item.is_pairing,
        "relevance_terms": item.relevance_terms,
        "content_hash": item.content_hash,
        "charset": item.charset,
        "http_status": item.http_status,
        "first_seen": item.fetched_at,
        "capture_id": item.capture_id,
        "stage_versions": stage_versions(),
    }


class StorePipeline(DatabaseStage):
    def process(self, item: PageItem) -> PageItem:
        if item.source_id is None:
            raise RuntimeError(
                f"item from {item.url} has no source id: crawl it through crawler.process.worker"
            )
        values = article_values(item)
        if item.recrawl_of is not None:
            return self._revise(item, item.recrawl_of, values)
        with self.database.sessions.begin() as session:
            article_id = insert_article(session, values, keys=item.minhash_keys, near=item.near)
            if article_id is not None:
                record_facts(session, article_id, item.facts, FACTS_VERSION)
        if article_id is None:
            raise Rejected(Reason.DUPLICATE, f"stored meanwhile by another crawl: {item.url}")
        if item.near:
            story, similarity = item.near[0]
            logger.info(
                "stored article %d from %s in story %d (a near copy, similarity %.2f)",
                article_id,
                item.url,
                story,
                similarity,
            )
        else:
            logger.info("stored article %d from %s", article_id, item.url)
        return item

    def _revise(self, item: PageItem, article_id: int, values: dict[str, Any]) -> PageItem:
        try:
            with self.database.sessions.begin() as session:
                touch_sighting(session, item.canonical_url, item.fetched_at)
                revision = add_revision(session, article_id, values, item.minhash_keys)
                if revision is not None:  # the new text's facts replace the old text's
                    record_facts(session, article_id, item.facts, FACTS_VERSION)
        except IntegrityError:
            raise Rejected(
                Reason.DUPLICATE, f"new text of article {article_id} is another stored story's"
            ) from None
        if revision is None:
            raise Rejected(Reason.UNCHANGED, f"article {article_id}: same text as its newest revision")
        item.outcome = "revised"
        logger.info("article %d: revision %d from %s", article_id, revision, item.url)
        return item
