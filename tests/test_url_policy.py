"""The URL policy (crawler.process.urlpolicy): only http and https are fetched, from links, redirects, feeds and
sitemaps alike; private addresses are refused when the guard is on; old captures of another scheme do not
break `warc verify` or `show --raw`."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any, ClassVar

import pytest
import sqlalchemy as sa
from scrapy import Request
from scrapy.utils.test import get_crawler

from crawler.process.urlpolicy import (
    RefusedUrl,
    UrlPolicy,
    address_refusal,
    block_mode,
    guard_on,
    is_public,
    scheme_refusal,
)
from crawler.runner.crawl import crawl as run_crawl
from crawler.vocabulary.config import AppConfig
from crawler.vocabulary.errors import PairchiveError
from crawler.vocabulary.sources import Source, parse_sources
from storage.db import close_all, open_for_writing
from storage.models import Article, Capture, Rejection
from storage.warc import WarcFile
from tests.cli import run_cli
from tests.crawls import LOOPBACK_SETTINGS, QuietHandler, answer, article_page, serve

# Links of other schemes on the portal's own host; the article pattern matches every one of them.
OTHER_SCHEME_LINKS = [
    "file://127.0.0.1/etc/passwd",
    "file://127.0.0.1/dev/zero",
    "ftp://127.0.0.1/a/2.html",
]
FEED_LINK = "ftp://127.0.0.1/a/feed.html"
SITEMAP_LINK = "file://127.0.0.1/a/sitemap.html"


class Tempting(QuietHandler):
    """A portal whose listing, feed and sitemap lead to other schemes, and one of whose links redirects
    to a local file. Every path asked for is kept on the class."""

    asked: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        type(self).asked.append(self.path)
        if self.path == "/list.html":
            links = [
                "/a/1.html",
                "/a/redirect.html",
                "http://localhost:" + str(self.headers["Host"]).rsplit(":", 1)[1] + "/a/3.html",
            ]
            links += OTHER_SCHEME_LINKS
            body = "<html><body>" + "".join(f'<a href="{u}">x</a> ' for u in links) + "</body></html>"
            answer(self, body.encode())
        elif self.path == "/a/redirect.html":
            self.send_response(302)
            self.send_header("Location", "file:///etc/passwd")
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif self.path in ("/a/1.html", "/a/3.html"):
            answer(self, article_page(self.path[3]))
        elif self.path == "/feed.xml":
            self._xml(
                '<rss version="2.0"><channel><title>t</title>'
                f"<item><title>x</title><link>{FEED_LINK}</link></item></channel></rss>"
            )
        elif self.path == "/sitemap.xml":
            self._xml(
                '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
                f"<url><loc>{SITEMAP_LINK}</loc></url></urlset>"
            )
        else:
            answer(self, b"")

    def _xml(self, text: str) -> None:
        body = ('<?xml version="1.0" encoding="utf-8"?>' + text).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/xml")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture(scope="module")
def portal() -> Iterator[str]:
    with serve(Tempting) as base:
        yield base


def _source(base: str) -> Source:
    (source,) = parse_sources(
        f'[[source]]\nname = "tempting"\nstart_urls = ["{base}/list.html"]\n'
        f'feeds = ["{base}/feed.xml"]\nsitemaps = ["{base}/sitemap.xml"]\n'
        'allowed_domains = ["127.0.0.1", "localhost"]\n'
        'article_pattern = "(/a/|passwd|/dev/)"\nschedule = "0 2 * * *"\n'
    )
    return source


def _crawl(portal: str, folder: Path, **settings: Any) -> dict[str, Any]:
    """One crawl of the tempting portal into a fresh SQLite file in `folder`, with these settings."""
    folder.mkdir(parents=True, exist_ok=True)
    Tempting.asked = []
    db = f"sqlite:///{folder / 'a.db'}"
    (run,) = run_crawl(
        AppConfig(db_url=db),
        [_source(portal)],
        settings={**LOOPBACK_SETTINGS, "RETRY_TIMES": 0, **settings},
        log_sink=None,
    )
    sessions = open_for_writing(db).sessions
    with sessions() as s:
        data = {
            "db": db,
            "folder": folder,
            "status": run.status,
            "error": run.error,
            "counts": dict(run.counts or {}),
            "rejections": {r.url: (r.reason, r.detail) for r in s.scalars(sa.select(Rejection))},
            "articles": [(a.id, a.fetched_url) for a in s.scalars(sa.select(Article))],
            "asked": list(Tempting.asked),
        }
    close_all()
    return data


@pytest.fixture(scope="module")
def crawled(portal: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return _crawl(portal, tmp_path_factory.mktemp("policy"))


def test_links_of_other_schemes_on_an_allowed_host_are_never_fetched_and_recorded_as_scheme(
    crawled: dict[str, Any],
) -> None:
    for url in OTHER_SCHEME_LINKS:
        reason, detail = crawled["rejections"][url]
        assert reason == "scheme"
        assert "only http and https" in detail
    assert all(path.startswith(("/list", "/a/", "/feed", "/sitemap", "/robots")) for path in crawled["asked"])
    assert not any("passwd" in path or "zero" in path for path in crawled["asked"])


def test_a_redirect_to_a_local_file_is_refused_as_scheme(crawled: dict[str, Any], portal: str) -> None:
    reason, detail = crawled["rejections"][f"{portal}/a/redirect.html"]
    assert reason == "scheme"
    assert "file:///etc/passwd" in detail


def test_feed_and_sitemap_entries_of_other_schemes_are_refused_as_scheme(crawled: dict[str, Any]) -> None:
    assert crawled["rejections"][FEED_LINK][0] == "scheme"
    assert crawled["rejections"][SITEMAP_LINK][0] == "scheme"


def test_refusals_are_counted_in_the_run_and_the_http_pages_still_crawl(
    crawled: dict[str, Any], portal: str
) -> None:
    assert crawled["counts"]["scheme"] == len(OTHER_SCHEME_LINKS) + 3  # the redirect, the feed, the sitemap
    assert "private_address" not in crawled["counts"]  # auto: a loopback source is not guarded
    fetched = {url for _, url in crawled["articles"]}
    assert f"{portal}/a/1.html" in fetched


def test_with_the_guard_on_a_loopback_address_is_refused_as_private_address(
    portal: str, tmp_path: Path
) -> None:
    data = _crawl(portal, tmp_path, PAIRCHIVE_BLOCK_PRIVATE_ADDRESSES="true")
    reason, detail = data["rejections"][f"{portal}/list.html"]
    assert reason == "private_address"
    assert "127.0.0.1" in detail
    assert data["counts"]["private_address"] == 3  # the listing, the feed, the sitemap
    assert data["asked"] == []  # not even robots.txt


def test_an_unknown_guard_value_fails_the_run_with_a_clear_error(portal: str, tmp_path: Path) -> None:
    data = _crawl(portal, tmp_path, PAIRCHIVE_BLOCK_PRIVATE_ADDRESSES="maybe")
    assert data["status"] == "failed"
    assert "it must be auto, true or false" in (data["error"] or "")
    assert data["asked"] == []


# -- the decision, on addresses given (no public address is reachable from the tests) --------------------


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("93.184.216.34", True),
        ("2606:2800:220:1:248:1893:25c8:1946", True),
        ("127.0.0.1", False),
        ("127.8.9.10", False),
        ("::1", False),
        ("10.1.2.3", False),
        ("172.16.0.1", False),
        ("192.168.1.1", False),
        ("fd00::1", False),
        ("169.254.169.254", False),  # link-local: cloud metadata services
        ("fe80::1%eth0", False),
        ("100.64.0.1", False),  # shared address space
        ("0.0.0.0", False),
        ("240.0.0.1", False),  # reserved
        ("224.0.0.1", False),  # multicast
        ("::ffff:127.0.0.1", False),  # loopback mapped into IPv6
        ("::ffff:93.184.216.34", True),
    ],
)
def test_an_address_is_public_only_when_globally_routable(address: str, public: bool) -> None:
    assert is_public(address) is public


def test_a_host_with_any_private_address_among_its_answers_is_refused() -> None:
    assert address_refusal("portal.example", ["93.184.216.34"]) is None
    detail = address_refusal("portal.example", ["93.184.216.34", "10.0.0.7"])
    assert detail == "portal.example resolves to 10.0.0.7, not a public address"


def test_auto_guards_a_source_whose_entry_points_are_public_and_no_other() -> None:
    assert guard_on("auto", ["93.184.216.34"]) is True
    assert guard_on("auto", ["93.184.216.34", "192.168.0.2"]) is False  # an intranet source
    assert guard_on("auto", ["127.0.0.1"]) is False  # the loopback demo
    assert guard_on("auto", []) is False  # its entry point does not resolve: the crawl fails anyway
    assert guard_on("true", ["127.0.0.1"]) is True
    assert guard_on("false", ["93.184.216.34"]) is False


@pytest.mark.parametrize(
    ("value", "mode"), [("auto", "auto"), ("TRUE", "true"), (False, "false"), ("0", "false")]
)
def test_the_guard_setting_takes_auto_true_or_false(value: object, mode: str) -> None:
    assert block_mode(value) == mode


def test_another_guard_value_is_an_error_naming_the_setting() -> None:
    with pytest.raises(PairchiveError, match="PAIRCHIVE_BLOCK_PRIVATE_ADDRESSES"):
        block_mode("sometimes")


def test_only_http_and_https_pass_the_scheme_rule() -> None:
    assert scheme_refusal("http://a.example/") is None
    assert scheme_refusal("HTTPS://a.example/") is None
    for url in ("file:///etc/passwd", "ftp://a.example/x", "s3://bucket/key", "data:,hi", "gopher://a/"):
        assert scheme_refusal(url)


def test_a_public_portal_linking_into_its_own_intranet_by_dns_is_refused() -> None:
    """The middleware's decision with resolved answers given: the URL's text says nothing private."""
    policy = UrlPolicy(get_crawler(), "auto")
    policy.resolved = {
        "www.portal.example": ("93.184.216.34",),
        "intranet.portal.example": ("10.20.30.40",),
        "rebind.portal.example": ("93.184.216.35", "127.0.0.1"),
    }
    spider = SimpleNamespace(
        source=SimpleNamespace(start_urls=("http://www.portal.example/",), feeds=(), sitemaps=())
    )
    asyncio.run(policy.process_request(Request("http://www.portal.example/a/1.html"), spider))  # type: ignore[arg-type]
    for host in ("intranet.portal.example", "rebind.portal.example"):
        with pytest.raises(RefusedUrl) as refused:
            asyncio.run(policy.process_request(Request(f"http://{host}/a/1.html"), spider))  # type: ignore[arg-type]
        assert refused.value.reason == "private_address"
    assert policy.guard is True


# -- captures of another scheme already in an archive --------------------------------------------------------


@pytest.fixture
def archive_with_a_file_capture(crawled: dict[str, Any], tmp_path: Path) -> dict[str, Any]:
    """A copy of the crawl's archive in which the stored article's capture is of a local file, as an
    older crawl could have written it."""
    shutil.copytree(crawled["folder"], tmp_path / "copy")
    db = f"sqlite:///{tmp_path / 'copy' / 'a.db'}"
    warc = WarcFile(tmp_path / "copy" / "warc", "tempting/pairchive-old-run0.warc.gz", {"software": "old"})
    pointer = warc.write(
        url="file:///etc/passwd",
        fetched_at=datetime.now(UTC),
        method="GET",
        request_headers=[],
        request_body=b"",
        protocol="",
        status=200,
        response_headers=[],
        body=b"root:x:0:0:root:/root:/bin/sh\n",
    )
    warc.close()
    article_id = crawled["articles"][0][0]
    sessions = open_for_writing(db).sessions
    with sessions.begin() as s:
        others = s.scalar(sa.select(sa.func.count()).select_from(Capture))
        capture = Capture(
            run_id=None,
            url="file:///etc/passwd",
            http_status=200,
            warc_file=pointer.warc_file,
            offset=pointer.offset,
            length=pointer.length,
            request_offset=pointer.request_offset,
            request_length=pointer.request_length,
            record_id=pointer.record_id,
            payload_digest=pointer.payload_digest,
        )
        s.add(capture)
        s.flush()
        capture_id = capture.id
        s.get_one(Article, article_id).capture_id = capture_id
    close_all()
    return {"db": db, "capture_id": capture_id, "article_id": article_id, "others": others}


def test_warc_verify_reports_a_capture_of_another_scheme_in_one_line_and_goes_on(
    archive_with_a_file_capture: dict[str, Any],
) -> None:
    archive = archive_with_a_file_capture
    result = run_cli("warc", "verify", "--db", archive["db"])
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    lines = result.stdout.splitlines()
    bad = [line for line in lines if line.startswith("capture ")]
    assert bad == [
        f"capture {archive['capture_id']} (file:///etc/passwd): tempting/pairchive-old-run0.warc.gz: "
        f"the record at {bad[0].split(' at ')[1].split(' ')[0]} is of file:///etc/passwd, not an HTTP response"
    ]
    assert lines[-1].startswith(f"checked {archive['others'] + 1} capture(s)")


def test_show_raw_of_a_capture_of_another_scheme_is_one_line(
    archive_with_a_file_capture: dict[str, Any],
) -> None:
    archive = archive_with_a_file_capture
    result = run_cli("show", str(archive["article_id"]), "--raw", "--db", archive["db"])
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.strip().splitlines() == [
        result.stderr.strip(),
    ]
    assert "is of file:///etc/passwd, not an HTTP response" in result.stderr


def test_scrapys_handlers_of_other_schemes_are_off() -> None:
    from crawler import settings

    assert settings.DOWNLOAD_HANDLERS == {"file": None, "ftp": None, "s3": None, "data": None}
    assert settings.PAIRCHIVE_BLOCK_PRIVATE_ADDRESSES == "auto"
    assert settings.TWISTED_DNS_RESOLVER == "crawler.process.urlpolicy.GuardedResolver"
    assert (
        min(order for order in settings.DOWNLOADER_MIDDLEWARES.values() if order is not None)  # None: off
        == settings.DOWNLOADER_MIDDLEWARES["crawler.process.urlpolicy.UrlPolicy"]
    )


def test_a_guarded_host_whose_answer_turns_private_at_connection_time_fails_to_resolve() -> None:
    """DNS rebinding: the check saw a public address, the connection is given a loopback one."""
    from scrapy.resolver import dnscache
    from twisted.internet.error import DNSLookupError
    from twisted.python.failure import Failure

    from crawler.process.urlpolicy import GuardedResolver

    resolver = GuardedResolver(None, 10, 1.0)  # type: ignore[arg-type]
    dnscache["rebind.portal.example"] = "127.0.0.1"
    dnscache["www.portal.example"] = "93.184.216.34"
    dnscache["intranet.example"] = "10.0.0.1"
    resolver.guard("rebind.portal.example")
    resolver.guard("www.portal.example")
    outcomes: dict[str, Any] = {}

    def keep(result: Any, host: str) -> None:
        outcomes[host] = result

    for host in ("rebind.portal.example", "www.portal.example", "intranet.example"):
        resolver.getHostByName(host).addBoth(keep, host)
    failure = outcomes["rebind.portal.example"]
    assert isinstance(failure, Failure) and failure.check(DNSLookupError)
    assert "not a public address" in failure.getErrorMessage()
    assert outcomes["www.portal.example"] == "93.184.216.34"
    assert outcomes["intranet.example"] == "10.0.0.1"  # a host never guarded: as Scrapy resolves it
