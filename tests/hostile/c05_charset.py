"""Class 5: a declared charset that is not a text codec. Each article declares, in its header or its bytes,
a real codec name that is no page's charset (base64, rot13, zlib, undefined, idna, utf-16 inside GBK bytes);
the bytes are GBK or UTF-8 and say a school-pairing story. A crawl must read every one of them as the bytes
decide, as if the declaration were missing."""

from __future__ import annotations

from tests.crawls import STORY
from tests.hostile import Case, HostileHandler, Route

KLASS = 5


def _article(n: int, meta: str | None, encoding: str) -> bytes:
    head = f'<meta http-equiv="Content-Type" content="text/html; charset={meta}">' if meta else ""
    return (
        f"<html><head>{head}<title>第{n}批学校结对</title></head><body><h1>第{n}批学校结对</h1>"
        f"<p>第{n}批：{STORY}</p></body></html>"
    ).encode(encoding)


def _serve(body: bytes, content_type: str) -> Route:
    def route(handler: HostileHandler) -> None:
        handler.send_body(body, content_type)

    return route


# (name, what it does, header Content-Type, <meta> charset, the bytes' real charset)
ARTICLES = [
    ("charset-base64-header", "the header declares base64", "text/html; charset=base64", None, "gbk"),
    ("charset-rot13-meta", "the <meta> declares rot13", "text/html", "rot13", "gbk"),
    ("charset-zlib-both", "header and <meta> declare zlib", "text/html; charset=zlib", "zlib", "utf-8"),
    (
        "charset-undefined",
        "the header declares undefined, a codec that reads nothing",
        "text/html; charset=undefined",
        None,
        "gbk",
    ),
    ("charset-idna-meta", "the <meta> declares idna, a host-name codec", "text/html", "idna", "gbk"),
    ("charset-utf16-meta", "GBK bytes whose <meta> declares utf-16", "text/html", "utf-16", "gbk"),
    (
        "charset-hex-and-bom",
        "a UTF-8 BOM before a header declaring hex",
        "text/html; charset=hex",
        "hex",
        "utf-8-sig",
    ),
]


def article_path(name: str) -> str:
    return f"a/{name}.html"


def _listing(handler: HostileHandler) -> None:
    links = "".join(f'<a href="{article_path(name)}">{name}</a> ' for name, *_ in ARTICLES)
    handler.send_body(f"<html><body>{links}</body></html>".encode(), "text/html; charset=base64")


def _feed(handler: HostileHandler) -> None:
    body = (
        '<?xml version="1.0" encoding="zlib"?><rss version="2.0"><channel><title>t</title>'
        f"<item><title>x</title><link>http://{handler.headers['Host']}/c05/a/charset-feed-item.html</link></item>"
        "</channel></rss>"
    )
    handler.send_body(body.encode(), "application/rss+xml; charset=base64")


FEED_ITEM = ("charset-feed-item", "", "text/html; charset=rot13", "undefined", "gbk")

CASES = [
    Case(KLASS, name, does, {article_path(name): _serve(_article(n, meta, enc), header)})
    for n, (name, does, header, meta, enc) in enumerate(ARTICLES, 1)
] + [
    Case(KLASS, "charset-listing", "a listing page whose header declares base64", {"list.html": _listing}),
    Case(
        KLASS,
        "charset-feed",
        "an RSS feed declaring zlib (header) and base64 (XML declaration), its item declaring rot13 and undefined",
        {
            "feed.xml": _feed,
            article_path(FEED_ITEM[0]): _serve(
                _article(len(ARTICLES) + 1, FEED_ITEM[3], FEED_ITEM[4]), FEED_ITEM[2]
            ),
        },
    ),
]
