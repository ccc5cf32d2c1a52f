"""Class 17, entry points of one kind, on both databases: the sources of tests.hostile.c17_entry_points
that give `start_urls = []` beside a feed or a sitemap load and crawl through that entry point alone; a
source with every entry-point list empty is one configuration error (exit status 2) naming the key."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from crawler.vocabulary.sources import parse_sources
from storage.db import close_all, open_for_writing
from storage.models import Article
from tests.cli import run_cli
from tests.hostile import HostileWeb, c17_entry_points
from tests.hostile.archives import DATABASES, crawl_once, database


@pytest.fixture(scope="module", params=DATABASES)
def archive(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("c17")
    with database(request.param, folder) as db:
        yield db


def sources_text(hostile: HostileWeb, case: str) -> str:
    keys = c17_entry_points.SOURCES[case].format(base=hostile.base)
    return (
        f'[[source]]\nname = "{case}"\n{keys}\nallowed_domains = ["127.0.0.1"]\n'
        "article_pattern = '/c17/p/'\n"
    )


@pytest.mark.parametrize(
    "case, article",
    [
        ("feed-beside-empty-start-urls", c17_entry_points.FEED_ARTICLE),
        ("sitemap-beside-empty-start-urls", c17_entry_points.SITEMAP_ARTICLE),
    ],
)
def test_an_empty_start_urls_beside_another_kind_of_entry_point_crawls_through_that_one(
    archive: str, hostile: HostileWeb, tmp_path: Path, case: str, article: str
) -> None:
    (source,) = parse_sources(sources_text(hostile, case), "sources.toml")
    assert source.start_urls == ()
    run = crawl_once(archive, tmp_path / "data", source)
    assert run.status == "ok", run.error
    sessions = open_for_writing(archive).sessions
    with sessions() as s:
        stored = [a.fetched_url for a in s.scalars(sa.select(Article).where(Article.run_id == run.run_id))]
    close_all()
    assert stored == [hostile.url(17, article)]


def test_a_source_whose_every_entry_point_list_is_empty_is_one_configuration_error(
    hostile: HostileWeb, tmp_path: Path
) -> None:
    sources = tmp_path / "sources.toml"
    sources.write_text(sources_text(hostile, "no-entry-point-at-all"), encoding="utf-8")
    result = run_cli("crawl", "--sources", str(sources), "--db", f"sqlite:///{tmp_path / 'a.db'}")
    assert result.returncode == 2
    assert result.stderr.strip() == (
        f"Error: {sources}: source 'no-entry-point-at-all': key 'start_urls': is empty, and the source has "
        "no other entry point: give at least one URL in start_urls, feeds, sitemaps"
    )
    assert result.stdout == ""
