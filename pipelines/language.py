"""Language stage: seeded langdetect on a bounded prefix of the cleaned text.

Chinese is reported by script (`zh-Hans`, `zh-Hant`), since archivists search and cite the two apart.
"""

from __future__ import annotations

import logging
import re

from langdetect import DetectorFactory, detector_factory
from langdetect.lang_detect_exception import LangDetectException

from crawler.items import PageItem
from pipelines import Stage

logger = logging.getLogger(__name__)

DetectorFactory.seed = 0  # deterministic: the same text always gets the same answer
PREFIX_CHARS = 600
CHINESE_PREFIX_CHARS = 200  # langdetect's cost grows with length; a prefix decides as well
LANG_CODES = {"zh-cn": "zh-Hans", "zh-tw": "zh-Hant"}
UNDETERMINED = "und"
HAN_RE = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
KANA_HANGUL_RE = re.compile(r"[\u3040-\u30ff\u1100-\u11ff\uac00-\ud7af]")
LETTER_RE = re.compile(r"[^\W\d_]")
# Text written mostly in Han characters, with next to no kana or hangul, is Chinese; langdetect alone
# calls some traditional-script pages Korean. For such text it only chooses between the two scripts.
CHINESE_PRIORS = {"zh-cn": 0.5, "zh-tw": 0.5}


def _is_chinese(sample: str) -> bool:
    han = len(HAN_RE.findall(sample))
    letters = len(LETTER_RE.findall(sample))
    return han >= 20 and han >= 0.3 * letters and len(KANA_HANGUL_RE.findall(sample)) < 0.02 * han


def detect_language(text: str) -> str:
    """A BCP 47-style code (`en`, `zh-Hans`, `zh-Hant`, ...), `und` when the text has no letters."""
    sample = text[:PREFIX_CHARS]
    detector_factory.init_factory()
    detector = detector_factory._factory.create()
    if _is_chinese(sample):
        # Only the script is left to decide, and a short stretch of Han text tells it (a tenth of the cost).
        detector.set_prior_map(CHINESE_PRIORS)
        sample = sample[:CHINESE_PREFIX_CHARS]
    detector.append(sample)
    try:
        code = detector.detect()
    except LangDetectException:
        return UNDETERMINED
    return LANG_CODES.get(code, code)


class LanguagePipeline(Stage):
    def process(self, item: PageItem) -> PageItem:
        item.language = detect_language(f"{item.title}\n{item.text}")
        return item
