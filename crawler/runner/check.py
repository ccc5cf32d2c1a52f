"""`sources check`: fetch a source's entry points once and show what its patterns match.

For an operator adding a portal: a wrong pattern is caught before the first nightly run, not after a month
of empty runs. Plain blocking HTTP (one page at a time, the crawl's User-Agent); nothing is stored.

It keeps the crawl's URL policy (crawler.process.urlpolicy): every URL it fetches (entry point, robots.txt, the
article) and every redirect target is refused when of another scheme than http and https, longer than
URLLENGTH_LIMIT or, when the private-address guard applies to the source (PAIRCHIVE_BLOCK_PRIVATE_ADDRESSES
in crawler/settings.py, the crawl's rule), on a host resolving to a non-public address; a redirect off the
source's allowed domains is not followed either. Each refusal is one line, "refused, <reason>: <detail>".
"""

from __future__ import annotations

import http.client
import socket
import urllib.request
import urllib.robotparser
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.client import HTTPMessage
from typing import IO, Any
from urllib.error import URLError
from urllib.parse import urljoin, urlsplit

from scrapy.exceptions import DropItem
from scrapy.settings import Settings
from w3lib.url import safe_url_string

from crawler.process.health import READ_PAGES, PageHealth
from crawler.process.politeness import WANTED_TYPES
from crawler.process.urlpolicy import (
    address_refusal,
    block_mode,
    guard_on,
    is_public,
    length_refusal,
    redirect_refusal,
    resolve,
    scheme_refusal,
    shown,
)
from crawler.vocabulary.charset import decode_page
from crawler.vocabulary.items import PageItem
from crawler.vocabulary.reasons import Reason, Rejected
from crawler.vocabulary.sources import Source
from crawler.vocabulary.urls import in_domains
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
# Article pages `--against-history` reads: twice the least a verdict judges, a minute or so on a slow portal.
HEALTH_SAMPLE = 10
MAX_LISTINGS = 10  # listing pages it pages through to find them
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


class Refused(ValueError):
    """A URL or redirect target the crawl's URL policy would not fetch: `reason` is its reason word."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"refused, {reason}: {detail}")
        self.reason = reason
        self.detail = detail


class Policy:
    """The crawl's URL policy for one source's check: schemes, length, allowed domains for redirects, and
    private addresses when the guard applies (decided as the crawl does, from the entry points' DNS)."""

    def __init__(self, source: Source, mode: str, max_length: int) -> None:
        self.source = source
        self.mode = mode
        self.max_length = max_length
        self.resolved: dict[str, tuple[str, ...]] = {}
        self._guard: bool | None = None

    def addresses(self, host: str) -> tuple[str, ...]:
        if host not in self.resolved:
            self.resolved[host] = resolve(host) if host else ()
        return self.resolved[host]

    @property
    def guard(self) -> bool:
        if self._guard is None:
            entry: list[str] = []
            if self.mode == "auto":
                urls = [*self.source.start_urls, *self.source.feeds, *self.source.sitemaps]
                for host in dict.fromkeys(urlsplit(u).hostname or "" for u in urls):
                    entry.extend(self.addresses(host))
            self._guard = guard_on(self.mode, entry)
        return self._guard

    def check(self, url: str) -> None:
        """Raise Refused when the crawl would not fetch `url`."""
        if detail := scheme_refusal(url):
            raise Refused(Reason.SCHEME, f"{shown(url)}: {detail}")
        if detail := length_refusal(url, self.max_length):
            raise Refused(Reason.URL_TOO_LONG, f"{shown(url)}: {detail}")
        self._check_address(url, "")

    def check_redirect(self, target: str) -> None:
        """Raise Refused when the crawl would not follow a redirect to `target`."""
        if refusal := redirect_refusal(target, self.max_length):
            raise Refused(*refusal)
        if not in_domains(target, self.source.allowed_domains):
            raise Refused(Reason.OFFSITE, f"redirect to {shown(target)}: not on the source's allowed domains")
        self._check_address(target, "redirect to ")

    def _check_address(self, url: str, prefix: str) -> None:
        if self.mode == "false" or not self.guard:
            return
        host = urlsplit(url).hostname or ""
        if detail := address_refusal(host, self.addresses(host)):
            raise Refused(Reason.PRIVATE_ADDRESS, f"{prefix}{shown(url)}: {detail}")


class _Redirects(urllib.request.HTTPRedirectHandler):
    """urllib's redirect handler, which first puts each target to the policy (urllib alone would follow a
    redirect to any host, and to ftp:)."""

    def __init__(self, policy: Policy) -> None:
        self.policy = policy

    def http_error_302(
        self, req: urllib.request.Request, fp: IO[bytes], code: int, msg: str, headers: HTTPMessage
    ) -> Any:
        location = headers.get("Location") or headers.get("URI")
        if location:
            # as the crawl's redirect middleware reads it: percent-encoded, joined to the page asked for
            self.policy.check_redirect(urljoin(req.full_url, safe_url_string(location.strip())))
        return super().http_error_302(req, fp, code, msg, headers)

    http_error_301 = http_error_303 = http_error_307 = http_error_308 = http_error_302


def _connection(base: type[http.client.HTTPConnection], policy: Policy, req: urllib.request.Request) -> Any:
    """`base`, or when the guard applies and the connection goes to the URL's own host (no proxy), `base`
    that refuses a connection to a non-public address: a DNS answer that turned private after the policy
    resolved the host (DNS rebinding) does not reach it, as the crawl's GuardedResolver."""
    if req.host != urlsplit(req.full_url).netloc or policy.mode == "false" or not policy.guard:
        return base

    class Guarded(base):  # type: ignore[valid-type,misc]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._create_connection = self._connect_public  # an attribute of each connection

        def _connect_public(self, address: Any, *args: Any) -> socket.socket:
            sock = socket.create_connection(address, *args)
            peer = str(sock.getpeername()[0])
            if not is_public(peer):
                sock.close()
                raise Refused(Reason.PRIVATE_ADDRESS, f"{self.host} connects to {peer}, not a public address")
            return sock

    return Guarded


class _Http(urllib.request.HTTPHandler):
    def __init__(self, policy: Policy) -> None:
        super().__init__()
        self.policy = policy

    def http_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        return self.do_open(_connection(http.client.HTTPConnection, self.policy, req), req)


class _Https(urllib.request.HTTPSHandler):
    def __init__(self, policy: Policy) -> None:
        super().__init__()
        self.policy = policy

    def https_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        guarded = _connection(http.client.HTTPSConnection, self.policy, req)
        return self.do_open(guarded, req)  # the default context, as urlopen's


def _opener(policy: Policy) -> urllib.request.OpenerDirector:
    """http and https only (no file:, ftp: or data: handler at all), redirects put to the policy."""
    opener = urllib.request.OpenerDirector()
    for handler in (
        urllib.request.ProxyHandler(),
        _Http(policy),
        _Https(policy),
        urllib.request.HTTPDefaultErrorHandler(),
        _Redirects(policy),
        urllib.request.HTTPErrorProcessor(),
    ):
        opener.add_handler(handler)
    return opener


def project_policy(source: Source, mode: str | None = None) -> Policy:
    """The policy as a crawl of `source` would apply it, from the project's settings (crawler/settings.py);
    `mode` overrides PAIRCHIVE_BLOCK_PRIVATE_ADDRESSES."""
    settings = Settings()
    settings.setmodule("crawler.settings", priority="project")
    chosen = block_mode(settings.get("PAIRCHIVE_BLOCK_PRIVATE_ADDRESSES") if mode is None else mode)
    return Policy(source, chosen, settings.getint("URLLENGTH_LIMIT"))


def crawl_user_agent(contact_url: str, overrides: Mapping[str, Any] | None = None) -> str:
    """The User-Agent a crawl sends, made as the crawl process makes it (crawler.process.worker): the one of
    crawler/settings.py with the configured contact URL, unless `-s USER_AGENT=` (`overrides`) replaces it."""
    # Here, not at the top: the crawl process's module brings the spider and Scrapy's engine, which every
    # other `pairchive` command would then load at start for nothing.
    from crawler.process.worker import build_settings

    job = {"db_url": "", "contact_url": contact_url, "settings": dict(overrides or {})}
    return str(build_settings(job).get("USER_AGENT"))


_ROBOTS: dict[str, urllib.robotparser.RobotFileParser] = {}


def _allowed(url: str, user_agent: str, policy: Policy) -> bool:
    """What the crawl's robots.txt middleware would decide (an unreachable robots.txt allows all)."""
    parts = urlsplit(url)
    root = f"{parts.scheme}://{parts.netloc}"
    if root not in _ROBOTS:
        parser = urllib.robotparser.RobotFileParser(root + "/robots.txt")
        try:
            body, _ = _get(root + "/robots.txt", user_agent, policy)
            parser.parse(body.decode("utf-8", "replace").splitlines())
        except (URLError, OSError, ValueError):
            parser.parse([])
        _ROBOTS[root] = parser
    return _ROBOTS[root].can_fetch(user_agent, url)


def _fetch(url: str, user_agent: str, policy: Policy, limit: int = PAGE_LIMIT) -> tuple[bytes, str]:
    policy.check(url)  # before robots.txt: a URL the crawl would not fetch is not even asked about
    if not _allowed(url, user_agent, policy):
        raise RobotsDisallowed("disallowed by robots.txt")
    return _get(url, user_agent, policy, limit)


def _get(url: str, user_agent: str, policy: Policy, limit: int = PAGE_LIMIT) -> tuple[bytes, str]:
    """At most `limit` + 1 bytes of the answer: one more than the cap says it is over the cap."""
    policy.check(url)
    request = urllib.request.Request(url, headers={"User-Agent": user_agent})
    with _opener(policy).open(request, timeout=TIMEOUT) as response:
        return response.read(limit + 1), response.headers.get("Content-Type", "")


def check_source(source: Source, user_agent: str, block_private: str | None = None) -> CheckReport:
    """`block_private` (auto, true, false) overrides PAIRCHIVE_BLOCK_PRIVATE_ADDRESSES of the settings."""
    policy = project_policy(source, block_private)
    reports: list[EntryPointReport] = []
    kinds = [("listing", u) for u in source.start_urls] + [("feed", u) for u in source.feeds]
    kinds += [("sitemap", u) for u in source.sitemaps]
    for kind, url in kinds:
        report = EntryPointReport(url=url, kind=kind)
        reports.append(report)
        try:
            body, content_type = _fetch(
                url, user_agent, policy, PAGE_LIMIT if kind == "listing" else MAX_UNZIPPED
            )
        except Refused as refused:
            report.error = str(refused)
            continue
        except (URLError, OSError, ValueError) as exc:
            report.error = str(getattr(exc, "reason", exc))
            continue
        if kind == "listing":
            text = decode_page(body, content_type, source.encoding).text
            found = listing_links(text, url, source)
        else:
            try:
                if len(body) > MAX_UNZIPPED:  # a crawl's cap for feeds and sitemaps (spiders.discovery)
                    raise Unreadable(Reason.TOO_LARGE, f"more than the cap of {MAX_UNZIPPED} bytes")
                entries = (
                    feed_entries(body, encoding=source.encoding)
                    if kind == "feed"
                    else sitemap_entries(body, encoding=source.encoding)[1]
                )
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
        result.article = process_page(_article(first, source, user_agent, policy))
    except Refused as refused:
        result.article_error = str(refused)
    except (URLError, OSError, ValueError) as exc:
        result.article_error = f"{first}: {getattr(exc, 'reason', exc)}"
    except DropItem as exc:
        result.article_error = f"{first}: {exc}"
    return result


def _article(url: str, source: Source, user_agent: str, policy: Policy) -> PageItem:
    """An article page fetched and decoded as the crawl would, for the stages to read."""
    body, content_type = _fetch(url, user_agent, policy)
    kind = content_type.lower()
    if kind and not any(wanted in kind for wanted in WANTED_TYPES):  # a crawl stops it at its headers
        raise Refused(Reason.NOT_HTML, f"{url}: {content_type}")
    decoded = decode_page(body, content_type, source.encoding)
    return PageItem(
        url=url,
        source=source.name,
        html=decoded.text,
        http_status=200,
        charset=decoded.charset,
        fetched_at=datetime.now(UTC),
        timezone=source.timezone,
    )


def sample_health(
    source: Source,
    report: CheckReport,
    user_agent: str,
    block_private: str | None = None,
    sample: int = HEALTH_SAMPLE,
) -> tuple[dict[str, Any], list[str]]:
    """The extraction health (crawler.process.health) of the first `sample` article pages the check's
    entry points link to, read by the stages as a crawl reads them (no dedup: nothing is stored), and a
    line for each page that could not be read."""
    policy = project_policy(source, block_private)
    counted = PageHealth()
    unread: list[str] = []
    links = _article_links(source, report, user_agent, policy, sample)
    for url in links[:sample]:
        try:
            item = _article(url, source, user_agent, policy)
        except Refused as refused:
            unread.append(f"{url}: {refused}")
            continue
        except (URLError, OSError, ValueError) as exc:
            unread.append(f"{url}: {getattr(exc, 'reason', exc)}")
            continue
        try:
            counted.count(process_page(item), None)
        except Rejected as exc:  # the stages change the item in place: it is as they left it
            if exc.reason in READ_PAGES:
                counted.count(item, exc.reason)
    return counted.health(), unread


def _article_links(
    source: Source, report: CheckReport, user_agent: str, policy: Policy, wanted: int
) -> list[str]:
    """The entry points' article links and, while they are fewer than `wanted`, those of the listing
    pages they lead to (a crawl's paging), at most MAX_LISTINGS of them."""
    links = [link for r in report.entry_points for link in r.article_links]
    queue = [link for r in report.entry_points for link in r.listing_links]
    seen = {r.url for r in report.entry_points}
    while queue and len(set(links)) < wanted and len(seen) < MAX_LISTINGS + len(report.entry_points):
        url = queue.pop(0)
        if url in seen:
            continue
        seen.add(url)
        try:
            body, content_type = _fetch(url, user_agent, policy)
        except (URLError, OSError, ValueError):  # Refused is a ValueError: a page the crawl skips too
            continue
        found = listing_links(decode_page(body, content_type, source.encoding).text, url, source)
        links += found.articles
        queue += found.listings
    return list(dict.fromkeys(links))
