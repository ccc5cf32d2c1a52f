"""Distributed crawls: pages/s of 1, 2 and 4 workers against today's single-machine daemon, and Redis memory.

    python benchmarks/bench_distributed.py --rounds 3 [--portals 8 --articles 12] [--pg URL] [--redis URL]

Every configuration crawls the same province (crawler.sampleweb.province: one loopback host per portal,
each answer held 100-300 ms first, as a distant portal's would be), once per source, into a fresh
PostgreSQL schema, with the same politeness: AUTOTHROTTLE off, DOWNLOAD_DELAY 0.1 s,
CONCURRENT_REQUESTS_PER_DOMAIN 2.

- daemon: `pairchive daemon --now` without --redis, its default of 2 crawls at once (one machine today);
- N workers: `pairchive worker --slots 2` N times (each one machine like the daemon's 2 crawls), started
  and ready before the clock starts, coordinated by `pairchive daemon --redis ... --now --done-after 1`.

The configurations take turns, their order reversed every other round. Wall time runs from the daemon's
start to the last run closed (its `finished_at`): the daemon's start-up, every crawl subprocess's start-up,
the crawl and, distributed, the coordinator's quiet second before it closes a run (--done-after 1).
Pages are the runs' own `fetched` counts, summed. Each round's pages/s are a ratio to the daemon's of that
round. Also reported: the most requests in progress at once on any one host (must stay within the
per-domain limit, across workers), Redis's used_memory (INFO memory; the whole server, so other clients of
the same Redis show in it) before, at its peak while the runs go (sampled every 50 ms) and after, and the
keys left under the run's prefix once the runs are closed and once the workers have stopped, by kind (a
run's, a host's budget, a worker's), and the longest time to live among them.
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import redis
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ratios import ratio

from crawler.sampleweb.province import Province
from storage.db import close_all, open_for_writing

POLITENESS = {"AUTOTHROTTLE_ENABLED": "False", "DOWNLOAD_DELAY": "0.1", "CONCURRENT_REQUESTS_PER_DOMAIN": "2"}
PER_DOMAIN = 2
SLOTS = 2  # crawls at once on one machine: the daemon's default, and each worker's --slots
WAIT = 300.0  # seconds a configuration may take before the benchmark gives up on it
BASELINE = "daemon"
ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Measure:
    """One configuration's crawl of the province."""

    config: str
    wall: float
    pages: int
    stored: int
    statuses: list[str]
    most_at_once: int
    memory: tuple[int, int, int]  # used_memory before, peak while the runs go, after they end (bytes)
    keys_after_runs: Keys  # under the prefix once the runs are closed
    keys_after_workers: Keys  # once the workers have stopped too

    @property
    def rate(self) -> float:
        return self.pages / self.wall


@contextmanager
def pg_schema(base: str) -> Iterator[str]:
    """A URL whose connections live in a fresh schema, dropped afterwards."""
    schema = f"bench_dist_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(base)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    url = sa.engine.make_url(base).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        close_all()
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def scalar(engine: sa.Engine, query: str) -> Any:
    with engine.connect() as conn:
        return conn.execute(sa.text(query)).scalar()


class MemorySampler(threading.Thread):
    """Redis's used_memory every 50 ms until stopped: the peak while the runs go."""

    def __init__(self, server: redis.Redis) -> None:
        super().__init__(daemon=True)
        self.server = server
        self.peak = used_memory(server)
        self.halt = threading.Event()

    def run(self) -> None:
        while not self.halt.wait(0.05):
            self.peak = max(self.peak, used_memory(self.server))

    def stop(self) -> int:
        self.halt.set()
        self.join()
        return self.peak


def used_memory(server: redis.Redis) -> int:
    return int(server.info("memory")["used_memory"])


def pairchive(args: list[str], log: Path) -> subprocess.Popen[bytes]:
    """`pairchive ARGS` as a subprocess in a process group of its own, its log into `log`."""
    overrides = [a for key, value in POLITENESS.items() for a in ("-s", f"{key}={value}")]
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "crawler", *args, *overrides],
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            stdout=subprocess.DEVNULL,
            stderr=out,
            start_new_session=True,
        )


def until(condition: Any, what: str, timeout: float = WAIT, every: float = 0.05) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        time.sleep(every)


def stop(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM, as an operator stops it; killed with its group if it does not end in a minute."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


@dataclass(frozen=True)
class Keys:
    """The keys under a prefix, by kind, and the longest time to live among them (-1: one never expires)."""

    run: int
    host: int
    worker: int
    other: int
    longest_ttl_s: float

    def __str__(self) -> str:
        kinds = [f"{n} {kind}" for kind, n in vars(self).items() if kind != "longest_ttl_s" and n]
        if not kinds:
            return "none"
        ttl = "no TTL on one" if self.longest_ttl_s < 0 else f"TTL <= {self.longest_ttl_s:.0f} s"
        return f"{', '.join(kinds)} ({ttl})"


def prefix_keys(server: redis.Redis, prefix: str) -> Keys:
    names = [k.decode() for k in server.scan_iter(match=f"{prefix}:*", count=1000)]
    kinds = [n[len(prefix) + 1 :].split(":", 1)[0] for n in names]
    ttls = [int(server.pttl(n)) for n in names]
    longest = -1.0 if any(t == -1 for t in ttls) else max((t / 1000 for t in ttls), default=0.0)
    other = sum(k not in ("run", "host", "worker") for k in kinds)
    return Keys(kinds.count("run"), kinds.count("host"), kinds.count("worker"), other, longest)


def start_workers(
    count: int, redis_url: str, prefix: str, db: str, folder: Path
) -> list[subprocess.Popen[bytes]]:
    """`count` workers, each ready (its log says so) before this returns."""
    logs = [folder / f"worker-{n}.log" for n in range(1, count + 1)]
    crew = [
        pairchive(
            ["worker", "--name", f"w{n}", "--slots", str(SLOTS), "--redis", redis_url, "--redis-prefix", prefix,
             "--db", db, "--data-dir", str(folder / "data"), "--grace", "10"],
            log,
        )
        for n, log in enumerate(logs, start=1)
    ]  # fmt: skip
    for log in logs:
        until(lambda log=log: " ready: " in log.read_text(errors="replace"), f"{log.name} ready", 60)
    return crew


def daemon_args(workers: int, redis_url: str, prefix: str, db: str, folder: Path) -> list[str]:
    args = ["daemon", "--now", "--db", db, "--sources", str(folder / "sources.toml")]
    args += ["--data-dir", str(folder / "data")]
    if workers:
        args += ["--redis", redis_url, "--redis-prefix", prefix, "--done-after", "1"]
    return args


def closed_runs(engine: sa.Engine, portals: int) -> bool:
    return scalar(engine, "select count(*) from crawl_runs where status <> 'running'") == portals


def finished_at(engine: sa.Engine) -> float:
    last: datetime = scalar(engine, "select max(finished_at) from crawl_runs")
    return (last if last.tzinfo else last.replace(tzinfo=UTC)).timestamp()


def crawl_once(args: argparse.Namespace, workers: int, folder: Path, db: str, prefix: str) -> Measure:
    """One configuration: `workers` 0 is the single-machine daemon."""
    server = redis.Redis.from_url(args.redis)
    engine = sa.create_engine(db)
    open_for_writing(db)  # the schema, before workers and the daemon watch it
    with Province(args.portals, args.articles, args.listing_pages, latency=(0.1, 0.3), seed=0) as web:
        (folder / "sources.toml").write_text(web.sources_toml(), encoding="utf-8")
        crew = start_workers(workers, args.redis, prefix, db, folder) if workers else []
        try:
            before = used_memory(server)
            sampler = MemorySampler(server)
            sampler.start()
            started = time.time()
            daemon = pairchive(daemon_args(workers, args.redis, prefix, db, folder), folder / "daemon.log")
            try:
                until(lambda: closed_runs(engine, args.portals), f"{args.portals} closed runs")
            finally:
                peak = sampler.stop()
                stop(daemon)
            after, keys = used_memory(server), prefix_keys(server, prefix)
        finally:
            for worker in crew:
                stop(worker)
        most = max(web.max_concurrent(host) for host in web.hosts)
        expected = len(web.article_urls())
    wall = finished_at(engine) - started
    with engine.connect() as conn:
        counts = [(r[0], r[1]) for r in conn.execute(sa.text("select status, counts from crawl_runs"))]
    stored = scalar(engine, "select count(*) from articles")
    engine.dispose()
    left = prefix_keys(server, prefix)
    for name in server.scan_iter(match=f"{prefix}:*", count=1000):
        server.delete(name)
    name = f"{workers} worker{'s' if workers > 1 else ''}" if workers else BASELINE
    assert stored == expected, f"{name}: {stored} stories stored of {expected}"
    assert most <= PER_DOMAIN, f"{name}: {most} requests at once on one host"
    pages = sum(int(c.get("fetched", 0)) for _, c in counts)
    return Measure(name, wall, pages, stored, [s for s, _ in counts], most, (before, peak, after), keys, left)


def one_round(args: argparse.Namespace, order: list[int], n: int) -> list[Measure]:
    done = []
    for workers in order:
        with tempfile.TemporaryDirectory(prefix="bench-dist-") as folder, pg_schema(args.pg) as db:
            prefix = f"bench-dist-{uuid.uuid4().hex[:10]}"
            measure = crawl_once(args, workers, Path(folder), db, prefix)
        print(
            f"round {n}: {measure.config}: {measure.pages} pages in {measure.wall:.2f} s "
            f"({measure.rate:.2f} pages/s), {measure.stored} stored, statuses {sorted(set(measure.statuses))}",
            flush=True,
        )
        done.append(measure)
    return done


def report(rounds: list[list[Measure]], configs: list[str]) -> None:
    by = {c: [m for r in rounds for m in r if m.config == c] for c in configs}
    print("\n| configuration | pages | wall s (median) | pages/s (median) | vs daemon, min | vs daemon, median "
          "| most at once on a host | stored |")  # fmt: skip
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    ratios: dict[str, list[float]] = {}
    for c in configs:
        ratios[c] = [
            next(m for m in r if m.config == c).rate / next(m for m in r if m.config == BASELINE).rate
            for r in rounds
        ]
        ms = by[c]
        print(
            f"| {c} | {ms[0].pages} | {statistics.median(m.wall for m in ms):.2f} "
            f"| {statistics.median(m.rate for m in ms):.2f} | {min(ratios[c]):.2f} "
            f"| {statistics.median(ratios[c]):.2f} | {max(m.most_at_once for m in ms)} | {ms[0].stored} |"
        )
    print("\n| configuration | Redis used_memory before KiB | peak KiB | after KiB | peak - before KiB "
          "| keys left after the runs | after the workers stopped |")  # fmt: skip
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for c in configs:
        for m in by[c]:
            before, peak, after = (v / 1024 for v in m.memory)
            print(
                f"| {c} | {before:.0f} | {peak:.0f} | {after:.0f} | {peak - before:.0f} "
                f"| {m.keys_after_runs} | {m.keys_after_workers} |"
            )
    for c in configs[1:]:
        ratio(f"distributed pages/s, {c}", statistics.median(ratios[c]), "the single-machine daemon")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--portals", type=int, default=8)
    parser.add_argument("--articles", type=int, default=12, help="articles a portal")
    parser.add_argument("--listing-pages", type=int, default=2)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--pg", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    args = parser.parse_args()
    # SIGTERM ends the benchmark through its `finally` blocks: daemon and workers stopped, schema dropped
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    print(
        f"{args.portals} portals x {args.articles} articles ({args.listing_pages} listing pages each), "
        f"latency 100-300 ms an answer; politeness for every configuration: "
        + ", ".join(f"{k}={v}" for k, v in POLITENESS.items())
        + f"; {os.cpu_count()} cores",
        flush=True,
    )
    order = [0, *args.workers]
    rounds = []
    for n in range(1, args.rounds + 1):
        rounds.append(one_round(args, order if n % 2 else order[::-1], n))
    report(rounds, [BASELINE, *(f"{w} worker{'s' if w > 1 else ''}" for w in args.workers)])
    return 0


if __name__ == "__main__":
    sys.exit(main())
