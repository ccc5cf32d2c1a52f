"""Cleaning: the story kept whole, the seeds' trailers, teaser lists and credit lines gone."""

from __future__ import annotations

import re

import pytest

from pipelines.clean import clean_text, strip_pinyin
from tests.seeds import SEEDS, SeedCase


@pytest.mark.parametrize("seed", SEEDS, ids=lambda s: s.file[:3])
def test_seed_story_sentences_survive_cleaning(seed: SeedCase) -> None:
    cleaned = clean_text(seed.raw)
    for sentence in seed.keep:
        assert sentence in cleaned.text


@pytest.mark.parametrize("seed", SEEDS, ids=lambda s: s.file[:3])
def test_seed_trailer_lines_are_gone_after_cleaning(seed: SeedCase) -> None:
    cleaned = clean_text(seed.raw)
    for line in seed.gone:
        assert line not in cleaned.text


def test_inline_pinyin_annotations_are_removed() -> None:
    assert strip_pinyin('續(xù)寫(xiě)"山海情"拓寬幫扶路') == '續寫"山海情"拓寬幫扶路'
    assert strip_pinyin("當（dāng）地") == "當地"


def test_parentheses_that_are_not_pinyin_are_kept() -> None:
    text = "湖里区(厦门)16所学校 (Bai Ping) 学校(2022)"
    assert strip_pinyin(text) == text


def test_teaser_list_after_end_marker_is_dropped() -> None:
    text = "\n".join(
        [
            "First paragraph of a story about two schools that paired up, long enough to count as a story.",
            "Second paragraph of the story.",
            "- END -",
            "Unrelated teaser headline",
            "Unrelated teaser summary that the portal cut short...",
        ]
    )
    cleaned = clean_text(text)
    assert cleaned.text.endswith("Second paragraph of the story.")
    assert "Unrelated" not in cleaned.text


def test_end_marker_at_the_very_top_does_not_cut_the_story() -> None:
    text = "- END -\n" + "A story that starts after a stray marker and goes on for a while. " * 3
    assert "A story that starts" in clean_text(text).text


def test_sections_belonging_to_the_story_are_kept() -> None:
    seed = next(s for s in SEEDS if s.file.startswith("002"))
    text = clean_text(seed.raw).text
    assert "延伸閱讀" in text and "鏈 接" in text


def test_dated_headline_list_in_the_middle_is_dropped() -> None:
    body = "两地学校结对帮扶，开展教研交流活动，教师互派跟岗学习，取得良好成效。" * 3
    lines = [
        body,
        "- 某地举办美食节2022-11-25",
        "- 某市交通管制通知2022-11-25",
        "- 天气预报：明日降温2022-11-24",
        "结语：两地将继续深化合作。",
    ]
    text = clean_text("\n".join(lines)).text
    assert "美食节" not in text and "交通管制" not in text
    assert "结语：两地将继续深化合作。" in text


def test_credit_lines_are_removed_and_read_as_metadata() -> None:
    text = "\n".join(
        [
            "Author:Fujian Daily Time:2022.06.15",
            "A long enough story paragraph about a school pairing signing ceremony between two counties.",
            "Source: County Education Bureau",
            "（责任编辑：王敏）",
        ]
    )
    cleaned = clean_text(text)
    assert cleaned.text == (
        "A long enough story paragraph about a school pairing signing ceremony between two counties."
    )
    assert cleaned.source_name == "County Education Bureau"
    assert cleaned.author == "Fujian Daily"


def test_reporter_credit_left_when_editor_credit_is_cut_goes_to_the_author() -> None:
    seed = next(s for s in SEEDS if s.file.startswith("003"))
    cleaned = clean_text(seed.raw)
    assert cleaned.text.endswith("realize the cooperation of urban and rural schools.")
    assert cleaned.author == "Bai Ping"


def test_headline_repeated_as_first_line_is_not_kept_in_the_body() -> None:
    text = "Two schools pair up\nThe body of the story, which is long enough to be a story on its own."
    assert clean_text(text, title="Two schools pair up").text.startswith("The body")


@pytest.mark.parametrize(
    "line, expected",
    [
        ("2022年05月18日 16:20　来源：临夏州教育局", {"来源": "临夏州教育局"}),
        (
            "Author:Fujian Daily Zhangzhou Observa Time:2022.06.16",
            {"author": "Fujian Daily Zhangzhou Observa", "time": "2022.06.16"},
        ),
        (
            "发布时间：2021-11-20 10:30　来源：廈門網　作者：郭文娟",
            {"发布时间": "2021-11-20 10:30", "来源": "廈門網", "作者": "郭文娟"},
        ),
        ("2022-05-30 14:45", {}),
        ("2022年6月16日，两地学校签订结对协议。", None),
        ("Sources say the schools will pair up.", None),
    ],
)
def test_bylines_are_read_and_story_sentences_are_not(line: str, expected: dict[str, str] | None) -> None:
    from pipelines.clean import parse_byline

    assert parse_byline(line) == expected


def test_a_dated_byline_is_removed_and_its_outlet_kept() -> None:
    text = (
        "2022年05月18日 16:20　来源：临夏州教育局\n" + "两地学校开展结对帮扶，教师互派交流，学生手拉手。" * 3
    )
    cleaned = clean_text(text)
    assert cleaned.source_name == "临夏州教育局" and not cleaned.text.startswith("2022")


def test_paragraphs_ending_in_a_writers_ellipsis_are_kept() -> None:
    text = "\n".join(
        [
            "每当诵读那些关于父亲的古诗词，许多人的心中都会涌起一种深沉而又温暖的情感……",
            "父爱如山高大而巍峨，父爱如海宽广而辽阔，父爱亦如天空粗旷而深远……",
            "两地学校结对共建，教师互派交流。",
        ]
    )
    assert clean_text(text).text == text


@pytest.mark.parametrize(
    "line",
    [
        "將經驗分享到全區各校，供大家學習借鑒。",
        "时间：2021年9月，湖里区16所学校与闽宁镇学校正式结对。",
        "日期：9月10日，两校举行了手拉手结对仪式，师生代表参加。",
        "来源：据统计，全区已有40所学校参与结对帮扶。",
    ],
)
def test_story_sentences_that_look_like_furniture_or_bylines_are_kept(line: str) -> None:
    body = "两地学校结对共建，教师互派交流，学生手拉手，共同提高教育教学水平。"
    assert line in clean_text(f"{body}\n{line}\n{body}").text


@pytest.mark.parametrize(
    "lines",
    [
        ["本科上线率 92.5", "重点上线率 45.3", "平均分提高 12.6"],
        ["第一场 湖里 vs 思明 3-2", "第二场 海沧 vs 集美 1-0", "第三场 同安 vs 翔安 2-1"],
    ],
    ids=["figures", "scores"],
)
def test_lines_ending_in_numbers_are_not_mistaken_for_dated_headlines(lines: list[str]) -> None:
    body = "两地学校结对共建，教师互派交流，学生手拉手，共同提高教育教学水平。"
    text = clean_text("\n".join([body, *lines, body])).text
    assert all(line in text for line in lines)


@pytest.mark.parametrize("marker", ["（完）", "【完】", "（全文完）", "- END -", "—END—"])
def test_end_markers_in_brackets_end_the_story(marker: str) -> None:
    body = "两地学校结对共建，教师互派交流，学生手拉手，共同提高教育教学水平。" * 3
    assert clean_text(f"{body}\n{marker}\n某地天气预报：明日有雨").text == body


@pytest.mark.parametrize(
    "line", ["扫一扫在手机打开当前页", "【打印】 【关闭】", "【纠错】", "分享到：微信 微博 QQ空间"]
)
def test_page_furniture_lines_are_dropped(line: str) -> None:
    body = "两地学校结对共建，教师互派交流，学生手拉手，共同提高教育教学水平。" * 3
    assert clean_text(f"{body}\n{line}").text == body


def test_pinyin_annotations_with_spaces_or_a_lost_parenthesis_are_removed() -> None:
    assert strip_pinyin("醫院(yī yuàn)") == "醫院"
    assert strip_pinyin("當?shù)嘏嘤") == "當嘏嘤"


def test_no_pinyin_syllable_is_left_in_seed_002() -> None:
    seed = next(s for s in SEEDS if s.file.startswith("002"))
    text = clean_text(seed.raw).text
    assert not re.search(r"[āáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜ]", text), re.findall(
        r".{3}[āáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜ].{3}", text
    )


STORY_LINES = [
    "6月15日，湖里区教育局与临夏县教育局举行学校结对帮扶签约仪式，两地十所中小学结成对子。",
    "根据协议，湖里区每年选派骨干教师到结对学校支教，临夏县学校派出教师到湖里区跟岗学习。",
]


@pytest.mark.parametrize(
    "trailer",
    [
        ["Copyright © 2022 湖里区教育局 版权所有", "闽ICP备12345678号", "地址：湖里区某路1号"],
        ["违法和不良信息举报电话：0592-1234567", "举报邮箱：jubao@example.cn"],
        ["【免责声明】本文仅代表作者观点，与本网无关。", "热门新闻"],
        ["澎湃新闻报料：4009-20-4009 澎湃新闻，未经授权不得转载", "关键词 >> 结对帮扶"],
    ],
    ids=["copyright", "report-line", "disclaimer", "rights-notice"],
)
def test_footer_and_rights_notices_end_the_story(trailer: list[str]) -> None:
    cleaned = clean_text("\n".join(STORY_LINES + trailer))
    assert cleaned.text.splitlines() == STORY_LINES
    assert cleaned.removed == trailer


@pytest.mark.parametrize(
    "line",
    [
        "更多猛料！欢迎扫描左方二维码关注本网官方微信（example-news）",
        "长按识别二维码关注我们",
        "看都看完了，点【在看】试试",
        "+",
        "×",
        "|",
        "文脉颂中华 本网走访六大书院，探讨书院文化的作用。【详细】",
    ],
)
def test_follow_us_prompts_read_more_teasers_and_symbol_lines_go_anywhere(line: str) -> None:
    cleaned = clean_text("\n".join([STORY_LINES[0], line, STORY_LINES[1]]))
    assert cleaned.text.splitlines() == STORY_LINES


def test_a_long_line_repeated_by_the_template_is_kept_once() -> None:
    cleaned = clean_text("\n".join(STORY_LINES + STORY_LINES))
    assert cleaned.text.splitlines() == STORY_LINES


def test_short_lines_that_recur_in_a_story_are_kept() -> None:
    interview = [
        "债券市场存在泡沫吗？",
        "估值确实过高，这可以被视为泡沫。",
        "债券市场存在泡沫吗？",
        "完全没有泡沫。",
    ]
    assert clean_text("\n".join(STORY_LINES + interview)).text.splitlines() == STORY_LINES + interview


@pytest.mark.parametrize(
    "credit",
    [
        "(Bai Ping)",
        "（记者 张晓 通讯员 李明）",
        "Pianshan Rong Media reporter Bu Kai",
        "Supply of the Chuanshan District Education and Sports Bureau",
        "扬子晚报记者 张楠",
        "微信",
    ],
)
def test_closing_credits_and_widget_words_at_the_end_go(credit: str) -> None:
    cleaned = clean_text("\n".join([*STORY_LINES, credit]))
    assert cleaned.text.splitlines() == STORY_LINES
    assert cleaned.removed == [credit]


def test_a_closing_sentence_is_not_a_credit() -> None:
    closing = "The reporter learned that the two schools will exchange teachers by the end of the year."
    assert clean_text("\n".join([*STORY_LINES, closing])).text.splitlines() == [*STORY_LINES, closing]
