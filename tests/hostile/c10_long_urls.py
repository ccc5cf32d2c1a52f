"""Class 10, long URLs: pages whose URLs are longer than a VARCHAR(2000) column and links or redirects
longer than Scrapy's URLLENGTH_LIMIT (2,083 characters).

The listing `/c10/list.html` links an article whose URL is 2,050 characters long (within the limit: it is
fetched and stored, on SQLite and PostgreSQL alike), an article linked by a URL of 2,100 characters (over
the limit: refused unasked), a page that redirects to a URL of 3,000 characters (refused, never
followed) and a page whose meta refresh leads to one (the target refused under its own URL, unasked). The lengths are of the whole URL, host and port included: the listing makes each URL from the
Host it was asked at, padding a query parameter the routes ignore.
"""

from __future__ import annotations

from tests.crawls import STORY
from tests.hostile import Case, HostileHandler, class_folder

STORED_LENGTH = 2050  # within URLLENGTH_LIMIT, over the old 2,000-character columns
LINK_LENGTH = 2100  # a link over URLLENGTH_LIMIT
REDIRECT_LENGTH = 3000  # a redirect target over URLLENGTH_LIMIT
LONG = "a/long.html"  # the stored article, asked with its padding
TOO_LONG = "a/too-long.html"  # the article linked over the limit: never asked
REDIRECT = "a/redirect.html"  # redirects to TARGET, padded to REDIRECT_LENGTH
TARGET = "a/target.html"  # never asked
REFRESH = "a/refresh.html"  # a meta refresh to REFRESH_TARGET, padded to REDIRECT_LENGTH
REFRESH_TARGET = "a/refresh-target.html"  # never asked


def padded(base: str, path: str, length: int) -> str:
    """The URL of `path` on the hostile web at `base`, padded to `length` characters in all."""
    url = f"{base}{class_folder(10)}{path}?pad="
    return url + "x" * (length - len(url))


def _base(handler: HostileHandler) -> str:
    return f"http://{handler.headers['Host']}"


def _article(n: int) -> bytes:
    title = f"长网址第{n}篇：两地学校结对"
    return (
        f"<html><head><title>{title}</title></head><body><h1>{title}</h1>"
        f"<p>第{n}篇：{STORY}</p></body></html>"
    ).encode()


def _listing(handler: HostileHandler) -> None:
    base = _base(handler)
    links = [
        padded(base, LONG, STORED_LENGTH),
        padded(base, TOO_LONG, LINK_LENGTH),
        f"{base}{class_folder(10)}{REDIRECT}",
        f"{base}{class_folder(10)}{REFRESH}",
    ]
    body = "<html><body>" + "".join(f'<a href="{u}">文章</a> ' for u in links) + "</body></html>"
    handler.send_body(body.encode())


def _redirect(handler: HostileHandler) -> None:
    handler.send_response(302)
    handler.send_header("Location", padded(_base(handler), TARGET, REDIRECT_LENGTH))
    handler.send_header("Content-Length", "0")
    handler.end_headers()


def _refresh(handler: HostileHandler) -> None:
    target = padded(_base(handler), REFRESH_TARGET, REDIRECT_LENGTH)
    handler.send_body(
        f'<html><head><meta http-equiv="refresh" content="0; url={target}"></head></html>'.encode()
    )


CASES = [
    Case(
        klass=10,
        name="url-longer-than-2000-within-the-limit",
        does="an article at a 2,050-character URL, stored on SQLite and PostgreSQL alike",
        routes={"list.html": _listing, LONG: lambda h: h.send_body(_article(1))},
    ),
    Case(
        klass=10,
        name="link-over-urllength-limit",
        does="a link of 2,100 characters, over URLLENGTH_LIMIT: refused as url_too_long, never asked",
        routes={TOO_LONG: lambda h: h.send_body(_article(2))},
    ),
    Case(
        klass=10,
        name="redirect-to-a-3000-character-url",
        does="a page redirecting to a 3,000-character URL: refused as url_too_long, the target never asked",
        routes={REDIRECT: _redirect, TARGET: lambda h: h.send_body(_article(3))},
    ),
    Case(
        klass=10,
        name="meta-refresh-to-a-3000-character-url",
        does="a page whose meta refresh leads to a 3,000-character URL: the target refused as url_too_long",
        routes={REFRESH: _refresh, REFRESH_TARGET: lambda h: h.send_body(_article(4))},
    ),
]
