"""`pairchive demo` from start to end: serves, crawls into a fresh SQLite file, prints what it stored."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from crawler.sampleweb import load_stories


def test_demo_prints_stored_stories_and_dropped_counts(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "crawler", "demo", "--dir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    out = result.stdout
    pairing = sum(s.pairing for s in load_stories().values())
    assert f"Stored pairing stories ({pairing})" in out
    assert "Pages not stored (10): not_pairing 6, " in out
    for reason in ("duplicate 1", "no_text 1", "failed 1", "robots_disallowed 1"):
        assert reason in out
    assert f"pairchive search 结对 --db {tmp_path / 'demo.db'}" in out
    assert (tmp_path / "demo.db").exists() and (tmp_path / "sources.toml").exists()


def test_demo_twice_starts_from_a_fresh_database(tmp_path: Path) -> None:
    for _ in range(2):
        result = subprocess.run(
            [sys.executable, "-m", "crawler", "demo", "--dir", str(tmp_path)],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert result.returncode == 0, result.stderr[-3000:]
    assert "Duplicate" not in result.stdout.split("Stored pairing stories")[0]
    pairing = sum(s.pairing for s in load_stories().values())
    assert f"Stored pairing stories ({pairing})" in result.stdout
