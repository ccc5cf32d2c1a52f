"""The daemon: schedules driven with frozen time, a daemon driven in-process against loopback portals that
hold their pages (the concurrency cap, a stop with jobs waiting, busy sources), and a real daemon process
taking signals."""

from __future__ import annotations

import logging
import os
import queue
import re
import signal
import socket
import subprocess
import threading
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
import time_machine
from apscheduler.executors.debug import DebugExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler

import scheduler
from crawler.sampleweb import SampleWeb
from crawler.vocabulary.config import AppConfig
from crawler.vocabulary.sources import load_sources
from storage.archive import start_run, upsert_sources
from storage.db import close_all, open_for_writing
from storage.leases import LEASE_SECONDS, acquire, attach_run, holders
from storage.models import CrawlRun
from tests.crawls import (
    LOOPBACK,
    LOOPBACK_SETTINGS,
    WAIT,
    Lines,
    QuietHandler,
    answer,
    article_page,
    pairchive,
    run_rows,
    serve,
    slow_sources,
    started,
    watching,
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


def test_a_backlog_of_missed_runs_is_made_up_by_one_run(sample_web: SampleWeb, tmp_path: Path) -> None:
    sources = tmp_path / "sources.toml"
    sources.write_text(one_source(sample_web, "linxia-news", schedule="*/10 * * * *"), encoding="utf-8")
    cfg = AppConfig(db_url=f"sqlite:///{tmp_path / 'a.db'}", sources_path=str(sources))
    sched = DrivenScheduler(timezone="UTC", executors={"default": DebugExecutor()})
    daemon = scheduler.Daemon(cfg, settings=LOOPBACK_SETTINGS, scheduler=sched)
    start = datetime(2026, 11, 24, 18, 9, 59, tzinfo=UTC)
    with time_machine.travel(start, tick=False) as clock:
        assert daemon.load()
        sched.start()
        try:
            # the machine was asleep: 18:10, 18:20, 18:30 and 18:40 all missed, all within the misfire grace
            clock.move_to(datetime(2026, 11, 24, 18, 40, 20, tzinfo=UTC))
            sched._process_jobs()
            ((_, trigger, status, _),) = run_rows(cfg.db_url)
            assert (trigger, status) == ("schedule", "ok")
            assert daemon.next_runs()["linxia-news"] == datetime(2026, 11, 24, 18, 50, tzinfo=UTC)
        finally:
            sched.shutdown(wait=False)


def test_a_scheduled_run_of_a_source_another_crawl_holds_is_skipped_and_logged(tmp_path: Path) -> None:
    sources = tmp_path / "sources.toml"
    sources.write_text(
        '[[source]]\nname = "held"\nstart_urls = ["http://127.0.0.1:9/list.html"]\narticle_pattern = "/a/"\n',
        encoding="utf-8",
    )
    cfg = AppConfig(db_url=f"sqlite:///{tmp_path / 'a.db'}", sources_path=str(sources))
    (source,) = load_sources(sources)
    sessions = open_for_writing(cfg.db_url).sessions
    with sessions.begin() as s:
        source_id = upsert_sources(s, [source.to_dict()])["held"]
        acquire(s, source_id, "cli@operator:42:abcdef")
    with watching("pairchive.daemon") as log:
        assert scheduler.run_source(asdict(cfg), source.to_dict(), LOOPBACK_SETTINGS) == "busy"
    assert run_rows(cfg.db_url) == []  # no run started, no record made
    starting, message = log.messages
    assert starting == "INFO run of held starting"
    assert message.startswith(
        "WARNING run of held skipped: held is being crawled by cli@operator:42:abcdef since "
    )


def test_a_restarted_daemon_tries_a_source_held_by_a_dead_lease_again_when_that_lease_expires(
    sample_web: SampleWeb, tmp_path: Path
) -> None:
    sources = tmp_path / "sources.toml"
    sources.write_text(one_source(sample_web, "linxia-news"), encoding="utf-8")  # 30 2 * * * Asia/Shanghai
    cfg = AppConfig(db_url=f"sqlite:///{tmp_path / 'a.db'}", sources_path=str(sources))
    (source,) = load_sources(sources)
    fire = datetime(2026, 11, 24, 18, 30, tzinfo=UTC)  # 02:30 in Shanghai
    killed_at = fire - timedelta(seconds=30)
    # the daemon before the restart was killed mid-crawl: its run is open, its lease not yet expired
    sessions = open_for_writing(cfg.db_url).sessions
    with sessions.begin() as s:
        source_id = upsert_sources(s, [source.to_dict()])["linxia-news"]
        acquire(s, source_id, "schedule@host:1:deadbe", now=killed_at)
        dead_run = start_run(s, source_id, "schedule")
        attach_run(s, source_id, "schedule@host:1:deadbe", dead_run)
    expiry = killed_at + timedelta(seconds=LEASE_SECONDS)
    sched = DrivenScheduler(timezone="UTC", executors={"default": DebugExecutor()})
    daemon = scheduler.Daemon(cfg, settings=LOOPBACK_SETTINGS, scheduler=sched)
    with (
        time_machine.travel(fire - timedelta(seconds=1), tick=False) as clock,
        watching("pairchive.daemon") as log,
    ):
        assert daemon.load()
        daemon.start()
        try:
            clock.move_to(fire + timedelta(seconds=1))
            sched._process_jobs()  # due, but the dead daemon's lease is still live
            retry_at = expiry + timedelta(seconds=scheduler.RETRY_AFTER_EXPIRY_SECONDS)
            assert daemon.retries() == {"linxia-news": retry_at}
            assert daemon.next_runs()["linxia-news"] == fire + timedelta(days=1)
            assert any(
                m.startswith(
                    "WARNING run of linxia-news skipped: linxia-news is being crawled by schedule@host"
                )
                and m.endswith(f"; trying again at {retry_at.isoformat()}")
                for m in log.messages
            )
            clock.move_to(retry_at + timedelta(seconds=1))
            sched._process_jobs()  # the lease has expired: this run takes it over
            assert daemon.retries() == {}
        finally:
            daemon.stop()
    runs = {run_id: (status, error) for run_id, _, status, error in run_rows(cfg.db_url)}
    (new_run,) = set(runs) - {dead_run}
    assert runs[new_run][0] == "ok"
    assert runs[dead_run][0] == "interrupted"
    assert "stopped without closing this run; its lease expired" in (runs[dead_run][1] or "")


def test_a_retried_source_still_busy_waits_for_its_next_scheduled_time(tmp_path: Path) -> None:
    sources = tmp_path / "sources.toml"
    sources.write_text(
        '[[source]]\nname = "held"\nstart_urls = ["http://127.0.0.1:9/list.html"]\narticle_pattern = "/a/"\n',
        encoding="utf-8",
    )
    cfg = AppConfig(db_url=f"sqlite:///{tmp_path / 'a.db'}", sources_path=str(sources))
    (source,) = load_sources(sources)
    sessions = open_for_writing(cfg.db_url).sessions
    with sessions.begin() as s:
        source_id = upsert_sources(s, [source.to_dict()])["held"]
        acquire(s, source_id, "cli@operator:42:abcdef")  # an operator's crawl, renewing its lease
    sched = DrivenScheduler(timezone="UTC", executors={"default": DebugExecutor()})
    daemon = scheduler.Daemon(cfg, settings=LOOPBACK_SETTINGS, scheduler=sched)
    assert daemon.load()
    daemon.start()
    try:
        with watching("pairchive.daemon") as log:
            status = scheduler.run_source(asdict(cfg), source.to_dict(), LOOPBACK_SETTINGS, None, False)
        assert status == "busy" and daemon.retries() == {}
        assert log.messages[-1].startswith("WARNING run of held skipped: held is being crawled by cli@")
        assert "trying again" not in log.messages[-1]
    finally:
        daemon.stop()
    assert run_rows(cfg.db_url) == []


def test_a_job_whose_sources_file_no_longer_loads_fails_in_one_log_line(tmp_path: Path) -> None:
    sources = tmp_path / "sources.toml"
    sources.write_text("[[source]\nname = ", encoding="utf-8")
    cfg = AppConfig(db_url=f"sqlite:///{tmp_path / 'a.db'}", sources_path=str(sources))
    with watching("pairchive.daemon") as log:
        assert scheduler.run_source(asdict(cfg), "linxia-news") == "failed"
    (error,) = [m for m in log.messages if not m.startswith("DEBUG")]
    assert error.startswith(f"ERROR run of linxia-news failed: {sources}: malformed TOML: ")
    assert "\n" not in error


# --- the daemon in this process, against portals that hold their pages --------------------------------


@contextmanager
def held_portal(
    folder: Path, names: Sequence[str]
) -> Iterator[tuple[AppConfig, queue.Queue[str], dict[str, threading.Event]]]:
    """One portal with a section per source name, whose list page waits until the test releases that
    section. Yields the config of a sources file for it, a queue that gets a source's name when its crawl
    asks for its list page (the crawl has started), and the release event per source."""
    asked: queue.Queue[str] = queue.Queue()
    release = {name: threading.Event() for name in names}
    started: set[str] = set()
    lock = threading.Lock()

    class Held(QuietHandler):
        def do_GET(self) -> None:
            section, _, page = self.path.strip("/").partition("/")
            body = b""
            if section in release and page == "list.html":
                with lock:
                    first = section not in started
                    started.add(section)
                if first:  # a crawl asking again (a retry after its download timeout) is not a new start
                    asked.put(section)
                release[section].wait(WAIT)
                body = f'<html><body><a href="/{section}/a/1.html">one</a></body></html>'.encode()
            elif section in release and page == "a/1.html":
                body = article_page(section)
            answer(self, body)

    with serve(Held) as base:
        sources = folder / "sources.toml"
        sources.write_text(
            "".join(
                f'[[source]]\nname = "{n}"\nstart_urls = ["{base}/{n}/list.html"]\narticle_pattern = "/a/"\n'
                for n in names
            ),
            encoding="utf-8",
        )
        try:
            yield AppConfig(db_url=f"sqlite:///{folder / 'a.db'}", sources_path=str(sources)), asked, release
        finally:
            for event in release.values():
                event.set()


def _runs_by_source(db: str) -> dict[str, CrawlRun]:
    sessions = open_for_writing(db).sessions
    with sessions() as s:
        runs = {r.source.name: r for r in s.scalars(sa.select(CrawlRun).order_by(CrawlRun.id))}
    close_all()
    return runs


def test_at_most_max_concurrent_crawls_run_at_once_and_a_waiting_one_starts_when_one_ends(
    tmp_path: Path,
) -> None:
    with held_portal(tmp_path, ["one", "two", "three"]) as (cfg, asked, release):
        # a held list page answers when the test releases it: no download timeout may end it before
        settings = {**LOOPBACK_SETTINGS, "DOWNLOAD_TIMEOUT": 3 * WAIT}
        daemon = scheduler.Daemon(cfg, max_concurrent=2, settings=settings, grace=WAIT)
        assert daemon.load()
        daemon.start(run_now=True)  # all three are due at once
        try:
            first = {asked.get(timeout=WAIT), asked.get(timeout=WAIT)}
            # Both crawls are mid-page. A third job let through would have entered run_source (and made
            # a run record) long before these two crawl processes had started and reached the portal.
            assert scheduler.running() == dict.fromkeys(first, 1)
            assert sorted(_runs_by_source(cfg.db_url)) == sorted(first)
            done = min(first)
            release[done].set()
            (waiting,) = {"one", "two", "three"} - first
            assert asked.get(timeout=WAIT) == waiting
            for event in release.values():
                event.set()
        finally:
            daemon.stop()
    runs = _runs_by_source(cfg.db_url)
    assert {name: run.status for name, run in runs.items()} == dict.fromkeys(["one", "two", "three"], "ok")
    finished = runs[done].finished_at
    assert finished is not None and runs[waiting].started_at >= finished


def test_jobs_waiting_for_a_free_slot_when_the_daemon_stops_are_skipped_not_started(tmp_path: Path) -> None:
    with held_portal(tmp_path, ["one", "two"]) as (cfg, asked, _release), watching("pairchive.daemon") as log:
        # the list page never comes: a crawl asked to stop gives up on it after the download timeout
        settings = {**LOOPBACK_SETTINGS, "DOWNLOAD_TIMEOUT": 10}
        daemon = scheduler.Daemon(cfg, max_concurrent=1, settings=settings, grace=0)
        assert daemon.load()
        daemon.start(run_now=True)
        running = asked.get(timeout=WAIT)
        (waiting,) = {"one", "two"} - {running}
        daemon.stop()  # the running crawl is stopped at once; the waiting job still reaches the pool
    assert f"INFO run of {waiting} skipped: the daemon is stopping" in log.messages
    ((_, trigger, status, _),) = run_rows(cfg.db_url)  # no run, no lease, no crawl for the waiting one
    assert (trigger, status) == ("schedule", "interrupted")
    assert asked.empty()


def test_the_daemons_grace_is_each_crawls_grace_to_close_its_run_once_asked_to_stop(tmp_path: Path) -> None:
    with held_portal(tmp_path, ["held"]) as (cfg, asked, _release):
        sched = DrivenScheduler(timezone="UTC", executors={"default": DebugExecutor()})
        daemon = scheduler.Daemon(cfg, settings=LOOPBACK_SETTINGS, grace=7.5, scheduler=sched)
        assert daemon.load()
        (job,) = sched.get_jobs()
        assert job.kwargs == {"grace": 7.5}  # the job's crawl gets it, not the runner's default
        (source,) = load_sources(cfg.sources_path)
        statuses: list[str] = []
        job_thread = threading.Thread(
            target=lambda: statuses.append(
                scheduler.run_source(asdict(cfg), source.to_dict(), LOOPBACK_SETTINGS, None, False, grace=0)
            )
        )
        job_thread.start()
        try:
            assert asked.get(timeout=WAIT) == "held"  # the crawl is in the middle of its list page
            scheduler.STOPPING.set()  # as the daemon does past its own grace period
            job_thread.join(WAIT)
        finally:
            scheduler.STOPPING.clear()
    assert statuses == ["interrupted"]
    ((_, _, status, error),) = run_rows(cfg.db_url)
    # no grace at all: ended at once, not left the runner's 30 seconds to finish its page
    assert status == "interrupted" and error is not None
    assert error.endswith("(it did not stop within the grace period and was killed)")


# --- a real daemon process -----------------------------------------------------------------------------


def _daemon(
    sources: Path, db: str, *args: str
) -> AbstractContextManager[tuple[subprocess.Popen[str], Lines]]:
    return started("daemon", "--sources", str(sources), "--db", db, *args, *LOOPBACK)


def _replace_unnoticed(path: Path, text: str) -> None:
    """New contents for `path` under its old mtime: the daemon's watcher compares mtimes, so only SIGHUP
    can make it read the file again. Written beside it and renamed over it, so it is never seen half done."""
    old = path.stat()
    new = path.with_name(path.name + ".new")
    new.write_text(text, encoding="utf-8")
    os.utime(new, ns=(old.st_atime_ns, old.st_mtime_ns))
    os.replace(new, path)
    assert path.stat().st_mtime_ns == old.st_mtime_ns


def test_the_daemon_runs_a_source_notices_an_edited_file_and_stops_cleanly_on_sigterm(
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
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=WAIT) == 0
        err.wait_for(r"INFO .*stopped$")
    ((_, trigger, status, _),) = run_rows(db)
    assert (trigger, status) == ("schedule", "ok")
    # every log line is one event: a time, a level, a logger, a message
    assert all(
        re.match(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ [A-Z]+ [\w.]+: ", line) for line in err.seen if line
    )


def test_sighup_reloads_the_sources_and_a_bad_file_keeps_the_old_schedule(
    sample_web: SampleWeb, tmp_path: Path
) -> None:
    sources = tmp_path / "sources.toml"
    sources.write_text(one_source(sample_web, "linxia-news"), encoding="utf-8")
    with _daemon(sources, f"sqlite:///{tmp_path / 'a.db'}") as (proc, err):
        err.wait_for(r"scheduled linxia-news: next run ")
        _replace_unnoticed(sources, one_source(sample_web, "huli-edu"))
        proc.send_signal(signal.SIGHUP)
        err.wait_for(r"INFO .*sources reloaded: added huli-edu, changed -, removed linxia-news$")
        _replace_unnoticed(sources, "[[source]]\nname = 'huli-edu'\nbogus = 1\n")
        proc.send_signal(signal.SIGHUP)
        bad = err.wait_for(r"ERROR .*sources not reloaded, keeping the old schedule: ")
        assert "bogus" in bad
        # the old schedule was kept: from it, a file that only adds a job adds that job and changes nothing
        _replace_unnoticed(
            sources, one_source(sample_web, "huli-edu") + one_source(sample_web, "fj-observer")
        )
        proc.send_signal(signal.SIGHUP)
        err.wait_for(r"INFO .*sources reloaded: added fj-observer, changed -, removed -$")
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=WAIT) == 0


def test_the_daemon_does_not_start_on_a_database_it_cannot_open(
    sample_web: SampleWeb, tmp_path: Path
) -> None:
    sources = tmp_path / "sources.toml"
    sources.write_text(one_source(sample_web, "linxia-news"), encoding="utf-8")
    db = f"sqlite:///{tmp_path / 'nowhere' / 'a.db'}"
    result = pairchive("daemon", "--sources", str(sources), "--db", db)
    assert result.returncode == 2  # a configuration error: systemd's RestartPreventExitStatus=2
    (line,) = result.stderr.splitlines()
    assert re.search(
        rf"ERROR pairchive.daemon: cannot open the database: {re.escape(db)}: directory .*nowhere does not exist$",
        line,
    )


def test_a_database_server_that_does_not_answer_at_start_exits_1_to_be_restarted(
    sample_web: SampleWeb, tmp_path: Path
) -> None:
    sources = tmp_path / "sources.toml"
    sources.write_text(one_source(sample_web, "linxia-news"), encoding="utf-8")
    with socket.socket() as closed:  # a port nothing listens on
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    db = f"postgresql+psycopg://postgres@127.0.0.1:{port}/test"
    result = pairchive("daemon", "--sources", str(sources), "--db", db)
    assert result.returncode == 1  # worth a restart, unlike a configuration error (2)
    (line,) = result.stderr.splitlines()
    assert "ERROR pairchive.daemon: cannot reach the database, exiting to be restarted: " in line
    assert f"127.0.0.1:{port}" in line and "Connection refused" in line


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_stop_signal_ends_a_running_crawl_after_the_grace_period_and_marks_it_interrupted(
    stop: signal.Signals,
    slow_portal: tuple[str, threading.Event, threading.Event],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    base, asked, release = slow_portal
    sources = slow_sources(tmp_path, base)
    db = f"sqlite:///{tmp_path / 'a.db'}"
    # Page 2 never comes; a crawl asked to stop gives up on it after the download timeout, or is ended
    # after its own grace (1 s here, 30 by default), whichever comes first.
    monkeypatch.setenv("PAIRCHIVE_STOP_GRACE", "1")
    with _daemon(sources, db, "--now", "--grace", "0", "-s", "DOWNLOAD_TIMEOUT=10") as (proc, err):
        err.wait_for(r"run of slow starting")
        assert asked.wait(WAIT)  # the crawl is in the middle of a page
        proc.send_signal(stop)
        err.wait_for(rf"{stop.name} received: stopping")
        err.wait_for(r"stopping: ending slow \(marked interrupted\)")
        assert proc.wait(timeout=WAIT) == 0  # page 2 never came: the crawl was ended, not finished
        release.set()
    ((_, trigger, status, error),) = run_rows(db)
    assert (trigger, status) == ("schedule", "interrupted")
    assert error is not None and error.startswith("the crawl was stopped")
    sessions = open_for_writing(db).sessions
    with sessions() as s:
        assert holders(s) == {}  # the lease went with it
    close_all()
