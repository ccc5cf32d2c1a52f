"""Pairing facts read from texts: sides with places from the gazetteer, counts, kinds, direction, evidence."""

from __future__ import annotations

import pytest

from pipelines.facts import Fact, Reader, chinese_number
from pipelines.places import gazetteer, short_name


@pytest.fixture(scope="module")
def reader() -> Reader:
    return Reader()


def _one(reader: Reader, text: str, language: str = "zh") -> Fact:
    facts = reader.facts(text, language)
    assert len(facts) == 1, facts
    return facts[0]


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("十六", 16),
        ("十", 10),
        ("一百零四", 104),
        ("七十二", 72),
        ("两", 2),
        ("72", 72),
        ("二十三", 23),
        ("百", 100),
    ],
)
def test_chinese_numerals_become_numbers(text: str, number: int) -> None:
    assert chinese_number(text) == number


def test_short_names_drop_the_level_and_the_people() -> None:
    assert short_name("临夏回族自治州", "city", ["回族"]) == "临夏"
    assert short_name("木垒哈萨克自治县", "county", ["哈萨克族", "哈萨克"]) == "木垒"
    assert short_name("湖里区", "county") == "湖里"
    assert short_name("和县", "county") is None  # one character is no name of its own


def test_a_short_name_is_resolved_by_the_places_around_it() -> None:
    places = gazetteer()
    assert {d.code for d in places.candidates("朝阳")} >= {"110105", "220104", "211300"}
    beijing = places.resolve("北京")
    assert beijing is not None
    assert places.resolve("朝阳区", context=[beijing]).code == "110105"  # type: ignore[union-attr]
    changchun = places.resolve("长春")
    assert changchun is not None
    assert places.resolve("朝阳区", region=[changchun]).code == "220104"  # type: ignore[union-attr]
    assert places.resolve("朝阳区") is None  # two districts of one level: left as written
    huli = places.resolve("湖里区")
    assert huli is not None and [d.name for d in places.chain(huli)] == ["福建省", "厦门市", "湖里区"]


def test_two_districts_and_their_school_counts_in_traditional_script(reader: Reader) -> None:
    text = "近日，湖裡區十六所學校與臨夏閩寧鎮16所學校通過線上簽約儀式達成結對共建。"
    fact = _one(reader, text)
    assert fact.kind == "结对共建"
    assert fact.a.place and fact.a.place.division and fact.a.place.division.name == "湖里区"
    assert fact.a.count == 16 and fact.b.count == 16
    assert fact.b.place and fact.b.place.division and fact.b.place.division.code == "622900"
    assert fact.b.place.town == "闽宁镇" and fact.b.place.written == "临夏闽宁镇"
    assert text[fact.start : fact.end].strip() == fact.evidence and "簽約" in fact.evidence


def test_named_schools_pair_and_an_unknown_town_stays_as_written(reader: Reader) -> None:
    fact = _one(reader, "前言。金安小学与闽宁镇中心小学结对。")
    assert fact.a.schools == ("金安小学",) and fact.a.place is None  # a school's name, not 金安区 of Anhui
    assert fact.b.schools == ("闽宁镇中心小学",)
    assert fact.b.place and not fact.b.place.resolved and fact.b.place.written == "闽宁镇"


def test_a_helping_verb_gives_the_direction(reader: Reader) -> None:
    fact = _one(reader, "2023年，上海市黄浦区对口支援云南省大理州，选派10名骨干教师。")
    assert fact.kind == "对口支援" and fact.year == 2023 and fact.directed
    assert fact.a.role == "helper" and fact.a.place and fact.a.place.division.code == "310101"  # type: ignore[union-attr]
    assert fact.b.role == "helped" and fact.b.place and fact.b.place.written == "云南省大理州"


def test_a_county_short_name_with_its_level_is_written_whole(reader: Reader) -> None:
    fact = _one(reader, "漳州市8所学校与木垒县8所学校举行“云签约”仪式，两地学校手拉手结对。")
    assert fact.b.place and fact.b.place.written == "木垒县" and fact.b.place.division.code == "652328"  # type: ignore[union-attr]
    assert (fact.a.count, fact.b.count) == (8, 8)


def test_a_relation_stated_twice_in_a_text_is_one_fact(reader: Reader) -> None:
    text = "漳州市与木垒县结对共建。会上，漳州市与木垒县结对共建的协议签订。"
    assert len(reader.facts(text)) == 1


def test_a_sentence_with_no_second_side_gives_no_fact(reader: Reader) -> None:
    assert reader.facts("湖里区派出的帮扶团由2所中学、9所小学、5所幼儿园组成。") == []
    assert reader.facts("今天天气很好，学生们在操场上做操。") == []


def test_english_schools_and_counts(reader: Reader) -> None:
    fact = _one(
        reader,
        "In 2022, eight schools of Zhangzhou signed a pairing agreement with eight schools of Mulei County.",
        "en",
    )
    assert fact.kind == "结对帮扶" and fact.year == 2022
    assert fact.a.count == 8 and fact.b.count == 8
    assert fact.a.place and fact.a.place.division and fact.a.place.division.name == "漳州市"
    assert fact.b.place and fact.b.place.written == "Mulei County" and fact.b.place.division.code == "652328"  # type: ignore[union-attr]
