"""The CLI: every command documented with an example; errors are one line, never a traceback."""

from __future__ import annotations

from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from crawler.cli import main

README = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
COMMANDS = sorted(main.commands)
SUBCOMMANDS = sorted(
    f"{name} {sub}"
    for name, command in main.commands.items()
    if isinstance(command, click.Group)
    for sub in command.commands
)


@pytest.mark.parametrize("name", COMMANDS)
def test_every_command_has_help_with_an_example(name: str) -> None:
    command = main.commands[name]
    assert command.help and "Example: pairchive " + name in command.help
    result = CliRunner().invoke(main, [name, "-h"])
    assert result.exit_code == 0 and "Usage: main " + name in result.output


@pytest.mark.parametrize("name", COMMANDS)
def test_every_command_is_in_the_readme(name: str) -> None:
    assert f"pairchive {name}" in README


@pytest.mark.parametrize("name", COMMANDS)
def test_every_option_has_help_text(name: str) -> None:
    for param in main.commands[name].params:
        if isinstance(param, click.Option):
            assert param.help, f"{name} {param.opts}"


def test_the_readme_opens_with_the_two_commands() -> None:
    head = README.split("\n## ")[0]
    assert head.index("make demo") < head.index("make test")


def test_show_of_a_missing_story_is_one_line(empty_archive: str) -> None:
    result = CliRunner().invoke(main, ["show", "42", "--db", empty_archive])
    assert result.exit_code == 1
    assert result.output.strip() == "Error: no stored story with id 42"


def test_a_database_in_a_missing_directory_is_one_line(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["search", "结对", "--db", str(tmp_path / "nope" / "a.db")])
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        f"Error: sqlite:///{tmp_path}/nope/a.db: directory {tmp_path}/nope does not exist"
    ]


def test_search_of_an_empty_archive_says_so_on_stderr(empty_archive: str) -> None:
    result = CliRunner().invoke(main, ["search", "结对", "--db", empty_archive])
    assert result.exit_code == 0 and result.stdout == ""
    assert "no stored story matches '结对'" in result.stderr


def test_a_query_with_nothing_to_search_is_one_line(empty_archive: str) -> None:
    result = CliRunner().invoke(main, ["search", "AND OR", "--db", empty_archive])
    assert result.exit_code == 1
    assert result.output.strip() == "Error: cannot search 'AND OR': the query has no word to search for"


def test_bad_setting_override_is_a_usage_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["crawl", "-s", "NOEQUALS", "--db", str(tmp_path / "a.db")])
    assert result.exit_code == 2 and "is not KEY=VALUE" in result.output


def test_env_var_chooses_the_database_and_the_flag_wins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from crawler.cli.options import app_config

    monkeypatch.setenv("PAIRCHIVE_DB", str(tmp_path / "env.db"))
    assert app_config().db_url == f"sqlite:///{tmp_path}/env.db"
    assert app_config(db="postgresql+psycopg://u@h/db").db_url == "postgresql+psycopg://u@h/db"


def test_a_database_that_cannot_be_read_is_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "not-a-database.db"
    bad.write_bytes(b"this is not an SQLite file, but the archive must not crash on it" * 100)
    result = CliRunner().invoke(main, ["search", "结对", "--db", str(bad)])
    assert result.exit_code == 1
    (line,) = result.output.strip().splitlines()
    assert line.startswith("Error: ") and "not a database" in line
    assert bad.read_bytes().startswith(b"this is not an SQLite file")


@pytest.mark.parametrize("path", SUBCOMMANDS)
def test_every_subcommand_has_help_with_an_example_and_is_in_the_readme(path: str) -> None:
    group, sub = path.split()
    command = main.commands[group].commands[sub]  # type: ignore[attr-defined]
    assert command.help and f"Example: pairchive {path}" in command.help
    assert f"pairchive {path}" in README
    for param in command.params:
        if isinstance(param, click.Option):
            assert param.help, f"{path} {param.opts}"


def test_pairchive_settings_cannot_be_overridden_as_scrapy_settings(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main, ["crawl", "-s", "PAIRCHIVE_DB=sqlite:///other.db", "--db", str(tmp_path / "a.db")]
    )
    assert result.exit_code == 2 and "not a Scrapy setting" in result.output


def test_db_upgrade_and_status(tmp_path: Path) -> None:
    from storage.db import head_revision

    db = f"sqlite:///{tmp_path / 'new.db'}"
    runner = CliRunner()
    first = runner.invoke(main, ["db", "upgrade", "--db", db])
    assert (
        first.exit_code == 0
        and first.output.strip() == f"upgraded from revision none (empty database) to {head_revision()}"
    )
    again = runner.invoke(main, ["db", "upgrade", "--db", db])
    assert again.output.strip() == f"already at revision {head_revision()} (the newest)"
    status = runner.invoke(main, ["db", "status", "--db", db])
    assert status.exit_code == 0 and status.output.strip().endswith("up to date")
    bad = runner.invoke(main, ["db", "status", "--db", "postgresql+psycopg://nobody@127.0.0.1:1/none"])
    assert (
        bad.exit_code == 1
        and bad.output.startswith("Error: database error:")
        and len(bad.output.splitlines()) == 1
    )
