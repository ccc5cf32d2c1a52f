"""The search form and folded form of a text, as migrations 0003-0005 computed them (storage.normalize then)."""

from __future__ import annotations

import re
import unicodedata
from functools import cache
from typing import Any

CJK = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
TONED = "āáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜüńňǹḿ"
# A Han character followed by a parenthesised pinyin syllable carrying a tone mark: 續(xù), 當（dāng）.
# Pages that went through a bad transcoding show `?` or U+FFFD where the character was.
PINYIN_RE = re.compile(
    rf"(?<=[{CJK}?\ufffd])[(（]\s*[a-z]*[{TONED}][a-z{TONED}]*(?:\s+[a-z{TONED}]+)*\s*[)）]"
    # where the transcoding also ate the opening parenthesis: 當?shù)
    rf"|\?[a-z]*[{TONED}][a-z{TONED}]*\)"
)

SPACE_RE = re.compile(r"[^\S\n]+")
NON_WORD_RE = re.compile(r"[\W_]+")  # punctuation, symbols, whitespace, controls: all but letters and digits
HAN_RE = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")


def strip_pinyin(text: str) -> str:
    """Remove inline pinyin annotations after Han characters: `續(xù)寫(xiě)` -> `續寫`."""
    return PINYIN_RE.sub("", text)


@cache
def _converter(config: str) -> Any:
    import opencc  # loaded when a migration converts text, not when the migrations are listed

    return opencc.OpenCC(config)


def simplified(text: str) -> str:
    """Traditional characters converted to simplified ones (OpenCC t2s); other text unchanged."""
    return _converter("t2s").convert(text) if HAN_RE.search(text) else text


def search_form(text: str) -> str:
    """Simplified script, NFKC widths, no inline pinyin, one space between words, no blank lines."""
    text = simplified(strip_pinyin(unicodedata.normalize("NFKC", text)))
    lines = (SPACE_RE.sub(" ", line).strip() for line in text.splitlines())
    return "\n".join(line for line in lines if line)


def folded(text: str) -> str:
    """The search form lower-cased, without whitespace, punctuation or symbols: what copies share."""
    return NON_WORD_RE.sub("", search_form(text).lower())
