"""Class 13 (tests.hostile.c13_faults): after a fault the lease is released and the run keeps its real
reason: PostgreSQL going away mid-crawl (a TCP proxy in front of it, cut and restored by the test), and
`-s` values Scrapy cannot read (a usage error in one line before any crawl starts, or, when only the crawl
can tell, a failed run with the reason). The full disk: tests/test_full_disk.py; a daemon restarted over
a dead lease: tests/test_daemon.py."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from crawler.runner.crawl import RunSummary, crawl
from crawler.vocabulary.config import AppConfig
from crawler.vocabulary.sources import load_sources
from storage.db import close_all, open_for_writing
from storage.leases import holders
from storage.models import Article
from tests.cli import run_cli
from tests.crawls import LOOPBACK, LOOPBACK_SETTINGS, WAIT, WatchedSink, pairchive, run_rows, watching
from tests.hostile import HostileWeb
from tests.hostile.c13_faults import BAD_SETTINGS, CASES, Gate, Proxy, sources_toml


@pytest.fixture
def gate() -> Iterator[type[Gate]]:
    Gate.reset()
    yield Gate
    Gate.release.set()


def _sources(hostile: HostileWeb, folder: Path) -> Path:
    path = folder / "sources.toml"
    path.write_text(sources_toml(hostile.url(13, "list.html")), encoding="utf-8")
    return path


def test_postgresql_going_away_mid_crawl_keeps_the_real_reason_and_releases_the_lease(
    hostile: HostileWeb, gate: type[Gate], db_url: str, tmp_path: Path
) -> None:
    if not db_url.startswith("postgresql"):
        pytest.skip("a database server that goes away: SQLite's counterpart is the full disk")
    server = make_url(db_url)
    proxy = Proxy((server.host or "127.0.0.1", server.port or 5432))
    url = server.set(port=proxy.port).render_as_string(hide_password=False)
    sources = _sources(hostile, tmp_path)
    (source,) = load_sources(sources)
    cfg = AppConfig(db_url=url, sources_path=str(sources))
    sink, result = WatchedSink(), list[RunSummary]()
    settings = {**LOOPBACK_SETTINGS, "LOG_LEVEL": "INFO"}
    try:
        with watching("crawler.runner.crawl") as log:
            # a lease of 30 s: the parent tries to close the run for as long as it would hold
            thread = threading.Thread(
                target=lambda: result.extend(
                    crawl(cfg, [source], settings=settings, log_sink=sink, lease_seconds=30)
                ),
                daemon=True,
            )
            thread.start()
            sink.wait_for(r"stored article \d+ from .*/c13/a/1\.html")
            assert gate.asked.wait(WAIT)  # the second article is in flight
            proxy.cut()  # the server is gone: the second article cannot be stored, nor the run closed
            gate.release.set()
            log.wait_for(r"^WARNING could not record the end of the crawl, trying again for \d+s more: ")
            proxy.restore()  # back before the lease would expire
            thread.join(WAIT)
            assert not thread.is_alive()
        (run,) = result
        assert run.status == "failed" and run.exit_code == 1
        assert run.error is not None and run.error.startswith(
            "the database refused a write: OperationalError"
        )
        sessions = open_for_writing(url).sessions
        with sessions() as s:
            stored = s.scalar(
                sa.select(sa.func.count()).select_from(Article).where(Article.run_id == run.run_id)
            )
            assert run.counts["stored"] == stored == 1
            assert holders(s) == {}
        # the next crawl is not refused as busy: it takes the source at once and stores the second article
        (again,) = crawl(cfg, [source], settings=LOOPBACK_SETTINGS, log_sink=None)
        assert again.status == "ok" and again.counts["stored"] == 1
    finally:
        proxy.close()
        close_all()


@pytest.mark.parametrize("setting", BAD_SETTINGS)
def test_a_setting_value_scrapy_cannot_read_is_one_line_and_exit_2_before_any_crawl(
    setting: str, hostile: HostileWeb, tmp_path: Path
) -> None:
    db = f"sqlite:///{tmp_path / 'a.db'}"
    asked = hostile.asked.count("/c13/list.html")
    result = run_cli("crawl", "--sources", str(_sources(hostile, tmp_path)), "--db", db, "-s", setting)
    assert result.returncode == 2
    (line,) = result.stderr.splitlines()
    key, _, value = setting.partition("=")
    assert line.startswith(f"Error: -s {key}={value!r}: ") and line.endswith("expected")
    assert run_rows(db) == []  # no run was started, no page asked for
    assert hostile.asked.count("/c13/list.html") == asked


def test_the_daemon_refuses_an_unreadable_setting_value_at_start(hostile: HostileWeb, tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'a.db'}"
    result = pairchive(
        "daemon", "--sources", str(_sources(hostile, tmp_path)), "--db", db, "-s", BAD_SETTINGS[0]
    )
    assert result.returncode == 2
    (line,) = result.stderr.splitlines()
    assert line.startswith("Error: -s DOWNLOAD_DELAY='abc': a number is expected")


def test_a_setting_only_the_crawl_can_refuse_fails_its_run_with_the_reason(
    hostile: HostileWeb, tmp_path: Path
) -> None:
    (case,) = [c for c in CASES if c.name == "setting-unreadable-at-start"]
    db = f"sqlite:///{tmp_path / 'a.db'}"
    sources = _sources(hostile, tmp_path)
    result = pairchive("crawl", "--sources", str(sources), "--db", db, *LOOPBACK, "-s", case.inputs[0])
    assert result.returncode == 1
    ((_, _, status, error),) = run_rows(db)
    assert status == "failed"
    assert error is not None and error.startswith("the crawl could not start: ValueError: ")
    assert f"run 1 (held) failed: {error}" in result.stderr
    sessions = open_for_writing(db).sessions
    with sessions() as s:
        assert holders(s) == {}
    close_all()
