"""End to end: a real `pairchive crawl` subprocess against the sample web, into a temp SQLite file."""

from __future__ import annotations

import json
import re
import socket
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from crawler.sampleweb import PORTALS, SampleWeb, load_stories
from crawler.vocabulary.sources import KNOWN_KEYS
from pipelines.clean import strip_pinyin
from storage.db import close_all, open_for_writing
from storage.models import Article, CrawlRun, Rejection
from tests.cli import run_cli
from tests.crawls import LOOPBACK, QuietHandler, crawl, crawl_sample, demo_sources, pairchive, serve

STORIES = load_stories()
CST = timezone(timedelta(hours=8))


@pytest.fixture(scope="module")
def crawled(sample_web: SampleWeb, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    workdir = tmp_path_factory.mktemp("e2e")
    sources = demo_sources(sample_web, workdir)
    db = f"sqlite:///{workdir / 'archive.db'}"
    hits_before = {name: len(hits) for name, hits in sample_web.hits.items()}
    result = crawl(sources, db)
    hits = {name: sample_web.hits[name][hits_before[name] :] for name in hits_before}
    assert result.returncode == 0, result.stderr[-3000:]
    sessions = open_for_writing(db).sessions
    with sessions() as s:
        data = {
            "db": db,
            "sources": sources,
            "stdout": result.stdout,
            "hits": hits,  # what this crawl asked each portal for
            "articles": [
                {
                    "title": a.title,
                    "text": a.text,
                    "language": a.language,
                    "published": a.published,
                    "source": a.source.name,
                    "charset": a.charset,
                    "url": a.url,
                    "id": a.id,
                }
                for a in s.scalars(sa.select(Article))
            ],
            "rejections": [(r.reason, r.title, r.url, r.detail) for r in s.scalars(sa.select(Rejection))],
            "runs": [
                (r.source.name, r.status, dict(r.counts), r.exit_code) for r in s.scalars(sa.select(CrawlRun))
            ],
        }
    close_all()
    return data


def _first_paragraph(slug: str) -> str:
    return strip_pinyin(STORIES[slug].paragraphs[0])[:40]


def _stored(crawled: dict[str, Any], slug: str) -> list[dict[str, Any]]:
    return [a for a in crawled["articles"] if _first_paragraph(slug) in a["text"]]


@pytest.mark.parametrize("slug", sorted(s for s in STORIES if STORIES[s].pairing))
def test_every_pairing_story_is_stored_exactly_once(crawled: dict[str, Any], slug: str) -> None:
    assert len(_stored(crawled, slug)) == 1


@pytest.mark.parametrize("slug", sorted(s for s in STORIES if not STORIES[s].pairing))
def test_every_other_story_is_dropped_with_its_reason(crawled: dict[str, Any], slug: str) -> None:
    assert _stored(crawled, slug) == []
    reasons = [r for r in crawled["rejections"] if r[1] == STORIES[slug].title]
    assert [r[0] for r in reasons] == ["not_pairing"]
    assert re.match(r"score 0\.\d+ < 0\.5; for: .*; against: ", reasons[0][3])  # the gate explains itself


def test_the_syndicated_story_is_stored_once_and_its_copy_counted_as_duplicate(
    crawled: dict[str, Any],
) -> None:
    (slug,) = [s for s in STORIES if sum(s in p.stories for p in PORTALS) == 2]
    assert len(_stored(crawled, slug)) == 1
    duplicates = [r for r in crawled["rejections"] if r[0] == "duplicate"]
    assert len(duplicates) == 1 and "same text as article" in duplicates[0][3]


@pytest.mark.parametrize("slug", sorted(s for s in STORIES if STORIES[s].pairing))
def test_languages_and_dates_are_right(crawled: dict[str, Any], slug: str) -> None:
    (article,) = _stored(crawled, slug)
    story = STORIES[slug]
    assert article["language"] == story.lang
    assert article["published"] is not None
    assert article["published"].astimezone(CST).date() == story.published.date()


def test_the_gbk_page_is_stored_without_mojibake(crawled: dict[str, Any]) -> None:
    portal = next(p for p in PORTALS if p.encoding == "gbk")
    gbk_articles = [a for a in crawled["articles"] if a["source"] == portal.name]
    assert gbk_articles
    for article in gbk_articles:
        assert "\ufffd" not in article["text"] and "结对" in article["text"]
        assert article["charset"] in ("gbk", "gb18030")


def test_every_run_is_recorded_ok_with_counts(crawled: dict[str, Any]) -> None:
    runs = crawled["runs"]
    assert {r[0] for r in runs} == {p.name for p in PORTALS}
    for name, status, counts, exit_code in runs:
        assert (status, exit_code) == ("ok", 0), name
        assert counts["fetched"] > 0, (name, counts)
    total = sum(r[2].get("stored", 0) for r in runs)
    assert total == len(crawled["articles"]) == sum(s.pairing for s in STORIES.values())


def _trouble(kind: str) -> tuple[str, str]:
    ((portal, path),) = [(p.name, path) for p in PORTALS for k, path in p.trouble if k == kind]
    return portal, path


def test_a_missing_page_is_counted_failed_and_named_in_the_run(crawled: dict[str, Any]) -> None:
    portal, path = _trouble("missing")
    (run,) = [r for r in crawled["runs"] if r[0] == portal]
    assert run[2]["failed"] == 1
    assert [(r[0], r[3]) for r in crawled["rejections"] if r[2].endswith(path)] == [("failed", "HTTP 404")]


def test_a_broken_page_is_dropped_as_no_text(crawled: dict[str, Any]) -> None:
    _, path = _trouble("broken")
    assert [r[0] for r in crawled["rejections"] if r[2].endswith(path)] == ["no_text"]


def test_a_page_disallowed_by_robots_txt_is_never_requested(
    crawled: dict[str, Any], sample_web: SampleWeb
) -> None:
    portal, path = _trouble("robots")
    assert "/robots.txt" in crawled["hits"][portal]
    assert path not in crawled["hits"][portal]
    assert [r[0] for r in crawled["rejections"] if r[2].endswith(path)] == ["robots_disallowed"]


def test_links_off_the_allowed_domains_are_never_followed(crawled: dict[str, Any]) -> None:
    assert not [r for r in crawled["rejections"] if "mirror.invalid" in r[2]]
    assert sum(r[2]["failed"] for r in crawled["runs"]) == 1  # only the missing page


def test_the_crawl_prints_a_summary_table(crawled: dict[str, Any]) -> None:
    header = crawled["stdout"].splitlines()[0].split()
    assert header[:5] == ["run", "source", "status", "fetched", "stored"]


def test_search_show_and_export_read_what_was_stored(crawled: dict[str, Any]) -> None:
    db = crawled["db"]
    hits = [json.loads(line) for line in run_cli("search", "結對", "--json", "--db", db).stdout.splitlines()]
    # a traditional query finds the traditional story and the simplified ones alike
    assert hits and all("結對" in h["snippet"] or "结对" in h["snippet"] for h in hits)
    assert {h["language"] for h in hits} >= {"zh-Hant", "zh-Hans"}
    shown = run_cli("show", str(hits[0]["id"]), "--db", db)
    assert shown.returncode == 0 and hits[0]["url"] in shown.stdout
    exported = [
        json.loads(line) for line in run_cli("export", "--format", "jsonl", "--db", db).stdout.splitlines()
    ]
    assert len(exported) == len(crawled["articles"])
    required = {"id", "url", "source", "title", "published", "language", "relevance", "text"}
    assert all(required <= record.keys() for record in exported)


def test_recrawling_stores_nothing_new_and_loses_nothing(crawled: dict[str, Any]) -> None:
    result = crawl(crawled["sources"], crawled["db"], "--source", "huli-edu")
    assert result.returncode == 0, result.stderr[-2000:]
    sessions = open_for_writing(crawled["db"]).sessions
    with sessions() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(Article)) == len(crawled["articles"])
    close_all()


def test_a_dead_portal_is_a_failed_run_with_a_clear_error(tmp_path: Path) -> None:
    sources = tmp_path / "sources.toml"
    sources.write_text(
        '[[source]]\nname = "dead"\nstart_urls = ["http://127.0.0.1:9/edu/"]\narticle_pattern = "/edu/"\n',
        encoding="utf-8",
    )
    db = f"sqlite:///{tmp_path / 'a.db'}"
    result = crawl(sources, db, "-s", "RETRY_TIMES=0")
    assert result.returncode == 1
    assert "run 1 (dead) failed: no page could be fetched" in result.stderr
    assert "Connection" in result.stderr.splitlines()[-1]


def test_a_bad_sources_file_is_one_line_and_touches_no_database(tmp_path: Path) -> None:
    sources = tmp_path / "sources.toml"
    sources.write_text('[[source]]\nname = "x"\ncolour = 1\n', encoding="utf-8")
    result = run_cli("crawl", "--sources", str(sources), "--db", f"sqlite:///{tmp_path / 'a.db'}")
    assert result.returncode == 2  # a configuration error
    known = ", ".join(sorted(KNOWN_KEYS))
    assert result.stderr.strip().splitlines() == [
        f"Error: {sources}: source 'x': key 'colour': unknown key (known keys: {known})"
    ]
    assert not (tmp_path / "a.db").exists()


def test_max_pages_caps_what_one_run_fetches(sample_web: SampleWeb, tmp_path: Path) -> None:
    text = sample_web.sources_toml().replace('name = "fj-observer"', 'name = "fj-observer"\nmax_pages = 3')
    sources = tmp_path / "sources.toml"
    sources.write_text(text, encoding="utf-8")
    db = f"sqlite:///{tmp_path / 'a.db'}"
    result = crawl(sources, db, "--source", "fj-observer")
    assert result.returncode == 0, result.stderr[-2000:]
    sessions = open_for_writing(db).sessions
    with sessions() as s:
        (run,) = s.scalars(sa.select(CrawlRun)).all()
        assert run.status == "ok"
        assert run.counts["fetched"] == 3
    close_all()


def test_a_crawl_over_its_time_limit_is_stopped_and_its_run_recorded(tmp_path: Path) -> None:
    from crawler.runner.crawl import crawl
    from crawler.vocabulary.config import AppConfig
    from crawler.vocabulary.sources import parse_sources

    with socket.socket() as silent:  # accepts connections, never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        port = silent.getsockname()[1]
        (source,) = parse_sources(
            f'[[source]]\nname = "silent"\nstart_urls = ["http://127.0.0.1:{port}/edu/"]\narticle_pattern = "/a/"\n'
        )
        cfg = AppConfig(db_url=f"sqlite:///{tmp_path / 'a.db'}")
        # the stop waits for the request in flight: a short download timeout ends it (retried, so the
        # request is still in flight at the limit) instead of Scrapy's 30 seconds
        settings = {"ROBOTSTXT_OBEY": False, "DOWNLOAD_TIMEOUT": 4}
        (run,) = crawl(cfg, [source], settings=settings, log_sink=None, timeout=3)
    # asked to stop at the limit, the crawl closes its run itself; the parent records why it ended
    assert run.status == "timeout" and run.exit_code is not None
    assert run.finished_at is not None and (run.error or "").startswith("the time limit was reached")
    close_all()


def test_a_crawl_stores_the_same_stories_on_sqlite_and_postgresql(
    db_url: str, sample_web: SampleWeb, tmp_path: Path
) -> None:
    sources = demo_sources(sample_web, tmp_path)
    # the raw captures go to the test's own folder (for PostgreSQL the default is ./pairchive-data)
    data_dir = tmp_path / "data"
    result = crawl(
        sources, db_url, "--source", "linxia-news", "--source", "huli-edu", "--data-dir", str(data_dir)
    )
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    sessions = open_for_writing(db_url).sessions
    with sessions() as s:
        articles = s.scalars(sa.select(Article).order_by(Article.id)).all()
        assert sorted(a.language for a in articles) == ["zh-Hans", "zh-Hant"]
        assert all("\ufffd" not in a.text for a in articles)
        runs = s.scalars(sa.select(CrawlRun)).all()
        assert [(r.status, r.exit_code) for r in runs] == [("ok", 0), ("ok", 0)]
        reasons = sorted(s.scalars(sa.select(Rejection.reason)).all())
        assert reasons == [
            "failed",
            "no_text",
            "not_html",
            "not_pairing",
            "not_pairing",
            "not_pairing",
            "not_pairing",
            "offsite",  # huli-edu's article redirecting off the portal
        ]
    assert sorted(p.parent.name for p in data_dir.rglob("*.warc.gz")) == ["huli-edu", "linxia-news"]
    close_all()


def test_a_second_run_fetches_nothing_new_and_stops_paging(
    crawled: dict[str, Any], sample_web: SampleWeb
) -> None:
    portal = next(p for p in PORTALS if p.name == "china-regional-en")
    before = len(sample_web.hits[portal.name])
    result = crawl(crawled["sources"], crawled["db"], "--source", portal.name)
    assert result.returncode == 0, result.stderr[-2000:]
    requested = [path for path in sample_web.hits[portal.name][before:] if path != "/robots.txt"]
    assert requested == [portal.listing_paths(1)]  # page 1 only: all of it is known
    sessions = open_for_writing(crawled["db"]).sessions
    with sessions() as s:
        run = s.scalars(sa.select(CrawlRun).order_by(CrawlRun.id.desc())).first()
        assert run is not None and run.status == "ok"
        assert run.counts["fetched"] == 1 and run.counts["known"] == 2 and run.counts.get("stored", 0) == 0
    close_all()


def test_since_skips_article_links_dated_before_it(sample_web: SampleWeb, tmp_path: Path) -> None:
    db = crawl_sample(sample_web, tmp_path, "fj-observer", "--since", "2022-07-01")
    sessions = open_for_writing(db).sessions
    with sessions() as s:
        (run,) = s.scalars(sa.select(CrawlRun)).all()
        stored = s.scalars(sa.select(Article.url)).all()
    close_all()
    dated = [
        STORIES[slug].published.date().isoformat()
        for slug in next(p for p in PORTALS if p.name == "fj-observer").stories
    ]
    assert run.counts["too_old"] == sum(d < "2022-07-01" for d in dated)
    assert [u for u in stored if "/2022/08/03/" in u] and all("/2022/06/" not in u for u in stored)


def test_a_redirect_off_the_portal_is_never_followed_and_refuses_the_page_asked_for(
    crawled: dict[str, Any], sample_web: SampleWeb
) -> None:
    portal, path = _trouble("offsite")
    assert path in crawled["hits"][portal]
    (rejection,) = [r for r in crawled["rejections"] if r[2].endswith(path)]
    assert rejection[0] == "offsite" and "redirect to http://elsewhere.invalid" in rejection[3]
    assert not [r for r in crawled["rejections"] if "elsewhere.invalid" in r[2]]
    (run,) = [r for r in crawled["runs"] if r[0] == portal]
    assert run[2]["offsite"] >= 1


def test_a_pdf_is_not_downloaded_and_is_named_in_the_run(crawled: dict[str, Any]) -> None:
    _, path = _trouble("binary")
    (rejection,) = [r for r in crawled["rejections"] if r[2].endswith(path)]
    assert rejection[0] == "not_html" and "application/pdf" in rejection[3]


def test_a_503_with_retry_after_is_retried_and_its_page_crawled(
    crawled: dict[str, Any], sample_web: SampleWeb
) -> None:
    portal = next(p for p in PORTALS if p.busy_listing)
    busy = portal.listing_paths(portal.busy_listing or 0)
    assert crawled["hits"][portal.name].count(busy) == 2  # a 503 first, then the page
    last_story = STORIES[portal.stories[-1]]
    assert any(r[1] == last_story.title for r in crawled["rejections"]) or _stored(crawled, last_story.slug)


def test_max_minutes_stops_new_requests_once_the_time_is_up() -> None:
    import time_machine
    from scrapy.utils.test import get_crawler

    from crawler.vocabulary.sources import parse_sources
    from spiders.portal import PortalSpider

    (source,) = parse_sources(
        '[[source]]\nname = "a"\nstart_urls = ["http://a.example/"]\narticle_pattern = "/x/"\nmax_minutes = 30\n'
    )
    with time_machine.travel(datetime(2026, 11, 24, 2, 0, tzinfo=UTC), tick=False) as clock:
        crawler = get_crawler(PortalSpider)
        crawler._apply_settings()
        spider = PortalSpider.from_crawler(crawler, source=source)
        assert spider._request("http://a.example/x/1", spider.parse_article) is not None
        clock.shift(timedelta(minutes=29))
        assert spider._request("http://a.example/x/2", spider.parse_article) is not None
        clock.shift(timedelta(minutes=2))
        assert spider._request("http://a.example/x/3", spider.parse_article) is None


def test_a_recrawl_keeps_a_changed_text_as_a_new_revision_and_the_old_one_too(
    sample_web: SampleWeb, tmp_path: Path
) -> None:
    from storage.models import ArticleRevision

    sources = demo_sources(sample_web, tmp_path)
    db = f"sqlite:///{tmp_path / 'a.db'}"
    args = ("crawl", "--sources", str(sources), "--db", db, "--source", "china-regional-en", *LOOPBACK)
    assert pairchive(*args).returncode == 0
    portal = next(p for p in PORTALS if p.name == "china-regional-en")
    slug = "anqing-education-complexes"
    path = portal.article_path(STORIES[slug], portal.stories.index(slug))
    correction = "<p>Correction: the plan covers 105 rural schools, not 104.</p>"
    with sample_web.edited(
        portal.name,
        path,
        lambda html: html.replace('<div class="box_con">', '<div class="box_con">' + correction),
    ):
        result = pairchive(*args, "--recrawl")
    assert result.returncode == 0, result.stderr[-2000:]
    sessions = open_for_writing(db).sessions
    with sessions() as s:
        run = s.scalars(sa.select(CrawlRun).order_by(CrawlRun.id.desc())).first()
        assert run is not None and run.counts["revised"] == 1 and run.counts["unchanged"] == 1
        article = s.scalars(sa.select(Article).where(Article.title == STORIES[slug].title)).one()
        revisions = s.scalars(
            sa.select(ArticleRevision)
            .where(ArticleRevision.article_id == article.id)
            .order_by(ArticleRevision.revision)
        ).all()
        assert [r.revision for r in revisions] == [1, 2]
        assert (
            "Correction" not in revisions[0].text and "Correction: the plan covers 105" in revisions[1].text
        )
        assert article.text == revisions[1].text and article.content_hash == revisions[1].content_hash
        assert s.scalar(sa.select(sa.func.count()).select_from(Article)) == 2
    close_all()


@pytest.mark.parametrize("portal", PORTALS, ids=lambda p: p.name)
def test_an_article_linked_with_tracking_parameters_is_fetched_once(
    crawled: dict[str, Any], sample_web: SampleWeb, portal: Any
) -> None:
    first = portal.article_path(STORIES[portal.stories[0]], 0)
    hits = crawled["hits"][portal.name]
    assert hits.count(first) == 1
    assert not [h for h in hits if h.startswith(first + "?")]


def test_pagination_is_followed_by_its_next_page_label_without_a_listing_pattern(
    sample_web: SampleWeb, tmp_path: Path
) -> None:
    portal = next(p for p in PORTALS if p.name == "linxia-news")
    sources = tmp_path / "sources.toml"
    base = sample_web.base_urls[portal.name]
    sources.write_text(
        f'[[source]]\nname = "linxia-news"\nstart_urls = ["{base}{portal.listing_paths(1)}"]\n'
        "article_pattern = '/jy/\\d{6}/\\d+\\.htm$'\n",
        encoding="utf-8",
    )
    db = f"sqlite:///{tmp_path / 'a.db'}"
    result = crawl(sources, db)
    assert result.returncode == 0, result.stderr[-2000:]
    sessions = open_for_writing(db).sessions
    with sessions() as s:
        titles = set(s.scalars(sa.select(Rejection.title)).all()) | set(
            s.scalars(sa.select(Article.title)).all()
        )
    close_all()
    last = STORIES[portal.stories[-1]]  # only on the second listing page
    assert last.title in titles


def test_a_page_over_the_size_cap_is_not_downloaded_and_is_named(
    sample_web: SampleWeb, tmp_path: Path
) -> None:
    # A cap below every article's size (the listing pages are smaller): every article is refused.
    db = crawl_sample(sample_web, tmp_path, "china-regional-en", "-s", "DOWNLOAD_MAXSIZE=4000")
    sessions = open_for_writing(db).sessions
    with sessions() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(Article)) == 0
        refused = s.scalars(sa.select(Rejection.detail).where(Rejection.reason == "too_large")).all()
    close_all()
    assert refused and all(detail == "larger than the download cap of 4000 bytes" for detail in refused), (
        refused
    )


def test_a_page_linked_under_another_host_name_of_the_site_is_fetched_once(crawled: dict[str, Any]) -> None:
    portal = next(p for p in PORTALS if p.alias_link)
    second = portal.article_path(STORIES[portal.stories[1]], 1)
    assert crawled["hits"][portal.name].count(second) == 1
    assert not [r for r in crawled["rejections"] if "localhost" in r[2]]


def test_after_a_capped_run_the_next_run_pages_past_known_articles(
    sample_web: SampleWeb, tmp_path: Path
) -> None:
    text = sample_web.sources_toml().replace('name = "fj-observer"', 'name = "fj-observer"\nmax_pages = 3')
    sources = demo_sources(sample_web, tmp_path, text)
    db = f"sqlite:///{tmp_path / 'a.db'}"
    args = ("crawl", "--sources", str(sources), "--db", db, "--source", "fj-observer", *LOOPBACK)
    assert pairchive(*args).returncode == 0
    uncapped = demo_sources(sample_web, tmp_path)
    result = crawl(uncapped, db, "--source", "fj-observer")
    assert result.returncode == 0, result.stderr[-2000:]
    assert "paging past known articles this time" in result.stderr
    sessions = open_for_writing(db).sessions
    with sessions() as s:
        first, second = s.scalars(sa.select(CrawlRun).order_by(CrawlRun.id)).all()
        assert first.counts["capped"] == 1 and "capped" not in second.counts
        portal = next(p for p in PORTALS if p.name == "fj-observer")
        settled = {a.title for a in s.scalars(sa.select(Article))} | {
            r.title for r in s.scalars(sa.select(Rejection)) if r.title
        }
    close_all()
    assert {STORIES[slug].title for slug in portal.stories} <= settled


def test_a_portal_answering_errors_everywhere_is_a_failed_run(tmp_path: Path) -> None:
    from crawler.runner.crawl import crawl
    from crawler.vocabulary.config import AppConfig
    from crawler.vocabulary.sources import parse_sources

    class BadGateway(QuietHandler):
        def do_GET(self) -> None:
            self.send_response(502)
            self.send_header("Content-Length", "0")
            self.end_headers()

    with serve(BadGateway) as base:
        (source,) = parse_sources(
            f'[[source]]\nname = "bad"\nstart_urls = ["{base}/edu/"]\narticle_pattern = "/a/"\n'
        )
        cfg = AppConfig(db_url=f"sqlite:///{tmp_path / 'a.db'}")
        (run,) = crawl(cfg, [source], settings={"RETRY_TIMES": 0, "ROBOTSTXT_OBEY": False}, log_sink=None)
        close_all()
    assert run.status == "failed" and run.counts["fetched"] == 0 and "HTTP 502" in (run.error or "")


def test_a_listed_link_that_redirects_is_settled_and_not_fetched_again(tmp_path: Path) -> None:
    story = "两地学校结对帮扶，教师互派交流，学生手拉手结对，共建教育共同体，学校共同提高。" * 4
    pages = {
        "/list.html": '<html><body><a href="/a/old.html">story</a></body></html>',
        "/a/new.html": f"<html><head><title>两校结对</title></head><body><h1>两校结对</h1><p>{story}</p></body></html>",
    }
    hits: list[str] = []

    class Moved(QuietHandler):
        def do_GET(self) -> None:
            hits.append(self.path)
            if self.path == "/a/old.html":
                self.send_response(301)
                self.send_header("Location", "/a/new.html")
                body = b""
            else:
                body = pages.get(self.path, "").encode()
                self.send_response(200 if body else 404)
                self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    with serve(Moved) as base:
        sources = tmp_path / "sources.toml"
        sources.write_text(
            f'[[source]]\nname = "moved"\nstart_urls = ["{base}/list.html"]\narticle_pattern = "/a/"\n',
            encoding="utf-8",
        )
        db = f"sqlite:///{tmp_path / 'a.db'}"
        for _ in range(2):
            result = crawl(sources, db)
            assert result.returncode == 0, result.stderr[-2000:]
    assert hits.count("/a/old.html") == 1 and hits.count("/a/new.html") == 1
