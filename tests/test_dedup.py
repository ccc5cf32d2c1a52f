"""Dedup identity: canonical URLs and normalized-text hashes."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from crawler.vocabulary.items import PageItem
from crawler.vocabulary.urls import canonical_url
from pipelines.dedup import content_hash, page_url


def test_tracking_parameters_and_fragments_do_not_make_a_new_url() -> None:
    assert (
        canonical_url("HTTP://Example.COM:80/a/b.html?utm_source=x&id=3#top")
        == "http://example.com/a/b.html?id=3"
    )


def test_query_order_does_not_make_a_new_url() -> None:
    assert canonical_url("http://a.cn/p?b=2&a=1") == canonical_url("http://a.cn/p?a=1&b=2")


def test_different_paths_stay_different() -> None:
    assert canonical_url("http://a.cn/p/1.html") != canonical_url("http://a.cn/p/2.html")


def test_whitespace_width_and_punctuation_do_not_change_the_hash() -> None:
    assert content_hash("两地学校结对，共建。\nSchools PAIR up!") == content_hash(
        "两地学校结对,共建.  schools pair up"
    )


def test_different_text_has_a_different_hash() -> None:
    assert content_hash("两地学校结对") != content_hash("两地医院结对")


def test_www_and_mobile_hosts_a_source_names_as_one_site_are_one_url() -> None:
    same = ("www.huli.gov.cn", "m.huli.gov.cn", "huli.gov.cn")
    canonical = "http://www.huli.gov.cn/edu/20221125/t1.html"
    for host in same:
        assert canonical_url(f"http://{host}/edu/20221125/t1.html?utm_medium=share", same) == canonical
    assert canonical_url("http://m.huli.gov.cn/edu/t1.html") == "http://m.huli.gov.cn/edu/t1.html"  # not said


def test_the_spider_asks_once_for_a_page_linked_under_several_hosts_of_one_site() -> None:
    from scrapy.utils.test import get_crawler

    from crawler.vocabulary.sources import parse_sources
    from spiders.discovery import Entry
    from spiders.portal import PortalSpider

    (source,) = parse_sources(
        '[[source]]\nname = "huli"\nstart_urls = ["http://www.huli.gov.cn/edu/"]\narticle_pattern = "/edu/\\\\d+/"\n'
        'same_hosts = ["www.huli.gov.cn", "m.huli.gov.cn", "huli.gov.cn"]\nallowed_domains = ["huli.gov.cn"]\n'
    )
    crawler = get_crawler(PortalSpider)
    crawler._apply_settings()  # what a crawl does first: stats and the rest of the crawler come to life
    spider = PortalSpider.from_crawler(crawler, source=source)
    links = [
        Entry(f"http://{h}/edu/20221125/t1.html") for h in ("www.huli.gov.cn", "m.huli.gov.cn", "huli.gov.cn")
    ]
    assert [r.url for r in spider._articles(links)] == ["http://www.huli.gov.cn/edu/20221125/t1.html"]


def test_gbk_query_values_stay_different_urls() -> None:
    assert canonical_url("http://a.cn/s?kw=%B0%A1") != canonical_url("http://a.cn/s?kw=%B0%A2")
    assert canonical_url("http://a.cn/s?kw=%B0%A1") == "http://a.cn/s?kw=%B0%A1"


def test_paging_parameters_stay_and_session_ids_go() -> None:
    assert canonical_url("http://a.cn/list.jsp?from=20") != canonical_url("http://a.cn/list.jsp?from=40")
    assert canonical_url("http://a.cn/a/1.jsp;jsessionid=AB12?id=3") == "http://a.cn/a/1.jsp?id=3"


@pytest.mark.parametrize(
    "a, b",
    [
        ("http://a.cn/edu/index.html", "http://a.cn/edu/"),
        ("http://a.cn/edu/", "http://a.cn/edu"),
        ("http://a.cn/index.shtml", "http://a.cn/"),
        ("http://a.cn/edu/Default.aspx", "http://a.cn/edu"),
    ],
)
def test_index_pages_and_trailing_slashes_are_one_url(a: str, b: str) -> None:
    assert canonical_url(a) == canonical_url(b)


def test_an_index_page_deeper_in_the_name_is_a_page_of_its_own() -> None:
    assert canonical_url("http://a.cn/edu/index_2.html") != canonical_url("http://a.cn/edu/")


def _item(url: str, link: str | None, same_hosts: tuple[str, ...] = ()) -> PageItem:
    item = PageItem(
        url=url, source="s", html="", http_status=200, charset="utf-8", fetched_at=datetime.now(UTC),
        same_hosts=same_hosts,
    )  # fmt: skip
    item.link_canonical = link
    return item


def test_rel_canonical_on_the_same_site_names_the_page() -> None:
    item = _item("http://edu.a.cn/2022/1116/print.html?from=share", "/2022/1116/t1.html")
    assert page_url(item) == "http://edu.a.cn/2022/1116/t1.html"
    www = _item("http://m.a.cn/t1.html", "http://www.a.cn/t1.html", ("www.a.cn", "m.a.cn"))
    assert page_url(www) == "http://www.a.cn/t1.html"


@pytest.mark.parametrize(
    "link", ["http://aggregator.example/copy/1.html", "javascript:void(0)", "mailto:x@a.cn"]
)
def test_rel_canonical_off_the_site_is_ignored(link: str) -> None:
    assert page_url(_item("http://edu.a.cn/t1.html", link)) == "http://edu.a.cn/t1.html"
