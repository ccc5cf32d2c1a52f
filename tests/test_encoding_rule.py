"""One charset rule for pages, feeds and sitemaps: a byte order mark first (the WHATWG encoding standard's
strongest signal), then the source's `encoding`, then what the bytes and declarations decide."""

from __future__ import annotations

import codecs

import pytest

from crawler.vocabulary.charset import decode_page
from spiders.discovery import feed_entries, sitemap_entries

PATH = "学校结对"  # in a URL path: bytes the feed's charset decides the reading of
URL = f"http://a.example/{PATH}/1.html"


def _feed(encoding: str, declared: str) -> bytes:
    return (
        f'<?xml version="1.0" encoding="{declared}"?><rss version="2.0"><channel>'
        f"<item><link>{URL}</link><title>{PATH}</title></item></channel></rss>"
    ).encode(encoding)


def _sitemap(encoding: str, declared: str) -> bytes:
    return (
        f'<?xml version="1.0" encoding="{declared}"?>'
        f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><url><loc>{URL}</loc></url></urlset>'
    ).encode(encoding)


def _page(encoding: str, declared: str) -> bytes:
    return f'<html><head><meta charset="{declared}"></head><body><p>{PATH}</p></body></html>'.encode(encoding)


def _urls(kind: str, body: bytes, encoding: str | None) -> list[str]:
    if kind == "feed":
        return [e.url for e in feed_entries(body, encoding=encoding)]
    return [e.url for e in sitemap_entries(body, encoding=encoding)[1]]


def test_a_pages_utf8_byte_order_mark_beats_the_sources_encoding() -> None:
    decoded = decode_page(codecs.BOM_UTF8 + _page("utf-8", "gb2312"), "text/html; charset=gbk", "big5")
    assert (decoded.charset, decoded.reason) == ("utf-8", "byte order mark")
    assert PATH in decoded.text and not decoded.text.startswith("\ufeff")


def test_a_pages_source_encoding_beats_its_declarations_and_the_bytes_own_reading() -> None:
    body = _page("gb18030", "big5")  # a lying declaration, and bytes that decode in it too
    assert PATH not in decode_page(body, "text/html; charset=big5").text
    decoded = decode_page(body, "text/html; charset=big5", "gbk")
    assert (decoded.charset, decoded.reason) == ("gb18030", "source encoding setting")
    assert PATH in decoded.text


@pytest.mark.parametrize("kind", ["feed", "sitemap"])
def test_a_feeds_or_sitemaps_utf8_byte_order_mark_beats_the_sources_encoding(kind: str) -> None:
    build = _feed if kind == "feed" else _sitemap
    assert _urls(kind, codecs.BOM_UTF8 + build("utf-8", "gb2312"), "big5") == [URL]


@pytest.mark.parametrize("kind", ["feed", "sitemap"])
def test_a_feeds_or_sitemaps_source_encoding_beats_its_declaration_as_a_pages_does(kind: str) -> None:
    body = (_feed if kind == "feed" else _sitemap)("gb18030", "big5")
    assert _urls(kind, body, None) != [URL]  # as declared: big5, which reads these bytes wrong
    assert _urls(kind, body, "gbk") == [URL]
