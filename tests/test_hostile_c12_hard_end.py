"""Class 12 (tests.hostile.c12_hard_end): a run's record and counts match what it stored however the crawl
ended: its parent killed mid-run (the crawl process closes the run itself, its progress pipe dead, and
lets go of the lease), or a crawl process killed by its parent after a stop or a time limit (the parent
recounts the run from its rows). On SQLite and PostgreSQL."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from crawler.runner.crawl import RunSummary, crawl
from crawler.vocabulary.config import AppConfig
from crawler.vocabulary.sources import Source, load_sources
from storage.db import close_all, open_for_writing
from storage.leases import holders
from storage.models import Article, CrawlRun
from tests.crawls import LOOPBACK, LOOPBACK_SETTINGS, WAIT, WatchedSink, pairchive, started
from tests.hostile import HostileWeb
from tests.hostile.c12_hard_end import Gate, sources_toml


@pytest.fixture
def gate() -> Iterator[type[Gate]]:
    Gate.reset()
    yield Gate
    Gate.release.set()  # a crawl still waiting on the held article gets it


def _source(hostile: HostileWeb, folder: Path) -> tuple[Path, Source]:
    path = folder / "sources.toml"
    path.write_text(sources_toml(hostile.url(12, "list.html")), encoding="utf-8")
    (source,) = load_sources(path)
    return path, source


def _stored(db_url: str, run_id: int) -> int:
    sessions = open_for_writing(db_url).sessions
    with sessions() as s:
        n = s.scalar(sa.select(sa.func.count()).select_from(Article).where(Article.run_id == run_id))
    return int(n or 0)


def _child_of(pid: int) -> int:
    """The crawl process (crawler.process.worker) that process `pid` started."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if int(stat[1]) == pid and b"crawler.process.worker" in cmdline:
            return int(entry.name)
    raise AssertionError(f"process {pid} has no crawl process")


def _wait_gone(pid: int) -> None:
    """Wait (with a deadline) until process `pid`, not a child of this one, has exited."""
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        return
    try:
        ready, _, _ = select.select([fd], [], [], WAIT)
        assert ready, f"process {pid} did not end"
    finally:
        os.close(fd)


def test_a_crawl_whose_parent_is_killed_closes_its_run_with_what_it_stored_and_frees_the_lease(
    hostile: HostileWeb, gate: type[Gate], db_url: str, tmp_path: Path
) -> None:
    sources, _ = _source(hostile, tmp_path)
    with started("crawl", "--sources", str(sources), "--db", db_url, "--log", *LOOPBACK) as (proc, err):
        err.wait_for(r"stored article \d+ from .*/c12/a/1\.html")
        assert gate.asked.wait(WAIT)  # the second article is in flight
        child = _child_of(proc.pid)
        os.kill(proc.pid, signal.SIGKILL)  # the parent only: its pipes die with it, the crawl goes on
        proc.wait(timeout=WAIT)
        gate.release.set()
        _wait_gone(child)
    sessions = open_for_writing(db_url).sessions
    with sessions() as s:
        (run,) = s.scalars(sa.select(CrawlRun)).all()
        assert run.status == "interrupted"
        assert run.error == "the crawl was stopped: the process that started it is gone"
        assert run.counts["stored"] == _stored(db_url, run.id) >= 1
        assert holders(s) == {}  # the next crawl need not wait for the dead parent's lease to expire
    close_all()
    again = pairchive("crawl", "--sources", str(sources), "--db", db_url, *LOOPBACK)
    assert again.returncode == 0, again.stderr[-2000:]


# The kernel's deliveries of one parent's death (one per thread of the parent it passes through), the
# second entering the handler before the first was handled to its end; then a later one, after.
TWO_DELIVERIES = """
import signal
from crawler.process import worker

stops = []
signal.signal(signal.SIGTERM, lambda signum, frame: stops.append(signum))
worker.die_with_parent(None)
worker._parent_died(signal.SIGHUP, None)
worker._parent_died(signal.SIGHUP, None)
signal.raise_signal(signal.SIGHUP)
print(len(stops), signal.getsignal(signal.SIGHUP) == signal.SIG_IGN)
"""


def test_a_crawl_process_asks_itself_to_stop_once_however_often_its_parent_death_is_signalled() -> None:
    # Two SIGTERMs make Scrapy stop at once, with the runs still open: the run would stay `running`.
    result = subprocess.run(
        [sys.executable, "-c", TWO_DELIVERIES], capture_output=True, text=True, timeout=WAIT, check=False
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split() == ["1", "True"]


def test_a_crawl_killed_after_a_stop_keeps_the_counts_of_what_it_stored(
    hostile: HostileWeb, gate: type[Gate], db_url: str, tmp_path: Path
) -> None:
    sources, source = _source(hostile, tmp_path)
    cfg = AppConfig(db_url=db_url, sources_path=str(sources))
    cancel, sink = threading.Event(), WatchedSink()
    # the held article outlasts the grace period: the crawl asked to stop is killed, its run still open
    settings = {**LOOPBACK_SETTINGS, "LOG_LEVEL": "INFO", "DOWNLOAD_TIMEOUT": WAIT}
    result: list[RunSummary] = []
    thread = threading.Thread(
        target=lambda: result.extend(
            crawl(cfg, [source], settings=settings, log_sink=sink, cancel=cancel, grace=0.5)
        ),
        daemon=True,
    )
    thread.start()
    sink.wait_for(r"stored article \d+ from .*/c12/a/1\.html")
    assert gate.asked.wait(WAIT)
    cancel.set()
    thread.join(WAIT)
    assert not thread.is_alive()
    (run,) = result
    assert run.status == "interrupted" and run.exit_code == -signal.SIGKILL
    assert run.error == (
        "the crawl was stopped; crawl process exit code -9 (it did not stop within the grace period and was killed)"
    )
    assert run.counts["stored"] == _stored(db_url, run.run_id) == 1  # not the empty counts of an open run
    assert run.counts["fetched"] >= 1
    close_all()


def test_a_time_limit_that_needs_a_kill_reports_what_the_run_stored(
    hostile: HostileWeb, gate: type[Gate], db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sources, _ = _source(hostile, tmp_path)
    monkeypatch.setenv("PAIRCHIVE_STOP_GRACE", "1")  # the grace of a foreground crawl, 30 s by default
    # --timeout is in minutes: 0.1 is six seconds, the held article longer, the grace shorter than the
    # download timeout: the crawl is killed
    result = pairchive(
        "crawl", "--sources", str(sources), "--db", db_url, "--timeout", "0.1", *LOOPBACK,
        "-s", f"DOWNLOAD_TIMEOUT={WAIT * 2}",
    )  # fmt: skip
    gate.release.set()
    assert result.returncode == 1
    sessions = open_for_writing(db_url).sessions
    with sessions() as s:
        (run,) = s.scalars(sa.select(CrawlRun)).all()
        assert run.status == "timeout" and (run.error or "").startswith("the time limit was reached")
        stored = _stored(db_url, run.id)
        assert run.counts["stored"] == stored
    close_all()
    (row,) = [line.split() for line in result.stdout.splitlines() if line.startswith(str(run.id) + " ")]
    assert row[2] == "timeout" and int(row[4]) == stored  # the summary says what the run stored
