"""Dedup identity: canonical URLs and normalized-text hashes."""

from __future__ import annotations

from crawler.urls import canonical_url
from pipelines.dedup import content_hash


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
