"""`scrapy crawl portal -a source=NAME`: one source of the sources file crawled as `pairchive crawl` does.

Scrapy's command would build the spider from strings alone, with no source table, no run record and no
lease. This one takes the source from PAIRCHIVE_SOURCES (or ./sources.toml) and hands it to the same
runner as `pairchive crawl` (crawler.runner.crawl): the source's lease, a `running` record before the
crawl subprocess starts, the WARC files beside the database, the books closed however it ends. The
database is PAIRCHIVE_DB, or `-s PAIRCHIVE_DB=URL`; every other `-s` (and -o, -L) goes to the crawl.

Exit status as `pairchive crawl`: 0 the run ended ok, 1 it did not, 2 a usage or configuration error (an
unknown source, no sources file, a bad database URL), 3 the source was busy; each error in one line.
"""

from __future__ import annotations

import argparse
import os
import sys
from datetime import date
from typing import Any

from scrapy.commands.crawl import Command as ScrapyCrawl
from scrapy.exceptions import UsageError
from scrapy.settings import SETTINGS_PRIORITIES
from sqlalchemy.exc import SQLAlchemyError

from crawler.cli.crawl import EXIT_BUSY, EXIT_DEGRADED, summary_table
from crawler.cli.options import setting_value_problem
from crawler.runner.crawl import CrawlInterrupted
from crawler.runner.crawl import crawl as run_crawl
from crawler.vocabulary.config import DEFAULT_TIME_LIMIT_MINUTES, AppConfig
from crawler.vocabulary.errors import PairchiveError, SourceConfigError, first_line
from crawler.vocabulary.sources import load_sources, select
from storage.leases import SourceBusy
from storage.outcomes import COMPLETED, RunStatus

SPIDER = "portal"
# pairchive's own settings a `scrapy crawl` may give with -s, as the variables of the same names
CONFIG_SETTINGS = ("PAIRCHIVE_DB", "PAIRCHIVE_SOURCES", "PAIRCHIVE_DATA_DIR")
SPIDER_ARGUMENTS = ("source", "since", "recrawl")


class Command(ScrapyCrawl):
    # The crawl runs in a subprocess of its own (crawler.process.worker): this process starts no engine.
    requires_crawler_process = False

    def short_desc(self) -> str:
        return "Crawl one source of the sources file: scrapy crawl portal -a source=NAME"

    def long_desc(self) -> str:
        return (
            "Crawl one source of PAIRCHIVE_SOURCES (or ./sources.toml) into PAIRCHIVE_DB (or "
            "-s PAIRCHIVE_DB=URL), with a run record, as `pairchive crawl --source NAME` does. "
            "Spider arguments: source=NAME, since=YYYY-MM-DD, recrawl=1."
        )

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        if len(args) != 1:
            raise UsageError("give one spider: scrapy crawl portal -a source=NAME")
        try:
            self.exitcode = self._crawl(args[0], opts.spargs)
        except SourceBusy as exc:
            print(f"skipped: {exc}", file=sys.stderr)
            self.exitcode = EXIT_BUSY
        except SourceConfigError as exc:
            print(f"Error: {first_line(exc)}", file=sys.stderr)
            self.exitcode = 2
        except PairchiveError as exc:
            print(f"Error: {first_line(exc)}", file=sys.stderr)
            self.exitcode = 1
        except SQLAlchemyError as exc:
            print(f"Error: database error: {first_line(exc)}", file=sys.stderr)
            self.exitcode = 1
        except CrawlInterrupted as exc:
            print(summary_table(exc.runs), file=sys.stderr)
            print("interrupted", file=sys.stderr)
            self.exitcode = 1

    def _crawl(self, spider: str, spargs: dict[str, str]) -> int:
        if spider != SPIDER:
            raise SourceConfigError(f"no spider named {spider!r}: this project has one, {SPIDER!r}")
        unknown = sorted(set(spargs) - set(SPIDER_ARGUMENTS))
        if unknown:
            raise SourceConfigError(
                f"unknown spider argument {unknown[0]!r} (known: {', '.join(SPIDER_ARGUMENTS)})"
            )
        if not spargs.get("source"):
            raise SourceConfigError("give the source to crawl: scrapy crawl portal -a source=NAME")
        since = _day(spargs["since"]) if spargs.get("since") else None
        cfg = self._config()
        (source,) = select(load_sources(cfg.sources_path), [spargs["source"]], cfg.sources_path)
        (run,) = run_crawl(
            cfg,
            [source],
            trigger="scrapy",
            settings=self._overrides(),
            since=since,
            recrawl=spargs.get("recrawl", "").lower() in ("1", "true", "yes"),
            timeout=DEFAULT_TIME_LIMIT_MINUTES * 60,
        )
        print(summary_table([run]), file=sys.stderr)
        if run.status not in COMPLETED:
            print(f"run {run.run_id} ({run.source}) {run.status}: {run.error}", file=sys.stderr)
            return 1
        if run.status == RunStatus.DEGRADED:
            print(f"run {run.run_id} ({run.source}) degraded: {run.verdict}", file=sys.stderr)
            return EXIT_DEGRADED
        return 0

    def _given(self) -> dict[str, Any]:
        """The settings given on this command line (-s, -o, -L...), not those of the project's module."""
        assert self.settings is not None
        cmdline = SETTINGS_PRIORITIES["cmdline"]
        return {k: self.settings[k] for k in self.settings if self.settings.getpriority(k) == cmdline}

    def _config(self) -> AppConfig:
        given = self._given()
        env = {key: str(given[key]) for key in CONFIG_SETTINGS if given.get(key)}
        return AppConfig.from_env({**os.environ, **env})

    def _overrides(self) -> dict[str, Any]:
        overrides: dict[str, Any] = {}
        for key, value in self._given().items():
            if key.upper().startswith("PAIRCHIVE_"):
                if key not in CONFIG_SETTINGS:
                    raise SourceConfigError(
                        f"-s {key}: not a setting of `scrapy crawl` (give {', '.join(CONFIG_SETTINGS)})"
                    )
                continue
            if isinstance(value, str) and (problem := setting_value_problem(key, value)):
                raise SourceConfigError(f"-s {key}={value!r}: {problem}")
            overrides[key] = value
        return overrides


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise SourceConfigError(f"since={text!r}: a day as YYYY-MM-DD is expected") from None
