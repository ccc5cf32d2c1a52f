"""A full disk: the crawl stops with one line, and what was stored before is intact and readable.

The database lives on a small tmpfs that the test fills up; mounting needs root, so elsewhere this skips.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from crawler.runner.crawl import RunSummary, crawl
from crawler.sampleweb import SampleWeb
from crawler.vocabulary.config import AppConfig
from crawler.vocabulary.sources import load_sources
from storage.db import close_all, open_for_writing
from storage.leases import holders
from storage.models import Article
from tests.cli import run_cli
from tests.crawls import (
    LOOPBACK,
    LOOPBACK_SETTINGS,
    WAIT,
    WatchedSink,
    demo_sources,
    slow_sources,
    watching,
)


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    mount = tmp_path / "disk"
    mount.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs to fill up needs root")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(mount)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", str(mount)], check=True)


def _fill(path: Path) -> None:
    with path.open("wb") as f:
        try:
            while True:
                f.write(b"\0" * 65536)
                f.flush()
        except OSError:
            pass


def _command(sources: Path, db: Path, source: str) -> list[str]:
    return [
        sys.executable, "-m", "crawler", "crawl", "--sources", str(sources), "--db", str(db), "--source", source,
        *LOOPBACK,
    ]  # fmt: skip


def _crawl(sources: Path, db: Path, source: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        _command(sources, db, source), capture_output=True, text=True, timeout=300, check=False
    )


def test_a_full_disk_is_one_line_and_loses_nothing_stored(
    small_disk: Path, sample_web: SampleWeb, tmp_path: Path
) -> None:
    sources = demo_sources(sample_web, tmp_path)
    db = small_disk / "archive.db"
    first = _crawl(sources, db, "huli-edu")
    assert first.returncode == 0, first.stderr[-2000:]

    _fill(small_disk / "filler")
    full = _crawl(sources, db, "fj-observer")
    assert full.returncode == 1
    (line,) = full.stderr.strip().splitlines()
    assert line.startswith("Error: ") and "full" in line

    (small_disk / "filler").unlink()
    conn = sqlite3.connect(db)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert conn.execute("select count(*) from articles").fetchone() == (1,)
        assert conn.execute("select status from crawl_runs").fetchall() == [("ok",)]
    finally:
        conn.close()
    # the raw captures of what was stored are whole: a WARC write cut short by the full disk was undone
    verified = run_cli("warc", "verify", "--db", str(db))
    assert verified.returncode == 0, verified.stdout
    again = _crawl(sources, db, "fj-observer")
    assert again.returncode == 0, again.stderr[-2000:]
    verified = run_cli("warc", "verify", "--db", str(db))
    assert verified.returncode == 0, verified.stdout


def test_a_full_warc_disk_stores_no_article_without_its_bytes(
    small_disk: Path, sample_web: SampleWeb, tmp_path: Path
) -> None:
    """Raw captures on a full disk: the pages fail with the reason, nothing is stored without its capture,
    and the WARC file holds only whole records."""
    sources = demo_sources(sample_web, tmp_path)
    db = tmp_path / "archive.db"
    _fill(small_disk / "filler")
    full = subprocess.run(
        [*_command(sources, db, "huli-edu"), "--data-dir", str(small_disk)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert full.returncode == 1
    assert "cannot write the raw capture" in full.stderr and "No space left on device" in full.stderr
    conn = sqlite3.connect(db)
    try:
        assert conn.execute("select count(*) from articles").fetchone() == (0,)
        assert conn.execute("select count(*) from captures").fetchone() == (0,)
        (status, error) = conn.execute("select status, error from crawl_runs").fetchone()
        assert status == "failed" and "cannot write the raw capture" in error
    finally:
        conn.close()
    for warc in small_disk.rglob("*.warc.gz"):
        checked = subprocess.run(
            [sys.executable, "-m", "warcio.cli", "check", str(warc)], capture_output=True
        )
        assert checked.returncode == 0, checked.stdout


def test_a_disk_that_fills_mid_crawl_keeps_the_real_reason_and_releases_the_lease(
    small_disk: Path, slow_portal: tuple[str, threading.Event, threading.Event], tmp_path: Path
) -> None:
    """The database and the raw captures on a disk that fills while an article is in flight: the run is
    closed as failed with what filled (once the disk has room again, within the lease), and the lease is
    released, so the next crawl is not refused as busy."""
    base, asked, release = slow_portal
    sources = slow_sources(tmp_path, base)
    (source,) = load_sources(sources)
    cfg = AppConfig(db_url=f"sqlite:///{small_disk / 'archive.db'}", sources_path=str(sources))
    sink, result = WatchedSink(), list[RunSummary]()
    settings = {**LOOPBACK_SETTINGS, "LOG_LEVEL": "INFO"}
    with watching("crawler.runner.crawl") as log:
        thread = threading.Thread(
            target=lambda: result.extend(
                crawl(cfg, [source], settings=settings, log_sink=sink, lease_seconds=30)
            ),
            daemon=True,
        )
        thread.start()
        sink.wait_for(r"stored article \d+ from .*/a/1\.html")
        assert asked.wait(WAIT)
        _fill(small_disk / "filler")
        release.set()
        # the disk gets room again once the crawl has ended, or once its parent is trying to close it
        deadline = time.monotonic() + WAIT
        while thread.is_alive() and not any("trying again" in m for m in log.messages):
            assert time.monotonic() < deadline, "the crawl did not end"
            thread.join(0.1)
        (small_disk / "filler").unlink()
        thread.join(WAIT)
        assert not thread.is_alive()
    (run,) = result
    assert run.status == "failed"
    assert run.error is not None and ("No space left on device" in run.error or "full" in run.error)
    sessions = open_for_writing(cfg.db_url).sessions
    with sessions() as s:
        assert holders(s) == {}
        stored = s.scalar(sa.select(sa.func.count()).select_from(Article).where(Article.run_id == run.run_id))
    assert run.counts["stored"] == stored == 1
    close_all()
    (again,) = crawl(cfg, [source], settings=LOOPBACK_SETTINGS, log_sink=None)
    close_all()
    assert again.status == "ok" and again.counts["stored"] == 1, run.error
