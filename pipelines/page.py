"""The per-article stages without a crawl or a database: what a crawl would make of one page.

Used by `pairchive extract`, the benchmarks and the evaluation harness; nothing is dropped for relevance here.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from crawler.vocabulary.charset import decode_page
from crawler.vocabulary.items import PageItem
from pipelines import clean, extract, pairings, relevance
from pipelines.clean import CleanPipeline
from pipelines.dedup import identify
from pipelines.extract import ExtractPipeline
from pipelines.language import LanguagePipeline
from pipelines.relevance import Relevance, judge

# The keys of `extraction_record`, in order. Tools and the evaluation read them: keep them stable.
RECORD_KEYS = (
    "url",
    "title",
    "text",
    "published",
    "author",
    "source_name",
    "language",
    "charset",
    "relevance",
    "content_hash",
    "search_text",
    "removed",
)


def stage_versions() -> dict[str, str]:
    """The versions of the per-article stages that make a stored text and its judgement."""
    return {
        "extract": extract.VERSION,
        "clean": clean.VERSION,
        "relevance": relevance.VERSION,
        "facts": pairings.VERSION,
    }


def process_page(item: PageItem) -> PageItem:
    """Extract, clean, detect language, judge relevance and compute identities; DropItem for no text."""
    item, _ = judged_page(item)
    identify(item)
    return item


def judged_page(item: PageItem) -> tuple[PageItem, Relevance]:
    """Extract, clean, detect language and judge relevance, without the identities (a crawl computes them
    only for pages the gate keeps); the item and the judgement, whose explanation the item does not keep."""
    item = LanguagePipeline().process(CleanPipeline().process(ExtractPipeline().process(item)))
    found = judge(item)
    return pairings.PairingsPipeline().process(item), found


def page_item(
    body: bytes,
    url: str,
    *,
    content_type: str | None = None,
    charset: str | None = None,
    timezone: str = "Asia/Shanghai",
    source: str = "-",
) -> PageItem:
    """A PageItem for saved bytes, decoded as a crawl decodes them (the bytes decide; `charset` overrides)."""
    decoded = decode_page(body, content_type, charset)
    return PageItem(
        url=url,
        source=source,
        html=decoded.text,
        http_status=200,
        charset=decoded.charset,
        fetched_at=datetime.now(UTC),
        timezone=timezone,
    )


def extraction_record(item: PageItem) -> dict[str, Any]:
    """What would be stored for a processed page, as plain JSON-ready values (keys: RECORD_KEYS)."""
    record = {
        "url": item.url,
        "title": item.title,
        "text": item.text,
        "published": item.published.isoformat() if item.published else None,
        "author": item.author,
        "source_name": item.source_name,
        "language": item.language,
        "charset": item.charset,
        "relevance": {"score": item.relevance, "is_pairing": item.is_pairing, "terms": item.relevance_terms},
        "content_hash": item.content_hash,
        "search_text": item.search_text,
        "removed": item.removed,
    }
    assert tuple(record) == RECORD_KEYS
    return record
