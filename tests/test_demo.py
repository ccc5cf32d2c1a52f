"""`pairchive demo` from start to end: serves, crawls into a fresh SQLite file, prints what it stored."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from crawler.sampleweb import load_stories


def _demo(workdir: Path) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "crawler", "demo", "--dir", str(workdir)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def test_demo_prints_stored_stories_and_dropped_counts_from_a_fresh_database_each_time(
    tmp_path: Path,
) -> None:
    _demo(tmp_path)
    out = _demo(tmp_path)  # a second run starts again: nothing is a duplicate of the first run's rows
    pairing = sum(s.pairing for s in load_stories().values())
    assert f"Stored pairing stories ({pairing})" in out
    assert "Pages not stored (12): not_pairing 6, " in out
    reasons = ("duplicate 1", "no_text 1", "failed 1", "robots_disallowed 1", "not_html 1", "offsite 1")
    for reason in reasons:
        assert reason in out
    assert f"pairchive search 結對 --db {tmp_path / 'demo.db'}" in out
    assert f"pairchive stories --multi --db {tmp_path / 'demo.db'}" in out
    assert (tmp_path / "demo.db").exists() and (tmp_path / "sources.toml").exists()
