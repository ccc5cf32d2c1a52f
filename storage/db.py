"""Engine and session setup, and schema migrations applied from code on first use."""

from __future__ import annotations

import fcntl
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ArgumentError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from storage.errors import DatabaseUnreachable, StorageError
from storage.redact import display_url, scrub

MIGRATIONS = Path(__file__).parent / "migrations"
SQLITE_PAGE_SIZE = 16384
SQLITE_BUSY_TIMEOUT = 30.0  # seconds a connection waits for another's lock, unless the environment says


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    # Articles are a few KB of text each: 16 KB pages keep an archive near half the size of 4 KB ones.
    # It takes effect only on a new file, before its first table (and before WAL); elsewhere it is a no-op.
    cur.execute(f"PRAGMA page_size={SQLITE_PAGE_SIZE}")
    cur.execute("PRAGMA journal_mode=WAL")
    # With WAL, NORMAL cannot corrupt the file; a power cut may lose the last commits, which the next
    # nightly run fetches again. FULL would fsync once per stored article.
    cur.execute("PRAGMA synchronous=NORMAL")
    # A crawl and a reader (CLI, daemon) may overlap: wait for the lock rather than fail at once.
    cur.execute(f"PRAGMA busy_timeout={round(_busy_timeout() * 1000)}")
    cur.close()


def _busy_timeout() -> float:
    """Seconds an SQLite connection waits for a lock: PAIRCHIVE_SQLITE_BUSY_TIMEOUT, read as each connection
    opens (tests that hold a lock on purpose need not wait half a minute), else SQLITE_BUSY_TIMEOUT."""
    value = os.environ.get("PAIRCHIVE_SQLITE_BUSY_TIMEOUT", "").strip()
    try:
        seconds = float(value) if value else SQLITE_BUSY_TIMEOUT
    except ValueError:
        seconds = -1.0
    if not 0 <= seconds <= 86400:  # nan fails both comparisons
        raise StorageError(f"PAIRCHIVE_SQLITE_BUSY_TIMEOUT={value!r} is not a number of seconds (0-86400)")
    return seconds


def make_engine(url: str) -> Engine:
    """An engine for `url`; SQLite gets WAL and foreign keys on every connection."""
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):  # a port that is not a number is a ValueError
        raise StorageError(f"bad database URL {display_url(url)!r}") from None
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            parent = Path(parsed.database).parent
            if not parent.is_dir():
                raise StorageError(f"{display_url(url)}: directory {parent} does not exist")
        engine = create_engine(parsed)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    try:
        return create_engine(parsed, pool_pre_ping=True)
    except (ImportError, SQLAlchemyError) as exc:
        raise StorageError(f"{display_url(url)}: {scrub(str(exc))}") from None


def alembic_config(engine: Engine) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["engine"] = engine
    return cfg


def head_revision() -> str | None:
    return ScriptDirectory(str(MIGRATIONS)).get_current_head()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


_MIGRATING = threading.Lock()
PG_MIGRATION_LOCK = 0x70616972  # "pair": the advisory lock key all pairchive processes migrate under


@contextmanager
def _migration_lock(engine: Engine) -> Iterator[None]:
    """One migration at a time: across threads (a lock), processes on one SQLite file (flock on a file
    beside it) and processes on one PostgreSQL database (an advisory lock). The daemon's jobs all start at
    02:00, and the first one to open a new database or a new release must not race the others."""
    with _MIGRATING:
        if engine.dialect.name == "postgresql":
            with engine.connect() as conn:
                conn.execute(text("SELECT pg_advisory_lock(:key)"), {"key": PG_MIGRATION_LOCK})
                try:
                    yield
                finally:
                    conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": PG_MIGRATION_LOCK})
                    conn.commit()
            return
        database = engine.url.database
        if engine.dialect.name != "sqlite" or not database or database == ":memory:":
            yield
            return
        with open(f"{database}.migrate-lock", "a") as lock_file:
            fcntl.flock(lock_file, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock_file, fcntl.LOCK_UN)


def upgrade(engine: Engine) -> None:
    """Bring the schema to the newest migration; a no-op when it is already there."""
    try:
        if current_revision(engine) == head_revision():
            return
        with _migration_lock(engine):
            if current_revision(engine) != head_revision():  # another process may have done it meanwhile
                command.upgrade(alembic_config(engine), "head")
    except OperationalError as exc:
        message = f"{display_url(engine.url)}: {scrub(str(exc.orig))}"
        # A server that does not answer (down, still starting, too busy) may answer later; a database or
        # role that does not exist, a refused password or a SQLite file that cannot be opened will not.
        if engine.dialect.name != "sqlite" and _unreachable(str(exc.orig)):
            raise DatabaseUnreachable(message) from None
        raise StorageError(message) from None


# What drivers say when the server is not there (yet): libpq's messages, as psycopg passes them on.
UNREACHABLE = (
    "connection refused",
    "timeout expired",
    "timed out",
    "could not translate host name",
    "no route to host",
    "network is unreachable",
    "the database system is starting up",
    "the database system is shutting down",
    "the database system is in recovery mode",
    "server closed the connection unexpectedly",
    "too many clients",
)


def _unreachable(message: str) -> bool:
    lowered = message.lower()
    return any(sign in lowered for sign in UNREACHABLE)


_OPEN: dict[str, tuple[Engine, sessionmaker[Session]]] = {}


def open_database(url: str) -> tuple[Engine, sessionmaker[Session]]:
    """Engine and session factory for `url`, with the schema migrated to the newest revision.

    One engine per URL per process: the crawl's stages, the run recorder and the CLI share it.
    """
    if url not in _OPEN:
        engine = make_engine(url)
        try:
            upgrade(engine)
        except BaseException:
            engine.dispose()
            raise
        _OPEN[url] = (engine, sessionmaker(engine, expire_on_commit=False))
    return _OPEN[url]


def close_all() -> None:
    """Dispose of every engine this process opened."""
    for engine, _ in _OPEN.values():
        engine.dispose()
    _OPEN.clear()
