"""Dedup stage: one story per canonical URL and per normalized text.

Copies are recognised by a hash of the text's search form (simplified script, widths folded) with case,
whitespace and punctuation removed, so the same story under different chrome, re-posted by another portal
or converted to traditional characters is stored once.
"""

from __future__ import annotations

import hashlib
import logging

from scrapy.crawler import Crawler

from crawler.items import PageItem
from crawler.urls import canonical_url
from pipelines import DatabaseStage, rejected
from pipelines.normalize import folded
from storage.archive import find_duplicate
from storage.db import open_database

logger = logging.getLogger(__name__)


def content_hash(text: str) -> str:
    """SHA-256 of the folded text (pipelines.normalize.folded): equal for copies that differ only in
    script, width, case, spacing or punctuation."""
    return hashlib.sha256(folded(text).encode("utf-8")).hexdigest()


def identify(item: PageItem) -> PageItem:
    """Fill in the identities dedup compares: canonical URL and content hash."""
    item.canonical_url = canonical_url(item.url, item.same_hosts)
    item.content_hash = content_hash(item.text)
    return item


class DedupPipeline(DatabaseStage):
    def __init__(self, crawler: Crawler | None = None) -> None:
        super().__init__(crawler)
        self.seen_urls: set[str] = set()
        self.seen_hashes: set[str] = set()

    def process(self, item: PageItem) -> PageItem:
        identify(item)
        if item.recrawl_of is not None:
            return item  # a re-fetch of a stored article: the store stage compares it with its revisions
        if item.canonical_url in self.seen_urls or item.content_hash in self.seen_hashes:
            raise rejected("duplicate", f"already seen in this run: {item.url}")
        _, sessions = open_database(self.db_url)
        with sessions() as session:
            existing = find_duplicate(session, item.canonical_url, item.content_hash)
            if existing is not None:
                same = "URL" if existing.url == item.canonical_url else "text"
                raise rejected("duplicate", f"same {same} as article {existing.id} ({existing.url})")
        self.seen_urls.add(item.canonical_url)
        self.seen_hashes.add(item.content_hash)
        return item
