"""Class 16, files and URLs: the sources files of tests.hostile.c16_files nested too deeply are one
configuration error (status 2); database URLs that do not parse are one line (2, or 1 where only the
driver refuses them); output that cannot be written, from an archive of either kind holding a crawled
story, is `Error: cannot write the output: ...` and status 1, and output that cannot be opened one line."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import pytest
from click.testing import CliRunner, Result

from crawler.cli import main
from storage.db import close_all
from tests.hostile import HostileWeb, c16_files
from tests.hostile.archives import DATABASES, crawl_once, database, hostile_source

FULL = Path("/dev/full")
needs_full = pytest.mark.skipif(not FULL.exists(), reason="no /dev/full")


def run(args: list[str], env: dict[str, str] | None = None) -> Result:
    result = CliRunner().invoke(main, args, env=env)
    close_all()
    return result


def one_error_line(output: str) -> str:
    assert "Traceback" not in output, output
    (line,) = [line for line in output.splitlines() if line.startswith("Error")]
    return line


@pytest.mark.parametrize("command", [["sources", "list"], ["status"], ["crawl", "--all"]], ids=" ".join)
@pytest.mark.parametrize("n", range(len(c16_files.DEEP_SOURCES)))
def test_a_sources_file_nested_too_deeply_is_one_config_error(
    n: int, command: list[str], tmp_path: Path
) -> None:
    path = tmp_path / "sources.toml"
    path.write_text(c16_files.DEEP_SOURCES[n], encoding="utf-8")
    result = run([*command, "--sources", str(path)], env={"PAIRCHIVE_DB": str(tmp_path / "a.db")})
    assert result.exit_code == 2, result.output
    assert (
        one_error_line(result.output) == f"Error: {path}: malformed TOML: arrays or tables nested too deeply"
    )


@pytest.mark.parametrize(
    "command", [["db", "status"], ["search", "结对"], ["export"], ["crawl", "--all"]], ids=" ".join
)
@pytest.mark.parametrize("url", list(c16_files.BAD_DATABASE_URLS))
def test_a_database_url_that_does_not_parse_is_one_line(url: str, command: list[str], tmp_path: Path) -> None:
    sources = tmp_path / "sources.toml"
    sources.write_text(c16_files.SOURCE, encoding="utf-8")
    env = {"PAIRCHIVE_SOURCES": str(sources), "PAIRCHIVE_DATA_DIR": str(tmp_path / "data")}
    result = run([*command, "--db", url], env=env)
    assert result.exit_code == c16_files.BAD_DATABASE_URLS[url], result.output
    one_error_line(result.output)


@pytest.fixture(scope="module", params=DATABASES)
def archive(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, hostile: HostileWeb
) -> Iterator[dict[str, Any]]:
    """One story crawled into a database of each kind, so that every output has rows to write."""
    folder = tmp_path_factory.mktemp("c16")
    with database(request.param, folder) as db:
        run = crawl_once(
            db, folder / "data", hostile_source("c16", [hostile.url(16, "list.html")], "/c16/a/")
        )
        assert run.counts.get("stored") == 1, run
        yield {"db": db, "folder": folder}


def _process(archive: dict[str, Any], line: str, stdout: IO[bytes]) -> subprocess.CompletedProcess[bytes]:
    env = {**os.environ, "PAIRCHIVE_DB": archive["db"], "PAIRCHIVE_DATA_DIR": str(archive["folder"] / "data")}
    return subprocess.run(
        [sys.executable, "-m", "crawler", *shlex.split(line)],
        stdout=stdout,
        stderr=subprocess.PIPE,
        timeout=120,
        env=env,
    )


@needs_full
@pytest.mark.parametrize("line", list(c16_files.UNWRITABLE))
def test_output_to_a_full_device_is_one_line_and_status_1(line: str, archive: dict[str, Any]) -> None:
    env = {"PAIRCHIVE_DB": archive["db"]}
    result = run(shlex.split(line.format(out=c16_files.UNWRITABLE[line])), env=env)
    assert result.exit_code == 1, result.output
    assert one_error_line(result.output) == "Error: cannot write the output: No space left on device"


@needs_full
@pytest.mark.parametrize("line", c16_files.UNWRITABLE_STDOUT)
def test_stdout_on_a_full_device_is_one_line_and_status_1(line: str, archive: dict[str, Any]) -> None:
    with FULL.open("wb") as full:
        done = _process(archive, line, stdout=full)
    assert done.returncode == 1, done.stderr
    assert done.stderr.decode().splitlines() == ["Error: cannot write the output: No space left on device"]


@pytest.mark.parametrize("where", list(c16_files.UNOPENABLE))
def test_output_that_cannot_be_opened_is_one_line(
    where: str, archive: dict[str, Any], tmp_path: Path
) -> None:
    line = c16_files.UNOPENABLE[where].format(tmp=tmp_path)
    result = run(shlex.split(line), env={"PAIRCHIVE_DB": archive["db"]})
    assert result.exit_code == 1, result.output
    assert one_error_line(result.output).startswith("Error: Could not open file ")
