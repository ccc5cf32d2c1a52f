"""Language stage: BCP 47-style codes, Chinese told apart by script (`zh-Hans`, `zh-Hant`).

- Mostly-Han text is Chinese; its script is decided by OpenCC (which conversion changes more of it), not by
  a statistical guess: langdetect calls some traditional-script pages Korean and needs more text to tell
  the two scripts apart.
- Other text goes to langdetect, seeded so the same text always gets the same answer, on a bounded prefix.
- Text too short to judge, or so mixed that langdetect is unsure, falls back to the language the page
  declares (`<html lang>`, Content-Language); with no declaration it is `und` (short) or the best guess.
"""

from __future__ import annotations

import logging
import re

from langdetect import DetectorFactory, detector_factory
from langdetect.lang_detect_exception import LangDetectException

from crawler.vocabulary.items import PageItem
from pipelines import Stage
from storage.normalize import HAN_RE, han_script

logger = logging.getLogger(__name__)

DetectorFactory.seed = 0  # deterministic: the same text always gets the same answer
PREFIX_CHARS = 600
LANG_CODES = {"zh-cn": "zh-Hans", "zh-tw": "zh-Hant"}
UNDETERMINED = "und"
KANA_HANGUL_RE = re.compile(r"[\u3040-\u30ff\u1100-\u11ff\uac00-\ud7af]")
LETTER_RE = re.compile(r"[^\W\d_]")
MIN_LETTERS = 20  # fewer letters than this (a caption, a one-line notice) cannot be told by statistics
MIN_CONFIDENCE = 0.80  # below this, langdetect is guessing between languages of a mixed text
HANT_REGIONS = {"tw", "hk", "mo", "hant"}


def _is_chinese(sample: str) -> bool:
    han = len(HAN_RE.findall(sample))
    letters = len(LETTER_RE.findall(sample))
    return han >= 10 and han >= 0.3 * letters and len(KANA_HANGUL_RE.findall(sample)) < 0.02 * han


def normalize_declared(declared: str | None, text: str = "") -> str | None:
    """A page's declared language as a code like ours: `zh-TW` -> `zh-Hant`, `en_US` -> `en`."""
    if not declared:
        return None
    parts = declared.strip().replace("_", "-").lower().split("-")
    primary = parts[0]
    if not primary.isalpha() or not 2 <= len(primary) <= 3:
        return None
    if primary != "zh":
        return primary
    if HANT_REGIONS & set(parts[1:]):
        return "zh-Hant"
    if len(parts) > 1:
        return "zh-Hans"
    return f"zh-{han_script(text) or 'Hans'}"  # plain `zh`: the characters say which script


def detect_language(text: str, declared: str | None = None) -> str:
    """A code such as `en`, `zh-Hans`, `zh-Hant`; the declared language (normalized) when the text cannot
    decide; `und` when neither can."""
    sample = text[:PREFIX_CHARS]
    fallback = normalize_declared(declared, sample)
    if _is_chinese(sample):
        return f"zh-{han_script(sample)}"
    if len(LETTER_RE.findall(sample)) < MIN_LETTERS:
        return fallback or UNDETERMINED
    detector_factory.init_factory()
    detector = detector_factory._factory.create()
    detector.append(sample)
    try:
        best = detector.get_probabilities()[0]
    except (LangDetectException, IndexError):
        return fallback or UNDETERMINED
    if best.prob < MIN_CONFIDENCE and fallback:
        return fallback
    return LANG_CODES.get(best.lang, best.lang)


class LanguagePipeline(Stage):
    def process(self, item: PageItem) -> PageItem:
        item.language = detect_language(f"{item.title}\n{item.text}", item.declared_language)
        return item
