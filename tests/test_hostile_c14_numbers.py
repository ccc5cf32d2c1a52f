"""Class 14, numbers, on both databases: the command lines of tests.hostile.c14_numbers that give a flag
nan, an infinity or a number out of range, an id beyond the schema's integers or a day outside 1900..2200
are usage errors (status 2, one error line, never a traceback), and the largest id and the allowed edges
of the calendar are looked up in the database like any other; a sources file's max_minutes and max_pages
outside their range are one line naming the file, the source and the key."""

from __future__ import annotations

import shlex
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from crawler.cli import main
from storage.db import close_all, open_for_writing
from tests.hostile import c14_numbers
from tests.hostile.archives import DATABASES, database


@pytest.fixture(scope="module", params=DATABASES)
def db(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """An archive of each kind, its schema made (no stories: the lookups find nothing)."""
    with database(request.param, tmp_path_factory.mktemp("c14")) as url:
        open_for_writing(url)
        close_all()
        yield url


def run(line: str, db: str, tmp_path: Path) -> Result:
    """One command line of a case; sources from a file that does not exist, so a flag let through would
    end at the missing file, not in a crawl."""
    env = {
        "PAIRCHIVE_DB": db,
        "PAIRCHIVE_SOURCES": str(tmp_path / "missing.toml"),
        "PAIRCHIVE_DATA_DIR": str(tmp_path / "data"),
    }
    result = CliRunner().invoke(main, shlex.split(line), env=env)
    close_all()
    return result


def one_error_line(result: Result) -> str:
    assert "Traceback" not in result.output, result.output
    if result.exception is not None:
        assert isinstance(result.exception, SystemExit), repr(result.exception)
    (line,) = [line for line in result.output.splitlines() if line.startswith("Error")]
    return line


@pytest.mark.parametrize("line", [*c14_numbers.NON_FINITE_FLAGS, *c14_numbers.IDS_BEYOND_THE_SCHEMA])
def test_a_number_or_id_outside_its_range_is_a_usage_error(line: str, db: str, tmp_path: Path) -> None:
    result = run(line, db, tmp_path)
    assert result.exit_code == 2, result.output
    assert "Invalid value for" in one_error_line(result)


@pytest.mark.parametrize("line", c14_numbers.CALENDAR_EDGES)
def test_a_day_outside_the_years_1900_to_2200_is_a_usage_error(line: str, db: str, tmp_path: Path) -> None:
    result = run(line, db, tmp_path)
    assert result.exit_code == 2, result.output
    error = one_error_line(result)
    assert "outside the years 1900 to 2200" in error


@pytest.mark.parametrize("line", c14_numbers.LARGEST_IDS)
def test_the_largest_id_is_looked_up_and_not_found(line: str, db: str, tmp_path: Path) -> None:
    result = run(line, db, tmp_path)
    assert result.exit_code == 1, result.output
    error = one_error_line(result)
    assert "with id 2147483647" in error


@pytest.mark.parametrize("line", c14_numbers.DAYS_IN_RANGE)
def test_the_allowed_edges_of_the_calendar_are_searched(line: str, db: str, tmp_path: Path) -> None:
    result = run(line, db, tmp_path)
    assert result.exit_code == 0, result.output
    assert "no stored story matches" in result.output


@pytest.mark.parametrize(
    "text", next(c for c in c14_numbers.CASES if c.name == "sources-file-numbers").inputs
)
def test_a_sources_file_number_outside_its_range_is_one_line_naming_file_source_and_key(
    text: str, tmp_path: Path
) -> None:
    path = tmp_path / "sources.toml"
    path.write_text(text, encoding="utf-8")
    key = text.strip().splitlines()[-1].split(" = ")[0]
    result = CliRunner().invoke(
        main, ["sources", "list", "--sources", str(path), "--db", str(tmp_path / "a.db")]
    )
    close_all()
    assert result.exit_code == 2, result.output
    (line,) = result.output.strip().splitlines()
    assert line.startswith(f"Error: {path}: source 'c14': key '{key}'"), line
