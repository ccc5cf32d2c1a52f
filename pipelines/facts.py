"""Who pairs with whom: pairing facts read from a story's cleaned text.

A fact is two sides (each a place, its schools by name or by count), the kind of programme, the year where
stated, the direction where stated (helper and helped) and the sentence it was read from, by its offsets in
the stored text. Chinese in either script is read in simplified form sentence by sentence (the offsets stay
those of the stored text); English by its own patterns.

The reading is by rules over sentences: a sentence that names a kind of pairing (结对, 帮扶, 对口支援,
共同体, sister schools...) and two sides joined by 与/和/同/跟 ("A与B结对"), or by a helping verb between
them ("A帮扶B": A helps B), gives a fact. Places come from the gazetteer (pipelines.places); a town or a
name it does not hold is kept as written, unresolved."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from pipelines.places import COUNTY, Division, Gazetteer, gazetteer
from storage.normalize import simplified, strip_pinyin

# Kinds of programme, most specific first: the first whose words the sentence holds is its kind.
KINDS: tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...] = (
    ("组团式帮扶", ("组团式",), ("group-style", "group style", "team-based")),
    (
        "对口支援",
        ("对口支援", "对口帮扶", "对口援", "援疆", "援藏", "东西部协作", "东西协作"),
        ("counterpart",),
    ),
    ("集团化办学", ("集团化办学", "教育集团", "集团校"), ("education group", "school group")),
    (
        "教育联盟/共同体",
        ("共同体", "联盟", "联合体", "教联体", "联合校", "发展共同体"),
        ("consortium", "consortia", "alliance", "education complex", "complexes", "community of"),
    ),
    (
        "姊妹学校",
        ("姊妹学校", "姐妹学校", "友好学校", "姊妹校", "姐妹校"),
        ("sister school", "sister-school"),
    ),
    ("结对共建", ("共建",), ("co-construction", "co -construction", "co-build", "jointly build")),
    (
        "结对帮扶",
        ("结对", "手拉手", "帮扶", "结成对子", "一对一"),
        ("pair", "twinning", "twinned", "hand-in-hand"),
    ),
)
KIND_NAMES = tuple(kind for kind, _, _ in KINDS)

# Verbs that, between the two sides, say who helps whom: "A帮扶B", "A对口支援B".
_HELPING = re.compile(r"(结对帮扶|对口支援|对口帮扶|帮扶|支援|援助|援建|帮助|带动|辐射)")
_LEVEL_WORDS = frozenset("省市州县区旗盟")
_JOINING = re.compile(r"[与和同跟及]")
_SENTENCE = re.compile(r"[^。！？；!?;\n]+[。！？；!?;]?")
_EN_SENTENCE = re.compile(r"[^.!?;\n]+[.!?;]?")

CN_DIGITS = {
    "零": 0,
    "〇": 0,
    "一": 1,
    "二": 2,
    "两": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}
CN_UNITS = {"十": 10, "百": 100, "千": 1000}
_CN_NUMBER = "[零〇一二两三四五六七八九十百千]+"
_SCHOOL_WORD = r"(?:中小学校?|中小学|小学|中学|初中|高中|幼儿园|学校|中心校|完小|职校|校)"
_COUNT = re.compile(rf"(\d+|{_CN_NUMBER})\s*(?:所|个|家)(?:[^，,。\d]{{0,6}}?){_SCHOOL_WORD}")
_SCHOOL = re.compile(
    r"([\u4e00-\u9fff]{2,14}?(?:中心小学|实验小学|小学|初级中学|高级中学|中学|幼儿园|中心校|完小|学校|学院))"
)
_TOWN = re.compile(r"([\u4e00-\u9fff]{2,4}?(?:镇|乡|街道))(?=[\u4e00-\u9fff\d]|$)")
_YEAR = re.compile(r"((?:19|20)\d\d)\s*年")
# Words that begin a school's name in the text but are not part of it.
_LEADING = re.compile(
    r"^(?:近日|日前|目前|今年|去年|其中|并与|并|与|和|同|跟|由|在|将|及|为|是|的|了|等|共|有|以|对|向|到|从|把|让|使)+"
)

EN_NUMBERS = {
    w: i
    for i, w in enumerate(
        [
            "zero",
            "one",
            "two",
            "three",
            "four",
            "five",
            "six",
            "seven",
            "eight",
            "nine",
            "ten",
            "eleven",
            "twelve",
            "thirteen",
            "fourteen",
            "fifteen",
            "sixteen",
            "seventeen",
            "eighteen",
            "nineteen",
            "twenty",
        ]
    )
}
_EN_COUNT = re.compile(
    r"\b(\d+|"
    + "|".join(EN_NUMBERS)
    + r")\s+(?:[a-z-]+\s+){0,3}?(?:schools|kindergartens|primary schools)\b",
    re.I,
)
_EN_SCHOOL = re.compile(
    r"((?:[A-Z][a-z'-]+\s+){1,5}(?:Primary School|Middle School|High School|Elementary School|Kindergarten|School))"
)


def chinese_number(text: str) -> int | None:
    """十六 -> 16, 一百零四 -> 104, 72 -> 72; None where it is no number."""
    if text.isdigit():
        return int(text)
    total, current = 0, 0
    for char in text:
        if char in CN_DIGITS:
            current = CN_DIGITS[char]
        elif char in CN_UNITS:
            total += (current or 1) * CN_UNITS[char]
            current = 0
        else:
            return None
    return total + current


@dataclass(frozen=True)
class Place:
    written: str  # as the story writes it (湖里区, 临夏闽宁镇)
    division: Division | None  # the gazetteer's division, None where unresolved
    town: str | None = None  # a town or street under it, as written

    @property
    def resolved(self) -> bool:
        return self.division is not None


@dataclass(frozen=True)
class Side:
    place: Place | None
    schools: tuple[str, ...] = ()
    count: int | None = None  # the number of schools, where a number is given
    role: str | None = None  # "helper" or "helped", where the text says

    def is_empty(self) -> bool:
        return self.place is None and not self.schools and self.count is None


@dataclass(frozen=True)
class Fact:
    kind: str
    a: Side
    b: Side
    year: int | None
    start: int  # the evidence: text[start:end] of the stored text
    end: int
    evidence: str = field(compare=False)

    @property
    def directed(self) -> bool:
        return self.a.role is not None


def kind_of(sentence: str, english: bool = False) -> str | None:
    low = sentence.lower()
    for kind, zh, en in KINDS:
        if english and any(word in low for word in en):
            return kind
        if not english and any(word in sentence for word in zh):
            return kind
    return None


def sentences(text: str, english: bool) -> Iterable[tuple[int, int]]:
    for match in (_EN_SENTENCE if english else _SENTENCE).finditer(text):
        if match.group().strip():
            yield match.start(), match.end()


class Reader:
    """Reads the facts of texts against one gazetteer and a portal's region."""

    def __init__(self, places: Gazetteer | None = None, region: Sequence[Division] = ()) -> None:
        self.places = places or gazetteer()
        self.region = list(region)

    # -- places ----------------------------------------------------------------------------------

    def _context(self, text: str) -> list[Division]:
        """The divisions a text names without doubt (one candidate each): what resolves the others."""
        found = []
        for _, _, name in self.places.mentions(text):
            candidates = self.places.candidates(name)
            if len(candidates) == 1:
                found.append(candidates[0])
        return found

    def _place(self, segment: str, context: list[Division]) -> Place | None:
        """The place a side's words name: its most specific division, and a town under it."""
        schools = [m.span(1) for m in _SCHOOL.finditer(segment)]
        chosen: Division | None = None
        written, unresolved, last_end = "", "", -1
        for start, end, name in self.places.mentions(segment):
            division = self.places.resolve(name, [*context, *([chosen] if chosen else [])], self.region)
            if division is None:
                unresolved = unresolved or name
                continue
            inside_school = any(s <= start and end < e for s, e in schools)
            if (
                inside_school
                and division.level == COUNTY
                and name not in self.places.full
                and not self._near(division, context)
            ):
                continue  # 金安小学 is a school's name, not 金安区 of another province
            if name not in self.places.full and segment[end : end + 1] in _LEVEL_WORDS:
                name, end = name + segment[end], end + 1  # 木垒县, 大理州: the short name and its level
            if chosen is None or division.within(chosen):
                # 临夏闽宁镇, 厦门市湖里区: a parent written right before its child is part of the name
                written = written + name if chosen is not None and start == last_end else name
                chosen, last_end = division, end
        town = None
        for match in _TOWN.finditer(segment):
            candidate = match.group(1)
            if last_end > match.start(1):  # the town's name begins with the division: what follows it
                candidate = segment[last_end : match.end(1)]
            if 3 <= len(candidate) <= 5 and not self.places.candidates(candidate):
                town = candidate
                break
        if chosen is None and town is None and not unresolved:
            return None
        if town:
            written = written + town if written and segment.find(written + town) >= 0 else town
        return Place(written=_clean(written or unresolved), division=chosen, town=town)

    def _near(self, division: Division, context: list[Division]) -> bool:
        """Whether a division lies in the province of a place the text or the portal names."""
        return any(
            division.province_code == other.province_code
            for other in [*context, *self.region]
            if other.code != division.code
        )

    def _side(self, segment: str, context: list[Division], role: str | None = None) -> Side:
        counts = [chinese_number(m.group(1)) for m in _COUNT.finditer(segment)]
        count = next((c for c in counts if c), None)
        schools = []
        for match in _SCHOOL.finditer(segment):
            name = _clean(_LEADING.sub("", match.group(1)))
            bare = re.fullmatch(rf"[\d{_CN_NUMBER[1:-2]}所个家]*{_SCHOOL_WORD}", name)  # 16所学校: a count
            if len(name) >= 3 and not bare and not _COUNT.search(name) and name not in schools:
                schools.append(name)
        return Side(self._place(segment, context), tuple(schools), count, role)

    def _english_side(self, segment: str, context: list[Division]) -> Side:
        counts = [m.group(1).lower() for m in _EN_COUNT.finditer(segment)]
        count = next((int(c) if c.isdigit() else EN_NUMBERS[c] for c in counts), None)
        schools = tuple(dict.fromkeys(m.group(1).strip() for m in _EN_SCHOOL.finditer(segment)))
        chosen: Division | None = None
        written = ""
        for start, end, name in self.places.english_mentions(segment):
            division = self.places.resolve(name, context, self.region, english=True)
            if division is not None and (chosen is None or division.within(chosen)):
                chosen, written = division, segment[start:end]
            elif division is None:
                written = written or segment[start:end]
        place = Place(written=written, division=chosen) if written else None
        return Side(place, schools, count)

    # -- sentences -------------------------------------------------------------------------------

    def facts(self, text: str, language: str = "zh") -> list[Fact]:
        english = language.startswith("en")
        if english:
            return self._english(text)
        converted = simplified(strip_pinyin(text))
        same_length = len(converted) == len(text)
        context = self._context(converted if same_length else simplified(text))
        found: list[Fact] = []
        for start, end in sentences(text, english=False):
            sentence = converted[start:end] if same_length else simplified(strip_pinyin(text[start:end]))
            kind = kind_of(sentence)
            if kind is None:
                continue
            fact = self._sentence(sentence, kind, context)
            if fact is not None:
                a, b, year = fact
                found.append(Fact(kind, a, b, year, start, end, text[start:end].strip()))
        return _unique(found)

    def _sentence(
        self, sentence: str, kind: str, context: list[Division]
    ) -> tuple[Side, Side, int | None] | None:
        year_match = _YEAR.search(sentence)
        year = int(year_match.group(1)) if year_match else None
        for clause in re.split(r"[，,：:]", sentence):
            # "A帮扶B": the helper before the verb, the helped after it
            helping = _HELPING.search(clause)
            if helping:
                left, right = clause[: helping.start()], clause[helping.end() :]
                if not _JOINING.search(left[-4:] if left else ""):
                    a, b = self._side(left, context, "helper"), self._side(right, context, "helped")
                    if _both(a, b):
                        return a, b, year
            # "A与B结对": two sides joined, the kind after them
            for joint in _JOINING.finditer(clause):
                left, right = clause[: joint.start()], clause[joint.end() :]
                a, b = self._side(left, context), self._side(_before_kind(right), context)
                if _both(a, b):
                    return a, b, year
        return None

    def _english(self, text: str) -> list[Fact]:
        found = []
        context = []
        for _, _, name in self.places.english_mentions(text):
            candidates = self.places.english_candidates(name)
            if len(candidates) == 1:
                context.append(candidates[0])
        for start, end in sentences(text, english=True):
            sentence = text[start:end]
            kind = kind_of(sentence, english=True)
            if kind is None:
                continue
            joint = re.search(r"\b(?:and|with)\b", sentence)
            if not joint:
                continue
            left, right = sentence[: joint.start()], sentence[joint.end() :]
            a, b = self._english_side(left, context), self._english_side(right, context)
            if _both(a, b):
                year = re.search(r"\b((?:19|20)\d\d)\b", sentence)
                found.append(
                    Fact(kind, a, b, int(year.group(1)) if year else None, start, end, sentence.strip())
                )
        return _unique(found)


def _before_kind(segment: str) -> str:
    """A right-hand side ends where the words of the kind (or of its agreement) begin."""
    cut = re.search(
        r"(结对|结成|签订|签约|通过|开展|建立|组建|组成|达成|举行|共建|携手|手拉手|帮扶|正式|成立)", segment
    )
    return segment[: cut.start()] if cut else segment


def _both(a: Side, b: Side) -> bool:
    """Both sides hold something, and not the same place with nothing else to tell them apart."""
    if a.is_empty() or b.is_empty():
        return False
    if a.place and b.place and a.place.written == b.place.written and not (a.schools or b.schools):
        return False
    return bool((a.place or a.schools) and (b.place or b.schools))


def _clean(name: str) -> str:
    return name.strip(" \u3000“”\"'《》「」()（）")


def _unique(facts: list[Fact]) -> list[Fact]:
    """One fact per relation in a text: the first sentence that states it, the later ones dropped."""
    seen: set[tuple[object, ...]] = set()
    out = []
    for fact in facts:
        key = (fact.kind, _side_key(fact.a), _side_key(fact.b))
        if key not in seen:
            seen.add(key)
            out.append(fact)
    return out


def _side_key(side: Side) -> tuple[object, ...]:
    place = side.place
    where = (
        place.division.code if place and place.division else place.written if place else None,
        place.town if place else None,
    )
    return (where, side.schools)
