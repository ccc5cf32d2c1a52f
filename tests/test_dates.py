"""Publication dates, outlets and authors: metadata, then the byline under the headline, then the URL."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from pipelines.byline import read_byline, visible_lines
from pipelines.extract import extract_article

SHANGHAI = ZoneInfo("Asia/Shanghai")
STORY = (
    "<p>厦门市湖里区教育局与临夏县教育局举行学校结对帮扶签约仪式，两地十所中小学结成对子，教师互派交流。</p>"
    "<p>根据协议，湖里区将每年选派骨干教师到结对学校支教，临夏县学校也将派出教师到湖里区跟岗学习。</p>"
)


def page(head: str = "", byline: str = "", story: str = STORY, sidebar: str = "") -> str:
    return (
        f"<html><head><title>两地学校结对帮扶_教育新闻</title>{head}</head><body>"
        f"<div class='side'>{sidebar}</div>"
        f"<div class='main'><h1>两地学校结对帮扶签约</h1><div class='info'>{byline}</div>"
        f"<div class='content'>{story}</div></div></body></html>"
    )


def published(html: str, url: str = "http://edu.example.cn/news/1.html", tz: str = "Asia/Shanghai") -> str:
    found = extract_article(html, url, tz)
    assert found is not None
    return found.published.isoformat() if found.published else "none"


@pytest.mark.parametrize(
    "byline, expected",
    [
        ("2022年6月16日", "2022-06-16T00:00:00+08:00"),
        ("2022.06.16", "2022-06-16T00:00:00+08:00"),
        ("2022-06-16 10:30", "2022-06-16T10:30:00+08:00"),
        ("Time:2022.06.16", "2022-06-16T00:00:00+08:00"),
        ("发布时间：2022-06-16 10:30:05　来源：临夏州教育局", "2022-06-16T10:30:05+08:00"),
        ("原创 南方都市报 <span>2022-06-16 16:01:46</span>", "2022-06-16T16:01:46+08:00"),
    ],
)
def test_visible_date_lines_under_the_headline(byline: str, expected: str) -> None:
    assert published(page(byline=byline)) == expected


def test_metadata_is_trusted_before_the_visible_line() -> None:
    head = '<meta property="article:published_time" content="2022-06-15T08:00:00+08:00">'
    assert published(page(head, byline="2022-06-16 10:30")) == "2022-06-15T08:00:00+08:00"


def test_a_visible_time_refines_a_metadata_day() -> None:
    head = '<meta name="publishdate" content="2022-06-16">'
    assert published(page(head, byline="2022-06-16 10:30")) == "2022-06-16T10:30:00+08:00"


def test_schema_org_json_ld_date() -> None:
    head = '<script type="application/ld+json">{"@type": "NewsArticle", "datePublished": "2022-06-16T02:30:00Z"}</script>'
    assert published(page(head)) == "2022-06-16T02:30:00+00:00"


def test_the_url_comes_after_the_visible_line_and_before_a_date_in_the_story() -> None:
    story = "<p>2022年6月10日，" + STORY[3:]
    url = "http://edu.example.cn/2022/0612/1.html"
    assert published(page(story=story), url) == "2022-06-12T00:00:00+08:00"
    assert published(page(byline="2022-06-16", story=story), url) == "2022-06-16T00:00:00+08:00"
    assert published(page(story=story)) == "2022-06-10T00:00:00+08:00"  # the last resort


def test_sidebar_dates_before_the_story_are_not_its_date() -> None:
    sidebar = (
        "<ul><li><a href='/1'>全市中小学开学</a> 2022-03-01</li><li><a href='/2'>教师培训</a> 2022-02-20</li>"
        "<li><a href='/3'>教育局召开安全工作会议</a> 2022-02-18</li></ul>"
    )
    assert published(page(byline="2022-06-16", sidebar=sidebar)) == "2022-06-16T00:00:00+08:00"
    assert published(page(sidebar=sidebar)) == "none"


def test_a_date_in_the_future_is_not_a_publication_date() -> None:
    found = read_byline(
        page(byline="2031-01-01 08:00"),
        "两地学校结对帮扶签约",
        SHANGHAI,
        datetime(2022, 6, 17, tzinfo=SHANGHAI),
    )
    assert found.published is None


def test_naive_dates_are_in_the_portals_zone() -> None:
    assert published(page(byline="2022-06-16 10:30"), tz="Europe/Berlin") == "2022-06-16T10:30:00+02:00"


def test_outlet_and_author_are_read_from_the_byline_outside_the_story() -> None:
    found = extract_article(page(byline="2022-06-16 来源：临夏州教育局 作者：马珺"), "http://e.example/1")
    assert found is not None and found.source_name == "临夏州教育局" and found.author == "马珺"
    english = extract_article(page(byline="Author:Zhejiang Daily Time:2022.06.15"), "http://e.example/1")
    assert english is not None and english.author == "Zhejiang Daily"


def test_visible_lines_skip_scripts_styles_and_the_head() -> None:
    lines = visible_lines(
        "<html><head><title>T</title></head><body><script>var d='2020-01-01'</script>"
        "<style>p{}</style><p>第一段</p><p>第二&nbsp;段<br>第三段</p><!-- 2019-01-01 --></body></html>"
    )
    assert lines == ["第一段", "第二 段", "第三段"]
