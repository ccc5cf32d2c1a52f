"""Extraction: link lists around a story are pruned by link density, the story is never taken for one;
where trafilatura keeps nothing, the densest block is read if it is a story, and pages without one stay
without text."""

from __future__ import annotations

import pytest
import trafilatura
from scrapy.exceptions import DropItem
from trafilatura.utils import load_html

from pipelines.density import densest_block
from pipelines.extract import ExtractPipeline, extract_article, prune_link_lists
from pipelines.page import page_item

STORY = (
    "<p>6月15日，湖里区教育局与临夏县教育局举行学校结对帮扶签约仪式，两地十所中小学结成对子，"
    "双方将在<a href='/t/1'>教师交流</a>、课程共建等方面开展合作。</p>"
    "<p>根据协议，湖里区每年选派骨干教师到结对学校支教，临夏县学校派出教师到湖里区跟岗学习。</p>"
)
NAV = "<ul class='x1'>" + "".join(f"<li><a href='/c/{i}'>栏目{i}</a></li>" for i in range(12)) + "</ul>"
DATED = (
    "<div class='x2'>"
    + "".join(f"<p><a href='/n/{i}'>某地举办第{i}届中小学生运动会</a> 2022-06-{10 + i}</p>" for i in range(6))
    + "</div>"
)
RANKING = (
    "<ol>"
    + "".join(f"<li><a href='/r/{i}'>热门新闻标题第{i}条</a><span>{9000 - i}</span></li>" for i in range(8))
    + "</ol>"
)


def _page(*blocks: str) -> str:
    return f"<html><head><title>两地学校结对帮扶</title></head><body>{''.join(blocks)}</body></html>"


def test_navigation_dated_headlines_and_rankings_are_pruned_and_the_story_stays() -> None:
    tree = load_html(_page(NAV, f"<div class='main'>{STORY}</div>", DATED, RANKING))
    assert tree is not None
    assert prune_link_lists(tree) == 3
    text = tree.text_content()
    assert "栏目3" not in text and "运动会" not in text and "热门新闻" not in text
    assert "结对帮扶签约仪式" in text and "教师交流" in text  # a link inside a paragraph is story text


def test_a_short_story_on_a_page_full_of_links_is_not_pruned_with_them() -> None:
    many = NAV * 6 + RANKING * 4
    found = extract_article(_page(many, f"<div class='main'>{STORY}</div>", many), "http://e.example/1")
    assert found is not None
    assert found.text.splitlines()[0].startswith("6月15日") and "栏目" not in found.text


def test_comments_inside_a_paragraph_do_not_cut_it() -> None:
    html = _page(
        "<div><p>6月15日，<!--keyword-->湖里区<!--/keyword-->教育局与临夏县教育局举行学校结对帮扶签约仪式，"
        "两地十所中小学结成对子，教师互派交流，学生结对通信，共同开展教研活动。</p></div>"
    )
    found = extract_article(html, "http://e.example/1")
    assert found is not None and found.text.startswith("6月15日，湖里区教育局")


def test_declared_language_is_read_from_the_page() -> None:
    found = extract_article(
        _page(f"<div>{STORY}</div>").replace("<html>", "<html lang='zh-TW'>"), "http://e.example/1"
    )
    assert found is not None and found.declared_language == "zh-TW"


def test_xhtml_with_an_xml_declaration_and_a_doctype_is_read() -> None:
    html = (
        '<?xml version="1.0" encoding="gb2312"?>\n<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN" '
        '"http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">\n'
        + _page(f"<div class='main'>{STORY}</div>").replace(
            "<html>", '<html xmlns="http://www.w3.org/1999/xhtml">'
        )
    )
    found = extract_article(html, "http://e.example/1")
    assert found is not None and found.text.startswith("6月15日")


# A short post, as a blog would publish it: three paragraphs, no byline, no date.
POST = (
    "<p>周末去城郊小学看了看他们的结对学校送来的图书角，孩子们排着队借书，老师说这是两校手拉手的第三年。</p>"
    "<p>书架不大，却摆满了对方学校学生写的信和画。一个四年级的女孩告诉我，她已经和远方的笔友通了五封信。</p>"
    "<p>回来的路上一直在想，这样的结对，比一场签约仪式更让人记得住。</p>"
)
FOOTER = (
    "<footer><p>本站所有文章仅代表作者个人观点，转载请注明出处。联系邮箱：editor@blog.example。</p></footer>"
)


def _no_text(html: str) -> bool:
    try:
        ExtractPipeline().process(page_item(html.encode("utf-8"), "http://e.example/list"))
    except DropItem as dropped:
        return str(dropped).startswith("no_text")
    return False


POST_LINES = [
    "周末去城郊小学看了看他们的结对学校送来的图书角，孩子们排着队借书，老师说这是两校手拉手的第三年。",
    "书架不大，却摆满了对方学校学生写的信和画。一个四年级的女孩告诉我，她已经和远方的笔友通了五封信。",
    "回来的路上一直在想，这样的结对，比一场签约仪式更让人记得住。",
]


@pytest.mark.parametrize(
    "holder",
    [
        "<aside class='popup-overlay'><div class='entry'>{}</div></aside>",  # a template's whole page in an aside
        "<div class='comment-body'>{}</div>",  # a review site marks its reviews as comments
    ],
)
def test_short_post_trafilatura_misses_is_read_from_its_densest_block(holder: str) -> None:
    html = _page(f"<nav>{NAV}</nav>", holder.format(POST))
    pruned = load_html(html)
    assert pruned is not None and prune_link_lists(pruned)
    assert trafilatura.bare_extraction(pruned, with_metadata=False, include_comments=False) is None
    found = extract_article(html, "http://blog.example/2022/06/library-corner")
    assert found is not None and found.text.splitlines() == POST_LINES


def test_densest_block_is_the_story_container_not_one_of_its_paragraphs() -> None:
    tree = load_html(_page(NAV, f"<div class='post'><h2>图书角小记</h2>{POST}</div>", RANKING))
    assert tree is not None
    block = densest_block(tree)
    assert block is not None and block.get("class") == "post"


def test_a_page_of_navigation_and_link_lists_only_stays_no_text() -> None:
    assert _no_text(_page(NAV, DATED, RANKING, NAV.replace("栏目", "频道"), FOOTER))


PLACES = ("城郊", "河口", "东乡", "湖里", "金安", "枫亭", "积石山", "思明", "临夏", "闽宁")


def test_a_listing_of_dated_headlines_stays_no_text() -> None:
    headlines = "".join(
        f"<li><a href='/n/{i}'>{place}小学与结对学校举行签约仪式</a><span>2022-06-{10 + i}</span></li>"
        for i, place in enumerate(PLACES)
    )
    pager = "<div class='pages'><a href='/1'>上一页</a> <a href='/3'>下一页</a> 共5页</div>"
    assert _no_text(_page(NAV, f"<ul class='list'>{headlines}</ul>", pager, FOOTER))


def test_a_listing_of_teaser_links_with_summaries_is_no_densest_block() -> None:
    teasers = "".join(
        f"<div class='item'><h3><a href='/n/{i}'>{place}小学与结对学校举行签约仪式</a></h3>"
        f"<p>{place}的两所学校将在教师交流、课程共建、学生互访等方面开展为期{i + 2}年的合作。</p></div>"
        for i, place in enumerate(PLACES)
    )
    tree = load_html(_page(NAV, f"<div class='list'>{teasers}</div>"))
    assert tree is not None and densest_block(tree) is None


def test_one_long_item_of_a_repeated_list_is_not_taken_for_a_story() -> None:
    items = "".join(
        f"<li class='thread'><a href='/t/{i}'>帖子{i}</a><div class='abstract'>"
        + (
            "这是一段很长的帖子摘要，讲的是学校之间怎样结对，老师怎样交流，学生怎样通信。"
            * (3 if i == 4 else 1)
        )
        + "</div></li>"
        for i in range(8)
    )
    tree = load_html(_page(NAV, f"<ul class='threads'>{items}</ul>"))
    assert tree is not None and densest_block(tree) is None


def test_a_footer_notice_alone_is_no_story() -> None:
    assert _no_text(_page(NAV, "<div class='main'></div>", FOOTER))


@pytest.mark.parametrize("wrapper", ["form", "aside"])
def test_a_page_held_whole_in_a_form_or_aside_keeps_its_story(wrapper: str) -> None:
    tree = load_html(_page(f"<{wrapper}>{NAV}<div class='post'>{POST}</div></{wrapper}>"))
    assert tree is not None
    block = densest_block(tree)
    assert block is not None and block.get("class") == "post"
