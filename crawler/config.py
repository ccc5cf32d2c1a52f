"""Application configuration: built-in defaults < PAIRCHIVE_* environment variables < command-line flags."""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path

from sqlalchemy.engine import make_url

DEFAULT_DB = "sqlite:///pairchive.db"
DEFAULT_SOURCES = "sources.toml"
DEFAULT_CONTACT_URL = "https://github.com/pairchive/pairchive"
DEFAULT_DATA_DIR = "pairchive-data"  # for databases that are not a SQLite file


def normalize_db_url(value: str) -> str:
    """Accept a SQLAlchemy URL or a plain file path (taken as a SQLite file)."""
    if "://" in value:
        return value
    return f"sqlite:///{Path(value)}"


@dataclass(frozen=True)
class AppConfig:
    db_url: str = DEFAULT_DB
    sources_path: str = DEFAULT_SOURCES
    contact_url: str = DEFAULT_CONTACT_URL
    data_dir: str = ""  # empty: beside the SQLite file, else ./pairchive-data

    @property
    def warc_dir(self) -> Path:
        """Where the runs' WARC files go: `warc/` in the data directory. Without one configured, that is
        the directory of the SQLite database file, so an archive's database and raw captures travel together."""
        if self.data_dir:
            return Path(self.data_dir) / "warc"
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
