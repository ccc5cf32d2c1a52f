"""The CLI starts at once: its help and the archivist's readers load nothing of the crawl (Scrapy, Twisted,
trafilatura, numpy), each checked in a fresh interpreter, on a small real archive."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import click
import pytest

from crawler.cli import COMMANDS
from storage.archive import finish_run, insert_article, start_run, upsert_sources
from storage.db import close_all, open_for_writing
from storage.normalize import search_form

# What the crawl brings and no reader needs: each takes longer to load than a search takes to run
# (prometheus_client: the metrics of the daemon and of `crawl --metrics-file`).
CRAWL_ONLY = {"scrapy", "twisted", "trafilatura", "numpy", "prometheus_client"}

# `pairchive ARGS` in a fresh interpreter that writes, at exit, the names of the modules it loaded.
LOADING = """
import atexit, json, os, sys

def record():
    with open(os.environ["LOADED_MODULES_FILE"], "w", encoding="utf-8") as out:
        json.dump(sorted(sys.modules), out)

atexit.register(record)
from crawler.cli import main
main(sys.argv[1:], prog_name="pairchive")
"""

# Every command's and subcommand's --help, one after the other in one fresh interpreter: what each loaded.
EVERY_HELP = """
import contextlib, io, json, sys
import click
from crawler.cli import main

loaded = {}

def walk(group, prefix):
    for name in sorted(group.commands):
        before = set(sys.modules)
        command = group.commands[name]
        path = [*prefix, name]
        with contextlib.redirect_stdout(io.StringIO()):
            status = main.main([*path, "--help"], prog_name="pairchive", standalone_mode=False)
        loaded[" ".join(path)] = {"status": status, "modules": sorted(set(sys.modules) - before)}
        if isinstance(command, click.Group):
            walk(command, path)

walk(main, [])
print(json.dumps(loaded))
"""

SOURCES = """[[source]]
name = "huli-edu"
title = "湖里教育"
start_urls = ["http://127.0.0.1/list.html"]
article_pattern = '/\\d+\\.html$'
"""


def top_level(modules: list[str]) -> set[str]:
    return {name.partition(".")[0] for name in modules}


def pairchive_loading(tmp_path: Path, *args: str) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    """Run `pairchive ARGS` in a fresh interpreter; its result and the modules it loaded."""
    record = tmp_path / "modules.json"
    record.unlink(missing_ok=True)
    result = subprocess.run(
        [sys.executable, "-c", LOADING, *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "LOADED_MODULES_FILE": str(record)},
    )
    return result, set(json.loads(record.read_text(encoding="utf-8")))


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """A migrated SQLite archive with one finished run and two stories, and its sources file."""
    folder = tmp_path_factory.mktemp("archive")
    db = f"sqlite:///{folder / 'a.db'}"
    sessions = open_for_writing(db).sessions
    with sessions.begin() as s:
        source_id = upsert_sources(
            s, [{"name": "huli-edu", "title": "湖里教育", "timezone": "Asia/Shanghai"}]
        )["huli-edu"]
        run_id = start_run(s, source_id, "cli")
        for n, (title, text) in enumerate(
            [
                ("湖里区与临夏县学校结对帮扶", "两地学校结对帮扶，教师互派交流，学生手拉手。"),
                ("湖里区学校结对共建", "湖里区16所学校与闽宁镇学校结对共建，共享课程。"),
            ],
            1,
        ):
            insert_article(
                s,
                {
                    "source_id": source_id,
                    "run_id": run_id,
                    "url": f"http://127.0.0.1/{n}.html",
                    "fetched_url": f"http://127.0.0.1/{n}.html",
                    "title": title,
                    "published": datetime(2022, 6, n, 2, tzinfo=UTC),
                    "author": None,
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
        finish_run(s, run_id, status="ok", counts={"fetched": 2, "stored": 2})
    close_all()
    sources = folder / "sources.toml"
    sources.write_text(SOURCES, encoding="utf-8")
    yield {"db": db, "sources": str(sources)}
    close_all()


def test_the_help_loads_no_command_module_nor_a_database_library(tmp_path: Path) -> None:
    result, loaded = pairchive_loading(tmp_path, "--help")
    assert result.returncode == 0 and "search     Find stored stories." in result.stdout
    assert not top_level(sorted(loaded)) & (CRAWL_ONLY | {"alembic", "sqlalchemy"})
    assert not {name for name in loaded if name.startswith("crawler.cli.")} - {
        "crawler.cli.lazy",
        "crawler.cli.options",
    }


def test_every_commands_help_loads_nothing_of_the_crawl_nor_alembic() -> None:
    result = subprocess.run(
        [sys.executable, "-c", EVERY_HELP], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr[-2000:]
    loaded = json.loads(result.stdout)
    assert {"crawl", "extract", "reprocess", "demo", "daemon", "sources check", "db upgrade"} <= set(loaded)
    for path, seen in loaded.items():
        assert seen["status"] == 0, path
        assert not top_level(seen["modules"]) & (CRAWL_ONLY | {"alembic"}), path


READERS = [
    pytest.param(["search", "结对", "--db", "{db}"], "湖里区与临夏县学校结对帮扶", id="search"),
    pytest.param(["search", "结对", "--json", "--db", "{db}"], '"id": 1', id="search-json"),
    pytest.param(["show", "2", "--db", "{db}"], "湖里区学校结对共建", id="show"),
    pytest.param(["export", "--format", "jsonl", "--db", "{db}"], "闽宁镇", id="export-jsonl"),
    pytest.param(["export", "--format", "csv", "--db", "{db}"], "http://127.0.0.1/1.html", id="export-csv"),
    pytest.param(["stories", "--db", "{db}"], "湖里区学校结对共建", id="stories"),
    pytest.param(["runs", "--db", "{db}"], "huli-edu", id="runs"),
    pytest.param(["status", "--sources", "{sources}", "--db", "{db}"], "huli-edu", id="status"),
    pytest.param(
        ["sources", "list", "--sources", "{sources}", "--db", "{db}"], "湖里教育", id="sources-list"
    ),
    pytest.param(["warc", "verify", "--db", "{db}"], "", id="warc-verify"),
    # the gazetteer resolves the place; nothing of the crawl is needed for it
    pytest.param(["pairings", "--place", "湖里区", "--province", "福建", "--db", "{db}"], "", id="pairings"),
]


@pytest.mark.parametrize(("args", "shown"), READERS)
def test_a_reader_of_the_archive_loads_nothing_of_the_crawl_nor_alembic(
    args: list[str], shown: str, archive: dict[str, str], tmp_path: Path
) -> None:
    result, loaded = pairchive_loading(tmp_path, *(arg.format(**archive) for arg in args))
    assert result.returncode == 0, result.stderr[-2000:]
    assert shown in result.stdout
    # an archive at the newest revision is checked with one query: Alembic only for one that is not
    assert not top_level(sorted(loaded)) & (CRAWL_ONLY | {"alembic"})


def test_each_command_is_listed_by_the_first_sentence_of_its_own_help() -> None:
    for name, entry in COMMANDS.items():
        command = entry.load()
        stand_in = entry.stand_in(name)
        assert command.name == name
        assert not command.hidden and not command.deprecated and command.short_help is None, name
        for width in (10, 30, 45, 60, 85, 10**6):
            assert stand_in.get_short_help_str(width) == command.get_short_help_str(width), (name, width)


def test_the_registry_names_every_command_of_the_group() -> None:
    from crawler.cli import main

    assert isinstance(main, click.Group)
    assert sorted(main.commands) == sorted(COMMANDS)
    assert all(main.commands[name] is COMMANDS[name].load() for name in COMMANDS)
