"""Class 15, text arguments, on both databases: every undecodable argument of tests.hostile.c15_text is
a usage error naming it (status 2, one line), from click and from a real argument list of bytes; a query
starting with `-` goes after `--` and finds what it means in the stories crawled from the class's
portal (a dash before a phrase or a group excludes it, never turns it into a searched word; a dash standing
alone, as in "2022 - 2023", excludes nothing); without `--` it is an unknown option."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from crawler.cli import main
from storage.db import close_all
from tests.hostile import HostileWeb, c15_text
from tests.hostile.archives import DATABASES, crawl_once, database, hostile_source


@pytest.fixture(scope="module", params=DATABASES)
def archive(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, hostile: HostileWeb
) -> Iterator[dict[str, Any]]:
    """The class's two stories crawled once into a database of each kind."""
    folder = tmp_path_factory.mktemp("c15")
    with database(request.param, folder) as db:
        run = crawl_once(
            db, folder / "data", hostile_source("c15", [hostile.url(15, "list.html")], "/c15/a/")
        )
        assert run.counts.get("stored") == 2, run
        yield {"db": db, "folder": folder, "hostile": hostile}


def run(args: list[str], archive: dict[str, Any]) -> Result:
    env = {"PAIRCHIVE_DB": archive["db"], "PAIRCHIVE_DATA_DIR": str(archive["folder"] / "data")}
    result = CliRunner().invoke(main, args, env=env)
    close_all()
    return result


def one_error_line(result: Result) -> str:
    assert "Traceback" not in result.output, result.output
    if result.exception is not None:
        assert isinstance(result.exception, SystemExit), repr(result.exception)
    (line,) = [line for line in result.output.splitlines() if line.startswith("Error")]
    return line


def found(result: Result, archive: dict[str, Any]) -> set[str]:
    base = archive["hostile"].url(15)
    return {json.loads(line)["url"].removeprefix(base) for line in result.stdout.splitlines()}


@pytest.mark.parametrize("line", c15_text.UNDECODABLE)
def test_an_undecodable_argument_is_a_usage_error_naming_it(line: str, archive: dict[str, Any]) -> None:
    result = run(shlex.split(line), archive)
    assert result.exit_code == 2, result.output
    assert "is not valid UTF-8" in one_error_line(result)


@pytest.mark.parametrize("query", list(c15_text.DASH_QUERIES))
def test_a_query_starting_with_a_dash_after_double_dash_finds_what_it_means(
    query: str, archive: dict[str, Any]
) -> None:
    expected = c15_text.DASH_QUERIES[query]
    result = run(["search", "--json", "--all", "--", query], archive)
    if expected is None:
        assert result.exit_code == 1, result.output
        assert "no word to search for" in one_error_line(result)
        return
    assert result.exit_code == 0, result.output
    assert found(result, archive) == expected


def test_a_dash_before_a_phrase_excludes_the_phrase(archive: dict[str, Any]) -> None:
    result = run(["search", "--json", "--all", "--", '结对 -"县人民医院"'], archive)
    assert result.exit_code == 0, result.output
    assert found(result, archive) == {"a/school.html"}


@pytest.mark.parametrize(
    "query, expected",
    [
        ("结对 - 医院", {"a/hospital.html"}),  # a dash between words, as in "2022 - 2023"
        ('结对 - "县人民医院"', {"a/hospital.html"}),
        ("县实验小学与山区小学结对帮扶 - 医院", {"a/hospital.html"}),  # a pasted "title - outlet"
        ("结对 - (医院 OR 教师)", {"a/school.html", "a/hospital.html"}),
    ],
)
def test_a_dash_standing_alone_excludes_nothing(
    query: str, expected: set[str], archive: dict[str, Any]
) -> None:
    result = run(["search", "--json", "--all", "--", query], archive)
    assert result.exit_code == 0, result.output
    assert found(result, archive) == expected


def test_a_dash_before_a_group_is_refused_as_not_before_parentheses(archive: dict[str, Any]) -> None:
    result = run(["search", "--all", "--", c15_text.DASH_BEFORE_A_GROUP], archive)
    assert result.exit_code == 1, result.output
    assert "NOT before parentheses is not supported" in one_error_line(result)


@pytest.mark.parametrize("line", c15_text.DASH_WITHOUT_SEPARATOR)
def test_a_query_starting_with_a_dash_without_double_dash_is_an_unknown_option(
    line: str, archive: dict[str, Any]
) -> None:
    result = run(shlex.split(line), archive)
    assert result.exit_code == 2, result.output
    assert "No such option" in one_error_line(result)


@pytest.mark.parametrize("line", c15_text.UNDECODABLE)
def test_undecodable_bytes_in_a_real_argument_list_are_one_line(line: str, tmp_path: Path) -> None:
    args = [os.fsencode(arg) for arg in shlex.split(line)]
    done = subprocess.run(
        [sys.executable, "-m", "crawler", *args],
        capture_output=True,
        timeout=120,
        cwd=tmp_path,
        env={**os.environ, "PAIRCHIVE_DB": str(tmp_path / "a.db"), "PAIRCHIVE_DATA_DIR": str(tmp_path)},
    )
    assert done.returncode == 2, done.stderr
    err = done.stderr.decode("utf-8", "replace")
    assert "Traceback" not in err
    errors = [e for e in err.splitlines() if e.startswith("Error")]
    assert len(errors) == 1 and "is not valid UTF-8" in errors[0], err
