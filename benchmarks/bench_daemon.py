"""Daemon memory over many consecutive scheduled runs: resident memory of the daemon process, run by run.

    python benchmarks/bench_daemon.py --runs 100 [--source linxia-news] [--metrics]

This process is the daemon: `scheduler.Daemon` with its real APScheduler (thread pool executor, the
default cap of 2), loaded from a sources file for one sample portal served on loopback by a separate
process. Each run is fired as the schedule fires it (the job's next run time set to now) as soon as the
previous one is recorded, so N runs take minutes rather than N scheduled nights. Every run is a real crawl
subprocess into a SQLite file; what is measured is the daemon's own resident memory (VmRSS) before the
first run and after each run, so a leak in the parent (scheduler, run records, leases, log pumping) shows
as growth. The crawl subprocesses' memory dies with them and is not counted. `--metrics`: the daemon
also counts and serves its Prometheus metrics (as `daemon --metrics` does), scraped over HTTP after every
run as a monitoring system would.
"""

from __future__ import annotations

import argparse
import json
import logging
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ratios import ratio

import scheduler
from crawler.runner import metrics
from crawler.vocabulary.config import AppConfig

SERVE = """
import json, sys, time
from crawler.sampleweb import SampleWeb
with SampleWeb() as web:
    print(json.dumps(web.sources_toml()), flush=True)
    sys.stdin.read()
"""


def rss_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS in /proc/self/status")


def serve_metrics(daemon: scheduler.Daemon) -> Callable[[], None]:
    """Count the daemon's runs and serve them on a free loopback port, as `daemon --metrics` does; a
    function that scrapes them once."""
    names = sorted(daemon.sources)
    tally = metrics.Metrics(process=True)
    tally.declare(names)
    tally.read_standing(names, daemon.cfg.db_url)
    tally.watch(daemon.scheduler)
    host, port = tally.serve("127.0.0.1", 0)
    metrics.install(tally)

    def scrape() -> None:
        with urllib.request.urlopen(f"http://{host}:{port}/metrics", timeout=30) as response:
            response.read()

    return scrape


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--source", default="linxia-news")
    parser.add_argument("--metrics", action="store_true", help="count and serve metrics, scraped each run")
    args = parser.parse_args()

    web = subprocess.Popen(
        [sys.executable, "-c", SERVE], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert web.stdout is not None and web.stdin is not None
    toml = json.loads(web.stdout.readline())
    (block,) = [b for b in toml.split("[[source]]") if f'name = "{args.source}"' in b]
    done = threading.Event()
    statuses: list[str] = []

    class Recorder(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            message = record.getMessage()
            if message.startswith("run ") and f" of {args.source}: " in message:
                statuses.append(message.split(": ", 1)[1].split()[0])
                done.set()

    logging.getLogger("pairchive.daemon").addHandler(Recorder())
    logging.getLogger("pairchive.daemon").setLevel(logging.INFO)
    with tempfile.TemporaryDirectory() as folder:
        sources = Path(folder) / "sources.toml"
        sources.write_text("[[source]]" + block, encoding="utf-8")
        cfg = AppConfig(db_url=f"sqlite:///{Path(folder) / 'a.db'}", sources_path=str(sources))
        daemon = scheduler.Daemon(cfg, settings={"AUTOTHROTTLE_ENABLED": False, "DOWNLOAD_DELAY": 0})
        daemon.load()
        scrape = serve_metrics(daemon) if args.metrics else None
        daemon.start()
        before = rss_kib()
        samples: list[tuple[int, int, float]] = []
        started = time.perf_counter()
        try:
            for n in range(1, args.runs + 1):
                done.clear()
                daemon.scheduler.get_job(scheduler.job_id(args.source)).modify(
                    next_run_time=datetime.now(UTC)
                )
                if not done.wait(300):
                    raise RuntimeError(f"run {n} did not finish")
                if scrape is not None:
                    scrape()
                samples.append((n, rss_kib(), time.perf_counter() - started))
        finally:
            daemon.scheduler.shutdown(wait=True)
            metrics.install(None)
            web.stdin.close()
            web.wait()
    print(f"daemon RSS before the first run: {before / 1024:.1f} MiB")
    print("| run | daemon RSS MiB | vs before | elapsed s |")
    print("| --- | --- | --- | --- |")
    for n, kib, elapsed in samples:
        if n in (1, 2, 5, 10, 25, 50, 75, args.runs):
            print(f"| {n} | {kib / 1024:.1f} | {kib / before:.3f}x | {elapsed:.0f} |")
    first, last = samples[0][1], samples[-1][1]
    print(
        f"first run {first / 1024:.1f} MiB, last run {last / 1024:.1f} MiB: last/first {last / first:.3f}; "
        f"runs ok {statuses.count('ok')} of {len(statuses)}"
    )
    ratio(f"daemon RSS after run {len(samples)}", last / first, "after the first run")
    return 0


if __name__ == "__main__":
    sys.exit(main())
