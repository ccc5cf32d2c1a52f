"""Opening the archive: engine and session setup, for a writer or for a reader, and schema migrations.

A writer (a crawl, the daemon, reprocess, `pairchive db upgrade`, the demo) opens the database with
`open_for_writing`, which brings its schema to the newest migration. A reader (search, show, export, runs,
status...) opens it with `open_for_reading`, which never writes: no migration, no PRAGMA that writes, a
SQLite file opened read-only, a PostgreSQL session whose transactions are read-only. A reader finds the
schema at the newest revision or says in one line what to do (`pairchive db upgrade`, or upgrade pairchive).
The command (or the crawl, where it starts) opens the database once and hands the `Database` down.
"""

from __future__ import annotations

import fcntl
import os
import threading
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import create_engine, event, inspect, text
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from storage.errors import DatabaseUnreachable, NoArchive, StorageError
from storage.migrations.frozen.errors import MigrationRefused
from storage.redact import display_url, scrub

# Alembic is imported by the functions that check or apply migrations, when they are called: a command
# that only imports this module (for its help, say) does not pay for loading it.
if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).parent / "migrations"
# The newest migration's revision, so that a reader of an up-to-date archive checks it with one query and
# without loading Alembic (a third of a search's start-up); a test keeps it equal to the migrations' head.
SCHEMA_HEAD = "0013"
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


def seconds_from_env(name: str, default: float, error: type[Exception] = StorageError) -> float:
    """A number of seconds (0-86400) from the environment variable `name`, else `default`; a value that
    is not one raises `error` in one line. Read when used, so a test may set it for one case."""
    value = os.environ.get(name, "").strip()
    try:
        seconds = float(value) if value else default
    except ValueError:
        seconds = -1.0
    if not 0 <= seconds <= 86400:  # nan fails both comparisons
        raise error(f"{name}={value!r} is not a number of seconds (0-86400)")
    return seconds


def _busy_timeout() -> float:
    """Seconds an SQLite connection waits for a lock: PAIRCHIVE_SQLITE_BUSY_TIMEOUT, read as each connection
    opens (tests that hold a lock on purpose need not wait half a minute), else SQLITE_BUSY_TIMEOUT."""
    return seconds_from_env("PAIRCHIVE_SQLITE_BUSY_TIMEOUT", SQLITE_BUSY_TIMEOUT)


def _sqlite_reader_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute(f"PRAGMA busy_timeout={round(_busy_timeout() * 1000)}")
    # Any write on this connection fails, whatever a query function does; no journal_mode, page_size or
    # synchronous here: the first of them writes the file, and none matters to a reader.
    cur.execute("PRAGMA query_only=ON")
    cur.close()


def make_engine(url: str, *, read_only: bool = False) -> Engine:
    """An engine for `url`; a writer's SQLite connections get WAL and foreign keys.

    `read_only`: a SQLite file is opened read-only (it must exist) and a PostgreSQL session's
    transactions are read-only, so nothing done through the engine can write.
    """
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):  # a port that is not a number is a ValueError
        raise StorageError(f"bad database URL {display_url(url)!r}") from None
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            parent = Path(parsed.database).parent
            if not parent.is_dir():
                raise StorageError(f"{display_url(url)}: directory {parent} does not exist")
        if read_only:
            engine = create_engine(_sqlite_read_only(parsed, url))
            event.listen(engine, "connect", _sqlite_reader_pragmas)
            return engine
        engine = create_engine(parsed)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    if read_only and parsed.get_backend_name() == "postgresql":
        # Every transaction of the session read-only: a write is refused by the server itself. Added to
        # the URL's own options (a search_path, say) rather than in their place.
        options = " ".join(filter(None, [str(parsed.query.get("options") or ""), READ_ONLY_OPTION]))
        parsed = parsed.update_query_dict({"options": options})
    try:
        return create_engine(parsed, pool_pre_ping=True)
    except (ImportError, SQLAlchemyError) as exc:
        raise StorageError(f"{display_url(url)}: {scrub(str(exc))}") from None


READ_ONLY_OPTION = "-c default_transaction_read_only=on"


def _sqlite_read_only(parsed: URL, url: str) -> URL:
    """The URL of a SQLite file opened read-only (SQLite's `file:` URI, `mode=ro`).

    A WAL database needs its -shm file, which a reader cannot create in a directory it may not write to.
    There, when no -wal file is left (every commit merged into the file, as at a writer's clean close)
    and the file itself has no write permission for anyone, the file is read as it is (`immutable=1`):
    nothing is pending, and no writer (of any user but root) can change it. A file someone may still
    write is never read as immutable: a writer of another user starting during a long read would make
    SQLite return wrong rows; there SQLite's own refusal is the answer.
    """
    if parsed.query.get("uri"):
        return parsed  # a `file:` URI already: the user's own flags
    database = parsed.database
    if not database or database == ":memory:":
        raise StorageError(f"{display_url(url)}: an in-memory database holds no archive to read")
    path = Path(os.path.abspath(database))
    if not path.is_file():
        raise NoArchive(f"no database file {path}: `pairchive db upgrade` (or a crawl) creates it")
    query = {"mode": "ro", "uri": "true"}
    unwritable = path.stat().st_mode & 0o222 == 0
    if unwritable and not os.access(path.parent, os.W_OK) and not Path(f"{path}-wal").exists():
        query["immutable"] = "1"
    return parsed.set(database="file:" + urllib.parse.quote(str(path)), query=query)


def alembic_config(engine: Engine) -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["engine"] = engine
    return cfg


def head_revision() -> str | None:
    from alembic.script import ScriptDirectory

    return ScriptDirectory(str(MIGRATIONS)).get_current_head()


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

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
                from alembic import command

                command.upgrade(alembic_config(engine), "head")
    except MigrationRefused as exc:  # rows a migration will not change: the operator's to correct
        raise StorageError(f"{display_url(engine.url)}: {exc}") from None
    except OperationalError as exc:
        raise _refused(engine, exc) from None


def _refused(engine: Engine, exc: DBAPIError) -> StorageError:
    """A driver's refusal to open or use the database, as one line naming it."""
    message = f"{display_url(engine.url)}: {scrub(str(exc.orig))}"
    # A server that does not answer (down, still starting, too busy) may answer later; a database or
    # role that does not exist, a refused password or a SQLite file that cannot be opened will not.
    if engine.dialect.name != "sqlite" and _unreachable(str(exc.orig)):
        return DatabaseUnreachable(message)
    return StorageError(message)


def stored_revision(engine: Engine) -> str | None:
    """The revision in `alembic_version`, read with plain SQL; None where there is no such table."""
    with engine.connect() as conn:
        if not inspect(conn).has_table("alembic_version"):
            return None
        value = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
        return None if value is None else str(value)


def check_revision(engine: Engine, url: str) -> None:
    """A reader's check: the schema is at the newest revision this code knows, or a StorageError says in
    one line what to do (bring the database up: `pairchive db upgrade`; or bring pairchive up)."""
    try:
        current = stored_revision(engine)
    except DBAPIError as exc:  # not a database at all, or one this role may not read
        raise _refused(engine, exc) from None
    if current == SCHEMA_HEAD:
        return
    head = head_revision()
    if current == head:
        return
    shown = display_url(url)
    if current is None:
        raise NoArchive(
            f"{shown}: no pairchive schema here (a new or foreign database); `pairchive db upgrade` creates it"
        )
    from alembic.script import ScriptDirectory

    known = {script.revision for script in ScriptDirectory(str(MIGRATIONS)).walk_revisions()}
    if current in known:
        raise StorageError(
            f"{shown}: schema at revision {current}, older than this pairchive's {head}: "
            "run `pairchive db upgrade`"
        )
    raise StorageError(
        f"{shown}: schema at revision {current}, unknown to this pairchive (newest it knows: {head}): "
        "a newer pairchive upgraded it; upgrade pairchive"
    )


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


@dataclass(frozen=True, eq=False)
class Database:
    """An opened archive: its engine, its session factory and whether this process may write to it."""

    url: str
    engine: Engine
    sessions: sessionmaker[Session]
    writable: bool


# One engine per URL and purpose per process: a crawl's stages, its run recorder and its other components
# are separate Scrapy objects that share the writer opened first.
_OPEN: dict[tuple[str, bool], Database] = {}


def open_for_writing(url: str) -> Database:
    """The database at `url` for a writer, its schema brought to the newest migration when this process
    opens it first (under a lock across processes, so writers starting together migrate once)."""
    key = (url, True)
    if key not in _OPEN:
        engine = make_engine(url)
        try:
            upgrade(engine)
        except BaseException:
            engine.dispose()
            raise
        _OPEN[key] = Database(url, engine, sessionmaker(engine, expire_on_commit=False), writable=True)
    return _OPEN[key]


def open_for_reading(url: str) -> Database:
    """The database at `url` for a reader: never migrated, never written (a read-only SQLite file or
    PostgreSQL role will do); its schema must be at the newest revision (see check_revision)."""
    key = (url, False)
    opened = key not in _OPEN
    database = _OPEN.get(key)
    if database is None:
        engine = make_engine(url, read_only=True)
        database = Database(url, engine, sessionmaker(engine, expire_on_commit=False), writable=False)
    try:
        check_revision(database.engine, url)  # each time: a reader in a long process may outlive a schema
    except BaseException:
        _OPEN.pop(key, None)
        database.engine.dispose()
        raise
    if opened:
        _OPEN[key] = database
    return database


def close_all() -> None:
    """Dispose of every engine this process opened."""
    for database in _OPEN.values():
        database.engine.dispose()
    _OPEN.clear()
