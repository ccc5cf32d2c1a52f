"""Relevance: school-pairing stories in Chinese (both scripts) and machine-translated English, and not others;
a calibrated score, evidence for and against, and the term list the model reads."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest

from crawler import settings
from pipelines import relevance
from pipelines.clean import clean_text
from pipelines.relevance import DEFAULT_THRESHOLD, MODEL_FILE, classify, default_model
from tests.seeds import SEEDS, SeedCase


@pytest.mark.parametrize("seed", SEEDS, ids=lambda s: s.file[:3])
def test_every_seed_is_a_pairing_story(seed: SeedCase) -> None:
    found = classify("", clean_text(seed.raw).text)
    assert found.is_pairing, found.explain()
    assert found.score >= 0.5


def test_the_term_list_counts_headline_terms_twice_and_reports_weights() -> None:
    found = default_model().terms.match(
        "两地学校结对帮扶，教师交流。", "湖里区16所学校与闽宁镇16所学校结对共建"
    )
    terms = {t["term"]: t for t in found.terms}
    # once in the text, and the headline's mention counts twice (title_weight)
    assert terms["结对"]["count"] == 3 and terms["结对"]["category"] == "pairing"
    assert terms["学校"]["weight"] == 1.0


def test_the_evidence_names_what_counted_for_and_against_with_counts_and_log_odds() -> None:
    found = classify("湖里区16所学校与闽宁镇16所学校结对共建", "两地学校结对帮扶，教师交流，两校师生手拉手。")
    assert found.is_pairing, found.explain()
    sides = {t["category"] for t in found.terms}
    assert sides <= {"for", "against"} and "for" in sides
    best = next(t for t in found.terms if t["category"] == "for")
    assert best["weight"] > 0 and best["count"] >= 1 and best["term"]
    assert all(t["weight"] < 0 for t in found.terms if t["category"] == "against")
    assert "for:" in found.explain() and "against:" in found.explain()


def test_a_hospital_pairing_names_the_hospital_as_evidence_against() -> None:
    found = classify(
        "市人民医院与县医院结对帮扶", "医院派出医生团队开展对口支援，为患者提供诊疗服务。结对帮扶三年。"
    )
    assert not found.is_pairing
    against = " ".join(t["term"] for t in found.terms if t["category"] == "against")
    assert "医" in against or "hospital" in against, found.explain()


@pytest.mark.parametrize(
    "title, text",
    [
        (
            "市人民医院与县医院结对帮扶",
            "医院派出医生团队开展对口支援，为患者提供诊疗服务，医疗水平提升。结对帮扶三年。",
        ),
        (
            "企业与村结对帮扶助力乡村振兴",
            "多家企业与村集体结对帮扶，发展产业，带动农户增收，村民合作社壮大。",
        ),
        (
            "全市中小学期末考试安排公布",
            "各学校要做好考试组织工作，教师认真监考，学生诚信应考，教育局将巡查。",
        ),
        (
            "City hospital signs counterpart assistance pact",
            "The hospital will send doctors; pairing of hospitals improves medical care for patients.",
        ),
    ],
    ids=["hospital-zh", "village-zh", "exam-zh", "hospital-en"],
)
def test_pairing_outside_schools_and_school_news_without_pairing_are_not_pairing(
    title: str, text: str
) -> None:
    found = classify(title, text)
    assert not found.is_pairing, found.explain()


def test_traditional_script_pairing_story_is_recognised() -> None:
    found = classify("兩校結對", "臺北市兩所國民小學與金門學校結對，教師交流，學生手拉手。")
    assert found.is_pairing, found.explain()


def test_machine_translation_hyphen_spacing_is_read_as_the_word() -> None:
    text = "The school co -construction and school pairing of teachers and students at schools."
    assert any(t["term"] == "co-construction" for t in default_model().terms.match(text).terms)
    assert "term:pairing:co-construction" in default_model().reading(text).values


@pytest.mark.parametrize(
    "title, text",
    [
        (
            "全市中考顺利结束",
            "全市各考点组织有序，学校和教师认真监考，学生诚信应考。此前结对的济南教师也参与了监考工作。",
        ),
        (
            "我市学校积极参与文明城市创建",
            "各学校师生参与共建共治共享，教育系统推动共建文明校园、共建文明城市。",
        ),
        (
            "派出所与学校开展警校共建",
            "辖区派出所民警走进学校，与师生开展警校共建活动，公安民警为学生上安全课，警校结对共建平安校园。",
        ),
    ],
    ids=["passing-mention", "civility-campaign", "police-school"],
)
def test_near_misses_are_not_pairing(title: str, text: str) -> None:
    found = classify(title, text)
    assert not found.is_pairing, found.explain()


@pytest.mark.parametrize(
    "text",
    [
        "The two schools went hand-in-hand: the primary schools of both counties paired up as sister-schools, "
        "and teachers and students visited each other's schools.",
        "市实验小学教育集团与乡村学校实施名校带弱校，两校结对，教师交流，学生共同成长。",
    ],
    ids=["english-hyphenated", "education-group"],
)
def test_other_ways_of_saying_pairing_are_recognised(text: str) -> None:
    found = classify("", text)
    assert found.is_pairing, found.explain()


FIXTURES = Path(__file__).parent / "fixtures"
# relevance_labelled.toml was written with the term list; relevance_cases.toml was written apart from it,
# without sight of the terms; relevance_kinds.toml aims at the kinds of error real pages showed (donations
# framed as aid, mentoring, pupils, civic 共建; 分校, 托管, 联姻, English said once). The model is trained on
# the "tune" cases of all three (benchmarks/train_relevance.py), never on the "held_out" ones.
SETS = {
    name: tomllib.loads((FIXTURES / f"{name}.toml").read_text("utf-8"))["case"]
    for name in ("relevance_labelled", "relevance_cases", "relevance_kinds")
}
LABELLED = SETS["relevance_labelled"]


def _precision_recall(cases: list[dict[str, Any]]) -> tuple[float, float, list[str]]:
    results = [(c, classify(c["title"], c["text"])) for c in cases]
    tp = sum(c["label"] and r.is_pairing for c, r in results)
    fp = sum(r.is_pairing and not c["label"] for c, r in results)
    fn = sum(c["label"] and not r.is_pairing for c, r in results)
    wrong = [f"{c['id']}: {r.explain()}" for c, r in results if c["label"] != r.is_pairing]
    return tp / (tp + fp), tp / (tp + fn), wrong


@pytest.mark.parametrize("name", sorted(SETS))
def test_the_labelled_sets_are_large_varied_and_well_formed(name: str) -> None:
    cases = SETS[name]
    assert len(cases) >= 100 and len({c["id"] for c in cases}) == len(cases)
    for script in ("hans", "hant", "en"):
        for label in (True, False):
            assert sum(c["script"] == script and c["label"] is label for c in cases) >= 15
    assert {c["split"] for c in cases} == {"tune", "held_out"}


@pytest.mark.parametrize(
    "name, split, least",
    [
        ("relevance_labelled", "all", 0.95),
        ("relevance_labelled", "held_out", 0.95),
        ("relevance_cases", "all", 0.95),
        # the kinds of error real pages showed (donations framed as aid, mentoring, pupils, civic 共建...)
        ("relevance_kinds", "all", 0.95),
        # the independent set's held-out part: where the term list stands on texts it was not tuned on
        ("relevance_cases", "held_out", 0.9),
    ],
)
def test_precision_and_recall_on_the_labelled_sets(name: str, split: str, least: float) -> None:
    cases = [c for c in SETS[name] if split == "all" or c["split"] == split]
    precision, recall, wrong = _precision_recall(cases)
    assert precision >= least and recall >= least, wrong


@pytest.mark.parametrize("script", ["hans", "hant", "en"])
def test_each_script_is_recognised(script: str) -> None:
    precision, recall, wrong = _precision_recall([c for c in LABELLED if c["script"] == script])
    assert precision >= 0.9 and recall >= 0.9, wrong


def test_a_longer_term_is_counted_instead_of_the_shorter_one_inside_it() -> None:
    terms = {
        t["term"]: t["count"] for t in default_model().terms.match("两地学校开展对口支援，教师交流。").terms
    }
    assert terms.get("对口支援") == 1 and "对口" not in terms


def test_traditional_terms_are_matched_in_simplified_form() -> None:
    terms = {t["term"] for t in default_model().terms.match("兩校結對幫扶，教師交流，學生手拉手。").terms}
    assert {"结对", "帮扶", "手拉手", "两校", "教师"} <= terms


ALL_CASES = [c for cases in SETS.values() for c in cases]


def test_is_pairing_is_exactly_the_score_reaching_the_threshold() -> None:
    for case in ALL_CASES:
        found = classify(case["title"], case["text"])
        assert 0.0 <= found.score <= 1.0
        assert found.is_pairing == (found.score >= DEFAULT_THRESHOLD), case["id"]
    kept = [c for c in ALL_CASES if 0.5 <= classify(c["title"], c["text"]).score < 0.999]
    assert kept, "some cases score between the threshold and certainty"
    case = kept[0]
    found = classify(case["title"], case["text"], threshold=0.9999)
    assert not found.is_pairing and found.scores["threshold"] == 0.9999


def test_the_documented_threshold_setting_is_the_gates_default() -> None:
    assert settings.PAIRCHIVE_RELEVANCE_THRESHOLD == DEFAULT_THRESHOLD


def test_scores_rise_with_the_share_of_pairing_stories() -> None:
    # calibration on the written sets: stories scored high are pairing stories far more often than low ones
    scored = [(classify(c["title"], c["text"]).score, c["label"]) for c in ALL_CASES]
    high = [label for score, label in scored if score >= 0.8]
    low = [label for score, label in scored if score < 0.2]
    assert sum(high) / len(high) >= 0.95 and sum(low) / len(low) <= 0.05


def test_the_shipped_model_is_small_versioned_and_deterministic() -> None:
    assert MODEL_FILE.stat().st_size < 3_000_000
    assert relevance.VERSION.startswith("logistic-")
    text = "兩校結對幫扶，教師交流，學生手拉手。"
    assert classify("", text) == classify("", text)


def test_traditional_text_with_inline_pinyin_reads_as_its_simplified_form() -> None:
    plain = "湖里区学校与闽宁镇学校结对共建，两校教师交流，学生手拉手。"
    annotated = "湖裏區學(xué)校與閩寧鎮學(xué)校結(jié)對(duì)共建，兩校教師交流，學生手拉手。"
    assert classify("", plain).score == classify("", annotated).score
