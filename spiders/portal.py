"""The generic portal spider: start URLs -> listing pages (followed by `listing_pattern`) -> article pages.

Links are matched as absolute URLs without their fragment; offsite links are never followed (Scrapy's
offsite middleware, from `allowed_domains`). A source's `encoding` overrides what the server declares.

Every page asked for ends stored or as a rejection with its reason (the `page_not_fetched` signal, which
the run recorder writes and counts): a feed or sitemap that is not read (spiders.discovery: `unparsable`,
`xml_entities`, `too_large`; `truncated` when it held more entries than its cap), a download over its cap
(`too_large`), a page that is not HTML (`not_html`), a redirect back to a URL of its own chain
(`redirect_loop`) or to a page this run asks for already (`redirected`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import scrapy
from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import DownloadCancelledError, IgnoreRequest, StopDownload
from scrapy.http import Response, TextResponse
from twisted.python.failure import Failure

from crawler.vocabulary.charset import Decoded, decode_page
from crawler.vocabulary.dates import date_from_url
from crawler.vocabulary.items import PageItem
from crawler.vocabulary.pages import ARTICLE_META, CANONICAL_META, CAPTURE_META, KnownPage
from crawler.vocabulary.reasons import Reason, RefusedUrl
from crawler.vocabulary.signals import page_not_fetched
from crawler.vocabulary.sources import Source, source_from_dict
from crawler.vocabulary.urls import canonical_url, in_domains
from spiders.discovery import (
    MAX_ENTRIES,
    MAX_UNZIPPED,
    Caps,
    Discovered,
    Entry,
    Unreadable,
    listing_links,
    read_feed,
    read_sitemap,
)


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
        if isinstance(source, str):
            # A name from the command line (-a source=NAME): only `scrapy crawl` (crawler.cli.scrapycommands)
            # looks it up in the sources file, with the run record and lease a crawl needs.
            raise ValueError(f"source {source!r}: run it as `scrapy crawl portal -a source={source}`")
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
        self.known: dict[
            str, KnownPage
        ] = {}  # canonical URLs earlier runs settled (crawler.process.incremental)
        self.since = since
        self.recrawl = recrawl
        # Set by crawler.process.incremental when the last run ended early (capped, failed): page on past known
        # articles this time, to reach what that run never did.
        self.resume = False
        self.recrawl_targets: list[
            tuple[int, str]
        ] = []  # (article id, URL), filled by crawler.process.incremental
        self.caps = Caps()  # feeds and sitemaps (PAIRCHIVE_DISCOVERY_*), set from the crawl's settings

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> PortalSpider:
        spider = super().from_crawler(crawler, *args, **kwargs)
        settings = crawler.settings
        spider.caps = Caps(
            max_bytes=settings.getint("PAIRCHIVE_DISCOVERY_MAXSIZE", MAX_UNZIPPED),
            max_entries=settings.getint("PAIRCHIVE_DISCOVERY_MAX_URLS", MAX_ENTRIES),
        )
        crawler.signals.connect(spider.request_dropped, signal=signals.request_dropped)
        return spider

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
        meta: dict[str, Any] = {}
        if callback == self.parse_article:
            meta[ARTICLE_META] = True  # kept byte for byte in the run's WARC file (crawler.process.capture)
        elif callback in (self.parse_feed, self.parse_sitemap):
            # Feeds and sitemaps have their own cap, not the page cap: the protocol allows 50 MB a file.
            # No size warning below it either (0): a large sitemap is normal, one over the cap is refused.
            meta["download_maxsize"], meta["download_warnsize"] = self.caps.max_bytes, 0
        return scrapy.Request(url, callback=callback, errback=self.on_error, meta=meta or None)

    def _refuse(self, url: str, reason: Reason, detail: str) -> None:
        """Record that `url` was asked for and not stored, and why (the run recorder writes and counts it)."""
        self.crawler.signals.send_catch_log(
            signal=page_not_fetched, url=url, reason=reason, detail=detail, spider=self
        )

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
        """The page decoded once, by its real charset (crawler.vocabulary.charset), whatever it or its server declare;
        None, recorded as `not_html`, for a body that is no HTML page."""
        if not isinstance(response, TextResponse) and response.body.lstrip()[:1] != b"<":
            self.logger.warning("not an HTML page, skipped: %s", response.url)
            kind = (response.headers.get(b"Content-Type") or b"").decode("latin-1") or "no Content-Type"
            self._refuse(response.url, Reason.NOT_HTML, f"not an HTML page: {kind}")
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
                request.meta[CANONICAL_META] = canonical
                if changed and known is not None and known.article_id is not None:
                    # The feed or sitemap says the stored story changed since: a new revision, if it did.
                    request.meta["recrawl_of"] = known.article_id
                    stats.inc_value("pairchive/changed")
                yield request

    def _discovered(self, response: Response, what: str) -> Discovered | None:
        """The feed's or sitemap's entries; None when it is not read, recorded with the reason why."""
        url = (response.meta.get("redirect_urls") or [response.url])[0]  # the entry point as linked
        try:
            found = (read_feed if what == "feed" else read_sitemap)(
                response.body, self.caps, self.source.encoding
            )
        except Unreadable as refused:
            self.logger.warning("%s %s refused, %s: %s", what, url, refused.reason, refused.detail)
            self._refuse(url, refused.reason, f"{what}: {refused.detail}")
            return None
        self.logger.info("%s %s: %s of %d entries", what, response.url, found.kind, len(found.entries))
        if found.truncated:
            detail = (
                f"{what}: more than {self.caps.max_entries} entries; the first {self.caps.max_entries} read"
            )
            self.logger.warning("%s %s: %s", what, url, detail)
            self._refuse(url, Reason.TRUNCATED, detail)
        return found

    def parse_feed(self, response: Response) -> Iterator[scrapy.Request]:
        if found := self._discovered(response, "feed"):
            yield from self._articles(found.entries)

    def parse_sitemap(self, response: Response) -> Iterator[scrapy.Request]:
        found = self._discovered(response, "sitemap")
        if found is None:
            return
        if found.kind != "index":
            yield from self._articles(found.entries)
            return
        for entry in found.entries:
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
                reason=Reason.REDIRECTED,
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
            region=self.source.region,
            same_hosts=self.source.same_hosts,
            source_id=self.source_id,
            run_id=self.run_id,
            recrawl_of=response.meta.get("recrawl_of"),
            capture_id=response.meta.get(CAPTURE_META),
        )

    def request_dropped(self, request: scrapy.Request, spider: scrapy.Spider) -> None:
        """A redirect Scrapy's duplicate filter dropped: to a URL of its own chain (a loop), or to a page this
        run asks for already. Either way the URL first asked for is recorded, not lost."""
        chain = request.meta.get("redirect_urls")
        if spider is not self or not chain:
            return
        if request.url in chain:
            how = (
                "to itself"
                if chain == [request.url]
                else f"back to {request.url} after {len(chain)} redirects"
            )
            self.logger.warning("redirect loop: %s redirects %s", chain[0], how)
            self._refuse(chain[0], Reason.REDIRECT_LOOP, f"redirects {how}")
        else:
            self._refuse(chain[0], Reason.REDIRECTED, f"to {request.url}, asked for already")

    def on_error(self, failure: Failure) -> None:
        request = getattr(failure, "request", None)
        url = request.url if request is not None else "?"
        response = getattr(failure.value, "response", None)
        if refusal := self._download_refusal(failure, request):
            reason, message = refusal
            if request is not None:  # the URL asked for, not where its redirects led
                url = (request.meta.get("redirect_urls") or [url])[0]
            self.logger.warning("refused, %s: %s", message, url)
            self._refuse(url, reason, message)
            return
        if failure.check(StopDownload) and response is not None:
            kind = (response.headers.get(b"Content-Type") or b"").decode("latin-1")
            message = f"not a page, feed or sitemap: {kind}"
        elif response is not None:
            message = f"HTTP {response.status}"
        else:
            message = f"{failure.type.__name__ if failure.type else 'Error'}: {failure.getErrorMessage()}"
        reason = Reason.FAILED
        if isinstance(
            failure.value, RefusedUrl
        ):  # crawler.process.urlpolicy: another scheme, a private address
            reason, message = failure.value.reason, failure.value.detail
        elif failure.check(StopDownload):
            reason = Reason.NOT_HTML
            self.logger.info("skipped, %s: %s", message, url)
        elif failure.check(IgnoreRequest) and "robots.txt" in failure.getErrorMessage():
            reason = Reason.ROBOTS_DISALLOWED
            self.logger.info("skipped, disallowed by robots.txt: %s", url)
        else:
            self.logger.error("fetch failed: %s: %s", url, message)
        self._refuse(url, reason, message)

    def _download_refusal(
        self, failure: Failure, request: scrapy.Request | None
    ) -> tuple[Reason, str] | None:
        """(reason, detail) for a download Scrapy gave up on by design: over its size cap (as sent or as
        unpacked from its Content-Encoding), or redirected more often than REDIRECT_MAX_TIMES."""
        message = failure.getErrorMessage()
        meta = request.meta if request is not None else {}
        cap = meta.get("download_maxsize", self.crawler.settings.getint("DOWNLOAD_MAXSIZE"))
        if failure.check(DownloadCancelledError) or (
            failure.check(IgnoreRequest) and "DOWNLOAD_MAXSIZE" in message
        ):
            unpacked = " unpacked" if failure.check(IgnoreRequest) else ""
            return Reason.TOO_LARGE, f"larger{unpacked} than the download cap of {cap} bytes"
        if failure.check(IgnoreRequest) and "max redirections" in message:
            times = self.crawler.settings.getint("REDIRECT_MAX_TIMES")
            return Reason.REDIRECT_LOOP, f"redirected more than {times} times"
        return None
