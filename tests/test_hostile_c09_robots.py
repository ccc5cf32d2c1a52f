"""Class 9 of the hostile web (tests.hostile.c09_robots): a robots.txt that never answers is one warning line
in the crawl's log, never a traceback, and the portal is crawled as if it allowed everything (Scrapy's
choice, kept), robots.txt asked for once."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from crawler.process.robots import failure_line
from crawler.runner.crawl import crawl as run_crawl
from crawler.vocabulary.config import AppConfig
from crawler.vocabulary.sources import parse_sources
from storage.db import close_all, open_for_writing
from storage.models import Article
from tests.crawls import LOOPBACK_SETTINGS
from tests.hostile import HostileWeb
from tests.hostile.c09_robots import robots_web

ROBOTS_TIMEOUT = 2  # seconds the crawl waits for the silent robots.txt (DOWNLOAD_TIMEOUT)


def _crawl(web: HostileWeb, tmp_path: Path, **settings: Any) -> dict[str, Any]:
    (source,) = parse_sources(
        f'[[source]]\nname = "silent-robots"\nstart_urls = ["{web.url(9, "list.html")}"]\n'
        'article_pattern = "/c09/a/"\n'
    )
    db = f"sqlite:///{tmp_path / 'a.db'}"
    log = io.StringIO()
    (run,) = run_crawl(
        AppConfig(db_url=db, data_dir=str(tmp_path)),
        [source],
        settings={**LOOPBACK_SETTINGS, "DOWNLOAD_TIMEOUT": ROBOTS_TIMEOUT, **settings},
        log_sink=log,
    )
    sessions = open_for_writing(db).sessions
    with sessions() as s:
        stored = list(s.scalars(sa.select(Article.fetched_url)))
    close_all()
    return {"status": run.status, "counts": dict(run.counts or {}), "stored": stored, "log": log.getvalue()}


def test_a_robots_txt_that_never_answers_is_one_warning_line_and_the_portal_is_crawled(
    tmp_path: Path,
) -> None:
    with robots_web() as web:
        found = _crawl(web, tmp_path)
        asked = web.asked
    assert found["status"] == "ok"
    assert found["stored"] == [web.url(9, "a/1.html")]
    assert found["counts"]["failed"] == 0
    lines = [line for line in found["log"].splitlines() if "robots.txt" in line]
    assert len(lines) == 1, found["log"]
    assert " WARNING " in lines[0]
    assert f"{web.base}/robots.txt could not be fetched (DownloadTimeoutError: " in lines[0]
    assert f"crawling {web.base.removeprefix('http://')} as if robots.txt allowed everything" in lines[0]
    assert "Traceback" not in found["log"]
    assert " ERROR " not in found["log"]
    assert asked.count("/robots.txt") == 1  # asked once, not retried: the host is held up for one timeout


def test_retries_of_pages_do_not_retry_the_silent_robots_txt(tmp_path: Path) -> None:
    with robots_web() as web:
        found = _crawl(web, tmp_path, RETRY_TIMES=3)
        asked = web.asked
    assert asked.count("/robots.txt") == 1
    assert found["stored"] == [web.url(9, "a/1.html")]


def test_a_robots_txt_that_answers_is_still_obeyed(hostile: HostileWeb, tmp_path: Path) -> None:
    # the shared hostile web answers robots.txt with a 404: everything allowed, nothing said
    found = _crawl(hostile, tmp_path)
    assert found["stored"] == [hostile.url(9, "a/1.html")]
    assert "robots.txt could not be fetched" not in found["log"]


def test_a_failure_is_said_in_its_first_line_with_its_type() -> None:
    assert failure_line(TimeoutError("took longer than 2.0 seconds.\nmore")) == (
        "TimeoutError: took longer than 2.0 seconds."
    )
    assert failure_line(ConnectionResetError()) == "ConnectionResetError"
