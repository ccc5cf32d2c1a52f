"""What the relevance gate reads in a story: named features, each with a value and an occurrence count.

Four families, all read in the text's simplified search form (so a traditional copy with inline pinyin reads
as its simplified original), lower-cased:

- `c:` character 1-3-grams of Han runs and `w:` English words and word pairs (plural -s folded), from the
  headline and the first `NGRAM_CHARS` characters: the wording, weighed by the trained model;
- `term:` the reviewed terms of `relevance_terms.toml` and `score:` their category sums;
- `near:` / `ent:` which kinds of party (schools, hospitals, villages, companies, Party branches...) stand
  within `WINDOW` characters of a pairing word, and how often each kind is named at all;
- `rel:` / `rellead:` / `relpair:` / `relshare:` two schools (or two education bureaus) joined in one clause,
  in the lead, in a sentence with a pairing word, and the share of sentences that do; `places:` how many
  places are named; `share:` the share of sentences naming schools beside a pairing word;
- `k:` / `klead:` / `co:` concepts of the labelling guideline (pairs of schools, alliances,
  branch campuses, sister schools, education aid; and against: hospitals, villages, Party branches,
  mentoring, pupils, donations, other sectors, sister cities, visits, teacher dispatch, industry, family,
  civic campaigns, police and army):
  how often, in the lead, and in the same sentence as a pairing verb.

Only the trained weights (`relevance_model.json`) decide; this module only reads.
"""

from __future__ import annotations

import bisect
import itertools
import math
import operator
import re
from collections import Counter
from collections.abc import Set
from dataclasses import dataclass

from storage.normalize import search_form

NGRAM_CHARS = 1500  # the opening of a story names its subject; the cost stays bounded on long pages
LEAD_CHARS = 200
CONCEPT_CHARS = 4000
WINDOW = 30  # characters either side of a pairing word where its parties are named
HYPHEN_SPACING_RE = re.compile(r"\s*-\s*(?=[a-z])|(?<=[a-z])\s+-(?=\S)")  # "co -construction"
HAN_RUN_RE = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]+")
BIGRAM_RE = re.compile(r"(?=(..))")  # every 2 characters of a run, overlapping
TRIGRAM_RE = re.compile(r"(?=(...))")
WORD_RE = re.compile(r"[a-z]+(?:['-][a-z]+)*")
SENTENCE_RE = re.compile(r"[^。！？!?；;\n]+")

PAIRING_WORD_RE = re.compile(  # compiled as a Finder below
    r"结对|结队|帮扶|共建|手拉手|对口|联盟|共同体|教共体|集团化|教育集团|托管|分校|姊妹|姐妹|友好学校|协作|联谊|结为|缔结|携手"
    r"|\bpair(?:s|ed|ing)?\b|\btwin(?:s|ned|ning)?\b|\bsister\b|\bpartner(?:s|ship|ships)?\b|\bcounterpart\b"
    r"|\balliance\b|\bco-?operation\b|\bconsortium\b|\bbranch\b|\bcommunity\b"
)
# The kinds of party a pairing word may join.
PARTIES = {
    "school": r"学校|小学|中学|幼儿园|附中|附小|高中|初中|学院|大学|高校|中职|职校|校长|师生|教师|\bschools?\b"
    r"|\bkindergartens?\b|\bcolleges?\b|\buniversit(?:y|ies)\b|\bcampus(?:es)?\b|\bteachers?\b|\bprincipals?\b",
    "edu": r"教育局|教育|教学|课堂|\beducation(?:al)?\b|\bteaching\b",
    "medical": r"医院|医疗|卫生院|医共体|医联体|医生|患者|\bhospitals?\b|\bmedical\b|\bdoctors?\b|\bpatients?\b"
    r"|\bhealth\b",
    "village": r"村民|村集体|行政村|村委|村里|农户|贫困户|\bvillages?\b|\bfarmers?\b|\bhouseholds?\b",
    "enterprise": r"企业|公司|集团公司|商会|\bcompan(?:y|ies)\b|\benterprises?\b|\bfirms?\b|\bindustr(?:y|ial)\b",
    "party": r"党支部|党委|党建|党组织|\bparty\b",
    "mentor": r"师徒|拜师|青蓝|新教师|徒弟|\bmentors?\b|\bmentoring\b|\bapprentices?\b",
    "pupil": r"留守儿童|困难学生|贫困生|学困生|一对一|\bleft-behind\b|\bpupils?\b",
    "city": r"友好城市|友城|市长|\bsister cit(?:y|ies)\b|\bmayors?\b",
    "donation": r"捐赠|捐款|捐助|捐建|爱心|\bdonat(?:e|ed|es|ion|ions)\b",
    "sector": r"产业|劳务|消费帮扶|农产品|旅游|就业|招商|\blabou?r\b|\btourism\b|\binvestment\b",
}
SCHOOL_NAME_RE = re.compile(r"[\u4e00-\u9fff]{2,12}?(?:小学|中学|学校|幼儿园|附中|附小|高中|初中|学院|大学)")
SCHOOL_WORD_RE = re.compile(r"(?=(小学|中学|学校|幼儿园|附中|附小|高中|初中|学院|大学))")  # each, overlapping
CJK_RUN_RE = re.compile(r"[\u4e00-\u9fff]+")
LATIN_SCHOOL_NAME_RE = re.compile(
    r"(?:[a-z]+ ){1,4}(?:primary|middle|high|secondary|elementary)? ?(?:school|college|kindergarten)"
)
# The labelling guideline's notions: P_ for a pairing of schools, N_ for the hard negatives, E_ schools named.
CONCEPTS = {
    "P_pairschools": r"两校|结对学校|结对校|帮扶校|受援校|受援学校|支援校|成员校|联盟校|共建校|共建学校|姊妹校|姐妹校"
    r"|友好学校|联谊学校|城乡学校|薄弱学校|\bpartner schools?\b|\bpaired schools?\b|\bboth schools\b"
    r"|\btwo schools\b|\bsister schools?\b|\bmember schools?\b",
    "P_alliance": r"教育联盟|教育共同体|教共体|学校共同体|发展共同体|集团化办学|教育集团|名校集团|教联体|核心校|紧密型"
    r"|\beducation(?:al)? (?:group|alliance|communit(?:y|ies)|consortium)s?\b|\bschool (?:alliance|group|cluster)s?\b",
    "P_branch": r"分校|校区|托管|委托管理|附属(?:中学|小学|学校|实验学校|初中|高中)|附中|附小|合作办学|联合办学|领办"
    r"|\bbranch (?:campus|school)(?:es|s)?\b|\baffiliated (?:school|middle|primary|high)\b|\bcampus\b",
    "P_sister": r"姊妹学校|姐妹学校|友好学校|联谊学校|缔结.{0,8}(?:友好|姊妹|姐妹)|\bsister[- ]schools?\b"
    r"|\btwinn(?:ing|ed)\b|\bschool links?\b",
    "P_pairverb": r"结对|结队|手拉手|牵手|携手|结为|缔结|签约|签订|签署|揭牌|授牌|\bpair(?:ed|ing|s)?\b"
    r"|\bsign(?:ed|ing)?\b|\bagreements?\b|\bmou\b",
    "P_eduaid": r"组团式|教育(?:对口)?(?:帮扶|援助|支援|协作|扶贫|援疆|援藏)|援(?:疆|藏|青)(?:教师|支教|干部人才)"
    r"|\beducation(?:al)? (?:aid|assistance|support|cooperation)\b|\baid(?:ed)? (?:teachers|schools)\b",
    "P_edubureau": r"教育局|教育厅|教育部|教体局|教育委员会|\beducation (?:bureau|department|commission)s?\b",
    "N_hospital": r"医院|医疗|卫生院|医共体|医联体|医生|患者|护士|诊疗|义诊|\bhospitals?\b|\bmedical\b|\bdoctors?\b"
    r"|\bpatients?\b|\bnurses?\b",
    "N_village": r"村企|万企|百企|一企|村民|村集体|行政村|农户|贫困户|包户|联户|脱贫户|\bvillages?\b|\bfarmers?\b"
    r"|\bhouseholds?\b",
    "N_party": r"党支部|党建|党组织|党委|党员|支部|\bparty (?:branch|members?|building)\b",
    "N_mentor": r"师徒|拜师|青蓝|新教师|徒弟|带教|传帮带|\bmentors?\b|\bmentoring\b|\bapprentices?\b|\bnovice\b",
    "N_pupil": r"留守儿童|困难学生|贫困生|学困生|一对一|关爱|一帮四|特殊学生|\bleft-behind\b|\bone-on-one\b"
    r"|\borphans?\b",
    "N_donation": r"捐赠|捐款|捐助|捐建|爱心|出资|援建|资助|万元|\bdonat(?:e|ed|es|ion|ions)\b|\bfunded\b|\bfunding\b"
    r"|\bbooks\b|\bcomputers\b|\byuan\b",
    "N_sectors": r"产业|劳务|消费帮扶|农产品|旅游|就业|招商|医疗|卫生|农业|乡村振兴|基础设施|\blabou?r\b|\btourism\b"
    r"|\binvestment\b|\bindustr(?:y|ies|ial)\b|\bagricultur(?:e|al)\b|\binfrastructure\b",
    "N_city": r"友好城市|友城|市长|国际友城|\bsister cit(?:y|ies)\b|\bmayors?\b|\bcity council\b",
    "N_visit": r"参观|考察|访问|访华|研学|交流团|代表团|\bvisit(?:ed|s|ing)?\b|\bdelegation\b|\bstudy tour\b|\btrip\b",
    "N_dispatch": r"支教团|支教老师|志愿者|万名教师|银龄|\bvolunteers?\b",
    "N_industry": r"校企|产学研|产教融合|订单班|企业|公司|\bcompan(?:y|ies)\b|\benterprises?\b|\bindustry\b"
    r"|\bresearch\b|\blab(?:oratory)?\b",
    "N_family": r"家校社|家校|家庭|社区|\bfamil(?:y|ies)\b|\bcommunity\b",
    "N_civic": r"共建共治共享|共建文明|文明城市|文明校园|创文|创城|精神文明|志愿服务|\bcivili[sz]ed city\b|\bcivility\b",
    "N_police": r"警校|派出所|民警|公安|部队|军民|\bpolice\b|\bofficers\b|\barmy\b|\bmilitary\b",
    "E_school": r"学校|小学|中学|幼儿园|高中|初中|学院|大学|高校|中职|职校|\bschools?\b|\bkindergartens?\b"
    r"|\bcolleges?\b|\buniversit(?:y|ies)\b",
}


def _alternatives(pattern: str) -> list[str]:
    """The top-level alternatives of a regular expression."""
    parts, depth, start, i = [], 0, 0, 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\":
            i += 1
        elif ch in "([":
            depth += 1
        elif ch in ")]":
            depth -= 1
        elif ch == "|" and depth == 0:
            parts.append(pattern[start:i])
            start = i + 1
        i += 1
    return [*parts, pattern[start:]]


def _literal_prefix(branch: str) -> str:
    """The characters every match of a regular expression's branch begins with (perhaps none)."""
    prefix: list[str] = []
    for ch in branch:
        if ch in "()[]{}.?*+|\\^$":
            if ch in "?*{" and prefix:
                prefix.pop()  # the last character is optional or repeated
            break
        prefix.append(ch)
    return "".join(prefix)


class Finder:
    """One alternation of Han and English words, matched as fast as Python's re allows.

    An alternation that mixes `\\bword\\b` branches with Han literals loses re's first-character scan and
    costs ten times more, so the two are compiled apart: Han branches as written, English branches without
    their leading `\\b`, which is checked on each match instead.
    """

    def __init__(self, pattern: str) -> None:
        branches = _alternatives(pattern)
        han = [b for b in branches if not b.startswith("\\b")]
        latin = [b.removeprefix("\\b") for b in branches if b.startswith("\\b")]
        self.han = re.compile("|".join(han)) if han else None
        self.latin = re.compile("|".join(latin)) if latin else None
        # What a match must begin with, branch by branch: most texts hold no branch's opening of most
        # alternations, and a look at the text's characters is far cheaper than a scan of it.
        self.han_needs = [frozenset(_literal_prefix(b)) for b in han]
        self.latin_needs = [(frozenset(prefix), prefix) for prefix in map(_literal_prefix, latin)]

    def finditer(
        self, text: str, latin: bool | None = None, chars: Set[str] | None = None
    ) -> list[re.Match[str]]:
        """Every match in order; `latin` says whether the text has Latin letters and `chars` which characters
        it holds, when the caller knows (so that alternations the text cannot match are not scanned)."""
        han = self.han and (chars is None or any(need <= chars for need in self.han_needs))
        found = list(self.han.finditer(text)) if han and self.han else []
        if self.latin and (HAS_LATIN_RE.search(text) if latin is None else latin):
            if chars is not None and not any(n <= chars and p in text for n, p in self.latin_needs):
                return found
            found += [
                m for m in self.latin.finditer(text) if not m.start() or not text[m.start() - 1].isalnum()
            ]
            found.sort(key=_start)
        return found

    def search(self, text: str) -> bool:
        """Whether `finditer` would find anything, stopping at the first match."""
        if self.han and self.han.search(text):
            return True
        if self.latin and HAS_LATIN_RE.search(text):
            return any(not m.start() or not text[m.start() - 1].isalnum() for m in self.latin.finditer(text))
        return False


def _start(m: re.Match[str]) -> int:
    return m.start()


HAS_LATIN_RE = re.compile("[a-z]")
PAIRING_WORDS = Finder(PAIRING_WORD_RE.pattern)
PARTY_RES = {name: Finder(rx) for name, rx in PARTIES.items()}
CONCEPT_RES = {name: Finder(rx) for name, rx in CONCEPTS.items()}
SCHOOL_END = r"(?:学校|小学|中学|幼儿园|高中|初中|附中|附小|大学|学院|中职|职校)"
BUREAU_END = r"(?:教育局|教育厅|教体局|教育体育局|教育和体育局|教育委员会|教委)"
LATIN_SCHOOL = r"(?:school|college|kindergarten|universit(?:y|ies))"
LATIN_BUREAU = r"education (?:bureau|department|commission)"
# Two parties of one kind joined in one clause ("A学校与B小学", "A区教育局和B州教体局", "schools in X and Y
# school"): the guideline's two institutions in a relation. Han and English apart, as in `Finder`.
RELATIONS = {
    "schools": (
        re.compile(
            SCHOOL_END
            + r"[^。；;，,]{0,4}?(?:与|和|同|跟|携手|牵手|、|对口|结对)[^。；;]{1,24}?"
            + SCHOOL_END
        ),
        re.compile(
            rf"\b{LATIN_SCHOOL}s? (?:(?:in|of) [a-z]+ )?(?:and|with|to) [a-z' ]{{0,40}}?\b{LATIN_SCHOOL}"
        ),
    ),
    "bureaus": (
        re.compile(BUREAU_END + r"[^。；;]{0,30}?(?:与|和|同|跟|携手|牵手|、)[^。；;]{1,30}?" + BUREAU_END),
        re.compile(
            rf"\b{LATIN_BUREAU}s? (?:(?:in|of) [a-z]+ )?(?:and|with) [a-z' ]{{0,40}}?\b{LATIN_BUREAU}"
        ),
    ),
}
PLACE_WORD_RE = re.compile(r"(?=(省|市|县|区|州|旗))")  # place_names reads the first of PLACE_RES this way
PLACE_RES = (
    re.compile(r"[\u4e00-\u9fff]{2,3}?(?:省|市|县|区|州|旗)(?=[\u4e00-\u9fff])"),
    re.compile(r"\b[a-z]+ (?:province|county|city|district|prefecture|autonomous region)\b"),
)


Found = dict[str, list[re.Match[str]]]  # concept -> its matches in the text, in order


@dataclass(frozen=True)
class Reading:
    """A story as the gate reads it: feature values, and how often each feature's words occur."""

    values: dict[str, float]
    counts: dict[str, int]


def prepared(text: str) -> str:
    """The form every feature is read in: simplified script, folded widths, lower case, MT hyphens joined."""
    text = search_form(text).lower()
    return HYPHEN_SPACING_RE.sub("-", text) if "-" in text else text  # each spacing holds a hyphen


def _named(text: str, words: re.Pattern[str], longest: int, followed: bool = False) -> list[str]:
    """What `[\u4e00-\u9fff]{2,longest}?(?:WORD)` (followed by one more such character, if `followed`) finds
    in the text, worked out from where the words stand rather than tried at every character.

    `words` finds every word, overlapping. The match is as short as possible in one run of Han
    characters: from a start in a run, it ends at the first word at least 2 characters on, if that is at
    most `longest` on; where it is further, the next start that matches is `longest` before it.
    """
    found = [(m.start(), m.end(1)) for m in words.finditer(text)]
    if followed:
        found = [(q, e) for q, e in found if e < len(text) and "\u4e00" <= text[e] <= "\u9fff"]
    if not found:
        return []
    starts = [q for q, _ in found]
    names = []
    for run in CJK_RUN_RE.finditer(text):
        p, end = run.span()
        while True:
            i = bisect.bisect_left(starts, p + 2)
            if i == len(starts) or starts[i] >= end:
                break  # the words lie in runs of their own characters, so a later one is in a later run
            q, e = found[i]
            if q - p > longest:
                p = q - longest
                continue
            names.append(text[p:e])
            p = e
    return names


def school_names(text: str) -> list[str]:
    """`SCHOOL_NAME_RE.findall(text)`."""
    return _named(text, SCHOOL_WORD_RE, 12)


def place_names(text: str) -> list[str]:
    """The Han matches of `PLACE_RES`."""
    return _named(text, PLACE_WORD_RE, 3, followed=True)


def _fold_plural(word: str) -> str:
    return word[:-1] if len(word) > 3 and word.endswith("s") and not word.endswith("ss") else word


def ngram_counts(text: str) -> Counter[str]:
    """Han character 1-3-grams and English words and word pairs."""
    # Counted by Counter's C loop over one list, then named (`c:`, `w:`) once per distinct gram: the keys
    # come in the order a loop over each run's 1-, 2- and 3-grams, then the words, then the word pairs,
    # would meet them, and the model's sums run in that order. Han grams and English words cannot be the
    # same string, so one count serves both.
    grams: list[str] = []
    for run in HAN_RUN_RE.findall(text):
        grams += run
        grams += BIGRAM_RE.findall(run)
        grams += TRIGRAM_RE.findall(run)
    words = [_fold_plural(w) for w in WORD_RE.findall(text)]
    grams += words
    grams += map(" ".join, itertools.pairwise(words))
    named: Counter[str] = Counter()
    named.update({("w:" if gram < "\x80" else "c:") + gram: n for gram, n in Counter(grams).items()})
    return named


# 1 + log(n) for the counts n-grams mostly have: the same floats as computing them, looked up
ONE_PLUS_LOG = [0.0] + [1.0 + math.log(n) for n in range(1, 64)]


def _one_plus_log(n: int) -> float:
    return ONE_PLUS_LOG[n] if n < len(ONE_PLUS_LOG) else 1.0 + math.log(n)


def _wording(head: str, body: str, values: dict[str, float], counts: dict[str, int]) -> None:
    grams = ngram_counts(head + "\n" + body[:NGRAM_CHARS])
    weights = list(map(_one_plus_log, grams.values()))
    norm = math.sqrt(sum(map(operator.mul, weights, weights))) or 1.0
    values.update(zip(grams, map(operator.truediv, weights, itertools.repeat(norm)), strict=True))
    counts.update(grams)


def _parties(
    text: str,
    values: dict[str, float],
    found: Found,
    cues_found: list[re.Match[str]],
    latin: bool,
    chars: Set[str],
) -> None:
    positions = {name: [m.start() for m in rx.finditer(text, latin, chars)] for name, rx in PARTY_RES.items()}
    near: Counter[str] = Counter()
    cues = 0
    civic = [(m.start(), m.end()) for m in found["N_civic"]]
    for m in cues_found:
        if civic and any(a <= m.start() < b for a, b in civic):
            continue  # 共建 of 共建文明城市 joins no parties
        cues += 1
        for name, where in positions.items():
            i = bisect.bisect_left(where, m.start() - WINDOW)
            if i < len(where) and where[i] <= m.end() + WINDOW:
                near[name] += 1
    values["cue:n"] = math.log1p(cues)
    for name, n in near.items():
        values["near:" + name] = math.log1p(n)
        values["nearshare:" + name] = n / cues
    for name, where in positions.items():
        values["ent:" + name] = math.log1p(len(where))
    names = set(school_names(text))
    if latin:
        names.update(LATIN_SCHOOL_NAME_RE.findall(text))
    values["schools:distinct"] = math.log1p(len(names))
    values["len"] = math.log1p(len(text)) / 8


def _concepts(
    head: str, values: dict[str, float], counts: dict[str, int], found: Found, starts: list[int]
) -> None:
    lead_end = len(head) + 1 + LEAD_CHARS
    starts = starts or [0]
    sentences: dict[str, set[int]] = {}
    for name, matches in found.items():
        sentences[name] = {bisect.bisect_right(starts, m.start()) for m in matches}
        in_body = sum(m.start() > len(head) for m in matches)
        counts["k:" + name] = in_body
        values["k:" + name] = math.log1p(in_body)
        values["klead:" + name] = math.log1p(sum(m.start() < lead_end for m in matches))
    verbs = sentences["P_pairverb"]
    for name, where in sentences.items():
        if name != "P_pairverb":
            values["co:pv+" + name] = math.log1p(len(verbs & where))
    values["sectors_distinct"] = len({m.group(0) for m in found["N_sectors"]}) / 5


def _found(pair: tuple[re.Pattern[str], re.Pattern[str]], text: str, latin: bool) -> list[re.Match[str]]:
    found = list(pair[0].finditer(text))
    return found + list(pair[1].finditer(text)) if latin else found


def _places(text: str, latin: bool) -> set[str]:
    places = set(place_names(text))
    return places.union(PLACE_RES[1].findall(text)) if latin else places


def _joins(pair: tuple[re.Pattern[str], re.Pattern[str]], text: str) -> bool:
    """Whether `_found` would find anything in the text."""
    return bool(pair[0].search(text) or (HAS_LATIN_RE.search(text) and pair[1].search(text)))


def _pairs(sentence: str) -> bool:
    """A pairing word outside the civic phrases that share it (共建文明城市, 共建共治共享)."""
    for m in reversed(CONCEPT_RES["N_civic"].finditer(sentence)):
        sentence = sentence[: m.start()] + " " + sentence[m.end() :]
    return PAIRING_WORDS.search(sentence) or CONCEPT_RES["P_pairverb"].search(sentence)


def _pairing_sentences(
    sentences: list[str], starts: list[int], found: Found, cues_found: list[re.Match[str]]
) -> list[int]:
    """The indices of the sentences `_pairs` holds, read off the matches in the whole text.

    The words `_pairs` looks for never hold a sentence's end (。！？!?；; or a line break), so each match in the
    whole text lies inside one sentence and a sentence holds one exactly when the same search in it alone
    finds one; only sentences with a civic phrase, whose removal can change what remains, are read again.
    """

    def where(matches: list[re.Match[str]]) -> set[int]:
        return {bisect.bisect_right(starts, m.start()) - 1 for m in matches}

    civic = where(found["N_civic"])
    cued = where(cues_found) | where(found["P_pairverb"])
    return [i for i, sentence in enumerate(sentences) if (_pairs(sentence) if i in civic else i in cued)]


def _relations(
    head: str,
    text: str,
    values: dict[str, float],
    counts: dict[str, int],
    found: Found,
    cues_found: list[re.Match[str]],
    spans: list[tuple[int, int]],
    latin: bool,
) -> None:
    """Two schools or two bureaus in one pairing clause, the places named, and how much of the story they fill."""
    lead_end = len(head) + 1 + LEAD_CHARS
    if spans:
        sentences = [text[a:b] for a, b in spans]
        starts = [a for a, _ in spans]
        chosen = _pairing_sentences(sentences, starts, found, cues_found)
        schooled = {bisect.bisect_right(starts, m.start()) - 1 for m in found["E_school"]}
        school_pairing = len(schooled.intersection(chosen))
        pairing = [sentences[i] for i in chosen]
    else:  # nothing but sentence ends: the text is its one sentence
        sentences = [text]
        pairing = [text] if _pairs(text) else []
        school_pairing = sum(1 for s in pairing if CONCEPT_RES["E_school"].search(s))
    for name, pair in RELATIONS.items():
        matches = _found(pair, text, latin)
        counts["rel:" + name] = len(matches)
        values["rel:" + name] = math.log1p(len(matches))
        values["rellead:" + name] = math.log1p(sum(m.start() < lead_end for m in matches))
        paired = sum(1 for s in pairing if _joins(pair, s))  # a clause may run over ！？: read per sentence
        values["relpair:" + name] = math.log1p(paired)
        values["relshare:" + name] = paired / len(sentences)
    values["places:distinct"] = math.log1p(len(_places(text, latin)))
    lead = text[:lead_end]
    values["places:lead"] = math.log1p(len(_places(lead, latin and bool(HAS_LATIN_RE.search(lead)))))
    values["share:school+pairing"] = school_pairing / len(sentences)


def read(head: str, body: str, terms: dict[str, float], term_counts: dict[str, int]) -> Reading:
    """Every feature of a prepared headline and text; `terms` and `term_counts` are the term list's."""
    values: dict[str, float] = {}
    counts: dict[str, int] = {}
    _wording(head, body, values, counts)
    for key, value in terms.items():
        values[key] = value
    counts.update(term_counts)
    text = head + "\n" + body[:CONCEPT_CHARS]  # what the parties, concepts and relations are read in
    latin, chars = bool(HAS_LATIN_RE.search(text)), set(text)
    found = {name: finder.finditer(text, latin, chars) for name, finder in CONCEPT_RES.items()}
    cues_found = PAIRING_WORDS.finditer(text, latin, chars)
    spans = [m.span() for m in SENTENCE_RE.finditer(text)]
    _parties(text, values, found, cues_found, latin, chars)
    _concepts(head, values, counts, found, [a for a, _ in spans])
    _relations(head, text, values, counts, found, cues_found, spans, latin)
    return Reading(values, counts)
