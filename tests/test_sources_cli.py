"""The operator's `sources list` and `sources check`, against the sample web."""

from __future__ import annotations

import json
from pathlib import Path

from crawler.sampleweb import PORTALS, SampleWeb, load_stories
from tests.cli import run_cli
from tests.crawls import crawl, demo_sources

STORIES = load_stories()


_sources = demo_sources


def test_check_reports_pattern_matches_and_one_extracted_article(
    sample_web: SampleWeb, tmp_path: Path
) -> None:
    result = run_cli("sources", "check", "linxia-news", "--sources", str(_sources(sample_web, tmp_path)))
    assert result.returncode == 0, result.stderr[-2000:]
    out = result.stdout
    portal = next(p for p in PORTALS if p.name == "linxia-news")
    assert f"listing {sample_web.base_urls[portal.name]}{portal.listing_paths(1)}" in out
    assert "article links: 3  listing links: 1" in out  # two stories and a broken page on page 1
    assert f"feed {sample_web.base_urls[portal.name]}/jy/rss.xml" in out
    first = STORIES[portal.stories[0]]
    assert f"title: {first.title}" in out and "pairing: True" in out and "charset: gb18030" in out


def test_check_of_a_wrong_article_pattern_fails_before_any_nightly_run(
    sample_web: SampleWeb, tmp_path: Path
) -> None:
    text = sample_web.sources_toml().replace(r"'/jy/\d{6}/\d+\.htm$'", r"'/jy/\d{8}/\d+\.html$'")
    result = run_cli(
        "sources", "check", "linxia-news", "--sources", str(_sources(sample_web, tmp_path, text))
    )
    assert result.returncode == 1
    assert "article links: 0" in result.stdout and "article: no link matched article_pattern" in result.stdout


def test_check_of_a_dead_entry_point_says_so(sample_web: SampleWeb, tmp_path: Path) -> None:
    text = '[[source]]\nname = "dead"\nstart_urls = ["http://127.0.0.1:9/edu/"]\narticle_pattern = "/edu/"\n'
    result = run_cli("sources", "check", "dead", "--sources", str(_sources(sample_web, tmp_path, text)))
    assert result.returncode == 1 and "error: " in result.stdout


def test_list_shows_each_source_with_its_last_run_and_stored_stories(
    sample_web: SampleWeb, tmp_path: Path
) -> None:
    sources = _sources(sample_web, tmp_path)
    db = str(tmp_path / "a.db")
    first = crawl(sources, db, "--source", "linxia-news")
    assert first.returncode == 0, first.stderr[-2000:]
    listed = [
        json.loads(line)
        for line in run_cli(
            "sources", "list", "--sources", str(sources), "--db", db, "--json"
        ).stdout.splitlines()
    ]
    by_name = {r["name"]: r for r in listed}
    assert set(by_name) == {p.name for p in PORTALS}
    linxia = by_name["linxia-news"]
    assert linxia["entry_points"] == {"listing": 1, "feeds": 1, "sitemaps": 0}
    assert linxia["last_run"]["status"] == "ok" and linxia["stored"] == 1
    assert by_name["huli-edu"]["last_run"] is None and by_name["huli-edu"]["stored"] == 0
    plain = run_cli("sources", "list", "--sources", str(sources), "--db", db).stdout
    assert "linxia-news" in plain and "never" in plain


def test_check_obeys_robots_txt_like_the_crawl(sample_web: SampleWeb, tmp_path: Path) -> None:
    base = sample_web.base_urls["huli-edu"]
    text = f'[[source]]\nname = "admin"\nstart_urls = ["{base}/admin/"]\narticle_pattern = "/edu/"\n'
    before = len(sample_web.hits["huli-edu"])
    result = run_cli("sources", "check", "admin", "--sources", str(_sources(sample_web, tmp_path, text)))
    assert result.returncode == 1 and "error: disallowed by robots.txt" in result.stdout
    assert "/admin/" not in sample_web.hits["huli-edu"][before:]
