"""Class 7: legitimately large sitemaps and feeds. The sitemap protocol allows 50 MB uncompressed and 50,000
URLs a file, more than the 8 MB page cap: a 10 MB sitemap of 50,000 URLs (as XML and gzipped), a feed over
8 MB, and, past the protocol, a sitemap of 50,001 URLs and sitemaps over 50 MB (announced by Content-Length,
and streamed without one). Each large file leads to its articles; the ones past the caps are refused with a
reason."""

from __future__ import annotations

import gzip
from functools import cache

from tests.crawls import STORY
from tests.hostile import Case, HostileHandler, Route

KLASS = 7
PROTOCOL_URLS = 50_000
PAD = "x" * 120  # makes each filler URL long enough that 50,000 of them are over 10 MB


def article_path(name: str) -> str:
    return f"a/{name}.html"


def _urlset(host: str, articles: list[str], fillers: int, last: str | None = None) -> bytes:
    """A urlset of `fillers` URLs matching no article pattern, the articles first, `last` at the end."""
    base = f"http://{host}/c07/"
    locs = [base + article_path(a) for a in articles]
    locs += [f"{base}filler/{n:05d}-{PAD}.html" for n in range(fillers)]
    if last:
        locs.append(base + article_path(last))
    rows = "".join(f"<url><loc>{loc}</loc><lastmod>2026-11-30</lastmod></url>\n" for loc in locs)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n{rows}</urlset>\n'
    ).encode()


@cache
def big_sitemap(host: str) -> bytes:
    return _urlset(host, ["big-1", "big-2"], PROTOCOL_URLS - 2)


def _big(handler: HostileHandler) -> None:
    handler.send_body(big_sitemap(handler.headers["Host"]), "application/xml")


def _big_gz(handler: HostileHandler) -> None:
    body = _urlset(handler.headers["Host"], ["gz-1"], PROTOCOL_URLS - 1)
    handler.send_body(gzip.compress(body, 1), "application/x-gzip")


def _over_count(handler: HostileHandler) -> None:
    body = _urlset(handler.headers["Host"], ["count-1"], PROTOCOL_URLS - 1, last="count-past-cap")
    handler.send_body(body, "application/xml")


def _big_feed(handler: HostileHandler) -> None:
    host = handler.headers["Host"]
    filler = "".join(
        f"<item><title>{n}</title><link>http://{host}/c07/filler/{n}.html</link>"
        f"<description>{STORY}</description></item>\n"
        for n in range(9 * 1024 * 1024 // (len(STORY.encode()) + 80))
    )
    link = f"<item><title>f</title><link>http://{host}/c07/{article_path('feed-1')}</link></item>\n"
    body = f'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>{link}{filler}</channel></rss>'
    handler.send_body(body.encode(), "application/rss+xml")


OVER = 60 * 1024 * 1024  # bytes in each sitemap past the protocol's 50 MB


def _stream(handler: HostileHandler, announce: bool) -> None:
    handler.send_response(200)
    handler.send_header("Content-Type", "application/xml")
    if announce:
        handler.send_header("Content-Length", str(OVER))
    handler.end_headers()
    block = b" " * (1 << 20)
    try:
        handler.wfile.write(b'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">')
        for _ in range(OVER >> 20):
            handler.wfile.write(block)
    except (BrokenPipeError, ConnectionResetError):
        pass
    handler.close_connection = True


def _article(n: int) -> Route:
    body = (
        f"<html><head><title>第{n}批结对学校</title></head><body><h1>第{n}批结对学校</h1>"
        f"<p>第{n}批：{STORY}</p></body></html>"
    ).encode()

    def route(handler: HostileHandler) -> None:
        handler.send_body(body)

    return route


ARTICLES = ["big-1", "big-2", "gz-1", "count-1", "count-past-cap", "feed-1"]
ROUTES = {article_path(name): _article(n) for n, name in enumerate(ARTICLES, 1)}

CASES = [
    Case(KLASS, "large-sitemap-10mb", "a 10 MB sitemap of 50,000 URLs", {"big.xml": _big}),
    Case(KLASS, "large-sitemap-gzipped", "the same, as a .xml.gz file", {"big.xml.gz": _big_gz}),
    Case(KLASS, "large-feed-9mb", "an RSS feed over the 8 MB page cap", {"big-feed.xml": _big_feed}),
    Case(KLASS, "sitemap-50001-urls", "one URL past the protocol's 50,000", {"count.xml": _over_count}),
    Case(
        KLASS,
        "sitemap-over-50mb-announced",
        "60 MB, said by Content-Length",
        {"over.xml": lambda h: _stream(h, True)},
    ),
    Case(
        KLASS,
        "sitemap-over-50mb-streamed",
        "60 MB with no Content-Length",
        {"streamed.xml": lambda h: _stream(h, False)},
    ),
    Case(KLASS, "large-sitemap-articles", "the articles the large files lead to", ROUTES),
]
