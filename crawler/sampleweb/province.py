"""A province of generated county portals, each on a loopback address of its own: the web for crawls that
spread over many hosts (per-host politeness, a shared frontier, benchmarks with latency).

Portal i is `county-NN` at http://127.0.0.(2+i):PORT/ (all of 127.0.0.0/8 is loopback on Linux), so that each
is a host of its own to the crawler's per-domain limits and its robots.txt. Each carries listing pages
(/news/index.html, /news/index_2.html ...) and articles (/news/2026MMDD/tNNNN.html). Every article is a
distinct school pairing story, its sentences drawn and ordered from a seeded pool, so that the gate keeps it
and no two are near copies of each other: an archive stores each exactly once.

The servers count what they are asked, thread-safely: every request in order, how many were in progress
at once on each host, and robots.txt fetches. Each answer can wait a seeded time first (`latency`), as a
distant portal's would.
"""

from __future__ import annotations

import random
import threading
import time
import tomllib
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from html import escape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from types import TracebackType
from urllib.parse import urlsplit

CST = timezone(timedelta(hours=8))
FIRST_DAY = datetime(2026, 1, 5, 9, 0, tzinfo=CST)
SPAN_DAYS = 300  # articles are dated over the year's first 300 days, newest listed first
MAX_PORTALS = 253  # 127.0.0.2 ... 127.0.0.254
ROBOTS = b"User-agent: *\nDisallow:\n"
ARTICLE_PATTERN = r"/news/\d{8}/t\d+\.html$"
LISTING_PATTERN = r"/news/index(_\d+)?\.html$"

# Names and sentences (province.toml), read once: each pool a tuple, the order the seeded draws rely on.
_WORDS = tomllib.loads(resources.files("crawler.sampleweb").joinpath("province.toml").read_text("utf-8"))
NAMES: dict[str, tuple[str, ...]] = {k: tuple(v) for k, v in _WORDS["names"].items()}
SENTENCES: dict[str, tuple[str, ...]] = {k: tuple(v) for k, v in _WORDS["sentences"].items()}


@dataclass(frozen=True)
class Story:
    """One generated article: its path on the portal, title, date and paragraphs."""

    path: str
    title: str
    published: datetime
    paragraphs: tuple[str, ...]


@dataclass(frozen=True)
class County:
    """One portal of the province: its source name, title, address and articles (newest first)."""

    name: str
    county: str
    address: str
    stories: tuple[Story, ...]

    @property
    def title(self) -> str:
        return f"{self.county}教育网"


def _person(rng: random.Random) -> str:
    return rng.choice(NAMES["surnames"]) + rng.choice(NAMES["given"])


def _story(rng: random.Random, county: str, pair: tuple[str, str, str], number: int, day: datetime) -> Story:
    ap, ak, bk = pair
    slots = {
        "ap": ap,
        "ak": ak,
        "bp": county,
        "bk": bk,
        "a": ap + ak,
        "b": county + bk,
        "date": f"{day.month}月{day.day}日",
        "pa": _person(rng),
        "pb": _person(rng),
        "t1": _person(rng),
        "t2": _person(rng),
        "subj": rng.choice(NAMES["subjects"]),
        "topic": rng.choice(NAMES["topics"]),
        "grade": "一二三四五六七八"[rng.randrange(8)],
        **{f"n{k}": str(rng.randint(2, 9 + 3 * k)) for k in range(1, 6)},
    }

    def take(pool: str, low: int, high: int) -> list[str]:
        return [s.format(**slots) for s in rng.sample(SENTENCES[pool], rng.randint(low, high))]

    # No sentence twice in a story: each pool is drawn from once, then cut into paragraphs.
    plans, acts = take("plans", 4, 7), take("activities", 4, 7)
    cut, split = rng.randint(2, len(plans) - 1), rng.randint(2, len(acts) - 2)
    middle = [plans[1:cut], acts[:split], take("voices", 1, 2), acts[split:] + plans[cut:]]
    rng.shuffle(middle)
    lead = rng.choice(SENTENCES["leads"]).format(**slots) + plans[0]
    paragraphs = (lead, *("".join(p) for p in middle), "".join(take("outlooks", 1, 2)))
    path = f"/news/{day:%Y%m%d}/t{number:04d}.html"
    return Story(path, rng.choice(SENTENCES["titles"]).format(**slots), day, paragraphs)


def _county(i: int, articles: int, seed: int) -> County:
    rng = random.Random(f"province:{seed}:{i}")
    county = NAMES["counties"][i % len(NAMES["counties"])]
    pairs = [(d, a, b) for d in NAMES["districts"] for a in NAMES["schools"] for b in NAMES["schools"]]
    if articles > len(pairs):
        raise ValueError(f"at most {len(pairs)} articles a portal, not {articles}")
    chosen = rng.sample(pairs, articles)
    stories = []
    for j, pair in enumerate(chosen):
        day = FIRST_DAY + timedelta(days=j * SPAN_DAYS // max(articles, 1), hours=rng.randint(0, 8))
        stories.append(_story(rng, county, pair, 1000 + j, day))
    return County(f"county-{i + 1:02d}", county, f"127.0.0.{2 + i}", tuple(reversed(stories)))


def _e(text: str) -> str:
    return escape(text, quote=True)


def render_article(portal: County, story: Story) -> str:
    """An article page in a county education bureau's chrome."""
    body = "".join(f"<p>{_e(p)}</p>" for p in story.paragraphs)
    return (
        '<!DOCTYPE html>\n<html lang="zh-CN"><head><meta charset="utf-8">'
        f"<title>{_e(story.title)}_{portal.title}</title>\n"
        f'<meta name="PubDate" content="{story.published:%Y-%m-%d %H:%M}">\n</head>\n'
        f'<body><div class="top"><div class="logo">{portal.title}</div><ul class="nav">'
        '<li><a href="/">首页</a></li><li><a href="/news/index.html">教育动态</a></li>'
        '<li><a href="/notice/">通知公告</a></li></ul></div>\n<div class="main"><div class="article">'
        f"<h1>{_e(story.title)}</h1>"
        f'<div class="info">发布时间：{story.published:%Y-%m-%d %H:%M}　来源：{portal.county}教育局</div>\n'
        f'<div id="zoom" class="TRS_Editor">{body}</div></div>\n'
        '<div class="right"><h3>专题专栏</h3><ul><li><a href="/zt/1/">双减工作</a></li>'
        '<li><a href="/zt/2/">教育协作</a></li></ul></div></div>\n'
        f'<div class="footer"><p>版权所有：{portal.county}教育局</p></div></body></html>'
    )


def listing_path(n: int) -> str:
    return "/news/index.html" if n == 1 else f"/news/index_{n}.html"


def render_listing(portal: County, stories: tuple[Story, ...], page: int, pages: int) -> str:
    """One listing page: its articles and a link to the next page."""
    rows = "".join(
        f'<li><a href="{s.path}">{_e(s.title)}</a><span class="date">{s.published:%Y-%m-%d}</span></li>'
        for s in stories
    )
    more = f'<a href="{listing_path(page + 1)}">下一页</a>' if page < pages else ""
    return (
        f'<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>教育动态_{portal.title}</title></head>'
        f'<body><div class="header"><a href="/">{portal.title}</a></div><ul class="list">{rows}</ul>'
        f'<div class="pages">{more}</div></body></html>'
    )


def portal_pages(portal: County, listing_pages: int) -> dict[str, bytes]:
    """Every page of a portal by path: robots.txt, its listing pages and its articles."""
    pages = {"/robots.txt": ROBOTS}
    per_page = -(-len(portal.stories) // listing_pages) if portal.stories else 0
    for n in range(1, listing_pages + 1):
        chunk = portal.stories[(n - 1) * per_page : n * per_page] if per_page else ()
        pages[listing_path(n)] = render_listing(portal, chunk, n, listing_pages).encode()
    for story in portal.stories:
        pages[story.path] = render_article(portal, story).encode()
    return pages


class Traffic:
    """What the province's servers were asked, counted thread-safely."""

    def __init__(self, latency: tuple[float, float], seed: int) -> None:
        self.lock = threading.Lock()
        self.hits: list[tuple[str, str]] = []  # (host, path), in the order they came
        self.asked: Counter[tuple[str, str]] = Counter()
        self.running: Counter[str] = Counter()
        self.most: Counter[str] = Counter()
        self.latency = latency
        self.seed = seed

    def began(self, host: str, path: str) -> float:
        """Count a request that has arrived; returns how long its answer waits (seeded per host, path and
        how many times it was asked, so it is the same whatever order the requests come in)."""
        with self.lock:
            self.hits.append((host, path))
            self.asked[host, path] += 1
            self.running[host] += 1
            self.most[host] = max(self.most[host], self.running[host])
            nth = self.asked[host, path]
        low, high = self.latency
        return random.Random(f"{self.seed}:{host}:{path}:{nth}").uniform(low, high) if high > 0 else 0.0

    def ended(self, host: str) -> None:
        with self.lock:
            self.running[host] -= 1


def _handler(pages: dict[str, bytes], host: list[str], traffic: Traffic) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "CountyPortal/1.0"

        def do_GET(self) -> None:
            wait = traffic.began(host[0], self.path)
            try:
                if wait:
                    time.sleep(wait)  # the portal's own latency, before it answers
                body = pages.get(self.path.split("?", 1)[0])
                self.send_response(200 if body is not None else 404)
                kind = "text/plain" if self.path == "/robots.txt" else "text/html; charset=utf-8"
                self.send_header("Content-Type", kind)
                body = body if body is not None else b"<html><body><h1>404 Not Found</h1></body></html>"
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            finally:
                traffic.ended(host[0])

        def log_message(self, format: str, *args: object) -> None:
            pass  # quiet: the crawl logs every fetch itself

    return Handler


class Province:
    """The province's portals, served while started; use as a context manager. `base_urls` maps portal
    name -> root URL, `hosts` lists each portal's host (address:port), in portal order."""

    def __init__(
        self,
        portals: int = 12,
        articles: int = 8,
        listing_pages: int = 2,
        latency: tuple[float, float] = (0.0, 0.0),
        seed: int = 0,
    ) -> None:
        if not 1 <= portals <= MAX_PORTALS:
            raise ValueError(f"portals must be from 1 to {MAX_PORTALS}, not {portals}")
        if listing_pages < 1:
            raise ValueError(f"listing_pages must be at least 1, not {listing_pages}")
        self.portals = tuple(_county(i, articles, seed) for i in range(portals))
        self.listing_pages = listing_pages
        self.traffic = Traffic(latency, seed)
        self.servers: list[ThreadingHTTPServer] = []
        self.threads: list[threading.Thread] = []
        self.base_urls: dict[str, str] = {}
        self.hosts: list[str] = []

    def start(self) -> Province:
        for portal in self.portals:
            host: list[str] = []  # filled in once the OS has chosen the port
            server = ThreadingHTTPServer(
                (portal.address, 0), _handler(portal_pages(portal, self.listing_pages), host, self.traffic)
            )
            server.daemon_threads = True
            host.append(f"{portal.address}:{server.server_address[1]}")
            thread = threading.Thread(
                target=server.serve_forever, name=f"province-{portal.name}", daemon=True
            )
            thread.start()
            self.servers.append(server)
            self.threads.append(thread)
            self.hosts.append(host[0])
            self.base_urls[portal.name] = f"http://{host[0]}"
        return self

    def stop(self) -> None:
        for server in self.servers:
            server.shutdown()
            server.server_close()
        for thread in self.threads:
            thread.join(timeout=5)
        self.servers.clear()
        self.threads.clear()

    def __enter__(self) -> Province:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def _host(self, host: str) -> str:
        """A portal's host as the servers count it: `address:port`, also when named by address alone."""
        if ":" in host:
            return host
        return next((h for h in self.hosts if h.split(":")[0] == host), host)

    @property
    def hits(self) -> list[tuple[str, str]]:
        """Every request so far, (host, path), in the order they came."""
        with self.traffic.lock:
            return list(self.traffic.hits)

    def fetches(self, path_or_url: str) -> int:
        """How many times a URL was asked for, or a path on any portal."""
        parts = urlsplit(path_or_url)
        with self.traffic.lock:
            if parts.scheme:
                path = parts.path + (f"?{parts.query}" if parts.query else "")
                return self.traffic.asked[self._host(parts.netloc), path]
            return sum(n for (_, path), n in self.traffic.asked.items() if path == path_or_url)

    def max_concurrent(self, host: str) -> int:
        """The most requests in progress at once on a host, from a request's arrival to its answer's end."""
        with self.traffic.lock:
            return self.traffic.most[self._host(host)]

    def robots_fetches(self, host: str) -> int:
        with self.traffic.lock:
            return self.traffic.asked[self._host(host), "/robots.txt"]

    def article_urls(self) -> list[str]:
        """Every article's URL, portal by portal, newest first."""
        return [f"{self.base_urls[p.name]}{s.path}" for p in self.portals for s in p.stories]

    def sources_toml(self, max_workers: int = 1) -> str:
        """A sources file with one source per portal, at its live root URL (once started)."""
        workers = f"max_workers = {max_workers}\n" if max_workers != 1 else ""
        return "\n".join(
            f'[[source]]\nname = "{p.name}"\ntitle = "{p.title}"\n'
            f'start_urls = ["{self.base_urls[p.name]}{listing_path(1)}"]\n'
            f'allowed_domains = ["{p.address}"]\n'
            f"article_pattern = '{ARTICLE_PATTERN}'\nlisting_pattern = '{LISTING_PATTERN}'\n"
            f'schedule = "0 2 * * *"\ntimezone = "Asia/Shanghai"\n{workers}'
            for p in self.portals
        )
