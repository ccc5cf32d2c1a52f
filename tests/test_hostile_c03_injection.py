"""Class 3, output injection, on both databases: the hostile pages of tests.hostile.c03_injection are
crawled into an archive, and what comes out of it is safe to open and to print. `export --format csv`
and `search --csv` defuse every cell a spreadsheet would run (a leading '), `--raw-csv` and JSON keep the
cells as stored; `show` and `search` print no control character, however the text came to be stored."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from crawler.cli import main
from storage.db import close_all, open_for_writing
from storage.models import Article
from tests.hostile import HostileWeb, c03_injection
from tests.hostile.archives import DATABASES, crawl_once, database, hostile_source

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
TEXT_COLUMNS = ("title", "text", "author", "source_name")
# A control character a terminal acts on: C0 but newline and tab, DEL, C1.
CONTROL_RE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
# What an older extractor, which kept control characters, would have stored from the escape pages.
PLANTED_TITLE = c03_injection.ESCAPE_TITLES["a/osc-title.html"]
PLANTED_TEXT = c03_injection.ESCAPE_TEXTS["a/ansi-text.html"]


@pytest.fixture(scope="module", params=DATABASES)
def archive(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, hostile: HostileWeb
) -> Iterator[dict[str, Any]]:
    """The class's pages crawled once into a database of each kind; then the escape pages' title and
    text as an extractor that kept control characters would have stored them."""
    folder = tmp_path_factory.mktemp("c03")
    with database(request.param, folder) as db:
        source = hostile_source("c03", [hostile.url(3, "list.html")], "/c03/a/")
        run = crawl_once(db, folder / "data", source)
        sessions = open_for_writing(db).sessions
        with sessions.begin() as s:
            stored = {a.fetched_url.split("/c03/", 1)[1]: a for a in s.scalars(sa.select(Article))}
            stored["a/osc-title.html"].title = PLANTED_TITLE
            stored["a/ansi-text.html"].text = PLANTED_TEXT + "\n" + stored["a/ansi-text.html"].text
            rows = {
                path: {"id": a.id, **{c: getattr(a, c) for c in TEXT_COLUMNS}} for path, a in stored.items()
            }
        close_all()
        yield {"db": db, "run": run, "rows": rows}


def cli(*args: str) -> str:
    result = CliRunner().invoke(main, list(args))
    close_all()
    assert result.exit_code == 0, result.output
    return result.stdout


def csv_rows(text: str, key: str = "id") -> dict[str, dict[str, str]]:
    return {row[key]: row for row in csv.DictReader(io.StringIO(text))}


def defused(value: str) -> str:
    return "'" + value if value.startswith(FORMULA_START) else value


def test_every_hostile_page_is_stored(archive: dict[str, Any]) -> None:
    assert archive["run"].status == "ok", archive["run"].error
    assert set(archive["rows"]) == set(c03_injection.ARTICLES)


def test_escapes_written_as_character_references_neither_fail_the_page_nor_reach_the_archive(
    archive: dict[str, Any],
) -> None:
    row = archive["rows"][c03_injection.ENTITY_PATH]
    assert "结对" in row["title"] and "两地学校结对" in row["text"]
    assert not CONTROL_RE.search(row["title"] + row["text"])
    assert archive["run"].counts.get("failed", 0) == 0


def test_exported_csv_defuses_every_cell_a_spreadsheet_would_run(archive: dict[str, Any]) -> None:
    exported = csv_rows(cli("export", "--format", "csv", "--db", archive["db"]))
    for row in archive["rows"].values():
        cells = exported[str(row["id"])]
        for column in TEXT_COLUMNS:
            assert cells[column] == defused(row[column] or ""), (column, row[column])
    rows = archive["rows"]
    by_id = {path: exported[str(row["id"])] for path, row in rows.items()}
    assert by_id["a/hyperlink.html"]["title"] == "'" + c03_injection.FORMULA_TITLES["a/hyperlink.html"]
    assert by_id["a/at-sum.html"]["title"].startswith("'@SUM(")
    assert by_id["a/minus.html"]["title"].startswith("'-2+3")
    assert by_id["a/plus-text.html"]["text"].startswith("'+cmd|")
    assert by_id["a/at-author.html"]["author"] == "'@admin"
    assert by_id["a/at-author.html"]["source_name"] == "'=cmd|' /C calc'!A0"
    # a tab or carriage return before a formula: neither is left leading the cell
    for path in c03_injection.BLANK_LED:
        assert by_id[path]["text"].startswith(("'",)) or not by_id[path]["text"].startswith(FORMULA_START)
    assert not any(c[col].startswith(FORMULA_START) for c in exported.values() for col in TEXT_COLUMNS)


def test_raw_csv_export_keeps_every_cell_as_stored(archive: dict[str, Any]) -> None:
    exported = csv_rows(cli("export", "--format", "csv", "--raw-csv", "--db", archive["db"]))
    for row in archive["rows"].values():
        for column in TEXT_COLUMNS:
            assert exported[str(row["id"])][column] == (row[column] or "")


def test_jsonl_export_keeps_every_value_as_stored(archive: dict[str, Any]) -> None:
    records = {r["id"]: r for r in map(json.loads, cli("export", "--db", archive["db"]).splitlines())}
    for row in archive["rows"].values():
        assert records[row["id"]]["title"] == row["title"]
        assert records[row["id"]]["text"] == row["text"]


def test_search_csv_defuses_titles_and_snippets_and_raw_csv_keeps_them(archive: dict[str, Any]) -> None:
    args = ("search", "结对", "--all", "--limit", "100", "--db", archive["db"])
    safe = csv_rows(cli(*args, "--csv"))
    raw = csv_rows(cli(*args, "--csv", "--raw-csv"))
    assert set(safe) == set(raw) == {str(r["id"]) for r in archive["rows"].values()}
    for row in archive["rows"].values():
        assert safe[str(row["id"])]["title"] == defused(row["title"])
        assert raw[str(row["id"])]["title"] == row["title"]
    assert not any(r[col].startswith(FORMULA_START) for r in safe.values() for col in ("title", "snippet"))


def test_show_prints_stored_control_characters_as_visible_escapes(archive: dict[str, Any]) -> None:
    for path in ("a/osc-title.html", "a/ansi-text.html"):
        out = cli("show", str(archive["rows"][path]["id"]), "--db", archive["db"])
        assert not CONTROL_RE.search(out), path
    title = cli("show", str(archive["rows"]["a/osc-title.html"]["id"]), "--db", archive["db"])
    assert "学校结对\\x1b]0;owned\\x07帮扶\\x1b[31m红色" in title
    text = cli("show", str(archive["rows"]["a/ansi-text.html"]["id"]), "--db", archive["db"])
    assert "\\x1b[2J\\x1b[H" in text and "\\x1b]8;;http://evil.example/\\x1b\\" in text and "\\x9b6n" in text


def test_show_json_keeps_the_stored_control_characters(archive: dict[str, Any]) -> None:
    title = json.loads(
        cli("show", str(archive["rows"]["a/osc-title.html"]["id"]), "--json", "--db", archive["db"])
    )
    assert title["title"] == PLANTED_TITLE
    text = json.loads(
        cli("show", str(archive["rows"]["a/ansi-text.html"]["id"]), "--json", "--db", archive["db"])
    )
    assert text["text"].startswith(PLANTED_TEXT)


def test_search_prints_no_control_character_and_its_json_keeps_them(archive: dict[str, Any]) -> None:
    args = ("search", "结对", "--all", "--limit", "100", "--db", archive["db"])
    out = cli(*args)
    assert not CONTROL_RE.search(out)
    assert "\\x1b]0;owned\\x07" in out
    hits = [json.loads(line) for line in cli(*args, "--json").splitlines()]
    assert PLANTED_TITLE in {h["title"] for h in hits}


def test_stories_prints_no_control_character(archive: dict[str, Any]) -> None:
    out = cli("stories", "--db", archive["db"])
    assert not CONTROL_RE.search(out)
