"""The daemon and the operator's crawls: schedules driven with frozen time, a real daemon process taking
signals."""

from __future__ import annotations

import logging
import re
import signal
import subprocess
import threading
from contextlib import AbstractContextManager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import time_machine
from apscheduler.executors.debug import DebugExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler

import scheduler
from crawler.config import AppConfig
from crawler.sampleweb import SampleWeb
from storage.db import close_all, open_database
from storage.leases import holders
from tests.crawls import (
    LOOPBACK,
    LOOPBACK_SETTINGS,
    WAIT,
    Lines,
    run_rows,
    slow_sources,
    started,
)


def one_source(sample_web: SampleWeb, name: str, schedule: str | None = None) -> str:
    """The sample sources file cut down to one portal (optionally with another schedule)."""
    blocks = sample_web.sources_toml().split("[[source]]")
    (block,) = [b for b in blocks if f'name = "{name}"' in b]
    if schedule:
        block = re.sub(r'schedule = "[^"]*"', f'schedule = "{schedule}"', block)
    return "[[source]]" + block


# --- the schedule, driven with frozen time -------------------------------------------------------------


class DrivenScheduler(BaseScheduler):
    """An APScheduler scheduler with no thread of its own: due jobs run when the test calls
    `_process_jobs()`, at the (frozen) time of the call, in the calling thread (DebugExecutor)."""

    def wakeup(self) -> None:
        pass

    def shutdown(self, wait: bool = True) -> None:
        super().shutdown(wait)


def test_a_job_fires_at_its_local_time_runs_one_real_crawl_and_then_waits_a_day(
    sample_web: SampleWeb, tmp_path: Path
) -> None:
    sources = tmp_path / "sources.toml"
    sources.write_text(one_source(sample_web, "linxia-news"), encoding="utf-8")  # 30 2 * * * Asia/Shanghai
    cfg = AppConfig(db_url=f"sqlite:///{tmp_path / 'a.db'}", sources_path=str(sources))
    sched = DrivenScheduler(timezone="UTC", executors={"default": DebugExecutor()})
    daemon = scheduler.Daemon(cfg, settings=LOOPBACK_SETTINGS, scheduler=sched)
    with time_machine.travel(datetime(2026, 11, 24, 18, 29, 59, tzinfo=UTC), tick=False) as clock:
        assert daemon.load()
        sched.start()
        try:
            fire = datetime(2026, 11, 24, 18, 30, tzinfo=UTC)  # 02:30 in Shanghai
            assert daemon.next_runs()["linxia-news"] == fire
            sched._process_jobs()  # one second early: nothing runs
            assert run_rows(cfg.db_url) == []
            clock.move_to(fire + timedelta(seconds=20))
            sched._process_jobs()  # due: the crawl runs (the debug executor runs it here and now)
            ((_, trigger, status, _),) = run_rows(cfg.db_url)
            assert (trigger, status) == ("schedule", "ok")
            assert daemon.next_runs()["linxia-news"] == fire + timedelta(days=1)
            # a day later but past the misfire grace: skipped, not run late
            clock.move_to(fire + timedelta(days=1, seconds=scheduler.MISFIRE_GRACE_SECONDS + 60))
            sched._process_jobs()
            assert len(run_rows(cfg.db_url)) == 1
            assert daemon.next_runs()["linxia-news"] == fire + timedelta(days=2)
        finally:
            sched.shutdown(wait=False)


def test_reloading_adds_changes_and_removes_jobs_and_a_bad_file_keeps_the_schedule(
    sample_web: SampleWeb, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    sources = tmp_path / "sources.toml"
    sources.write_text(sample_web.sources_toml(), encoding="utf-8")
    cfg = AppConfig(db_url=f"sqlite:///{tmp_path / 'a.db'}", sources_path=str(sources))
    sched = BackgroundScheduler(timezone="UTC")
    daemon = scheduler.Daemon(cfg, scheduler=sched)
    with time_machine.travel(datetime(2026, 11, 24, 12, 0, tzinfo=UTC), tick=False):
        sched.start(paused=True)
        try:
            assert daemon.load()
            assert sorted(daemon.next_runs()) == [
                "china-regional-en",
                "fj-observer",
                "huli-edu",
                "linxia-news",
            ]
            before = daemon.next_runs()

            sources.write_text("[[source]\nname = ", encoding="utf-8")
            with caplog.at_level(logging.ERROR, logger="pairchive.daemon"):
                assert not daemon.load()
            (record,) = caplog.records
            assert record.getMessage().startswith("sources not reloaded, keeping the old schedule: ")
            assert "\n" not in record.getMessage()
            assert daemon.next_runs() == before

            sources.write_text(
                one_source(sample_web, "huli-edu", schedule="15 6 * * *")
                + one_source(sample_web, "linxia-news"),
                encoding="utf-8",
            )
            assert daemon.load()
            assert sorted(daemon.next_runs()) == ["huli-edu", "linxia-news"]
            assert daemon.next_runs()["huli-edu"] == datetime(2026, 11, 24, 22, 15, tzinfo=UTC)  # 06:15 +08
            assert daemon.next_runs()["linxia-news"] == before["linxia-news"]
        finally:
            sched.shutdown(wait=False)


def test_the_daemon_caps_concurrent_crawls(tmp_path: Path) -> None:
    cfg = AppConfig(db_url=f"sqlite:///{tmp_path / 'a.db'}", sources_path="s.toml")
    daemon = scheduler.Daemon(cfg, max_concurrent=2)
    executor = daemon.scheduler._lookup_executor("default")
    assert executor._pool._max_workers == 2


# --- a real daemon process -----------------------------------------------------------------------------


def _daemon(
    sources: Path, db: str, *args: str
) -> AbstractContextManager[tuple[subprocess.Popen[str], Lines]]:
    return started("daemon", "--sources", str(sources), "--db", db, *args, *LOOPBACK)


def test_the_daemon_runs_a_source_reloads_on_sighup_and_stops_cleanly_on_sigterm(
    sample_web: SampleWeb, tmp_path: Path
) -> None:
    sources = tmp_path / "sources.toml"
    sources.write_text(one_source(sample_web, "linxia-news"), encoding="utf-8")
    db = f"sqlite:///{tmp_path / 'a.db'}"
    with _daemon(sources, db, "--now") as (proc, err):
        err.wait_for(r"daemon started: 1 source\(s\)")
        line = err.wait_for(r"run \d+ of linxia-news: ")
        assert re.search(r"run \d+ of linxia-news: ok .*stored=1", line), line
        # an edited file is noticed without a signal (the daemon looks every few seconds)
        sources.write_text(one_source(sample_web, "linxia-news", schedule="45 3 * * *"), encoding="utf-8")
        err.wait_for(r"INFO .*sources reloaded: added -, changed linxia-news, removed -$")
        sources.write_text("[[source]]\nname = 'linxia-news'\nbogus = 1\n", encoding="utf-8")
        proc.send_signal(signal.SIGHUP)
        bad = err.wait_for(r"ERROR .*sources not reloaded, keeping the old schedule")
        assert "bogus" in bad
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=WAIT) == 0
        err.wait_for(r"INFO .*stopped$")
    ((_, trigger, status, _),) = run_rows(db)
    assert (trigger, status) == ("schedule", "ok")
    # every log line is one event: a time, a level, a logger, a message
    assert all(
        re.match(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ [A-Z]+ [\w.]+: ", line) for line in err.seen if line
    )


def test_sigterm_ends_a_running_crawl_after_the_grace_period_and_marks_it_interrupted(
    slow_portal: tuple[str, threading.Event, threading.Event], tmp_path: Path
) -> None:
    base, asked, release = slow_portal
    sources = slow_sources(tmp_path, base)
    db = f"sqlite:///{tmp_path / 'a.db'}"
    with _daemon(sources, db, "--now", "--grace", "0") as (proc, err):
        err.wait_for(r"run of slow starting")
        assert asked.wait(WAIT)  # the crawl is in the middle of a page
        proc.send_signal(signal.SIGTERM)
        err.wait_for(r"stopping: ending slow \(marked interrupted\)")
        assert proc.wait(timeout=WAIT) == 0  # page 2 never came: the crawl was ended, not finished
        release.set()
    ((_, trigger, status, error),) = run_rows(db)
    assert (trigger, status) == ("schedule", "interrupted")
    assert error is not None and error.startswith("the crawl was stopped")
    _, sessions = open_database(db)
    with sessions() as s:
        assert holders(s) == {}  # the lease went with it
    close_all()
