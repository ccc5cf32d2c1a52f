"""Archives for the hostile tests: a database of either kind that lives as long as a test module (so a
module crawls its hostile pages once per database, not once per test), and one in-process crawl of a
source on the hostile web into it."""

from __future__ import annotations

import os
from collections.abc import Generator, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, cast

import pytest

from crawler.runner.crawl import RunSummary
from crawler.runner.crawl import crawl as run_crawl
from crawler.vocabulary.config import AppConfig
from crawler.vocabulary.sources import Source, parse_sources
from storage.db import close_all
from tests.conftest import PG_ENV, _pg_schema_url
from tests.crawls import LOOPBACK_SETTINGS

DATABASES = ["sqlite", "postgresql"]


@contextmanager
def database(kind: str, folder: Path) -> Iterator[str]:
    """A fresh database URL of `kind` (a SQLite file in `folder`, or a PostgreSQL schema of its own, dropped
    afterwards), for a module- or session-scoped fixture parametrized over DATABASES."""
    if kind == "sqlite":
        try:
            yield f"sqlite:///{folder / 'archive.db'}"
        finally:
            close_all()
        return
    base = os.environ.get(PG_ENV)
    if not base:
        pytest.skip(
            f"PostgreSQL tests need {PG_ENV} (e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test)"
        )
    # conftest's: a schema of its own, dropped when the generator closes
    schema = cast(Generator[str, None, None], _pg_schema_url(base))
    try:
        yield next(schema)
    finally:
        schema.close()


def hostile_source(name: str, start_urls: list[str], article_pattern: str, **keys: Any) -> Source:
    """A source on the hostile web (127.0.0.1 only) with these entry points."""
    lines = [
        "[[source]]",
        f'name = "{name}"',
        "start_urls = [" + ", ".join(f'"{u}"' for u in start_urls) + "]",
        'allowed_domains = ["127.0.0.1"]',
        f"article_pattern = '{article_pattern}'",
        'schedule = "0 2 * * *"',
        *(f"{key} = {value}" for key, value in keys.items()),
    ]
    (source,) = parse_sources("\n".join(lines) + "\n")
    return source


def crawl_once(db_url: str, data_dir: Path, source: Source, **settings: Any) -> RunSummary:
    """One crawl of `source` into `db_url`, its raw captures under `data_dir` (the crawl's own
    subprocess, loopback settings, no retries)."""
    (run,) = run_crawl(
        AppConfig(db_url=db_url, data_dir=str(data_dir)),
        [source],
        settings={**LOOPBACK_SETTINGS, "RETRY_TIMES": 0, **settings},
        log_sink=None,
    )
    close_all()
    return run
