"""`pairchive worker`: crawl the runs a coordinating daemon (`pairchive daemon --redis`) dispatches."""

from __future__ import annotations

import queue
import signal
import sys
import threading
from dataclasses import replace

import click

from crawler.cli.options import (
    ConfigError,
    app_config,
    data_dir_option,
    db_option,
    errors_as_json,
    log_format_option,
    scrapy_overrides,
    set_option,
)
from crawler.cli.types import seconds


@click.command("worker")
@click.option(
    "--redis",
    "redis_url",
    envvar="PAIRCHIVE_REDIS",
    required=True,
    metavar="URL",
    help="The Redis the coordinator dispatches through, e.g. redis://10.0.0.5:6379/0 (also $PAIRCHIVE_REDIS).",
)
@click.option(
    "--redis-prefix",
    envvar="PAIRCHIVE_REDIS_PREFIX",
    metavar="PREFIX",
    help="The coordinator's key prefix (default pairchive; also $PAIRCHIVE_REDIS_PREFIX).",
)
@db_option
@data_dir_option
@click.option(
    "--name",
    metavar="NAME",
    help="This worker's id in run records and capture rows (default: host name and process id).",
)
@click.option(
    "--slots",
    default=1,
    show_default=True,
    type=click.IntRange(1, 64),
    help="Crawls this worker runs at once.",
)
@click.option(
    "--grace",
    default=60.0,
    show_default=True,
    type=seconds(),
    metavar="SECONDS",
    help="At SIGTERM or SIGINT, how long running crawls may take to leave their runs before they are ended.",
)
@log_format_option
@set_option("every crawl of this worker")
def worker(
    redis_url: str,
    redis_prefix: str | None,
    db: str | None,
    data_dir: str | None,
    name: str | None,
    slots: int,
    grace: float,
    log_format: str,
    overrides: tuple[str, ...],
) -> None:
    """Crawl runs a coordinating daemon dispatches through Redis, with any number of workers on other
    machines, until stopped (SIGTERM or SIGINT).

    Each run is a crawl subprocess as today's, sharing the run's frontier, duplicate filter and per-host
    politeness budget with the run's other workers through Redis; what it stores goes to the PostgreSQL
    --db, its raw captures under the data directory, which all workers must share (a network filesystem).
    Redis or the database not answering: one line, and the worker asks again with backoff.

    Example: pairchive worker --redis redis://10.0.0.5:6379/0 --db postgresql+psycopg://pairchive@10.0.0.5/pairchive --data-dir /srv/pairchive
    """
    from crawler.runner.coordinator import RedisConfigError
    from crawler.runner.worker import Worker, default_name, worker_name
    from crawler.vocabulary.config import DEFAULT_REDIS_PREFIX
    from crawler.vocabulary.logformat import configure

    configure(log_format)
    with errors_as_json(log_format):
        cfg = replace(app_config(db, None, data_dir), redis_url=redis_url)
        try:
            the_worker = Worker(
                cfg,
                redis_url,
                redis_prefix or DEFAULT_REDIS_PREFIX,
                name=worker_name(name) if name else default_name(),
                slots=slots,
                grace=grace,
                settings=scrapy_overrides(overrides),
            )
        except (RedisConfigError, ValueError) as exc:
            raise ConfigError(str(exc)) from None

        # The handler only puts a word in a SimpleQueue (reentrant: safe in a handler); a thread sets the
        # worker's stop event, which a handler must not (the main thread it interrupts may hold its lock).
        signals: queue.SimpleQueue[int] = queue.SimpleQueue()

        def relay() -> None:
            signals.get()
            the_worker.stop.set()

        threading.Thread(target=relay, daemon=True, name="worker-signals").start()
        signal.signal(signal.SIGTERM, lambda signum, _frame: signals.put(signum))
        signal.signal(signal.SIGINT, lambda signum, _frame: signals.put(signum))
        sys.exit(the_worker.serve())
