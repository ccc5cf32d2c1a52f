"""Who pairs with whom: pairing facts read from a story's cleaned text.

A fact is two sides (each a place, its schools by name or by count), the kind of programme, the year where
stated, the direction where stated (helper and helped) and the sentence it was read from, by its offsets in
the stored text. Chinese in either script is read in simplified form sentence by sentence (the offsets stay
those of the stored text); English by its own patterns.

The reading is by rules over sentences: a sentence that names a kind of pairing (结对, 帮扶, 对口支援,
共同体, sister schools...) and two sides joined by 与/和/同/跟 ("A与B结对"), by a helping verb between
them ("A帮扶B": A helps B; "B由A援建": A helps B) or by 赴 ("A赴B开展帮扶"), gives a fact. Each clause may
give one; a side listing members in different places ("A与B县甲校、C县乙校签约") gives one fact per member,
and "A1、A2分别与B1、B2结对" pairs them in order. Places come from the gazetteer (storage.places); a town
or a name it does not hold is kept as written, unresolved. One relation is one fact, however often a text
states it."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from storage.normalize import simplified, strip_pinyin
from storage.pairings import KIND_NAMES
from storage.places import COUNTY, Division, Gazetteer, gazetteer

# Kinds of programme, most specific first: the first whose words the sentence holds is its kind. The last
# words of 结对帮扶 (an agreement, a signing) only tell a kind where no other does.
KINDS: tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...] = (
    ("组团式帮扶", ("组团式", "组团帮扶"), ("group-style", "group style", "team-based", "group-based")),
    (
        "对口支援",
        (
            "对口支援",
            "对口帮扶",
            "对口援",
            "援疆",
            "援藏",
            "援青",
            "援滇",
            "东西部协作",
            "东西协作",
            "援建",
            "支援",
        ),
        (
            "counterpart support",
            "counterpart aid",
            "counterpart assistance",
            "pairing assistance",
            " aid ",
            "-aided",
            "aided by",
            "assistance to",
            "support to",
        ),
    ),
    (
        "集团化办学",
        ("集团化办学", "教育集团", "集团校", "托管", "联合办学", "合作办学"),
        (
            "education group",
            "school group",
            "branch school",
            "branch campus",
            "branches of",
            "branch of",
            "campus of",
            "affiliated to",
        ),
    ),
    (
        "教育联盟/共同体",
        ("共同体", "联盟", "联合体", "教联体", "联合校", "发展共同体"),
        ("consortium", "consortia", "alliance", "education complex", "complexes", "community of", "union"),
    ),
    (
        "姊妹学校",
        ("姊妹学校", "姐妹学校", "友好学校", "姊妹校", "姐妹校", "联谊学校", "友好关系学校"),
        ("sister school", "sister-school"),
    ),
    ("结对共建", ("共建",), ("co-construction", "co -construction", "co-build", "jointly build")),
    (
        "结对帮扶",
        ("结对", "手拉手", "帮扶", "结成对子", "一对一", "合作协议", "牵手", "结盟", "签约"),
        (
            "pair",
            "twinning",
            "twinned",
            "hand-in-hand",
            "hold hands",
            "teamed up",
            "partner",
            "one-to-one",
            "established relations between",
            "signed a contract with",
            "cooperation agreement",
            "cooperation framework agreement",
            "counterpart",
        ),
    ),
)
if tuple(kind for kind, _, _ in KINDS) != KIND_NAMES:  # the kinds stored (storage.pairings) are these
    raise ImportError("pipelines.facts.KINDS and storage.pairings.KIND_NAMES name different kinds")
# Phrases that hold a kind's words but name no programme (铸牢中华民族共同体意识).
_NOT_KIND = re.compile(r"中华民族共同体|命运共同体|学习共同体|成长的共同体|共同体意识")

# Verbs that, between the two sides, say who helps whom: "A帮扶B", "A对口支援B".
_HELPING = re.compile(r"(结对帮扶|对口支援|对口帮扶|帮扶|支援|援助|援建|帮助|带动|辐射|托管)")
# "B由A援建": the helper after 由, the helped before it.
# A helping verb before these is a noun's modifier (结对帮扶签约仪式, 帮扶关系), not the verb between sides.
_AS_NOUN = re.compile(
    r"^(?:签约|协议|仪式|关系|工作|活动|机制|计划|项目|的|团队|力量|学校|对象|共建|结对|合作|启动)"
)
# "A对B(的)(教育)帮扶": A helps B.
_TOWARDS = re.compile(r"对(?!口)([^，,。对]{2,16}?)(?:的)?(?:教育)?(?:帮扶|支援|援助|帮助)")
# "在A的帮扶下，B": A helps B.
_UNDER = re.compile(r"在([^，,。在]{2,24}?)的[^，,。]{0,8}?(?:帮扶|支援|援助|帮助)[^，,。]{0,8}?下")
_PASSIVE = re.compile(r"由([^，,。由]{2,30}?)(?:无偿|全面|全权)?(?:援建|帮扶|对口支援|对口帮扶|托管|支援)")
# "A赴B开展帮扶": the helper goes to the helped.
_GOING = re.compile(r"(?:赴|来到|前往|走进)([^，,。赴]{2,20}?)(?:开展|进行|调研|考察|支教)")
# 援藏, 援疆: the helped region in a word.
_AID_TARGET = {"援藏": "西藏", "援疆": "新疆", "援青": "青海", "援滇": "云南", "援黔": "贵州"}
# Countries whose places a side may name: what follows them is no division of China.
_ABROAD = re.compile(
    r"(?:韩国|日本|美国|英国|法国|德国|俄罗斯|澳大利亚|新西兰|加拿大|新加坡|马来西亚|泰国|意大利|芬兰)"
    r"(?:[\u4e00-\u9fff]{0,6}?(?=[\u4e00-\u9fff]{2,12}?(?:中学|小学|学校|大学|学院))|[\u4e00-\u9fff]{0,4})"
)
_KIND_CUT = re.compile(
    r"(结对|结成|签订|签约|签署|通过|开展|建立|组建|组成|达成|举行|共建|携手|手拉手|帮扶|正式|成立|缔结|成为"
    r"|友好学校|姊妹|姐妹|联谊)"
)
# "青岛、安顺两地": two places named as a pair.
_TWO_PLACES = re.compile(r"([\u4e00-\u9fff]{2,10}?)[、和与]([\u4e00-\u9fff]{2,10}?)两(?:地|省|市|县|区|校)")
# "与玉海幼儿园结对的是火炬幼儿园": the second side after 的是.
_PAIRED_IS = re.compile(r"与([^，,。]{2,20}?)(?:结对|结成对子|牵手)的(?:学校)?是([^，,。]{2,20})")
# A clause that opens with its joint ("，并与乙校签约") has its first side in the clause before.
_OPENING_JOINT = re.compile(r"^(?:共同|并|并且|还|也|同时|正式)?(?:与|同|跟)")
# What a town's name does not hold: 通过城镇, 乡村或镇 are words about towns, not towns.
_NO_TOWN = re.compile(r"城镇|乡村|乡镇|或|通过|和|与|的|各|全|每")
# The portal's own place, as its stories write it.
_OWN_PLACE = re.compile(r"[我本](?:市|区|县|州|省)")
_RESPECTIVELY = re.compile(r"分别(?:与|和|同|跟)")
_LEVEL_WORDS = frozenset("省市州县区旗盟")
_JOINING = re.compile(r"[与和同跟及]")
_SENTENCE = re.compile(r"[^。！？；!?;\n]+[。！？；!?;]?")
# An English sentence does not end at "No." before a number (Zhuhai No. 1 Middle School) nor at "St.".
_EN_SENTENCE = re.compile(r"(?:[^.!?;\n]|(?<=\bNo)\.|(?<=\bSt)\.|\.(?=\d))+[.!?;]?")

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
_SCHOOL_WORD = r"(?:中小学校?|中小学|小学|中学|初中|高中|幼儿园|学校|中心校|完小|职校|国小|国中|校)"
_COUNT = re.compile(rf"(\d+|{_CN_NUMBER})\s*(?:余|多)?\s*(?:所|个|家)(?:[^，,。、\d]{{0,6}}?){_SCHOOL_WORD}")
_SCHOOL = re.compile(
    r"([\u4e00-\u9fff\d]{2,20}?(?:中心小学|实验小学|小学|初级中学|高级中学|中学|幼儿园|中心校|完小|学校"
    r"|学院|大学|附中|附小|附校|职教中心|教育中心|分校|高中|国小|国中|[一二三四五六七八九十\d]{1,3}中(?![学心小]))"
    r"(?!(?:(?![、与和及等的])[\u4e00-\u9fff]){0,4}(?:中学|小学|学校)))"
)
_TOWN = re.compile(r"([\u4e00-\u9fff]{2,4}?(?:镇|乡|街道))(?=[\u4e00-\u9fff\d]|$)")
_YEAR = re.compile(r"((?:19|20)\d\d)\s*年")
# Words that begin a school's name in the text but are not part of it.
_LEADING = re.compile(
    r"^(?:近日|日前|目前|今年|去年|其中|并|由|在|将|为|是|的|了|等|共|有|以|对|向|到|从|把|让|使)+"
)
# Where a school's name cannot begin before: the name starts after the last of these.
_NAME_STOP = re.compile(
    r".*(?:\d+[年月日]|的|了|在|向|与|和|及|为|将|到|由|是|对|把|让|给|等|就|做好|表示|感谢|随着|举行|签订|签署|来到|前往"
    r"|赴|派出|组织|支持|帮助|帮扶|援建|托管|希望|介绍|通过|分别|参加|携手|牵头|引进|开办|创办|确定|首次|增列)"
)
# A school word after these alone is schools in general, not a school's name (城区学校, 内地学校).
_GENERIC = re.compile(
    r"^(?:内地|城区|城镇|农村|乡村|乡镇|山区|城乡|薄弱|优质|结对|姊妹|姐妹|友好|各|全市|全县|部分|相应|公办|民办"
    r"|示范|重点|该|本|两|这些|其他|对口|受援|被帮扶|帮扶|远端|成员|核心|龙头|所属|当地|周边|相关|一所|多所|县内"
    r"|市级|县级|省级|中小|骨干|合作|联盟|共建|协作|试点|新建)*$"
)

# An English place name with its level, when the gazetteer holds no such name: kept as written, unresolved.
_EN_UNRESOLVED = re.compile(r"\b((?:[A-Z][a-z]+\s){1,2}(?:County|District|Township|Town))\b")

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
    r"((?:(?:[A-Z][\w'’-]*|No\.\s?\d+|\d+|of|the)\s+){0,6}?(?:[A-Z][\w'’-]*\s+|No\.\s?\d+\s+)"
    r"(?:Primary School|Middle School|High School|Elementary School|Kindergarten|School|University|College"
    r"|Institute|Lyceum)\b(?:\s+No\.\s?\d+)?)"
)
_EN_HELPING = re.compile(
    r"\b(?:helps?|helped|aids?|aided|supports?|supported|assists?|assisted|lends? expertise to"
    r"|provides?\b[^,]{0,80}?\b(?:assistance|support|aid) to|sent\b[^,]{0,40}?\bto|dispatch(?:es|ed|ing)?\b[^,]{0,40}?\bto)\b"
)
_EN_BRANCH = re.compile(
    r"\b(?!(?:The|A|An|Its|Their|Our|This|These|Each|New)\b)([A-Z][\w'’-]+(?:\s+[A-Z][\w'’-]+)?)\s+"
    r"(?:[A-Z][\w'’-]+\s+)?(?:[Cc]ampus|[Bb]ranch(?:es)?)\s+of\s+(.+)"
)
_EN_JOINTS = (r"\bbetween\b(.+?)\band\b(.+)", r"\bwith\b", r"\band\b")


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
    if not english:
        sentence = _NOT_KIND.sub("", sentence)
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
        """The place a side's words name: its most specific division, and a town under it. A side abroad
        (韩国首尔南岗中学) is its country and what follows, unresolved: 南岗 there is no 南岗区."""
        abroad = _ABROAD.search(segment)
        if abroad:
            return Place(written=abroad.group(), division=None)
        schools = [m.span(1) for m in _SCHOOL.finditer(segment) if not _COUNT.search(m.group(1))]
        chosen: Division | None = None
        written, unresolved, last_end = "", "", -1
        for start, end, name in self.places.mentions(segment):
            division = self.places.resolve(name, [*context, *([chosen] if chosen else [])], self.region)
            if division is None:
                if len(name) > 2:  # 城区, 郊区: names of many districts, and words before names
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
            if (
                3 <= len(candidate) <= 5
                and not self.places.candidates(candidate)
                and not _NO_TOWN.search(candidate)
            ):
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

    def _schools(self, segment: str) -> list[str]:
        """The schools a side names: each name from where it begins (after the verbs and words before it,
        or at the place that opens it), not a count (16所学校) nor schools in general (城区学校)."""
        names: list[str] = []
        for match in _SCHOOL.finditer(segment):
            name = match.group(1)
            stop = _NAME_STOP.match(name[:-2])
            if stop:
                name = name[stop.end() :]
            name = _clean(_LEADING.sub("", name))
            mentions = self.places.mentions(name)
            stem = name[mentions[-1][1] :] if mentions and mentions[0][0] == 0 else name
            suffix = re.search(r"(?:中小学校?|学校|幼儿园|中学|小学)$", stem)
            if suffix and _GENERIC.match(stem[: suffix.start()]):
                if stem is not name and stem[: suffix.start()] == "" and suffix.group() in ("中学", "小学"):
                    pass  # 衡水中学: a place and a school word can be a school's name
                else:
                    continue
            bare = re.fullmatch(rf"[\d{_CN_NUMBER[1:-2]}余多所个家]*{_SCHOOL_WORD}", name)  # 16所学校
            if len(name) >= 3 and not bare and not _COUNT.search(name) and name not in names:
                names.append(name)
        return names

    def _count(self, segment: str) -> int | None:
        """The number of schools a side gives: counts listed together are added (2所中学、9所小学)."""
        total, last_end = None, -1
        for match in _COUNT.finditer(segment):
            number = chinese_number(match.group(1))
            if not number:
                continue
            if total is not None and re.fullmatch(r"[、和及与]", segment[last_end : match.start()]):
                total += number
            elif total is None:
                total = number
            else:
                break
            last_end = match.end()
        return total

    def _side(self, segment: str, context: list[Division], role: str | None = None) -> Side:
        place = self._place(segment, context)
        own = _OWN_PLACE.search(segment)
        if place is None and own and self.region:
            place = Place(own.group(), self.region[-1])  # 我市 on a portal of the city: the portal's region
        return Side(place, tuple(self._schools(segment)), self._count(segment), role)

    def _member(self, part: str, context: list[Division]) -> Side:
        """One member of a list paired in order (安顺1中、民中……分别与青岛58中、17中……): a short name
        of a school (民中, 17中) is a school's name there."""
        side = self._side(part, context)
        if not side.schools and re.fullmatch(r"[\u4e00-\u9fff\d]{1,8}[中小校园职师院]", part.strip()):
            return Side(side.place, (part.strip(),), side.count, side.role)
        return side

    def _members(self, segment: str, context: list[Division]) -> list[Side]:
        """A side that lists members in different places (甲县甲校、乙县乙校; 安顺、日喀则、喀什) is
        several sides: one per member, each resolved to a division of its own."""
        parts = [p for p in re.split(r"、", segment) if p.strip()]
        if len(parts) < 2:
            return []
        sides = [self._side(part, context) for part in parts]
        divisions = [s.place.division if s.place else None for s in sides]
        if any(d is None for d in divisions) or len({d.code for d in divisions if d}) < len(sides):
            return []
        if any(d.within(e) for d in divisions for e in divisions if d and e and d is not e):
            return []
        return sides

    # -- sentences -------------------------------------------------------------------------------

    def facts(self, text: str, language: str = "zh") -> list[Fact]:
        english = language.startswith("en")
        if english:
            return self._english(text)
        converted = simplified(strip_pinyin(text))
        same_length = len(converted) == len(text)
        plain = converted if same_length else simplified(text)
        context = self._context(plain)
        found: list[Fact] = []
        for start, end in sentences(text, english=False):
            sentence = converted[start:end] if same_length else simplified(strip_pinyin(text[start:end]))
            kind = kind_of(sentence)
            if kind is None:
                continue
            for clause_kind, a, b, year in self._sentence(sentence, kind, context):
                a, b = self._placed(a, plain, context), self._placed(b, plain, context)
                found.append(Fact(clause_kind, a, b, year, start, end, text[start:end].strip()))
        return _unique(found)

    def _placed(self, side: Side, text: str, context: list[Division]) -> Side:
        """A school named without its place (汇东实验学校) takes the place the text writes before its
        name elsewhere (自贡市汇东实验学校)."""
        if not side.schools or (side.place and side.place.division):
            return side
        for school in side.schools:
            for match in re.finditer(re.escape(school), text):
                window = text[max(0, match.start() - 12) : match.start()]
                window = re.split(r"[，,。、；与和及]", window)[-1]
                place = self._place(window + school, context) if window else None
                if place and place.division:
                    return Side(place, side.schools, side.count, side.role)
        return side

    def _sentence(
        self, sentence: str, kind: str, context: list[Division]
    ) -> list[tuple[str, Side, Side, int | None]]:
        year_match = _YEAR.search(sentence)
        year = int(year_match.group(1)) if year_match else None
        found: list[tuple[str, Side, Side]] = []
        clauses = _clauses(sentence)
        for i, clause in enumerate(clauses):
            clause_kind = kind_of(clause) or kind  # 青岛二中与安顺二中共建: the clause's own word first
            opening = _OPENING_JOINT.match(clause)
            if opening and i > 0:
                pairs = self._continued(clauses[i - 1], clause[opening.end() :], context)
            else:
                pairs = self._clause(clause, context)
            found += [(clause_kind, a, b) for a, b in pairs]
        for rule in (_TWO_PLACES, _PAIRED_IS):
            match = rule.search(sentence)
            if match and not found:
                a, b = self._side(match.group(1), context), self._side(_before_kind(match.group(2)), context)
                if _both(a, b):
                    found.append((kind, a, b))
        if not found:
            found = [
                (kind, a, b) for a, b in self._passive(sentence, context) + self._aid_word(sentence, context)
            ]
        return [(k, a, b, year) for k, a, b in found]

    def _continued(self, before: str, after: str, context: list[Division]) -> list[tuple[Side, Side]]:
        """ "甲校作为城区优质学校，与乙校结成联盟": the first side is the school or place the clause
        before opens with."""
        a = self._side(before, context)
        a = Side(a.place, a.schools[:1], a.count, a.role)
        b = self._side(_before_kind(after), context)
        return [(a, b)] if _both(a, b) else []

    def _passive(self, sentence: str, context: list[Division]) -> list[tuple[Side, Side]]:
        """ "B……由A援建" and "在A的帮扶下，B": the helped is the sentence's subject."""
        passive = _PASSIVE.search(sentence)
        if passive:
            subject = re.split(r"[，,]", sentence[: passive.start()])[0]
            a = self._side(passive.group(1), context, "helper")
            b = self._side(subject, context, "helped")
            if _both(a, b):
                return [(a, b)]
        under = _UNDER.search(sentence)
        if under:
            a = self._side(under.group(1), context, "helper")
            b = self._side(re.split(r"[，,]", sentence[under.end() :].lstrip("，,"))[0], context, "helped")
            if _both(a, b):
                return [(a, b)]
        return []

    def _clause(self, clause: str, context: list[Division]) -> list[tuple[Side, Side]]:
        respectively = _RESPECTIVELY.search(clause)
        if respectively:
            lefts = [p for p in clause[: respectively.start()].split("、") if p]
            rights = [p for p in re.split(r"[、和及]", _before_kind(clause[respectively.end() :])) if p]
            if len(lefts) == len(rights) >= 2:
                pairs = [
                    (self._member(x, context), self._member(y, context))
                    for x, y in zip(lefts, rights, strict=True)
                ]
                if all(_both(a, b) for a, b in pairs):
                    return pairs
        going = _GOING.search(clause)
        if going:
            directed = clause[going.start()] == "赴" and _HELPING.search(clause[going.end() :])
            a = self._side(clause[: going.start()], context, "helper" if directed else None)
            b = self._side(going.group(1), context, "helped" if directed else None)
            if _both(a, b):
                return [(a, b)]
        towards = _TOWARDS.search(clause)
        if towards:
            a = self._side(clause[: towards.start()], context, "helper")
            b = self._side(towards.group(1), context, "helped")
            if _both(a, b):
                return [(a, b)]
        # "A帮扶B": the helper before the verb, the helped after it; not "A与B结对帮扶签约仪式"
        for helping in _HELPING.finditer(clause):
            left, right = clause[: helping.start()], clause[helping.end() :]
            if _AS_NOUN.match(right) or _JOINING.search(left):
                continue  # "A与B结对帮扶": the joint's two sides, read below
            a, b = self._side(left, context, "helper"), self._side(right, context, "helped")
            members = self._members(_before_kind(right), context) if a.place or a.schools else []
            if members:
                return [(a, Side(m.place, m.schools, m.count, "helped")) for m in members]
            if _both(a, b):
                return [(a, b)]
            break
        # "A与B结对": two sides joined, the kind after them
        names = _school_spans(clause)
        for joint in _JOINING.finditer(clause):
            if any(start <= joint.start() < end for start, end in names):
                continue  # 同济大学: a joint's character inside a school's name
            left, right = clause[: joint.start()], _before_kind(clause[joint.end() :])
            a = self._side(left, context)
            members = self._members(right, context)
            if members and (a.place or a.schools):
                return [(a, member) for member in members]
            b = self._side(right, context)
            if _both(a, b):
                return [(a, b)]
        return []

    def _aid_word(self, sentence: str, context: list[Division]) -> list[tuple[Side, Side]]:
        """上海援藏教师: 援藏 names the helped region where the sentence names no second side (援藏干部 are
        cadres, not schools' help)."""
        for word, region in _AID_TARGET.items():
            at = sentence.find(word)
            if at < 0 or sentence[at + 2 : at + 4] == "干部":
                continue
            a = self._side(sentence[:at], context, "helper")
            b = self._side(sentence[at:], context, "helped")
            target = self.places.resolve(region)
            if b.place is None and target is not None:
                b = Side(Place(region, target), b.schools, b.count, "helped")
            if _both(a, b):
                return [(a, b)]
        return []

    # -- English ---------------------------------------------------------------------------------

    def _english_side(self, segment: str, context: list[Division], role: str | None = None) -> Side:
        counts = [m.group(1).lower() for m in _EN_COUNT.finditer(segment)]
        count = next((int(c) if c.isdigit() else EN_NUMBERS[c] for c in counts), None)
        schools = tuple(
            dict.fromkeys(
                name
                for name in (
                    re.sub(r"^(?:the|of|The)\s+", "", m.group(1).strip())
                    for m in _EN_SCHOOL.finditer(segment)
                )
                if not re.match(r"(?:Our|This|That|These|Those|Each|Every|Other)\b", name)
            )
        )
        chosen: Division | None = None
        written = ""
        for start, end, name in self.places.english_mentions(segment):
            division = self.places.resolve(name, context, self.region, english=True)
            if division is not None and (chosen is None or division.within(chosen)):
                chosen, written = division, segment[start:end]
            elif division is None:
                written = written or segment[start:end]
        if not written:  # a county the gazetteer cannot hold (Muwei County: a name translated by machine)
            named = _EN_UNRESOLVED.search(segment)
            if named and not any(named.group(1) in school for school in schools):
                written = named.group(1)
        place = Place(written=written, division=chosen) if written else None
        return Side(place, schools, count, role)

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
            year = re.search(r"\b((?:19|20)\d\d)\b", sentence)
            for a, b in self._english_pairs(sentence, context):
                found.append(
                    Fact(kind, a, b, int(year.group(1)) if year else None, start, end, sentence.strip())
                )
        return _unique(found)

    def _listed_place(self, before: str, after: str) -> bool:
        """Whether an "and" ends a list of places (Guangdong, Hong Kong and Macao), not a pair: the words
        before it end with a comma and a place alone, and a place follows it."""
        tail = re.search(r",\s*(?:the\s+)?((?:[A-Z][\w'-]*\s*){1,3})$", before)
        head = self.places.english_mentions(after[:40])
        if not tail or not head or after[: head[0][0]].strip() not in ("", "the"):
            return False
        mentions = self.places.english_mentions(tail.group(1))
        return bool(mentions) and mentions[0][0] == 0 and mentions[0][1] >= len(tail.group(1).strip())

    def _english_pairs(self, sentence: str, context: list[Division]) -> list[tuple[Side, Side]]:
        """A list of pairs ("Beijing and Inner Mongolia, Zhejiang and Sichuan, and Guangdong and Guangxi")
        gives one fact per pair; else the sentence's two sides, if it has them."""
        parts = [p for p in re.split(r",\s*(?:and\s+)?", sentence) if re.search(r"\band\b", p)]
        if len(parts) >= 2:
            pairs = [self._english_sides(part, context) for part in parts]
            found = [pair for pair in pairs if pair is not None]
            if len(found) >= 3 and all(a.place and b.place and not a.schools for a, b in found):
                return found
        sides = self._english_sides(sentence, context)
        return [sides] if sides else []

    def _english_sides(self, sentence: str, context: list[Division]) -> tuple[Side, Side] | None:
        """The two sides of an English sentence: "between A and B", "A helps B", "A ... with B", "A and B"."""
        branch = _EN_BRANCH.search(sentence)
        if branch:  # "Xiong'an branches of Beijing No. 4 High School": the school and where its branch is
            a = self._english_side(branch.group(2), context)
            b = self._english_side(branch.group(1), context)
            if b.place is None:
                b = Side(Place(branch.group(1), None), b.schools, b.count)
            if _both(a, b):
                return a, b
        affiliated = re.search(r"\b[Aa]ffiliated to\b", sentence)
        if affiliated:  # "the Hengqin School Affiliated to Hou Kong Middle School"
            a = self._english_side(sentence[: affiliated.start()], context)
            b = self._english_side(sentence[affiliated.end() :], context)
            if a.schools and b.schools and _both(a, b):
                return Side(a.place, a.schools[-1:], a.count), Side(b.place, b.schools[:1], b.count)
        between = re.search(_EN_JOINTS[0], sentence)
        if between:
            a, b = (
                self._english_side(between.group(1), context),
                self._english_side(between.group(2), context),
            )
            if not (a.place or a.schools):  # "the bureau of Danzhai county established relations between
                # local schools and ...": the first side's place is before "between"
                a = self._english_side(sentence[: between.start()] + between.group(1), context)
            if _both(a, b):
                return a, b
        passive = re.search(r"\b(?:aided|supported|helped|assisted|built)\s+by\b", sentence)
        if passive:  # "a campus aided by Shenzhen": the helper after "by"
            a = self._english_side(sentence[passive.end() :], context, "helper")
            b = self._english_side(sentence[: passive.start()], context, "helped")
            if _both(a, b):
                return a, b
        aided = re.search(r"([A-Z][\w'-]+)-aided\b", sentence)
        if aided:
            a = self._english_side(aided.group(1), context, "helper")
            b = self._english_side(sentence[aided.end() :], context, "helped")
            if _both(a, b):
                return a, b
        helping = _EN_HELPING.search(sentence)
        if helping:
            a = self._english_side(sentence[: helping.start()], context, "helper")
            b = self._english_side(sentence[helping.end() :], context, "helped")
            if _both(a, b):
                return a, b
        for joint in _EN_JOINTS[1:]:
            for match in re.finditer(joint, sentence):
                a = self._english_side(sentence[: match.start()], context)
                b = self._english_side(sentence[match.end() :], context)
                listed = (
                    joint == r"\band\b"
                    and (
                        (_code(a) and _code(a) == _code(b))  # "A, B and C" of one city: a list of schools
                        or self._listed_place(sentence[: match.start()], sentence[match.end() :])
                    )
                )
                if _both(a, b) and not listed:
                    return a, b
        return None


def _school_spans(text: str) -> list[tuple[int, int]]:
    """Where school names stand in a text, each from where its name begins (after 与, 的, a verb)."""
    spans = []
    for match in _SCHOOL.finditer(text):
        stop = _NAME_STOP.match(match.group(1)[:-2])
        spans.append((match.start(1) + (stop.end() if stop else 0), match.end(1)))
    return spans


def _code(side: Side) -> str | None:
    return side.place.division.code if side.place and side.place.division else None


def _clauses(sentence: str) -> list[str]:
    """A sentence's clauses; a clause that holds several helping statements ("由A对口支援B、由C对口支援D")
    is one clause per statement."""
    out = []
    for clause in re.split(r"[，,：:]", sentence):
        parts = [part for part in clause.split("、") if part]
        helping = [part for part in parts if _HELPING.search(part)]
        if len(helping) >= 2:
            out += helping
        elif len(parts) >= 2 and all(_JOINING.search(part[1:]) for part in parts):
            # "甲校与乙校、丙校与丁校结对": one pair per part, the kind words of the last for all
            tail = parts[-1][len(_before_kind(parts[-1])) :]
            out += [part + tail for part in parts[:-1]] + [parts[-1]]
        else:
            out.append(clause)
    return out


def _before_kind(segment: str) -> str:
    """A right-hand side ends where the words of the kind (or of its agreement) begin."""
    cut = _KIND_CUT.search(segment)
    while (
        cut and cut.start() < 2
    ):  # "与结对的三所乡镇学校": the kind's word opens the side, it does not end it
        cut = _KIND_CUT.search(segment, cut.end())
    return segment[: cut.start()] if cut else segment


def _both(a: Side, b: Side) -> bool:
    """Both sides hold something, and not the same place with nothing else to tell them apart."""
    if a.is_empty() or b.is_empty():
        return False
    if a.place and b.place and a.place.written == b.place.written and not (a.schools or b.schools):
        return False
    if a.schools and set(a.schools) == set(b.schools):
        return False
    if a.schools and b.schools and _one_institution(a.schools[0], b.schools[0]):
        return False
    return bool((a.place or a.schools) and (b.place or b.schools))


def _one_institution(one: str, other: str) -> bool:
    """同济大学附属实验中学 and 同济大学附属实验小学: two schools of one university, not a pair."""
    common = 0
    while common < min(len(one), len(other)) and one[common] == other[common]:
        common += 1
    return common >= 4 and bool(re.search(r"(?:大学|学院|集团)", one[:common]))


def _clean(name: str) -> str:
    return name.strip(" \u3000“”\"'《》「」()（）")


def _unique(facts: list[Fact]) -> list[Fact]:
    """One fact per relation in a text: the first sentence that states it, the later ones dropped. Two facts
    are one relation when their sides are alike, one way or the other, whatever kind each sentence names."""
    out: list[Fact] = []
    for fact in facts:
        for i, kept in enumerate(out):
            if _same_relation(fact, kept):
                out[i] = _filled(kept, fact)
                break
        else:
            out.append(fact)
    return out


def _filled(kept: Fact, later: Fact) -> Fact:
    """The first statement of a relation, with what it leaves unsaid taken from a later one."""
    straight = _close(kept.a, later.a) and _close(kept.b, later.b)
    la, lb = (later.a, later.b) if straight else (later.b, later.a)
    return Fact(
        kept.kind,
        _fill(kept.a, la),
        _fill(kept.b, lb),
        kept.year or later.year,
        kept.start,
        kept.end,
        kept.evidence,
    )


def _fill(side: Side, other: Side) -> Side:
    place = side.place
    if other.place and other.place.division and not (place and place.division):
        place = other.place
    elif (
        not side.schools
        and place
        and place.division
        and other.place
        and other.place.division
        and other.place.division.code != place.division.code
        and other.place.division.within(place.division)
    ):
        place = other.place  # 河北, then 河北蔚县: the more exact place
    elif other.schools and not side.schools and other.place:
        place = other.place  # the side told exactly: its place with its schools
    role = side.role if side.role or other.role is None else other.role
    schools = side.schools or other.schools
    return Side(place, schools, side.count if side.count is not None else other.count, role)


def _same_relation(one: Fact, other: Fact) -> bool:
    """The same pair of sides, or one side the same and the other told more vaguely in one of them: 金安小学
    with 闽宁镇 and 金安小学 with 闽宁镇中心小学; 上海 with 西藏 and 上海 with 日喀则."""
    for a, b in ((other.a, other.b), (other.b, other.a)):
        if (_alike(one.a, a) and _close(one.b, b)) or (_close(one.a, a) and _alike(one.b, b)):
            return True
    return False


def _close(one: Side, other: Side) -> bool:
    """Alike, or one of them a place alone that is, or holds, the other's place."""
    if _alike(one, other):
        return True
    for vague, exact in ((one, other), (other, one)):
        if vague.schools or not vague.place or not exact.place:
            continue
        if (
            vague.place.division
            and exact.place.division
            and not exact.place.town  # 临夏州 and 临夏闽宁镇: a prefecture and a town in it are two sides
            and not vague.place.town
            and exact.place.division.within(vague.place.division)
        ):
            return True
        if vague.place.town and vague.place.town == exact.place.town:
            return True
    return False


def _alike(one: Side, other: Side) -> bool:
    """Sides naming schools are alike when a name of one is inside a name of the other; sides naming no
    school, when they are the same place."""
    if one.schools or other.schools:
        ones, others = [school_key(x) for x in one.schools], [school_key(y) for y in other.schools]
        return any(x in y or y in x for x in ones for y in others)
    return _where(one) == _where(other)


def school_key(name: str) -> str:
    """A school's name with its number in digits: 青岛五十八中 and 青岛58中 are one school."""
    return re.sub(_CN_NUMBER + r"(?=[中小校])", lambda m: str(chinese_number(m.group()) or m.group()), name)


def _where(side: Side) -> tuple[object, ...]:
    place = side.place
    if place is None:
        return (None, None)
    if place.town:  # 闽宁镇 and 临夏闽宁镇: the town tells
        return (None, place.town)
    return (place.division.code if place.division else place.written, None)
