"""`pairchive crawl`: crawls now, one source after the other, each in a subprocess, with live counts and a
summary table at the end."""

from __future__ import annotations

import logging
import os
import sys
import time
from datetime import datetime
from typing import IO, TYPE_CHECKING, Any

import click

from crawler.cli.options import (
    ConfigError,
    app_config,
    data_dir_option,
    db_option,
    echo_text,
    errors_as_json,
    log_format_option,
    redis_options,
    scrapy_overrides,
    set_option,
    sources_option,
    table,
    with_redis,
)
from crawler.cli.types import DAY, minutes
from crawler.runner.crawl import CrawlInterrupted, RunSummary
from crawler.runner.crawl import crawl as run_crawl
from crawler.vocabulary.config import DEFAULT_TIME_LIMIT_MINUTES, AppConfig
from crawler.vocabulary.logformat import JSON, JsonRelay, configure, event
from crawler.vocabulary.sources import Source, load_sources, select
from storage.leases import SourceBusy
from storage.outcomes import COMPLETED, RunStatus

if TYPE_CHECKING:
    from crawler.runner.metrics import Metrics

EXIT_BUSY = 3  # another crawl holds a chosen source's lease
logger = logging.getLogger("pairchive.crawl")
EXIT_DEGRADED = 4  # a run ended degraded: its pages' extraction drifted from its source's history
PROGRESS_COUNTS = ("fetched", "stored", "revised", "duplicate", "not_pairing", "failed")

COUNT_COLUMNS = ("fetched", "stored", "revised", "unchanged", "duplicate", "not_pairing", "no_text", "failed")


def summary_table(runs: list[RunSummary]) -> str:
    rows = [
        [
            r.run_id,
            r.source,
            r.status,
            *(r.counts.get(c, 0) for c in COUNT_COLUMNS),
            f"{r.seconds:.1f}s" if r.seconds is not None else "-",
        ]
        for r in runs
    ]
    return table(["run", "source", "status", *COUNT_COLUMNS, "time"], rows)


class Progress:
    """One live line on stderr per run: counts so far and the time taken, redrawn in place on a terminal,
    printed every few seconds elsewhere (a log file keeps them as lines)."""

    def __init__(self, stream: IO[str], source: str, live: bool) -> None:
        self.stream, self.source, self.live = stream, source, live
        self.started = time.monotonic()
        self.last = 0.0
        self.counts: dict[str, int] = {}

    def line(self) -> str:
        c = self.counts
        spinner = "|/-\\"[int(time.monotonic() - self.started) % 4] if self.live else "-"
        parts = [f"{c.get(k, 0)} {k}" for k in PROGRESS_COUNTS]
        return f"{spinner} {self.source}: {' · '.join(parts)} · {time.monotonic() - self.started:.0f}s"

    def update(self, _run_id: int, counts: dict[str, int]) -> None:
        self.counts = counts
        now = time.monotonic()
        if self.live:
            self.stream.write("\r\x1b[K" + self.line())
            self.stream.flush()
        elif now - self.last >= 5:
            self.last = now
            self.stream.write(self.line() + "\n")
            self.stream.flush()

    def done(self) -> None:
        if self.live:
            self.stream.write("\r\x1b[K")
        self.stream.write(self.line() + "\n")
        self.stream.flush()


@click.command()
@click.option("--source", "names", multiple=True, metavar="NAME", help="Crawl only this source (repeatable).")
@click.option(
    "--all",
    "all_sources",
    is_flag=True,
    help="Crawl every source in the sources file, in turn: what `crawl` without --source does (for scripts "
    "that say so).",
)
@sources_option
@db_option
@data_dir_option
@click.option("--quiet", "-q", is_flag=True, help="No progress and no log below warnings (for cron).")
@click.option(
    "--progress/--log",
    "show_progress",
    default=None,
    help="A live line of counts per run instead of the crawl's log (default: --progress on a terminal).",
)
@click.option(
    "--timeout",
    type=minutes(),
    default=DEFAULT_TIME_LIMIT_MINUTES,
    show_default=True,
    metavar="MINUTES",
    help="End a run that takes longer than this; it is recorded as `timeout` (the daemon's limit by default).",
)
@click.option(
    "--recrawl",
    is_flag=True,
    help="Re-fetch the stored articles of the chosen sources; a changed text is kept as a new revision.",
)
@click.option(
    "--since",
    type=DAY,
    metavar="YYYY-MM-DD",
    help="Skip article links dated (in their URL) before this day.",
)
@click.option(
    "--metrics-file",
    metavar="PATH",
    help="After the runs, write their Prometheus metrics to this file, replaced at once (for node_exporter's "
    "textfile collector: a .prom file in its directory).",
)
@redis_options
@log_format_option
@set_option()
def crawl(
    names: tuple[str, ...],
    all_sources: bool,
    sources: str | None,
    db: str | None,
    data_dir: str | None,
    quiet: bool,
    show_progress: bool | None,
    timeout: float,
    recrawl: bool,
    since: datetime | None,
    metrics_file: str | None,
    redis_url: str | None,
    redis_prefix: str | None,
    done_after: float | None,
    log_format: str,
    overrides: tuple[str, ...],
) -> None:
    """Crawl portals now, one after the other, and store the pairing stories found.

    The sources named with --source, or without any every source in the sources file (--all says so).
    Each run is a subprocess holding its source's lease: a source another crawl (the daemon, another
    operator) is crawling is skipped with who holds it. Progress and log go to stderr, the summary table
    to stdout (Ctrl-C: the runs so far). Exit status: 0 every run ok, 1 a run failed, timed out or was
    interrupted (or the --metrics-file could not be written), 2 a usage or configuration error (a bad sources
    file, an unknown source, a --metrics-file in no directory), 3 a source was busy (and no run failed), 4 a
    run was degraded (it ended, but its pages extract far worse than its source's last ok runs: a new
    template?) and none failed; a failure wins over degraded, degraded over busy. With --log-format json
    every line on stderr is a JSON object (the crawl's log, a run_finished event per run with its counts),
    and no progress line is drawn. With --redis (or $PAIRCHIVE_REDIS) each run is dispatched to the workers
    of a distributed deployment (`pairchive worker`) and this command coordinates it, as the daemon does.

    Example: pairchive crawl --source huli-edu --db archive.db
    """
    if names and all_sources:
        raise click.UsageError("give --source NAME or --all, not both")
    as_json = log_format == JSON
    if as_json and show_progress:
        raise click.UsageError("--progress draws a line of counts, not JSON: give --log-format json alone")
    if as_json:
        configure(JSON, logging.WARNING if quiet else logging.INFO)
        logging.getLogger("alembic").setLevel(logging.WARNING)  # schema checks on opening are routine
    with errors_as_json(log_format):
        cfg = with_redis(app_config(db, sources, data_dir), redis_url, redis_prefix, done_after)
        if cfg.redis_url:
            check_distributed(cfg)
        live = show_progress if show_progress is not None else sys.stderr.isatty() and not as_json
        live = live and not quiet
        settings = {"LOG_LEVEL": "WARNING" if quiet or live else "INFO", **scrapy_overrides(overrides)}
        if as_json:
            settings["PAIRCHIVE_LOG_FORMAT"] = JSON
        chosen = select(load_sources(cfg.sources_path), names, cfg.sources_path)
        tally = _metrics_for(metrics_file, chosen, cfg) if metrics_file else None
        try:
            runs, busy, interrupted = _crawl_each(
                cfg,
                chosen,
                live,
                tally,
                as_json,
                settings=settings,
                since=since.date() if since else None,
                recrawl=recrawl,
                timeout=timeout * 60,
            )
        except BaseException:
            # the runs so far, without the standing: the database may be what failed
            if tally and metrics_file:
                _write_metrics(tally, metrics_file, [])
            raise
        unwritten = _write_metrics(tally, metrics_file, chosen) if tally and metrics_file else None
    _report(runs, len(chosen), busy, interrupted, unwritten, as_json)


def check_distributed(cfg: AppConfig) -> None:
    """A distributed crawl's configuration, or a one-line configuration error (SQLite, a bad prefix)."""
    from crawler.runner import coordinator

    try:
        coordinator.check_distributed(cfg.db_url, cfg.redis_prefix)
    except coordinator.RedisConfigError as exc:
        raise ConfigError(str(exc)) from None


def _report(
    runs: list[RunSummary],
    chosen: int,
    busy: list[str],
    interrupted: bool,
    unwritten: str | None,
    as_json: bool,
) -> None:
    """The summary table on stdout, what did not go well on stderr (as JSON records with `as_json`), and
    the exit status."""
    if runs:
        click.echo(summary_table(runs))
    failed = [r for r in runs if r.status not in COMPLETED]
    degraded = [r for r in runs if r.status == RunStatus.DEGRADED]
    if as_json:
        _log_runs(runs)
    else:
        for r in failed:
            echo_text(f"run {r.run_id} ({r.source}) {r.status}: {r.error}", err=True)
        for r in degraded:
            echo_text(f"run {r.run_id} ({r.source}) degraded: {r.verdict}", err=True)
    notes = (
        [("crawl_interrupted", f"interrupted: {len(runs)} of {chosen} source(s) crawled")]
        if interrupted
        else []
    )
    notes += [("metrics_not_written", unwritten)] if unwritten else []
    for name, line in notes:
        if as_json:
            logger.warning("%s", line, extra=event(name))
        else:
            click.echo(line, err=True)
    if failed or interrupted or unwritten:
        sys.exit(1)
    if degraded:
        sys.exit(EXIT_DEGRADED)
    if busy:
        sys.exit(EXIT_BUSY)


def _log_runs(runs: list[RunSummary]) -> None:
    """One run_finished event per run, as the daemon logs them: its counts and how it ended."""
    levels: dict[str, int] = {RunStatus.OK: logging.INFO, RunStatus.DEGRADED: logging.WARNING}
    for r in runs:
        counts = " ".join(f"{k}={v}" for k, v in sorted(r.counts.items()))
        drift = r.verdict if r.status == RunStatus.DEGRADED else None  # a steady verdict is no news
        said = r.error or drift
        logger.log(
            levels.get(r.status, logging.ERROR),
            "run %s of %s: %s %s%s",
            r.run_id,
            r.source,
            r.status,
            counts,
            f" {said}" if said else "",
            extra=event(
                "run_finished",
                source=r.source,
                run=r.run_id,
                status=r.status,
                counts=r.counts,
                error=r.error,
                reason=drift,
            ),
        )


def _metrics_for(path: str, chosen: list[Source], cfg: AppConfig) -> Metrics:
    """The metrics this crawl counts into, for --metrics-file; its directory is checked first, so a wrong
    path is said at once rather than after hours of crawling."""
    folder = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(path):
        raise ConfigError(f"--metrics-file {path} is a directory")
    if not os.path.isdir(folder):
        raise ConfigError(f"--metrics-file {path}: directory {folder} does not exist")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise ConfigError(f"--metrics-file {path}: directory {folder} cannot be written")
    from crawler.runner import metrics  # only here: prometheus_client is for the crawls that ask for it

    tally = metrics.Metrics(db_url=cfg.db_url)
    tally.declare(s.name for s in chosen)
    return metrics.install(tally) or tally


def _write_metrics(tally: Metrics, path: str, chosen: list[Source]) -> str | None:
    """Write the crawl's metrics, with each source's standing as the database has it now; the error line
    when the file could not be written."""
    if chosen:
        tally.read_standing([s.name for s in chosen])
    try:
        tally.write(path)
    except OSError as exc:
        return f"could not write the metrics to {path}: {exc.strerror or exc}"
    return None


def _counted(tally: Metrics | None, runs: list[RunSummary]) -> list[RunSummary]:
    if tally is not None:
        for run in runs:
            tally.count_run(run)
    return runs


def _crawl_each(
    cfg: AppConfig,
    chosen: list[Source],
    live: bool,
    tally: Metrics | None = None,
    as_json: bool = False,
    **options: Any,
) -> tuple[list[RunSummary], list[str], bool]:
    """Crawl the sources in turn: the runs, the sources found busy, and whether Ctrl-C ended it early
    (the runs so far are kept, so the operator still gets their summary). Each counted in `tally`. With
    `as_json`, the crawl's log is relayed as JSON objects."""
    runs: list[RunSummary] = []
    busy: list[str] = []
    for source in chosen:
        bar = Progress(sys.stderr, source.name, sys.stderr.isatty()) if live else None
        if as_json:
            options["log_sink"] = JsonRelay(sys.stderr, source=source.name)
        try:
            if cfg.redis_url:  # on the workers of a distributed deployment, coordinated from here
                from crawler.runner.coordinator import Coordinator

                bar = None
                coordinator = Coordinator(cfg.redis_url, cfg.redis_prefix, quiet=cfg.done_after)
                dispatched = {k: v for k, v in options.items() if k != "log_sink"}
                # how this terminal shows the crawl is not the workers' business: their logs stay theirs
                dispatched["settings"] = {
                    k: v
                    for k, v in options["settings"].items()
                    if k not in ("LOG_LEVEL", "PAIRCHIVE_LOG_FORMAT")
                }
                runs += _counted(tally, coordinator.dispatch(cfg, [source], **dispatched))
                continue
            runs += _counted(tally, run_crawl(cfg, [source], progress=bar.update if bar else None, **options))
        except SourceBusy as exc:
            bar = None
            busy.append(str(exc))
            if as_json:
                skipped = event("run_skipped", source=source.name, status="busy", error=str(exc))
                logger.warning("skipped: %s", exc, extra=skipped)
            else:
                click.echo(f"skipped: {exc}", err=True)
            if tally is not None:
                tally.skipped.labels(source.name, "busy").inc()
        except CrawlInterrupted as exc:
            runs += _counted(tally, exc.runs)
            return runs, busy, True
        except KeyboardInterrupt:  # between two runs, or before this one had a record
            return runs, busy, True
        finally:
            if bar is not None:
                bar.done()
    return runs, busy, False
