"""The names of a distributed crawl's Redis keys, shared by the coordinator, the workers and their crawls.

Every key starts with a prefix (default `pairchive`), so one Redis serves several archives or test runs
without their keys meeting. A run's keys (its frontier, duplicate filter, workers and their in-flight
requests) are named by its run id and deleted by the coordinator when the run ends; the per-host budget
and the ticket list outlive runs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import redis

DEFAULT_PREFIX = "pairchive"
PREFIX_PATTERN = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
SOCKET_TIMEOUT = 10.0  # seconds a Redis command may take before it counts as Redis being unreachable
CONNECT_TIMEOUT = 5.0

# The states of a run as the coordinator says them in its `state` hash.
OPEN = "open"  # workers may take part and crawl
DONE = "done"  # the frontier is empty and nothing is in flight: workers close as finished
STOP = "stop"  # the coordinator ended the run early (time limit, stop request): workers close at once


def valid_prefix(prefix: str) -> str:
    """`prefix` if it can start every key (letters, digits, `_.-`), else a ValueError saying why."""
    if not PREFIX_PATTERN.match(prefix):
        raise ValueError(f"Redis key prefix {prefix!r}: use 1 to 64 letters, digits, '_', '.' or '-'")
    return prefix


@dataclass(frozen=True)
class RunKeys:
    """The keys of one run."""

    prefix: str
    run_id: int

    @property
    def base(self) -> str:
        return f"{self.prefix}:run:{self.run_id}"

    @property
    def requests(self) -> str:
        """The frontier: scrapy-redis's priority queue (a sorted set, score = -priority)."""
        return f"{self.base}:requests"

    @property
    def seen(self) -> str:
        """The duplicate filter's fingerprints (a set)."""
        return f"{self.base}:seen"

    @property
    def workers(self) -> str:
        """The workers that took part (a set)."""
        return f"{self.base}:workers"

    @property
    def state(self) -> str:
        """The run as the coordinator sees it (a hash: state, reason, source...)."""
        return f"{self.base}:state"

    def inflight(self, worker: str) -> str:
        """What `worker` took from the frontier and has not finished (a sorted set, the queue's scores)."""
        return f"{self.base}:inflight:{worker}"

    def alive(self, worker: str) -> str:
        """Exists while `worker`'s crawl of the run lives (renewed with a time to live)."""
        return f"{self.base}:alive:{worker}"

    def idle(self, worker: str) -> str:
        """Set while `worker`'s crawl of the run has nothing to do."""
        return f"{self.base}:idle:{worker}"

    def robots(self, netloc: str) -> str:
        """The robots.txt of `netloc` as the first worker of the run fetched it."""
        return f"{self.base}:robots:{netloc}"

    def robots_lock(self, netloc: str) -> str:
        """Held by the worker fetching `netloc`'s robots.txt for the run."""
        return f"{self.base}:robots-lock:{netloc}"

    def pattern(self) -> str:
        """A SCAN pattern matching every key of the run."""
        return f"{self.base}:*"


@dataclass(frozen=True)
class HostKeys:
    """The per-host politeness budget every worker shares, whatever run or source asks."""

    holders: str  # sorted set: the requests downloading from the host now, scored by when their hold expires
    next: str  # when the next request to the host may start (milliseconds, Redis's clock)
    pause: str  # until when the host asked every worker to wait (Retry-After), milliseconds


def host_keys(prefix: str, netloc: str) -> HostKeys:
    base = f"{prefix}:host:{netloc.lower()}"
    return HostKeys(holders=f"{base}:holders", next=f"{base}:next", pause=f"{base}:pause")


def tickets(prefix: str) -> str:
    """The list of tickets (JSON): each lets one worker take part in one run."""
    return f"{prefix}:tickets"


def worker_key(prefix: str, worker: str) -> str:
    """Exists while the worker process lives (renewed with a time to live)."""
    return f"{prefix}:worker:{worker}"


# Put back what a worker had in flight into the run's frontier (its scores kept), and forget it there: for a
# worker's own close (crawler.process.frontier) and the coordinator, for a worker gone (crawler.runner).
REQUEUE = """
local n = redis.call('ZCARD', KEYS[2])
if n > 0 then
  redis.call('ZUNIONSTORE', KEYS[1], 2, KEYS[1], KEYS[2], 'AGGREGATE', 'MIN')
  redis.call('DEL', KEYS[2])
end
return n
"""


def requeue(server: redis.Redis, keys: RunKeys, worker: str) -> int:
    """Put what `worker` had in flight back into the run's frontier; how many requests it had."""
    return int(server.eval(REQUEUE, 2, keys.requests, keys.inflight(worker)))


ALIVE_SECONDS = 10  # a worker's part in a run is alive while this key, renewed, lasts
RUN_KEYS_SECONDS = 86_400  # a run key outlives its last write by a day at most: none is left for ever

# Join a run that is still open: the worker in its set, alive for ARGV[2] seconds (0 if it is over).
JOIN = """
if redis.call('HGET', KEYS[1], 'state') ~= 'open' then return 0 end
redis.call('SADD', KEYS[2], ARGV[1])
redis.call('EXPIRE', KEYS[2], ARGV[3])
redis.call('SET', KEYS[3], '1', 'EX', ARGV[2])
return 1
"""


def join(server: redis.Redis, keys: RunKeys, worker: str, alive_seconds: int) -> bool:
    """`worker` takes part in the run if it is still open (one atomic step: a worker never joins a run the
    coordinator has ended); whether it did."""
    joined = server.eval(
        JOIN, 3, keys.state, keys.workers, keys.alive(worker), worker, alive_seconds, RUN_KEYS_SECONDS
    )
    return bool(int(joined))


def release_holds(server: redis.Redis, prefix: str, worker: str) -> int:
    """Drop the per-host holds a dead `worker` left (each hold is named `worker:...`), so its hosts need
    not wait for the holds to expire; how many it held."""
    mine = f"{worker}:"
    dropped = 0
    for key in server.scan_iter(match=f"{prefix}:host:*:holders", count=500):
        members: list[bytes] = server.zrange(key, 0, -1)  # type: ignore[assignment]
        held = [m for m in members if m.decode(errors="replace").startswith(mine)]
        if held:
            dropped += int(server.zrem(key, *held))
    return dropped


def text(value: bytes | str | None) -> str | None:
    """A value read from Redis as text (the client gives bytes)."""
    return value.decode() if isinstance(value, bytes) else value


def connect(url: str) -> redis.Redis:
    """A client for the Redis at `url`, with timeouts: a Redis gone answers with an error, not a hang."""
    return redis.Redis.from_url(
        url,
        socket_timeout=SOCKET_TIMEOUT,
        socket_connect_timeout=CONNECT_TIMEOUT,
        health_check_interval=30,
    )
