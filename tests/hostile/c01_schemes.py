"""Class 1, schemes and addresses: a portal that leads the crawler to other schemes on its own host (a
local file, a device, an FTP or S3 server, inline data) from its links, its redirects, its feed and its
sitemap, and to its own host under other spellings of a loopback address.

A source crawling `/c01/list.html` (with `/c01/feed.xml` and `/c01/sitemap.xml`) and an article pattern
that matches every link must fetch only the http pages; the rest are rejections with reason `scheme`.
With the private-address guard on, not even the listing is fetched (`private_address`).
"""

from __future__ import annotations

from tests.crawls import article_page
from tests.hostile import Case, HostileHandler, Route

# Links of other schemes on the portal's own host (the hostile web is on 127.0.0.1).
OTHER_SCHEMES = [
    "file://127.0.0.1/etc/passwd",
    "file://127.0.0.1/dev/zero",
    "ftp://127.0.0.1/c01/a/ftp.html",
    "s3://127.0.0.1/bucket/c01/a/s3.html",
]
# Links of other schemes with no host at all: off every allowed host, so never followed, as any offsite link.
HOSTLESS = [
    "file:///dev/zero",
    "data:text/html,<p>c01/a/data</p>",
]
# Where the redirects lead: another scheme, given in the Location header.
REDIRECTS = {
    "a/to-file.html": "file:///etc/passwd",
    "a/to-ftp.html": "ftp://127.0.0.1/c01/a/1.html",
}
FEED_ENTRY = "ftp://127.0.0.1/c01/a/feed-entry.html"
SITEMAP_ENTRY = "file://127.0.0.1/c01/a/sitemap-entry.html"
ARTICLES = ["a/1.html", "a/2.html"]
OFFSITE = "a/to-localhost.html"  # a redirect to the same server named localhost, off the allowed domains
OFFSITE_TARGET = "/c01/a/offsite.html"


def _listing(handler: HostileHandler) -> None:
    links = [f"/c01/{path}" for path in (*ARTICLES, *REDIRECTS)] + OTHER_SCHEMES + HOSTLESS
    body = "<html><body>" + "".join(f'<a href="{u}">x</a> ' for u in links) + "</body></html>"
    handler.send_body(body.encode())


def _redirect(target: str) -> Route:
    def route(handler: HostileHandler) -> None:
        handler.send_response(302)
        handler.send_header("Location", target)
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    return route


def _offsite(handler: HostileHandler) -> None:
    """A redirect to this same server under a name off the source's allowed domains (127.0.0.1)."""
    port = str(handler.headers.get("Host", "")).rpartition(":")[2]
    _redirect(f"http://localhost:{port}{OFFSITE_TARGET}")(handler)


def _offsite_listing(handler: HostileHandler) -> None:
    handler.send_body(f'<html><body><a href="/c01/{OFFSITE}">x</a></body></html>'.encode())


def _article(n: int) -> Route:
    def route(handler: HostileHandler) -> None:
        handler.send_body(article_page(f"c01-{n}"))

    return route


def _xml(text: str) -> Route:
    def route(handler: HostileHandler) -> None:
        handler.send_body(('<?xml version="1.0" encoding="utf-8"?>' + text).encode(), "application/xml")

    return route


FEED = (
    '<rss version="2.0"><channel><title>c01</title>'
    f"<item><title>x</title><link>{FEED_ENTRY}</link></item></channel></rss>"
)
SITEMAP = (
    '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
    f"<url><loc>{SITEMAP_ENTRY}</loc></url></urlset>"
)

CASES = [
    Case(
        klass=1,
        name="links-to-other-schemes",
        does="a listing linking file:, ftp: and s3: URLs on its own host and file:, data: ones with none",
        routes={"list.html": _listing, **{p: _article(n) for n, p in enumerate(ARTICLES, 1)}},
    ),
    Case(
        klass=1,
        name="redirects-to-other-schemes",
        does="article links that redirect to a local file and to an FTP server",
        routes={path: _redirect(target) for path, target in REDIRECTS.items()},
    ),
    Case(
        klass=1,
        name="feed-and-sitemap-entries-of-other-schemes",
        does="a feed whose entry is an ftp: URL and a sitemap whose entry is a file: URL",
        routes={"feed.xml": _xml(FEED), "sitemap.xml": _xml(SITEMAP)},
    ),
    Case(
        klass=1,
        name="a-loopback-portal-under-the-guard",
        does="the same portal with the private-address guard on: it is on 127.0.0.1, so nothing is fetched",
        routes={"guarded.html": _listing},
    ),
    Case(
        klass=1,
        name="a-redirect-off-the-allowed-domains",
        does="a listing whose link redirects to the same server under the name localhost, not an allowed domain",
        routes={
            "offsite-list.html": _offsite_listing,
            OFFSITE: _offsite,
            OFFSITE_TARGET.removeprefix("/c01/"): _article(3),
        },
    ),
]
