"""`pairchive map`: places as points at their coordinates, relations as lines between them, in SVG (read
here as XML) and PNG (read with Pillow); the filters; the one-line errors. The PNG tests need a CJK font
(`make browser` installs fonts-noto-cjk): without one they skip, except where PAIRCHIVE_TEST_BROWSER=1."""

from __future__ import annotations

import math
import os
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from crawler.cli.drawing import HEIGHT, WIDTH
from crawler.cli.picture import FONTS_ENV, MapError, cjk_font
from crawler.sampleweb import SampleWeb
from storage.archive import insert_article, start_run, upsert_sources
from storage.db import close_all, open_for_writing
from storage.pairings import FactRecord, SideRecord, record_facts
from tests.browser import BROWSER_ENV
from tests.cli import run_cli
from tests.crawls import crawl_sample
from tests.test_full_disk import _fill, small_disk  # noqa: F401 (the fixture)
from tests.test_storage import _article

SVG = "{http://www.w3.org/2000/svg}"
HULI = SideRecord("350206", "湖里区", count=16)
LINXIA = SideRecord("622900", "临夏州", count=16)
# 清江浦区 has no coordinates in the gazetteer: it is drawn at 淮安市's; 定州市 at 河北省's
FACTS = [
    (HULI, LINXIA, "结对共建"),  # 32 schools
    (SideRecord("350206", "湖里区"), SideRecord("110105", "朝阳区"), "结对帮扶"),  # no count: 1
    (SideRecord("350200", "厦门", count=3), SideRecord("320812", "清江浦区", count=2), "对口支援"),  # 5
    (SideRecord("139001", "定州市"), SideRecord("650000", "新疆"), "姊妹学校"),
    (SideRecord("350206", "湖里区"), SideRecord(None, "闽宁镇", town="闽宁镇"), "结对帮扶"),  # left off
]
NAMES = {
    "350206": "湖里区",
    "622900": "临夏回族自治州",
    "110105": "朝阳区",
    "350200": "厦门市",
    "320812": "清江浦区",
    "139001": "定州市",
    "650000": "新疆维吾尔自治区",
}
LONLAT = {"350206": (118.146768, 24.512904), "622900": (103.210655, 35.601352)}


def _archive(db_url: str) -> str:
    """An archive whose relations are FACTS, one article each."""
    sessions = open_for_writing(db_url).sessions
    with sessions.begin() as s:
        source = upsert_sources(s, [{"name": "p", "title": "Portal"}])["p"]
        run = start_run(s, source, "cli")
        for n, (a, b, kind) in enumerate(FACTS, start=1):
            article = insert_article(s, _article(source, run, n))
            assert article is not None
            record_facts(s, article, [FactRecord(kind, a, b, None, 0, 10, "两地学校结对。")], "t")
    close_all()
    return db_url


def _svg(path: Path) -> tuple[dict[str, tuple[float, float, float]], list[ET.Element], dict[str, ET.Element]]:
    """The places (code: x, y, r), the relations' lines and the places' labels (code: element)."""
    root = ET.parse(path).getroot()
    places = {
        c.get("data-code", ""): (float(c.get("cx", 0)), float(c.get("cy", 0)), float(c.get("r", 0)))
        for c in root.iter(f"{SVG}circle")
        if c.get("class") == "place"
    }
    lines = [p for p in root.iter(f"{SVG}path") if p.get("class") == "relation"]
    labels = {t.get("data-code", ""): t for t in root.iter(f"{SVG}text") if t.get("class") == "label"}
    return places, lines, labels


def _font_or_skip() -> None:
    try:
        cjk_font()
    except MapError as exc:
        if os.environ.get(BROWSER_ENV) == "1":
            pytest.fail(str(exc))
        pytest.skip(str(exc))


def _inked(path: Path) -> int:
    from PIL import Image

    with Image.open(path) as image:
        assert image.size == (WIDTH, HEIGHT)
        shades = image.convert("L").histogram()  # how many pixels of each grey, 255 the white page
        return sum(shades[:255])


def test_the_svg_has_a_point_per_place_a_line_per_relation_and_the_names_in_chinese(
    db_url: str, tmp_path: Path
) -> None:
    out = tmp_path / "map.svg"
    result = run_cli("map", "--db", _archive(db_url), "-o", str(out))
    assert result.returncode == 0, result.stderr
    assert "1 relation has a side with no place on the map" in result.stderr.splitlines()
    places, lines, labels = _svg(out)
    assert set(places) == set(NAMES) and len(lines) == 4
    assert {code: label.text for code, label in labels.items()} == NAMES
    # the more schools, the wider the line
    widths = sorted((int(p.get("data-schools", 0)), float(p.get("stroke-width", 0))) for p in lines)
    assert [schools for schools, _ in widths] == [1, 1, 5, 32]
    assert widths[0][1] == widths[1][1] < widths[2][1] < widths[3][1]
    # the busiest place has the largest point
    assert places["350206"][2] == max(r for _, _, r in places.values())
    # north is up, west is left, and a degree of longitude is cos(latitude) of one of latitude
    (hx, hy, _), (lx, ly, _) = places["350206"], places["622900"]
    assert places["110105"][1] < hy and lx < hx
    lats = [24.479664, 43.793026]  # the southernmost (厦门市) and northernmost (新疆) places
    squeeze = math.cos(math.radians(sum(lats) / 2))
    (hlon, hlat), (llon, llat) = LONLAT["350206"], LONLAT["622900"]
    assert (hx - lx) / (hy - ly) == pytest.approx((hlon - llon) * squeeze / (llat - hlat), rel=1e-3)


def test_province_keeps_the_relations_with_a_side_in_it_and_the_places_they_link_to(
    db_url: str, tmp_path: Path
) -> None:
    out = tmp_path / "gansu.svg"
    result = run_cli("map", "--db", _archive(db_url), "--province", "甘肃", "-o", str(out))
    assert result.returncode == 0, result.stderr
    places, lines, _ = _svg(out)
    assert set(places) == {"350206", "622900"} and len(lines) == 1
    assert "province 甘肃" in out.read_text(encoding="utf-8")


def test_the_png_has_its_size_and_is_drawn(db_url: str, tmp_path: Path) -> None:
    _font_or_skip()
    out = tmp_path / "map.png"
    result = run_cli("map", "--db", _archive(db_url), "-o", str(out))
    assert result.returncode == 0, result.stderr
    assert _inked(out) > 20_000  # lines, points, names and the legend, not a blank page


def test_the_same_archive_gives_the_same_pictures(db_url: str, tmp_path: Path) -> None:
    db = _archive(db_url)
    suffixes = [".svg"]
    try:
        cjk_font()
        suffixes.append(".png")
    except MapError:
        pass
    for suffix in suffixes:
        first, second = tmp_path / f"1{suffix}", tmp_path / f"2{suffix}"
        for out in (first, second):
            assert run_cli("map", "--db", db, "-o", str(out)).returncode == 0
        assert first.read_bytes() == second.read_bytes(), suffix


def test_a_crawl_of_the_sample_web_is_drawn_as_svg_and_png(sample_web: SampleWeb, tmp_path: Path) -> None:
    db = crawl_sample(sample_web, tmp_path, "huli-edu")
    out = tmp_path / "map.svg"
    result = run_cli("map", "--db", db, "-o", str(out))
    assert result.returncode == 0, result.stderr
    places, lines, labels = _svg(out)
    assert {"350206", "622900"} <= set(places) and lines
    assert {"湖里区", "临夏回族自治州"} <= {label.text for label in labels.values()}
    _font_or_skip()
    picture = tmp_path / "map.png"
    assert run_cli("map", "--db", db, "-o", str(picture)).returncode == 0
    assert _inked(picture) > 10_000


def test_a_suffix_that_is_no_picture_is_a_one_line_usage_error(empty_archive: str, tmp_path: Path) -> None:
    result = run_cli("map", "--db", empty_archive, "-o", str(tmp_path / "map.pdf"))
    assert result.returncode == 2
    assert (
        result.stderr.strip().splitlines()[-1]
        == f"Error: -o {tmp_path / 'map.pdf'}: the picture is .png or .svg"
    )
    assert not list(tmp_path.glob("map*"))


def test_an_empty_selection_writes_nothing_and_says_so(db_url: str, tmp_path: Path) -> None:
    db = _archive(db_url)
    out = tmp_path / "map.svg"
    result = run_cli("map", "--db", db, "--province", "西藏", "-o", str(out))
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == ["Error: no pairing relations match: no map written"]
    assert not out.exists()


def test_an_empty_archive_writes_nothing(empty_archive: str, tmp_path: Path) -> None:
    out = tmp_path / "map.svg"
    result = run_cli("map", "--db", empty_archive, "-o", str(out))
    assert result.stderr.strip().splitlines() == ["Error: no pairing relations stored: no map written"]
    assert result.returncode == 1 and not out.exists()


def test_a_png_without_a_cjk_font_is_one_line_naming_the_package(empty_archive: str, tmp_path: Path) -> None:
    out = tmp_path / "map.png"
    result = run_cli("map", "--db", empty_archive, "-o", str(out), env={FONTS_ENV: "No Such Font"})
    assert result.returncode == 1
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("Error: no CJK font") and "fonts-noto-cjk" in line
    assert not out.exists()
    # the SVG names its fonts and leaves the choice to its reader: it needs none here
    svg = run_cli(
        "map", "--db", empty_archive, "-o", str(tmp_path / "m.svg"), env={FONTS_ENV: "No Such Font"}
    )
    assert "no pairing relations stored" in svg.stderr


def test_a_path_that_cannot_be_written_is_one_line_and_leaves_nothing(db_url: str, tmp_path: Path) -> None:
    db = _archive(db_url)
    out = tmp_path / "missing" / "map.svg"
    result = run_cli("map", "--db", db, "-o", str(out))
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == f"Error: cannot write {out}: No such file or directory"
    folder = tmp_path / "full"
    folder.mkdir()
    target = folder / "map.svg"
    target.mkdir()  # a directory where the picture would go: the rename fails, the temporary file goes
    result = run_cli("map", "--db", db, "-o", str(target))
    assert result.returncode == 1 and result.stderr.strip().splitlines()[-1].startswith(
        f"Error: cannot write {target}: "
    )
    assert [p.name for p in folder.iterdir()] == ["map.svg"]


def test_a_relation_within_one_place_is_a_loop_at_its_point(db_url: str, tmp_path: Path) -> None:
    sessions = open_for_writing(db_url).sessions
    with sessions.begin() as s:
        source = upsert_sources(s, [{"name": "p", "title": "Portal"}])["p"]
        article = insert_article(s, _article(source, start_run(s, source, "cli"), 1))
        assert article is not None
        a = SideRecord("350206", "湖里区", schools=("金安小学",))
        b = SideRecord("350206", "湖里区", schools=("湖里实验小学",))
        record_facts(s, article, [FactRecord("结对帮扶", a, b, None, 0, 10, "两校结对。")], "t")
    close_all()
    out = tmp_path / "one.svg"
    assert run_cli("map", "--db", db_url, "-o", str(out)).returncode == 0
    places, lines, _ = _svg(out)
    ((x, y, _),) = places.values()
    (line,) = lines
    assert line.get("d", "").startswith(f"M {x:g} {y:g} C ")


def test_a_full_disk_is_one_line_and_leaves_no_half_picture(db_url: str, small_disk: Path) -> None:  # noqa: F811
    db = _archive(db_url)
    _fill(small_disk / "filler")
    out = small_disk / "map.svg"
    result = run_cli("map", "--db", db, "-o", str(out))
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == f"Error: cannot write {out}: No space left on device"
    assert [p.name for p in small_disk.iterdir()] == ["filler"]


def test_place_kind_and_since_choose_the_relations_drawn(db_url: str, tmp_path: Path) -> None:
    db = _archive(db_url)
    out = tmp_path / "m.svg"
    assert run_cli("map", "--db", db, "--place", "朝阳区", "-o", str(out)).returncode == 0
    places, lines, _ = _svg(out)
    assert set(places) == {"350206", "110105"} and len(lines) == 1
    assert run_cli("map", "--db", db, "--kind", "对口支援", "-o", str(out)).returncode == 0
    assert set(_svg(out)[0]) == {"350200", "320812"}
    late = run_cli("map", "--db", db, "--since", "2030-01-01", "-o", str(tmp_path / "late.svg"))
    assert late.returncode == 1 and "no pairing relations match" in late.stderr
    wrong = run_cli("map", "--db", db, "--kind", "结对", "-o", str(out))
    assert wrong.returncode == 2 and "Invalid value for '--kind'" in wrong.stderr


def test_a_crowd_of_places_names_those_it_has_room_for_and_counts_the_others(
    db_url: str, tmp_path: Path
) -> None:
    from crawler.cli.drawing import LABEL_SIZE, text_width
    from pipelines.places import gazetteer

    places = gazetteer()
    crowd = sorted(c for c, d in places.by_code.items() if c.startswith("3502") and d.level == "county")
    crowd += sorted(c for c, d in places.by_code.items() if c.startswith("3505") and d.level == "county")
    sessions = open_for_writing(db_url).sessions
    with sessions.begin() as s:
        source = upsert_sources(s, [{"name": "p", "title": "Portal"}])["p"]
        run = start_run(s, source, "cli")
        for n, code in enumerate(crowd, start=1):
            article = insert_article(s, _article(source, run, n))
            assert article is not None
            side = SideRecord(code, places.by_code[code].name)
            record_facts(s, article, [FactRecord("结对帮扶", side, LINXIA, None, 0, 10, "结对。")], "t")
    close_all()
    out = tmp_path / "crowd.svg"
    assert run_cli("map", "--db", db_url, "-o", str(out)).returncode == 0
    drawn, lines, labels = _svg(out)
    assert len(drawn) == len(crowd) + 1 and len(lines) == len(crowd)
    unnamed = len(drawn) - len(labels)
    assert unnamed > 0 and f"{unnamed} places not named (no room)" in out.read_text(encoding="utf-8")
    boxes = []
    for label in labels.values():
        x, y, w = float(label.get("x", 0)), float(label.get("y", 0)), text_width(label.text or "", LABEL_SIZE)
        start = {"start": x, "middle": x - w / 2, "end": x - w}[label.get("text-anchor", "")]
        boxes.append((start, y - LABEL_SIZE * 0.65, start + w, y + LABEL_SIZE * 0.35))
    for i, a in enumerate(boxes):
        for b in boxes[i + 1 :]:
            overlap_w = min(a[2], b[2]) - max(a[0], b[0])
            overlap_h = min(a[3], b[3]) - max(a[1], b[1])
            most = 0.1 * max((a[2] - a[0]) * (a[3] - a[1]), (b[2] - b[0]) * (b[3] - b[1]))
            assert overlap_w <= 0 or overlap_h <= 0 or overlap_w * overlap_h <= most  # at most a touch
