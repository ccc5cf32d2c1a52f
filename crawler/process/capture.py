"""Raw captures: a downloader middleware that writes every fetched article page into the run's WARC file.

It sits just outside the stock decompression middleware (590), so it sees the body as the server sent it
(still gzip when the server sent gzip) and only final responses (redirects are followed further out, at
600). Each capture becomes a `captures` row; the page's item carries that row's id to the article, the
revision or the rejection it ends in. A page whose capture cannot be written (a full disk) is failed, not
stored without its bytes, and the run ends there, marked failed: the next run fetches the page again.

A worker of a distributed run (`PAIRCHIVE_WORKER_ID` set) writes WARC files of its own, the worker's id in
their names, on a data directory the workers may share: two workers of one run never append to one file.
"""

from __future__ import annotations

import hashlib
import logging
import re
from datetime import UTC, datetime
from pathlib import Path

from scrapy import Request, Spider, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest, NotConfigured
from scrapy.http import Response
from scrapy.utils.defer import deferred_from_coro

from crawler import __version__
from crawler.vocabulary.pages import ARTICLE_META, CAPTURE_META
from storage.db import open_for_writing
from storage.models import Capture
from storage.warc import WarcError, WarcFile

logger = logging.getLogger(__name__)

STOP_REASON = "raw_capture_failed"  # the run's finish reason when a capture cannot be written

# A worker id in a file name: what storage.warc lets through, and short enough that the name stays under
# the 255 bytes a file system allows (a source name, a run id and a host name of 120 characters fit).
UNSAFE_IN_NAME = re.compile(r"[^A-Za-z0-9._-]+")
WORKER_NAME_CHARS = 120


def worker_part(worker: str) -> str:
    """`worker` as a part of a WARC file name: every run of other characters one `-` (`host-a:1234` ->
    `host-a-1234`); a longer id is cut and ends with a digest of the whole, so it stays its own."""
    safe = UNSAFE_IN_NAME.sub("-", worker)
    if len(safe) > WORKER_NAME_CHARS:
        digest = hashlib.sha256(worker.encode("utf-8")).hexdigest()[:12]
        safe = f"{safe[: WORKER_NAME_CHARS - 13]}-{digest}"
    return safe


def warc_name(source: str, started: datetime, run_id: int | None, worker: str) -> str:
    """The run's WARC file under the WARC directory; a worker's carries its id (`worker_part`)."""
    name = f"{source}/pairchive-{started:%Y%m%d%H%M%S}-run{run_id if run_id is not None else 'x'}"
    return f"{name}-w-{worker_part(worker)}.warc.gz" if worker else f"{name}.warc.gz"


def _pairs(headers: object) -> list[tuple[str, str]]:
    out = []
    for name, values in headers.items():  # type: ignore[attr-defined]
        for value in values:
            out.append((name.decode("latin-1"), value.decode("latin-1")))
    return out


class WarcCapture:
    def __init__(self, crawler: Crawler, root: Path) -> None:
        self.crawler = crawler
        self.root = root
        self.db_url: str = crawler.settings["PAIRCHIVE_DB"]
        self.worker: str = crawler.settings.get("PAIRCHIVE_WORKER_ID") or ""
        self.file: WarcFile | None = None
        self.stopping = False

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> WarcCapture:
        root = crawler.settings.get("PAIRCHIVE_WARC_DIR")
        if not root:
            raise NotConfigured("no PAIRCHIVE_WARC_DIR: raw captures are not kept")
        mw = cls(crawler, Path(root))
        crawler.signals.connect(mw.spider_closed, signal=signals.spider_closed)
        return mw

    def _file(self, spider: Spider) -> WarcFile:
        if self.file is None:
            run_id = getattr(spider, "run_id", None)
            name = warc_name(spider.name, datetime.now(UTC), run_id, self.worker)
            self.file = WarcFile(
                self.root,
                name,
                {
                    "software": f"pairchive/{__version__}",
                    "format": "WARC File Format 1.1",
                    "conformsTo": "https://iipc.github.io/warc-specifications/specifications/warc-format/warc-1.1/",
                    "isPartOf": f"source {spider.name}, crawl run {run_id}"
                    + (f", worker {self.worker}" if self.worker else ""),
                    "http-header-user-agent": self.crawler.settings.get("USER_AGENT", ""),
                    "robots": "obey" if self.crawler.settings.getbool("ROBOTSTXT_OBEY") else "ignore",
                },
            )
        return self.file

    def process_response(
        self, request: Request, response: Response, spider: Spider | None = None
    ) -> Response:
        spider = spider or self.crawler.spider
        assert spider is not None
        if not request.meta.get(ARTICLE_META) or not 200 <= response.status < 300:
            return response
        fetched_at = datetime.now(UTC)
        try:
            pointer = self._file(spider).write(
                url=response.url,
                fetched_at=fetched_at,
                method=request.method,
                request_headers=_pairs(request.headers),
                request_body=request.body,
                protocol=getattr(response, "protocol", None) or "HTTP/1.1",
                status=response.status,
                response_headers=_pairs(response.headers),
                body=response.body,
            )
        except WarcError as exc:
            logger.error("%s", exc)
            if not self.stopping and self.crawler.engine is not None:
                # Every later page would fail the same way (a full disk): end the run, marked failed.
                self.stopping = True
                if self.crawler.stats is not None:
                    self.crawler.stats.set_value("pairchive/stopped_by", str(exc))
                deferred_from_coro(self.crawler.engine.close_spider_async(reason=STOP_REASON))
            raise IgnoreRequest(str(exc)) from exc
        run_id = getattr(spider, "run_id", None)
        sessions = open_for_writing(self.db_url).sessions
        with sessions.begin() as session:
            capture = Capture(
                run_id=run_id,
                url=response.url,
                http_status=response.status,
                fetched_at=fetched_at,
                warc_file=pointer.warc_file,
                offset=pointer.offset,
                length=pointer.length,
                request_offset=pointer.request_offset,
                request_length=pointer.request_length,
                record_id=pointer.record_id,
                payload_digest=pointer.payload_digest,
                worker=self.worker or None,
            )
            session.add(capture)
            session.flush()
            request.meta[CAPTURE_META] = capture.id
        return response

    def spider_closed(self, spider: Spider) -> None:
        if self.file is not None:
            self.file.close()
