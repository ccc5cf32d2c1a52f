"""The per-article stages without a crawl or a database: what a crawl would make of one page.

Used by benchmarks and tools that look at single pages; nothing is dropped for relevance here.
"""

from __future__ import annotations

from crawler.items import PageItem
from pipelines.clean import CleanPipeline
from pipelines.dedup import identify
from pipelines.extract import ExtractPipeline
from pipelines.language import LanguagePipeline
from pipelines.relevance import judge


def process_page(item: PageItem) -> PageItem:
    """Extract, clean, detect language, judge relevance and compute identities; DropItem for no text."""
    item = LanguagePipeline().process(CleanPipeline().process(ExtractPipeline().process(item)))
    judge(item)
    return identify(item)
