"""Language: seeded langdetect; Chinese reported by script."""

from __future__ import annotations

import pytest

from pipelines.clean import clean_text
from pipelines.language import detect_language, normalize_declared
from tests.seeds import SEEDS, SeedCase

EXPECTED = {"000": "en", "001": "en", "002": "zh-Hant", "003": "en", "004": "en"}


@pytest.mark.parametrize("seed", SEEDS, ids=lambda s: s.file[:3])
def test_seed_language(seed: SeedCase) -> None:
    assert detect_language(clean_text(seed.raw).text) == EXPECTED[seed.file[:3]]


def test_simplified_chinese_is_zh_hans() -> None:
    assert (
        detect_language("湖里区举办中小学生田径运动会，全区学校师生参加。教育局表示将继续推动体育发展。")
        == "zh-Hans"
    )


def test_detection_is_deterministic() -> None:
    text = "Schools pair up. 学校结对。" * 3
    assert len({detect_language(text) for _ in range(5)}) == 1


def test_text_without_letters_is_undetermined() -> None:
    assert detect_language("2022 — 123 456 !!!") == "und"


@pytest.mark.parametrize(
    "declared, expected",
    [("en-US", "en"), ("en_GB", "en"), ("zh-CN", "zh-Hans"), ("zh-TW", "zh-Hant"), ("zh-Hant-HK", "zh-Hant")],
)
def test_short_text_falls_back_to_the_declared_language(declared: str, expected: str) -> None:
    assert detect_language("OK 2022", declared) == expected


def test_plain_zh_declaration_takes_the_script_from_the_characters() -> None:
    assert normalize_declared("zh", "學校") == "zh-Hant"
    assert normalize_declared("zh", "学校") == "zh-Hans"
    assert normalize_declared("zh", "") == "zh-Hans"


def test_a_declaration_never_overrides_text_that_decides() -> None:
    story = "Two schools in Fujian signed a pairing agreement to share teachers and lessons this autumn."
    assert detect_language(story, "zh-CN") == "en"
    assert detect_language("兩校結對，教師交流，學生手拉手，共同成長。", "en") == "zh-Hant"


def test_unusable_declarations_are_ignored() -> None:
    assert detect_language("OK 2022", "x-klingon-42") == "und"
    assert detect_language("OK 2022", "") == "und"


def test_short_chinese_is_told_by_its_characters() -> None:
    assert detect_language("两校结对共建签约仪式举行") == "zh-Hans"
    assert detect_language("兩校結對共建簽約儀式舉行") == "zh-Hant"
