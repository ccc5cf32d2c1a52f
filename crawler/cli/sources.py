"""The operator's `sources` commands: `list` (what is configured and how it went) and `check` (a dry run)."""

from __future__ import annotations

import json
from typing import Any

import click

from crawler.cli.options import (
    app_config,
    archive_if_made,
    db_option,
    echo_text,
    json_option,
    scrapy_overrides,
    set_option,
    sources_option,
    table,
    terms_text,
)
from crawler.vocabulary.sources import Source, load_sources
from crawler.vocabulary.sources import select as select_sources
from storage.models import CrawlRun
from storage.queries import source_overview


@click.group()
def sources() -> None:
    """Configured portals: list them with their last run, or check a new one before it runs.

    Example: pairchive sources check huli-edu
    """


@sources.command("list")
@sources_option
@db_option
@json_option("One JSON object per source, one per line.")
def list_sources(sources: str | None, db: str | None, as_json: bool) -> None:
    """Every configured source: entry points, schedule (with its polling bounds), last run and stored stories.

    Example: pairchive sources list --db archive.db
    """
    cfg = app_config(db, sources)
    configured = load_sources(cfg.sources_path)
    records: list[dict[str, Any]] = []
    overview = _overview(cfg.db_url, [src.name for src in configured])
    for src in configured:
        last, stored = overview.get(src.name, (None, 0))
        records.append(
            {
                "name": src.name,
                "title": src.title,
                "entry_points": {
                    "listing": len(src.start_urls),
                    "feeds": len(src.feeds),
                    "sitemaps": len(src.sitemaps),
                },
                "schedule": src.schedule,
                "timezone": src.timezone,
                # adaptive polling's bounds, as written in the file ("6h"); null for a source without them
                "min_interval": src.to_dict().get("min_interval"),
                "max_interval": src.to_dict().get("max_interval"),
                "last_run": None
                if last is None
                else {
                    "id": last.id,
                    "status": last.status,
                    "finished": last.finished_at.isoformat() if last.finished_at else None,
                    "counts": last.counts,
                },
                "stored": stored,
            }
        )
    if as_json:
        for record in records:
            click.echo(json.dumps(record, ensure_ascii=False))
        return
    click.echo(
        table(
            ["name", "title", "entry points", "schedule", "last run", "stored"],
            [_row(record) for record in records],
        )
    )


def _overview(db_url: str, names: list[str]) -> dict[str, tuple[CrawlRun | None, int]]:
    """What the archive holds of each source; an archive not made yet holds nothing."""
    archive = archive_if_made(db_url)
    if archive is None:
        return {}
    with archive.sessions() as session:
        return source_overview(session, names)


def _row(record: dict[str, Any]) -> list[Any]:
    points = ", ".join(f"{n} {kind}" for kind, n in record["entry_points"].items() if n)
    run = record["last_run"]
    last = "never" if run is None else f"#{run['id']} {run['status']} {(run['finished'] or '')[:16]}"
    return [
        record["name"],
        record["title"],
        points,
        f"{record['schedule']} ({record['timezone']})"
        + (f", every {record['min_interval']} to {record['max_interval']}" if record["min_interval"] else ""),
        last,
        record["stored"],
    ]


@sources.command("check")
@click.argument("name")
@sources_option
@click.option(
    "--against-history",
    is_flag=True,
    help="Also read up to 10 of the linked articles and judge their extraction health against the "
    "source's last ok runs in the archive (--db), as a crawl's run is judged.",
)
@db_option
@set_option("the check as for a crawl (it sends the crawl's USER_AGENT)", "-s USER_AGENT=mybot/1.0")
def check(
    name: str, sources: str | None, against_history: bool, db: str | None, overrides: tuple[str, ...]
) -> None:
    """Fetch NAME's entry points once; show what its patterns match and one extracted article.

    Nothing is stored. Exits 1 when no link matches article_pattern or the article yields no story text.
    With --against-history, the health of up to 10 linked articles and the verdict on it against the
    source's history; exit status 4 when it is degraded (as `crawl`: 1, a failed check, wins over it).

    Example: pairchive sources check huli-edu --sources sources.toml --against-history --db archive.db
    """
    # The dry run brings Scrapy and the pipelines' stages: imported by it, not by `sources list`.
    from crawler.runner.check import SAMPLE, check_source, crawl_user_agent

    cfg = app_config(db, sources)
    (source,) = select_sources(load_sources(cfg.sources_path), [name], cfg.sources_path)
    user_agent = crawl_user_agent(cfg.contact_url, scrapy_overrides(overrides))
    report = check_source(source, user_agent)
    for ep in report.entry_points:
        echo_text(f"{ep.kind} {ep.url}")
        if ep.error:
            echo_text(f"  error: {ep.error}")
            continue
        echo_text(
            f"  article links: {len(ep.article_links)}  listing links: {len(ep.listing_links)}  "
            f"other links: {ep.other_links}"
        )
        for label, links in (("article", ep.article_links), ("listing", ep.listing_links)):
            for link in links[:SAMPLE]:
                echo_text(f"    {label}: {link}")
    item = report.article
    if item is None:
        echo_text(f"article: {report.article_error}")
        if against_history:  # a portal redesigned is often this: the verdict says how far it drifted
            _against_history(source, report, user_agent, cfg.db_url)
        raise SystemExit(1)
    terms = terms_text(item.relevance_terms, 6)
    echo_text(f"article {item.url}")
    for label, value in (
        ("title", item.title),
        ("published", item.published.isoformat() if item.published else "-"),
        ("language", item.language),
        ("charset", item.charset),
        ("pairing", f"{item.is_pairing} (score {item.relevance:.2f}: {terms or 'no terms'})"),
        ("removed", f"{len(item.removed)} lines of trailers and credits"),
    ):
        echo_text(f"  {label:>9}: {value}")
    echo_text("  " + item.text[:400].replace("\n", "\n  ") + ("…" if len(item.text) > 400 else ""))
    if against_history and _against_history(source, report, user_agent, cfg.db_url):
        from crawler.cli.crawl import EXIT_DEGRADED

        raise SystemExit(EXIT_DEGRADED)


def _against_history(source: Source, report: Any, user_agent: str, db_url: str) -> bool:
    """The sampled articles' health and the verdict on it, in two lines; whether it is degraded."""
    from crawler.runner.check import sample_health
    from storage.health import describe, judge
    from storage.runs import judge_against_history

    health, unread = sample_health(source, report, user_agent)
    for line in unread:
        echo_text(f"not read: {line}")
    archive = archive_if_made(db_url)
    if archive is None:
        verdict = judge(health, [])
    else:
        with archive.sessions() as session:
            verdict = judge_against_history(session, source.name, health)
    echo_text(f"health: {describe(health)}")
    echo_text(f"verdict: {verdict.line}")
    return verdict.degraded
