"""The Redis fixtures themselves (tests.redisserver): a private server keeps its keys across a restart, and a
test's prefix leaves no key behind on the shared server."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import redis

from crawler.vocabulary.frontier import connect
from tests.redisserver import PrivateRedis, prefixed, private_server


def test_a_key_written_to_the_private_server_is_there_after_a_stop_and_a_start(
    private_redis: PrivateRedis,
) -> None:
    client = connect(private_redis.url)
    client.set("frontier", "kept")
    client.close()
    port = private_redis.port
    private_redis.stop()
    assert not private_redis.running
    with pytest.raises(redis.ConnectionError):
        redis.Redis.from_url(private_redis.url, socket_connect_timeout=1.0).ping()
    private_redis.start()
    assert private_redis.port == port
    client = connect(private_redis.url)
    assert client.get("frontier") == b"kept"
    client.close()


def test_a_private_server_is_stopped_at_the_end_of_its_block(tmp_path: Path) -> None:
    with private_server(tmp_path) as server:
        assert server.running and connect(server.url).ping()
        process = server.process
    assert not server.running
    assert process is not None and process.returncode is not None


def test_a_test_prefix_is_fresh_and_its_keys_alone_are_deleted_afterwards(redis_url: str) -> None:
    client = connect(redis_url)
    with prefixed(redis_url) as outer:
        with prefixed(redis_url) as prefix:
            assert re.fullmatch(r"pt-[0-9a-f]{12}", prefix) and prefix != outer
            client.set(f"{prefix}:run:1:state", "open")
            client.sadd(f"{prefix}:run:1:seen", *range(1200))  # more keys than one DEL batch below
            client.mset({f"{prefix}:host:{n}:next": n for n in range(1200)})
            client.set(f"{outer}:run:1:state", "open")
            client.set(prefix + "x:kept", "another prefix that starts alike")
        assert list(client.scan_iter(match=f"{prefix}:*")) == []
        assert client.get(f"{outer}:run:1:state") == b"open"
        assert client.get(prefix + "x:kept") is not None
        client.delete(prefix + "x:kept")
    assert list(client.scan_iter(match=f"{outer}:*")) == []
    client.close()


def test_the_redis_prefix_fixture_gives_a_prefix_of_the_tests_own(redis_prefix: str) -> None:
    assert re.fullmatch(r"pt-[0-9a-f]{12}", redis_prefix)
