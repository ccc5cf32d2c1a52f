"""Application configuration: built-in defaults < PAIRCHIVE_* environment variables < command-line flags."""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path

DEFAULT_DB = "sqlite:///pairchive.db"
DEFAULT_SOURCES = "sources.toml"
DEFAULT_CONTACT_URL = "https://github.com/pairchive/pairchive"


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

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> AppConfig:
        env = os.environ if environ is None else environ
        return cls(
            db_url=normalize_db_url(env.get("PAIRCHIVE_DB") or DEFAULT_DB),
            sources_path=env.get("PAIRCHIVE_SOURCES") or DEFAULT_SOURCES,
            contact_url=env.get("PAIRCHIVE_CONTACT_URL") or DEFAULT_CONTACT_URL,
        )

    def with_flags(self, *, db: str | None = None, sources: str | None = None) -> AppConfig:
        """Command-line flags win over everything else."""
        cfg = self
        if db:
            cfg = replace(cfg, db_url=normalize_db_url(db))
        if sources:
            cfg = replace(cfg, sources_path=sources)
        return cfg
