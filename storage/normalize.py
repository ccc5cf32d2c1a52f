"""Text as search, dedup and relevance read it, kept beside the text as published.

The stored `text` keeps the script and punctuation the portal used (pinyin annotations aside, which the
clean stage removes). `search_form` is the same text in simplified characters (OpenCC `t2s`), with
full-width letters, digits and spaces folded (NFKC) and runs of whitespace collapsed: a traditional copy
of a story and its simplified original have the same search form, so one query finds both and dedup
joins them.
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache, lru_cache

import opencc

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
    # Every annotation holds one of these; the look-behind keeps re from skipping ahead to them itself.
    if "(" in text or "（" in text or "?" in text:
        return PINYIN_RE.sub("", text)
    return text


@cache
def _converter(config: str) -> opencc.OpenCC:
    return opencc.OpenCC(config)


def simplified(text: str) -> str:
    """Traditional characters converted to simplified ones (OpenCC t2s); other text unchanged."""
    return _converter("t2s").convert(text) if HAN_RE.search(text) else text


# A page's text is read in its search form by the clean, relevance and near-copy stages and the full-text
# index, one after another: kept for the few texts in flight, it is converted once.
@lru_cache(maxsize=64)
def search_form(text: str) -> str:
    """Simplified script, NFKC widths, no inline pinyin, one space between words, no blank lines."""
    text = simplified(strip_pinyin(unicodedata.normalize("NFKC", text)))
    lines = (SPACE_RE.sub(" ", line).strip() for line in text.splitlines())
    return "\n".join(line for line in lines if line)


def folded(text: str) -> str:
    """The search form lower-cased, without whitespace, punctuation or symbols: what copies share."""
    return NON_WORD_RE.sub("", search_form(text).lower())


def han_script(text: str) -> str | None:
    """`Hans` or `Hant` for text with Han characters, by which conversion changes more of it; else None.

    Characters common to both scripts change under neither, so the count is of the telling ones only.
    """
    han = "".join(HAN_RE.findall(text))
    if not han:
        return None
    to_simplified = sum(a != b for a, b in zip(han, _converter("t2s").convert(han), strict=False))
    to_traditional = sum(a != b for a, b in zip(han, _converter("s2t").convert(han), strict=False))
    return "Hant" if to_simplified > to_traditional else "Hans"
