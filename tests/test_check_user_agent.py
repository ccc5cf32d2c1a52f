"""`sources check` sends exactly the User-Agent a crawl of the same source sends: both real `pairchive`
subprocesses against a loopback portal that records the header of every request."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.crawls import LOOPBACK, QuietHandler, answer, article_page, serve


@contextmanager
def recording_portal(folder: Path) -> Iterator[tuple[Path, list[str]]]:
    """A one-page portal with one article; yields its sources file and the User-Agents it was sent."""
    agents: list[str] = []

    class Recording(QuietHandler):
        def do_GET(self) -> None:
            agents.append(self.headers.get("User-Agent", ""))
            if self.path == "/list.html":
                answer(self, b'<html><body><a href="/a/1.html">one</a></body></html>')
            elif self.path == "/a/1.html":
                answer(self, article_page(1))
            else:
                self.send_error(404)

    with serve(Recording) as base:
        sources = folder / "sources.toml"
        sources.write_text(
            f'[[source]]\nname = "ua"\nstart_urls = ["{base}/list.html"]\narticle_pattern = "/a/"\n',
            encoding="utf-8",
        )
        yield sources, agents


def _pairchive(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PAIRCHIVE_CONTACT_URL": "https://archive.example.org/about-our-crawler"}
    return subprocess.run(
        [sys.executable, "-m", "crawler", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.mark.parametrize("overrides", [[], ["-s", "USER_AGENT=examplebot/2.0 (+https://example.org/bot)"]])
def test_sources_check_sends_exactly_the_user_agent_a_crawl_sends(
    tmp_path: Path, overrides: list[str]
) -> None:
    with recording_portal(tmp_path) as (sources, agents):
        db = f"sqlite:///{tmp_path / 'a.db'}"
        crawl = _pairchive(
            "crawl", "--source", "ua", "--sources", str(sources), "--db", db, *LOOPBACK, *overrides
        )
        assert crawl.returncode == 0, crawl.stderr[-2000:]
        crawled = set(agents)
        agents.clear()
        check = _pairchive("sources", "check", "ua", "--sources", str(sources), *overrides)
        assert check.returncode == 0, check.stdout + check.stderr
        checked = set(agents)
    (sent,) = crawled  # robots.txt, the list, the article: one User-Agent
    assert checked == {sent}
    if overrides:
        assert sent == "examplebot/2.0 (+https://example.org/bot)"
    else:
        assert sent.startswith("pairchive/") and sent.endswith(
            " (+https://archive.example.org/about-our-crawler)"
        )
