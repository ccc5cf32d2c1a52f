"""Discovery beyond listing pages: feeds and sitemaps, parsed, and crawled end to end on the sample web."""

from __future__ import annotations

import gzip
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from crawler.sampleweb import PORTALS, SampleWeb, load_stories
from spiders.discovery import Caps, Entry, Unreadable, feed_entries, read_sitemap, sitemap_entries
from storage.db import close_all, open_for_writing
from storage.models import Article, CrawlRun
from tests.crawls import LOOPBACK

STORIES = load_stories()

RSS_GB2312_WITH_GBK_CHARS = """<?xml version="1.0" encoding="gb2312"?>
<rss version="2.0"><channel><title>临夏</title>
<item><title>马珺报道</title><link>http://a.example/jy/1.htm</link><pubDate>Wed, 18 May 2022 16:20:00 +0800</pubDate></item>
<item><title>喆</title><guid>http://a.example/jy/2.htm</guid></item>
</channel></rss>""".encode("gbk")

ATOM = b"""<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">
<entry><link rel="self" href="http://a.example/self"/><link href="http://a.example/a/1"/>
<updated>2022-06-16T09:00:00+08:00</updated></entry></feed>"""

NEWS_SITEMAP = b"""<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">
<url><loc>http://a.example/n/1.html</loc><news:news><news:publication_date>2022-06-16</news:publication_date></news:news></url>
<url><loc>http://a.example/n/2.html</loc><lastmod>2022-06-17T10:00:00Z</lastmod></url>
</urlset>"""

INDEX = b"""<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
<sitemap><loc>http://a.example/s1.xml.gz</loc><lastmod>2022-06-01</lastmod></sitemap></sitemapindex>"""


def test_an_rss_feed_declaring_gb2312_with_gbk_characters_yields_every_item() -> None:
    entries = feed_entries(RSS_GB2312_WITH_GBK_CHARS)
    assert [e.url for e in entries] == ["http://a.example/jy/1.htm", "http://a.example/jy/2.htm"]
    assert entries[0].date is not None and entries[0].date.isoformat() == "2022-05-18T16:20:00+08:00"


def test_an_atom_feed_yields_alternate_links_with_dates() -> None:
    (entry,) = feed_entries(ATOM)
    assert entry.url == "http://a.example/a/1" and entry.date is not None


@pytest.mark.parametrize("gzipped", [False, True], ids=["plain", "gzip"])
def test_a_news_sitemap_yields_urls_with_publication_dates(gzipped: bool) -> None:
    kind, entries = sitemap_entries(gzip.compress(NEWS_SITEMAP) if gzipped else NEWS_SITEMAP)
    assert kind == "urlset"
    assert [(e.url, e.date.date().isoformat() if e.date else None) for e in entries] == [
        ("http://a.example/n/1.html", "2022-06-16"),
        ("http://a.example/n/2.html", "2022-06-17"),
    ]


def test_a_sitemap_index_yields_its_child_sitemaps() -> None:
    assert sitemap_entries(INDEX)[0] == "index"
    assert [e.url for e in sitemap_entries(INDEX)[1]] == ["http://a.example/s1.xml.gz"]


@pytest.mark.parametrize(
    "read, body, detail",
    [
        (feed_entries, b"<html>not a feed", "not an RSS or Atom feed: the document is <html>"),
        (feed_entries, b"", "not XML"),
        (sitemap_entries, b"\x1f\x8bnot gzip", "gzip data is corrupt"),
        (sitemap_entries, gzip.compress(NEWS_SITEMAP)[:40], "gzip data ends early"),
        (sitemap_entries, b"<rss><channel/></rss>", "not a sitemap: the document is <rss>"),
        (sitemap_entries, b"just words", "neither XML nor a list of URLs"),
    ],
)
def test_garbage_is_refused_as_unparsable_not_read_as_empty(read: Any, body: bytes, detail: str) -> None:
    with pytest.raises(Unreadable) as refused:
        read(body)
    assert refused.value.reason == "unparsable" and refused.value.detail.startswith(detail)


def test_an_empty_feed_is_read_as_empty() -> None:
    assert feed_entries(b'<rss version="2.0"><channel><title>t</title></channel></rss>') == []


def test_a_text_sitemap_gives_one_url_a_line() -> None:
    assert sitemap_entries(b"http://a.example/1.html\r\n\nhttps://a.example/2.html\n") == (
        "urlset",
        [Entry("http://a.example/1.html"), Entry("https://a.example/2.html")],
    )


def test_a_sitemap_of_several_gzip_members_is_read_whole() -> None:
    body = gzip.compress(NEWS_SITEMAP[:200]) + gzip.compress(NEWS_SITEMAP[200:])
    assert [e.url for e in sitemap_entries(body)[1]] == [
        "http://a.example/n/1.html",
        "http://a.example/n/2.html",
    ]


def test_entries_past_the_cap_are_not_read_and_the_file_says_so() -> None:
    found = read_sitemap(NEWS_SITEMAP, Caps(max_entries=1))
    assert [e.url for e in found.entries] == ["http://a.example/n/1.html"] and found.truncated
    assert not read_sitemap(NEWS_SITEMAP, Caps(max_entries=2)).truncated


def test_a_file_over_the_byte_cap_is_refused_as_too_large_plain_or_gzipped() -> None:
    for body in (NEWS_SITEMAP, gzip.compress(NEWS_SITEMAP)):
        with pytest.raises(Unreadable) as refused:
            read_sitemap(body, Caps(max_bytes=100))
        assert refused.value.reason == "too_large"


def _crawl_only(sample_web: SampleWeb, tmp_path: Path, portal_name: str, key: str, path: str) -> list[str]:
    portal = next(p for p in PORTALS if p.name == portal_name)
    base = sample_web.base_urls[portal_name]
    pattern = {
        "linxia-news": r"/jy/\d{6}/\d+\.htm$",
        "fj-observer": r"/education/\d{4}/\d{2}/\d{2}/[a-z0-9-]+/$",
        "china-regional-en": r"/n1/\d{4}/\d{4}/c\d+-\d+\.html$",
    }[portal.name]
    sources = tmp_path / "sources.toml"
    sources.write_text(
        f'[[source]]\nname = "{portal.name}"\n{key} = ["{base}{path}"]\narticle_pattern = \'{pattern}\'\n',
        encoding="utf-8",
    )
    db = f"sqlite:///{tmp_path / 'a.db'}"
    result = subprocess.run(
        [sys.executable, "-m", "crawler", "crawl", "--sources", str(sources), "--db", db, *LOOPBACK],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    sessions = open_for_writing(db).sessions
    with sessions() as s:
        titles = list(s.scalars(sa.select(Article.title)).all())
        (run,) = s.scalars(sa.select(CrawlRun)).all()
        assert run.status == "ok" and run.counts["fetched"] >= len(titles)
    close_all()
    return titles


def _expected(portal_name: str) -> list[str]:
    portal = next(p for p in PORTALS if p.name == portal_name)
    return sorted(STORIES[slug].title for slug in portal.stories if STORIES[slug].pairing)


def test_a_portal_crawled_from_its_rss_feed_alone(sample_web: SampleWeb, tmp_path: Path) -> None:
    assert sorted(_crawl_only(sample_web, tmp_path, "linxia-news", "feeds", "/jy/rss.xml")) == _expected(
        "linxia-news"
    )


def test_a_portal_crawled_from_its_atom_feed_alone(sample_web: SampleWeb, tmp_path: Path) -> None:
    titles = _crawl_only(sample_web, tmp_path, "fj-observer", "feeds", "/education/feed.atom")
    assert sorted(titles) == _expected("fj-observer")


def test_a_portal_crawled_from_its_sitemap_index_alone(sample_web: SampleWeb, tmp_path: Path) -> None:
    titles = _crawl_only(sample_web, tmp_path, "china-regional-en", "sitemaps", "/sitemap_index.xml")
    assert sorted(titles) == _expected("china-regional-en")


def _feed_crawl(sample_web: SampleWeb, tmp_path: Path) -> tuple[list[str], str]:
    """Crawl fj-observer from its Atom feed alone, once; the command (to run again) and the database URL."""
    base = sample_web.base_urls["fj-observer"]
    sources = tmp_path / "sources.toml"
    sources.write_text(
        f'[[source]]\nname = "fj-observer"\nfeeds = ["{base}/education/feed.atom"]\n'
        "article_pattern = '/education/\\d{4}/\\d{2}/\\d{2}/[a-z0-9-]+/$'\n",
        encoding="utf-8",
    )
    db = f"sqlite:///{tmp_path / 'a.db'}"
    args = [sys.executable, "-m", "crawler", "crawl", "--sources", str(sources), "--db", db, *LOOPBACK]
    assert subprocess.run(args, capture_output=True, timeout=300, check=False).returncode == 0
    return args, db


def test_a_feed_date_newer_than_the_last_fetch_brings_a_changed_story_back_as_a_revision(
    sample_web: SampleWeb, tmp_path: Path
) -> None:
    from storage.models import ArticleRevision

    portal = next(p for p in PORTALS if p.name == "fj-observer")
    args, db = _feed_crawl(sample_web, tmp_path)
    slug = "suining-lixian-school-union"
    story = STORIES[slug]
    path = portal.article_path(story, portal.stories.index(slug))
    feed_date = f"<published>{story.published.isoformat()}</published>"
    with (
        sample_web.edited(
            portal.name,
            "/education/feed.atom",
            lambda xml: xml.replace(feed_date, f"<published>{datetime.now(UTC).isoformat()}</published>"),
        ),
        sample_web.edited(
            portal.name,
            path,
            lambda html: html.replace("<p>Supply of", "<p>Update: two more schools joined.</p><p>Supply of"),
        ),
    ):
        second = subprocess.run(args, capture_output=True, text=True, timeout=300, check=False)
    assert second.returncode == 0, second.stderr[-2000:]
    sessions = open_for_writing(db).sessions
    with sessions() as s:
        run = s.scalars(sa.select(CrawlRun).order_by(CrawlRun.id.desc())).first()
        assert (
            run is not None and run.counts["revised"] == 1 and run.counts["fetched"] == 2
        )  # the feed, the story
        assert run.counts["known"] == len(portal.stories) - 1
        revisions = s.scalars(
            sa.select(ArticleRevision.text)
            .join(Article)
            .where(Article.title == story.title)
            .order_by(ArticleRevision.revision)
        ).all()
        assert len(revisions) == 2 and "Update: two more schools joined." in revisions[1]
    close_all()


def test_a_feed_date_in_the_future_does_not_bring_a_story_back(sample_web: SampleWeb, tmp_path: Path) -> None:
    portal = next(p for p in PORTALS if p.name == "fj-observer")
    args, db = _feed_crawl(sample_web, tmp_path)
    story = STORIES["suining-lixian-school-union"]
    feed_date = f"<published>{story.published.isoformat()}</published>"
    future = "<published>2099-01-01T00:00:00+08:00</published>"  # a CMS stamping entries oddly
    with sample_web.edited(portal.name, "/education/feed.atom", lambda xml: xml.replace(feed_date, future)):
        assert subprocess.run(args, capture_output=True, timeout=300, check=False).returncode == 0
    sessions = open_for_writing(db).sessions
    with sessions() as s:
        run = s.scalars(sa.select(CrawlRun).order_by(CrawlRun.id.desc())).first()
        assert run is not None and run.counts["fetched"] == 1 and run.counts["known"] == len(portal.stories)
    close_all()
