"""Class 7 of the hostile web (tests.hostile.c07_large_sitemaps): feeds and sitemaps have their own caps,
the sitemap protocol's 50 MB and 50,000 URLs a file, not the 8 MB page cap: a 10 MB sitemap, its gzipped
copy and a 9 MB feed lead to their articles; a URL past the 50,000th is not followed and the file is
recorded `truncated`; a file over 50 MB is refused `too_large`, announced or streamed."""

from __future__ import annotations

import io
from typing import Any

import sqlalchemy as sa

from crawler.runner.crawl import crawl as run_crawl
from crawler.vocabulary.config import AppConfig
from crawler.vocabulary.sources import parse_sources
from storage.db import close_all, open_for_writing
from storage.models import Article, Rejection
from tests.crawls import LOOPBACK_SETTINGS
from tests.hostile import HostileWeb
from tests.hostile.c07_large_sitemaps import article_path

SITEMAPS = ["big.xml", "big.xml.gz", "count.xml", "over.xml", "streamed.xml"]


def _crawl(hostile: HostileWeb, db_url: str, **settings: Any) -> dict[str, Any]:
    sitemaps = ", ".join(f'"{hostile.url(7, path)}"' for path in SITEMAPS)
    (source,) = parse_sources(
        f'[[source]]\nname = "large"\nsitemaps = [{sitemaps}]\nfeeds = ["{hostile.url(7, "big-feed.xml")}"]\n'
        'article_pattern = "/c07/a/"\n'
    )
    log = io.StringIO()  # the crawl's log: warnings, never a traceback
    (run,) = run_crawl(
        AppConfig(db_url=db_url),
        [source],
        settings={**LOOPBACK_SETTINGS, "RETRY_TIMES": 0, **settings},
        log_sink=log,
    )
    sessions = open_for_writing(db_url).sessions
    with sessions() as s:
        found = {
            "status": run.status,
            "log": log.getvalue(),
            "counts": dict(run.counts or {}),
            "stored": {a.fetched_url for a in s.scalars(sa.select(Article))},
            "rejections": {r.url: (r.reason, r.detail) for r in s.scalars(sa.select(Rejection))},
        }
    close_all()
    return found


def test_sitemaps_and_feeds_within_the_protocols_caps_lead_to_their_articles_and_larger_ones_are_refused(
    hostile: HostileWeb, db_url: str
) -> None:
    found = _crawl(hostile, db_url)
    assert "Traceback" not in found["log"] and " ERROR " not in found["log"], found["log"][-3000:]
    assert found["status"] == "ok"
    assert found["stored"] == {
        hostile.url(7, article_path(name)) for name in ("big-1", "big-2", "gz-1", "count-1", "feed-1")
    }
    assert {url: reason for url, (reason, _) in found["rejections"].items()} == {
        hostile.url(7, "count.xml"): "truncated",
        hostile.url(7, "over.xml"): "too_large",
        hostile.url(7, "streamed.xml"): "too_large",
    }
    assert found["rejections"][hostile.url(7, "count.xml")][1] == (
        "sitemap: more than 50000 entries; the first 50000 read"
    )
    assert (
        found["rejections"][hostile.url(7, "over.xml")][1] == "larger than the download cap of 52428800 bytes"
    )
    assert hostile.url(7, article_path("count-past-cap")) not in found["stored"]
    assert found["counts"]["too_large"] == 2 and found["counts"]["truncated"] == 1


def test_sources_check_reads_a_sitemap_over_the_page_cap_whole(hostile: HostileWeb) -> None:
    from crawler.runner.check import check_source

    (source,) = parse_sources(
        f'[[source]]\nname = "large"\nsitemaps = ["{hostile.url(7, "big.xml")}", "{hostile.url(7, "over.xml")}"]\n'
        'article_pattern = "/c07/a/"\n'
    )
    big, over = check_source(source, "pairchive-test").entry_points
    assert big.error is None
    assert big.article_links == [hostile.url(7, article_path(name)) for name in ("big-1", "big-2")]
    assert over.error is not None and over.error.startswith("refused, too_large")
