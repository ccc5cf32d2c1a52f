"""Shared fixtures: databases (SQLite always, PostgreSQL when PAIRCHIVE_TEST_PG_URL is set), Redis (when
PAIRCHIVE_TEST_REDIS_URL is set; a private redis-server where installed) and the sample web."""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from crawler.sampleweb import SampleWeb
from storage.db import close_all, open_for_writing
from tests.crawls import slow_portal as _slow_portal
from tests.hostile import HostileWeb
from tests.redisserver import PrivateRedis, configured_url, prefixed, private_server

PG_ENV = "PAIRCHIVE_TEST_PG_URL"
pytest_plugins = ["tests.browser"]  # the headless Chromium fixtures of the browser tests


def _pg_schema_url(base: str) -> Iterator[str]:
    """A URL whose connections live in a fresh schema, dropped afterwards: tests never see each other's rows."""
    schema = f"pairchive_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(base)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    url = make_url(base).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        close_all()
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Each storage test runs once on a fresh SQLite file and once on PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'test.db'}"
        close_all()
        return
    base = os.environ.get(PG_ENV)
    if not base:
        pytest.skip(
            f"PostgreSQL tests need {PG_ENV} (e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test)"
        )
    yield from _pg_schema_url(base)


@pytest.fixture(scope="session")
def sample_web() -> Iterator[SampleWeb]:
    """The sample portals, served on 127.0.0.1 for the whole session."""
    with SampleWeb() as web:
        yield web


@pytest.fixture
def slow_portal() -> Iterator[tuple[str, threading.Event, threading.Event]]:
    """A portal whose second article waits for the test (tests.crawls.slow_portal): its root URL, the event
    set when the second article is asked for, and the event that releases it."""
    with _slow_portal() as portal:
        yield portal


@pytest.fixture(scope="session")
def hostile() -> Iterator[HostileWeb]:
    """The hostile web (tests.hostile), served on 127.0.0.1 for the whole session: a case per class of
    hostile input."""
    with HostileWeb() as web:
        yield web


@pytest.fixture(scope="session", autouse=True)
def _outside_the_project(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """The suite runs in a folder of its own: what a command writes in the current directory by default
    (./pairchive.db, ./pairchive-data for a PostgreSQL archive's captures) never lands in the project."""
    here = os.getcwd()
    os.chdir(tmp_path_factory.mktemp("cwd"))
    try:
        yield
    finally:
        os.chdir(here)


@pytest.fixture
def empty_archive(tmp_path: Path) -> Iterator[str]:
    """The path of an empty SQLite archive at the newest schema: readers (search, runs...) open only an
    archive a writer made, and make none."""
    path = tmp_path / "a.db"
    open_for_writing(f"sqlite:///{path}")
    close_all()
    yield str(path)
    close_all()


@pytest.fixture
def redis_url() -> str:
    """The Redis the distributed tests use (PAIRCHIVE_TEST_REDIS_URL); the test skips when it is unset."""
    return configured_url()


@pytest.fixture
def redis_prefix(redis_url: str) -> Iterator[str]:
    """A key prefix of this test's own (`pt-<hex>`) on that Redis; every key under it is deleted afterwards."""
    with prefixed(redis_url) as prefix:
        yield prefix


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    """A redis-server of this test's own on a free loopback port, its data kept in tmp_path so that `.stop()`
    then `.start()` (the same port) keeps every key; stopped at teardown. Skips where none is installed."""
    folder = tmp_path / "redis"
    folder.mkdir()
    with private_server(folder) as server:
        yield server
