"""What the spider and the crawl's Scrapy components say to each other about one page request."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

ARTICLE_META = "pairchive_article"  # set on article requests by the spider
CAPTURE_META = "pairchive_capture"  # the captures row id, set by the raw-capture middleware
# An article's canonical URL, set by the spider: a distributed run's shared duplicate filter fetches a page
# once across its workers however each one met its link (crawler.process.frontier).
CANONICAL_META = "pairchive_canonical"


@dataclass(frozen=True)
class KnownPage:
    """An article URL an earlier run settled: the stored article's id (None if rejected for good), and
    when it was last fetched. A feed or sitemap date after that means the page changed."""

    article_id: int | None
    fetched_at: datetime
