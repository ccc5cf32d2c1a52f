"""Writers migrate, readers never write: search, show, export, runs, status and the other read-only commands
leave a database as they found it (an old revision stays old, a read-only file or role is enough), and say
in one line what to do when they cannot read it; a crawl and `pairchive db upgrade` bring it up."""

from __future__ import annotations

import ctypes
import hashlib
import os
import shutil
import sqlite3
import stat
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.script import ScriptDirectory
from click.testing import CliRunner, Result
from sqlalchemy.engine import make_url

from crawler.cli import main
from crawler.runner.crawl import crawl
from crawler.vocabulary.config import AppConfig
from crawler.vocabulary.sources import parse_sources
from storage.archive import finish_run, insert_article, start_run, upsert_sources
from storage.db import (
    MIGRATIONS,
    SCHEMA_HEAD,
    alembic_config,
    close_all,
    current_revision,
    head_revision,
    make_engine,
    open_for_reading,
    open_for_writing,
)
from storage.errors import StorageError
from storage.normalize import search_form

PROJECT = Path(__file__).resolve().parent.parent
SOURCES = """[[source]]
name = "p"
start_urls = ["http://127.0.0.1:9/p/"]
article_pattern = "/p/"
schedule = "0 2 * * *"
"""
# Every reader, as a command line (after `pairchive`), with what its output shows of the stored story.
READERS = {
    "search": (["search", "结对"], "湖里区学校结对共建"),
    "show": (["show", "1"], "湖里区学校结对共建"),
    "stories": (["stories"], "湖里区学校结对共建"),
    "export": (["export"], "湖里区学校结对共建"),
    "runs": (["runs"], "ok"),
    "runs show": (["runs", "show", "1"], "run 1 of p"),
    "status": (["status"], "1 ok"),
    "sources list": (["sources", "list"], "#1 ok"),
    "warc verify": (["warc", "verify"], "checked 0 capture(s)"),
    "db status": (["db", "status"], "up to date"),
    "reprocess (a dry run)": (["reprocess"], "dry run: nothing changed"),
}
# The readers a test runs on PostgreSQL too (every one of them on SQLite).
MAIN_READERS = ["search", "show", "export", "runs", "status"]


def previous_revision() -> str:
    script = ScriptDirectory(str(MIGRATIONS))
    head = script.get_revision(str(head_revision()))
    assert head is not None and isinstance(head.down_revision, str)
    return head.down_revision


def fill(url: str) -> None:
    """One source, one finished run and one stored pairing story."""
    sessions = open_for_writing(url).sessions
    with sessions.begin() as s:
        source_id = upsert_sources(s, [{"name": "p", "title": "Portal"}])["p"]
        run_id = start_run(s, source_id, "cli")
        text = "两地学校结对帮扶，教师互派交流。"
        insert_article(
            s,
            {
                "source_id": source_id,
                "run_id": run_id,
                "url": "http://portal.example/1.html",
                "fetched_url": "http://portal.example/1.html",
                "title": "湖里区学校结对共建",
                "published": datetime(2022, 6, 16, 10, tzinfo=UTC),
                "author": None,
                "source_name": None,
                "language": "zh-Hans",
                "text": text,
                "search_text": search_form(text),
                "relevance": 1.0,
                "is_pairing": True,
                "relevance_terms": [],
                "content_hash": "1" * 64,
                "charset": "utf-8",
                "http_status": 200,
                "first_seen": datetime(2022, 10, 1, tzinfo=UTC),
            },
        )
        finish_run(s, run_id, status="ok", counts={"stored": 1})
    close_all()


@pytest.fixture
def sources(tmp_path: Path) -> Path:
    path = tmp_path / "sources.toml"
    path.write_text(SOURCES, encoding="utf-8")
    return path


def invoke(args: list[str], db: str, sources: Path, data: Path) -> Result:
    result = CliRunner().invoke(
        main, [*args, "--db", db], env={"PAIRCHIVE_SOURCES": str(sources), "PAIRCHIVE_DATA_DIR": str(data)}
    )
    close_all()
    return result


def one_error_line(result: Result) -> str:
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output, result.output
    (line,) = result.output.strip().splitlines()
    assert line.startswith("Error: ")
    return line


def revision_of(url: str) -> str | None:
    engine = make_engine(url)
    try:
        return current_revision(engine)
    finally:
        engine.dispose()


@pytest.fixture
def old_database(db_url: str) -> Iterator[str]:
    """A database whose schema is one migration behind this code."""
    engine = make_engine(db_url)
    command.upgrade(alembic_config(engine), previous_revision())
    engine.dispose()
    yield db_url


@pytest.mark.parametrize("reader", [r for r in READERS if r != "db status"])  # db status: its own test below
def test_a_reader_leaves_a_database_at_an_old_revision_as_it_is_and_names_db_upgrade(
    reader: str, old_database: str, sources: Path, tmp_path: Path
) -> None:
    if not old_database.startswith("sqlite") and reader not in MAIN_READERS:
        pytest.skip("every reader runs on SQLite; the main ones on PostgreSQL too")
    result = invoke(READERS[reader][0], old_database, sources, tmp_path / "data")
    line = one_error_line(result)
    assert f"schema at revision {previous_revision()}, older than" in line
    assert "run `pairchive db upgrade`" in line
    assert revision_of(old_database) == previous_revision()


def test_db_upgrade_brings_an_old_database_to_the_newest_revision_and_readers_read_it(
    old_database: str, sources: Path, tmp_path: Path
) -> None:
    upgraded = invoke(["db", "upgrade"], old_database, sources, tmp_path / "data")
    assert upgraded.exit_code == 0, upgraded.output
    assert revision_of(old_database) == head_revision()
    runs = invoke(["runs"], old_database, sources, tmp_path / "data")
    assert runs.exit_code == 0 and "no runs recorded" in runs.output


def test_a_crawl_brings_an_old_database_to_the_newest_revision(
    old_database: str, sources: Path, tmp_path: Path
) -> None:
    cfg = AppConfig(db_url=old_database, sources_path=str(sources), data_dir=str(tmp_path / "data"))
    (run,) = crawl(cfg, parse_sources(SOURCES, str(sources)), log_sink=None)
    assert run.status == "failed"  # nothing answers on port 9: the run is recorded all the same
    close_all()
    assert revision_of(old_database) == head_revision()


def test_db_status_reports_an_old_database_without_upgrading_it(
    old_database: str, sources: Path, tmp_path: Path
) -> None:
    result = invoke(["db", "status"], old_database, sources, tmp_path / "data")
    assert result.exit_code == 0 and "needs `pairchive db upgrade`" in result.output
    assert revision_of(old_database) == previous_revision()


def test_a_reader_of_a_database_ahead_of_this_pairchive_asks_for_a_newer_pairchive(
    db_url: str, sources: Path, tmp_path: Path
) -> None:
    fill(db_url)
    engine = make_engine(db_url)
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = '9999_from_the_future'"))
    engine.dispose()
    line = one_error_line(invoke(["search", "结对"], db_url, sources, tmp_path / "data"))
    assert "9999_from_the_future, unknown to this pairchive" in line and line.endswith("upgrade pairchive")
    assert revision_of(db_url) == "9999_from_the_future"


def test_the_schema_head_a_reader_compares_with_is_the_newest_migration() -> None:
    assert head_revision() == SCHEMA_HEAD


def test_a_reader_of_a_database_without_a_pairchive_schema_names_db_upgrade(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    sqlite3.connect(path).execute("CREATE TABLE notes (x TEXT)").connection.close()
    with pytest.raises(StorageError, match=r"no pairchive schema here .*`pairchive db upgrade` creates it"):
        open_for_reading(f"sqlite:///{path}")
    with sqlite3.connect(path) as conn:
        assert [r[0] for r in conn.execute("SELECT name FROM sqlite_master")] == ["notes"]


# The two commands about the configured sources answer before the first crawl: nothing has run yet.
BEFORE_THE_FIRST_CRAWL = ("status", "sources list")


@pytest.mark.parametrize("reader", [r for r in READERS if r not in BEFORE_THE_FIRST_CRAWL])
def test_a_reader_of_a_missing_sqlite_file_fails_in_one_line_and_creates_nothing(
    reader: str, sources: Path, tmp_path: Path
) -> None:
    path = tmp_path / "missing.db"
    line = one_error_line(invoke(READERS[reader][0], str(path), sources, tmp_path / "data"))
    assert line == f"Error: no database file {path}: `pairchive db upgrade` (or a crawl) creates it"
    assert not any(p.name.startswith("missing.db") for p in tmp_path.iterdir())


@pytest.mark.parametrize("reader", BEFORE_THE_FIRST_CRAWL)
def test_status_and_sources_list_of_an_archive_not_made_yet_show_the_sources_as_never_run_and_create_nothing(
    reader: str, sources: Path, tmp_path: Path
) -> None:
    path = tmp_path / "missing.db"
    result = CliRunner().invoke(
        main,
        [*READERS[reader][0], "--db", str(path), "--sources", str(sources)],
        env={"PAIRCHIVE_DATA_DIR": str(tmp_path / "data")},
    )
    close_all()
    assert result.exit_code == 0, result.output
    assert "p " in result.stdout and "never" in result.stdout, result.stdout
    assert result.stderr.strip() == (
        f"no archive yet (no database file {path}: `pairchive db upgrade` (or a crawl) creates it): "
        "the sources as configured, none has run"
    )
    assert not any(p.name.startswith("missing.db") for p in tmp_path.iterdir())


def test_a_reader_of_a_file_that_is_not_a_database_fails_in_one_line(sources: Path, tmp_path: Path) -> None:
    path = tmp_path / "notes.db"
    path.write_bytes(b"these are not the pages of a database\n" * 200)
    line = one_error_line(invoke(["search", "结对"], str(path), sources, tmp_path / "data"))
    assert "file is not a database" in line


# --- A read-only SQLite file in a read-only directory ---------------------------------------------------

CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, PR_CAPBSET_DROP = 1, 2, 24


def _without_permission_override() -> None:
    """In the child, before exec: root keeps to file modes like anyone (no CAP_DAC_OVERRIDE)."""
    libc = ctypes.CDLL(None, use_errno=True)
    for cap in (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH):
        if libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "cannot drop the permission override")


def run_unprivileged(args: list[str], db: Path, sources: Path) -> subprocess.CompletedProcess[str]:
    """`pairchive ARGS` in a process for which read-only files are read-only, whoever runs the tests."""
    env = {
        **os.environ,
        "PYTHONPATH": str(PROJECT),
        "PAIRCHIVE_SOURCES": str(sources),
        "PAIRCHIVE_DATA_DIR": str(db.parent / "data"),
    }
    return subprocess.run(
        [sys.executable, "-m", "crawler", *args, "--db", str(db)],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        preexec_fn=_without_permission_override if os.geteuid() == 0 else None,
        check=False,
    )


@pytest.fixture
def read_only_folder() -> Iterator[Path]:
    """A folder others may enter (the unprivileged child reads in it); made read-only by the test."""
    folder = Path(tempfile.mkdtemp(prefix="pairchive-ro-"))
    folder.chmod(0o755)
    try:
        yield folder
    finally:
        for path in [folder, *folder.iterdir()]:
            path.chmod(0o755)
        shutil.rmtree(folder)


def freeze(folder: Path) -> dict[str, str]:
    """Every file in `folder` read-only, then the folder; what each file holds, to compare later."""
    held = {}
    for path in folder.iterdir():
        path.chmod(stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)
        held[path.name] = hashlib.sha256(path.read_bytes()).hexdigest()
    folder.chmod(0o555)
    return held


def held_now(folder: Path) -> dict[str, str]:
    return {path.name: hashlib.sha256(path.read_bytes()).hexdigest() for path in folder.iterdir()}


def test_every_reader_reads_a_read_only_sqlite_file_in_a_read_only_folder(
    read_only_folder: Path, sources: Path
) -> None:
    db = read_only_folder / "archive.db"
    fill(f"sqlite:///{db}")
    (read_only_folder / "archive.db.migrate-lock").unlink()
    assert sorted(p.name for p in read_only_folder.iterdir()) == ["archive.db"]  # the writer closed cleanly
    held = freeze(read_only_folder)
    for reader, (args, shows) in READERS.items():
        result = run_unprivileged(args, db, sources)
        assert result.returncode == 0, (reader, result.stderr)
        assert shows in result.stdout, (reader, result.stdout)
    assert held_now(read_only_folder) == held  # not a byte written, no file made


def test_a_read_only_wal_database_with_commits_not_yet_merged_reads_them(
    read_only_folder: Path, sources: Path, tmp_path: Path
) -> None:
    live = tmp_path / "live.db"
    fill(f"sqlite:///{live}")
    writer = sqlite3.connect(live)
    try:
        writer.execute("PRAGMA wal_autocheckpoint=0")  # the commit below stays in the -wal file
        writer.execute("UPDATE articles SET title = '已提交未合并的标题'")
        writer.commit()
        # The files as a crash would leave them: the commit is in the -wal file only.
        for suffix in ("", "-wal", "-shm"):
            shutil.copyfile(f"{live}{suffix}", read_only_folder / f"archive.db{suffix}")
    finally:
        writer.close()
    freeze(read_only_folder)
    result = run_unprivileged(["search", "结对"], read_only_folder / "archive.db", sources)
    assert result.returncode == 0, result.stderr
    assert "已提交未合并的标题" in result.stdout


def test_a_reader_connection_to_sqlite_refuses_writes(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'a.db'}"
    fill(url)
    database = open_for_reading(url)
    assert not database.writable
    with pytest.raises(sa.exc.OperationalError, match="readonly database"), database.sessions.begin() as s:
        s.execute(sa.text("DELETE FROM articles"))
    close_all()


# --- A PostgreSQL role that may only read ---------------------------------------------------------------


@pytest.fixture
def reader_role(db_url: str) -> Iterator[tuple[str, str]]:
    """The archive at `db_url` filled, and the URL of a role in it with USAGE and SELECT only; the role is
    dropped afterwards."""
    if not db_url.startswith("postgresql"):
        pytest.skip("a role is PostgreSQL's")
    fill(db_url)
    url = make_url(db_url)
    schema = str(url.query["options"]).removeprefix("-csearch_path=")
    role = f"pairchive_reader_{uuid.uuid4().hex[:12]}"
    owner = make_engine(db_url)
    with owner.begin() as conn:
        conn.execute(sa.text(f'CREATE ROLE "{role}" LOGIN'))
        conn.execute(sa.text(f'GRANT USAGE ON SCHEMA "{schema}" TO "{role}"'))
        conn.execute(sa.text(f'GRANT SELECT ON ALL TABLES IN SCHEMA "{schema}" TO "{role}"'))
    try:
        yield db_url, url.set(username=role, password=None).render_as_string(hide_password=False)
    finally:
        close_all()
        with owner.begin() as conn:
            conn.execute(sa.text(f'DROP OWNED BY "{role}"'))
            conn.execute(sa.text(f'DROP ROLE "{role}"'))
        owner.dispose()


@pytest.mark.parametrize("reader", MAIN_READERS)
def test_a_reader_works_as_a_postgresql_role_that_may_only_read(
    reader: str, reader_role: tuple[str, str], sources: Path, tmp_path: Path
) -> None:
    _, reader_url = reader_role
    args, shows = READERS[reader]
    result = invoke(args, reader_url, sources, tmp_path / "data")
    assert result.exit_code == 0, result.output
    assert shows in result.output


def test_a_postgresql_reader_session_refuses_writes_even_where_the_role_may_write(
    reader_role: tuple[str, str],
) -> None:
    owner_url, _ = reader_role
    database = open_for_reading(owner_url)
    with (
        pytest.raises(sa.exc.DBAPIError, match="read-only transaction"),
        database.sessions.begin() as s,
    ):
        s.execute(sa.text("DELETE FROM articles"))
    close_all()
