"""Pairing facts against facts written down by hand: relation precision and recall, and on the relations found,
places, counts, kinds, direction and year.

    python benchmarks/bench_facts.py --texts DIR/texts.jsonl --seeds SEEDS [--labels FILE] [--cleaned] [--errors]

The labels (benchmarks/facts_labels.toml, its header says how they were decided) name each story by its id:
`rNNN` a text of the real labelled set (`--texts`, its JSON lines), `seed:NNN` a sample file of `--seeds`
(the file whose name begins with NNN_), `sample:SLUG` a sample story of crawler/sampleweb/stories (title and
body). `pipelines.facts.Reader` reads each text as stored, in the language the label gives; with
`--cleaned`, the text as the clean stage leaves it (`pipelines.clean.clean_text`: trailers, credit and share
lines, teaser lists and inline pinyin gone), as the pipeline stage will read it.

A relation is an unordered pair of sides. A read side matches a labelled one when both resolve to the same
division code, or their places are written alike (one inside the other) where either is unresolved, or a
school name of one is inside a school name of the other; a relation matches when both sides do, one way or
the other. Read and labelled relations are paired one to one (a maximum matching per story): precision is
matched / read, recall matched / labelled. On matched relations, per side or per relation:

    places   a labelled side with a place: the read side resolves to its code (or stays unresolved where
             the label has none)
    counts   a side where either gives a count: the same number
    kind     the same kind
    direction  a relation labelled with roles: the read roles are the same on the same sides
    year     a relation labelled with a year: the same year

`--errors` lists every read relation that matched nothing and every labelled one that nothing matched.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import time
import tomllib
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipelines.clean import clean_text
from pipelines.facts import Fact, Reader, Side, chinese_number
from storage.normalize import simplified

HERE = Path(__file__).resolve().parent
LABELS = HERE / "facts_labels.toml"
STORIES = HERE.parent / "crawler" / "sampleweb" / "stories"
LANGUAGES = ("zh-Hans", "zh-Hant", "en")

Label = dict[str, Any]


def _digits(name: str) -> str:
    """青岛五十八中 -> 青岛58中: a school's number in digits, as the labels may write it."""
    return re.sub(
        r"[零〇一二两三四五六七八九十百]+(?=[中小校])",
        lambda m: str(chinese_number(m.group()) or m.group()),
        name,
    )


def _norm(text: str) -> str:
    return _digits(simplified(text)).lower().replace(" ", "").replace("-", "").replace("’", "'")


def load_texts(labels: list[Label], texts: Path, seeds: Path) -> dict[str, str]:
    """The text of every labelled story, by id; a story whose text is missing is an error."""
    real = {}
    with texts.open(encoding="utf-8") as handle:
        for line in handle:
            row = json.loads(line)
            real[row["id"]] = row["text"]
    out = {}
    for story in labels:
        sid = story["id"]
        if sid.startswith("seed:"):
            found = sorted(seeds.glob(sid.removeprefix("seed:") + "_*.txt"))
            if not found:
                raise SystemExit(f"{sid}: no seed file {sid.removeprefix('seed:')}_*.txt in {seeds}")
            out[sid] = found[0].read_text(encoding="utf-8")
        elif sid.startswith("sample:"):
            path = STORIES / (sid.removeprefix("sample:") + ".toml")
            with path.open("rb") as handle:
                data = tomllib.load(handle)
            out[sid] = data["title"] + "\n" + data["body"]
        elif sid in real:
            out[sid] = real[sid]
        else:
            raise SystemExit(f"{sid}: not in {texts}")
    return out


# -- matching ----------------------------------------------------------------------------------------


def _code(side: Side) -> str | None:
    return side.place.division.code if side.place and side.place.division else None


def side_matches(read: Side, label: Label) -> bool:
    code = label.get("code")
    if code and _code(read) == code:
        return True
    written = label.get("place")
    if written and read.place and (not code or _code(read) is None):
        a, b = _norm(read.place.written), _norm(written)
        if a and b and (a in b or b in a):
            return True
    schools = [_norm(s) for s in label.get("schools", [])]
    return any(r and s and (r in s or s in r) for r in map(_norm, read.schools) for s in schools)


def orientation(fact: Fact, label: Label) -> bool | None:
    """True where fact.a matches label a (and b b), False where crosswise, None where it does not match."""
    if side_matches(fact.a, label["a"]) and side_matches(fact.b, label["b"]):
        return True
    if side_matches(fact.a, label["b"]) and side_matches(fact.b, label["a"]):
        return False
    return None


def _agreement(fact: Fact, label: Label) -> int:
    """How much of a matching label a fact gets right: where several labels match, the closest is tried first."""
    straight = orientation(fact, label)
    la, lb = (label["a"], label["b"]) if straight else (label["b"], label["a"])
    score = int(fact.kind == label["kind"])
    for read, side in ((fact.a, la), (fact.b, lb)):
        score += 2 * int(bool(side.get("code")) and _code(read) == side.get("code"))
        score += int(read.count == side.get("count")) + int(bool(read.schools) == bool(side.get("schools")))
        score += int(bool(read.place and read.place.town) == bool(side.get("town")))
    return score


def pair_up(facts: list[Fact], labels: list[Label]) -> list[tuple[int, int]]:
    """A maximum one-to-one matching of read facts to labelled relations (augmenting paths)."""
    edges = [
        sorted(
            (j for j, label in enumerate(labels) if orientation(f, label) is not None),
            key=lambda j: -_agreement(f, labels[j]),
        )
        for f in facts
    ]
    owner: dict[int, int] = {}

    def grow(i: int, seen: set[int]) -> bool:
        for j in edges[i]:
            if j in seen:
                continue
            seen.add(j)
            if j not in owner or grow(owner[j], seen):
                owner[j] = i
                return True
        return False

    for i in range(len(facts)):
        grow(i, set())
    return sorted((i, j) for j, i in owner.items())


# -- scores ------------------------------------------------------------------------------------------


@dataclass
class Tally:
    stories: int = 0
    labelled: int = 0
    read: int = 0
    matched: int = 0
    fields: dict[str, list[int]] = field(default_factory=lambda: defaultdict(lambda: [0, 0]))

    def count(self, name: str, right: bool) -> None:
        self.fields[name][0] += int(right)
        self.fields[name][1] += 1


def _place_right(read: Side, label: Label) -> bool:
    code = label.get("code")
    return _code(read) == code if code else _code(read) is None


def score_fields(tally: Tally, fact: Fact, label: Label, straight: bool) -> None:
    la, lb = (label["a"], label["b"]) if straight else (label["b"], label["a"])
    for read, side in ((fact.a, la), (fact.b, lb)):
        if side.get("place"):
            tally.count("places", _place_right(read, side))
        if side.get("count") is not None or read.count is not None:
            tally.count("counts", read.count == side.get("count"))
    tally.count("kind", fact.kind == label["kind"])
    if la.get("role") or lb.get("role"):
        tally.count("direction", (fact.a.role, fact.b.role) == (la.get("role"), lb.get("role")))
    if label.get("year"):
        tally.count("year", fact.year == label["year"])


def _ratio(part: int, whole: int) -> float:
    return part / whole if whole else 0.0


def _describe(side: Side | Label) -> str:
    if isinstance(side, Side):
        place = side.place
        where = (
            f"{place.written}={place.division.code}"
            if place and place.division
            else (place.written if place else "-")
        )
        parts = [where, "/".join(side.schools), f"n={side.count}" if side.count else "", side.role or ""]
    else:
        where = f"{side.get('place', '-')}" + (f"={side['code']}" if side.get("code") else "")
        parts = [
            where,
            "/".join(side.get("schools", [])),
            f"n={side.get('count')}" if side.get("count") else "",
            side.get("role", ""),
        ]
    return " ".join(p for p in parts if p)


def measure(labels: list[Label], texts: dict[str, str], errors: bool) -> tuple[dict[str, Tally], list[float]]:
    reader = Reader()
    reader.facts("湖里区与临夏县结对。", "zh-Hans")  # the gazetteer's pattern built once, before timing
    reader.facts("Zhangzhou pairs with Mulei County.", "en")
    tallies = {name: Tally() for name in ("all", *LANGUAGES)}
    times = []
    for story in labels:
        language = story["language"]
        started = time.process_time()
        facts = reader.facts(texts[story["id"]], language)
        times.append(time.process_time() - started)
        relations = story["relations"]
        pairs = pair_up(facts, relations)
        for tally in (tallies["all"], tallies[language]):
            tally.stories += 1
            tally.labelled += len(relations)
            tally.read += len(facts)
            tally.matched += len(pairs)
            for i, j in pairs:
                straight = orientation(facts[i], relations[j])
                score_fields(tally, facts[i], relations[j], bool(straight))
        if errors:
            _print_errors(story["id"], facts, relations, pairs)
    return tallies, times


def _print_errors(sid: str, facts: list[Fact], relations: list[Label], pairs: list[tuple[int, int]]) -> None:
    found = {i for i, _ in pairs}
    hit = {j for _, j in pairs}
    for i, fact in enumerate(facts):
        if i not in found:
            print(
                f"{sid}  extra  {fact.kind}: {_describe(fact.a)} | {_describe(fact.b)}  <- {fact.evidence[:80]}"
            )
    for j, label in enumerate(relations):
        if j not in hit:
            print(f"{sid}  missed {label['kind']}: {_describe(label['a'])} | {_describe(label['b'])}")
    for i, j in pairs:
        fact, label = facts[i], relations[j]
        straight = bool(orientation(fact, label))
        la, lb = (label["a"], label["b"]) if straight else (label["b"], label["a"])
        wrong = [
            name
            for name, bad in (
                ("place a", la.get("place") and not _place_right(fact.a, la)),
                ("place b", lb.get("place") and not _place_right(fact.b, lb)),
                ("count", (fact.a.count, fact.b.count) != (la.get("count"), lb.get("count"))),
                ("kind", fact.kind != label["kind"]),
            )
            if bad
        ]
        if wrong:
            print(
                f"{sid}  wrong  {', '.join(wrong)}: read {fact.kind}: {_describe(fact.a)} | {_describe(fact.b)}"
            )
            print(f"{sid}         label {label['kind']}: {_describe(la)} | {_describe(lb)}")


def table(tallies: dict[str, Tally]) -> Iterable[str]:
    yield "| stories | texts | labelled relations | read | matched | precision | recall | F1 |"
    yield "| --- | --- | --- | --- | --- | --- | --- | --- |"
    for name, t in tallies.items():
        p, r = _ratio(t.matched, t.read), _ratio(t.matched, t.labelled)
        f1 = 2 * p * r / (p + r) if p + r else 0.0
        yield f"| {name} | {t.stories} | {t.labelled} | {t.read} | {t.matched} | {p:.3f} | {r:.3f} | {f1:.3f} |"
    yield ""
    names = ("places", "counts", "kind", "direction", "year")
    yield "| on matched relations | " + " | ".join(names) + " |"
    yield "| --- |" + " --- |" * len(names)
    for name, t in tallies.items():
        cells = []
        for field_name in names:
            right, total = t.fields.get(field_name, [0, 0])
            cells.append(f"{right}/{total} ({_ratio(right, total):.2f})" if total else "-")
        yield f"| {name} | " + " | ".join(cells) + " |"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--texts", type=Path, required=True, help="the real labelled set's texts.jsonl")
    parser.add_argument("--seeds", type=Path, required=True, help="the folder of the user sample files")
    parser.add_argument("--labels", type=Path, default=LABELS, help="the facts written down by hand")
    parser.add_argument(
        "--cleaned", action="store_true", help="read the texts as the clean stage leaves them"
    )
    parser.add_argument("--errors", action="store_true", help="list every miss, extra and wrong field")
    args = parser.parse_args(argv)
    with args.labels.open("rb") as handle:
        labels = tomllib.load(handle)["story"]
    texts = load_texts(labels, args.texts, args.seeds)
    if args.cleaned:
        texts = {sid: clean_text(text).text for sid, text in texts.items()}
    tallies, times = measure(labels, texts, args.errors)
    print("\n".join(table(tallies)))
    print(
        f"\nReader CPU time per story: median {statistics.median(times) * 1000:.1f} ms, "
        f"mean {statistics.mean(times) * 1000:.1f} ms, max {max(times) * 1000:.1f} ms ({len(times)} stories)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
