"""The URL policy: which requests a crawl may make at all, whatever asked for them.

A downloader middleware early in the chain sees every request (links, redirects, feed and sitemap entries,
start URLs) and every redirect response. It refuses:

- a scheme other than http and https (`scheme`): a page must not make the crawler read a local file, an
  FTP server or a device, whose host an allowed domain may well name;
- a host that resolves to a loopback, private, link-local or otherwise non-public address
  (`private_address`), when the guard is on: a portal on the public internet must not lead the crawler into
  the network it runs in. `PAIRCHIVE_BLOCK_PRIVATE_ADDRESSES` is `auto` (on when the source's own entry
  points resolve to public addresses only, so an intranet or loopback source still crawls), `true` or
  `false`. What counts is what the host resolves to, not how the URL spells it;
- a URL longer than Scrapy's `URLLENGTH_LIMIT` (2,083 characters; 0: no limit) (`url_too_long`). Scrapy's
  own URL length middleware drops such links without a word and does not look at redirects at all; it is
  off (crawler.settings), and the limit is kept here for every request.

Redirects are judged before they are followed: `RedirectTargets`, just outside the stock redirect
middleware, refuses a 3xx whose target is of another scheme, too long or off the source's allowed domains
(`offsite`, as the offsite middleware judges it), in the name of the page that was asked for (the
redirected request would otherwise be recorded under the target's URL, or not at all).

The check resolves the host itself (getaddrinfo, every answer); the connection then resolves it again.
So that an answer changing in between (DNS rebinding) still cannot reach a private address, the crawl's
resolver (`GuardedResolver`, TWISTED_DNS_RESOLVER) fails the connection to a host the policy guarded when
the answer it connects to is not public.

A refusal is a `RefusedUrl` (an IgnoreRequest with its `Reason`); the spider records it as a rejection
with that reason, so it is counted in the run like any page that was not fetched.
"""

from __future__ import annotations

import ipaddress
import logging
import socket
from collections.abc import Iterable, Sequence
from typing import Any
from urllib.parse import urljoin, urlsplit

from scrapy import Request, Spider
from scrapy.crawler import Crawler
from scrapy.http import Response
from scrapy.resolver import CachingThreadedResolver
from scrapy.utils.defer import maybe_deferred_to_future
from twisted.internet.defer import Deferred
from twisted.internet.error import DNSLookupError
from twisted.internet.threads import deferToThread
from w3lib.url import safe_url_string

from crawler.vocabulary.errors import PairchiveError
from crawler.vocabulary.reasons import Reason, RefusedUrl
from crawler.vocabulary.urls import in_domains

logger = logging.getLogger(__name__)

SCHEMES = frozenset({"http", "https"})
MODES = {"auto": "auto", "true": "true", "1": "true", "yes": "true", "on": "true"}
MODES |= {"false": "false", "0": "false", "no": "false", "off": "false"}
REDIRECTS = frozenset({301, 302, 303, 307, 308})  # the statuses Scrapy's redirect middleware follows
CACHE_HOSTS = 10_000  # resolved hosts kept per crawl; the cache starts over past it


def block_mode(value: Any) -> str:
    """`auto`, `true` or `false` from the setting's value (a bool, or its text in any case)."""
    mode = MODES.get(str(value).strip().lower())
    if mode is None:
        raise PairchiveError(
            f"PAIRCHIVE_BLOCK_PRIVATE_ADDRESSES is {value!r}; it must be auto, true or false"
        )
    return mode


def length_refusal(url: str, limit: int) -> str | None:
    """Why `url` is not fetched for its length (over `limit` characters; 0: no limit), or None."""
    if not limit or len(url) <= limit:
        return None
    return f"URL of {len(url)} characters, over URLLENGTH_LIMIT ({limit})"


def shown(url: str, at_most: int = 200) -> str:
    """`url` cut to its first `at_most` characters, for a rejection's one-line detail."""
    return url if len(url) <= at_most else url[:at_most] + "..."


def redirect_refusal(target: str, limit: int) -> tuple[Reason, str] | None:
    """(reason, detail) of a redirect to `target` that is not followed, or None."""
    if detail := scheme_refusal(target):
        return Reason.SCHEME, f"redirect to {shown(target)}: {detail}"
    if detail := length_refusal(target, limit):
        return Reason.URL_TOO_LONG, f"redirect to {shown(target)}: {detail}"
    return None


def _count_refusal(crawler: Crawler, reason: Reason, detail: str, url: str) -> RefusedUrl:
    if crawler.stats is not None:
        crawler.stats.inc_value(f"pairchive/refused/{reason}")
    logger.info("refused, %s: %s", detail, shown(url))
    return RefusedUrl(reason, detail)


def scheme_refusal(url: str) -> str | None:
    """Why `url` is not fetched for its scheme, or None for http and https."""
    scheme = urlsplit(url).scheme.lower()
    if scheme in SCHEMES:
        return None
    return f"{scheme or 'no'} scheme: only http and https are fetched"


def is_public(address: str) -> bool:
    """Whether an IP address is a public (globally routable unicast) one: not loopback, private,
    link-local, shared, reserved, unspecified or multicast. An IPv4 address mapped into IPv6 counts as
    itself."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])  # an IPv6 zone (fe80::1%eth0) is not part of it
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def address_refusal(host: str, addresses: Iterable[str]) -> str | None:
    """Why `host` is not fetched, given the addresses it resolves to (any one not public refuses it)."""
    for address in addresses:
        if not is_public(address):
            return f"{host} resolves to {address}, not a public address"
    return None


def guard_on(mode: str, entry_addresses: Sequence[str]) -> bool:
    """Whether private addresses are refused for a source whose entry points resolve to `entry_addresses`:
    always (`true`), never (`false`), or (`auto`) when they are all public, and there are some."""
    if mode != "auto":
        return mode == "true"
    return bool(entry_addresses) and all(is_public(a) for a in entry_addresses)


def resolve(host: str) -> tuple[str, ...]:
    """Every address `host` resolves to (an IP literal is itself); empty when it does not resolve."""
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        return ()
    return tuple(dict.fromkeys(str(info[4][0]) for info in infos))


def public_or_fail(address: str, host: str) -> str:
    """`address` when it is public; else a DNSLookupError naming the host and the address."""
    if not is_public(address):
        raise DNSLookupError(f"{host} resolves to {address}, not a public address")
    return address


class GuardedResolver(CachingThreadedResolver):
    """Scrapy's caching resolver, which also fails a connection to a host the URL policy guarded when the
    address it is about to connect to is not public."""

    guarded: set[str]

    def guard(self, host: str) -> None:
        if not hasattr(self, "guarded"):
            self.guarded = set()
        self.guarded.add(host.lower())

    def getHostByName(self, name: str, timeout: Sequence[int] = ()) -> Deferred[str]:
        answer = super().getHostByName(name, timeout)
        if name.lower() in getattr(self, "guarded", ()):
            answer.addCallback(public_or_fail, name)
        return answer


class UrlPolicy:
    """The downloader middleware: refuses other schemes, and private addresses when the guard is on."""

    def __init__(self, crawler: Crawler, mode: str) -> None:
        self.crawler = crawler
        self.mode = mode
        self.max_length = crawler.settings.getint("URLLENGTH_LIMIT")
        self.guard: bool | None = None  # decided on the first request, from the source's entry points
        self.resolved: dict[str, tuple[str, ...]] = {}

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> UrlPolicy:
        return cls(crawler, block_mode(crawler.settings.get("PAIRCHIVE_BLOCK_PRIVATE_ADDRESSES", "auto")))

    async def _addresses(self, host: str) -> tuple[str, ...]:
        if host not in self.resolved:
            if len(self.resolved) >= CACHE_HOSTS:
                self.resolved.clear()
            # getaddrinfo blocks: off the reactor's thread
            self.resolved[host] = await maybe_deferred_to_future(deferToThread(resolve, host))
        return self.resolved[host]

    async def _guard(self, spider: Spider | None) -> bool:
        if self.guard is None:
            self.guard = self.mode == "true"
            if self.mode == "auto":
                source = getattr(spider, "source", None)
                urls = [*source.start_urls, *source.feeds, *source.sitemaps] if source is not None else []
                entry: list[str] = []
                for host in dict.fromkeys(urlsplit(u).hostname or "" for u in urls):
                    entry.extend(await self._addresses(host) if host else ())
                self.guard = guard_on(self.mode, entry)
            logger.info("private addresses are %s", "refused" if self.guard else "allowed")
        return self.guard

    def _refuse(self, reason: Reason, detail: str, url: str) -> RefusedUrl:
        return _count_refusal(self.crawler, reason, detail, url)

    async def process_request(self, request: Request, spider: Spider | None = None) -> None:
        if detail := scheme_refusal(request.url):
            raise self._refuse(Reason.SCHEME, detail, request.url)
        if detail := length_refusal(request.url, self.max_length):
            raise self._refuse(Reason.URL_TOO_LONG, detail, request.url)
        if self.mode == "false" or not await self._guard(spider or self.crawler.spider):
            return
        host = urlsplit(request.url).hostname or ""
        if detail := address_refusal(host, await self._addresses(host)):
            raise self._refuse(Reason.PRIVATE_ADDRESS, detail, request.url)
        from twisted.internet import reactor  # here: importing it installs one, before Scrapy chose its own

        resolver = getattr(reactor, "resolver", None)
        if isinstance(resolver, GuardedResolver):
            resolver.guard(host)


class RedirectTargets:
    """The downloader middleware that sees a redirect before the stock redirect middleware follows it:
    a target of another scheme, longer than URLLENGTH_LIMIT or off the source's allowed domains refuses
    the page that was asked for."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.max_length = crawler.settings.getint("URLLENGTH_LIMIT")

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RedirectTargets:
        return cls(crawler)

    def process_response(
        self, request: Request, response: Response, spider: Spider | None = None
    ) -> Response:
        location = response.headers.get(b"Location") if response.status in REDIRECTS else None
        if location and not request.meta.get("dont_redirect"):
            # as the stock middleware reads it: percent-encoded, so its length is the request's
            target = urljoin(request.url, safe_url_string(location.strip()))
            if refusal := redirect_refusal(target, self.max_length):
                raise _count_refusal(self.crawler, *refusal, request.url)
            if self._offsite(request, target, spider or self.crawler.spider):
                # the offsite middleware would drop the redirected request when it is scheduled, counted
                # but never recorded; counted as it counts (the run's `offsite`, links and redirects), once
                if self.crawler.stats is not None:
                    self.crawler.stats.inc_value("offsite/filtered")
                detail = f"redirect to {shown(target)}: not on the source's allowed domains"
                raise _count_refusal(self.crawler, Reason.OFFSITE, detail, request.url)
        return response

    @staticmethod
    def _offsite(request: Request, target: str, spider: Spider | None) -> bool:
        """Whether the offsite middleware would drop the request redirected to `target`: one that keeps
        the request's dont_filter and meta, off the spider's allowed domains (none: every host is)."""
        domains = list(getattr(spider, "allowed_domains", None) or [])
        if not domains or request.dont_filter or request.meta.get("allow_offsite"):
            return False
        return not in_domains(target, domains)
