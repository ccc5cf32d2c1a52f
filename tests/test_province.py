"""The province (crawler.sampleweb.province): portals each on a loopback address of their own, whose every
article a real crawl stores once, politely per host."""

from __future__ import annotations

import time
import urllib.error
import urllib.request
from typing import Any

import pytest
import sqlalchemy as sa

from crawler.sampleweb.province import Province
from crawler.settings import CONCURRENT_REQUESTS_PER_DOMAIN
from crawler.vocabulary.sources import parse_sources
from storage.db import close_all, open_for_writing
from storage.models import Article
from tests.crawls import pairchive

# tests.crawls.LOOPBACK, but with a delay above none: at DOWNLOAD_DELAY = 0 Scrapy's downloader hands a host
# every request queued for it at once (its slot counts a request only once the request has started), past
# CONCURRENT_REQUESTS_PER_DOMAIN; with any delay it starts one at a time and the limit holds.
LOOPBACK_POLITE = ["-s", "AUTOTHROTTLE_ENABLED=False", "-s", "DOWNLOAD_DELAY=0.01"]
# Answers slower than the delay, so that a host's requests overlap and the limit is put to the test.
LATENCY = (0.02, 0.05)


def get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=30) as answer:
        text: str = answer.read().decode()
        return text


@pytest.fixture(scope="module")
def crawled(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A small province crawled whole by `pairchive crawl` into a fresh SQLite file."""
    folder = tmp_path_factory.mktemp("province")
    with Province(portals=3, articles=4, latency=LATENCY) as province:
        sources = folder / "sources.toml"
        sources.write_text(province.sources_toml(), encoding="utf-8")
        db = f"sqlite:///{folder / 'archive.db'}"
        result = pairchive("crawl", "--sources", str(sources), "--db", db, *LOOPBACK_POLITE)
    assert result.returncode == 0, result.stderr[-3000:]
    with open_for_writing(db).sessions() as s:
        urls = [a.url for a in s.scalars(sa.select(Article))]
    close_all()
    return {"province": province, "urls": urls}


def test_every_article_of_the_province_is_stored_exactly_once(crawled: dict[str, Any]) -> None:
    province: Province = crawled["province"]
    assert len(province.article_urls()) == 12
    assert sorted(crawled["urls"]) == sorted(province.article_urls())
    assert [province.fetches(url) for url in province.article_urls()] == [1] * 12


def test_no_host_ever_answers_more_requests_at_once_than_the_per_domain_limit(
    crawled: dict[str, Any],
) -> None:
    province: Province = crawled["province"]
    assert all(
        1 <= province.max_concurrent(host) <= CONCURRENT_REQUESTS_PER_DOMAIN for host in province.hosts
    )


def test_each_host_is_asked_for_its_robots_txt_once(crawled: dict[str, Any]) -> None:
    province: Province = crawled["province"]
    assert [province.robots_fetches(host) for host in province.hosts] == [1, 1, 1]
    assert province.fetches("/robots.txt") == 3


def test_each_portal_is_a_host_of_its_own_on_loopback() -> None:
    with Province(portals=3, articles=1) as province:
        assert [host.split(":")[0] for host in province.hosts] == ["127.0.0.2", "127.0.0.3", "127.0.0.4"]
        url = province.article_urls()[0]
        assert get(url).startswith("<!DOCTYPE html>")
        with pytest.raises(urllib.error.HTTPError) as missing:
            get(province.base_urls["county-02"] + "/news/nowhere.html")
        missing.value.close()
        assert missing.value.code == 404
        assert province.fetches(url) == 1
        assert province.hits[0] == (province.hosts[0], url.split(province.hosts[0])[1])
        assert province.max_concurrent("127.0.0.2") == 1


def test_its_sources_file_loads_with_a_source_per_portal_and_states_max_workers_only_when_not_one() -> None:
    with Province(portals=2, articles=1) as province:
        sources = parse_sources(province.sources_toml())
        assert [s.name for s in sources] == ["county-01", "county-02"]
        assert "max_workers" not in province.sources_toml()
        assert province.sources_toml(max_workers=3).count("max_workers = 3\n") == 2


def test_the_same_seed_writes_the_same_province_and_another_seed_another() -> None:
    def texts(seed: int) -> list[tuple[str, ...]]:
        return [s.paragraphs for p in Province(portals=2, articles=3, seed=seed).portals for s in p.stories]

    assert texts(0) == texts(0)
    assert texts(0) != texts(1)


def test_listing_pages_link_the_next_one_and_share_the_articles_among_them() -> None:
    with Province(portals=1, articles=5, listing_pages=3) as province:
        base = province.base_urls["county-01"]
        pages = [get(f"{base}/news/{name}") for name in ("index.html", "index_2.html", "index_3.html")]
    articles = [s.path for s in province.portals[0].stories]
    assert [sum(path in page for path in articles) for page in pages] == [2, 2, 1]
    assert ["index_2.html" in pages[0], "index_3.html" in pages[1], "index_4.html" in pages[2]] == [
        True,
        True,
        False,
    ]


def test_each_answer_waits_a_time_within_the_latency_asked_for() -> None:
    with Province(portals=1, articles=1, latency=(0.05, 0.1)) as province:
        url = province.article_urls()[0]
        began = time.monotonic()
        get(url)
        assert time.monotonic() - began >= 0.05
