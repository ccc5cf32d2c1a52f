"""Extraction: link lists around a story are pruned by link density, the story is never taken for one."""

from __future__ import annotations

from trafilatura.utils import load_html

from pipelines.extract import extract_article, prune_link_lists

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
