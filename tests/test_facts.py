"""Pairing facts read from texts: sides with places from the gazetteer, counts, kinds, direction, evidence."""

from __future__ import annotations

import pytest

from pipelines.facts import Fact, Reader, chinese_number
from storage.places import gazetteer, short_name


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


def _codes(fact: Fact) -> set[str | None]:
    return {
        side.place.division.code if side.place and side.place.division else None for side in (fact.a, fact.b)
    }


def test_full_names_are_found_before_short_names_that_overlap_them() -> None:
    names = [name for _, _, name in gazetteer().mentions("2019年6月湖北省开始对口支援新疆")]
    assert names == ["湖北省", "新疆"]  # not 月湖, a district of Jiangxi


def test_everyday_words_are_no_places_and_inner_mongolia_is_one() -> None:
    places = gazetteer()
    assert [n for _, _, n in places.mentions("两校加强合作，促进友好交流，确保长治久安")] == []
    assert places.resolve("内蒙古") is not None and places.resolve("内蒙古").code == "150000"  # type: ignore[union-attr]
    assert places.resolve("合作市") is not None  # with its level it is the city


def test_english_names_that_are_not_pinyin_resolve() -> None:
    places = gazetteer()
    found = {name for _, _, name in places.english_mentions("Hong Kong, Macao, Tibet and Inner Mongolia")}
    assert found == {"Hong Kong", "Macao", "Tibet", "Inner Mongolia"}
    assert [d.code for d in places.english_candidates("Kashgar")] == ["653100"]


def test_every_clause_of_a_sentence_may_give_its_own_fact(reader: Reader) -> None:
    facts = reader.facts("漳州市第一中学与木垒县第一中学结对，龙海区实验小学与木垒县城关小学结对共建。")
    assert [(f.a.schools, f.b.schools) for f in facts] == [
        (("漳州市第一中学",), ("木垒县第一中学",)),
        (("龙海区实验小学",), ("木垒县城关小学",)),
    ]
    assert facts[1].kind == "结对共建"  # the clause's own word, not the sentence's first


def test_a_list_of_members_in_different_places_is_one_fact_each(reader: Reader) -> None:
    facts = reader.facts("海淀区职业学校与河北蔚县职教中心、甘肃临夏县职教中心签订对口帮扶协议。")
    assert len(facts) == 2
    assert {f.b.place.division.code for f in facts} == {"130726", "622921"}  # type: ignore[union-attr]
    assert all(f.a.schools == ("海淀区职业学校",) for f in facts)


def test_a_helping_verb_naming_an_agreement_is_no_direction(reader: Reader) -> None:
    fact = _one(reader, "湖里区金安小学与东乡县达板小学举行结对帮扶签约仪式。")
    assert fact.a.role is None and fact.b.schools == ("东乡县达板小学",)


def test_a_list_paired_respectively_pairs_in_order(reader: Reader) -> None:
    facts = reader.facts("城关一中、民中分别与海淀二中、17中建立手拉手帮扶关系。")
    assert [(f.a.schools, f.b.schools) for f in facts] == [
        (("城关一中",), ("海淀二中",)),
        (("民中",), ("17中",)),
    ]


def test_pairs_listed_with_their_joints_are_each_a_fact(reader: Reader) -> None:
    facts = reader.facts(
        "漳州师范附属中学与木垒县英格堡中学、漳州师范附属小学与木垒县英格堡中心小学结对帮扶。"
    )
    assert [f.b.schools for f in facts] == [("木垒县英格堡中学",), ("木垒县英格堡中心小学",)]
    assert all(f.a.role is None for f in facts)


def test_the_passive_and_the_going_say_who_helps(reader: Reader) -> None:
    fact = _one(reader, "海东民族中学位于西宁市城北区，由江苏省无偿援建。")
    assert fact.a.role == "helper" and fact.a.place.division.code == "320000"  # type: ignore[union-attr]
    assert fact.b.schools == ("海东民族中学",) and fact.b.role == "helped"
    fact = _one(reader, "厦门市教育局赴临夏州开展教育帮扶工作。")
    assert (fact.a.place.written, fact.b.place.written, fact.b.role) == ("厦门市", "临夏州", "helped")  # type: ignore[union-attr]
    fact = _one(reader, "湖里区对临夏州的教育帮扶持续多年。")
    assert (fact.a.role, fact.b.place.division.code) == ("helper", "622900")  # type: ignore[union-attr]
    fact = _one(reader, "在漳州市援疆工作组的精准帮扶下，木垒县教育事业实现蝶变。")
    assert (fact.a.place.division.code, fact.b.place.division.code) == ("350600", "652328")  # type: ignore[union-attr]


def test_aid_to_a_region_in_one_word_names_the_helped_region(reader: Reader) -> None:
    fact = _one(reader, "厦门第二批援藏教师30人启程。")
    assert fact.b.place.division.code == "540000" and fact.a.role == "helper"  # type: ignore[union-attr]
    assert reader.facts("福建省第一批援藏干部来到这里。") == []  # cadres, not a school's help


def test_school_names_begin_where_the_name_does(reader: Reader) -> None:
    fact = _one(reader, "随着漳州第一中学与韩国首尔朝阳中学友好学校签约成功，交流更密切。")
    assert fact.a.schools == ("漳州第一中学",) and fact.kind == "姊妹学校"
    assert fact.b.place and fact.b.place.division is None and fact.b.place.written.startswith("韩国")


def test_schools_in_general_are_no_school_names(reader: Reader) -> None:
    assert reader.facts("全县城区学校将与农村学校结对帮扶。") == []


def test_listed_counts_of_a_side_add_up(reader: Reader) -> None:
    fact = _one(reader, "上海市2所中学、8所小学与昭通市10所学校结对帮扶。")
    assert (fact.a.count, fact.b.count) == (10, 10)


def test_a_relation_stated_again_is_filled_from_the_later_statement(reader: Reader) -> None:
    facts = reader.facts("金安小学与城郊小学结对。厦门市金安小学与临夏市城郊小学签署合作协议。")
    assert len(facts) == 1
    assert facts[0].a.place and facts[0].a.place.division.code == "350200"  # type: ignore[union-attr]


def test_a_school_named_without_its_place_takes_the_place_written_before_it_elsewhere(reader: Reader) -> None:
    fact = _one(reader, "厦门市金安小学举行开学典礼。金安小学与城郊小学结对帮扶。")
    assert fact.a.place and fact.a.place.division and fact.a.place.division.code == "350200"


def test_a_clause_opening_with_its_joint_takes_its_first_side_from_the_clause_before(reader: Reader) -> None:
    fact = _one(reader, "湖里实验学校作为城区优质学校，与闽宁镇中学结成办学联盟。")
    assert fact.a.schools == ("湖里实验学校",) and fact.b.schools == ("闽宁镇中学",)
    assert fact.kind == "教育联盟/共同体"


def test_two_places_named_as_a_pair_and_the_school_paired_with(reader: Reader) -> None:
    fact = _one(reader, "东西部协作开展以来，厦门、临夏两地始终把教育帮扶作为基础工作。")
    assert _codes(fact) == {"350200", "622900"}
    fact = _one(reader, "与玉海幼儿园结对的是火炬幼儿园。")
    assert {fact.a.schools, fact.b.schools} == {("玉海幼儿园",), ("火炬幼儿园",)}


def test_a_national_community_is_no_kind_of_pairing(reader: Reader) -> None:
    assert (
        reader.facts("两校学生互写书信，铸牢中华民族共同体意识。雅安市实验小学与申扎县第一小学开展交流。")
        == []
    )


def test_two_schools_of_one_university_are_no_pair(reader: Reader) -> None:
    assert reader.facts("双方将合作办学，开办厦门大学附属实验中学和厦门大学附属实验小学。") == []


def test_english_pairs_listed_in_one_sentence_are_each_a_fact(reader: Reader) -> None:
    facts = reader.facts(
        "These counterpart partnerships include Shanghai and Yunnan, Fujian and Ningxia, "
        "and Shandong and Chongqing.",
        "en",
    )
    assert [_codes(f) for f in facts] == [{"310000", "530000"}, {"350000", "640000"}, {"370000", "500000"}]


def test_english_school_names_with_numbers_and_an_aided_school(reader: Reader) -> None:
    fact = _one(
        reader, "Macao Harbour View Middle School and Zhuhai No. 3 Middle School became sister schools.", "en"
    )
    assert fact.b.schools == ("Zhuhai No. 3 Middle School",) and fact.a.place.division.code == "820000"  # type: ignore[union-attr]
    fact = _one(reader, "Students of the Shenzhen-aided Kashgar No. 2 High School enrolled.", "en")
    assert fact.a.role == "helper" and fact.b.place.division.code == "653100"  # type: ignore[union-attr]


def test_english_schools_of_one_city_listed_together_are_no_pair(reader: Reader) -> None:
    text = "The branches of Beijing No. 9 High School, Beijing Xiangyang Primary School and Beijing Hongxing Kindergarten opened."
    assert reader.facts(text, "en") == []


def test_a_vaguer_statement_of_a_relation_is_the_same_relation(reader: Reader) -> None:
    facts = reader.facts("上海市援藏教师出发。上海市组团式帮扶日喀则市，选派40名教师。")
    assert len(facts) == 1 and facts[0].b.place.division.code == "540200"  # type: ignore[union-attr]
    facts = reader.facts(
        "海淀区职业学校与河北的学校签订帮扶协议。海淀区职业学校与河北蔚县职教中心签订对口帮扶协议。"
    )
    assert len(facts) == 1 and facts[0].b.place.division.code == "130726"  # type: ignore[union-attr]


def test_a_prefecture_and_a_town_in_it_are_two_sides(reader: Reader) -> None:
    facts = reader.facts("湖里区与临夏州结对共建。湖里区与临夏闽宁镇结对共建。")
    assert len(facts) == 2


def test_words_about_towns_are_no_towns_and_a_name_of_many_districts_is_no_place(reader: Reader) -> None:
    assert reader.facts("通过城镇学校与乡村或镇区学校结对。") == []
    assert reader.facts("城区学校与郊区学校结对帮扶。") == []


def test_an_english_list_of_places_is_no_pair(reader: Reader) -> None:
    assert reader.facts("Sister schools in Guangdong, Hong Kong and Macao met.", "en") == []
    fact = _one(
        reader,
        "Qianling Primary School in Nanming District, Guiyang City and schools in Hong Kong hold hands.",
        "en",
    )
    assert _codes(fact) == {"520102", "810000"}


def test_a_joint_between_a_school_and_its_principal_still_joins_two_schools(reader: Reader) -> None:
    fact = _one(reader, "金安小学校长林某与闽宁镇中心小学校长马某，共同签署了合作协议。")
    assert fact.a.schools == ("金安小学",) and fact.b.schools == ("闽宁镇中心小学",)


def test_english_aided_by_says_who_helps(reader: Reader) -> None:
    fact = _one(reader, "The new Kashgar University campus aided by Shenzhen opened.", "en")
    assert fact.a.role == "helper" and fact.a.place.division.code == "440300"  # type: ignore[union-attr]


def test_a_school_numbered_in_words_or_digits_is_one_school(reader: Reader) -> None:
    facts = reader.facts("厦门五十八中与临夏一中结对。厦门58中与临夏1中开展手拉手帮扶。")
    assert len(facts) == 1


def test_our_city_is_the_portals_region() -> None:
    xiamen = gazetteer().resolve("厦门")
    assert xiamen is not None
    fact = _one(Reader(region=[xiamen]), "我市20所中小学与临夏州20所中小学结为帮扶对子。")
    assert _codes(fact) == {"350200", "622900"} and (fact.a.count, fact.b.count) == (20, 20)
    assert Reader().facts("我市20所中小学与临夏州20所中小学结为帮扶对子。") == []  # no region: no side


def test_english_branches_and_affiliated_schools_pair_the_school_with_its_branch(reader: Reader) -> None:
    fact = _one(reader, "The new schools included Xiong'an branches of Beijing No. 9 High School.", "en")
    assert fact.a.schools == ("Beijing No. 9 High School",) and fact.b.place.written == "Xiong'an"  # type: ignore[union-attr]
    assert fact.kind == "集团化办学" and fact.b.place.division is None  # type: ignore[union-attr]
    fact = _one(
        reader,
        "An example is the Wanzai School Affiliated to Harbour View Middle School, in Zhuhai City.",
        "en",
    )
    assert (fact.a.schools, fact.b.schools) == (("Wanzai School",), ("Harbour View Middle School",))


def test_english_relations_between_local_schools_take_the_place_named_before(reader: Reader) -> None:
    text = (
        "In 2020, the education bureau of Mulei County established relations between local primary"
        " schools and Zhangzhou Experimental Primary School."
    )
    fact = _one(reader, text, "en")
    assert fact.a.place.division.code == "652328" and fact.year == 2020  # type: ignore[union-attr]


def test_the_second_list_paired_in_order_may_be_joined_by_and(reader: Reader) -> None:
    facts = reader.facts("湖里中学、湖里小学分别与东乡中学和达板中心校建立结对帮扶机制。")
    assert [(f.a.schools, f.b.schools) for f in facts] == [
        (("湖里中学",), ("东乡中学",)),
        (("湖里小学",), ("达板中心校",)),
    ]


def test_an_english_county_the_gazetteer_cannot_hold_is_kept_as_written(reader: Reader) -> None:
    fact = _one(reader, "Eight schools of Zhangzhou paired with eight schools of Muwei County.", "en")
    sides = {fact.a.place.written: fact.a.place, fact.b.place.written: fact.b.place}  # type: ignore[union-attr]
    assert set(sides) == {"Zhangzhou", "Muwei County"}
    assert sides["Muwei County"] is not None and not sides["Muwei County"].resolved
    assert (fact.a.count, fact.b.count) == (8, 8)
