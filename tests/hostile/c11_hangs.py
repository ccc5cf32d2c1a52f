"""Class 11, hangs: a portal that asks the crawler to wait (Retry-After) for just under the old cap, once
or on every page; a listing whose long link makes a pattern with nested quantifiers backtrack without end
in a backtracking engine; and a foreground crawl that, without a limit of its own, would never be ended.

Every listing links its articles with the query string it was asked with (`?run=...`), so that a test can
tell its own requests from another test's, and so that the pages that answer 429 only once do so once per
test run, whatever order the tests run in.
"""

from __future__ import annotations

import threading
import time
from html import escape
from urllib.parse import urlsplit

from tests.hostile import Case, HostileHandler, Route

# Just under the cap the crawler used to have (600 s): a whole portal stalled for ten minutes a page.
UNDER_THE_OLD_CAP = 599
SHORT_PAUSE = 2  # seconds, the Retry-After of the page that asks once
LONG_PAUSE = 100  # seconds, within the 120 s the crawler waits for a page: a crawl stopped meanwhile ends
PAUSE_ARTICLES = 12  # articles behind the page that asks for a pause
ALWAYS_ARTICLES = 4
# A link the pattern BACKTRACKING_PATTERN fails on only after trying every way of splitting the run of a's:
# 2**2000 ways for a backtracking engine; it stays under every URL length limit.
BACKTRACKING_LINK = "backtrack/" + "a" * 2000 + "!"
BACKTRACKING_PATTERN = "/c11/backtrack/p/\\d+\\.html$|(a+)+$"

SENTENCES = [
    "两地学校结对帮扶，教师互派交流，共建教育共同体。",
    "城区学校与乡村学校签订结对协议，开展送教下乡活动。",
    "结对学校组织学生手拉手活动，互赠书信和图书。",
    "帮扶学校派出骨干教师支教一年，指导课堂教学改革。",
    "两校共享优质课程资源，开展同步课堂和联合教研。",
    "结对双方校长互访，商定下一学年的帮扶计划。",
    "受援学校的教师到城区学校跟岗学习，提升教学能力。",
    "教育局推动城乡学校结对全覆盖，促进教育均衡发展。",
    "结对学校共同举办科技节和读书节，学生同台展示。",
    "对口支援学校捐建图书室和实验室，改善办学条件。",
    "两地教师结成师徒对子，每月开展一次线上集体备课。",
]

# When each path was asked for, by the run token of its query string: (path, time.monotonic()).
_asked_at: dict[str, list[tuple[str, float]]] = {}
_lock = threading.Lock()


def story_page(seed: int) -> bytes:
    """A pairing story of its own (so no two articles are taken for copies of one story)."""
    order = [SENTENCES[(seed * 5 + k * 7) % len(SENTENCES)] for k in range(len(SENTENCES))]
    paragraphs = ["".join(order[k : k + 3]) + f"第{seed}次结对活动圆满结束。" for k in range(0, 8, 2)]
    title = f"第{seed}批城乡学校结对帮扶"
    body = "".join(f"<p>{escape(p)}</p>" for p in paragraphs)
    return (
        f'<html><head><meta charset="utf-8"><title>{title}</title></head>'
        f"<body><article><h1>{title}</h1>{body}</article></body></html>"
    ).encode()


def _token(handler: HostileHandler) -> str:
    return urlsplit(handler.path).query


def _note(handler: HostileHandler) -> list[tuple[str, float]]:
    """Remembers when this path was asked for, under its run token; returns what this token asked so far."""
    with _lock:
        seen = _asked_at.setdefault(_token(handler), [])
        seen.append((urlsplit(handler.path).path, time.monotonic()))
        return list(seen)


def asked_at(token: str) -> list[tuple[str, float]]:
    """The paths a run token asked for, each with when (time.monotonic()), in order."""
    with _lock:
        return list(_asked_at.get(token, []))


def _listing(folder: str, count: int) -> Route:
    def route(handler: HostileHandler) -> None:
        _note(handler)
        query = _token(handler)
        links = "".join(
            f'<li><a href="/c11/{folder}/p/{n}.html{"?" + query if query else ""}">{n}</a></li>'
            for n in range(1, count + 1)
        )
        handler.send_body(f"<html><body><ul>{links}</ul></body></html>".encode())

    return route


def _article(seed: int) -> Route:
    def route(handler: HostileHandler) -> None:
        _note(handler)
        handler.send_body(story_page(seed))

    return route


def _busy(seconds: int, *, once: bool) -> Route:
    """429 with Retry-After `seconds`: every time, or only the first time its run token asks."""

    def route(handler: HostileHandler) -> None:
        path = urlsplit(handler.path).path
        asked = sum(1 for p, _ in _note(handler) if p == path)
        if once and asked > 1:
            handler.send_body(story_page(100 + len(path)))
            return
        body = b"<html><body>Too many requests</body></html>"
        handler.send_response(429)
        handler.send_header("Retry-After", str(seconds))
        handler.send_header("Content-Type", "text/html; charset=utf-8")
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    return route


def _backtracking_listing(handler: HostileHandler) -> None:
    links = [f"/c11/{BACKTRACKING_LINK}", "/c11/backtrack/p/1.html"]
    items = "".join(f'<li><a href="{link}">x</a></li>' for link in links)
    handler.send_body(f"<html><body><ul>{items}</ul></body></html>".encode())


CASES = [
    Case(
        klass=11,
        name="retry-after-just-under-the-old-cap",
        does="an article answers 429 with Retry-After 599 s, just under the old 600 s cap, every time",
        routes={
            "wait/list.html": _listing("wait", 3),
            "wait/p/1.html": _busy(UNDER_THE_OLD_CAP, once=False),
            "wait/p/2.html": _article(2),
            "wait/p/3.html": _article(3),
        },
    ),
    Case(
        klass=11,
        name="retry-after-once-before-many-pages",
        does=f"the first of {PAUSE_ARTICLES} articles answers 429 with Retry-After {SHORT_PAUSE} s once, then 200",
        routes={
            "pause/list.html": _listing("pause", PAUSE_ARTICLES),
            "pause/p/1.html": _busy(SHORT_PAUSE, once=True),
            **{f"pause/p/{n}.html": _article(10 + n) for n in range(2, PAUSE_ARTICLES + 1)},
        },
    ),
    Case(
        klass=11,
        name="retry-after-on-the-entry-point",
        does=f"the listing page itself answers 429 with Retry-After {UNDER_THE_OLD_CAP} s, every time",
        routes={"entry/list.html": _busy(UNDER_THE_OLD_CAP, once=False)},
    ),
    Case(
        klass=11,
        name="retry-after-on-every-page",
        does="every article answers 429 with Retry-After 1 s, every time",
        routes={
            "always/list.html": _listing("always", ALWAYS_ARTICLES),
            **{f"always/p/{n}.html": _busy(1, once=False) for n in range(1, ALWAYS_ARTICLES + 1)},
        },
    ),
    Case(
        klass=11,
        name="retry-after-outlasting-the-crawl",
        does=f"both articles answer 429 with Retry-After {LONG_PAUSE} s, longer than the crawl is given",
        routes={
            "long/list.html": _listing("long", 2),
            **{f"long/p/{n}.html": _busy(LONG_PAUSE, once=False) for n in (1, 2)},
        },
    ),
    Case(
        klass=11,
        name="catastrophic-article-pattern",
        does="a 2,000-character link of a's ending in ! against article_pattern (a+)+$ (2**2000 ways to fail)",
        routes={"backtrack/list.html": _backtracking_listing, "backtrack/p/1.html": _article(1)},
        inputs=(BACKTRACKING_PATTERN,),
    ),
    Case(
        klass=11,
        name="foreground-crawl-without-a-limit",
        does="pairchive crawl with no --timeout: it gets the daemon's time limit",
        inputs=("crawl",),
    ),
]
