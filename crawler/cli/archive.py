"""The archivist's commands: `search`, `show`, `stories` and `export`."""

from __future__ import annotations

import dataclasses
import io
import json
import sys
import zlib
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

import click

from crawler.cli.options import (
    app_config,
    data_dir_option,
    db_option,
    echo_record,
    echo_text,
    json_option,
    raw_csv_option,
    table,
    terms_text,
    write_csv,
)
from crawler.cli.pairings import helper_first, side_text
from crawler.cli.types import DAY, RECORD_ID
from storage.db import open_for_reading
from storage.exports import CSV_COLUMNS, csv_row, versions_text
from storage.fulltext import QueryError
from storage.models import Capture
from storage.pairings import facts_of
from storage.queries import (
    article_record,
    fetch_times,
    get_article,
    iter_records,
    sightings_of,
    stories,
    story_merges,
)
from storage.search import Hit
from storage.search import search as search_articles
from storage.warc import WarcError, read_exchange, read_member


@click.command()
@click.argument("query")
@click.option("--source", metavar="NAME", help="Only stories from this source.")
@click.option(
    "--lang", metavar="CODE", help="Only stories in this language (zh matches zh-Hans and zh-Hant)."
)
@click.option("--since", type=DAY, help="Published on or after this day.")
@click.option("--until", type=DAY, help="Published on or before this day.")
@click.option(
    "--pairing-only/--all",
    default=True,
    show_default=True,
    help="Only stories judged school pairings (a re-fetched story may no longer be), or every stored one.",
)
@click.option(
    "--sort",
    type=click.Choice(["relevance", "date"]),
    default="relevance",
    show_default=True,
    help="Hit order.",
)
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1, 10_000), help="Most hits.")
@json_option("One JSON object per hit, one per line.")
@click.option(
    "--csv", "as_csv", is_flag=True, help="CSV with a header row (formula cells defused: --raw-csv)."
)
@raw_csv_option
@db_option
def search(
    query: str,
    source: str | None,
    lang: str | None,
    since: datetime | None,
    until: datetime | None,
    pairing_only: bool,
    sort: str,
    limit: int,
    as_json: bool,
    as_csv: bool,
    raw_csv: bool,
    db: str | None,
) -> None:
    """Find stored stories. Words and "quoted phrases", AND (the default), OR, NOT or -word, parentheses.
    Chinese works without spaces (结对 finds 结对帮扶) and in either script (結對 finds 结对).

    Titles and snippets are printed with control characters as visible escapes (\\x1b); --json keeps
    them as stored. In --csv, a cell starting with = + - @, a tab or a carriage return gets a leading '
    (a spreadsheet would run it as a formula); --raw-csv writes cells as stored.

    A query starting with - (an exclusion) goes after --, which ends the options:
    pairchive search -- '-医院 结对'

    Example: pairchive search '结对 OR 手拉手' --lang zh --since 2022-01-01 --sort date
    """
    if as_json and as_csv:
        raise click.UsageError("--json and --csv cannot be used together")
    sessions = open_for_reading(app_config(db).db_url).sessions
    try:
        with sessions() as session:
            hits = search_articles(
                session,
                query,
                source=source,
                language=lang,
                since=since.date() if since else None,
                until=until.date() if until else None,
                pairing_only=pairing_only,
                sort=sort,
                limit=limit,
            )
    except QueryError as exc:
        raise click.ClickException(f"cannot search {query!r}: {exc}") from None
    if as_json:
        for hit in hits:
            click.echo(json.dumps(dataclasses.asdict(hit), ensure_ascii=False))
        return
    if as_csv:
        out = io.StringIO()
        header = [f.name for f in dataclasses.fields(Hit)]
        write_csv(out, header, (dataclasses.astuple(hit) for hit in hits), raw=raw_csv)
        # Not click.echo: off a terminal it strips colour codes, and a cell is written as stored.
        sys.stdout.write(out.getvalue())
        return
    if not hits:
        echo_text(f"no stored story matches {query!r}", err=True)
        return
    for hit in hits:
        date = (hit.published or "")[:10]
        echo_text(
            f"[{hit.id}] {hit.title}\n     {hit.source} · {date} · {hit.language} · {hit.url}\n"
            f"     {hit.snippet}"
        )


@click.command()
@click.argument("article_id", type=RECORD_ID)
@json_option("The stored record as JSON.")
@click.option(
    "--raw",
    is_flag=True,
    help="Print the page's bytes exactly as fetched (from its WARC record; a gzip transfer undone).",
)
@click.option(
    "--record",
    "whole_record",
    is_flag=True,
    help="Print the whole WARC response record: WARC and HTTP headers, then the body.",
)
@db_option
@data_dir_option
def show(
    article_id: int, as_json: bool, raw: bool, whole_record: bool, db: str | None, data_dir: str | None
) -> None:
    """Print one stored story with where and when it was fetched.

    Control characters in the stored text are printed as visible escapes (\\x1b); --json and --raw
    give the text and the page as stored.

    Example: pairchive show 3    (pairchive show 3 --raw > page.html: the page as fetched)
    """
    cfg = app_config(db, data_dir=data_dir)
    sessions = open_for_reading(cfg.db_url).sessions
    with sessions() as session:
        article = get_article(session, article_id)
        if article is None:
            raise click.ClickException(f"no stored story with id {article_id}")
        if raw or whole_record:
            _print_capture(cfg.warc_dir, article.id, article.capture, whole=whole_record)
            return
        record = article_record(
            article,
            sightings_of(session, [article.story_id])[article.story_id],
            fetch_times(session, [article.id]).get(article.id),
            facts_of(session, [article.id])[article.id],
        )
        merges = [
            f"story {m.story_id} merged in {m.merged_at:%Y-%m-%d} (article {m.article_id}, similarity {m.similarity:.2f})"
            for m in story_merges(session, article.story_id)
        ]
    if as_json:
        click.echo(json.dumps(record, ensure_ascii=False, indent=2))
        return
    terms = terms_text(record["relevance_terms"])
    fields = [
        ("url", record["url"]),
        ("fetched url", record["fetched_url"] if record["fetched_url"] != record["url"] else None),
        ("source", record["source"]),
        ("published", record["published"]),
        ("author", record["author"]),
        ("outlet", record["source_name"]),
        ("language", record["language"]),
        ("fetched at", record["fetched_at"]),
        ("http status", record["http_status"]),
        ("charset", record["charset"]),
        ("relevance", f"{record['relevance']:.2f} ({terms})"),
        ("judged by", versions_text(record["stage_versions"])),
        (
            "flagged",
            f"{record['flag']['reason']} by run {record['flag']['run_id']}: {record['flag']['detail']}"
            if record["flag"]
            else None,
        ),
        ("first seen", record["first_seen"]),
        ("run", record["run_id"]),
        ("content hash", record["content_hash"]),
        ("story", record["story_id"]),
        (
            "raw capture",
            f"{record['capture']['warc_file']} at {record['capture']['offset']} "
            f"({record['capture']['length']} bytes, {record['capture']['payload_digest']})"
            if record["capture"]
            else "none (fetched before raw captures were kept)",
        ),
    ]
    echo_record(record["title"], fields)
    for merge in merges:
        click.echo(f"{'':>12}  {merge}")
    click.echo(f"\nSeen at {len(record['sightings'])} URL(s):")
    for seen in record["sightings"]:
        kind = f"{'copy of ' if seen['copy'] else ''}article {seen['article_id']}"
        echo_text(
            f"  {seen['source']:<18} {seen['first_seen'][:10]} .. {seen['last_seen'][:10]}  {kind:<18} {seen['url']}"
        )
    if record["facts"]:
        click.echo(f"\nPairing facts ({len(record['facts'])}):")
        for fact in record["facts"]:
            a, link, b = helper_first(fact["a"], fact["b"])
            year = f", {fact['year']}" if fact["year"] else ""
            where = "headline" if fact["start"] < 0 else f"text {fact['start']}..{fact['end']}"
            echo_text(
                f"  [{fact['relation']}] {fact['kind']}{year}: {side_text(a)} {link} {side_text(b)}  ({where})"
            )
    click.echo()
    echo_text(record["text"])


def _print_capture(root: Path, article_id: int, capture: Capture | None, whole: bool) -> None:
    if capture is None:
        raise click.ClickException(
            f"article {article_id} has no raw capture (it was fetched before raw captures were kept)"
        )
    try:
        if whole:
            data = zlib.decompress(
                read_member(root, capture.warc_file, capture.offset, capture.length), wbits=31
            )
        else:
            data = read_exchange(root, capture.warc_file, capture.offset, capture.length).content
    except WarcError as exc:
        raise click.ClickException(f"article {article_id}: {exc}") from exc
    sys.stdout.flush()
    sys.stdout.buffer.write(data)
    sys.stdout.buffer.flush()


@click.command("stories")
@click.option("--multi", is_flag=True, help="Only stories seen on more than one portal.")
@click.option("--source", metavar="NAME", help="Only stories seen on this source.")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 100_000), help="Most stories.")
@json_option("One JSON object per story, one per line.")
@db_option
def stories_command(multi: bool, source: str | None, limit: int, as_json: bool, db: str | None) -> None:
    """List stories (an event with all its copies), newest first, with where each was seen.

    Example: pairchive stories --multi
    """
    sessions = open_for_reading(app_config(db).db_url).sessions
    with sessions() as session:
        found = stories(session, multi=multi, source=source, limit=limit)
    if as_json:
        for story in found:
            click.echo(json.dumps(dataclasses.asdict(story), ensure_ascii=False))
        return
    if not found:
        click.echo("no stories" + (" seen on more than one portal" if multi else ""), err=True)
        return
    rows = [
        (
            s.id,
            s.first_seen[:10],
            s.articles,
            s.sightings,
            ", ".join(s.portals),
            f"[{s.canonical_article_id}] {s.title}",
        )
        for s in found
    ]
    click.echo(table(["story", "first seen", "articles", "sightings", "portals", "canonical article"], rows))


@click.command()
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["jsonl", "csv"]),
    default="jsonl",
    show_default=True,
    help="jsonl: one JSON object per story with every field; csv: one row per story, a header first.",
)
@click.option("--source", metavar="NAME", help="Only stories from this source.")
@click.option(
    "--since",
    type=DAY,
    help="Only stories archived (first seen) on or after this day (YYYY-MM-DD, UTC).",
)
@click.option(
    "--output",
    "-o",
    type=click.File("w", encoding="utf-8"),
    default="-",
    help="File (default stdout).",
)
@raw_csv_option
@db_option
def export(
    fmt: str, source: str | None, since: datetime | None, output: IO[str], raw_csv: bool, db: str | None
) -> None:
    """Write every stored story with its provenance, streaming (constant memory): URL, source, fetched at,
    HTTP status, charset, content hash, story and sightings.

    In CSV, a cell starting with = + - @, a tab or a carriage return gets a leading ' so that a
    spreadsheet shows it instead of running it as a formula (OWASP's CSV injection rule); --raw-csv writes
    every cell as stored. JSONL is always as stored.

    Example: pairchive export --format csv --since 2022-06-01 -o stories.csv
    """
    sessions = open_for_reading(app_config(db).db_url).sessions
    after = since.replace(tzinfo=UTC) if since else None
    with sessions() as session:
        records = iter_records(session, source=source, since=after)
        if fmt == "csv":
            write_csv(output, CSV_COLUMNS, (csv_row(record) for record in records), raw=raw_csv)
            return
        for record in records:
            output.write(json.dumps(record, ensure_ascii=False) + "\n")
