"""`pairchive extract`: what the per-article stages make of one saved page, without a crawl or a database."""

from __future__ import annotations

import codecs
import json
import sys
from pathlib import Path

import click

from crawler.cli.options import echo_record, echo_text, json_option, terms_text
from crawler.vocabulary.charset import charset_codec


def _codec(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value is not None and charset_codec(value) is None:
        try:
            codecs.lookup(value)
        except (LookupError, ValueError):
            raise click.BadParameter(f"unknown charset {value!r}") from None
        raise click.BadParameter(f"{value!r} is not a charset (a codec for other data)")
    return value


@click.command()
@click.argument("path", type=click.Path(dir_okay=False, allow_dash=True, path_type=Path))
@click.option("--url", help="The page's address (dates and identity read it). Default: file:// of PATH.")
@click.option(
    "--charset",
    metavar="CODEC",
    callback=_codec,
    help="Decode with this charset instead of reading the bytes.",
)
@click.option(
    "--timezone", default="Asia/Shanghai", show_default=True, help="The portal's zone, for dates without one."
)
@json_option("One JSON object with stable keys (see docs).")
def extract(path: Path, url: str | None, charset: str | None, timezone: str, as_json: bool) -> None:
    """Run extract, clean, language, relevance and identity on one saved page (any charset; - for stdin)
    and print what a crawl would store. Nothing is written and nothing is dropped for relevance.

    Example: pairchive extract saved.html --url https://edu.example.cn/2022/0616/1.html --json
    """
    # The stages bring Scrapy, trafilatura and numpy: imported when a page is processed, not for --help.
    from crawler.vocabulary.reasons import Rejected
    from pipelines.page import extraction_record, page_item, process_page

    if str(path) == "-":
        body, url = sys.stdin.buffer.read(), url or "stdin:"
    else:
        try:
            body = path.read_bytes()
        except OSError as exc:
            raise click.ClickException(f"cannot read {path}: {exc.strerror}") from None
        url = url or path.resolve().as_uri()
    try:
        item = process_page(page_item(body, url, charset=charset, timezone=timezone))
    except Rejected as exc:
        raise click.ClickException(f"{exc.reason}: {exc.detail}") from None
    except (LookupError, ValueError) as exc:  # an unknown --timezone
        raise click.ClickException(f"cannot read {url}: {exc}") from None
    record = extraction_record(item)
    if as_json:
        click.echo(json.dumps(record, ensure_ascii=False, indent=2))
        return
    relevance = record["relevance"]
    terms = terms_text(relevance["terms"]) or "no terms"
    verdict = "pairing story" if relevance["is_pairing"] else "not a pairing story"
    fields = [
        ("published", record["published"]),
        ("author", record["author"]),
        ("outlet", record["source_name"]),
        ("language", record["language"]),
        ("charset", record["charset"]),
        ("relevance", f"{relevance['score']:.2f}, {verdict} ({terms})"),
        ("content hash", record["content_hash"]),
    ]
    echo_record(record["title"], fields, min_rule=10, untitled="(no title)")
    click.echo()
    echo_text(record["text"])
    if record["removed"]:
        click.echo(f"\n[{len(record['removed'])} lines removed by cleaning; --json lists them]", err=True)
