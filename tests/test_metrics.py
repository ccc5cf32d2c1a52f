"""Prometheus metrics: a real daemon serving /metrics over the sample web, `crawl --metrics-file` after a real
crawl, the scheduler's skipped and coalesced runs driven with frozen time, a lease taken over, and the
bounded sets every label comes from. The metrics are read back with prometheus_client's own parser and
compared with the run records in the database."""

from __future__ import annotations

import os
import re
import signal
import socket
import threading
import urllib.request
from collections import Counter
from collections.abc import Iterator
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
import time_machine
from apscheduler.events import EVENT_JOB_EXECUTED, EVENT_JOB_MAX_INSTANCES
from apscheduler.executors.debug import DebugExecutor
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

import scheduler
from crawler.runner import metrics
from crawler.runner.crawl import RunSummary, crawl
from crawler.sampleweb import SampleWeb
from crawler.vocabulary.config import AppConfig
from crawler.vocabulary.sources import load_sources
from storage.archive import upsert_sources
from storage.db import close_all, open_for_writing
from storage.leases import LEASE_SECONDS, acquire
from storage.models import CrawlRun, utcnow
from storage.outcomes import Reason
from tests.cli import run_cli
from tests.crawls import (
    LOOPBACK,
    LOOPBACK_SETTINGS,
    WAIT,
    crawl_sample,
    pairchive,
    run_rows,
    slow_sources,
    started,
)
from tests.test_daemon import DrivenScheduler, one_source

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def samples(text: str) -> Samples:
    """Every sample of an exposition: (name, sorted labels) -> value."""
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def by(found: Samples, name: str, *labels: str) -> dict[tuple[str, ...], float]:
    """The samples of one metric, keyed by the values of `labels`."""
    return {
        tuple(dict(key)[label] for label in labels): value for (n, key), value in found.items() if n == name
    }


def recorded(db: str) -> list[CrawlRun]:
    sessions = open_for_writing(db).sessions
    with sessions() as s:
        runs = list(s.scalars(sa.select(CrawlRun).order_by(CrawlRun.id)).all())
        for run in runs:
            run.source.name  # noqa: B018 - loaded while the session is open
    close_all()
    return runs


def pages_of(runs: list[CrawlRun]) -> dict[tuple[str, str], float]:
    """Pages by source and outcome as the run records count them (the words the metrics keep)."""
    out: Counter[tuple[str, str]] = Counter()
    for run in runs:
        for word, n in (run.counts or {}).items():
            outcome = metrics.outcome_label(word)
            if outcome is not None and n:
                out[run.source.name, outcome] += n
    return dict(out)


def assert_no_url_in_labels(found: Samples) -> None:
    for (name, labels), _ in found.items():
        for label, value in labels:
            assert "://" not in value and "/" not in value and " " not in value, (name, label, value)
        if name.startswith("pairchive_"):
            assert {label for label, _ in labels} <= {"source", "status", "outcome", "reason", "le"}, name


@pytest.fixture
def tally() -> Iterator[metrics.Metrics]:
    """Metrics installed for this test only."""
    installed = metrics.install(metrics.Metrics())
    assert installed is not None
    try:
        yield installed
    finally:
        metrics.install(None)


# --- the bounded sets ----------------------------------------------------------------------------------


def test_outcome_words_are_the_declared_reasons_and_page_counts_and_anything_else_is_other() -> None:
    for reason in Reason:
        assert metrics.outcome_label(reason) == reason.value
    for word in ("fetched", "stored", "revised", "known", "too_old"):
        assert metrics.outcome_label(word) == word
    assert metrics.outcome_label("capped") is None  # a flag of the run, not a number of pages
    for word in ("http://portal.example/a.html", "some new word", "Stored"):
        assert metrics.outcome_label(word) == "other"


def test_every_declared_source_has_its_series_at_zero_before_any_run() -> None:
    tally = metrics.Metrics()
    tally.declare(["huli-edu", "linxia-news"])
    found = samples(generate_latest(tally.registry).decode())
    runs = by(found, "pairchive_runs_total", "source", "status")
    assert runs[("huli-edu", "ok")] == 0 and runs[("linxia-news", "degraded")] == 0
    assert by(found, "pairchive_pages_total", "source", "outcome")[("linxia-news", "stored")] == 0
    skipped = by(found, "pairchive_runs_skipped_total", "source", "reason")
    assert {reason for (source, reason) in skipped if source == "huli-edu"} == set(metrics.SKIP_REASONS)
    assert by(found, "pairchive_last_success_timestamp_seconds", "source") == {
        ("huli-edu",): 0,
        ("linxia-news",): 0,
    }
    assert by(found, "pairchive_crawls_running") == {(): 0}
    assert_no_url_in_labels(found)


def test_a_degraded_run_is_counted_by_its_status_and_as_degraded_and_unknown_count_words_as_other() -> None:
    tally = metrics.Metrics()
    start = datetime(2026, 11, 24, 18, 30, tzinfo=UTC)
    tally.count_run(
        metrics_run(
            "huli-edu", "degraded", start, start + timedelta(seconds=42), {"stored": 3, "brand_new": 2}
        )
    )
    found = samples(generate_latest(tally.registry).decode())
    assert by(found, "pairchive_runs_total", "source", "status") == {("huli-edu", "degraded"): 1}
    assert by(found, "pairchive_degraded_runs_total", "source") == {("huli-edu",): 1}
    assert by(found, "pairchive_pages_total", "source", "outcome") == {
        ("huli-edu", "stored"): 3,
        ("huli-edu", "other"): 2,
    }
    assert by(found, "pairchive_run_duration_seconds_sum", "source") == {("huli-edu",): 42}


def metrics_run(
    source: str, status: str, started_at: datetime, finished_at: datetime, counts: dict[str, int]
) -> RunSummary:
    return RunSummary(1, source, status, started_at, finished_at, counts)


# --- events where they happen --------------------------------------------------------------------------


def test_a_lease_taken_over_from_a_dead_crawl_is_counted(
    sample_web: SampleWeb, tmp_path: Path, tally: metrics.Metrics
) -> None:
    sources = tmp_path / "sources.toml"
    sources.write_text(one_source(sample_web, "linxia-news"), encoding="utf-8")
    cfg = AppConfig(db_url=f"sqlite:///{tmp_path / 'a.db'}", sources_path=str(sources))
    (source,) = load_sources(sources)
    with open_for_writing(cfg.db_url).sessions.begin() as s:
        source_id = upsert_sources(s, [source.to_dict()])["linxia-news"]
        # a crawl killed long enough ago that its lease has expired
        acquire(s, source_id, "schedule@gone:1:abcdef", now=utcnow() - timedelta(seconds=LEASE_SECONDS + 60))
    (run,) = crawl(cfg, [source], settings=LOOPBACK_SETTINGS, log_sink=None)
    assert run.status == "ok"
    found = samples(generate_latest(tally.registry).decode())
    assert by(found, "pairchive_lease_takeovers_total", "source") == {("linxia-news",): 1}
    close_all()


def held_source(tmp_path: Path, schedule: str) -> AppConfig:
    """A source on a dead port whose lease another crawl holds: its job returns `busy` without crawling."""
    sources = tmp_path / "sources.toml"
    sources.write_text(
        '[[source]]\nname = "held"\nstart_urls = ["http://127.0.0.1:9/list.html"]\narticle_pattern = "/a/"\n'
        f'schedule = "{schedule}"\ntimezone = "UTC"\n',
        encoding="utf-8",
    )
    cfg = AppConfig(db_url=f"sqlite:///{tmp_path / 'a.db'}", sources_path=str(sources))
    (source,) = load_sources(sources)
    with open_for_writing(cfg.db_url).sessions.begin() as s:
        source_id = upsert_sources(s, [source.to_dict()])["held"]
        acquire(s, source_id, "cli@operator:42:abcdef", seconds=10 * 86400)
    return cfg


def skipped_of(tally: metrics.Metrics) -> dict[str, float]:
    found = samples(generate_latest(tally.registry).decode())
    return {
        reason: value
        for (source, reason), value in by(found, "pairchive_runs_skipped_total", "source", "reason").items()
        if source == "held" and value
    }


def test_a_backlog_of_scheduled_times_made_one_run_counts_the_others_as_coalesced_and_a_busy_source_as_busy(
    tmp_path: Path, tally: metrics.Metrics
) -> None:
    cfg = held_source(tmp_path, "*/10 * * * *")
    sched = DrivenScheduler(timezone="UTC", executors={"default": DebugExecutor()})
    daemon = scheduler.Daemon(cfg, settings=LOOPBACK_SETTINGS, scheduler=sched)
    tally.watch(sched)
    with time_machine.travel(datetime(2026, 11, 24, 18, 9, 59, tzinfo=UTC), tick=False) as clock:
        assert daemon.load()
        sched.start()
        try:
            # asleep through 18:10, 18:20, 18:30 and 18:40: one run, at 18:40, stands for four times
            clock.move_to(datetime(2026, 11, 24, 18, 40, 20, tzinfo=UTC))
            sched._process_jobs()
            assert skipped_of(tally) == {"coalesced": 3, "busy": 1}
            clock.move_to(datetime(2026, 11, 24, 18, 50, 5, tzinfo=UTC))
            sched._process_jobs()  # on time: nothing coalesced
            assert skipped_of(tally) == {"coalesced": 3, "busy": 2}
        finally:
            sched.shutdown(wait=False)
    assert run_rows(cfg.db_url) == []
    close_all()


def test_a_run_missed_past_the_misfire_grace_is_counted_as_missed(
    tmp_path: Path, tally: metrics.Metrics
) -> None:
    cfg = held_source(tmp_path, "30 18 * * *")
    sched = DrivenScheduler(timezone="UTC", executors={"default": DebugExecutor()})
    daemon = scheduler.Daemon(cfg, settings=LOOPBACK_SETTINGS, scheduler=sched)
    tally.watch(sched)
    fire = datetime(2026, 11, 24, 18, 30, tzinfo=UTC)
    with time_machine.travel(fire - timedelta(seconds=1), tick=False) as clock:
        assert daemon.load()
        sched.start()
        try:
            # the machine slept through two runs; the later one is past the grace too
            clock.move_to(fire + timedelta(days=1, seconds=scheduler.MISFIRE_GRACE_SECONDS + 60))
            sched._process_jobs()
        finally:
            sched.shutdown(wait=False)
    assert skipped_of(tally) == {"coalesced": 1, "missed": 1}
    close_all()


def test_a_crawl_running_is_counted_and_its_next_time_while_it_runs_is_counted_busy(
    slow_portal: tuple[str, threading.Event, threading.Event], tmp_path: Path, tally: metrics.Metrics
) -> None:
    base, asked, release = slow_portal
    cfg = AppConfig(db_url=f"sqlite:///{tmp_path / 'a.db'}", sources_path=str(slow_sources(tmp_path, base)))
    daemon = scheduler.Daemon(cfg, settings=LOOPBACK_SETTINGS, grace=WAIT)
    tally.watch(daemon.scheduler)
    refused, executed = threading.Event(), threading.Event()
    # after the metrics' own listener, which was added first: when these are set, it has counted
    daemon.scheduler.add_listener(lambda _e: refused.set(), EVENT_JOB_MAX_INSTANCES)
    daemon.scheduler.add_listener(lambda _e: executed.set(), EVENT_JOB_EXECUTED)
    assert daemon.load()
    daemon.start(run_now=True)
    try:
        assert asked.wait(WAIT)  # mid-page
        assert by(samples(generate_latest(tally.registry).decode()), "pairchive_crawls_running") == {(): 1}
        job = daemon.scheduler.get_job(scheduler.job_id("slow"))
        job.modify(next_run_time=datetime.now(UTC))  # due again while it runs (max_instances=1)
        assert refused.wait(WAIT)
        release.set()
        assert executed.wait(WAIT)
    finally:
        release.set()
        daemon.stop()
    found = samples(generate_latest(tally.registry).decode())
    assert by(found, "pairchive_crawls_running") == {(): 0}
    assert {k: v for k, v in by(found, "pairchive_runs_skipped_total", "source", "reason").items() if v} == {
        ("slow", "busy"): 1
    }
    assert {k: v for k, v in by(found, "pairchive_runs_total", "source", "status").items() if v} == {
        ("slow", "ok"): 1
    }
    close_all()


def test_a_job_that_could_make_no_run_is_counted_as_an_error_not_as_a_failed_run(
    tmp_path: Path, tally: metrics.Metrics
) -> None:
    sources = tmp_path / "sources.toml"
    sources.write_text(
        '[[source]]\nname = "lost"\nstart_urls = ["http://127.0.0.1:9/"]\narticle_pattern = "/a/"\n',
        encoding="utf-8",
    )
    (source,) = load_sources(sources)
    cfg = AppConfig(db_url=f"sqlite:///{tmp_path / 'nowhere' / 'a.db'}", sources_path=str(sources))
    assert scheduler.run_source(asdict(cfg), source.to_dict(), LOOPBACK_SETTINGS) == "failed"
    found = samples(generate_latest(tally.registry).decode())
    assert by(found, "pairchive_runs_skipped_total", "source", "reason") == {("lost", "error"): 1}
    assert by(found, "pairchive_runs_total", "source", "status") == {}
    assert by(found, "pairchive_crawls_running") == {(): 0}


# --- a real daemon -------------------------------------------------------------------------------------


def scrape(port: int) -> Samples:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=WAIT) as response:
        assert response.status == 200
        return samples(response.read().decode("utf-8"))


def served_port(line: str) -> int:
    found = re.search(r"metrics served at http://127\.0\.0\.1:(\d+)/metrics$", line)
    assert found, line
    return int(found.group(1))


def test_the_daemon_serves_metrics_that_match_its_run_records_and_a_restarted_one_reads_its_standing(
    sample_web: SampleWeb, tmp_path: Path
) -> None:
    names = ["linxia-news", "fj-observer"]
    sources = tmp_path / "sources.toml"
    sources.write_text("".join(one_source(sample_web, n) for n in names), encoding="utf-8")
    db = f"sqlite:///{tmp_path / 'a.db'}"
    args = ("daemon", "--sources", str(sources), "--db", db, "--metrics", "127.0.0.1:0", *LOOPBACK)
    with started(*args, "--now") as (proc, err):
        port = served_port(err.wait_for(r"metrics served at "))
        before = scrape(port)  # every source's series from the start, before any run
        assert by(before, "pairchive_runs_total", "source", "status")[("fj-observer", "ok")] == 0
        # The job counts a run before it logs it: once both are logged, the metrics are final.
        for name in names:
            err.wait_for(rf"run \d+ of {name}: ")
        found = scrape(port)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=WAIT) == 0
    runs = recorded(db)
    assert sorted(r.source.name for r in runs) == sorted(names)
    by_status = Counter((r.source.name, r.status) for r in runs)
    assert {k: v for k, v in by(found, "pairchive_runs_total", "source", "status").items() if v} == by_status
    assert {
        k: v for k, v in by(found, "pairchive_pages_total", "source", "outcome").items() if v
    } == pages_of(runs)
    assert by(found, "pairchive_run_duration_seconds_count", "source") == {(n,): 1 for n in names}
    last_ok = {
        (r.source.name,): r.finished_at.timestamp() for r in runs if r.status == "ok" and r.finished_at
    }
    assert len(last_ok) == 2
    assert by(found, "pairchive_last_success_timestamp_seconds", "source") == pytest.approx(last_ok)
    assert by(found, "pairchive_consecutive_failures", "source") == {(n,): 0 for n in names}
    assert by(found, "pairchive_crawls_running") == {(): 0}
    assert ("process_resident_memory_bytes", ()) in found  # a service's own health too
    assert_no_url_in_labels(found)

    with started(*args) as (proc, err):  # restarted, no run yet: the gauges come from the database
        seeded = scrape(served_port(err.wait_for(r"metrics served at ")))
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=WAIT) == 0
    assert by(seeded, "pairchive_last_success_timestamp_seconds", "source") == pytest.approx(last_ok)
    assert not any(by(seeded, "pairchive_runs_total", "source", "status").values())


def test_a_metrics_port_in_use_is_one_error_line_and_exit_status_2(
    sample_web: SampleWeb, tmp_path: Path
) -> None:
    sources = tmp_path / "sources.toml"
    sources.write_text(one_source(sample_web, "linxia-news"), encoding="utf-8")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = pairchive(
            "daemon",
            "--sources",
            str(sources),
            "--db",
            f"sqlite:///{tmp_path / 'a.db'}",
            "--metrics",
            f"127.0.0.1:{port}",
        )
    assert result.returncode == 2
    (line,) = result.stderr.splitlines()
    assert line.endswith(
        f"ERROR pairchive.daemon: cannot serve metrics on 127.0.0.1:{port}: Address already in use"
    )


@pytest.mark.parametrize("value", ["9464", "localhost:", "127.0.0.1:65536", "::1:9464", ":9464", "host:port"])
def test_a_metrics_address_that_is_not_host_and_port_is_a_usage_error(value: str) -> None:
    result = run_cli("daemon", "--metrics", value)
    assert result.returncode == 2
    assert "Invalid value for '--metrics'" in result.stderr


# --- crawl --metrics-file ------------------------------------------------------------------------------


def test_crawl_writes_its_runs_metrics_to_the_file_for_the_textfile_collector(
    sample_web: SampleWeb, tmp_path: Path
) -> None:
    folder = tmp_path / "textfile"
    folder.mkdir()
    path = folder / "pairchive.prom"
    db = crawl_sample(sample_web, tmp_path, "linxia-news", "--metrics-file", str(path))
    assert [p.name for p in folder.iterdir()] == ["pairchive.prom"]  # written beside it and renamed
    found = samples(path.read_text(encoding="utf-8"))
    (run,) = recorded(db)
    assert {k: v for k, v in by(found, "pairchive_runs_total", "source", "status").items() if v} == {
        ("linxia-news", "ok"): 1
    }
    assert {
        k: v for k, v in by(found, "pairchive_pages_total", "source", "outcome").items() if v
    } == pages_of([run])
    assert run.finished_at is not None
    assert by(found, "pairchive_last_success_timestamp_seconds", "source") == pytest.approx(
        {("linxia-news",): run.finished_at.timestamp()}
    )
    assert not any(name.startswith("process_") for name, _ in found)  # a finished cron job's are meaningless
    assert_no_url_in_labels(found)


def test_crawl_writes_the_metrics_file_when_a_run_fails_too(tmp_path: Path) -> None:
    sources = tmp_path / "sources.toml"
    sources.write_text(
        '[[source]]\nname = "dead"\nstart_urls = ["http://127.0.0.1:9/list.html"]\narticle_pattern = "/a/"\n',
        encoding="utf-8",
    )
    path = tmp_path / "pairchive.prom"
    db = f"sqlite:///{tmp_path / 'a.db'}"
    result = pairchive("crawl", "--sources", str(sources), "--db", db, "--metrics-file", str(path), *LOOPBACK)
    assert result.returncode == 1
    found = samples(path.read_text(encoding="utf-8"))
    assert by(found, "pairchive_runs_total", "source", "status")[("dead", "failed")] == 1
    assert by(found, "pairchive_consecutive_failures", "source") == {("dead",): 1}
    assert by(found, "pairchive_last_success_timestamp_seconds", "source") == {("dead",): 0}


def test_ctrl_c_during_a_crawl_writes_the_metrics_of_the_runs_so_far(
    slow_portal: tuple[str, threading.Event, threading.Event], tmp_path: Path
) -> None:
    base, asked, release = slow_portal
    sources = slow_sources(tmp_path, base)
    db = f"sqlite:///{tmp_path / 'a.db'}"
    path = tmp_path / "pairchive.prom"
    args = ("crawl", "--log", "--sources", str(sources), "--db", db, "--metrics-file", str(path), *LOOPBACK)
    with started(*args) as (proc, _err):
        assert asked.wait(WAIT)
        os.killpg(proc.pid, signal.SIGINT)  # as the terminal does on Ctrl-C: the crawl and its worker
        release.set()
        assert proc.wait(timeout=WAIT) == 1
    found = samples(path.read_text(encoding="utf-8"))
    assert by(found, "pairchive_runs_total", "source", "status")[("slow", "interrupted")] == 1
    assert by(found, "pairchive_consecutive_failures", "source") == {("slow",): 1}


def test_a_metrics_file_in_a_directory_that_does_not_exist_is_refused_before_crawling(
    sample_web: SampleWeb, tmp_path: Path
) -> None:
    sources = tmp_path / "sources.toml"
    sources.write_text(one_source(sample_web, "linxia-news"), encoding="utf-8")
    db = f"sqlite:///{tmp_path / 'a.db'}"
    path = tmp_path / "nowhere" / "pairchive.prom"
    result = pairchive("crawl", "--sources", str(sources), "--db", db, "--metrics-file", str(path), *LOOPBACK)
    assert result.returncode == 2
    (line,) = result.stderr.splitlines()
    assert line == f"Error: --metrics-file {path}: directory {path.parent} does not exist"
    assert not (tmp_path / "a.db").exists()  # refused before a run was made
