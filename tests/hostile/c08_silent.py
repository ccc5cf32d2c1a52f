"""Class 8: silent refusals. Pages that redirect to themselves, in a circle, on and on, to a page the
listing links too, or off the portal; a feed and sitemaps that do not parse (an HTML page, binary noise, broken gzip); an
article without a Content-Type whose body is no HTML. Every page asked for must end stored or as a
recorded rejection with its reason, counted in the run."""

from __future__ import annotations

from tests.crawls import STORY
from tests.hostile import Case, HostileHandler, Route

KLASS = 8
HOPS = 30  # more redirects than Scrapy's REDIRECT_MAX_TIMES (20)


def _redirect(to: str) -> Route:
    def route(handler: HostileHandler) -> None:
        handler.send_response(302)
        handler.send_header("Location", to)
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    return route


def _hop(n: int) -> Route:
    return _redirect(f"/c08/a/hop-{n + 1}.html")


def _article(handler: HostileHandler) -> None:
    handler.send_body(
        f"<html><head><title>结对新闻</title></head><body><h1>结对新闻</h1><p>{STORY}</p></body></html>".encode()
    )


def _no_type(handler: HostileHandler) -> None:
    body = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4
    handler.send_response(200)
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)


def _send(body: bytes, content_type: str) -> Route:
    def route(handler: HostileHandler) -> None:
        handler.send_body(body, content_type)

    return route


def _offsite(handler: HostileHandler) -> None:
    # the same server under a host name the source does not allow (its entry points name 127.0.0.1)
    _redirect(f"http://localhost:{handler.connection.getsockname()[1]}{OFFSITE_TARGET}")(handler)


OFFSITE_TARGET = "/c08/a/elsewhere.html"  # never asked for: no route answers it
LINKED = ["self.html", "ping.html", "old.html", "new.html", "hop-0.html", "blob.png", "away.html"]


def _listing(handler: HostileHandler) -> None:
    links = "".join(f'<a href="a/{path}">{path}</a> ' for path in LINKED)
    handler.send_body(f"<html><body>{links}</body></html>".encode())


CASES = [
    Case(KLASS, "silent-listing", "a listing linking to every page of this class", {"list.html": _listing}),
    Case(
        KLASS,
        "redirect-to-itself",
        "a page that redirects to its own URL",
        {"a/self.html": _redirect("/c08/a/self.html")},
    ),
    Case(
        KLASS,
        "redirect-circle",
        "two pages that redirect to each other",
        {"a/ping.html": _redirect("/c08/a/pong.html"), "a/pong.html": _redirect("/c08/a/ping.html")},
    ),
    Case(
        KLASS,
        "redirect-to-a-linked-page",
        "an old URL redirecting to a page the listing links too",
        {"a/old.html": _redirect("/c08/a/new.html"), "a/new.html": _article},
    ),
    Case(
        KLASS,
        "redirect-chain",
        f"{HOPS} redirects, one after the other",
        {f"a/hop-{n}.html": _hop(n) for n in range(HOPS)},
    ),
    Case(
        KLASS,
        "redirect-offsite",
        "an article redirecting to a host outside the source's allowed domains",
        {"a/away.html": _offsite},
    ),
    Case(
        KLASS,
        "article-no-type-binary",
        "an article with no Content-Type and binary bytes",
        {"a/blob.png": _no_type},
    ),
    Case(
        KLASS,
        "feed-is-html",
        "a feed URL answering an HTML page",
        {"feed.xml": _send(b"<html><body><p>Moved</p></body></html>", "text/html")},
    ),
    Case(
        KLASS,
        "sitemap-noise",
        "a sitemap of binary noise",
        {"noise.xml": _send(bytes(range(256)) * 8, "application/xml")},
    ),
    Case(
        KLASS,
        "sitemap-broken-gzip",
        "a .xml.gz that is not gzip past its magic",
        {"broken.xml.gz": _send(b"\x1f\x8b\x08\x00garbage" * 10, "application/x-gzip")},
    ),
    Case(
        KLASS,
        "sitemap-empty",
        "a sitemap answering no bytes at all",
        {"empty.xml": _send(b"", "application/xml")},
    ),
]

# What each URL asked for ends as: a stored article, or a rejection with this reason.
OUTCOMES = {
    "a/self.html": "redirect_loop",
    "a/ping.html": "redirect_loop",
    "a/old.html": "redirected",
    "a/new.html": "stored",
    "a/hop-0.html": "redirect_loop",
    "a/blob.png": "not_html",
    "a/away.html": "offsite",
    "feed.xml": "unparsable",
    "noise.xml": "unparsable",
    "broken.xml.gz": "unparsable",
    "empty.xml": "unparsable",
}
