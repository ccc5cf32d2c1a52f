"""Class 17, entry points of one kind: a portal reached only through its feed, another only through its
sitemap, each declared beside an empty `start_urls = []` (which the sources file used to refuse, though a
source needs only one entry point of any kind), and a source whose every entry-point list is empty.

`SOURCES` holds the sources-file keys of each case, with `{base}` for the hostile web's root.
"""

from __future__ import annotations

from html import escape

from tests.hostile import Case, HostileHandler, Route

SENTENCES = [
    "两地学校结对帮扶，教师互派交流，共建教育共同体。",
    "城区学校与乡村学校签订结对协议，开展送教下乡活动。",
    "结对学校组织学生手拉手活动，互赠书信和图书。",
    "帮扶学校派出骨干教师支教一年，指导课堂教学改革。",
    "两校共享优质课程资源，开展同步课堂和联合教研。",
    "结对双方校长互访，商定下一学年的帮扶计划。",
    "受援学校的教师到城区学校跟岗学习，提升教学能力。",
]

FEED_ARTICLE = "p/feed-1.html"
SITEMAP_ARTICLE = "p/sitemap-1.html"
SOURCES = {
    "feed-beside-empty-start-urls": 'start_urls = []\nfeeds = ["{base}/c17/feed.xml"]',
    "sitemap-beside-empty-start-urls": 'start_urls = []\nfeeds = []\nsitemaps = ["{base}/c17/sitemap.xml"]',
    "no-entry-point-at-all": "start_urls = []\nfeeds = []\nsitemaps = []",
}


def _page(seed: int) -> Route:
    title = f"第{seed}批城乡学校结对帮扶"
    order = [SENTENCES[(seed + k * 3) % len(SENTENCES)] for k in range(len(SENTENCES))]
    body = "".join(
        f"<p>{escape(''.join(order[k : k + 3]))}第{seed}次活动圆满结束。</p>" for k in range(0, 6, 2)
    )

    def route(handler: HostileHandler) -> None:
        handler.send_body(
            (
                f'<html><head><meta charset="utf-8"><title>{title}</title></head>'
                f"<body><article><h1>{title}</h1>{body}</article></body></html>"
            ).encode()
        )

    return route


def _xml(text: str) -> Route:
    def route(handler: HostileHandler) -> None:
        root = f"http://{handler.headers['Host']}/c17/"
        handler.send_body(
            ('<?xml version="1.0" encoding="utf-8"?>' + text.format(root=root)).encode(), "application/xml"
        )

    return route


CASES = [
    Case(
        klass=17,
        name="feed-beside-empty-start-urls",
        does="start_urls = [] beside a feed: the feed is the source's entry point",
        routes={
            "feed.xml": _xml(
                '<rss version="2.0"><channel><title>c17</title>'
                f"<item><title>结对</title><link>{{root}}{FEED_ARTICLE}</link></item></channel></rss>"
            ),
            FEED_ARTICLE: _page(1),
        },
        inputs=(SOURCES["feed-beside-empty-start-urls"],),
    ),
    Case(
        klass=17,
        name="sitemap-beside-empty-start-urls",
        does="start_urls = [] and feeds = [] beside a sitemap: the sitemap is the source's entry point",
        routes={
            "sitemap.xml": _xml(
                '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
                f"<url><loc>{{root}}{SITEMAP_ARTICLE}</loc></url></urlset>"
            ),
            SITEMAP_ARTICLE: _page(2),
        },
        inputs=(SOURCES["sitemap-beside-empty-start-urls"],),
    ),
    Case(
        klass=17,
        name="no-entry-point-at-all",
        does="every entry-point list empty: still a configuration error naming the key",
        inputs=(SOURCES["no-entry-point-at-all"],),
    ),
]
