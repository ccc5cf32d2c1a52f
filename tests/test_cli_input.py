"""Bad input at the command line: numbers, ids, days, text, files and URLs, output that cannot be written.
Each ends in a documented exit status and at most one error line, never a traceback; an error nobody
expected is one line naming --debug and exit status 70."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import click
import pytest
from click.testing import CliRunner, Result
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.orm import Session

import crawler.cli.archive
from crawler.cli import EXIT_INTERNAL, main
from crawler.vocabulary.sources import parse_sources
from storage.archive import insert_article, start_run, upsert_sources
from storage.db import close_all, open_for_writing
from storage.normalize import search_form
from tests.hostile.archives import database

EXIT_STATUSES = {0, 1, 2, 3, EXIT_INTERNAL}
PROPERTY = settings(
    derandomize=True,
    max_examples=25,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
SOURCE = """[[source]]
name = "a"
start_urls = ["http://127.0.0.1/"]
article_pattern = '/\\d+\\.html$'
"""


def assert_clean(result: Result, statuses: set[int] = EXIT_STATUSES) -> None:
    """A documented exit status, at most one error line, no traceback."""
    text = result.output
    assert result.exit_code in statuses, text
    assert "Traceback" not in text, text
    assert sum(line.startswith("Error") for line in text.splitlines()) <= 1, text
    if result.exception is not None:
        assert isinstance(result.exception, SystemExit), repr(result.exception)


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    path = tmp_path_factory.mktemp("db") / "archive.db"
    engine = open_for_writing(f"sqlite:///{path}").engine
    engine.dispose()
    yield str(path)


def run(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(main, list(args), env=env)


def run_process(args: list[str | bytes], **kwargs: object) -> subprocess.CompletedProcess[bytes]:
    code = "from crawler.cli import main; main()"
    streams: dict[str, object] = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE}
    return subprocess.run([sys.executable, "-c", code, *args], **(streams | kwargs))  # type: ignore[call-overload]


# Numbers


@pytest.mark.parametrize(
    "args",
    [
        ["crawl", "--all", "--timeout", "nan"],
        ["crawl", "--all", "--timeout", "inf"],
        ["crawl", "--all", "--timeout", "-inf"],
        ["crawl", "--all", "--timeout", "1e309"],
        ["crawl", "--all", "--timeout", "0"],
        ["daemon", "--time-limit", "nan"],
        ["daemon", "--grace", "inf"],
        ["daemon", "--grace", "1e12"],
        ["search", "x", "--limit", "nan"],
    ],
)
def test_a_number_that_is_not_finite_or_in_range_is_a_usage_error(args: list[str], db: str) -> None:
    result = run(*args, "--db", db)
    assert result.exit_code == 2
    assert "Invalid value for" in result.output
    assert_clean(result)


@pytest.mark.parametrize(
    "args",
    [
        ["show", "99999999999999999999"],
        ["show", str(2**63)],
        ["show", "0"],
        ["show", "--", "-1"],
        ["show", "nan"],
        ["runs", "show", str(2**31)],
        ["warc", "verify", "--run", str(2**64)],
    ],
)
def test_an_id_beyond_the_schemas_integers_is_a_usage_error(args: list[str], db: str) -> None:
    result = run(*args, env={"PAIRCHIVE_DB": db})
    assert result.exit_code == 2
    assert "Invalid value for" in result.output
    assert_clean(result)


def test_the_largest_id_is_looked_up(db: str) -> None:
    result = run("show", str(2**31 - 1), "--db", db)
    assert result.exit_code == 1 and "no stored story with id 2147483647" in result.output


@pytest.mark.parametrize(
    "args",
    [
        ["search", "x", "--since", "0001-01-01"],
        ["search", "x", "--until", "9999-12-31"],
        ["export", "--since", "0001-01-01"],
        ["crawl", "--all", "--since", "9999-12-31"],
        ["reprocess", "--since", "0001-01-01"],
    ],
)
def test_a_day_at_the_edge_of_the_calendar_is_a_usage_error(args: list[str], db: str) -> None:
    result = run(*args, "--db", db)
    assert result.exit_code == 2
    assert "outside the years 1900 to 2200" in result.output
    assert_clean(result)


def test_days_within_the_range_search(db: str) -> None:
    result = run("search", "结对", "--since", "1900-01-01", "--until", "2200-12-31", "--db", db)
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "0", "-1", "1e9"])
def test_a_sources_file_with_an_unusable_max_minutes_names_file_source_and_key(value: str) -> None:
    with pytest.raises(Exception, match=r"f\.toml: source 'a': key 'max_minutes'"):
        parse_sources(SOURCE + f"max_minutes = {value}\n", "f.toml")


@pytest.mark.parametrize("value", ["0", "-5", "1e3", "9223372036854775807", "inf"])
def test_a_sources_file_with_an_unusable_max_pages_names_file_source_and_key(value: str) -> None:
    with pytest.raises(Exception, match=r"f\.toml: source 'a': key 'max_pages'"):
        parse_sources(SOURCE + f"max_pages = {value}\n", "f.toml")


# Text


def test_an_undecodable_query_is_a_usage_error_naming_it(db: str) -> None:
    result = run("search", "结对\udcff", "--db", db)
    assert result.exit_code == 2
    assert "'结对\\\\xff' is not valid UTF-8" in result.output
    assert_clean(result)


@pytest.mark.parametrize(
    "args", [["search", "x", "--source", "a\udc80"], ["search", "x", "--lang", "\udce9n"]]
)
def test_an_undecodable_source_or_language_is_a_usage_error(args: list[str], db: str) -> None:
    result = run(*args, "--db", db)
    assert result.exit_code == 2 and "not valid UTF-8" in result.output
    assert_clean(result)


def test_undecodable_bytes_in_a_real_argument_list_are_refused() -> None:
    done = run_process([b"search", b"caf\xff"])
    assert done.returncode == 2
    assert b"not valid UTF-8" in done.stderr and b"Traceback" not in done.stderr


def test_a_query_starting_with_a_dash_goes_after_double_dash(db: str) -> None:
    result = run("search", "--db", db, "--", "-医院 结对")
    assert result.exit_code == 0, result.output
    assert "no stored story matches" in result.output
    assert "--" in (crawler.cli.archive.search.help or "")


# Files and URLs


def test_a_deeply_nested_sources_file_is_one_config_error(tmp_path: Path, db: str) -> None:
    path = tmp_path / "deep.toml"
    path.write_text(SOURCE + "x = " + "[" * 20_000 + "]" * 20_000 + "\n", encoding="utf-8")
    result = run("sources", "list", "--sources", str(path), "--db", db)
    assert result.exit_code == 2
    assert "nested too deeply" in result.output
    assert_clean(result)


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://user:secret@127.0.0.1:port/db",
        "postgresql+psycopg://user:secret@127.0.0.1:5x/db",
        "://x",
    ],
)
def test_a_database_url_that_does_not_parse_is_a_config_error(url: str) -> None:
    result = run("runs", "--db", url)
    assert_clean(result)
    assert result.exit_code == 2, result.output
    assert "secret" not in result.output


def test_export_to_a_full_device_is_one_line_and_status_1(db: str) -> None:
    if not Path("/dev/full").exists():
        pytest.skip("no /dev/full")
    done = run_process(["export", "--format", "csv", "--db", db, "-o", "/dev/full"])
    assert done.returncode == 1
    assert done.stderr.decode().splitlines() == ["Error: cannot write the output: No space left on device"]
    with open("/dev/full", "wb") as full:
        done = run_process(["export", "--format", "csv", "--db", db], stdout=full)
    assert done.returncode == 1
    assert done.stderr.decode().splitlines() == ["Error: cannot write the output: No space left on device"]


def test_output_to_a_closed_stdout_is_one_line() -> None:
    # the shell starts pairchive with no stdout at all (Python's sys.stdout is then None)
    code = "from crawler.cli import main; main()"
    done = subprocess.run(
        ["sh", "-c", 'exec "$0" -c "$1" --help >&-', sys.executable, code], stderr=subprocess.PIPE
    )
    assert done.returncode == 1
    assert done.stderr.decode().splitlines() == ["Error: cannot write the output: stdout is closed"]


def test_a_reader_that_goes_away_ends_the_command_quietly(db: str) -> None:
    code = "from crawler.cli import main; main()"
    with subprocess.Popen(
        [sys.executable, "-c", code, "--help"], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    ) as proc:
        assert proc.stdout is not None and proc.stderr is not None
        proc.stdout.close()  # before the help is written: the write meets a closed pipe
        err = proc.stderr.read()
        status = proc.wait()
    assert status in (0, 1)
    assert err == b""


# The guard


def boom(*_args: object, **_kwargs: object) -> None:
    raise RuntimeError("something broke\nsecond line")


def test_an_unexpected_error_is_one_line_naming_debug_and_status_70(
    db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(crawler.cli.archive, "search_articles", boom)
    result = run("search", "结对", "--db", db, env={"PAIRCHIVE_DEBUG": ""})
    assert result.exit_code == EXIT_INTERNAL
    assert result.stderr.splitlines() == [
        "Error: RuntimeError: something broke (run with --debug for the traceback)"
    ]


@pytest.mark.parametrize("how", ["flag", "env"])
def test_debug_shows_the_traceback(how: str, db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(crawler.cli.archive, "search_articles", boom)
    if how == "flag":
        result = run("--debug", "search", "结对", "--db", db, env={"PAIRCHIVE_DEBUG": ""})
    else:
        result = run("search", "结对", "--db", db, env={"PAIRCHIVE_DEBUG": "1"})
    assert isinstance(result.exception, RuntimeError)


def test_ctrl_c_still_aborts_with_status_1(db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    def interrupted(*_args: object, **_kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(crawler.cli.archive, "search_articles", interrupted)
    result = run("search", "结对", "--db", db)
    assert result.exit_code == 1 and "Aborted!" in result.output


def test_usage_errors_keep_status_2() -> None:
    assert run("show").exit_code == 2
    assert run("no-such-command").exit_code == 2


# Properties

texts = st.one_of(
    st.text(max_size=40),
    st.text(alphabet='结对帮扶 -()"ORNOTAND校', max_size=30),
    st.builds(lambda s, b: s + chr(0xDC80 + b), st.text(max_size=10), st.integers(0, 127)),
)
numbers = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.integers(min_value=-(2**80), max_value=2**80).map(str),
    st.sampled_from(["nan", "inf", "-inf", "NaN", "1e309", "", " ", "0x10", "1_000"]),
)
days = st.one_of(
    st.dates().map(lambda d: f"{d.year:04d}-{d.month:02d}-{d.day:02d}"),
    st.text(alphabet="0123456789-", max_size=12),
)


@PROPERTY
@given(query=texts)
def test_any_search_query_ends_in_a_documented_status(query: str, db: str) -> None:
    assert_clean(run("search", "--db", db, "--", query))


@PROPERTY
@given(limit=numbers, since=days, until=days)
def test_any_numeric_or_date_option_of_search_ends_in_a_documented_status(
    limit: str, since: str, until: str, db: str
) -> None:
    assert_clean(run("search", "结对", "--limit", limit, "--since", since, "--until", until, "--db", db))


@PROPERTY
@given(timeout=numbers, since=days)
def test_any_crawl_number_or_day_ends_in_a_documented_status(timeout: str, since: str, db: str) -> None:
    # no sources file: once the options pass, the command stops at the missing file (status 2)
    result = run(
        "crawl", "--all", "--sources", "/nonexistent.toml", "--timeout", timeout, "--since", since, "--db", db
    )
    assert_clean(result, {2})


@PROPERTY
@given(article_id=numbers)
def test_any_id_ends_in_a_documented_status(article_id: str, db: str) -> None:
    assert_clean(run("show", "--db", db, "--", article_id), {1, 2})


def toml_value(value: object) -> str:
    if isinstance(value, float):
        return (
            "nan"
            if math.isnan(value)
            else ("inf" if value > 0 else "-inf")
            if math.isinf(value)
            else repr(value)
        )
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    return json.dumps(value, ensure_ascii=False)


toml_numbers = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.booleans(),
    st.text(max_size=5),
)


@PROPERTY
@given(
    max_pages=st.none() | toml_numbers,
    max_minutes=st.none() | toml_numbers,
    depth=st.integers(0, 3000),
)
def test_any_generated_sources_file_loads_or_is_one_config_error(
    max_pages: object, max_minutes: object, depth: int, db: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    text = SOURCE
    if max_pages is not None:
        text += f"max_pages = {toml_value(max_pages)}\n"
    if max_minutes is not None:
        text += f"max_minutes = {toml_value(max_minutes)}\n"
    if depth:
        text += "nested = " + "[" * depth + "]" * depth + "\n"
    path = tmp_path_factory.mktemp("sources") / "sources.toml"
    path.write_text(text, encoding="utf-8")
    result = run("sources", "list", "--sources", str(path), "--db", db)
    assert_clean(result, {0, 2})


# Properties over the whole command line, the sources file and both databases

# Commands that serve or run until stopped are left out: a generated line could start them for good.
LONG_RUNNING = {("daemon",), ("demo",), ("serve",)}


def command_paths(
    group: click.Group = main, prefix: tuple[str, ...] = ()
) -> list[tuple[tuple[str, ...], list[str]]]:
    """Every command (its path of names) with the option names it declares."""
    found: list[tuple[tuple[str, ...], list[str]]] = []
    for name, command in sorted(group.commands.items()):
        path = (*prefix, name)
        if isinstance(command, click.Group):
            found.extend(command_paths(command, path))
        elif path not in LONG_RUNNING:
            options = [opt for p in command.params if isinstance(p, click.Option) for opt in p.opts]
            found.append((path, options))
    return found


COMMANDS = command_paths()


@st.composite
def command_lines(draw: st.DrawFn) -> list[str]:
    path, options = draw(st.sampled_from(COMMANDS))
    token = st.one_of(st.sampled_from(options or ["--"]), texts, numbers, days, st.just("--"))
    return [*path, *draw(st.lists(token, max_size=6))]


@PROPERTY
@given(line=command_lines())
def test_any_command_line_ends_in_a_documented_status_and_at_most_one_error_line(
    line: list[str], db: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    # sources and data directory that do not exist: a line that gets past its options stops there,
    # or reads an empty archive
    folder = tmp_path_factory.mktemp("line")
    env = {
        "PAIRCHIVE_DB": db,
        "PAIRCHIVE_SOURCES": str(folder / "missing.toml"),
        "PAIRCHIVE_DATA_DIR": str(folder / "data"),
        "PAIRCHIVE_DEBUG": "",
    }
    # in a folder of its own: a generated line may name any file (`--db --format`), which is then made there
    here = os.getcwd()
    os.chdir(folder)
    try:
        assert_clean(CliRunner().invoke(main, line, env=env), {0, 1, 2, 3})
    finally:
        os.chdir(here)


names = st.one_of(
    st.from_regex(r"[a-z0-9_-]{1,12}", fullmatch=True),
    st.text(max_size=12),
    st.sampled_from(["huli\n", "..", "a/b", "", "A", "a\x00"]),
)
urls = st.one_of(
    st.builds(lambda p: f"http://127.0.0.1:9/{p}", st.text(max_size=10)),
    st.text(max_size=20),
    st.sampled_from(
        ["file:///etc/passwd", "ftp://127.0.0.1/", "http://", "http://[::1", "//x", "http://a b/"]
    ),
)
patterns = st.one_of(
    st.text(alphabet="()[]{}*+?|\\.^$/-a0d", max_size=12),
    st.sampled_from(["(a+)+$", "(a|a)*$", "[", "(?P<x>", "/\\d+\\.html$", "\\", "(?i)", ".*" * 30]),
)
values = st.one_of(
    st.none(),
    toml_numbers,
    st.text(max_size=8),
    st.lists(st.text(max_size=6), max_size=3),
)


@st.composite
def sources_files(draw: st.DrawFn) -> str:
    """A sources file of one to three sources, each key drawn from good values, bad values or none."""
    chunks: list[str] = []
    for _ in range(draw(st.integers(1, 3))):
        table: dict[str, object] = {
            "name": draw(names),
            "start_urls": draw(st.lists(urls, max_size=2)),
            "article_pattern": draw(patterns),
        }
        for key in ("feeds", "sitemaps", "allowed_domains", "schedule", "timezone", "language", "title",
                    "max_pages", "max_minutes", "listing_pattern", "no_such_key"):  # fmt: skip
            value = draw(values)
            if value is not None:
                table[key] = value
        if draw(st.booleans()):
            table["feeds"] = draw(st.lists(urls, max_size=2))
        lines = ["[[source]]"]
        for key, item in table.items():
            if isinstance(item, list):
                lines.append(f"{key} = [" + ", ".join(toml_value(v) for v in item) + "]")
            elif item is not None:
                lines.append(f"{key} = {toml_value(item)}")
        chunks.append("\n".join(lines))
    return "\n\n".join(chunks) + "\n"


@PROPERTY
@given(text=sources_files())
def test_any_generated_sources_file_of_any_keys_loads_or_is_one_line_naming_the_file(
    text: str, db: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    path = tmp_path_factory.mktemp("sources") / "sources.toml"
    path.write_text(text, encoding="utf-8")
    result = run("sources", "list", "--sources", str(path), "--db", db)
    assert_clean(result, {0, 2})
    if result.exit_code == 2:
        (line,) = result.output.strip().splitlines()
        assert line.startswith(f"Error: {path}: "), line


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def any_db(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """An archive of each kind holding one story, for queries that must parse and run alike on both."""
    with database(request.param, tmp_path_factory.mktemp("query")) as url:
        sessions = open_for_writing(url).sessions
        with sessions.begin() as s:
            seed_story(s)
        yield url


def seed_story(session: Session) -> None:
    text = "两地学校结对帮扶，教师互派交流，学生手拉手。Twin schools pair up."
    source_id = upsert_sources(session, [{"name": "a", "title": "A", "timezone": "Asia/Shanghai"}])["a"]
    insert_article(
        session,
        {
            "source_id": source_id,
            "run_id": start_run(session, source_id, "cli"),
            "url": "http://portal.example/1.html",
            "fetched_url": "http://portal.example/1.html",
            "title": "学校结对",
            "published": datetime(2022, 6, 1, tzinfo=UTC),
            "author": None,
            "source_name": None,
            "language": "zh-Hans",
            "text": text,
            "search_text": search_form(text),
            "relevance": 1.0,
            "is_pairing": True,
            "relevance_terms": [],
            "content_hash": "0" * 64,
            "charset": "utf-8",
            "http_status": 200,
            "first_seen": datetime(2022, 6, 1, tzinfo=UTC),
        },
    )


@PROPERTY
@given(query=texts, sort=st.sampled_from(["relevance", "date"]))
def test_any_query_ends_in_a_documented_status_on_either_database(query: str, sort: str, any_db: str) -> None:
    result = run("search", "--all", "--sort", sort, "--db", any_db, "--", query)
    close_all()
    assert_clean(result, {0, 1, 2})
