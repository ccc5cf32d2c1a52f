"""Class 4, names that escape their pattern: every sources file of tests.hostile.c04_names (a source name
with a trailing newline, a path, a parent directory, a NUL...) is refused by each command that reads
sources, in one line naming the file, the source and the key, with status 2; a crawl into a database of
either kind writes nothing, neither a file nor a row. A `--source` naming no configured source is refused
the same way, whatever it spells."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner, Result

from crawler.cli import main
from storage.db import close_all
from tests.hostile import Case, c04_names

CASES = [pytest.param(case, id=case.name) for case in c04_names.CASES]
COMMANDS = [
    ["sources", "list"],
    ["sources", "check", "huli"],
    ["status"],
    ["crawl", "--all"],
    ["daemon"],
]


def _sources(folder: Path, case: Case) -> Path:
    (text,) = case.inputs
    path = folder / "sources.toml"
    path.write_text(text, encoding="utf-8")
    return path


def _run(*args: str, data_dir: Path, db: Path | None = None) -> Result:
    env = {"PAIRCHIVE_DATA_DIR": str(data_dir), **({"PAIRCHIVE_DB": str(db)} if db else {})}
    result = CliRunner().invoke(main, list(args), env=env)
    close_all()
    return result


def _refused_in_one_line(result: Result, path: Path) -> None:
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    (line,) = result.output.strip().splitlines()  # an error line (the daemon: its one log line)
    assert f"{path}: source " in line and "key 'name'" in line, line
    assert line.startswith("Error: ") or " ERROR pairchive.daemon: " in line


def _files(folder: Path) -> set[Path]:
    return {p.relative_to(folder) for p in folder.rglob("*")}


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c))
@pytest.mark.parametrize("case", CASES)
def test_a_source_name_outside_its_pattern_is_refused_in_one_line_by_every_command(
    case: Case, command: list[str], tmp_path: Path
) -> None:
    path = _sources(tmp_path, case)
    db = tmp_path / "archive.db"
    result = _run(*command, "--sources", str(path), db=db, data_dir=tmp_path / "data")
    _refused_in_one_line(result, path)
    assert not (tmp_path / "data").exists()


@pytest.mark.parametrize("case", CASES)
def test_a_crawl_of_a_badly_named_source_writes_neither_a_file_nor_a_row(
    case: Case, db_url: str, tmp_path: Path
) -> None:
    path = _sources(tmp_path, case)
    before = _files(tmp_path)
    result = _run("crawl", "--all", "--sources", str(path), "--db", db_url, data_dir=tmp_path / "data")
    _refused_in_one_line(result, path)
    assert _files(tmp_path) - before <= {Path("test.db")}
    engine = sa.create_engine(db_url)
    try:
        with engine.connect() as conn:
            if sa.inspect(conn).has_table("sources"):
                assert conn.execute(sa.text("SELECT count(*) FROM sources")).scalar() == 0
    finally:
        engine.dispose()


@pytest.mark.parametrize("name", ["../x", "huli\n", "/etc", "huli/../../x", ""])
def test_a_source_asked_for_by_a_name_that_is_not_configured_is_refused_in_one_line(
    name: str, tmp_path: Path
) -> None:
    path = tmp_path / "sources.toml"
    path.write_text(c04_names.sources_text('"huli"'), encoding="utf-8")
    db = str(tmp_path / "a.db")
    result = _run("crawl", "--source", name, "--sources", str(path), "--db", db, data_dir=tmp_path / "data")
    assert result.exit_code == 2, result.output
    (line,) = result.output.strip().splitlines()
    assert line.startswith("Error: ") and "no source named" in line
    assert _files(tmp_path) <= {Path("sources.toml"), Path("a.db")}
