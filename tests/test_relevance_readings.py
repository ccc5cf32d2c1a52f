"""The gate reads every written case as recorded: a faster reading must not move a feature or a score.

The record (`tests/fixtures/relevance_readings.json`) is written by `benchmarks/record_relevance.py`;
a change meant to read stories differently, or a retrained model, records it again.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from pipelines import relevance_features
from pipelines.relevance import default_model

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
from record_relevance import RECORD, record, written_cases

RECORDED = json.loads(RECORD.read_text(encoding="utf-8"))


def test_the_record_is_of_the_shipped_model_and_of_every_written_case() -> None:
    assert RECORDED["model"] == default_model().version, "retrained: python benchmarks/record_relevance.py"
    assert sorted(RECORDED["cases"]) == sorted(key for key, _, _ in written_cases())


def test_every_written_case_reads_and_scores_as_recorded() -> None:
    model = default_model()
    differ = {
        key: (RECORDED["cases"][key], now)
        for key, title, text in written_cases()
        if (now := record(model, title, text)) != RECORDED["cases"][key]
    }
    assert not differ, differ


HAN_NAME = st.text(alphabet="小学中校幼儿园附高初院大一实验东西市县区省州旗。 a\u3401\n", max_size=40)


@given(HAN_NAME)
def test_school_names_are_what_the_school_name_pattern_finds(text: str) -> None:
    assert relevance_features.school_names(text) == relevance_features.SCHOOL_NAME_RE.findall(text)


@given(HAN_NAME)
def test_place_names_are_what_the_han_place_pattern_finds(text: str) -> None:
    assert relevance_features.place_names(text) == relevance_features.PLACE_RES[0].findall(text)


PIECES = [
    "结对",
    "共建",
    "共建文明城市",
    "学校",
    "小学",
    "pair",
    "pairs",
    "civility",
    "sign",
    "school",
    "。",
    "！",
    "\n",
    " ",
    "a",
    "与",
    "教育局",
    "村民",
    "x",
    "-",
]


@given(st.lists(st.sampled_from(PIECES), max_size=30).map("".join))
def test_a_finder_told_the_text_s_characters_finds_what_it_finds_unaided(text: str) -> None:
    chars = set(text)
    latin = bool(re.search("[a-z]", text))
    finders = [relevance_features.PAIRING_WORDS, *relevance_features.CONCEPT_RES.values()]
    for finder in [*finders, *relevance_features.PARTY_RES.values()]:
        unaided = [m.span() for m in finder.finditer(text)]
        assert [m.span() for m in finder.finditer(text, latin, chars)] == unaided
        assert finder.search(text) == bool(unaided)
