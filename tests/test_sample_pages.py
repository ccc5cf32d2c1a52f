"""Every article page of the sample portals, through the per-article stages from its HTML: the story whole,
in order, with no trailer line, and the publication date the page shows."""

from __future__ import annotations

import pytest

from crawler.sampleweb.portals import PORTALS, Portal, Story, build_site, load_stories
from pipelines.clean import strip_pinyin
from pipelines.page import page_item, process_page

STORIES = load_stories()
SITE = build_site()
BASE = "http://127.0.0.1:8000"
CASES = [(portal, STORIES[slug], i) for portal in PORTALS for i, slug in enumerate(portal.stories)]


@pytest.mark.parametrize("portal, story, index", CASES, ids=[f"{p.name}-{s.slug}" for p, s, _ in CASES])
def test_article_page_gives_the_whole_story_and_nothing_else(
    portal: Portal, story: Story, index: int
) -> None:
    path = portal.article_path(story, index)
    page = SITE[portal.name][path]
    item = process_page(page_item(page.served(BASE), BASE + path, content_type=page.content_type))
    story_lines = [strip_pinyin(p) for p in story.paragraphs if p not in story.body_credits]
    captions = {strip_pinyin(f"-{c}") for c in story.captions}
    got = item.text.splitlines()
    # No sentence of the story is lost, and they come in order.
    assert [line for line in got if line not in captions] == story_lines
    # Nothing else is there: no teaser, related list, keyword, credit or share line (captions are the
    # story's own, under its pictures).
    assert set(got) <= set(story_lines) | captions
    assert item.published == story.published
    assert item.title == strip_pinyin(story.title)
