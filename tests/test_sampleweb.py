"""The sample web: every portal serves its pages, and each seed survives extraction and cleaning inside its page."""

from __future__ import annotations

import urllib.request

import pytest

from crawler.sampleweb import PORTALS, Portal, SampleWeb, build_site, load_stories
from crawler.vocabulary.sources import parse_sources
from pipelines.clean import clean_text, strip_pinyin
from pipelines.extract import extract_article
from tests.seeds import SEEDS, SeedCase

SITE = build_site()
STORIES = load_stories()


def _fetch(url: str) -> tuple[int, str, bytes]:
    with urllib.request.urlopen(url, timeout=10) as resp:
        return resp.status, resp.headers.get("Content-Type", ""), resp.read()


def _page_of(slug: str, portal: Portal) -> tuple[str, str]:
    """(path, decoded HTML) of a story's article page on a portal."""
    i = portal.stories.index(slug)
    path = portal.article_path(STORIES[slug], i)
    return path, SITE[portal.name][path].body.decode(portal.encoding)


@pytest.mark.parametrize("portal", PORTALS, ids=lambda p: p.name)
def test_portal_serves_home_listings_and_articles_on_loopback(sample_web: SampleWeb, portal: Portal) -> None:
    base = sample_web.base_urls[portal.name]
    assert base.startswith("http://127.0.0.1:")
    status, _, _ = _fetch(base + "/")
    assert status == 200
    assert portal.listing_paths(2) in SITE[portal.name], "an education channel of at least two listing pages"
    for i, slug in enumerate(portal.stories):
        status, ctype, body = _fetch(base + portal.article_path(STORIES[slug], i))
        assert status == 200 and ctype.startswith("text/html") and len(body) > 1000


@pytest.mark.parametrize("portal", PORTALS, ids=lambda p: p.name)
def test_every_portal_has_a_source_in_the_demo_sources_file(sample_web: SampleWeb, portal: Portal) -> None:
    sources = {s.name: s for s in parse_sources(sample_web.sources_toml())}
    source = sources[portal.name]
    for i, slug in enumerate(portal.stories):
        url = sample_web.base_urls[portal.name] + portal.article_path(STORIES[slug], i)
        assert source.article_re.search(url)
    assert source.listing_re is not None
    assert source.listing_re.search(sample_web.base_urls[portal.name] + portal.listing_paths(2))


def test_every_story_file_is_served_and_pairing_and_other_stories_are_both_there() -> None:
    served = {slug for p in PORTALS for slug in p.stories}
    assert served == set(STORIES)
    assert sum(not s.pairing for s in STORIES.values()) >= 6
    assert {s.seed for s in STORIES.values() if s.seed} == {seed.file for seed in SEEDS}


def test_one_story_is_syndicated_on_two_portals_with_different_chrome() -> None:
    shared = [slug for slug in STORIES if sum(slug in p.stories for p in PORTALS) == 2]
    assert len(shared) == 1
    styles = {p.style for p in PORTALS if shared[0] in p.stories}
    assert len(styles) == 2


def test_the_gbk_portal_serves_gbk_bytes_that_are_not_utf8() -> None:
    portal = next(p for p in PORTALS if p.encoding == "gbk")
    page = SITE[portal.name][portal.article_path(STORIES[portal.stories[0]], 0)]
    with pytest.raises(UnicodeDecodeError):
        page.body.decode("utf-8")
    assert "结对" in page.body.decode("gbk")


def test_seed_002_is_served_traditional_with_inline_pinyin() -> None:
    portal = next(p for p in PORTALS if "huli-minning-16-schools" in p.stories)
    _, html = _page_of("huli-minning-16-schools", portal)
    assert "續(xù)寫(xiě)" in html


@pytest.mark.parametrize("seed", SEEDS, ids=lambda s: s.file[:3])
def test_seed_story_survives_inside_its_sample_page_and_its_trailers_do_not(seed: SeedCase) -> None:
    for portal in (p for p in PORTALS if seed.slug in p.stories):
        path, html = _page_of(seed.slug, portal)
        found = extract_article(html, "http://127.0.0.1" + path, "Asia/Shanghai")
        assert found is not None
        cleaned = clean_text(found.text, strip_pinyin(found.title))
        for sentence in seed.keep:
            assert sentence in cleaned.text, f"{portal.name}: lost {sentence!r}"
        for line in seed.gone:
            assert line not in cleaned.text, f"{portal.name}: kept {line!r}"
        for chrome in ("Copyright", "版权所有", "Most read", "热点新闻", "Hot news"):
            assert chrome not in cleaned.text
