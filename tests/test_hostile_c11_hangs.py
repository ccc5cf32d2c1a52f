"""Class 11, hangs, on the hostile pages of tests.hostile.c11_hangs: a Retry-After pauses the portal once
and within bounds, past them the page is left for the next run as a `retry_after` rejection (on both
databases); a pattern with nested quantifiers on a long link does not hang the crawl; a foreground crawl
has the daemon's time limit unless told otherwise."""

from __future__ import annotations

import importlib
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click
import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from crawler.cli import main
from crawler.runner.crawl import RunSummary
from crawler.runner.crawl import crawl as run_crawl
from crawler.vocabulary.config import DEFAULT_TIME_LIMIT_MINUTES, AppConfig
from storage.db import close_all, open_for_writing
from storage.models import Article, Rejection
from tests.crawls import LOOPBACK, LOOPBACK_SETTINGS, WAIT, WatchedSink
from tests.hostile import HostileWeb, c11_hangs
from tests.hostile.archives import DATABASES, database, hostile_source


@pytest.fixture(scope="module", params=DATABASES)
def archive(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One database of each kind for the module's crawls (each crawls a source of its own)."""
    folder = tmp_path_factory.mktemp("c11")
    with database(request.param, folder) as db:
        yield db


def crawl_portal(
    db: str,
    hostile: HostileWeb,
    folder: str,
    token: str,
    cancel: threading.Event | None = None,
    log_sink: WatchedSink | None = None,
    **settings: Any,
) -> dict[str, Any]:
    """One crawl of the hostile portal `folder` (asked with run token `token`), ended by the crawl's time
    limit rather than hanging the test, or by `cancel`; its run, its rejections by path, the paths stored
    and when it ended (time.monotonic())."""
    source = hostile_source(
        f"c11-{folder}", [hostile.url(11, f"{folder}/list.html") + f"?{token}"], f"/c11/{folder}/p/"
    )
    (run,) = run_crawl(
        AppConfig(db_url=db),
        [source],
        settings={**LOOPBACK_SETTINGS, **settings},
        log_sink=log_sink,
        timeout=WAIT,
        cancel=cancel,
    )
    ended = time.monotonic()
    sessions = open_for_writing(db).sessions
    with sessions() as s:
        rejections = {
            _path(r.url): (r.reason, r.detail)
            for r in s.scalars(sa.select(Rejection).where(Rejection.run_id == run.run_id))
        }
        stored = {
            _path(a.fetched_url) for a in s.scalars(sa.select(Article).where(Article.run_id == run.run_id))
        }
    close_all()
    return {
        "run": run,
        "rejections": rejections,
        "stored": stored,
        "asked": c11_hangs.asked_at(token),
        "ended": ended,
    }


def _path(url: str) -> str:
    return url.split("/c11/", 1)[1].split("?", 1)[0]


def _token() -> str:
    return f"run={uuid.uuid4().hex}"


def test_a_retry_after_just_under_the_old_cap_leaves_the_page_for_the_next_run_at_once(
    archive: str, hostile: HostileWeb
) -> None:
    token = _token()
    first = crawl_portal(archive, hostile, "wait", token)
    run: RunSummary = first["run"]
    assert run.status == "ok", run.error
    reason, detail = first["rejections"]["wait/p/1.html"]
    assert reason == "retry_after"
    assert detail.startswith(f"HTTP 429, Retry-After {c11_hangs.UNDER_THE_OLD_CAP} s: longer than the 120 s")
    assert "PAIRCHIVE_RETRY_AFTER_MAX" in detail and detail.endswith("left for the next run")
    assert first["stored"] == {"wait/p/2.html", "wait/p/3.html"}
    assert run.counts.get("retry_after") == 1
    assert [p for p, _ in first["asked"]].count("/c11/wait/p/1.html") == 1  # never waited for, never retried
    # a deferral settles nothing: the next run asks for the page again, and not for the stored ones
    log = WatchedSink()
    second = crawl_portal(archive, hostile, "wait", token, log_sink=log)
    assert second["rejections"]["wait/p/1.html"][0] == "retry_after"
    assert "ended with pages deferred: paging past known articles this time" in log.getvalue()
    asked = [p for p, _ in c11_hangs.asked_at(token)]
    assert asked.count("/c11/wait/p/1.html") == 2 and asked.count("/c11/wait/p/2.html") == 1


def test_a_short_retry_after_pauses_the_portal_once_and_not_for_the_rest_of_the_run(
    archive: str, hostile: HostileWeb
) -> None:
    token = _token()
    crawled = crawl_portal(archive, hostile, "pause", token)
    assert crawled["run"].status == "ok", crawled["run"].error
    assert crawled["rejections"] == {}
    assert crawled["stored"] == {f"pause/p/{n}.html" for n in range(1, c11_hangs.PAUSE_ARTICLES + 1)}
    busy = [t for p, t in crawled["asked"] if p == "/c11/pause/p/1.html"]
    assert len(busy) == 2 and busy[1] - busy[0] >= c11_hangs.SHORT_PAUSE  # the wait was honoured
    others = [t for p, t in crawled["asked"] if p.startswith("/c11/pause/p/") and p != "/c11/pause/p/1.html"]
    assert len(others) == c11_hangs.PAUSE_ARTICLES - 1
    # A portal slowed to the Retry-After for good would take SHORT_PAUSE s a page; it goes at its own pace.
    assert max(others) - busy[0] < (c11_hangs.PAUSE_ARTICLES - 1) * c11_hangs.SHORT_PAUSE / 2


def test_a_portal_asking_every_page_to_wait_is_paused_no_longer_than_the_run_total(
    archive: str, hostile: HostileWeb
) -> None:
    crawled = crawl_portal(archive, hostile, "always", _token(), PAIRCHIVE_RETRY_AFTER_TOTAL=1)
    run: RunSummary = crawled["run"]
    pages = {f"always/p/{n}.html" for n in range(1, c11_hangs.ALWAYS_ARTICLES + 1)}
    assert set(crawled["rejections"]) == pages and not crawled["stored"]
    assert {reason for reason, _ in crawled["rejections"].values()} == {"retry_after"}
    details = [detail for _, detail in crawled["rejections"].values()]
    assert any("PAIRCHIVE_RETRY_AFTER_TOTAL" in d for d in details)
    assert run.counts.get("retry_after") == c11_hangs.ALWAYS_ARTICLES
    asked = [p for p, _ in crawled["asked"]]
    assert all(asked.count(f"/c11/{page}") <= 2 for page in pages)  # one pause, then no more waiting
    assert run.status == "ok" and run.counts.get("failed", 0) == 0  # deferred, not failed
    assert run.counts["fetched"] == 1  # the listing; a deferred page is no page fetched, nor minus one


def test_an_entry_point_asked_to_wait_is_left_for_the_next_run_not_a_failed_run(
    archive: str, hostile: HostileWeb
) -> None:
    crawled = crawl_portal(archive, hostile, "entry", _token())
    run: RunSummary = crawled["run"]
    assert crawled["rejections"]["entry/list.html"][0] == "retry_after"
    assert run.status == "ok", run.error
    assert run.counts["retry_after"] == 1 and run.counts["fetched"] == 0


def test_a_page_still_asked_to_wait_after_its_retries_is_left_for_the_next_run(
    archive: str, hostile: HostileWeb
) -> None:
    crawled = crawl_portal(archive, hostile, "always", _token(), RETRY_TIMES=0)
    details = {detail for _, detail in crawled["rejections"].values()}
    assert len(crawled["rejections"]) == c11_hangs.ALWAYS_ARTICLES
    assert details == {
        "HTTP 429, Retry-After 1 s: still asked to wait after the page's retries; left for the next run"
    }


def test_a_crawl_ended_during_a_pause_ends_at_once_leaving_the_paused_pages_for_the_next_run(
    archive: str, hostile: HostileWeb
) -> None:
    log, stop, stopped_at = WatchedSink(), threading.Event(), []

    def stop_once_paused() -> None:
        try:
            log.wait_for(f"Retry-After {c11_hangs.LONG_PAUSE} s; this portal is paused for")
            stopped_at.append(time.monotonic())
        finally:
            stop.set()

    threading.Thread(target=stop_once_paused, daemon=True).start()
    crawled = crawl_portal(archive, hostile, "long", _token(), cancel=stop, log_sink=log)
    run: RunSummary = crawled["run"]
    assert stopped_at and run.status == "interrupted"
    assert crawled["ended"] - stopped_at[0] < c11_hangs.LONG_PAUSE / 2  # the pause did not hold its end
    assert {reason for reason, _ in crawled["rejections"].values()} == {"retry_after"}
    assert any(
        "the crawl stopped while the portal asked to wait" in d for _, d in crawled["rejections"].values()
    )


def test_nested_quantifiers_on_a_long_link_do_not_hang_the_crawl(hostile: HostileWeb, tmp_path: Path) -> None:
    sources = tmp_path / "sources.toml"
    sources.write_text(
        f'[[source]]\nname = "backtrack"\nstart_urls = ["{hostile.url(11, "backtrack/list.html")}"]\n'
        f"article_pattern = '{c11_hangs.BACKTRACKING_PATTERN}'\n",
        encoding="utf-8",
    )
    db = f"sqlite:///{tmp_path / 'a.db'}"
    crawl = _pairchive_within_wait("crawl", "--sources", str(sources), "--db", db, *LOOPBACK)
    assert crawl.returncode == 0, crawl.stderr[-2000:]
    sessions = open_for_writing(db).sessions
    with sessions() as s:
        stored = [_path(a.fetched_url) for a in s.scalars(sa.select(Article))]
    close_all()
    assert stored == ["backtrack/p/1.html"]
    check = _pairchive_within_wait("sources", "check", "backtrack", "--sources", str(sources))
    assert "article links: 1" in check.stdout, check.stdout + check.stderr


def _pairchive_within_wait(*args: str) -> subprocess.CompletedProcess[str]:
    """`pairchive ARGS` in a process group of its own, killed whole (crawl subprocess too) if it outlasts
    WAIT: a hang fails the test instead of spinning on the machine."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "crawler", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        out, err = proc.communicate(timeout=WAIT)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        raise AssertionError(f"pairchive {' '.join(args)} still running after {WAIT} s") from None
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def test_a_foreground_crawl_has_the_daemons_time_limit_unless_given_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (command,) = c11_hangs.CASES[-1].inputs
    sources = tmp_path / "sources.toml"
    sources.write_text(
        '[[source]]\nname = "a"\nstart_urls = ["http://127.0.0.1:9/"]\narticle_pattern = "/a/"\n'
    )
    limits: list[float | None] = []

    def crawl_recording_its_limit(
        *args: Any, timeout: float | None = None, **kwargs: Any
    ) -> list[RunSummary]:
        limits.append(timeout)
        return []

    # the module, not the command the package names the same
    monkeypatch.setattr(importlib.import_module("crawler.cli.crawl"), "run_crawl", crawl_recording_its_limit)
    base = [command, "--sources", str(sources), "--db", f"sqlite:///{tmp_path / 'a.db'}"]
    assert CliRunner().invoke(main, base).exit_code == 0
    assert CliRunner().invoke(main, [*base, "--timeout", "5"]).exit_code == 0
    assert limits == [DEFAULT_TIME_LIMIT_MINUTES * 60, 300]
    usage = " ".join(CliRunner().invoke(main, [command, "--help"]).output.split())
    assert f"default: {DEFAULT_TIME_LIMIT_MINUTES}" in usage


def test_the_foreground_and_the_daemon_time_limits_are_one_setting() -> None:
    import scheduler

    assert scheduler.TIME_LIMIT_MINUTES == DEFAULT_TIME_LIMIT_MINUTES
    daemon = main.commands["daemon"] if isinstance(main, click.Group) else None
    assert daemon is not None
    (limit,) = [p for p in daemon.params if p.name == "time_limit"]
    assert limit.default == DEFAULT_TIME_LIMIT_MINUTES
