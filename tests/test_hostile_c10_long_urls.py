"""Class 10 of the hostile web (tests.hostile.c10_long_urls): URLs longer than 2,000 characters are stored on
PostgreSQL as on SQLite, and a link or redirect over URLLENGTH_LIMIT is a recorded rejection
(`url_too_long`), never a silent drop; the schema change keeps every stored row."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command

from crawler.process.urlpolicy import length_refusal, redirect_refusal
from crawler.runner.crawl import crawl as run_crawl
from crawler.vocabulary.config import AppConfig
from crawler.vocabulary.sources import Source, parse_sources
from storage.archive import insert_article, record_rejection, record_sighting, start_run, upsert_sources
from storage.db import alembic_config, close_all, current_revision, head_revision, open_for_writing
from storage.models import Article, Capture, Rejection, Sighting, url_hash
from storage.outcomes import Reason
from tests.crawls import LOOPBACK_SETTINGS
from tests.hostile import HostileWeb
from tests.hostile.c10_long_urls import (
    LINK_LENGTH,
    LONG,
    REDIRECT,
    REDIRECT_LENGTH,
    REFRESH,
    REFRESH_TARGET,
    STORED_LENGTH,
    TARGET,
    TOO_LONG,
    padded,
)

EARLIER_URL = "http://portal.example/edu/" + "p" * 2400 + ".html"  # stored before the crawl


def _source(hostile: HostileWeb) -> Source:
    (source,) = parse_sources(
        f'[[source]]\nname = "long-urls"\nstart_urls = ["{hostile.url(10, "list.html")}"]\n'
        'article_pattern = "/c10/a/"\n'
    )
    return source


def _article(source_id: int, run_id: int, url: str, n: int) -> dict[str, Any]:
    now = datetime(2026, 12, 1, tzinfo=UTC)
    return {
        "source_id": source_id,
        "run_id": run_id,
        "url": url,
        "fetched_url": url,
        "title": f"结对 {n}",
        "published": None,
        "author": None,
        "source_name": None,
        "language": "zh-Hans",
        "text": f"两地学校结对帮扶 {n}",
        "relevance": 1.0,
        "is_pairing": True,
        "relevance_terms": [],
        "content_hash": f"{n:064d}",
        "charset": "utf-8",
        "http_status": 200,
        "first_seen": now,
    }


def _store_earlier(db_url: str) -> None:
    """An article stored before the crawl, at a URL no VARCHAR(2000) column would take."""
    sessions = open_for_writing(db_url).sessions
    with sessions.begin() as s:
        ids = upsert_sources(s, [{"name": "earlier", "title": "Earlier"}])
        run_id = start_run(s, ids["earlier"], "cli")
        assert insert_article(s, _article(ids["earlier"], run_id, EARLIER_URL, 1)) is not None


def _crawl(hostile: HostileWeb, db_url: str, data_dir: Path) -> dict[str, Any]:
    (run,) = run_crawl(
        AppConfig(db_url=db_url, data_dir=str(data_dir)),
        [_source(hostile)],
        settings={**LOOPBACK_SETTINGS, "RETRY_TIMES": 0},
        log_sink=None,
    )
    sessions = open_for_writing(db_url).sessions
    with sessions() as s:
        found = {
            "status": run.status,
            "counts": dict(run.counts or {}),
            "articles": sorted(a.fetched_url for a in s.scalars(sa.select(Article))),
            "sightings": sorted(x.url for x in s.scalars(sa.select(Sighting))),
            "captures": sorted(c.url for c in s.scalars(sa.select(Capture))),
            "rejections": sorted(
                (r.url, r.reason, r.detail)
                for r in s.scalars(sa.select(Rejection).where(Rejection.run_id == run.run_id))
            ),
        }
    close_all()
    return found


def _asked(hostile: HostileWeb, path: str) -> bool:
    return any(p.split("?", 1)[0] == f"/c10/{path}" for p in hostile.asked)


def test_a_2050_character_url_is_stored_and_longer_links_and_redirects_are_refused_alike_on_both_databases(
    hostile: HostileWeb, db_url: str, tmp_path: Path
) -> None:
    base = hostile.base
    _store_earlier(db_url)
    found = _crawl(hostile, db_url, tmp_path)
    long_url = padded(base, LONG, STORED_LENGTH)
    assert len(long_url) == STORED_LENGTH
    # the same on SQLite and PostgreSQL: what is stored, what is refused and why
    assert found["status"] == "ok"
    assert found["articles"] == sorted([EARLIER_URL, long_url])
    assert found["sightings"] == sorted([EARLIER_URL, long_url])
    assert found["captures"] == sorted([long_url, hostile.url(10, REFRESH)])  # the refresh page was read
    too_long = padded(base, TOO_LONG, LINK_LENGTH)
    refresh_target = padded(base, REFRESH_TARGET, REDIRECT_LENGTH)
    assert [(url, reason) for url, reason, _ in found["rejections"]] == sorted(
        [
            (too_long, "url_too_long"),
            (hostile.url(10, REDIRECT), "url_too_long"),
            (refresh_target, "url_too_long"),  # a meta refresh's target, under its own URL
        ]
    )
    details = {url: detail for url, _, detail in found["rejections"]}
    assert details[too_long] == f"URL of {LINK_LENGTH} characters, over URLLENGTH_LIMIT (2083)"
    assert details[hostile.url(10, REDIRECT)].endswith(
        f"URL of {REDIRECT_LENGTH} characters, over URLLENGTH_LIMIT (2083)"
    )
    assert padded(base, TARGET, REDIRECT_LENGTH)[:200] in details[hostile.url(10, REDIRECT)]
    assert found["counts"]["stored"] == 1
    assert found["counts"]["url_too_long"] == 3
    assert found["counts"]["failed"] == 0
    # no URL over the limit was ever asked for; the redirecting pages were
    assert not any(_asked(hostile, path) for path in (TOO_LONG, TARGET, REFRESH_TARGET))
    assert _asked(hostile, REDIRECT) and _asked(hostile, REFRESH)


def test_a_second_crawl_knows_the_long_url_and_refuses_the_long_ones_again(
    hostile: HostileWeb, db_url: str, tmp_path: Path
) -> None:
    _crawl(hostile, db_url, tmp_path)
    again = _crawl(hostile, db_url, tmp_path)
    assert again["status"] == "ok"
    assert again["counts"].get("stored", 0) == 0
    assert again["counts"]["known"] == 1  # the 2,050-character article, settled by the first run
    assert again["counts"]["url_too_long"] == 3  # refused again: a higher URLLENGTH_LIMIT would fetch them
    assert again["articles"] == [padded(hostile.base, LONG, STORED_LENGTH)]


def test_with_a_higher_limit_the_redirect_is_followed_and_stored_on_both_databases(
    hostile: HostileWeb, db_url: str, tmp_path: Path
) -> None:
    (run,) = run_crawl(
        AppConfig(db_url=db_url, data_dir=str(tmp_path)),
        [_source(hostile)],
        settings={**LOOPBACK_SETTINGS, "RETRY_TIMES": 0, "URLLENGTH_LIMIT": 4000},
        log_sink=None,
    )
    sessions = open_for_writing(db_url).sessions
    with sessions() as s:
        fetched = set(s.scalars(sa.select(Article.fetched_url)))
        hashes = set(s.scalars(sa.select(Article.url_hash)))
    close_all()
    assert run.status == "ok"
    target = padded(hostile.base, TARGET, REDIRECT_LENGTH)
    assert target in fetched and padded(hostile.base, TOO_LONG, LINK_LENGTH) in fetched
    assert padded(hostile.base, REFRESH_TARGET, REDIRECT_LENGTH) in fetched
    assert len(hashes) == len(fetched) == 4


def test_a_url_is_stored_once_by_its_hash_however_long(db_url: str) -> None:
    sessions = open_for_writing(db_url).sessions
    url = "http://portal.example/" + "q" * 5000
    with sessions.begin() as s:
        ids = upsert_sources(s, [{"name": "p", "title": "P"}])
        run_id = start_run(s, ids["p"], "cli")
        first = insert_article(s, _article(ids["p"], run_id, url, 1))
        assert first is not None
        assert insert_article(s, _article(ids["p"], run_id, url, 2)) is None  # same URL, another text
        seen = datetime(2026, 12, 2, tzinfo=UTC)
        story_id = s.get_one(Article, first).story_id
        record_sighting(
            s,
            story_id=story_id,
            article_id=first,
            source_id=ids["p"],
            url=url,
            fetched_url=url,
            seen_at=seen,
            run_id=run_id,
        )
        record_rejection(s, run_id, url + "/r", Reason.URL_TOO_LONG, "URL of 5002 characters", None)
    with sessions() as s:
        (sighting,) = s.scalars(sa.select(Sighting)).all()
        assert sighting.url == url and sighting.url_hash == url_hash(url)
        assert sighting.last_seen == seen
        assert s.scalar(sa.select(Rejection.url)) == url + "/r"


def test_the_migration_to_text_urls_keeps_every_row_both_ways(db_url: str) -> None:
    database = open_for_writing(db_url)
    engine, sessions = database.engine, database.sessions
    url = "http://portal.example/edu/" + "m" * 1900 + ".html"
    with sessions.begin() as s:
        ids = upsert_sources(s, [{"name": "p", "title": "P"}])
        run_id = start_run(s, ids["p"], "cli")
        for n in range(3):
            assert insert_article(s, _article(ids["p"], run_id, f"{url}?n={n}", n)) is not None
        record_rejection(s, run_id, url, Reason.NOT_PAIRING, "score 0.1", "标题")
    cfg = alembic_config(engine)
    command.downgrade(cfg, "0008")
    assert current_revision(engine) == "0008"
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM articles")).scalar() == 3
        assert conn.execute(sa.text("SELECT count(*) FROM sightings")).scalar() == 3
        assert conn.execute(sa.text("SELECT count(*) FROM article_revisions")).scalar() == 3
    command.upgrade(cfg, "head")
    assert current_revision(engine) == head_revision()
    with sessions() as s:
        articles = s.scalars(sa.select(Article).order_by(Article.id)).all()
        assert [a.url for a in articles] == [f"{url}?n={n}" for n in range(3)]
        assert all(a.url_hash == url_hash(a.url) for a in articles)
        assert all(x.url_hash == url_hash(x.url) for x in s.scalars(sa.select(Sighting)))
        assert s.scalar(sa.select(Rejection.url)) == url
        assert s.scalar(sa.select(sa.func.count()).select_from(sa.table("article_revisions"))) == 3


@pytest.mark.parametrize(
    ("url", "limit", "refused"),
    [
        ("http://a.example/" + "x" * 2066, 2083, False),  # 2,083 characters: Scrapy's limit, allowed
        ("http://a.example/" + "x" * 2067, 2083, True),
        ("http://a.example/" + "x" * 9000, 0, False),  # 0: no limit, as in Scrapy
    ],
)
def test_a_url_over_urllength_limit_is_refused_and_one_at_it_is_not(
    url: str, limit: int, refused: bool
) -> None:
    assert (length_refusal(url, limit) is not None) is refused


def test_a_redirect_target_is_judged_by_scheme_then_length() -> None:
    assert redirect_refusal("http://a.example/x", 2083) is None
    reason, detail = redirect_refusal("ftp://a.example/" + "x" * 3000, 2083) or ("", "")
    assert reason == "scheme" and len(detail) < 300
    reason, detail = redirect_refusal("http://a.example/" + "x" * 3000, 2083) or ("", "")
    assert reason == "url_too_long" and detail.endswith("URL of 3017 characters, over URLLENGTH_LIMIT (2083)")
