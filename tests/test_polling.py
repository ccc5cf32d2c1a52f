"""Polling that learns: a source's interval read off its own runs in a real SQLite file, the daemon's cron
times skipped while too early (`not_due`) and crawled once due, `status` saying the next visit and why,
and bad bounds refused when the sources file loads. Time is frozen; the scheduler is driven directly."""

from __future__ import annotations

import json
import re
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
import time_machine
from apscheduler.executors.debug import DebugExecutor
from apscheduler.schedulers.base import BaseScheduler

import scheduler
from crawler.sampleweb import SampleWeb
from crawler.vocabulary.config import AppConfig
from crawler.vocabulary.durations import duration_text, parse_duration
from crawler.vocabulary.errors import SourceConfigError
from crawler.vocabulary.polling import VisitPlan, planned_visit
from crawler.vocabulary.sources import Source, load_sources, parse_sources, source_from_dict
from storage.archive import finish_run, start_run, upsert_sources
from storage.db import close_all, open_for_writing
from storage.models import CrawlRun
from tests.cli import run_cli
from tests.crawls import LOOPBACK_SETTINGS, run_rows, watching

T0 = datetime(2026, 11, 24, 2, 0, tzinfo=UTC)  # a cron time of every schedule below
DEAD = "http://127.0.0.1:9/list.html"  # refuses connections: a run there fails at once
NO_RETRIES = {**LOOPBACK_SETTINGS, "RETRY_TIMES": 0}


def adaptive(name: str = "quiet", bounds: str = 'min_interval = "6h"\nmax_interval = "2d"\n') -> str:
    return (
        f'[[source]]\nname = "{name}"\nstart_urls = ["{DEAD}"]\narticle_pattern = "/a/"\n'
        f'schedule = "0 * * * *"\ntimezone = "UTC"\n{bounds}'
    )


def visit(
    db: str, source: Source, at: datetime, *, status: str = "ok", trigger: str = "schedule", **counts: int
) -> None:
    """One ended run of `source` that started at `at`, recorded as a crawl records it."""
    with time_machine.travel(at, tick=False):
        sessions = open_for_writing(db).sessions
        with sessions.begin() as s:
            source_id = upsert_sources(s, [source.to_dict()])[source.name]
            run_id = start_run(s, source_id, trigger)
            finish_run(s, run_id, status=status, counts={"fetched": 1, **counts})


def plan(db: str, source: Source, now: datetime) -> VisitPlan:
    sessions = open_for_writing(db).sessions
    with sessions() as s:
        found = planned_visit(s, source, now)
    close_all()
    return found


class DrivenScheduler(BaseScheduler):
    """An APScheduler scheduler with no thread of its own: due jobs run when the test calls
    `_process_jobs()`, at the (frozen) time of the call, in the calling thread (DebugExecutor)."""

    def wakeup(self) -> None:
        pass

    def shutdown(self, wait: bool = True) -> None:
        super().shutdown(wait)


# --- the bounds, as the sources file declares them ----------------------------------------------------


def test_bounds_load_as_durations_and_survive_the_trip_to_a_crawl_job() -> None:
    (source,) = parse_sources(adaptive(bounds='min_interval = "30m"\nmax_interval = "1d12h"\n'))
    assert (source.min_interval, source.max_interval) == (timedelta(minutes=30), timedelta(hours=36))
    assert source_from_dict(source.to_dict()) == source
    assert source.to_dict()["max_interval"] == "1d12h"


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("30m", 1800), ("6h", 21600), ("2d", 172800), ("1w", 604800), ("1d12h", 129600), ("1h30m", 5400)],
)
def test_durations_read_as_written_and_are_said_back_the_same_way(text: str, seconds: int) -> None:
    assert parse_duration(text) == timedelta(seconds=seconds)
    assert parse_duration(duration_text(parse_duration(text))) == timedelta(seconds=seconds)


@pytest.mark.parametrize(
    ("bounds", "message"),
    [
        (
            'min_interval = "6 hours"\nmax_interval = "2d"\n',
            "key 'min_interval': '6 hours' is not a duration",
        ),
        ('min_interval = "1.5h"\nmax_interval = "2d"\n', "key 'min_interval': '1.5h' is not a duration"),
        ('min_interval = "6h"\nmax_interval = "90s"\n', "key 'max_interval': '90s' is not a duration"),
        ('min_interval = "0m"\nmax_interval = "2d"\n', "key 'min_interval': must be from 1m to 365d"),
        ('min_interval = "6h"\nmax_interval = "400d"\n', "key 'max_interval': must be from 1m to 365d"),
        ("min_interval = 6\nmax_interval = '2d'\n", "key 'min_interval': must be a non-empty string"),
        ('min_interval = "6h"\n', "key 'max_interval': is required beside min_interval"),
        ('max_interval = "2d"\n', "key 'min_interval': is required beside max_interval"),
        (
            'min_interval = "3d"\nmax_interval = "2d"\n',
            "key 'min_interval': 3d is longer than max_interval 2d",
        ),
    ],
)
def test_bad_bounds_are_one_line_naming_the_file_the_source_and_the_field(
    bounds: str, message: str, tmp_path: Path
) -> None:
    path = tmp_path / "sources.toml"
    path.write_text(adaptive(bounds=bounds), encoding="utf-8")
    with pytest.raises(SourceConfigError) as err:
        load_sources(path)
    assert str(err.value).startswith(f"{path}: source 'quiet': {message}")
    assert "\n" not in str(err.value)
    result = run_cli("status", "--sources", str(path), "--db", f"sqlite:///{tmp_path / 'a.db'}")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [f"Error: {err.value}"]


# --- the interval, learnt from real runs in a real SQLite file ----------------------------------------


def test_the_interval_grows_over_visits_that_find_nothing_and_stops_at_max_interval(db_url: str) -> None:
    db = db_url
    (source,) = parse_sources(adaptive())
    assert plan(db, source, T0) == VisitPlan(
        T0, timedelta(hours=6), "every 6h (min): no visit yet", due=True
    )  # no history: due at the first cron time
    seen = []
    for n in range(7):
        at = T0 + timedelta(days=n)
        visit(db, source, at, known=12)  # only known pages: nothing new
        found = plan(db, source, at + timedelta(minutes=5))
        assert not found.due
        seen.append(found.why)
    assert seen == [
        "every 9h: nothing new in the last visit",
        "every 13h30m: nothing new in the last 2 visits",
        "every 20h15m: nothing new in the last 3 visits",
        "every 1d6h22m: nothing new in the last 4 visits",
        "every 1d21h34m: nothing new in the last 5 visits",
        "every 2d (max): nothing new in the last 6 visits",
        "every 2d (max): nothing new in the last 7 visits",
    ]
    last = T0 + timedelta(days=6)
    # due a tenth of the interval early, at most an hour: the hourly cron time 47 hours on
    assert plan(db, source, last + timedelta(hours=1)).next_visit == last + timedelta(hours=47)
    assert not plan(db, source, last + timedelta(hours=46, minutes=59)).due
    assert plan(db, source, last + timedelta(hours=47)).due


def test_a_visit_with_new_articles_halves_the_interval_down_to_min_interval(db_url: str) -> None:
    db = db_url
    (source,) = parse_sources(adaptive())
    at = T0
    for _ in range(6):
        visit(db, source, at, known=3)
        at += timedelta(days=2)
    assert plan(db, source, at).interval == timedelta(days=2)
    visit(db, source, at, stored=2, known=3)  # two new stories
    found = plan(db, source, at + timedelta(minutes=1))
    assert (found.interval, found.why) == (
        timedelta(days=1),
        "every 1d: new articles in 1 of the last 5 visits",
    )
    assert found.next_visit == at + timedelta(days=1) - timedelta(hours=1)
    # each with one article page no earlier run had settled
    visit(db, source, at + timedelta(hours=6), known=4, not_pairing=1)
    visit(db, source, at + timedelta(hours=12), known=4, no_text=1)
    visit(db, source, at + timedelta(hours=18), known=4, duplicate=1)
    visit(db, source, at + timedelta(hours=24), known=4, revised=1)
    at += timedelta(hours=30)
    visit(db, source, at, known=4, stored=1)
    found = plan(db, source, at + timedelta(minutes=1))
    assert (found.interval, found.why) == (
        timedelta(hours=6),
        "every 6h (min): new articles in 5 of the last 5 visits",
    )


def test_runs_that_did_not_complete_keep_the_interval_and_a_reprocess_is_no_visit(db_url: str) -> None:
    db = db_url
    (source,) = parse_sources(adaptive())
    visit(db, source, T0, known=4)
    visit(db, source, T0 + timedelta(hours=9), known=4)
    assert plan(db, source, T0 + timedelta(hours=10)).interval == timedelta(hours=13, minutes=30)
    for n, status in enumerate(("failed", "timeout", "interrupted")):
        visit(db, source, T0 + timedelta(days=1 + n), status=status, failed=1)
    found = plan(db, source, T0 + timedelta(days=3, minutes=1))
    assert (found.interval, found.why) == (
        timedelta(hours=13, minutes=30),
        "every 13h30m: the last visit was interrupted, interval kept",
    )
    # measured from the failed visit's start: tried again at the cadence it had
    assert found.next_visit == T0 + timedelta(days=3, hours=13)
    visit(db, source, T0 + timedelta(days=3, hours=2), trigger="reprocess", stored=9)
    assert plan(db, source, T0 + timedelta(days=3, hours=3)).interval == timedelta(hours=13, minutes=30)
    visit(db, source, T0 + timedelta(days=4), known=4)
    assert plan(db, source, T0 + timedelta(days=4, minutes=1)).why == (
        "every 20h15m: nothing new in the last 3 visits"
    )


def test_a_source_without_bounds_follows_its_schedule(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'a.db'}"
    (source,) = parse_sources(adaptive(bounds=""))
    visit(db, source, T0, known=4)
    assert plan(db, source, T0 + timedelta(minutes=1)) == VisitPlan(
        T0 + timedelta(hours=1), None, "schedule", due=True
    )


# --- the daemon: cron times too early are skipped, the next due one crawls ---------------------------


def test_a_cron_time_before_the_source_is_due_is_not_due_and_the_one_after_crawls(
    sample_web: SampleWeb, tmp_path: Path
) -> None:
    text = sample_web.sources_toml()
    (block,) = [b for b in text.split("[[source]]") if 'name = "linxia-news"' in b]
    block = re.sub(r'schedule = "[^"]*"', 'schedule = "0 * * * *"', block)
    sources = tmp_path / "sources.toml"
    sources.write_text(f'[[source]]{block}\nmin_interval = "3h"\nmax_interval = "1d"\n', encoding="utf-8")
    cfg = AppConfig(db_url=f"sqlite:///{tmp_path / 'a.db'}", sources_path=str(sources))
    sched = DrivenScheduler(timezone="UTC", executors={"default": DebugExecutor()})
    daemon = scheduler.Daemon(cfg, settings=LOOPBACK_SETTINGS, scheduler=sched)
    with (
        time_machine.travel(T0 - timedelta(seconds=1), tick=False) as clock,
        watching("pairchive.daemon") as log,
    ):
        assert daemon.load()
        sched.start()
        try:
            clock.move_to(T0 + timedelta(seconds=2))
            sched._process_jobs()  # no visit yet: due, a real crawl of the portal, which has news
            ((first, _, status, _),) = run_rows(cfg.db_url)
            assert status == "ok"
            for hour in (1, 2):  # 3h (min, after new articles), less a tenth: due from 02:42
                clock.move_to(T0 + timedelta(hours=hour, seconds=2))
                sched._process_jobs()
                assert len(run_rows(cfg.db_url)) == 1
                assert log.messages[-1] == (
                    "INFO run of linxia-news not_due: next visit 2026-11-24T05:00:00+00:00, "
                    "every 3h (min): new articles in the last visit"
                )
            clock.move_to(T0 + timedelta(hours=3, seconds=2))
            sched._process_jobs()  # due: crawls again, meeting only the articles it knows
            assert [status for _, _, status, _ in run_rows(cfg.db_url)] == ["ok", "ok"]
            clock.move_to(T0 + timedelta(hours=4, seconds=2))
            status = scheduler.run_source(asdict(cfg), daemon.sources["linxia-news"], LOOPBACK_SETTINGS)
            assert status == "not_due"
            assert log.messages[-1] == (
                "INFO run of linxia-news not_due: next visit 2026-11-24T10:00:00+00:00, "
                "every 4h30m: nothing new in the last visit"
            )
        finally:
            sched.shutdown(wait=False)
    sessions = open_for_writing(cfg.db_url).sessions
    with sessions() as s:
        second = s.scalars(sa.select(CrawlRun).where(CrawlRun.id != first)).one()
        assert second.counts.get("stored", 0) == 0 and second.counts.get("known", 0) > 0
    close_all()


def _daemon(tmp_path: Path, text: str) -> tuple[AppConfig, scheduler.Daemon, DrivenScheduler]:
    sources = tmp_path / "sources.toml"
    sources.write_text(text, encoding="utf-8")
    cfg = AppConfig(db_url=f"sqlite:///{tmp_path / 'a.db'}", sources_path=str(sources))
    sched = DrivenScheduler(timezone="UTC", executors={"default": DebugExecutor()})
    return cfg, scheduler.Daemon(cfg, settings=NO_RETRIES, scheduler=sched), sched


def test_a_source_without_bounds_is_crawled_at_every_cron_time(tmp_path: Path) -> None:
    cfg, daemon, sched = _daemon(tmp_path, adaptive(bounds=""))
    with (
        time_machine.travel(T0 - timedelta(seconds=1), tick=False) as clock,
        watching("pairchive.daemon") as log,
    ):
        assert daemon.load()
        sched.start()
        try:
            for hour in range(3):
                clock.move_to(T0 + timedelta(hours=hour, seconds=2))
                sched._process_jobs()
        finally:
            sched.shutdown(wait=False)
    assert [status for _, _, status, _ in run_rows(cfg.db_url)] == ["failed"] * 3
    assert not [m for m in log.messages if "not_due" in m]


def test_a_daemon_started_with_now_crawls_a_source_its_polling_would_skip(tmp_path: Path) -> None:
    cfg, daemon, sched = _daemon(tmp_path, adaptive())
    (source,) = load_sources(cfg.sources_path)
    visit(cfg.db_url, source, T0, stored=1)  # visited at 02:00; every 6h (min): due from 07:24
    with (
        time_machine.travel(T0 + timedelta(minutes=30), tick=False) as clock,
        watching("pairchive.daemon") as log,
    ):
        assert daemon.load()
        daemon.start(run_now=True)
        try:
            sched._process_jobs()  # the operator's --now: crawled at once
            assert len(run_rows(cfg.db_url)) == 2
            clock.move_to(T0 + timedelta(hours=1, seconds=2))
            sched._process_jobs()  # the next cron time is the learning's again
            assert len(run_rows(cfg.db_url)) == 2
            assert log.messages[-1] == (
                "INFO run of quiet not_due: next visit 2026-11-24T08:00:00+00:00, "
                "every 6h (min): the last visit failed, interval kept"
            )
        finally:
            daemon.stop()


# --- what the operator reads -------------------------------------------------------------------------


def test_status_shows_each_sources_next_visit_and_why(tmp_path: Path) -> None:
    text = adaptive() + adaptive("busy", 'min_interval = "6h"\nmax_interval = "2d"\n') + adaptive("plain", "")
    path = tmp_path / "sources.toml"
    path.write_text(text, encoding="utf-8")
    db = f"sqlite:///{tmp_path / 'a.db'}"
    quiet, busy, plain = load_sources(path)
    for day in range(3):
        visit(db, quiet, T0 + timedelta(days=day), known=5)
    for n in range(5):
        visit(db, busy, T0 + timedelta(hours=6 * n), stored=int(n != 2), known=2)
    visit(db, plain, T0, stored=1)
    now = T0 + timedelta(days=2, hours=1)
    with time_machine.travel(now, tick=False):
        lines = run_cli("status", "--sources", str(path), "--db", db).stdout.splitlines()
        records = {
            r["source"]: r
            for r in map(
                json.loads,
                run_cli("status", "--sources", str(path), "--db", db, "--json").stdout.splitlines(),
            )
        }
    assert lines[0].split()[:4] == ["source", "next", "visit", "why"]
    assert re.match(
        r"quiet +2026-11-26 22:00:00Z +every 20h15m: nothing new in the last 3 visits +3 ok ", lines[2]
    )
    assert re.match(
        r"busy +2026-11-26 03:00:00Z +every 6h \(min\): new articles in 4 of the last 5 visits ", lines[3]
    )
    assert re.match(r"plain +2026-11-26 03:00:00Z +schedule +9 ok ", lines[4])
    assert {k: records["quiet"][k] for k in ("next_visit", "interval_seconds", "why")} == {
        "next_visit": "2026-11-26T22:00:00+00:00",
        "interval_seconds": 72900,
        "why": "every 20h15m: nothing new in the last 3 visits",
    }
    assert records["plain"]["interval_seconds"] is None and records["plain"]["why"] == "schedule"
    assert records["plain"]["next_visit"] == records["plain"]["next_run"]
    listed = run_cli("sources", "list", "--sources", str(path), "--db", db)
    assert "0 * * * * (UTC), every 6h to 2d" in listed.stdout
    (first, *_) = map(
        json.loads, run_cli("sources", "list", "--sources", str(path), "--json").stdout.splitlines()
    )
    assert (first["min_interval"], first["max_interval"]) == ("6h", "2d")


def test_status_before_any_crawl_says_an_adaptive_source_has_no_visit_yet(tmp_path: Path) -> None:
    path = tmp_path / "sources.toml"
    path.write_text(adaptive(), encoding="utf-8")
    with time_machine.travel(T0 + timedelta(minutes=10), tick=False):
        result = run_cli(
            "status", "--sources", str(path), "--db", f"sqlite:///{tmp_path / 'none.db'}", "--json"
        )
    record = json.loads(result.stdout)
    assert (record["next_visit"], record["why"]) == (
        "2026-11-24T03:00:00+00:00",
        "every 6h (min): no visit yet",
    )
