"""What reaches people is safe to show: no database password in any message, log or run record; no
spreadsheet formula in a CSV cell; no terminal control sequence from stored text; no name that leads a file
out of its directory."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from collections import deque
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from crawler.cli import main
from crawler.runner.crawl import pump_log
from crawler.vocabulary.errors import SourceConfigError, first_line
from crawler.vocabulary.sources import parse_sources
from storage.archive import finish_run, insert_article, start_run, upsert_sources
from storage.db import close_all, open_for_writing
from storage.models import CrawlRun
from storage.normalize import search_form
from storage.redact import display_url, scrub
from storage.warc import WarcError, WarcFile, read_member, warc_path
from tests.cli import run_cli

SECRET = "s3cret"
CLOSED_PG = f"postgresql+psycopg://postgres:{SECRET}@127.0.0.1:1/test"

# A title that would set the terminal's window title, and a text that would colour, clear the screen and
# hide a link (OSC 8), as a hostile page could have them stored.
TITLE = "结对帮扶\x1b]0;owned\x07学校"
TEXT = "两地学校结对帮扶。\x1b[31m红\x1b[0m\x1b[2J\x1b]8;;http://evil.example/\x1b\\链接\x1b]8;;\x1b\\\x9b6n"
FORMULA_TITLE = '=HYPERLINK("http://evil.example/","结对")'


NO_DB_ENV = {"PAIRCHIVE_DB": ""}  # the database is the one --db names, whatever the environment says


def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "crawler", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "PAIRCHIVE_DB": "", **(env or {})},
        timeout=120,
    )


# --- secrets ---------------------------------------------------------------------------------------------


def test_display_url_hides_the_password_of_a_url_that_parses_and_of_one_that_does_not() -> None:
    assert display_url(CLOSED_PG) == "postgresql+psycopg://postgres:***@127.0.0.1:1/test"
    assert SECRET not in display_url(f"postgresql+psycopg://postgres:{SECRET}@[::1/test")
    assert SECRET not in display_url(f"postgresql+psycopg://postgres:{SECRET}@host:notaport/test")
    assert display_url("sqlite:///archive.db") == "sqlite:///archive.db"


@pytest.mark.parametrize(
    "text",
    [
        f"cannot connect to {CLOSED_PG}: refused",
        f"connection to 'postgresql://u:{SECRET}@db.example:5432/x' failed",
        f"dsn: host=db.example user=postgres password={SECRET} dbname=test",
        f"dsn: host=db.example password='{SECRET} x' dbname=test",
        f"redis://:{SECRET}@127.0.0.1:6379/0 is gone",
    ],
)
def test_scrub_hides_every_password_a_driver_may_echo(text: str) -> None:
    assert SECRET not in scrub(text)
    assert "***" in scrub(text)


def test_first_line_of_an_error_carrying_a_url_hides_its_password() -> None:
    assert SECRET not in first_line(RuntimeError(f"no answer from {CLOSED_PG}"))


@pytest.mark.parametrize(
    "args",
    [
        ["db", "status"],
        ["db", "upgrade"],
        ["search", "结对"],
        ["show", "1"],
        ["stories"],
        ["export", "--format", "csv"],
        ["runs"],
    ],
)
def test_a_closed_postgresql_port_gives_an_error_line_without_the_password(args: list[str]) -> None:
    result = run_cli(*args, "--db", CLOSED_PG, env=NO_DB_ENV)
    assert result.returncode != 0
    assert "Error:" in result.stderr
    assert SECRET not in result.stderr + result.stdout


@pytest.mark.parametrize(
    "url, status",
    [
        (f"postgresql+nosuchdriver://postgres:{SECRET}@127.0.0.1:1/test", 1),
        # a URL that does not parse is a configuration error (exit 2)
        (f"postgresql+psycopg://postgres:{SECRET}@[::1/test", 2),
        (f"postgresql+psycopg://postgres:{SECRET}@127.0.0.1:notaport/test", 2),
    ],
)
def test_a_bad_database_url_is_refused_in_one_line_without_the_password(url: str, status: int) -> None:
    result = run_cli("db", "status", "--db", url, env=NO_DB_ENV)
    assert result.returncode == status
    assert result.stderr.startswith("Error: ") and len(result.stderr.strip().splitlines()) == 1
    assert SECRET not in result.stderr
    assert "Traceback" not in result.stderr


def test_the_daemon_logs_an_unreachable_database_without_the_password(tmp_path: Path) -> None:
    sources = tmp_path / "sources.toml"
    sources.write_text(
        '[[source]]\nname = "p"\nstart_urls = ["http://127.0.0.1:9/x/"]\narticle_pattern = "/x/"\n',
        encoding="utf-8",
    )
    result = _cli("daemon", "--sources", str(sources), "--db", CLOSED_PG)
    assert result.returncode == 1  # unreachable: worth a restart
    assert "cannot reach the database" in result.stderr
    assert "postgres:***@127.0.0.1:1/test" in result.stderr
    assert SECRET not in result.stderr


def test_a_crawl_log_line_carrying_a_url_reaches_neither_the_log_nor_the_run_record_with_its_password() -> (
    None
):
    sink, tail = io.StringIO(), deque[str](maxlen=5)
    pump_log(io.StringIO(f"ERROR: cannot open {CLOSED_PG}\n"), sink, tail)
    assert SECRET not in sink.getvalue() and SECRET not in tail[-1]
    assert "postgres:***@" in tail[-1]


def test_a_run_record_never_stores_a_password(tmp_path: Path) -> None:
    sessions = open_for_writing(f"sqlite:///{tmp_path / 'r.db'}").sessions
    try:
        with sessions.begin() as s:
            source_id = upsert_sources(s, [{"name": "p", "title": "P", "timezone": "UTC"}])["p"]
            run_id = start_run(s, source_id, "cli")
            finish_run(s, run_id, status="failed", error=f"crawl process exited: {CLOSED_PG}: refused")
        with sessions() as s:
            run = s.get(CrawlRun, run_id)
            assert run is not None and run.error is not None
            assert SECRET not in run.error and "postgres:***@127.0.0.1:1/test" in run.error
    finally:
        close_all()


# --- stored text: CSV cells and the terminal ---------------------------------------------------------------


@pytest.fixture
def archive(tmp_path: Path) -> Any:
    sessions = open_for_writing(f"sqlite:///{tmp_path / 'a.db'}").sessions
    with sessions.begin() as s:
        source_id = upsert_sources(s, [{"name": "p", "title": "Portal", "timezone": "Asia/Shanghai"}])["p"]
        run_id = start_run(s, source_id, "cli")
        for n, (title, text) in enumerate([(TITLE, TEXT), (FORMULA_TITLE, "-1+2 学校结对帮扶")], 1):
            insert_article(
                s,
                {
                    "source_id": source_id,
                    "run_id": run_id,
                    "url": f"http://portal.example/{n}.html",
                    "fetched_url": f"http://portal.example/{n}.html",
                    "title": title,
                    "published": None,
                    "author": "@admin" if n == 2 else None,
                    "source_name": None,
                    "language": "zh-Hans",
                    "text": text,
                    "search_text": search_form(text),
                    "relevance": 1.0,
                    "is_pairing": True,
                    "relevance_terms": [],
                    "content_hash": f"{n:064d}",
                    "charset": "utf-8",
                    "http_status": 200,
                    "first_seen": datetime(2022, 10, 1, tzinfo=UTC),
                },
            )
    close_all()
    yield str(tmp_path / "a.db")
    close_all()


def _run(*args: str) -> Any:
    result = CliRunner().invoke(main, list(args))
    assert result.exit_code == 0, result.output
    return result


def _csv_rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_exported_csv_cells_that_a_spreadsheet_would_run_get_a_leading_quote(archive: str) -> None:
    rows = {r["id"]: r for r in _csv_rows(_run("export", "--format", "csv", "--db", archive).stdout)}
    assert rows["2"]["title"] == "'" + FORMULA_TITLE
    assert rows["2"]["author"] == "'@admin"
    assert rows["2"]["text"] == "'-1+2 学校结对帮扶"
    assert rows["1"]["title"] == TITLE  # no formula: as stored
    assert rows["2"]["relevance"] == "1.0"  # numbers are not text cells


def test_raw_csv_export_writes_cells_as_stored(archive: str) -> None:
    rows = {
        r["id"]: r for r in _csv_rows(_run("export", "--format", "csv", "--raw-csv", "--db", archive).stdout)
    }
    assert rows["2"]["title"] == FORMULA_TITLE and rows["2"]["author"] == "@admin"


def test_search_csv_defuses_formulas_and_raw_csv_keeps_them(archive: str) -> None:
    safe = _csv_rows(_run("search", "结对", "--csv", "--db", archive).stdout)
    raw = _csv_rows(_run("search", "结对", "--csv", "--raw-csv", "--db", archive).stdout)
    assert "'" + FORMULA_TITLE in {r["title"] for r in safe}
    assert FORMULA_TITLE in {r["title"] for r in raw}
    assert not any(r["title"].startswith(("=", "+", "-", "@")) for r in safe)


@pytest.mark.parametrize("value", ["+1", "-1", "@SUM(A1)", "\tx", "\rx", "=1"])
def test_every_formula_start_is_defused(value: str) -> None:
    from crawler.cli.options import spreadsheet_safe

    assert spreadsheet_safe(value) == "'" + value
    assert spreadsheet_safe("a" + value) == "a" + value


def _no_controls(text: str) -> None:
    assert "\x1b" not in text and "\x07" not in text and "\x9b" not in text


def test_show_prints_control_characters_of_a_stored_title_and_text_as_visible_escapes(archive: str) -> None:
    out = _run("show", "1", "--db", archive).stdout
    _no_controls(out)
    assert "结对帮扶\\x1b]0;owned\\x07学校" in out
    assert "\\x1b[31m红\\x1b[0m\\x1b[2J" in out and "\\x9b6n" in out


def test_show_json_keeps_the_stored_text_as_it_is(archive: str) -> None:
    record = json.loads(_run("show", "1", "--json", "--db", archive).stdout)
    assert record["title"] == TITLE and record["text"] == TEXT


def test_search_prints_escapes_but_its_json_keeps_the_title_as_stored(archive: str) -> None:
    out = _run("search", "结对", "--db", archive).stdout
    _no_controls(out)
    assert "\\x1b]0;owned\\x07" in out
    hits = [
        json.loads(line) for line in _run("search", "结对", "--json", "--db", archive).stdout.splitlines()
    ]
    assert TITLE in {h["title"] for h in hits}


def test_stories_table_prints_no_control_characters(archive: str) -> None:
    out = _run("stories", "--db", archive).stdout
    _no_controls(out)
    assert "\\x1b" in out


def test_extract_prints_a_saved_pages_controls_as_escapes(tmp_path: Path) -> None:
    page = tmp_path / "p.html"
    body = "<p>两地学校结对帮扶，教师互派交流。\x1b[2J两地学校开展结对活动，共建共享。</p>" * 5
    page.write_text(
        f"<html><head><title>结对\x1b]0;x\x07</title></head><body><article>{body}</article></body></html>"
    )
    result = CliRunner().invoke(main, ["extract", str(page)])
    _no_controls(result.stdout)


# --- names that escape their pattern -------------------------------------------------------------------------

SOURCE = """
[[source]]
name = {name}
start_urls = ["http://host.example/edu/"]
article_pattern = "/edu/"
"""


@pytest.mark.parametrize("name", ['"huli\\n"', '"huli/edu"', '".."', '"../huli"', '"huli\\\\x"', '""'])
def test_a_source_name_outside_its_pattern_is_refused_in_one_line(name: str) -> None:
    with pytest.raises(SourceConfigError) as err:
        parse_sources(SOURCE.format(name=name), "sources.toml")
    message = str(err.value)
    assert message.startswith("sources.toml: source ") and "key 'name'" in message
    assert "\n" not in message


def test_a_name_with_a_trailing_newline_is_refused_by_the_cli_naming_file_source_and_key(
    tmp_path: Path,
) -> None:
    path = tmp_path / "sources.toml"
    path.write_text(SOURCE.format(name='"huli\\n"'), encoding="utf-8")
    result = CliRunner().invoke(
        main, ["sources", "list", "--sources", str(path), "--db", str(tmp_path / "a.db")]
    )
    close_all()
    assert result.exit_code == 2
    (line,) = result.stderr.strip().splitlines()
    assert f"{path}: source 'huli\\n': key 'name'" in line


@pytest.mark.parametrize(
    "name",
    [
        "../x.warc.gz",
        "/etc/x.warc.gz",
        "p/../../x.warc.gz",
        "p\n/x.warc.gz",
        "p/x.warc.gz\n",
        "p\\..\\x",
        "./x",
        "",
    ],
)
def test_a_warc_file_name_that_would_leave_the_warc_directory_is_refused(tmp_path: Path, name: str) -> None:
    with pytest.raises(WarcError):
        warc_path(tmp_path, name)
    with pytest.raises(WarcError):
        read_member(tmp_path, name, 0, 10)
    warc = WarcFile(tmp_path / "warc", name, {})
    with pytest.raises(WarcError):
        warc.write(
            url="http://x.example/",
            fetched_at=datetime(2022, 1, 1, tzinfo=UTC),
            method="GET",
            request_headers=[],
            request_body=b"",
            protocol="HTTP/1.1",
            status=200,
            response_headers=[],
            body=b"x",
        )
    assert not any(tmp_path.parent.glob("x.warc.gz")) and not (tmp_path / "warc").exists()


def test_a_run_s_warc_file_name_stays_under_the_warc_directory(tmp_path: Path) -> None:
    assert warc_path(tmp_path, "huli-edu/pairchive-20220101000000-run3.warc.gz") == (
        tmp_path / "huli-edu" / "pairchive-20220101000000-run3.warc.gz"
    )
