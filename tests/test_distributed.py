"""Distributed crawls with the real servers: workers on scrapy-redis, one coordinator, one PostgreSQL archive.

Each test has its own Redis key prefix and PostgreSQL schema; workers are real `pairchive worker`
processes, the coordinator the daemon's own code (a real daemon process in the first test).
"""

from __future__ import annotations

import collections
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from crawler.runner.coordinator import Coordinator, RedisConfigError, check_distributed
from crawler.runner.crawl import RunSummary
from crawler.sampleweb.province import Province
from crawler.vocabulary.config import AppConfig
from crawler.vocabulary.frontier import RunKeys, connect, tickets
from crawler.vocabulary.sources import parse_sources
from storage.db import open_for_writing
from storage.leases import SourceBusy
from tests.crawls import LOOPBACK_SETTINGS, Lines
from tests.distributed import pg_schema_url, rows, until, workers

pytestmark = pytest.mark.timeout(600)


@pytest.fixture
def pg_url() -> Iterator[str]:
    for url in pg_schema_url():
        open_for_writing(url)  # the schema, so the test can watch the rows from the start
        yield url


def _dispatch(
    redis_url: str, prefix: str, db_url: str, data_dir: Path, sources_toml: str, timeout: float = 300
) -> list[RunSummary]:
    cfg = AppConfig(db_url=db_url, data_dir=str(data_dir))
    coordinator = Coordinator(redis_url, prefix, quiet=1.0)
    return coordinator.dispatch(
        cfg, parse_sources(sources_toml), settings=LOOPBACK_SETTINGS, timeout=timeout, grace=10
    )


class Dispatch(threading.Thread):
    """The coordinator on a thread, so the test can act on workers and servers while a run goes on."""

    def __init__(self, *args: object) -> None:
        super().__init__(daemon=True)
        self.args = args
        self.runs: list[RunSummary] | None = None
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self.runs = _dispatch(*self.args)  # type: ignore[arg-type]
        except BaseException as exc:
            self.error = exc

    def result(self) -> list[RunSummary]:
        self.join(timeout=400)
        assert not self.is_alive(), "the coordinator did not close its runs"
        if self.error is not None:
            raise self.error
        assert self.runs is not None
        return self.runs


def _stored_urls(db_url: str) -> list[str]:
    return [str(r[0]) for r in rows(db_url, "select url from articles order by url")]


def _fetches_of_pages(web: Province) -> collections.Counter[str]:
    return collections.Counter(f"{host}{path}" for host, path in web.hits if not path.endswith("robots.txt"))


def test_three_workers_and_a_daemon_crawl_twelve_portals_each_once_and_store_every_story_once(
    redis_url: str, redis_prefix: str, pg_url: str, tmp_path: Path
) -> None:
    with Province(portals=12, articles=3, listing_pages=1) as web:
        sources = tmp_path / "sources.toml"
        sources.write_text(web.sources_toml(), encoding="utf-8")
        with workers(3, redis_url, redis_prefix, pg_url, tmp_path / "data") as crew:
            for worker in crew:
                worker.log.wait_for("ready")
            daemon = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "crawler",
                    "daemon",
                    "--redis",
                    redis_url,
                    "--redis-prefix",
                    redis_prefix,
                    "--db",
                    pg_url,
                    "--sources",
                    str(sources),
                    "--data-dir",
                    str(tmp_path / "data"),
                    "--now",
                    "--done-after",
                    "1",
                    "-s",
                    "AUTOTHROTTLE_ENABLED=False",
                    "-s",
                    "DOWNLOAD_DELAY=0",
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                text=True,
            )
            assert daemon.stderr is not None
            log = Lines(daemon.stderr)
            try:
                until(
                    lambda: (
                        rows(pg_url, "select count(*) from crawl_runs where status <> 'running'")[0][0] == 12
                    ),
                    "twelve closed runs",
                )
            finally:
                daemon.send_signal(signal.SIGTERM)
                assert daemon.wait(timeout=60) == 0
                log.wait_for("^$")  # its end
                daemon.stderr.close()
        runs = rows(
            pg_url, "select s.name, r.status, r.error from crawl_runs r join sources s on s.id = r.source_id"
        )
        assert sorted(name for name, _, _ in runs) == sorted(f"county-{n:02d}" for n in range(1, 13))
        assert {status for _, status, _ in runs} == {"ok"}, runs
        parts = rows(pg_url, "select run_id, worker, status from run_workers")
        assert len(parts) == 12 and {status for _, _, status in parts} == {"ok"}
        assert {worker for _, worker, _ in parts} == {"w1", "w2", "w3"}  # every worker took runs
        fetched = _fetches_of_pages(web)
        assert set(fetched.values()) == {1}, [u for u, n in fetched.items() if n > 1]
        assert len(_stored_urls(pg_url)) == len(web.article_urls()) == 36
        keys = connect(redis_url)
        assert list(keys.scan_iter(match=f"{redis_prefix}:run:*")) == []  # every run's keys deleted
        assert keys.llen(tickets(redis_prefix)) == 0


def test_two_workers_share_one_large_portal_and_fetch_no_url_twice(
    redis_url: str, redis_prefix: str, pg_url: str, tmp_path: Path
) -> None:
    with Province(portals=1, articles=40, listing_pages=4, latency=(0.1, 0.2)) as web:
        with workers(2, redis_url, redis_prefix, pg_url, tmp_path / "data") as crew:
            (run,) = _dispatch(
                redis_url, redis_prefix, pg_url, tmp_path / "data", web.sources_toml(max_workers=2)
            )
        # scrapy-redis's components as pairchive uses them call nothing Scrapy deprecates
        assert not [line for w in crew for line in w.log.seen if "Deprecat" in line]
        assert run.status == "ok", run.error
        assert run.counts["stored"] == 40
        parts = rows(pg_url, f"select worker, counts from run_workers where run_id = {run.run_id}")
        assert sorted(worker for worker, _ in parts) == ["w1", "w2"]
        assert all(counts["fetched"] > 0 for _, counts in parts)
        fetched = _fetches_of_pages(web)
        assert set(fetched.values()) == {1}, [u for u, n in fetched.items() if n > 1]
        assert sorted(_stored_urls(pg_url)) == sorted(web.article_urls())
        (host,) = web.hosts
        assert web.max_concurrent(host) <= 2  # CONCURRENT_REQUESTS_PER_DOMAIN, across both workers
        # Each capture says which worker wrote it, in a WARC file of its own, and all verify.
        captured = rows(pg_url, "select worker, warc_file from captures")
        assert {w for w, _ in captured} == {"w1", "w2"}
        assert all(str(w) in str(f) for w, f in captured)
        verify = subprocess.run(
            [
                sys.executable,
                "-m",
                "crawler",
                "warc",
                "verify",
                "--db",
                pg_url,
                "--data-dir",
                str(tmp_path / "data"),
            ],
            capture_output=True,
            text=True,
        )
        assert verify.returncode == 0, verify.stdout + verify.stderr


def test_a_worker_killed_mid_run_loses_nothing_and_the_other_finishes_the_run(
    redis_url: str, redis_prefix: str, pg_url: str, tmp_path: Path
) -> None:
    with Province(portals=1, articles=30, listing_pages=3, latency=(0.05, 0.1)) as web:
        with workers(2, redis_url, redis_prefix, pg_url, tmp_path / "data") as crew:
            dispatch = Dispatch(
                redis_url, redis_prefix, pg_url, tmp_path / "data", web.sources_toml(max_workers=2)
            )
            dispatch.start()
            until(
                lambda: (
                    rows(pg_url, "select count(*) from article_revisions where run_id is not null")[0][0] >= 5
                ),
                "a few stories stored",
            )
            until(lambda: len(rows(pg_url, "select worker from run_workers")) == 2, "both workers in the run")
            crew[0].kill()
            (run,) = dispatch.result()
        assert run.status == "ok", run.error
        assert "w1 left mid-run" in (run.error or "")
        stored = _stored_urls(pg_url)
        assert sorted(stored) == sorted(web.article_urls())  # every story, each once
        assert len(stored) == len(set(stored))
        parts = dict(rows(pg_url, f"select worker, status from run_workers where run_id = {run.run_id}"))
        assert parts == {"w1": "interrupted", "w2": "ok"}


def test_redis_stopped_and_started_again_mid_run_the_run_still_completes(
    private_redis: object, redis_prefix: str, pg_url: str, tmp_path: Path
) -> None:
    server = private_redis
    url = server.url  # type: ignore[attr-defined]
    with Province(portals=1, articles=24, listing_pages=3, latency=(0.05, 0.1)) as web:
        with workers(2, url, redis_prefix, pg_url, tmp_path / "data") as crew:
            dispatch = Dispatch(url, redis_prefix, pg_url, tmp_path / "data", web.sources_toml(max_workers=2))
            dispatch.start()
            until(
                lambda: rows(pg_url, "select count(*) from article_revisions")[0][0] >= 3,
                "a few stories stored",
            )
            server.stop()  # type: ignore[attr-defined]
            crew[0].log.wait_for("Redis at .* is unreachable")
            server.start()  # type: ignore[attr-defined]
            (run,) = dispatch.result()
        assert run.status == "ok", run.error
        assert sorted(_stored_urls(pg_url)) == sorted(web.article_urls())


def test_sqlite_with_redis_is_a_configuration_error_in_one_line(tmp_path: Path) -> None:
    with pytest.raises(RedisConfigError, match="server database"):
        check_distributed(f"sqlite:///{tmp_path / 'a.db'}", "pairchive")
    for command in (["worker"], ["daemon", "--sources", str(tmp_path / "none.toml")]):
        (tmp_path / "none.toml").write_text("", encoding="utf-8")
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "crawler",
                *command,
                "--redis",
                "redis://127.0.0.1:1/0",
                "--db",
                f"sqlite:///{tmp_path / 'a.db'}",
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 2, done.stderr
        lines = [line for line in done.stderr.splitlines() if line.strip()]
        assert len(lines) == 1 and "SQLite" in lines[0], done.stderr
        assert "Traceback" not in done.stderr


def test_a_worker_waits_for_a_redis_that_does_not_answer_and_says_so_once(
    pg_url: str, tmp_path: Path
) -> None:
    worker = subprocess.Popen(
        [sys.executable, "-m", "crawler", "worker", "--redis", "redis://127.0.0.1:1/0", "--db", pg_url],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert worker.stderr is not None
    log = Lines(worker.stderr)
    try:
        line = log.wait_for("unreachable")
        assert "Redis at redis://127.0.0.1:1/0 is unreachable, trying again" in line
    finally:
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=60) == 0
        log.wait_for("^$")  # its end
        worker.stderr.close()
    assert sum("unreachable" in line for line in log.seen) == 1
    assert not any("Traceback" in line for line in log.seen)


def test_a_worker_waits_for_a_database_that_does_not_answer(redis_url: str, tmp_path: Path) -> None:
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "crawler",
            "worker",
            "--redis",
            redis_url,
            "--db",
            "postgresql+psycopg://postgres:secret@127.0.0.1:1/none",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert worker.stderr is not None
    log = Lines(worker.stderr)
    try:
        line = log.wait_for("unreachable")
        assert "the database" in line and "secret" not in line
    finally:
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=60) == 0
        log.wait_for("^$")  # its end
        worker.stderr.close()


def test_a_run_nobody_takes_ends_at_its_time_limit_saying_so(
    redis_url: str, redis_prefix: str, pg_url: str, tmp_path: Path
) -> None:
    with Province(portals=1, articles=2, listing_pages=1) as web:
        (run,) = _dispatch(redis_url, redis_prefix, pg_url, tmp_path / "data", web.sources_toml(), timeout=1)
    assert run.status == "timeout"
    assert "no worker took the run" in (run.error or "")
    server = connect(redis_url)
    assert server.llen(tickets(redis_prefix)) == 0  # its ticket taken back
    assert list(server.scan_iter(match=RunKeys(redis_prefix, run.run_id).pattern())) == []


def test_max_workers_is_a_whole_number_from_one_to_sixty_four() -> None:
    base = '[[source]]\nname = "a"\nstart_urls = ["http://example.org/"]\narticle_pattern = "/a/"\n'
    assert parse_sources(base)[0].max_workers == 1
    (source,) = parse_sources(base + "max_workers = 4\n")
    assert source.max_workers == 4 and source.to_dict()["max_workers"] == 4
    assert replace(source, max_workers=1).to_dict().get("max_workers") is None
    for bad in ("0", "65", "1.5", "true", '"2"'):
        with pytest.raises(Exception, match="max_workers"):
            parse_sources(base + f"max_workers = {bad}\n")


COORDINATOR = """
import sys
from crawler.runner.coordinator import Coordinator
from crawler.vocabulary.config import AppConfig
from crawler.vocabulary.sources import parse_sources
redis_url, prefix, db_url, data_dir, toml = sys.argv[1:]
Coordinator(redis_url, prefix, quiet=1.0).dispatch(
    AppConfig(db_url=db_url, data_dir=data_dir), parse_sources(open(toml).read()),
    settings={"AUTOTHROTTLE_ENABLED": False, "DOWNLOAD_DELAY": 0}, lease_seconds=3, grace=10,
)
"""


def test_a_run_whose_coordinator_died_is_closed_by_the_next_and_its_workers_stop(
    redis_url: str, redis_prefix: str, pg_url: str, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    with Province(portals=1, articles=30, listing_pages=3, latency=(0.2, 0.3)) as web:
        sources = tmp_path / "sources.toml"
        sources.write_text(web.sources_toml(), encoding="utf-8")
        with workers(1, redis_url, redis_prefix, pg_url, data):
            first = subprocess.Popen(
                [sys.executable, "-c", COORDINATOR, redis_url, redis_prefix, pg_url, str(data), str(sources)]
            )
            until(
                lambda: rows(pg_url, "select count(*) from run_workers")[0][0] == 1, "the worker in the run"
            )
            first.kill()  # the coordinator's machine dies: its lease is no longer renewed
            first.wait()

            def second() -> list[RunSummary] | None:
                try:
                    return _dispatch(redis_url, redis_prefix, pg_url, data, web.sources_toml())
                except SourceBusy:  # until the dead coordinator's lease expires
                    return None

            (run,) = until(second, "the source's lease free again")
        old = rows(pg_url, f"select status, error from crawl_runs where id < {run.run_id}")
        assert [status for status, _ in old] == ["interrupted"]
        assert "taken over" in old[0][1]
        assert run.status == "ok", run.error
        assert sorted(_stored_urls(pg_url)) == sorted(web.article_urls())
        parts = rows(pg_url, "select run_id, status from run_workers order by run_id")
        assert [status for _, status in parts] == ["interrupted", "ok"]
