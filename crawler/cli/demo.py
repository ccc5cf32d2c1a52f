"""`pairchive demo`: the whole pipeline on the bundled sample portals, on loopback, into a fresh SQLite file."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import click

from crawler.cli.crawl import summary_table
from crawler.cli.options import table
from crawler.cli.pairings import helper_first, side_text
from crawler.runner.crawl import crawl
from crawler.sampleweb import SampleWeb
from crawler.vocabulary.config import AppConfig
from crawler.vocabulary.sources import parse_sources
from storage.db import open_for_writing
from storage.outcomes import COMPLETED
from storage.pairings import relations
from storage.queries import articles_of_runs, local_published, rejection_counts, rejections

# The sample web is on loopback: no need to wait between requests as on a real portal.
LOOPBACK_SETTINGS = {
    "AUTOTHROTTLE_ENABLED": False,
    "DOWNLOAD_DELAY": 0,
    "LOG_LEVEL": "WARNING",
}


@click.command()
@click.option(
    "--dir",
    "workdir",
    default="demo-output",
    show_default=True,
    type=click.Path(file_okay=False),
    help="Where to write the demo's sources file and database (replaced on each run).",
)
def demo(workdir: str) -> None:
    """Serve the sample portals on 127.0.0.1, crawl them into a fresh SQLite file, show what was stored.

    Example: pairchive demo --dir /tmp/pairchive-demo
    """
    out = Path(workdir)
    out.mkdir(parents=True, exist_ok=True)
    db_path = out / "demo.db"
    for leftover in (db_path, out / "demo.db-wal", out / "demo.db-shm"):
        leftover.unlink(missing_ok=True)
    with SampleWeb() as web:
        sources_path = out / "sources.toml"
        sources_path.write_text(web.sources_toml(), encoding="utf-8")
        sources = parse_sources(sources_path.read_text(encoding="utf-8"), str(sources_path))
        click.echo(f"Serving {len(sources)} sample portals on 127.0.0.1:", err=True)
        for name, url in web.base_urls.items():
            click.echo(f"  {name:<20} {url}/", err=True)
        click.echo(
            "On purpose, they also link a missing page (404), a broken page and a page robots.txt disallows.",
            err=True,
        )
        cfg = AppConfig(db_url=f"sqlite:///{db_path}", sources_path=str(sources_path))
        runs = crawl(cfg, sources, trigger="demo", settings=LOOPBACK_SETTINGS, log_sink=sys.stderr)

    click.echo("\nCrawl runs\n")
    click.echo(summary_table(runs))
    sessions = open_for_writing(cfg.db_url).sessions  # the demo wrote this database
    run_ids = [r.run_id for r in runs]
    with sessions() as session:
        stored = articles_of_runs(session, run_ids)
        dropped = rejections(session, run_ids)
        click.echo(f"\nStored pairing stories ({len(stored)})\n")
        click.echo(
            table(
                ["id", "source", "published", "lang", "relevance", "title"],
                [
                    [
                        a.id,
                        a.source.name,
                        str(local_published(a) or "-")[:10],
                        a.language,
                        f"{a.relevance:.2f}",
                        a.title,
                    ]
                    for a in stored
                ],
                max_width=56,
            )
        )
        by_reason = rejection_counts(session, run_ids)
        summary = ", ".join(f"{reason} {n}" for reason, n in sorted(by_reason.items(), key=lambda kv: -kv[1]))
        click.echo(f"\nPages not stored ({len(dropped)}): {summary}\n")
        click.echo(
            table(
                ["reason", "title", "detail"],
                [[d.reason, d.title or d.url, d.detail] for d in dropped],
                max_width=48,
            )
        )
        found = relations(session)
        click.echo(f"\nWho pairs with whom ({len(found)} relations read from the stories)\n")
        click.echo(
            table(
                ["kind", "side a", "", "side b", "stories"],
                [
                    [r.kind, side_text(a), link, side_text(b), len(r.articles)]
                    for r in found
                    for a, link, b in [helper_first(r.a, r.b)]
                ],
                max_width=44,
            )
        )
    cmd = _command_name()
    click.echo(
        f"\nDatabase: {db_path}\nTry:\n"
        f"  {cmd} search 結對 --db {db_path}          (either script finds both)\n"
        f"  {cmd} search '\"sister school\" OR pairing' --db {db_path}\n"
        f"  {cmd} stories --multi --db {db_path}     (a story seen on two portals)\n"
        f"  {cmd} show {stored[0].id if stored else 1} --db {db_path}\n"
        f"  {cmd} show {stored[0].id if stored else 1} --raw --db {db_path}   (the page as fetched, from its WARC record)\n"
        f"  {cmd} warc verify --db {db_path}\n"
        f"  {cmd} runs --db {db_path}                (what each crawl run did)\n"
        f"  {cmd} pairings --place 湖里区 --db {db_path}   (who pairs with whom, either direction)\n"
        f"  {cmd} export --format jsonl --db {db_path}\n"
        f"  {cmd} serve --db {db_path}               (the reading room: http://127.0.0.1:8080/)"
    )
    if any(r.status not in COMPLETED for r in runs):
        sys.exit(1)


def _command_name() -> str:
    """`pairchive` when it is on the PATH, else the path of the one beside this interpreter."""
    if shutil.which("pairchive"):
        return "pairchive"
    beside = Path(sys.executable).parent / "pairchive"
    return os.path.relpath(beside) if beside.exists() else "pairchive"
