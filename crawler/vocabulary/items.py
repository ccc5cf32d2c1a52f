"""The item that travels from the spider through the pipelines to storage."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass
class PageItem:
    """One fetched article page; each pipeline stage fills in its own fields."""

    # Set by the spider.
    url: str
    source: str
    html: str
    http_status: int
    charset: str | None
    fetched_at: datetime
    timezone: str = "Asia/Shanghai"
    region: str | None = None  # the portal's own region, as its source says (pipelines.pairings)
    same_hosts: tuple[
        str, ...
    ] = ()  # the source's host names for one site (crawler.vocabulary.urls.canonical_url)
    source_id: int | None = None
    run_id: int | None = None
    capture_id: int | None = None  # the page's raw capture (crawler.process.capture), if one was written
    recrawl_of: int | None = None  # the stored article this page is a re-fetch of (`crawl --recrawl`)
    outcome: str = "stored"  # what the store stage did: stored, revised

    # extract
    title: str = ""
    raw_text: str = ""
    published: datetime | None = None
    author: str | None = None
    source_name: str | None = None
    declared_language: str | None = None  # <html lang> or Content-Language, for texts too short to tell
    # clean
    text: str = ""
    removed: list[str] = field(default_factory=list)
    search_text: str = ""  # simplified script, widths and spaces folded (storage.normalize)
    # language
    language: str = ""
    # relevance
    relevance: float = 0.0
    is_pairing: bool = False
    relevance_terms: list[dict[str, Any]] = field(default_factory=list)
    # pairing facts (pipelines.pairings), for pairing stories: storage.pairings.FactRecord
    facts: list[Any] = field(default_factory=list)
    # dedup
    canonical_url: str = ""
    content_hash: str = ""
    link_canonical: str | None = None  # the page's <link rel="canonical">, used when it stays on the site
    minhash_keys: list[int] = field(default_factory=list)  # near-copy band keys (pipelines.minhash)
    near: list[tuple[int, float]] = field(default_factory=list)  # (story id, similarity) of near copies
