"""The daemon's jobs: one cron job per source, in the source's time zone; driven without waiting."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from apscheduler.schedulers.background import BackgroundScheduler

import scheduler
from crawler.sampleweb import SampleWeb
from crawler.vocabulary.config import AppConfig
from crawler.vocabulary.sources import _cron_days, cron_trigger, parse_sources
from storage.db import close_all, open_for_writing
from storage.models import CrawlRun
from tests.crawls import demo_sources

SOURCES = parse_sources(
    """
[[source]]
name = "nightly"
start_urls = ["http://a.example/edu/"]
article_pattern = "/edu/"
schedule = "0 2 * * *"
timezone = "Asia/Shanghai"

[[source]]
name = "weekly"
start_urls = ["http://b.example/edu/"]
article_pattern = "/edu/"
schedule = "30 4 * * 1"
timezone = "Europe/Berlin"
"""
)


def _jobs() -> dict[str, Any]:
    sched = BackgroundScheduler(timezone="UTC")
    scheduler.add_jobs(sched, AppConfig(db_url="sqlite:///x.db", sources_path="s.toml"), SOURCES)
    return {job.id: job for job in sched.get_jobs()}


@pytest.mark.parametrize(
    "dow, expected",
    [
        ("1", "mon"),
        ("0", "sun"),
        ("7", "sun"),
        ("1-5", "mon,tue,wed,thu,fri"),
        ("0,6", "sun,sat"),
        ("*", "*"),
        ("*/2", "sun,tue,thu,sat"),
        ("mon-fri", "mon-fri"),
        ("1-5/2", "mon,wed,fri"),
    ],
)
def test_crontab_days_of_week_mean_what_cron_means(dow: str, expected: str) -> None:
    assert _cron_days(dow) == expected


def test_a_day_of_week_out_of_range_is_rejected() -> None:
    with pytest.raises(ValueError, match="bad day of week"):
        cron_trigger("0 2 * * 8", "UTC")


def test_one_job_per_source_with_explicit_ids_and_limits() -> None:
    jobs = _jobs()
    assert sorted(jobs) == ["crawl:nightly", "crawl:weekly"]
    for job in jobs.values():
        assert job.coalesce is True and job.max_instances == 1
        assert job.misfire_grace_time == scheduler.MISFIRE_GRACE_SECONDS
        assert job.func is scheduler.run_source


def test_jobs_fire_at_the_sources_local_times() -> None:
    jobs = _jobs()
    now = datetime(2026, 11, 24, 0, 0, tzinfo=UTC)  # a Tuesday
    nightly = jobs["crawl:nightly"].trigger.get_next_fire_time(None, now)
    weekly = jobs["crawl:weekly"].trigger.get_next_fire_time(None, now)
    assert nightly.astimezone(UTC) == datetime(2026, 11, 24, 18, 0, tzinfo=UTC)  # 02:00 in Shanghai
    assert weekly.astimezone(UTC) == datetime(2026, 11, 30, 3, 30, tzinfo=UTC)  # Monday 04:30 in Berlin


def test_readding_jobs_replaces_them() -> None:
    sched = BackgroundScheduler(timezone="UTC")
    sched.start(paused=True)  # a running (paused) scheduler: replace_existing applies to its job store
    try:
        cfg = AppConfig(db_url="sqlite:///x.db", sources_path="s.toml")
        scheduler.add_jobs(sched, cfg, SOURCES)
        scheduler.add_jobs(sched, cfg, SOURCES)
        assert len(sched.get_jobs()) == 2
    finally:
        sched.shutdown(wait=False)


def test_the_job_runs_one_real_crawl_and_records_it_as_scheduled(
    sample_web: SampleWeb, tmp_path: Path
) -> None:
    sources = demo_sources(sample_web, tmp_path)
    cfg = AppConfig(db_url=f"sqlite:///{tmp_path / 'a.db'}", sources_path=str(sources))
    loopback = {"AUTOTHROTTLE_ENABLED": False, "DOWNLOAD_DELAY": 0}
    assert scheduler.run_source(asdict(cfg), "linxia-news", loopback) == "ok"
    sessions = open_for_writing(cfg.db_url).sessions
    with sessions() as s:
        (run,) = s.scalars(sa.select(CrawlRun)).all()
        assert (run.trigger, run.status, run.exit_code) == ("schedule", "ok", 0)
        assert run.counts["stored"] == 1
    close_all()
