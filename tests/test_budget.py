"""The per-host budget the workers of a distributed crawl share (crawler.process.budget) and robots.txt
fetched once per run (crawler.process.robots): the Lua script on a real Redis, then two real crawls at once
against one loopback host that counts the requests it is answering."""

from __future__ import annotations

import io
import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import redis
from scrapy.exceptions import NotConfigured
from scrapy.utils.test import get_crawler

from crawler.process.budget import HostBudget, SharedBudget
from crawler.process.robots import RobotsTxt
from crawler.runner.crawl import RunSummary, crawl
from crawler.vocabulary.config import AppConfig
from crawler.vocabulary.frontier import connect, host_keys
from crawler.vocabulary.sources import load_sources, select
from tests.crawls import LOOPBACK_SETTINGS, WAIT, QuietHandler, answer, article_page, serve

REDIS_ENV = "PAIRCHIVE_TEST_REDIS_URL"
HOST = "portal.example:8080"
ARTICLES = 10  # per source: enough that two crawls at their own limits would ask for four pages at once
ANSWER_SECONDS = 0.05  # each page is answered this late, so that requests overlap


@dataclass
class Shared:
    url: str
    prefix: str
    client: redis.Redis


@pytest.fixture
def shared() -> Iterator[Shared]:
    """A Redis and a key prefix of the test's own; its keys are deleted afterwards."""
    url = os.environ.get(REDIS_ENV)
    if not url:
        pytest.skip(f"the shared budget tests need a Redis: set {REDIS_ENV} (e.g. redis://127.0.0.1:6379/0)")
    client = connect(url)
    prefix = f"pairchive-test-{uuid.uuid4().hex[:12]}"
    try:
        yield Shared(url, prefix, client)
    finally:
        keys = list(client.scan_iter(f"{prefix}:*"))
        if keys:
            client.delete(*keys)
        client.close()


def test_a_crawl_without_a_redis_keeps_to_its_own_politeness() -> None:
    crawler = get_crawler(settings_dict={"ROBOTSTXT_OBEY": True})
    with pytest.raises(NotConfigured, match="PAIRCHIVE_REDIS_URL"):
        SharedBudget.from_crawler(crawler)
    assert RobotsTxt.from_crawler(crawler)._shared is None


def _budget(shared: Shared, *, limit: int = 2, delay: float = 0.0, hold: float = 60.0) -> HostBudget:
    return HostBudget(shared.client, shared.prefix, limit=limit, delay=delay, hold_seconds=hold)


def _redis_ms(client: redis.Redis) -> int:
    seconds, micros = client.time()
    return int(seconds) * 1000 + int(micros) // 1000


def test_a_host_grants_no_more_holds_at_once_than_its_limit(shared: Shared) -> None:
    budget = _budget(shared, limit=2)
    assert budget.try_acquire(HOST, "a") == 0
    assert budget.try_acquire(HOST, "b") == 0
    assert 0 < budget.try_acquire(HOST, "c") <= 100  # full: ask again soon
    budget.release(HOST, "a")
    assert budget.try_acquire(HOST, "c") == 0
    assert shared.client.zcard(host_keys(shared.prefix, HOST).holders) == 2


def test_a_host_grants_no_hold_before_its_delay_has_passed(shared: Shared) -> None:
    budget = _budget(shared, limit=5, delay=60)
    assert budget.try_acquire(HOST, "a") == 0
    budget.release(HOST, "a")
    assert 59_000 < budget.try_acquire(HOST, "b") <= 60_000
    assert budget.try_acquire("other.example", "b") == 0  # the delay is the host's, not everyone's


def test_a_paused_host_grants_nothing_until_its_pause_ends_and_a_pause_is_never_shortened(
    shared: Shared,
) -> None:
    budget = _budget(shared)
    until = budget.pause(HOST, 30)
    assert 29_000 < until - _redis_ms(shared.client) <= 30_000
    assert 29_000 < budget.try_acquire(HOST, "a") <= 30_000
    assert budget.pause(HOST, 5) == until  # a shorter Retry-After later leaves the longer pause
    assert budget.pause(HOST, 60) > until
    assert 59_000 < budget.try_acquire(HOST, "a") <= 60_000
    assert shared.client.zcard(host_keys(shared.prefix, HOST).holders) == 0


def test_the_holds_of_a_dead_worker_expire_and_free_their_host(shared: Shared) -> None:
    budget = _budget(shared, limit=1, hold=45)
    keys = host_keys(shared.prefix, HOST)
    shared.client.zadd(keys.holders, {"dead-worker:1": _redis_ms(shared.client) - 1})  # expired a ms ago
    before = _redis_ms(shared.client)
    assert budget.try_acquire(HOST, "alive:1") == 0
    assert shared.client.zrange(keys.holders, 0, -1) == [b"alive:1"]
    expires = float(shared.client.zscore(keys.holders, "alive:1") or 0)
    assert before + 45_000 <= expires <= _redis_ms(shared.client) + 45_000  # Redis's clock, not ours
    assert budget.try_acquire(HOST, "alive:2") > 0  # a live hold is not dropped


@dataclass
class Visits:
    """What the counting portal saw: requests by path, when each arrived, and most answered at once."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    paths: list[tuple[float, str]] = field(default_factory=list)  # (time.time() on arrival, path)
    answering: int = 0
    most: int = 0

    def count(self, path: str) -> int:
        with self.lock:
            return sum(1 for _, p in self.paths if p == path)

    def arrivals(self, prefix: str) -> list[float]:
        with self.lock:
            return [t for t, p in self.paths if p.startswith(prefix)]


@contextmanager
def counting_portal(
    gate: Any = None, refuse_once: str = "", listing_articles: int = ARTICLES
) -> Iterator[tuple[str, Visits]]:
    """A portal of two sources, /one/ and /two/, each a listing of `listing_articles` articles; counts the
    requests it answers at once. `gate(path)` is called before a listing is answered (it may hold it);
    `refuse_once` is a path answered once with 429 and Retry-After: 2."""
    visits = Visits()
    refused: set[str] = set()

    class Counting(QuietHandler):
        def do_GET(self) -> None:
            with visits.lock:
                visits.paths.append((time.time(), self.path))
                visits.answering += 1
                visits.most = max(visits.most, visits.answering)
            try:
                self._answer()
            finally:
                with visits.lock:
                    visits.answering -= 1

        def _answer(self) -> None:
            if self.path == refuse_once and self.path not in refused:
                refused.add(self.path)
                self.send_response(429)
                self.send_header("Retry-After", "2")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            if self.path == "/robots.txt":
                body = b"User-agent: *\nDisallow: /private/\n"
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                return
            time.sleep(ANSWER_SECONDS)  # the portal is a little slow, so requests meet
            section, _, rest = self.path.strip("/").partition("/")
            if section in ("one", "two") and rest == "list.html":
                if gate is not None:
                    gate(self.path)
                links = " ".join(
                    f'<a href="/{section}/a/{n}.html">{n}</a>' for n in range(1, listing_articles + 1)
                )
                answer(self, f"<html><body>{links}</body></html>".encode())
            elif section in ("one", "two") and rest.startswith("a/"):
                answer(self, article_page(f"{section}{rest[2:-5]}"))
            else:
                answer(self, b"")

    with serve(Counting) as base:
        yield base, visits


def _sources(folder: Path, base: str) -> AppConfig:
    path = folder / "sources.toml"
    path.write_text(
        "".join(
            f'[[source]]\nname = "{name}"\nstart_urls = ["{base}/{name}/list.html"]\n'
            f'article_pattern = "/{name}/a/"\nschedule = "0 2 * * *"\n\n'
            for name in ("one", "two")
        ),
        encoding="utf-8",
    )
    return AppConfig(db_url=f"sqlite:///{folder / 'a.db'}", sources_path=str(path))


def _distributed(shared: Shared, **more: Any) -> dict[str, Any]:
    return {
        **LOOPBACK_SETTINGS,
        "CONCURRENT_REQUESTS_PER_DOMAIN": 2,
        "PAIRCHIVE_REDIS_URL": shared.url,
        "PAIRCHIVE_REDIS_PREFIX": shared.prefix,
        "PAIRCHIVE_RUN_ID": 1,
        **more,
    }


@contextmanager
def crawling(cfg: AppConfig, name: str, settings: dict[str, Any]) -> Iterator[list[RunSummary]]:
    """A crawl of source `name` on a thread for the block; its summaries once the block waited for it."""
    (source,) = select(load_sources(cfg.sources_path), [name])
    result: list[RunSummary] = []
    thread = threading.Thread(
        target=lambda: result.extend(crawl(cfg, [source], settings=settings, log_sink=None)), daemon=True
    )
    thread.start()
    yield result
    thread.join(WAIT)
    assert not thread.is_alive(), f"the crawl of {name} did not end"


def _both_listings_at_once() -> Any:
    """A gate for the portal: the first listing asked for waits until the other one is asked for too, so
    the two crawls are surely at the host together (each holds one of its two holds meanwhile)."""
    seen: set[str] = set()
    lock, both = threading.Lock(), threading.Event()

    def gate(path: str) -> None:
        with lock:
            seen.add(path)
            if len(seen) == 2:
                both.set()
        assert both.wait(WAIT), "the other crawl never asked for its listing"

    return gate


def test_two_crawls_of_one_host_keep_to_one_shared_limit_and_fetch_robots_txt_once(
    shared: Shared, tmp_path: Path
) -> None:
    with counting_portal(gate=_both_listings_at_once()) as (base, visits):
        cfg = _sources(tmp_path, base)
        settings = _distributed(shared)
        with crawling(cfg, "one", settings) as one, crawling(cfg, "two", settings) as two:
            pass
    assert [r.status for r in one + two] == ["ok", "ok"], [r.error for r in one + two]
    for section in ("one", "two"):
        assert len(visits.arrivals(f"/{section}/a/")) == ARTICLES
    assert visits.most == 2  # two at once (the test can see more), never more across both crawls
    assert visits.count("/robots.txt") == 1
    assert shared.client.zcard(host_keys(shared.prefix, base.split("//")[1]).holders) == 0  # all given back


def test_a_retry_after_seen_by_one_crawl_holds_the_other_crawls_next_request(
    shared: Shared, tmp_path: Path
) -> None:
    pause_key: list[str] = []
    paused_until: list[float] = []

    def after_the_pause(path: str) -> None:
        """Source two's listing is answered only once source one's 429 paused the host in Redis."""
        if path != "/two/list.html":
            return
        deadline = time.monotonic() + WAIT
        while (until := shared.client.get(pause_key[0])) is None:
            assert time.monotonic() < deadline, "the host was never paused in Redis"
            time.sleep(0.01)  # polling the condition: the server thread waits for the other crawl
        paused_until.append(int(until) / 1000)

    with counting_portal(gate=after_the_pause, refuse_once="/one/a/1.html", listing_articles=1) as (
        base,
        visits,
    ):
        pause_key.append(host_keys(shared.prefix, base.split("//")[1]).pause)
        cfg = _sources(tmp_path, base)
        settings = _distributed(shared, ROBOTSTXT_OBEY=False)
        with crawling(cfg, "one", settings) as one, crawling(cfg, "two", settings) as two:
            pass
    assert [r.status for r in one + two] == ["ok", "ok"], [r.error for r in one + two]
    assert len(visits.arrivals("/one/a/1.html")) == 2  # refused with 429, then asked again
    (until,) = paused_until
    (refused_at, _again) = visits.arrivals("/one/a/1.html")
    assert until - refused_at >= 1.9  # Retry-After: 2, on Redis's clock (this machine's)
    (asked,) = visits.arrivals("/two/a/")
    assert asked >= until - 0.005  # crawl two's article waited out crawl one's pause


def test_a_redis_that_does_not_answer_is_said_once_without_its_password_and_then_fails_the_pages(
    tmp_path: Path,
) -> None:
    with socket.socket() as probe:  # a port nothing listens on: connections are refused
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with counting_portal() as (base, visits):
        cfg = _sources(tmp_path, base)
        (source,) = select(load_sources(cfg.sources_path), ["one"])
        settings = {
            **LOOPBACK_SETTINGS,
            "ROBOTSTXT_OBEY": False,
            "PAIRCHIVE_REDIS_URL": f"redis://:hush-hush@127.0.0.1:{port}/0",
            "PAIRCHIVE_REDIS_PREFIX": "pairchive-test-unreachable",
            "PAIRCHIVE_REDIS_OUTAGE": 1,
        }
        sink = io.StringIO()
        (run,) = crawl(cfg, [source], settings=settings, log_sink=sink)
    log = sink.getvalue()
    unreachable = [line for line in log.splitlines() if "is unreachable" in line]
    assert len(unreachable) == 1, log
    assert f"Redis at redis://:***@127.0.0.1:{port}/0 is unreachable (ConnectionError" in unreachable[0]
    assert "WARNING" in unreachable[0] and "hush-hush" not in log
    assert run.status == "failed" and "PAIRCHIVE_REDIS_OUTAGE" in (run.error or "")
    assert visits.paths == []  # nothing was asked of the host without its budget
