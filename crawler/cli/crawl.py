"""`pairchive crawl`: one crawl, in a subprocess, with a summary table at the end."""

from __future__ import annotations

import sys
from datetime import datetime

import click

from crawler.cli.options import app_config, data_dir_option, db_option, sources_option, table
from crawler.crawl import RunSummary
from crawler.crawl import crawl as run_crawl
from crawler.sources import load_sources, select

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


@click.command()
@click.option("--source", "names", multiple=True, metavar="NAME", help="Crawl only this source (repeatable).")
@sources_option
@db_option
@data_dir_option
@click.option("--quiet", "-q", is_flag=True, help="Log warnings and errors only (for cron).")
@click.option(
    "--recrawl",
    is_flag=True,
    help="Re-fetch the stored articles of the chosen sources; a changed text is kept as a new revision.",
)
@click.option(
    "--since",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    metavar="YYYY-MM-DD",
    help="Skip article links dated (in their URL) before this day.",
)
@click.option(
    "-s",
    "--set",
    "overrides",
    multiple=True,
    metavar="KEY=VALUE",
    help="Override one Scrapy setting for this crawl, e.g. -s DOWNLOAD_DELAY=2 (repeatable).",
)
def crawl(
    names: tuple[str, ...],
    sources: str | None,
    db: str | None,
    data_dir: str | None,
    quiet: bool,
    recrawl: bool,
    since: datetime | None,
    overrides: tuple[str, ...],
) -> None:
    """Crawl the configured portals once and store the pairing stories found.

    The crawl runs in a subprocess; its log goes to stderr, the summary to stdout. Exits non-zero when a
    run failed.

    Example: pairchive crawl --source huli-edu --db archive.db
    """
    cfg = app_config(db, sources, data_dir)
    settings: dict[str, str] = {"LOG_LEVEL": "WARNING" if quiet else "INFO"}
    for pair in overrides:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise click.BadParameter(f"{pair!r} is not KEY=VALUE", param_hint="-s/--set")
        if key.strip().upper().startswith("PAIRCHIVE_"):
            # These are pairchive's own (the database above all): set them with their flags or variables.
            raise click.BadParameter(
                f"{key.strip()} is not a Scrapy setting; use --db", param_hint="-s/--set"
            )
        settings[key.strip()] = value
    chosen = select(load_sources(cfg.sources_path), names, cfg.sources_path)
    runs = run_crawl(cfg, chosen, settings=settings, since=since.date() if since else None, recrawl=recrawl)
    click.echo(summary_table(runs))
    failed = [r for r in runs if r.status != "ok"]
    for r in failed:
        click.echo(f"run {r.run_id} ({r.source}) {r.status}: {r.error}", err=True)
    if failed:
        sys.exit(1)
