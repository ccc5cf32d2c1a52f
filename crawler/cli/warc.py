"""`pairchive warc`: the raw captures (WARC files) behind the stored stories."""

from __future__ import annotations

import sys

import click

from crawler.cli.options import app_config, data_dir_option, db_option
from crawler.cli.types import RECORD_ID
from storage.db import open_for_reading
from storage.queries import iter_captures, uncaptured_count
from storage.warc import verify_capture


@click.group("warc")
def warc_group() -> None:
    """The raw captures: every fetched article page's request and response, in WARC files.

    Example: pairchive warc verify --db archive.db
    """


@warc_group.command("verify")
@db_option
@data_dir_option
@click.option("--run", "run_id", type=RECORD_ID, metavar="ID", help="Only the captures of this crawl run.")
def verify(db: str | None, data_dir: str | None, run_id: int | None) -> None:
    """Check every stored capture: its WARC file is there, its offset and length delimit its record, the
    record is its URL's response with the recorded id, and the bytes still have the recorded digest.

    Prints one line per problem and exits 1 if there is any.

    Example: pairchive warc verify --db archive.db
    """
    cfg = app_config(db, data_dir=data_dir)
    root = cfg.warc_dir
    sessions = open_for_reading(cfg.db_url).sessions
    checked = bad = 0
    files: set[str] = set()
    with sessions() as session:
        for capture in iter_captures(session, run_id):
            checked += 1
            files.add(capture.warc_file)
            for problem in verify_capture(root, capture):
                bad += 1
                click.echo(f"capture {capture.id} ({capture.url}): {problem}")
        uncaptured = uncaptured_count(session)
    summary = f"checked {checked} capture(s) in {len(files)} WARC file(s) under {root}: "
    summary += f"{bad} problem(s)" if bad else "every pointer and digest matches"
    click.echo(summary)
    if uncaptured:
        click.echo(f"{uncaptured} stored article(s) have no capture (fetched before raw captures were kept)")
    if bad:
        sys.exit(1)
