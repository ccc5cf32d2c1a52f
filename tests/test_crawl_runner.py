"""The crawl runner (crawler.runner.crawl) as the CLI and the daemon use it: leases held, renewed, lost and taken
over; a crawl process that dies, one that runs over its time limit, a parent that fails while it waits."""

from __future__ import annotations

import contextlib
import os
import signal
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import FrameType
from typing import Any

import pytest
import sqlalchemy as sa
import time_machine

from crawler.runner.crawl import RunSummary, crawl, stop_grace
from crawler.sampleweb import SampleWeb
from crawler.vocabulary.config import AppConfig
from crawler.vocabulary.errors import PairchiveError
from crawler.vocabulary.sources import Source, load_sources, select
from storage.db import close_all, open_for_writing
from storage.leases import LEASE_SECONDS, SourceBusy, acquire, holders
from storage.models import Article, CrawlRun, utcnow
from storage.models import Source as SourceRow
from tests.crawls import (
    LOOPBACK,
    LOOPBACK_SETTINGS,
    WAIT,
    WatchedSink,
    demo_sources,
    pairchive,
    run_rows,
    slow_sources,
    started,
    watching,
    worker_pids,
)

Portal = tuple[str, threading.Event, threading.Event]


def _slow(tmp_path: Path, base: str) -> tuple[AppConfig, Source]:
    sources = slow_sources(tmp_path, base)
    (source,) = load_sources(sources)
    return AppConfig(db_url=f"sqlite:///{tmp_path / 'a.db'}", sources_path=str(sources)), source


@contextmanager
def in_background(cfg: AppConfig, source: Source, **options: Any) -> Iterator[list[RunSummary]]:
    """`crawl` of one source on a thread for the block; its summaries once the block has waited for it."""
    result: list[RunSummary] = []
    options = {"settings": LOOPBACK_SETTINGS, "log_sink": None, **options}
    thread = threading.Thread(target=lambda: result.extend(crawl(cfg, [source], **options)), daemon=True)
    thread.start()
    yield result
    thread.join(WAIT)
    assert not thread.is_alive(), "the crawl did not end"


def test_a_crawl_killed_mid_run_leaves_a_lease_that_expires_and_loses_nothing(
    slow_portal: Portal, tmp_path: Path
) -> None:
    base, _asked, release = slow_portal
    sources = slow_sources(tmp_path, base)
    db = f"sqlite:///{tmp_path / 'a.db'}"
    with started("crawl", "--sources", str(sources), "--db", db, "--log", *LOOPBACK) as (proc, err):
        err.wait_for(r"stored article \d+ from .*/a/1\.html")
        os.killpg(proc.pid, signal.SIGKILL)  # the crawl and its worker, mid-run (page 2 in flight)
        proc.wait(timeout=WAIT)
    ((old_run, _, status, _),) = run_rows(db)
    assert status == "running"
    sessions = open_for_writing(db).sessions
    with sessions() as s:
        (lease,) = holders(s).values()
        assert lease.run_id == old_run
        stored = [(a.id, a.text) for a in s.scalars(sa.select(Article))]
    assert len(stored) == 1
    close_all()

    cfg = AppConfig(db_url=db, sources_path=str(sources))
    (source,) = load_sources(sources)
    # within the lease: another crawl is refused, naming the dead holder's run
    with pytest.raises(SourceBusy, match=rf"slow is being crawled by cli@.*\(run {old_run}\)"):
        crawl(cfg, [source], settings=LOOPBACK_SETTINGS, log_sink=None)
    result = pairchive("crawl", "--sources", str(sources), "--db", db)
    assert result.returncode == 3 and "skipped: slow is being crawled by" in result.stderr

    # past its expiry nobody renewed it: the next crawl takes it over and closes the dead run
    release.set()
    later = datetime.now(UTC) + timedelta(seconds=LEASE_SECONDS + 5)
    with time_machine.travel(later, tick=True):
        (run,) = crawl(cfg, [source], settings=LOOPBACK_SETTINGS, log_sink=None)
    assert run.status == "ok" and run.counts["stored"] == 1
    runs = {run_id: (status, error) for run_id, _, status, error in run_rows(db)}
    assert runs[old_run][0] == "interrupted"
    assert "stopped without closing this run; its lease expired" in (runs[old_run][1] or "")
    sessions = open_for_writing(db).sessions
    with sessions() as s:
        kept = [(a.id, a.text) for a in s.scalars(sa.select(Article).order_by(Article.id))]
        assert holders(s) == {}
        dead = s.get(CrawlRun, old_run)
        assert dead is not None and dead.counts["stored"] == 1  # what the dead crawl stored, recounted
    close_all()
    assert kept[0] == stored[0] and len(kept) == 2


def test_a_crawl_whose_lease_is_taken_over_is_stopped_and_closed_as_interrupted(
    slow_portal: Portal, tmp_path: Path
) -> None:
    base, asked, release = slow_portal
    cfg, source = _slow(tmp_path, base)
    other = "cli@elsewhere:1:abcdef"
    # a two-second lease, renewed every half second: it can be made to expire without waiting minutes
    with watching("crawler.runner.crawl") as log, in_background(cfg, source, lease_seconds=2) as result:
        assert asked.wait(WAIT)  # page 2 in flight
        sessions = open_for_writing(cfg.db_url).sessions
        with sessions.begin() as s:
            source_id = s.scalars(sa.select(SourceRow.id).where(SourceRow.name == "slow")).one()
            # as another machine would see it a little later, after a stall of this one's heartbeat
            taken = acquire(s, source_id, other, seconds=LEASE_SECONDS, now=utcnow() + timedelta(seconds=10))
        assert taken is not None and taken.owner.startswith("cli@")
        log.wait_for(r"^ERROR lost the lease of slow: another crawl took it over; stopping$")
        release.set()  # the crawl was asked to stop: it need not wait for page 2 to time out
    (run,) = result
    assert run.status == "interrupted"
    assert run.error is not None and run.error.startswith("the lease of slow was taken over by another crawl")
    assert worker_pids() == []
    sessions = open_for_writing(cfg.db_url).sessions
    with sessions() as s:
        assert holders(s)["slow"].owner == other  # the new holder keeps its lease
    close_all()


def test_a_heartbeat_refused_by_a_locked_database_is_tried_again_and_the_crawl_goes_on(
    slow_portal: Portal, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PAIRCHIVE_SQLITE_BUSY_TIMEOUT", "1")  # SQLite gives up on a lock after 1 s, not 30
    base, asked, release = slow_portal
    cfg, source = _slow(tmp_path, base)
    settings = {**LOOPBACK_SETTINGS, "DOWNLOAD_TIMEOUT": WAIT}  # page 2 is held for longer than the lock
    sink = WatchedSink()
    with (
        watching("crawler.runner.crawl") as log,
        in_background(cfg, source, lease_seconds=2, settings=settings, log_sink=sink) as result,
    ):
        assert asked.wait(WAIT)
        sink.wait_for(r"stored article \d+ from .*/a/1\.html")  # the crawl itself writes nothing now
        # another writer holds the database longer than SQLite waits (busy_timeout)
        lock = sqlite3.connect(tmp_path / "a.db", isolation_level=None)
        lock.execute("BEGIN IMMEDIATE")
        try:
            log.wait_for(r"^WARNING could not renew the leases, trying again at the next beat: .*locked")
        finally:
            lock.execute("ROLLBACK")
            lock.close()
        release.set()
    (run,) = result
    assert (run.status, run.counts["stored"]) == ("ok", 2)


def test_a_crawl_process_that_dies_is_closed_as_failed_with_its_exit_code_and_last_log_line(
    slow_portal: Portal, tmp_path: Path
) -> None:
    base, asked, _release = slow_portal
    cfg, source = _slow(tmp_path, base)
    sink = WatchedSink()
    with in_background(
        cfg, source, log_sink=sink, settings={**LOOPBACK_SETTINGS, "LOG_LEVEL": "INFO"}
    ) as result:
        assert asked.wait(WAIT)
        sink.wait_for(r"stored article \d+ from .*/a/1\.html")
        (pid,) = worker_pids()
        os.kill(pid, signal.SIGKILL)  # out of memory, say: nothing of the crawl closes its run
    (run,) = result
    last = [line for line in sink.getvalue().splitlines() if line.strip()][-1]
    assert (run.status, run.exit_code) == ("failed", -signal.SIGKILL)
    assert run.error == f"crawl process exited with code -9 before closing this run: {last}"
    # the child never closed the run: its counts are what it left in the database
    assert run.counts["stored"] == 1 and run.counts["failed"] == 0
    sessions = open_for_writing(cfg.db_url).sessions
    with sessions() as s:
        assert len(s.scalars(sa.select(Article)).all()) == 1
        assert holders(s) == {}
    close_all()


class _ParentTrouble(Exception):
    pass


def test_an_error_in_the_waiting_parent_stops_the_crawl_before_its_lease_is_let_go(
    slow_portal: Portal, tmp_path: Path
) -> None:
    base, asked, _release = slow_portal
    cfg, source = _slow(tmp_path, base)

    def trouble(_signum: int, _frame: FrameType | None) -> None:
        raise _ParentTrouble("something nobody expected")

    # The error is raised in the parent's wait loop (the main thread, where signal handlers run) once
    # the crawl is mid-page: as a bug or an unexpected database error there would be.
    previous = signal.signal(signal.SIGUSR1, trouble)

    def poke() -> None:
        if asked.wait(WAIT):
            os.kill(os.getpid(), signal.SIGUSR1)

    poker = threading.Thread(target=poke)
    poker.start()
    try:
        with pytest.raises(_ParentTrouble):
            # page 2 never comes: a crawl asked to stop gives up on it after the download timeout, or is
            # killed after the grace
            settings = {**LOOPBACK_SETTINGS, "DOWNLOAD_TIMEOUT": 10}
            crawl(cfg, [source], settings=settings, log_sink=None, grace=1)
    finally:
        poker.join(WAIT)
        signal.signal(signal.SIGUSR1, previous)
    assert worker_pids() == []  # no crawl left running behind a released lease
    ((_, _, status, error),) = run_rows(cfg.db_url)
    assert status == "failed"
    assert error is not None and error.startswith(
        "the crawl was stopped after an error in its parent: _ParentTrouble: something nobody expected"
    )
    sessions = open_for_writing(cfg.db_url).sessions
    with sessions() as s:
        assert holders(s) == {}
    close_all()


def test_a_log_sink_that_is_gone_does_not_block_the_crawl(sample_web: SampleWeb, tmp_path: Path) -> None:
    sources = demo_sources(sample_web, tmp_path)
    cfg = AppConfig(db_url=f"sqlite:///{tmp_path / 'a.db'}", sources_path=str(sources))
    chosen = select(load_sources(sources), ["linxia-news"])
    read_end, write_end = os.pipe()
    os.close(read_end)  # the operator's terminal or pipe went away
    sink = os.fdopen(write_end, "w")
    try:
        # DEBUG: more log than a pipe holds, so a child nobody drains would block until its time limit
        (run,) = crawl(
            cfg, chosen, settings={**LOOPBACK_SETTINGS, "LOG_LEVEL": "DEBUG"}, log_sink=sink, timeout=WAIT
        )
    finally:
        with contextlib.suppress(OSError):
            sink.close()
    assert run.status == "ok" and run.counts["stored"] >= 1


def test_a_crawl_over_its_time_limit_is_ended_and_recorded_as_timeout(
    slow_portal: Portal, tmp_path: Path
) -> None:
    base, _asked, _release = slow_portal
    cfg, source = _slow(tmp_path, base)
    (run,) = crawl(cfg, [source], settings=LOOPBACK_SETTINGS, log_sink=None, timeout=3, grace=1)
    assert run.status == "timeout" and run.counts.get("stored", 0) <= 1
    assert run.error is not None and run.error.startswith("the time limit was reached")
    assert run.exit_code is not None


@pytest.mark.parametrize("value", ["soon", "-1", "nan", "1e309"])
def test_a_stop_grace_from_the_environment_that_is_no_number_of_seconds_is_one_line(
    value: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PAIRCHIVE_STOP_GRACE", value)
    with pytest.raises(PairchiveError) as refused:
        stop_grace()
    assert str(refused.value) == f"PAIRCHIVE_STOP_GRACE={value!r} is not a number of seconds (0-86400)"


def test_the_stop_grace_is_thirty_seconds_unless_the_environment_says(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("PAIRCHIVE_STOP_GRACE", raising=False)
    assert stop_grace() == 30.0
    monkeypatch.setenv("PAIRCHIVE_STOP_GRACE", "0.5")
    assert stop_grace() == 0.5
