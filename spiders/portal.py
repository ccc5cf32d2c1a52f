"""The generic portal spider: start URLs -> listing pages (followed by `listing_pattern`) -> article pages.

Links are matched as absolute URLs without their fragment; offsite links are never followed (Scrapy's
offsite middleware, from `allowed_domains`). A source's `encoding` overrides what the server declares.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import scrapy
from scrapy.exceptions import IgnoreRequest, StopDownload
from scrapy.http import Response, TextResponse
from twisted.python.failure import Failure

from crawler.capture import ARTICLE_META, CAPTURE_META
from crawler.charset import Decoded, decode_page
from crawler.incremental import KnownPage
from crawler.items import PageItem
from crawler.signals import page_not_fetched
from crawler.sources import Source, source_from_dict
from crawler.urlpolicy import RefusedUrl
from crawler.urls import canonical_url, in_domains
from pipelines.dates import date_from_url
from spiders.discovery import Entry, feed_entries, listing_links, sitemap_entries


class PortalSpider(scrapy.Spider):
    name = "portal"

    def __init__(
        self,
        source: dict[str, Any] | Source,
        source_id: int | None = None,
        run_id: int | None = None,
        since: date | None = None,
        recrawl: bool = False,
        **kwargs: Any,
    ) -> None:
        self.source = source if isinstance(source, Source) else source_from_dict(source)
        super().__init__(name=self.source.name, **kwargs)
        self.source_id = source_id
        self.run_id = run_id
        self.allowed_domains = list(self.source.allowed_domains)
        self.start_urls = list(self.source.start_urls)
        self.article_re = self.source.article_re
        self.listing_re = self.source.listing_re
        self.requested: set[str] = set()  # page URLs asked for, when the source caps a run's pages
        self.cap_reached = False
        self.time_up = False
        self.asked: set[str] = set()  # canonical article URLs already requested or skipped this run
        self.started = datetime.now(UTC)
        self.known: dict[str, KnownPage] = {}  # canonical URLs earlier runs settled (crawler.incremental)
        self.since = since
        self.recrawl = recrawl
        # Set by crawler.incremental when the last run ended early (capped, failed): page on past known
        # articles this time, to reach what that run never did.
        self.resume = False
        self.recrawl_targets: list[tuple[int, str]] = []  # (article id, URL), filled by crawler.incremental

    def _request(self, url: str, callback: Any) -> scrapy.Request | None:
        """A request for `url`, or None once the source's `max_pages` unique pages have been asked for
        or its `max_minutes` have passed (what is in flight then still completes)."""
        if self.source.max_minutes is not None:
            elapsed = (datetime.now(UTC) - self.started).total_seconds() / 60
            if elapsed > self.source.max_minutes:
                if not self.time_up:
                    self._capped()
                    self.logger.info(
                        "time cap of %g min reached; not following %s and later links",
                        self.source.max_minutes,
                        url,
                    )
                    self.time_up = True
                return None
        cap = self.source.max_pages
        if cap is not None and url not in self.requested:
            if len(self.requested) >= cap:
                if not self.cap_reached:
                    self._capped()
                    self.logger.info("page cap of %d reached; not following %s and later links", cap, url)
                    self.cap_reached = True
                return None
            self.requested.add(url)
        # Article pages are kept byte for byte in the run's WARC file (crawler.capture).
        meta = {ARTICLE_META: True} if callback == self.parse_article else None
        return scrapy.Request(url, callback=callback, errback=self.on_error, meta=meta)

    def _capped(self) -> None:
        if self.crawler.stats is not None:
            self.crawler.stats.set_value("pairchive/capped", True)

    async def start(self) -> AsyncIterator[scrapy.Request]:
        if self.recrawl:
            # Only the stored articles, again: each page's text is compared with its newest revision.
            for article_id, url in self.recrawl_targets:
                if request := self._request(url, self.parse_article):
                    request.meta["recrawl_of"] = article_id
                    yield request
            return
        entry_points = [
            *((url, self.parse_listing) for url in self.start_urls),
            *((url, self.parse_feed) for url in self.source.feeds),
            *((url, self.parse_sitemap) for url in self.source.sitemaps),
        ]
        for url, callback in entry_points:
            if request := self._request(url, callback):
                yield request

    def _decode(self, response: Response) -> Decoded | None:
        """The page decoded once, by its real charset (crawler.charset), whatever it or its server declare."""
        if not isinstance(response, TextResponse) and response.body.lstrip()[:1] != b"<":
            self.logger.warning("not an HTML page, skipped: %s", response.url)
            return None
        content_type = (response.headers.get(b"Content-Type") or b"").decode("latin-1")
        decoded = decode_page(response.body, content_type, self.source.encoding)
        if decoded.reason != "declared":
            self.logger.debug("%s read as %s: %s", response.url, decoded.charset, decoded.reason)
        return decoded

    def _before_since(self, dated: datetime | None) -> bool:
        """Whether `dated` falls on a day (in the portal's time zone) before --since."""
        if self.since is None or dated is None:
            return False
        return dated.astimezone(ZoneInfo(self.source.timezone)).date() < self.since

    def _skip_article(self, url: str, dated: datetime | None = None) -> str | None:
        """Why a new article link need not be fetched this run (too old), or None.

        `dated` is what a feed or sitemap says of the link; else the date in the URL, if any.
        """
        if self.since is not None and self._before_since(
            dated or date_from_url(url, ZoneInfo(self.source.timezone))
        ):
            return "too_old"
        return None

    def _articles(self, entries: Iterable[Entry]) -> Iterator[scrapy.Request]:
        """Requests for the article links among `entries` that are on the portal and not yet settled."""
        stats = self.crawler.stats
        assert stats is not None
        for entry in entries:
            url = entry.url.split("#", 1)[0]
            if not in_domains(url, self.allowed_domains) or not self.article_re.search(url):
                continue
            # One fetch per page, however it is linked: tracking parameters, fragments, case of the host.
            canonical = canonical_url(url, self.source.same_hosts)
            if canonical in self.asked:
                continue  # met before this run (a listing page and a feed): counted once
            self.asked.add(canonical)
            known = self.known.get(canonical)
            # A date later than the last fetch says the page changed; one in the future says nothing.
            changed = (
                known is not None
                and entry.date is not None
                and known.fetched_at < entry.date <= datetime.now(UTC) + timedelta(days=1)
            )
            if known is not None and not changed:
                stats.inc_value("pairchive/skipped/known")
            elif skip := self._skip_article(url, entry.date):
                stats.inc_value(f"pairchive/skipped/{skip}")
            elif request := self._request(url, self.parse_article):
                if changed and known is not None and known.article_id is not None:
                    # The feed or sitemap says the stored story changed since: a new revision, if it did.
                    request.meta["recrawl_of"] = known.article_id
                    stats.inc_value("pairchive/changed")
                yield request

    def parse_feed(self, response: Response) -> Iterator[scrapy.Request]:
        entries = feed_entries(response.body)
        self.logger.info("feed %s: %d items", response.url, len(entries))
        yield from self._articles(entries)

    def parse_sitemap(self, response: Response) -> Iterator[scrapy.Request]:
        kind, entries = sitemap_entries(response.body)
        self.logger.info("sitemap %s: %s of %d entries", response.url, kind, len(entries))
        if kind != "index":
            yield from self._articles(entries)
            return
        for entry in entries:
            if not in_domains(entry.url, self.allowed_domains):
                continue
            if self._before_since(entry.date):
                continue  # a child sitemap last changed before --since holds nothing newer
            if request := self._request(entry.url, self.parse_sitemap):
                yield request

    def parse_listing(self, response: Response) -> Iterator[scrapy.Request]:
        decoded = self._decode(response)
        if decoded is None:
            return
        links = listing_links(decoded.text, response.url, self.source)
        new = 0
        for request in self._articles(Entry(url) for url in links.articles):
            new += 1
            yield request
        self.logger.info(
            "listing %s: %d article links (%d new), %d listing links",
            response.url,
            len(links.articles),
            new,
            len(links.listings),
        )
        if links.articles and not new and self.source.stop_at_known and not self.resume:
            self.logger.info("every article on %s is known or too old: not paging further", response.url)
            return
        for url in links.listings:
            if next_page := self._request(url, self.parse_listing):
                yield next_page

    def parse_article(self, response: Response) -> Iterator[PageItem]:
        for linked in response.meta.get("redirect_urls", ())[:1]:
            # The link the portal lists still redirects here: settle it too, or every run fetches it again.
            self.crawler.signals.send_catch_log(
                signal=page_not_fetched,
                url=linked,
                reason="redirected",
                detail=f"to {response.url}",
                spider=self,
            )
        decoded = self._decode(response)
        if decoded is None:
            return
        yield PageItem(
            url=response.url,
            source=self.source.name,
            html=decoded.text,
            http_status=response.status,
            charset=decoded.charset,
            fetched_at=datetime.now(UTC),
            timezone=self.source.timezone,
            same_hosts=self.source.same_hosts,
            source_id=self.source_id,
            run_id=self.run_id,
            recrawl_of=response.meta.get("recrawl_of"),
            capture_id=response.meta.get(CAPTURE_META),
        )

    def on_error(self, failure: Failure) -> None:
        request = getattr(failure, "request", None)
        url = request.url if request is not None else "?"
        response = getattr(failure.value, "response", None)
        if failure.check(StopDownload) and response is not None:
            kind = (response.headers.get(b"Content-Type") or b"").decode("latin-1")
            message = f"not a page, feed or sitemap: {kind}"
        elif response is not None:
            message = f"HTTP {response.status}"
        else:
            message = f"{failure.type.__name__ if failure.type else 'Error'}: {failure.getErrorMessage()}"
        reason = "failed"
        if isinstance(failure.value, RefusedUrl):  # crawler.urlpolicy: another scheme, a private address
            reason, message = failure.value.reason, failure.value.detail
        elif failure.check(StopDownload):
            reason = "not_html"
            self.logger.info("skipped, %s: %s", message, url)
        elif failure.check(IgnoreRequest) and "robots.txt" in failure.getErrorMessage():
            reason = "robots_disallowed"
            self.logger.info("skipped, disallowed by robots.txt: %s", url)
        else:
            self.logger.error("fetch failed: %s: %s", url, message)
        self.crawler.signals.send_catch_log(
            signal=page_not_fetched, url=url, reason=reason, detail=message, spider=self
        )
