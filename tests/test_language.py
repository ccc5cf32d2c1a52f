"""Language: seeded langdetect; Chinese reported by script."""

from __future__ import annotations

import pytest

from pipelines.clean import clean_text
from pipelines.language import detect_language
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
