"""A distributed run's frontier, piece by piece: its keys, its stored requests, its pops and requeues."""

from __future__ import annotations

import pickle

import pytest
from scrapy import Request, Spider
from scrapy.core.engine import ExecutionEngine
from scrapy.settings import Settings
from scrapy.utils.request import request_from_dict

from crawler.process import frontier
from crawler.process.frontier import ENTRY_META, RunFrontier, RunSeen, dumps, loads
from crawler.process.worker import IDLE_POLL_SECONDS, build_settings
from crawler.runner.worker import worker_name
from crawler.vocabulary.frontier import (
    RunKeys,
    connect,
    host_keys,
    join,
    release_holds,
    requeue,
    valid_prefix,
)
from crawler.vocabulary.pages import CANONICAL_META


class Portal(Spider):
    name = "portal"

    def parse_article(self, response: object) -> None:
        """A callback, named in the stored request."""


def _spider(redis_url: str, prefix: str, run_id: int = 7, worker: str = "w1") -> Portal:
    spider = Portal()
    settings = Settings()
    settings.setdict(
        {
            "PAIRCHIVE_REDIS_URL": redis_url,
            "PAIRCHIVE_REDIS_PREFIX": prefix,
            "PAIRCHIVE_WORKER_ID": worker,
            "PAIRCHIVE_RUN_ID": run_id,
        }
    )
    spider.settings = settings
    return spider


def test_a_runs_keys_carry_its_prefix_and_id_and_a_bad_prefix_is_refused() -> None:
    keys = RunKeys("pc", 12)
    assert keys.requests == "pc:run:12:requests" and keys.seen == "pc:run:12:seen"
    assert keys.inflight("w1") == "pc:run:12:inflight:w1" and keys.pattern() == "pc:run:12:*"
    assert host_keys("pc", "Example.ORG:8080").holders == "pc:host:example.org:8080:holders"
    for bad in ("", "a b", "a%s", "x" * 65, "a:b"):
        with pytest.raises(ValueError, match="prefix"):
            valid_prefix(bad)


def test_a_stored_request_is_json_and_comes_back_whole() -> None:
    spider = Portal()
    request = Request(
        "http://example.org/a.html",
        callback=spider.parse_article,
        headers={"Accept-Language": "zh"},
        body=b"\xff\x00",
        meta={CANONICAL_META: "http://example.org/a.html", "download_maxsize": 5},
        priority=3,
    )
    data = dumps(request.to_dict(spider=spider))
    back = request_from_dict(loads(data), spider=spider)
    assert (back.url, back.body, back.priority, back.callback) == (
        request.url,
        b"\xff\x00",
        3,
        spider.parse_article,
    )
    assert (
        back.headers["Accept-Language"] == b"zh" and back.meta[CANONICAL_META] == request.meta[CANONICAL_META]
    )
    # A pickle planted in Redis is no request: loads never runs code
    with pytest.raises(ValueError):
        loads(pickle.dumps({"url": "http://example.org/"}))


def test_the_engine_still_has_the_heartbeat_an_idle_worker_shortens(monkeypatch: pytest.MonkeyPatch) -> None:
    # Scrapy has no setting for it: crawler.process.worker sets the class attribute for distributed crawls
    assert isinstance(ExecutionEngine._SLOT_HEARTBEAT_INTERVAL, float)
    # (put back after the test: this process's other crawls keep Scrapy's)
    monkeypatch.setattr(ExecutionEngine, "_SLOT_HEARTBEAT_INTERVAL", ExecutionEngine._SLOT_HEARTBEAT_INTERVAL)
    job = {
        "db_url": "postgresql+psycopg://db/x",
        "sources": [{"run_id": 3}],
        "distributed": {"redis_url": "redis://127.0.0.1:6379/0", "prefix": "pc", "worker": "w1"},
    }
    settings = build_settings(job)
    assert ExecutionEngine._SLOT_HEARTBEAT_INTERVAL == IDLE_POLL_SECONDS
    assert settings["SCHEDULER"] == "crawler.process.frontier.RunScheduler"
    assert settings["SCHEDULER_QUEUE_KEY"] == "pc:run:3:requests"
    assert settings.getint("CONCURRENT_REQUESTS") == settings.getint("CONCURRENT_REQUESTS_PER_DOMAIN")


def test_worker_names_keep_to_letters_digits_and_dots() -> None:
    assert worker_name("crawl host/7 (a)") == "crawl-host-7-a"
    with pytest.raises(ValueError):
        worker_name("///")


def test_a_pop_keeps_the_request_in_flight_until_done_and_a_requeue_puts_it_back(
    redis_url: str, redis_prefix: str
) -> None:
    server = connect(redis_url)
    spider = _spider(redis_url, redis_prefix)
    keys = RunKeys(redis_prefix, 7)
    queue = RunFrontier(server, spider, keys.requests, serializer=frontier)
    server.set(keys.idle("w1"), "1")
    queue.push(Request("http://example.org/1", callback=spider.parse_article, priority=1))
    queue.push(Request("http://example.org/2", callback=spider.parse_article, priority=5))
    first = queue.pop()
    assert first is not None and first.url == "http://example.org/2"  # the higher priority first
    assert len(queue) == 1 and server.zcard(keys.inflight("w1")) == 1
    assert not server.exists(keys.idle("w1"))  # busy again
    assert first.meta[ENTRY_META]
    assert requeue(server, keys, "w1") == 1  # the worker died: its request is back, with its priority
    assert len(queue) == 2 and server.zcard(keys.inflight("w1")) == 0
    again = queue.pop()
    assert again is not None and again.url == "http://example.org/2"


def test_the_shared_filter_knows_a_page_by_its_canonical_url_and_outlives_a_worker(
    redis_url: str, redis_prefix: str
) -> None:
    spider = _spider(redis_url, redis_prefix)
    seen = RunSeen.from_spider(spider)
    one = Request(
        "http://example.org/a.html?utm_source=x", meta={CANONICAL_META: "http://example.org/a.html"}
    )
    two = Request("http://EXAMPLE.org/a.html", meta={CANONICAL_META: "http://example.org/a.html"})
    assert not seen.request_seen(one)
    assert seen.request_seen(two)
    seen.close("finished")
    other = RunSeen.from_spider(_spider(redis_url, redis_prefix, worker="w2"))
    assert other.request_seen(one)  # still there for the run's other workers


def test_a_dead_workers_holds_on_hosts_are_dropped_and_no_one_elses(
    redis_url: str, redis_prefix: str
) -> None:
    server = connect(redis_url)
    one, two = host_keys(redis_prefix, "a.example"), host_keys(redis_prefix, "b.example")
    server.zadd(one.holders, {"w1:aa": 1e15, "w10:bb": 1e15})
    server.zadd(two.holders, {"w1:cc": 1e15, "w2:dd": 1e15})
    assert release_holds(server, redis_prefix, "w1") == 2
    assert sorted(server.zrange(one.holders, 0, -1) + server.zrange(two.holders, 0, -1)) == [
        b"w10:bb",
        b"w2:dd",
    ]


def test_a_worker_joins_only_a_run_that_is_still_open(redis_url: str, redis_prefix: str) -> None:
    server = connect(redis_url)
    keys = RunKeys(redis_prefix, 9)
    assert not join(server, keys, "w1", 10)  # no run at all (its keys deleted)
    server.hset(keys.state, "state", "open")
    assert join(server, keys, "w1", 10)
    assert server.smembers(keys.workers) == {b"w1"} and 0 < server.ttl(keys.alive("w1")) <= 10
    server.hset(keys.state, "state", "done")
    assert not join(server, keys, "w2", 10)
    assert server.smembers(keys.workers) == {b"w1"} and not server.exists(keys.alive("w2"))
    assert server.ttl(keys.workers) > 0  # no run key lives for ever
