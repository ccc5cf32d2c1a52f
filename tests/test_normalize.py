"""Search form: simplified script, folded widths and spaces, no pinyin; the stored text is untouched."""

from __future__ import annotations

import pytest

from pipelines.clean import CleanPipeline
from pipelines.dedup import content_hash
from storage.normalize import folded, han_script, search_form, simplified
from tests.seeds import SEEDS

TRADITIONAL = "廈門市湖里區與寧夏閩寧鎮學校結對共建，續寫東西部協作新篇章。"
SIMPLIFIED = "厦门市湖里区与宁夏闽宁镇学校结对共建，续写东西部协作新篇章。"


def test_traditional_text_has_the_simplified_search_form() -> None:
    assert simplified(TRADITIONAL) == SIMPLIFIED
    # NFKC also folds full-width punctuation: the comma becomes ASCII in the search form.
    assert search_form(TRADITIONAL) == search_form(SIMPLIFIED) == SIMPLIFIED.replace("，", ",")


def test_simplified_and_latin_text_pass_through() -> None:
    assert simplified(SIMPLIFIED) == SIMPLIFIED
    assert simplified("Sister schools in Fujian") == "Sister schools in Fujian"


def test_widths_spaces_and_blank_lines_are_folded() -> None:
    assert search_form("  ＡＢＣ１２３\u3000两校  结对 \n\n\t第二段 ") == "ABC123 两校 结对\n第二段"


def test_inline_pinyin_is_not_part_of_the_search_form() -> None:
    assert search_form("續(xù)寫(xiě)新篇") == "续写新篇"


def test_a_traditional_copy_with_pinyin_has_its_originals_content_hash() -> None:
    copy = "廈門市湖里區與寧夏閩寧鎮學校結(jié)對共建，\n續(xù)寫東西部協作新篇章 。"
    assert content_hash(copy) == content_hash(SIMPLIFIED)
    assert folded(copy) == folded(SIMPLIFIED)


def test_different_stories_keep_different_hashes() -> None:
    assert content_hash(SIMPLIFIED) != content_hash(SIMPLIFIED.replace("湖里区", "思明区"))


@pytest.mark.parametrize(
    "text, script",
    [(TRADITIONAL, "Hant"), (SIMPLIFIED, "Hans"), ("学校", "Hans"), ("學校", "Hant"), ("English", None)],
)
def test_han_script(text: str, script: str | None) -> None:
    assert han_script(text) == script


def test_clean_stage_keeps_the_text_as_published_and_its_search_form_beside_it() -> None:
    from datetime import UTC, datetime

    from crawler.vocabulary.items import PageItem

    seed = next(s for s in SEEDS if s.file.startswith("002"))
    item = PageItem(
        url="http://x.example/1",
        source="s",
        html="",
        http_status=200,
        charset="utf-8",
        fetched_at=datetime.now(UTC),
    )
    item.raw_text = seed.raw
    CleanPipeline().process(item)
    assert "續寫" in item.text and "(xù)" not in item.text  # traditional kept, pinyin gone
    assert "续写" in item.search_text and "續寫" not in item.search_text
