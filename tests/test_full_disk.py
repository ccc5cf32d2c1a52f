"""A full disk: the crawl stops with one line, and what was stored before is intact and readable.

The database lives on a small tmpfs that the test fills up; mounting needs root, so elsewhere this skips.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from crawler.sampleweb import SampleWeb
from tests.crawls import LOOPBACK, demo_sources, pairchive


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
    verified = pairchive("warc", "verify", "--db", str(db))
    assert verified.returncode == 0, verified.stdout
    again = _crawl(sources, db, "fj-observer")
    assert again.returncode == 0, again.stderr[-2000:]
    verified = pairchive("warc", "verify", "--db", str(db))
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
