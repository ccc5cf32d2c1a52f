"""`sources check`: fetch a source's entry points once and show what its patterns match.

For an operator adding a portal: a wrong pattern is caught before the first nightly run, not after a month
of empty runs. Plain blocking HTTP (one page at a time, the crawl's User-Agent); nothing is stored.
"""

from __future__ import annotations

import urllib.request
import urllib.robotparser
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.error import URLError
from urllib.parse import urlsplit

from scrapy.exceptions import DropItem

from crawler.charset import decode_page
from crawler.items import PageItem
from crawler.sources import Source
from crawler.urls import in_domains
from pipelines.page import process_page
from spiders.discovery import (
    MAX_UNZIPPED,
    ListingLinks,
    Unreadable,
    feed_entries,
    listing_links,
    sitemap_entries,
)

SAMPLE = 5
TIMEOUT = 30
PAGE_LIMIT = 8 * 1024 * 1024  # a crawl's DOWNLOAD_MAXSIZE


@dataclass
class EntryPointReport:
    url: str
    kind: str  # listing, feed, sitemap
    error: str | None = None
    article_links: list[str] = field(default_factory=list)
    listing_links: list[str] = field(default_factory=list)
    other_links: int = 0


@dataclass
class CheckReport:
    source: str
    entry_points: list[EntryPointReport]
    article: PageItem | None = None
    article_error: str | None = None


class RobotsDisallowed(ValueError):
    """The portal's robots.txt does not let us fetch this URL."""


_ROBOTS: dict[str, urllib.robotparser.RobotFileParser] = {}


def _allowed(url: str, user_agent: str) -> bool:
    """What the crawl's robots.txt middleware would decide (an unreachable robots.txt allows all)."""
    parts = urlsplit(url)
    root = f"{parts.scheme}://{parts.netloc}"
    if root not in _ROBOTS:
        parser = urllib.robotparser.RobotFileParser(root + "/robots.txt")
        try:
            body, _ = _get(root + "/robots.txt", user_agent)
            parser.parse(body.decode("utf-8", "replace").splitlines())
        except (URLError, OSError, ValueError):
            parser.parse([])
        _ROBOTS[root] = parser
    return _ROBOTS[root].can_fetch(user_agent, url)


def _fetch(url: str, user_agent: str, limit: int = PAGE_LIMIT) -> tuple[bytes, str]:
    if not _allowed(url, user_agent):
        raise RobotsDisallowed("disallowed by robots.txt")
    return _get(url, user_agent, limit)


def _get(url: str, user_agent: str, limit: int = PAGE_LIMIT) -> tuple[bytes, str]:
    """At most `limit` + 1 bytes of the answer: one more than the cap says it is over the cap."""
    request = urllib.request.Request(url, headers={"User-Agent": user_agent})
    with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
        return response.read(limit + 1), response.headers.get("Content-Type", "")


def check_source(source: Source, user_agent: str) -> CheckReport:
    reports: list[EntryPointReport] = []
    kinds = [("listing", u) for u in source.start_urls] + [("feed", u) for u in source.feeds]
    kinds += [("sitemap", u) for u in source.sitemaps]
    for kind, url in kinds:
        report = EntryPointReport(url=url, kind=kind)
        reports.append(report)
        try:
            body, content_type = _fetch(url, user_agent, PAGE_LIMIT if kind == "listing" else MAX_UNZIPPED)
        except (URLError, OSError, ValueError) as exc:
            report.error = str(getattr(exc, "reason", exc))
            continue
        if kind == "listing":
            text = decode_page(body, content_type, source.encoding).text
            found = listing_links(text, url, source)
        else:
            try:
                if len(body) > MAX_UNZIPPED:  # a crawl's cap for feeds and sitemaps (spiders.discovery)
                    raise Unreadable("too_large", f"more than the cap of {MAX_UNZIPPED} bytes")
                entries = feed_entries(body) if kind == "feed" else sitemap_entries(body)[1]
            except Unreadable as refused:  # a crawl refuses it too, with this reason
                report.error = f"refused, {refused.reason}: {refused.detail}"
                continue
            found = ListingLinks([], [], 0)
            for entry in entries:
                if in_domains(entry.url, source.allowed_domains) and source.article_re.search(entry.url):
                    found.articles.append(entry.url)
                else:
                    found.other += 1
        report.article_links = list(dict.fromkeys(found.articles))
        report.listing_links = list(dict.fromkeys(found.listings))
        report.other_links = found.other
    result = CheckReport(source=source.name, entry_points=reports)
    first = next((link for r in reports for link in r.article_links), None)
    if first is None:
        result.article_error = "no link matched article_pattern"
        return result
    try:
        body, content_type = _fetch(first, user_agent)
        decoded = decode_page(body, content_type, source.encoding)
        item = PageItem(
            url=first,
            source=source.name,
            html=decoded.text,
            http_status=200,
            charset=decoded.charset,
            fetched_at=datetime.now(UTC),
            timezone=source.timezone,
        )
        result.article = process_page(item)
    except (URLError, OSError, ValueError) as exc:
        result.article_error = f"{first}: {getattr(exc, 'reason', exc)}"
    except DropItem as exc:
        result.article_error = f"{first}: {exc}"
    return result
