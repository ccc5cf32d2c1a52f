"""The `pairchive` command: one click group; each command is a thin shell over crawler/ and storage/."""

from __future__ import annotations

import click

from crawler import __version__
from crawler.cli.archive import export, search, show, stories_command
from crawler.cli.crawl import crawl
from crawler.cli.db import db_group
from crawler.cli.demo import demo
from crawler.cli.extract import extract
from crawler.cli.options import PairchiveGroup
from crawler.cli.reprocess import reprocess_command
from crawler.cli.runs import daemon, runs_group, status
from crawler.cli.sources import sources
from crawler.cli.warc import warc_group


@click.group(
    cls=PairchiveGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100}
)
@click.version_option(__version__, prog_name="pairchive")
def main() -> None:
    """pairchive: scheduled scraping and archiving of news about school pairing.

    \b
    Everyday commands:
      pairchive sources list                the configured portals and their last runs
      pairchive sources check huli-edu      a dry run of one portal's patterns
      pairchive crawl --source huli-edu     crawl one portal now (--all: every portal in turn)
      pairchive status                      each portal: next run, last run, failures in a row
      pairchive runs --failed               what the crawl runs did, newest first
      pairchive daemon                      run every portal on its schedule
      pairchive search 结对                  find stored stories
      pairchive show 12                     read one story with its provenance and sightings
      pairchive stories --multi             stories seen on more than one portal
      pairchive export --format jsonl       every stored story, one JSON object per line
      pairchive show 12 --raw               the page's bytes as fetched (from its WARC record)
      pairchive warc verify                 check every raw capture's pointer and digest
      pairchive reprocess --apply           today's extraction and gate over every raw capture
      pairchive extract page.html           what a crawl would store from one saved page
      pairchive demo                        the whole pipeline on the bundled sample portals
    """


main.add_command(crawl)
main.add_command(search)
main.add_command(show)
main.add_command(stories_command)
main.add_command(export)
main.add_command(demo)
main.add_command(extract)
main.add_command(sources)
main.add_command(db_group)
main.add_command(warc_group)
main.add_command(reprocess_command)
main.add_command(runs_group)
main.add_command(status)
main.add_command(daemon)
