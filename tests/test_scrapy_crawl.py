"""`scrapy crawl portal -a source=NAME`, the entry point scrapy.cfg advertises: a real `scrapy` subprocess,
in a folder holding the project's scrapy.cfg, against the loopback sample web."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from crawler.sampleweb import SampleWeb
from crawler.vocabulary.sources import load_sources, select
from storage.archive import upsert_sources
from storage.db import close_all, open_for_writing
from storage.leases import acquire, holders
from storage.models import Article, CrawlRun
from tests.crawls import LOOPBACK, demo_sources, run_rows

PROJECT = Path(__file__).resolve().parents[1]


def scrapy_crawl(
    folder: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """`scrapy crawl portal ARGS` run in `folder`, a copy of the project's scrapy.cfg beside it."""
    shutil.copy(PROJECT / "scrapy.cfg", folder / "scrapy.cfg")
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("PAIRCHIVE_", "SCRAPY_"))}
    environ["PYTHONPATH"] = os.pathsep.join([str(PROJECT), environ.get("PYTHONPATH", "")])
    return subprocess.run(
        [sys.executable, "-m", "scrapy", "crawl", "portal", *args, *LOOPBACK],
        cwd=folder,
        env={**environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_scrapy_crawl_portal_crawls_the_named_source_of_sources_toml_with_a_run_record(
    sample_web: SampleWeb, tmp_path: Path
) -> None:
    demo_sources(sample_web, tmp_path)  # ./sources.toml, the default
    db = f"sqlite:///{tmp_path / 'a.db'}"
    result = scrapy_crawl(tmp_path, "-a", "source=linxia-news", env={"PAIRCHIVE_DB": db})
    assert result.returncode == 0, result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    ((_, trigger, status, error),) = run_rows(db)
    assert (trigger, status, error) == ("scrapy", "ok", None)
    sessions = open_for_writing(db).sessions
    with sessions() as s:
        run = s.scalars(sa.select(CrawlRun)).one()
        assert run.exit_code == 0 and run.counts["stored"] >= 1
        assert s.scalar(sa.select(sa.func.count()).select_from(Article)) == run.counts["stored"]
        assert holders(s) == {}  # the lease was taken and released
    close_all()
    assert [p.parent.name for p in (tmp_path / "warc").rglob("*.warc.gz")] == ["linxia-news"]


def test_scrapy_crawl_portal_takes_the_database_from_its_setting_over_the_variable(
    sample_web: SampleWeb, tmp_path: Path
) -> None:
    (tmp_path / "conf").mkdir()
    sources = demo_sources(sample_web, tmp_path / "conf")
    db = f"sqlite:///{tmp_path / 'chosen.db'}"
    result = scrapy_crawl(
        tmp_path,
        "-a",
        "source=huli-edu",
        "-s",
        f"PAIRCHIVE_DB={db}",
        env={"PAIRCHIVE_SOURCES": str(sources), "PAIRCHIVE_DB": f"sqlite:///{tmp_path / 'other.db'}"},
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert [row[1:3] for row in run_rows(db)] == [("scrapy", "ok")]
    assert not (tmp_path / "other.db").exists()


@pytest.mark.parametrize(
    ("args", "sources", "expected"),
    [
        (["-a", "source=nope"], True, "sources.toml: no source named 'nope' (known: "),
        (["-a", "source=huli-edu"], False, "sources.toml: sources file not found"),
        (
            ["-a", "source=huli-edu", "-s", "PAIRCHIVE_DB=postgresql+psycopg://u:pw@db:99999/x"],
            True,
            "bad database URL: port 99999 is not from 1 to 65535",
        ),
        ([], True, "give the source to crawl: scrapy crawl portal -a source=NAME"),
        (["-a", "source=huli-edu", "-a", "pages=3"], True, "unknown spider argument 'pages'"),
    ],
    ids=["unknown-source", "no-sources-file", "bad-database-url", "no-source", "unknown-argument"],
)
def test_scrapy_crawl_portal_that_cannot_start_says_why_in_one_line_and_exits_2(
    sample_web: SampleWeb, tmp_path: Path, args: list[str], sources: bool, expected: str
) -> None:
    if sources:
        demo_sources(sample_web, tmp_path)
    result = scrapy_crawl(tmp_path, *args, env={"PAIRCHIVE_DB": f"sqlite:///{tmp_path / 'a.db'}"})
    assert result.returncode == 2, result.stderr[-2000:]
    (line,) = result.stderr.splitlines()
    assert line.startswith("Error: ") and expected in line
    assert "pw" not in line


def test_scrapy_crawl_portal_of_a_busy_source_names_the_holder_and_exits_3(
    sample_web: SampleWeb, tmp_path: Path
) -> None:
    sources = demo_sources(sample_web, tmp_path)
    db = f"sqlite:///{tmp_path / 'a.db'}"
    (source,) = select(load_sources(sources), ["huli-edu"])
    sessions = open_for_writing(db).sessions
    with sessions.begin() as s:
        acquire(s, upsert_sources(s, [source.to_dict()])["huli-edu"], "cli@operator:42:abcdef")
    close_all()
    result = scrapy_crawl(tmp_path, "-a", "source=huli-edu", env={"PAIRCHIVE_DB": db})
    assert result.returncode == 3, result.stderr[-2000:]
    (line,) = result.stderr.splitlines()
    assert line.startswith("skipped: huli-edu is being crawled by cli@operator:42:abcdef")
    assert run_rows(db) == []
