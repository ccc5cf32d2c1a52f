"""The `db` commands: bring a database's schema up to date, and say where it stands."""

from __future__ import annotations

import click

from crawler.cli.options import app_config, db_option
from storage.db import current_revision, head_revision, make_engine, upgrade


@click.group("db")
def db_group() -> None:
    """The archive database's schema (Alembic migrations). Writers (crawl, daemon, reprocess --apply, demo)
    also apply them; readers (search, show, export, runs, status...) never write, and ask for an upgrade.

    Example: pairchive db upgrade --db archive.db
    """


@db_group.command("upgrade")
@db_option
def db_upgrade(db: str | None) -> None:
    """Apply every migration the database lacks, then print its revision.

    Example: pairchive db upgrade --db postgresql+psycopg://archive@db.example/pairchive
    """
    url = app_config(db).db_url
    engine = make_engine(url)
    try:
        before = current_revision(engine)
        upgrade(engine)
        after = current_revision(engine)
    finally:
        engine.dispose()
    if before == after:
        click.echo(f"already at revision {after} (the newest)")
    else:
        click.echo(f"upgraded from revision {before or 'none (empty database)'} to {after}")


@db_group.command("status")
@db_option
def db_status(db: str | None) -> None:
    """Print the database's schema revision and the newest this version of pairchive knows.

    Example: pairchive db status
    """
    engine = make_engine(app_config(db).db_url, read_only=True)  # a reader: it only looks
    try:
        current = current_revision(engine)
    finally:
        engine.dispose()
    head = head_revision()
    state = "up to date" if current == head else "needs `pairchive db upgrade`"
    click.echo(f"revision {current or 'none'}, newest {head}: {state}")
