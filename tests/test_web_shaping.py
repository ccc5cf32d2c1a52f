"""The reading room's pieces that need no server: marked snippets, diffs, citations, parameters, and an
interface with every string in both languages."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from starlette.datastructures import QueryParams

from crawler.web import i18n
from crawler.web.app import http_only, moment
from crawler.web.params import BadParameter, SearchParams, record_id
from crawler.web.shaping import _diff, citation, marked

TEMPLATES = Path(i18n.__file__).with_name("templates")


def test_every_interface_string_of_the_templates_has_a_chinese_form() -> None:
    used = set()
    for template in TEMPLATES.glob("*.html"):
        used |= set(re.findall(r"""t\((?:"([^"]+)"|'([^']+)')\)""", template.read_text(encoding="utf-8")))
    texts = {a or b for a, b in used}
    assert texts, "the templates call t()"
    missing = sorted(t for t in texts if t not in i18n.ZH)
    assert missing == []


def test_a_snippet_marks_every_match_in_either_script_and_loses_the_search_brackets() -> None:
    snippet = "…两校[結對]帮扶，结对学校交流…"
    pieces = marked(snippet, ["结对"])
    assert "".join(text for text, _ in pieces) == "…两校結對帮扶，结对学校交流…"
    assert [text for text, is_match in pieces if is_match] == ["結對", "结对"]


def test_brackets_that_are_the_text_s_own_stay() -> None:
    pieces = marked("[通知] 学校结对", ["结对"])
    assert "".join(text for text, _ in pieces) == "[通知] 学校结对"
    assert [t for t, m in pieces if m] == ["结对"]


def test_a_diff_shows_changed_paragraphs_with_their_neighbours() -> None:
    before = ["一", "二", "三", "四", "五", "六"]
    after = ["一", "二", "三改", "四", "五", "六"]
    assert _diff(before, after) == [("same", "二"), ("removed", "三"), ("added", "三改"), ("same", "四")]


def test_a_citation_names_the_author_date_title_portal_url_and_the_stable_link() -> None:
    record = {
        "author": None,
        "source_name": "厦门日报",
        "published": "2022-06-16T10:30:00+08:00",
        "title": "两校\n结对",
        "url": "http://portal/a.html",
        "fetched_at": "2022-06-17T01:00:00+00:00",
    }
    assert citation(record, "湖里教育网", "http://archive/stories/3") == (
        "厦门日报. (2022-06-16). 两校 结对. 湖里教育网. http://portal/a.html "
        "(archived 2022-06-17 by pairchive: http://archive/stories/3)"
    )


def test_times_show_their_zone_and_no_fraction() -> None:
    assert moment("2022-06-16T10:30:00.123+08:00") == "2022-06-16 10:30:00 UTC+08:00"
    assert moment(datetime(2022, 6, 16, 2, 30, tzinfo=UTC)) == "2022-06-16 02:30:00 UTC"
    assert moment(None) == ""


@pytest.mark.parametrize(
    "url", ["javascript:alert(1)", "JavaScript:x", "data:text/html,x", "vbscript:x", "//evil/"]
)
def test_a_stored_url_that_is_not_http_is_no_link(url: str) -> None:
    assert http_only(url) == "#"
    assert http_only("https://portal/a.html") == "https://portal/a.html"


@pytest.mark.parametrize("text", ["0", "-1", "1.5", "١٢", "2147483648", "", "1e3"])
def test_an_id_out_of_the_schema_range_is_refused(text: str) -> None:
    with pytest.raises(BadParameter, match="not a story id"):
        record_id(text)


def test_search_parameters_keep_only_what_differs_from_the_defaults() -> None:
    params = SearchParams.of(QueryParams("q=结对&sort=date&page=2&all=1"))
    assert params.offset == 20 and params.filters()["pairing_only"] is False
    assert params.query_string(page=3) == "q=%E7%BB%93%E5%AF%B9&all=1&sort=date&page=3"
    assert SearchParams.of(QueryParams("q=x")).query_string() == "q=x"


def test_a_page_past_the_search_bound_is_refused() -> None:
    assert SearchParams.of(QueryParams("q=x&page=100&per_page=100")).offset == 9900
    with pytest.raises(BadParameter, match="page="):
        SearchParams.of(QueryParams("q=x&page=101&per_page=100"))
