"""The nightly daemon: one APScheduler cron job per source, each running one crawl in a subprocess.

Jobs are module-level functions with picklable arguments (a config and a source name), so the same job
runs from any job store. Each crawl is a fresh subprocess (crawler.crawl), so a crash dies with it.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler

from crawler.config import AppConfig
from crawler.crawl import crawl
from crawler.errors import PairchiveError
from crawler.sources import Source, cron_trigger, load_sources, select

logger = logging.getLogger(__name__)

MISFIRE_GRACE_SECONDS = 3600  # a run delayed by up to an hour (daemon restart, busy machine) still runs


def run_source(config: dict[str, str], name: str, settings: dict[str, Any] | None = None) -> str:
    """The job: crawl one source now (with optional Scrapy setting overrides); returns the run's status.

    The sources file is read again at each run, so an edited pattern takes effect at the next run.
    """
    cfg = AppConfig(**config)
    (source,) = select(load_sources(cfg.sources_path), [name], cfg.sources_path)
    (run,) = crawl(cfg, [source], trigger="schedule", settings=settings, log_sink=None)
    log = logger.info if run.status == "ok" else logger.error
    log("run %s of %s: %s %s %s", run.run_id, name, run.status, run.counts, run.error or "")
    return run.status


def add_jobs(scheduler: BaseScheduler, cfg: AppConfig, sources: Sequence[Source]) -> None:
    """One cron job per source, in the source's own time zone; re-adding replaces the old job."""
    for source in sources:
        scheduler.add_job(
            run_source,
            cron_trigger(source.schedule, source.timezone),
            args=[asdict(cfg), source.name],
            id=f"crawl:{source.name}",
            name=f"crawl {source.name}",
            replace_existing=True,
            coalesce=True,
            max_instances=1,
            misfire_grace_time=MISFIRE_GRACE_SECONDS,
        )


def main(cfg: AppConfig | None = None) -> int:
    cfg = cfg or AppConfig.from_env()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        sources = load_sources(cfg.sources_path)
    except PairchiveError as exc:
        logger.error("%s", exc)
        return 2
    scheduler = BlockingScheduler(timezone="UTC")
    add_jobs(scheduler, cfg, sources)
    try:
        scheduler.start()
    except (KeyboardInterrupt, SystemExit):
        scheduler.shutdown(wait=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
