"""The reading room's pieces that need no server: marked snippets, diffs, citations, parameters, and an
interface with every string in both languages."""

from __future__ import annotations

import itertools
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from starlette.datastructures import QueryParams

from crawler.web import i18n
from crawler.web.app import _bars, is_http, moment
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
    assert not is_http(url)
    assert is_http("https://portal/a.html") and is_http("HTTP://portal/") and not is_http(None)


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


def test_the_timeline_keeps_empty_months_on_its_axis_and_labels_each_year() -> None:
    drawn = _bars([("2024-11", 2), ("2025-02", 4), (None, 3)])
    assert [(b["month"], b["stories"]) for b in drawn["bars"]] == [("2024-11", 2), ("2025-02", 4)]
    # four months on the axis: November to February, the two between without a bar
    first, last = drawn["bars"]
    assert last["x"] == pytest.approx(3 * 200) and first["x"] == 0
    assert last["height"] == 200 and first["height"] == 100
    assert [y["label"] for y in drawn["years"]] == ["2024", "2025"]
    assert drawn["undated"] == 3 and drawn["peak"] == 4


def test_the_timeline_labels_every_few_years_where_years_are_narrow() -> None:
    drawn = _bars([("1990-01", 1), ("2025-12", 1)])
    labels = [int(y["label"]) for y in drawn["years"]]
    assert labels[0] == 1990 and len(labels) < 36
    gaps = {b - a for a, b in itertools.pairwise(labels)}
    assert len(gaps) == 1 and gaps.pop() > 1
    xs = [y["x"] for y in drawn["years"]]
    assert all(b - a >= 36 for a, b in itertools.pairwise(xs))


def test_an_empty_timeline_draws_nothing() -> None:
    assert _bars([(None, 5)])["bars"] == []


def test_a_citation_names_the_site_once_when_it_is_also_the_author() -> None:
    record = {
        "author": None,
        "source_name": "湖里 教育网",
        "published": None,
        "title": "两校结对",
        "url": "http://portal/a.html",
        "fetched_at": "2022-06-17T01:00:00+00:00",
    }
    assert citation(record, "湖里教育网", "http://archive/stories/3") == (
        "湖里 教育网. (n.d.). 两校结对. http://portal/a.html "
        "(archived 2022-06-17 by pairchive: http://archive/stories/3)"
    )
