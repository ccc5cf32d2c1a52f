"""Places from a gazetteer, not from guesses: China's provinces, cities and counties with their codes and
coordinates, from the administrative divisions that the cpca package ships (MIT; its adcodes table).

A name in a story is resolved to a division by its full name (湖里区) or its short name (湖里; 临夏 for
临夏回族自治州), and where a short name fits several divisions, by the places around it: a parent named in
the same text (厦门 before 湖里区), the portal's own region, then the higher level. A name the gazetteer does
not hold (a town, a village) is kept as written and marked unresolved by the caller, never dropped.

The table is read with the standard library: cpca's own matcher needs pandas, which is not loaded here."""

from __future__ import annotations

import csv
import importlib.util
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

PROVINCE, CITY, COUNTY = "province", "city", "county"
LEVELS = (PROVINCE, CITY, COUNTY)

# Suffixes of a division's name, longest first: the short name is what is left (at least two characters).
_SUFFIXES = {
    PROVINCE: ("特别行政区", "维吾尔自治区", "壮族自治区", "回族自治区", "自治区", "省", "市"),
    CITY: ("自治州", "地区", "盟", "市"),
    COUNTY: ("自治县", "自治旗", "林区", "特区", "新区", "县", "区", "市", "旗"),
}
# Short names that are also everyday words or other places' parts: never matched alone (合作 is
# cooperation before it is 合作市, 友好 friendship before 友好区), only with their level (合作市).
_NOT_ALONE = frozenset(
    {
        "城区", "郊区", "矿区", "新区", "开发", "高新", "经济", "市中", "城关", "合作", "友好", "解放",
        "资源", "同心", "全州", "和平", "新华", "红旗", "向阳", "前进", "东风", "新市", "城中", "城东",
        "城西", "城北", "平安", "新城", "大方", "东方", "太平", "安定", "江南", "南山", "白云", "青山",
        "新兴", "共和", "民乐", "城厢", "东区", "西区",
    }
)  # fmt: skip
# Everyday words that hold a division's name: masked before names are looked for (长治久安 is no 长治).
_WORDS = ("长治久安",)
# Names of divisions in English that are not their pinyin (Hong Kong, not Xianggang).
EXONYMS = {
    "Hong Kong": "810000",
    "Macao": "820000",
    "Macau": "820000",
    "Tibet": "540000",
    "Inner Mongolia": "150000",
    "Shaanxi": "610000",
    "Kashgar": "653100",
    "Kashi": "653100",
    "Lhasa": "540100",
    "Urumqi": "650100",
    "Hohhot": "150100",
    "Harbin": "230100",
    "Xi'an": "610100",
}


# Rows of the table that hold no place of their own (a city's "districts under the city").
_PLACEHOLDERS = frozenset({"市辖区", "县", "省直辖县级行政区划", "自治区直辖县级行政区划"})


class GazetteerError(Exception):
    """The gazetteer's table is missing or unreadable (a broken install)."""


@dataclass(frozen=True)
class Division:
    code: str  # six digits: province, city and county, two each (350206 湖里区)
    name: str
    level: str
    longitude: float | None  # a few divisions of the table have no coordinates
    latitude: float | None

    @property
    def province_code(self) -> str:
        return self.code[:2] + "0000"

    @property
    def city_code(self) -> str | None:
        return self.code[:4] + "00" if self.level == COUNTY else None

    def within(self, other: Division) -> bool:
        """Whether this division lies in `other` (or is it)."""
        keep = {PROVINCE: 2, CITY: 4, COUNTY: 6}[other.level]
        return self.code[:keep] == other.code[:keep]


def _table() -> Path:
    spec = importlib.util.find_spec("cpca")  # found, not imported: its __init__ loads pandas
    if spec is None or not spec.submodule_search_locations:
        raise GazetteerError("the cpca package is not installed (its table of divisions is the gazetteer)")
    path = Path(next(iter(spec.submodule_search_locations))) / "resources" / "adcodes.csv"
    if not path.is_file():
        raise GazetteerError(f"cpca's table of divisions is missing ({path.name})")
    return path


def _nations(folder: Path) -> tuple[str, ...]:
    path = folder / "56_nations.csv"
    names = [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    # 哈萨克族 is written 哈萨克 in 木垒哈萨克自治县: both forms, longest first
    forms = {n for name in names for n in (name, name.removesuffix("族")) if len(n) >= 2}
    return tuple(sorted(forms, key=len, reverse=True))


def short_name(name: str, level: str, nations: Iterable[str] = ()) -> str | None:
    """The name without its level's suffix and ethnic designation (临夏回族自治州 -> 临夏), or None where
    too little is left to be a name of its own."""
    for suffix in _SUFFIXES[level]:
        if name.endswith(suffix) and len(name) > len(suffix):
            stem = name[: -len(suffix)]
            break
    else:
        return None
    if "自治" in suffix:
        stripped = True
        while stripped:
            stripped = False
            for nation in nations:
                # 内蒙古自治区: 蒙古 is a people, but 内 alone is no name, so the stem stays whole
                if stem.endswith(nation) and len(stem) - len(nation) >= 2:
                    stem, stripped = stem[: -len(nation)], True
                    break
            stem = stem.removesuffix("各族")
        if stem.endswith("族") and len(stem) > 2:  # 东乡族自治县: the people named the place
            stem = stem[:-1]
    if len(stem) < 2 or stem in _NOT_ALONE or stem == name:
        return None
    return stem


class Gazetteer:
    """The divisions by code and by every name a story may use for them."""

    def __init__(self, divisions: Iterable[Division], nations: Iterable[str] = ()) -> None:
        self.by_code: dict[str, Division] = {}
        self.full: dict[str, list[Division]] = defaultdict(list)
        self.short: dict[str, list[Division]] = defaultdict(list)
        nations = tuple(nations)
        for division in divisions:
            if division.name in _PLACEHOLDERS:
                continue
            self.by_code[division.code] = division
            self.full[division.name].append(division)
            stem = short_name(division.name, division.level, nations)
            if stem:
                self.short[stem].append(division)
        self._full_pattern = _alternatives(self.full)
        self._short_pattern = _alternatives(set(self.short) - set(self.full))
        self._roman: dict[str, list[Division]] | None = None
        self._roman_pattern: re.Pattern[str] | None = None

    # -- names in English: the division's name in pinyin (漳州 -> Zhangzhou) --------------------

    def _romanized(self) -> tuple[dict[str, list[Division]], re.Pattern[str]]:
        if self._roman is None or self._roman_pattern is None:
            from pypinyin import lazy_pinyin  # only English texts need it

            roman: dict[str, list[Division]] = defaultdict(list)
            for stem, divisions in [*self.short.items(), *self.full.items()]:
                if any(not ("\u4e00" <= char <= "\u9fff") for char in stem):
                    continue
                name = "".join(lazy_pinyin(stem)).capitalize()
                for division in divisions:
                    if division not in roman[name]:
                        roman[name].append(division)
            for name, code in EXONYMS.items():
                if code in self.by_code:
                    roman[name] = [self.by_code[code]]
            words = "|".join(re.escape(n) for n in sorted(roman, key=len, reverse=True))
            suffix = r"(?:\s+(?:City|County|District|Prefecture|Province|Autonomous Prefecture|Banner))?"
            self._roman, self._roman_pattern = dict(roman), re.compile(rf"\b({words}){suffix}\b")
        return self._roman, self._roman_pattern

    def english_mentions(self, text: str) -> list[tuple[int, int, str]]:
        """Every pinyin name of a division in an English text (Zhangzhou, Mulei County)."""
        return [(m.start(), m.end(), m.group(1)) for m in self._romanized()[1].finditer(text)]

    def english_candidates(self, name: str) -> list[Division]:
        return list(self._romanized()[0].get(name, []))

    def parent(self, division: Division) -> Division | None:
        if division.level == COUNTY:
            return self.by_code.get(division.code[:4] + "00") or self.by_code.get(division.province_code)
        if division.level == CITY:
            return self.by_code.get(division.province_code)
        return None

    def chain(self, division: Division) -> list[Division]:
        """The division and its parents, province first."""
        out = [division]
        while (up := self.parent(out[0])) is not None and up.code != out[0].code:
            out.insert(0, up)
        return out

    def candidates(self, name: str) -> list[Division]:
        """Every division a name may mean: by its full name, else by its short name."""
        return list(self.full.get(name) or self.short.get(name, []))

    def mentions(self, text: str) -> list[tuple[int, int, str]]:
        """Every name of a division in `text` (simplified script), longest first at each place, as
        (start, end, name). Full names are found first, then short names in what is left: 6月湖北省 is
        湖北省, not 月湖 (a district of Jiangxi). A short name inside a longer word of the table is not
        taken apart."""
        for word in _WORDS:
            text = text.replace(word, "\0" * len(word))
        found = [(m.start(), m.end(), m.group()) for m in self._full_pattern.finditer(text)]
        masked = list(text)
        for start, end, _ in found:
            masked[start:end] = "\0" * (end - start)
        found += [(m.start(), m.end(), m.group()) for m in self._short_pattern.finditer("".join(masked))]
        return sorted(found)

    def resolve(
        self,
        name: str,
        context: Iterable[Division] = (),
        region: Iterable[Division] = (),
        *,
        english: bool = False,
    ) -> Division | None:
        """The division `name` means, or None. Where several fit, the one inside (or holding) a division
        of `context` (the places around it in the text), else of `region` (the portal's own), else the
        single highest-level one; still several: None (ambiguous, left as written)."""
        found = self.english_candidates(name) if english else self.candidates(name)
        if len(found) <= 1:
            return found[0] if found else None
        for around in (list(context), list(region)):
            near = [d for d in found if any(d.within(c) or c.within(d) for c in around if c.code != d.code)]
            if len(near) == 1:
                return near[0]
            if near:
                found = near
        top = min(LEVELS.index(d.level) for d in found)
        highest = [d for d in found if LEVELS.index(d.level) == top]
        return highest[0] if len(highest) == 1 else None


def _alternatives(names: Iterable[str]) -> re.Pattern[str]:
    return re.compile("|".join(re.escape(n) for n in sorted(names, key=len, reverse=True)))


@cache
def gazetteer() -> Gazetteer:
    """The gazetteer of cpca's table (read once)."""
    path = _table()
    divisions = []
    try:
        with path.open(encoding="utf-8", newline="") as handle:
            for row in csv.DictReader(handle):
                code = row["adcode"][:6]
                level = PROVINCE if code.endswith("0000") else CITY if code.endswith("00") else COUNTY
                lon, lat = row["longitude"].strip(), row["latitude"].strip()
                divisions.append(
                    Division(
                        code, row["name"], level, float(lon) if lon else None, float(lat) if lat else None
                    )
                )
        nations = _nations(path.parent)
    except (OSError, KeyError, ValueError) as exc:
        raise GazetteerError(f"cpca's table of divisions cannot be read: {exc}") from exc
    return Gazetteer(divisions, nations)
