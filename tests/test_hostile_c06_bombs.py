"""Class 6 of the hostile web (tests.hostile.c06_bombs): feed and sitemap bombs are refused with their
reason, recorded and counted in the run, within bounded memory and time; nothing they name is fetched."""

from __future__ import annotations

import io
import tracemalloc
from typing import Any

import pytest
import sqlalchemy as sa

from crawler.process.runrecord import normal_url
from crawler.runner.crawl import crawl as run_crawl
from crawler.vocabulary.config import AppConfig
from crawler.vocabulary.sources import parse_sources
from spiders.discovery import MAX_UNZIPPED, Unreadable, read_feed, read_sitemap
from storage.db import close_all, open_for_writing
from storage.models import Rejection
from tests.crawls import LOOPBACK_SETTINGS
from tests.hostile import HostileWeb
from tests.hostile.c06_bombs import REFUSED, UNPACKED, _laughs, gzip_bomb


def _crawl(hostile: HostileWeb, db_url: str) -> dict[str, Any]:
    kinds: dict[str, list[str]] = {"feeds": [], "sitemaps": []}
    for path, (kind, _) in REFUSED.items():
        kinds[kind].append(hostile.url(6, path))
    (source,) = parse_sources(
        '[[source]]\nname = "bombs"\n'
        + "".join(f"{kind} = {urls!r}\n".replace("'", '"') for kind, urls in kinds.items())
        + 'article_pattern = "/c06/a/"\n'
    )
    log = io.StringIO()  # the crawl's log: warnings, never a traceback
    (run,) = run_crawl(
        AppConfig(db_url=db_url), [source], settings={**LOOPBACK_SETTINGS, "RETRY_TIMES": 0}, log_sink=log
    )
    sessions = open_for_writing(db_url).sessions
    with sessions() as s:
        found = {
            "status": run.status,
            "error": run.error,
            "log": log.getvalue(),
            "counts": dict(run.counts or {}),
            "rejections": {r.url: (r.reason, r.detail) for r in s.scalars(sa.select(Rejection))},
        }
    close_all()
    return found


def test_feed_and_sitemap_bombs_are_refused_with_their_reason_in_the_runs_record(
    hostile: HostileWeb, db_url: str
) -> None:
    found = _crawl(hostile, db_url)
    assert "Traceback" not in found["log"] and " ERROR " not in found["log"], found["log"][-3000:]
    assert {url: reason for url, (reason, _) in found["rejections"].items()} == {
        hostile.url(6, path): reason for path, (_, reason) in REFUSED.items()
    }
    assert found["counts"]["xml_entities"] == 2 and found["counts"]["too_large"] == 2
    assert found["counts"].get("stored", 0) == 0
    laughs = found["rejections"][hostile.url(6, "laughs.xml")][1]
    assert laughs.startswith("feed: declares 10 XML entities") and "none is expanded" in laughs
    assert found["rejections"][hostile.url(6, "xxe.xml")][1] == (
        "sitemap: declares an XML entity (home); none is expanded"
    )
    assert (
        "unpacks to more than the cap of 52428800 bytes"
        in found["rejections"][hostile.url(6, "bomb.xml.gz")][1]
    )
    assert "unpacked than the download cap" in found["rejections"][hostile.url(6, "encoded.xml")][1]
    assert not [path for path in hostile.asked if path.startswith("/c06/a/")]
    # The run's own record says so: nothing could be read from where the portal starts.
    assert found["status"] == "failed", found["error"]
    assert found["error"].startswith("every entry point was refused: ")
    assert f"(and {len(REFUSED) - 1} more)" in found["error"]


def test_a_gzip_bomb_is_refused_after_unpacking_at_most_about_its_cap() -> None:
    bomb = gzip_bomb()
    tracemalloc.start()
    try:
        with pytest.raises(Unreadable) as refused:
            read_sitemap(bomb)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert refused.value.reason == "too_large"
    assert peak < 2.5 * MAX_UNZIPPED < UNPACKED


def test_entities_are_refused_before_any_is_expanded() -> None:
    with pytest.raises(Unreadable) as refused:
        read_feed(_laughs("rss", "<rss><channel><item><link>&lol9;</link></item></channel></rss>"))
    assert refused.value.reason == "xml_entities"


def test_a_doctype_without_entities_is_read_as_before() -> None:
    rss091 = (
        b'<?xml version="1.0"?><!DOCTYPE rss PUBLIC "-//Netscape Communications//DTD RSS 0.91//EN" '
        b'"http://my.netscape.com/publish/formats/rss-0.91.dtd"><rss version="0.91"><channel>'
        b"<item><link>http://a.example/1.html</link></item></channel></rss>"
    )
    assert [e.url for e in read_feed(rss091).entries] == ["http://a.example/1.html"]


def test_sources_check_says_each_bomb_is_refused_and_why(hostile: HostileWeb) -> None:
    from crawler.runner.check import check_source

    (source,) = parse_sources(
        f'[[source]]\nname = "bombs"\nfeeds = ["{hostile.url(6, "laughs.xml")}"]\n'
        f'sitemaps = ["{hostile.url(6, "xxe.xml")}", "{hostile.url(6, "bomb.xml.gz")}"]\n'
        'article_pattern = "/c06/a/"\n'
    )
    report = check_source(source, "pairchive-test")
    assert [ep.error.split(":")[0] if ep.error else None for ep in report.entry_points] == [
        "refused, xml_entities",
        "refused, xml_entities",
        "refused, too_large",
    ]


@pytest.mark.parametrize(
    ("written", "requested"),
    [
        ("http://LOCALHOST:8080/feed.xml", "http://localhost:8080/feed.xml"),
        ("http://localhost:8080", "http://localhost:8080/"),
        ("http://例子.cn/新闻 a.xml", "http://xn--fsqu00a.cn/%E6%96%B0%E9%97%BB%20a.xml"),
        ("http://h/sitemap.xml#top", "http://h/sitemap.xml"),
    ],
)
def test_an_entry_point_is_known_however_the_sources_file_spells_it(written: str, requested: str) -> None:
    assert normal_url(written) == normal_url(requested)
    assert normal_url("http://h/Feed.xml") != normal_url("http://h/feed.xml")  # a path keeps its case
