"""Application configuration: built-in defaults < PAIRCHIVE_* environment variables < command-line flags."""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path

from crawler.vocabulary.errors import SourceConfigError, first_line

DEFAULT_DB = "sqlite:///pairchive.db"
DEFAULT_SOURCES = "sources.toml"
DEFAULT_CONTACT_URL = "https://github.com/pairchive/pairchive"
DEFAULT_DATA_DIR = "pairchive-data"  # for databases that are not a SQLite file
# A crawl running longer is ended and recorded as `timeout`: the daemon's --time-limit and the default of
# `pairchive crawl --timeout`, so that no crawl, scheduled or run by hand, goes on without end.
DEFAULT_TIME_LIMIT_MINUTES = 180.0
DEFAULT_REDIS_PREFIX = "pairchive"
DEFAULT_DONE_AFTER = 5.0  # seconds


class ConfigurationError(SourceConfigError):
    """A setting that cannot be used (a database URL that does not parse): like a bad sources file, a
    configuration error (exit status 2), not a failed run."""


def normalize_db_url(value: str) -> str:
    """Accept a SQLAlchemy URL or a plain file path (taken as a SQLite file)."""
    if "://" not in value:
        return f"sqlite:///{Path(value)}"
    # SQLAlchemy is imported where a URL is read: the CLI's help and its readers of files need none of it.
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        url = make_url(value)
    except (ArgumentError, ValueError) as exc:  # a port that is not a number is a ValueError
        # the URL itself is not repeated: it may hold a password, and unparsed it cannot be hidden
        raise ConfigurationError(f"bad database URL: {first_line(exc)}") from None
    if url.port is not None and not 1 <= url.port <= 65535:
        raise ConfigurationError(f"bad database URL: port {url.port} is not from 1 to 65535")
    return value


@dataclass(frozen=True)
class AppConfig:
    db_url: str = DEFAULT_DB
    sources_path: str = DEFAULT_SOURCES
    contact_url: str = DEFAULT_CONTACT_URL
    data_dir: str = ""  # empty: beside the SQLite file, else ./pairchive-data
    # Distributed crawls (docs/distributed.md): the Redis the coordinator and its workers share (empty:
    # crawls run on this machine), the prefix of every key, and how long a run's frontier must stay empty
    # with its workers idle before the coordinator calls the run done.
    redis_url: str = ""
    redis_prefix: str = DEFAULT_REDIS_PREFIX
    done_after: float = DEFAULT_DONE_AFTER

    @property
    def warc_dir(self) -> Path:
        """Where the runs' WARC files go: `warc/` in the data directory. Without one configured, that is
        the directory of the SQLite database file, so an archive's database and raw captures travel together."""
        if self.data_dir:
            return Path(self.data_dir) / "warc"
        from sqlalchemy.engine import make_url

        url = make_url(self.db_url)
        if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
            return Path(url.database).parent / "warc"
        return Path(DEFAULT_DATA_DIR) / "warc"

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> AppConfig:
        env = os.environ if environ is None else environ
        return cls(
            db_url=normalize_db_url(env.get("PAIRCHIVE_DB") or DEFAULT_DB),
            sources_path=env.get("PAIRCHIVE_SOURCES") or DEFAULT_SOURCES,
            contact_url=env.get("PAIRCHIVE_CONTACT_URL") or DEFAULT_CONTACT_URL,
            data_dir=env.get("PAIRCHIVE_DATA_DIR") or "",
            redis_url=env.get("PAIRCHIVE_REDIS") or "",
            redis_prefix=env.get("PAIRCHIVE_REDIS_PREFIX") or DEFAULT_REDIS_PREFIX,
        )

    def with_flags(
        self, *, db: str | None = None, sources: str | None = None, data_dir: str | None = None
    ) -> AppConfig:
        """Command-line flags win over everything else."""
        cfg = self
        if data_dir:
            cfg = replace(cfg, data_dir=data_dir)
        if db:
            cfg = replace(cfg, db_url=normalize_db_url(db))
        if sources:
            cfg = replace(cfg, sources_path=sources)
        return cfg
