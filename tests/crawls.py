"""Running the real `pairchive` command in tests: a subprocess, on loopback, without politeness delays."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from crawler.sampleweb import SampleWeb

# The sample web is on loopback: a real portal's delays would only make the tests slow.
LOOPBACK = ["-s", "AUTOTHROTTLE_ENABLED=False", "-s", "DOWNLOAD_DELAY=0"]


def pairchive(*args: str) -> subprocess.CompletedProcess[str]:
    """`pairchive ARGS` as a subprocess, output captured."""
    return subprocess.run(
        [sys.executable, "-m", "crawler", *args], capture_output=True, text=True, timeout=300, check=False
    )


def demo_sources(sample_web: SampleWeb, folder: Path, text: str | None = None) -> Path:
    """A sources file for the live sample web (or `text`), written into `folder`."""
    path = folder / "sources.toml"
    path.write_text(sample_web.sources_toml() if text is None else text, encoding="utf-8")
    return path


def crawl_sample(sample_web: SampleWeb, folder: Path, source: str, *args: str) -> str:
    """Crawl one sample portal into a fresh SQLite file in `folder`; returns the database URL."""
    sources = demo_sources(sample_web, folder)
    db = f"sqlite:///{folder / 'a.db'}"
    result = pairchive("crawl", "--sources", str(sources), "--db", db, "--source", source, *args, *LOOPBACK)
    assert result.returncode == 0, result.stderr[-2000:]
    return db
