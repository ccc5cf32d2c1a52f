"""Dedup stage: one story, however many copies of it the portals carry.

- **The same page**: canonical URLs (crawler.vocabulary.urls: tracking parameters, fragments, `index.html`, trailing
  slashes, a source's host names for one site) and the page's `<link rel="canonical">` when it stays on the
  site. A page already stored is not stored again.
- **An exact copy**: the SHA-256 of the folded search form (simplified script, case, width, whitespace and
  punctuation folded; trailers already cut) matches a stored article. The copy is not stored again: its URL
  becomes a sighting of that article's story, and the page is counted as a duplicate.
- **A near copy** (a re-post cut short, with other credits, or paragraphs reordered): candidates come from
  the MinHash band index (pipelines.minhash), and a candidate is a copy when the shorter text's shingles are
  found in the longer one at `NEAR_COPY_THRESHOLD` (default 0.8) or more, and the two share at least
  `NEAR_COPY_MIN_JACCARD` (default 0.5) of all their shingles: a re-post cut by a third joins its story, a
  round-up page quoting two stories in full does not join (or merge) either. A near copy is stored (its text
  differs) in the story of the text it copies; if it copies several stories, the store stage merges them.
"""

from __future__ import annotations

import hashlib
import logging
from urllib.parse import urljoin, urlsplit

from scrapy.crawler import Crawler

from crawler.vocabulary.items import PageItem
from crawler.vocabulary.reasons import Reason, Rejected
from crawler.vocabulary.urls import canonical_url
from pipelines import DatabaseStage
from pipelines.minhash import band_keys, jaccard, shingles, signature, similarity
from storage.archive import find_duplicate, near_candidates, record_sighting
from storage.normalize import folded

logger = logging.getLogger(__name__)

DEFAULT_NEAR_COPY_THRESHOLD = 0.8
DEFAULT_NEAR_COPY_MIN_JACCARD = 0.5


def content_hash(text: str) -> str:
    """SHA-256 of the folded text (storage.normalize.folded): equal for copies that differ only in
    script, width, case, spacing or punctuation."""
    return hashlib.sha256(folded(text).encode("utf-8")).hexdigest()


def page_url(item: PageItem) -> str:
    """The canonical URL of the page: its `<link rel="canonical">` when that names a page on the same
    host (or one of the source's host names), else the fetched URL's."""
    if item.link_canonical:
        link = urljoin(item.url, item.link_canonical)
        here = (urlsplit(item.url).hostname or "").lower()
        there = (urlsplit(link).hostname or "").lower()
        if urlsplit(link).scheme in ("http", "https") and (there == here or there in item.same_hosts):
            return canonical_url(link, item.same_hosts)
    return canonical_url(item.url, item.same_hosts)


def identify(item: PageItem) -> set[str]:
    """Fill in the identities dedup compares: canonical URL, content hash and near-copy band keys.
    Returns the text's shingles, for verifying near-copy candidates."""
    item.canonical_url = page_url(item)
    item.content_hash = content_hash(item.text)
    grams = shingles(item.search_text or item.text)
    item.minhash_keys = band_keys(signature(grams)) if grams else []
    return grams


def near_copies(
    grams: set[str],
    candidates: list[tuple[int, int, str]],
    threshold: float = DEFAULT_NEAR_COPY_THRESHOLD,
    min_jaccard: float = DEFAULT_NEAR_COPY_MIN_JACCARD,
) -> list[tuple[int, float]]:
    """(story id, similarity) of the candidates (article id, story id, search text) the text with shingles
    `grams` is a near copy of, by story id."""
    best: dict[int, float] = {}
    for _, story_id, text in candidates:
        other = shingles(text)
        score = similarity(grams, other)
        if score >= threshold and jaccard(grams, other) >= min_jaccard:
            best[story_id] = max(best.get(story_id, 0.0), round(score, 4))
    return sorted(best.items(), key=lambda pair: (pair[0], -pair[1]))


class DedupPipeline(DatabaseStage):
    def __init__(self, crawler: Crawler | None = None) -> None:
        super().__init__(crawler)
        self.seen_urls: set[str] = set()
        assert crawler is not None
        self.threshold = crawler.settings.getfloat("NEAR_COPY_THRESHOLD", DEFAULT_NEAR_COPY_THRESHOLD)
        self.min_jaccard = crawler.settings.getfloat("NEAR_COPY_MIN_JACCARD", DEFAULT_NEAR_COPY_MIN_JACCARD)
        for name, value in (
            ("NEAR_COPY_THRESHOLD", self.threshold),
            ("NEAR_COPY_MIN_JACCARD", self.min_jaccard),
        ):
            if not 0.0 < value <= 1.0:
                raise ValueError(f"{name} must be in (0, 1], not {value}")

    def process(self, item: PageItem) -> PageItem:
        grams = identify(item)
        if item.recrawl_of is not None:
            return item  # a re-fetch of a stored article: the store stage compares it with its revisions
        if item.canonical_url in self.seen_urls:
            raise Rejected(Reason.DUPLICATE, f"already seen in this run: {item.url}")
        copy_of = None
        with self.database.sessions.begin() as session:
            existing = find_duplicate(session, item.canonical_url, item.content_hash)
            if existing is not None:
                copy_of = (existing.id, existing.story_id, existing.url)
                if existing.url != item.canonical_url and item.source_id is not None:
                    record_sighting(
                        session,
                        story_id=existing.story_id,
                        article_id=existing.id,
                        source_id=item.source_id,
                        url=item.canonical_url,
                        fetched_url=item.url,
                        seen_at=item.fetched_at,
                        run_id=item.run_id,
                        copy=True,
                    )
                candidates = []
            else:
                candidates = near_candidates(session, item.minhash_keys)
        if copy_of is not None:
            article_id, story_id, url = copy_of
            same = "URL" if url == item.canonical_url else "text"
            raise Rejected(Reason.DUPLICATE, f"same {same} as article {article_id} (story {story_id}, {url})")
        if candidates:
            item.near = near_copies(grams, candidates, self.threshold, self.min_jaccard)
        self.seen_urls.add(item.canonical_url)
        return item
