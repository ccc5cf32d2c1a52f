"""The pairing map (`pairchive map`): what it shows and where, laid out once in pixels (points, lines,
names, title, legend) as a scene that crawler.cli.picture turns into SVG or PNG, so that the two agree
and the tests can read the SVG for what the PNG shows. No click in here.

Coordinates come from the gazetteer (cpca's table); a side whose division has none takes its city's or
province's, a side without a division is left off. No boundaries: no map data offline whose licence lets
it ship here, so points and lines alone, on an equirectangular projection whose aspect is corrected for
the latitude of the middle of the picture."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from pipelines.facts import KIND_NAMES
from pipelines.places import Division, Gazetteer
from storage.pairings import RelationRow

WIDTH, HEIGHT = 1200, 900  # pixels, fixed: the same archive always gives the same picture
MAP_BOX = (40.0, 90.0, 900.0, 860.0)  # left, top, right, bottom of the map; the legend is right of it
LEGEND_X = 930.0
LABEL_SIZE = 14.0
BACKGROUND = "#ffffff"
INK = "#222222"
# Okabe and Ito's colours (told apart by colour-blind readers too), one per kind in KIND_NAMES's order.
PALETTE = ("#E69F00", "#D55E00", "#CC79A7", "#009E73", "#56B4E9", "#0072B2", "#7A5C99")
OTHER_KIND = "#999999"


# -- what the map shows -----------------------------------------------------------------------------


@dataclass
class Place:
    code: str
    name: str
    lon: float
    lat: float
    relations: int = 0


@dataclass(frozen=True)
class Link:
    relation: int
    kind: str
    a: str  # place codes
    b: str
    schools: int  # both sides' counts added, 1 where neither says


@dataclass
class PairingMap:
    places: dict[str, Place] = field(default_factory=dict)
    links: list[Link] = field(default_factory=list)
    unplaced: int = 0  # relations with a side that has no place on the map


def _located(places: Gazetteer, code: str | None) -> Division | None:
    """The division of `code` with coordinates: its own, else its city's or province's."""
    division = places.by_code.get(code) if code else None
    if division is None:
        return None
    for candidate in reversed(places.chain(division)):
        if candidate.longitude is not None and candidate.latitude is not None:
            return candidate
    return None


def pairing_map(rows: Sequence[RelationRow], places: Gazetteer) -> PairingMap:
    """The places and links of `rows`; a relation with a side that has no coordinates is counted aside."""
    out = PairingMap()
    for row in sorted(rows, key=lambda r: r.id):
        ends = []
        for side in (row.a, row.b):
            located = _located(places, side["code"])
            if located is None:
                break
            division = places.by_code[side["code"]]
            assert located.longitude is not None and located.latitude is not None
            place = out.places.setdefault(
                division.code, Place(division.code, division.name, located.longitude, located.latitude)
            )
            ends.append(place)
        else:
            counts = [side["count"] for side in (row.a, row.b) if side.get("count")]
            out.links.append(Link(row.id, row.kind, ends[0].code, ends[1].code, sum(counts) or 1))
            for place in {p.code: p for p in ends}.values():
                place.relations += 1
            continue
        out.unplaced += 1
    # a place only the left-off relations named is not drawn
    linked = {code for link in out.links for code in (link.a, link.b)}
    out.places = {code: p for code, p in sorted(out.places.items()) if code in linked}
    return out


# -- the scene: what is drawn where, in pixels ------------------------------------------------------


@dataclass(frozen=True)
class Stroke:
    """A relation's line: a path of (command, points) in SVG's letters (M, L, Q, C)."""

    path: tuple[tuple[str, tuple[float, ...]], ...]
    width: float
    colour: str
    relation: int | None = None  # None for the legend's samples
    schools: int = 0


@dataclass(frozen=True)
class Dot:
    x: float
    y: float
    r: float
    code: str | None = None  # None for the legend's samples


@dataclass(frozen=True)
class Label:
    x: float
    y: float  # the baseline
    text: str
    size: float = LABEL_SIZE
    anchor: str = "start"  # start, middle, end
    bold: bool = False
    colour: str = INK
    place: str | None = None  # the code of the place it names


@dataclass
class Scene:
    title: str
    strokes: list[Stroke] = field(default_factory=list)
    dots: list[Dot] = field(default_factory=list)
    labels: list[Label] = field(default_factory=list)


def counted(n: int, noun: str) -> str:
    """`1 relation`, `2 relations`."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def line_width(schools: int) -> float:
    return round(min(1.5 + 1.1 * math.sqrt(schools), 12.0), 2)


def dot_radius(relations: int) -> float:
    return round(min(3.5 + 2.5 * math.sqrt(relations), 18.0), 2)


def kind_colour(kind: str) -> str:
    return PALETTE[KIND_NAMES.index(kind) % len(PALETTE)] if kind in KIND_NAMES else OTHER_KIND


def text_width(text: str, size: float) -> float:
    """A generous estimate of a label's width (a CJK character is one em, Latin about six tenths)."""
    return sum(size if ord(c) > 0x2E7F else size * 0.62 for c in text)


def _projection(places: Sequence[Place]) -> Any:
    lons = [p.lon for p in places]
    lats = [p.lat for p in places]
    mid = (min(lats) + max(lats)) / 2
    squeeze = math.cos(math.radians(mid))  # a degree of longitude is this much shorter than one of latitude
    # at least two degrees each way, so one place or a close pair is not blown up to the whole picture
    half_x = max((max(lons) - min(lons)) / 2, 2.0) * squeeze
    half_y = max((max(lats) - min(lats)) / 2, 2.0)
    centre_x = (min(lons) + max(lons)) / 2 * squeeze
    centre_y = mid
    left, top, right, bottom = MAP_BOX
    pad = 60.0  # room for the dots and the labels at the edges
    scale = min((right - left - 2 * pad) / (2 * half_x), (bottom - top - 2 * pad) / (2 * half_y))
    mx, my = (left + right) / 2, (top + bottom) / 2

    def project(lon: float, lat: float) -> tuple[float, float]:
        return (
            round(mx + (lon * squeeze - centre_x) * scale, 2),
            round(my - (lat - centre_y) * scale, 2),
        )

    return project


def _curve(
    start: tuple[float, float], end: tuple[float, float], bend: float
) -> tuple[tuple[str, tuple[float, ...]], ...]:
    (x1, y1), (x2, y2) = start, end
    if (x1, y1) == (x2, y2):  # both sides at one point: a loop above it
        size = 28.0 + abs(bend)
        return (
            ("M", (x1, y1)),
            ("C", (x1 - size * 0.8, y1 - size * 1.4, x1 + size * 0.8, y1 - size * 1.4, x1, y1)),
        )
    if not bend:
        return (("M", (x1, y1)), ("L", (x2, y2)))
    length = math.hypot(x2 - x1, y2 - y1)
    nx, ny = -(y2 - y1) / length, (x2 - x1) / length  # the normal, to bend the line along
    cx, cy = (x1 + x2) / 2 + nx * bend, (y1 + y2) / 2 + ny * bend
    return (("M", (x1, y1)), ("Q", (round(cx, 2), round(cy, 2), x2, y2)))


def scene(drawn: PairingMap, title: str, subtitle: str) -> Scene:
    """Lay the map out: lines under dots under labels, each in a fixed order."""
    out = Scene(title)
    places = list(drawn.places.values())
    project = _projection(places)
    at = {p.code: project(p.lon, p.lat) for p in places}
    # several relations between two places: each its own line, bent apart so that each shows
    between: dict[tuple[str, str], list[Link]] = defaultdict(list)
    for link in drawn.links:
        between[(min(link.a, link.b), max(link.a, link.b))].append(link)
    for (first, second), links in sorted(between.items()):
        (x1, y1), (x2, y2) = at[first], at[second]
        step = max(30.0, 0.1 * math.hypot(x2 - x1, y2 - y1))  # apart enough to tell on a long line
        for k, link in enumerate(sorted(links, key=lambda li: (-li.schools, li.relation))):
            bend = (k - (len(links) - 1) / 2) * step if first != second else k * 14.0
            out.strokes.append(
                Stroke(
                    _curve(at[first], at[second], bend),
                    line_width(link.schools),
                    kind_colour(link.kind),
                    link.relation,
                    link.schools,
                )
            )
    # the widest lines first, so that a thin one is never hidden under a wide one
    out.strokes.sort(key=lambda s: (-s.width, s.relation or 0))
    # the smaller points over the larger: a place drawn at (or next to) a busier one still shows
    for place in sorted(places, key=lambda p: (-dot_radius(p.relations), p.code)):
        x, y = at[place.code]
        out.dots.append(Dot(x, y, dot_radius(place.relations), place.code))
    named = _place_labels(places, at)
    out.labels += named
    _frame(out, drawn, subtitle, unnamed=len(places) - len(named))
    return out


Box = tuple[float, float, float, float]


def _overlap(a: Box, b: Box) -> float:
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    return w * h if w > 0 and h > 0 else 0.0


def _place_labels(places: Sequence[Place], at: dict[str, tuple[float, float]]) -> list[Label]:
    """Each place's name beside its dot where it covers no other name or dot, the busiest places first;
    where every spot is taken, the one least covered, unless it would cover another name: that place
    goes unnamed (its dot and lines still show) rather than making two names unreadable."""
    taken: list[Box] = []
    names: list[Box] = []
    for p in places:
        x, y = at[p.code]
        r = dot_radius(p.relations)
        taken.append((x - r, y - r, x + r, y + r))
    left, top, right, bottom = MAP_BOX
    labels = []
    for place in sorted(places, key=lambda p: (-p.relations, p.code)):
        x, y = at[place.code]
        r = dot_radius(place.relations) + 4
        w, h = text_width(place.name, LABEL_SIZE), LABEL_SIZE
        spots = []
        for far in (0.0, 14.0, 28.0):
            spots += [
                (
                    x + r + far,
                    y + h * 0.35,
                    "start",
                    (x + r + far, y - h * 0.65, x + r + far + w, y + h * 0.35),
                ),
                (
                    x - r - far,
                    y + h * 0.35,
                    "end",
                    (x - r - far - w, y - h * 0.65, x - r - far, y + h * 0.35),
                ),
                (x, y - r - far, "middle", (x - w / 2, y - r - far - h, x + w / 2, y - r - far)),
                (x, y + r + far + h, "middle", (x - w / 2, y + r + far, x + w / 2, y + r + far + h)),
            ]

        def cost(spot: tuple[float, float, str, Box]) -> float:
            box = spot[3]
            outside = box[0] < left or box[2] > right or box[1] < top or box[3] > bottom
            return sum(_overlap(box, other) for other in taken) + (1e6 if outside else 0.0)

        best = min(spots, key=cost)  # min keeps the first of equals: the nearest spot
        box = best[3]
        if any(_overlap(box, other) > 0.1 * w * h for other in names):
            continue
        taken.append(box)
        names.append(box)
        labels.append(
            Label(round(best[0], 2), round(best[1], 2), place.name, anchor=best[2], place=place.code)
        )
    return labels


def _frame(out: Scene, drawn: PairingMap, subtitle: str, unnamed: int = 0) -> None:
    """The title, the subtitle and the legend (kinds, line widths, dot sizes)."""
    out.labels.append(Label(40, 44, out.title, size=24, bold=True))
    out.labels.append(Label(40, 72, subtitle, size=14, colour="#555555"))
    x, y = LEGEND_X, 120.0
    out.labels.append(Label(x, y, "项目类型 kind", size=15, bold=True))
    for kind in sorted({link.kind for link in drawn.links}, key=_kind_order):
        y += 26
        out.strokes.append(Stroke((("M", (x, y - 5)), ("L", (x + 36, y - 5))), 4.0, kind_colour(kind)))
        out.labels.append(Label(x + 46, y, kind, size=14))
    y += 44
    out.labels.append(Label(x, y, "学校数 schools", size=15, bold=True))
    counts = sorted({link.schools for link in drawn.links})
    samples = sorted({counts[0], counts[len(counts) // 2], counts[-1]})
    for schools in samples:
        y += 26
        out.strokes.append(Stroke((("M", (x, y - 5)), ("L", (x + 36, y - 5))), line_width(schools), INK))
        out.labels.append(Label(x + 46, y, f"{schools}", size=14))
    y += 44
    out.labels.append(Label(x, y, "关系数 relations", size=15, bold=True))
    most = max(p.relations for p in drawn.places.values())
    for relations in sorted({1, most}):
        r = dot_radius(relations)
        y += max(26.0, 2 * r + 8)
        out.dots.append(Dot(x + 18, y - 5, r))
        out.labels.append(Label(x + 46, y, f"{relations}", size=14))
    y += 44
    notes = [f"{counted(len(drawn.links), 'relation')}, {counted(len(drawn.places), 'place')}"]
    if drawn.unplaced:
        notes.append(f"{drawn.unplaced} not on the map")
    notes += ["(a side with no place)"] if drawn.unplaced else []
    if unnamed:
        notes.append(f"{counted(unnamed, 'place')} not named (no room)")
    notes += ["places: cpca (MIT)", "no boundaries drawn"]
    for note in notes:
        out.labels.append(Label(x, y, note, size=12, colour="#555555"))
        y += 18


def _kind_order(kind: str) -> tuple[int, str]:
    return (KIND_NAMES.index(kind) if kind in KIND_NAMES else len(KIND_NAMES), kind)
