"""Stories, not copies: one signing reported by a bureau, re-posted by a daily, cut short by an aggregator and
converted to traditional characters (with pinyin) by a fourth site is one story with every sighting; a
different signing written from the same template stays a story of its own."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import opencc
import pytest
import sqlalchemy as sa

from pipelines.clean import strip_pinyin
from storage.db import close_all, open_for_writing
from storage.models import Article, CrawlRun, Sighting, Story, StoryMerge
from tests.cli import run_cli
from tests.crawls import QuietHandler, crawl, pairchive, serve

BOILERPLATE = "湖里区教育局表示，将继续深化东西部教育协作，推动优质教育资源共享，助力乡村教育振兴。"
SIGNING = [
    "11月15日，厦门市湖里区教育局与甘肃省东乡县教育局在东乡县举行学校结对帮扶签约仪式，两地16所中小学结成8对帮扶对子。",
    "根据协议，湖里区将在三年内每学期选派骨干教师到结对学校支教，东乡县学校则每年派出青年教师到湖里区跟岗学习一个月。",
    "签约仪式后，湖里区实验小学的三名教师为东乡县锁南镇中心小学的学生上了数学、美术和音乐示范课，并与当地教师集体评课。",
    "东乡县教育局负责人介绍，全县还有不少乡村学校缺少音乐、美术专任教师，结对帮扶将首先补上这些学科的短板。",
    "两地还将建设“专递课堂”，让东乡县的孩子每周通过网络与湖里区的同学同上一堂课，并共享湖里区的课程资源库。",
    "湖里区教育局已连续五年开展对东乡县的教育帮扶，先后派出支教教师96人次，培训当地教师3000多人次。",
    "锁南镇中心小学校长马明说，结对学校带来的不只是课堂，更是办学理念，学校将把帮扶成果转化为长效机制。",
    BOILERPLATE,
]
# A different signing, written from the same template, sharing its boilerplate paragraph.
OTHER_SIGNING = [
    "12月2日，厦门市思明区教育局与甘肃省临夏县教育局在临夏县举行学校结对帮扶签约仪式，两地10所初中结成5对帮扶对子。",
    "根据协议，思明区将在两年内每学年选派学科带头人到结对学校挂职，临夏县学校则每学期派出教研组长到思明区参加集体备课。",
    "签约当天，思明区第二中学的两名物理教师在临夏县土桥中学开设实验教学公开课，并捐赠了一批实验器材。",
    "临夏县教育局负责人说，全县初中的理化实验开出率偏低，结对帮扶将先从实验教学入手，再扩展到课程和管理。",
    "双方还约定每年举办一次联合教研周，两地教师同课异构，优秀课例在两地学校共享。",
    BOILERPLATE.replace("湖里区", "思明区"),
]
TITLE = "湖里区与东乡县16所学校结对帮扶"
TO_TRADITIONAL = opencc.OpenCC("s2t")


def _article(title: str, paragraphs: list[str], chrome: str, credit: str = "") -> str:
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    nav = "".join(f"<li><a href='/nav/{i}.html'>{chrome}栏目{i}</a></li>" for i in range(8))
    return (
        f"<html><head><title>{title}_{chrome}</title></head><body><ul class='nav'>{nav}</ul>"
        f"<div class='article'><h1>{title}</h1><p class='info'>发布时间：2022-11-16 09:30　来源：{chrome}</p>"
        f"{body}{credit}</div><div class='foot'>Copyright © 2022 {chrome} 版权所有</div></body></html>"
    )


def _traditional_with_pinyin(text: str) -> str:
    converted = TO_TRADITIONAL.convert(text)
    return converted.replace("續", "續(xù)").replace("幫", "幫(bāng)")


PAGES = {
    "/bureau/a/1.html": _article(TITLE, SIGNING, "湖里区教育局"),
    # the city daily re-posts it with its own chrome and credits
    "/daily/a/7.html": _article(
        TITLE, SIGNING, "厦门日报", "<p>（记者 张晓 通讯员 李明）</p><p>责任编辑：王敏</p>"
    ),
    # the aggregator cuts the last two paragraphs and retitles it
    "/agg/a/3.html": _article("两地学校结对帮扶：湖里教师赴东乡支教", SIGNING[:6], "新闻聚合"),
    # a traditional-script site, with pinyin annotations
    "/tw/a/9.html": _article(
        TO_TRADITIONAL.convert(TITLE), [_traditional_with_pinyin(p) for p in SIGNING], "兩岸教育網"
    ),
    # the daily's report of a different signing from the same template
    "/daily/a/8.html": _article("思明区与临夏县10所初中结对帮扶", OTHER_SIGNING, "厦门日报"),
}
PORTALS = {
    "bureau": ["/bureau/a/1.html"],
    "daily": ["/daily/a/7.html", "/daily/a/8.html"],
    "agg": ["/agg/a/3.html"],
    "tw": ["/tw/a/9.html"],
}


class Portals(QuietHandler):
    def do_GET(self) -> None:
        name = self.path.strip("/").split("/")[0]
        if self.path.endswith("/list.html") and name in PORTALS:
            body = (
                "<html><body>" + "".join(f"<a href='{p}'>story</a>" for p in PORTALS[name]) + "</body></html>"
            )
        else:
            body = PAGES.get(self.path, "")
        data = body.encode("utf-8")
        self.send_response(200 if data else 404)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def _sources(folder: Path, base: str, names: list[str]) -> Path:
    """A sources file with one source per portal of the test's server."""
    path = folder / "sources.toml"
    path.write_text(
        "".join(
            f'[[source]]\nname = "{name}"\nstart_urls = ["{base}/{name}/list.html"]\narticle_pattern = "/{name}/a/"\n'
            for name in names
        ),
        encoding="utf-8",
    )
    return path


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    folder = tmp_path_factory.mktemp("stories")
    db = f"sqlite:///{folder / 'a.db'}"
    with serve(Portals) as base:
        sources = _sources(folder, base, list(PORTALS))
        for name in ("bureau", "daily", "agg", "tw"):  # the bureau publishes first
            result = crawl(sources, db, "--source", name)
            assert result.returncode == 0, result.stderr[-3000:]
    yield db, folder
    close_all()


def _story_of(db: str, url_part: str) -> int:
    sessions = open_for_writing(db).sessions
    with sessions() as s:
        return s.scalars(sa.select(Sighting.story_id).where(Sighting.url.contains(url_part))).one()


def test_copies_cut_and_converted_reposts_are_one_story_with_every_sighting(
    archive: tuple[str, Path],
) -> None:
    db, _ = archive
    story = _story_of(db, "/bureau/a/1.html")
    assert {_story_of(db, p) for p in ("/daily/a/7.html", "/agg/a/3.html", "/tw/a/9.html")} == {story}
    sessions = open_for_writing(db).sessions
    with sessions() as s:
        sightings = s.scalars(sa.select(Sighting).where(Sighting.story_id == story)).all()
        articles = s.scalars(sa.select(Article).where(Article.story_id == story).order_by(Article.id)).all()
    assert len(sightings) == 4
    # the daily's and the traditional site's texts are the bureau's: sightings, not stored again
    copies = {seen.url.split("/", 3)[3]: seen.copy for seen in sightings}
    assert copies == {
        "bureau/a/1.html": False,
        "daily/a/7.html": True,
        "agg/a/3.html": False,
        "tw/a/9.html": True,
    }
    # the aggregator's cut text is kept as an article of the same story
    assert [a.url.split("/", 3)[3] for a in articles] == ["bureau/a/1.html", "agg/a/3.html"]
    assert articles[0].text == "\n".join(SIGNING) and articles[1].text == "\n".join(SIGNING[:6])


def test_a_different_signing_from_the_same_template_stays_apart(archive: tuple[str, Path]) -> None:
    db, _ = archive
    assert _story_of(db, "/daily/a/8.html") != _story_of(db, "/bureau/a/1.html")


def test_stories_multi_lists_the_syndicated_story_with_its_portals(archive: tuple[str, Path]) -> None:
    db, _ = archive
    result = run_cli("stories", "--multi", "--json", "--db", db)
    assert result.returncode == 0, result.stderr
    (story,) = [json.loads(line) for line in result.stdout.splitlines()]
    assert story["id"] == _story_of(db, "/bureau/a/1.html")
    assert story["portals"] == ["agg", "bureau", "daily", "tw"] and story["sightings"] == 4
    assert story["articles"] == 2 and story["title"] == TITLE  # the earliest article is canonical
    everything = run_cli("stories", "--db", db)
    assert everything.returncode == 0 and "思明区" in everything.stdout


def test_show_lists_the_sightings_and_export_carries_them(archive: tuple[str, Path]) -> None:
    db, folder = archive
    story = _story_of(db, "/bureau/a/1.html")
    sessions = open_for_writing(db).sessions
    with sessions() as s:
        first = s.scalars(sa.select(Article.id).where(Article.story_id == story).order_by(Article.id)).first()
    shown = run_cli("show", str(first), "--db", db)
    assert shown.returncode == 0, shown.stderr
    assert (
        "Seen at 4 URL(s):" in shown.stdout
        and "copy of article" in shown.stdout
        and "/tw/a/9.html" in shown.stdout
    )
    out = folder / "export.jsonl"
    assert run_cli("export", "--db", db, "-o", str(out)).returncode == 0
    records = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    mine = [r for r in records if r["story_id"] == story]
    assert len(mine) == 2 and all(len(r["sightings"]) == 4 for r in mine)
    assert {s["source"] for s in mine[0]["sightings"]} == {"bureau", "daily", "agg", "tw"}


def test_recrawl_moves_last_seen_and_keeps_first_seen(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'a.db'}"  # an archive of its own: the shared one stays as first crawled

    def sighting() -> tuple[datetime, datetime]:
        sessions = open_for_writing(db).sessions
        with sessions() as s:
            seen = s.scalars(sa.select(Sighting).where(Sighting.url.contains("/bureau/a/1.html"))).one()
            return seen.first_seen, seen.last_seen

    with serve(Portals) as base:
        sources = _sources(tmp_path, base, ["bureau"])
        first = crawl(sources, db, "--source", "bureau")
        assert first.returncode == 0, first.stderr[-3000:]
        first_seen, last_seen = sighting()
        assert first_seen == last_seen
        again = crawl(sources, db, "--source", "bureau", "--recrawl")
        assert again.returncode == 0, again.stderr[-3000:]
    assert sighting()[0] == first_seen
    assert sighting()[1] > last_seen
    sessions = open_for_writing(db).sessions
    with sessions() as s:
        runs = s.scalars(sa.select(CrawlRun).order_by(CrawlRun.id)).all()
        assert runs[1].counts.get("unchanged") == 1  # the page was fetched again, its text the same
    close_all()


def test_pinyin_and_script_do_not_change_the_stored_original(archive: tuple[str, Path]) -> None:
    db, _ = archive
    sessions = open_for_writing(db).sessions
    with sessions() as s:
        texts = s.scalars(sa.select(Article.text)).all()
    assert not any("(xù)" in t or "續" in t for t in texts)  # the traditional copy was never stored again
    assert strip_pinyin(_traditional_with_pinyin("續寫")) == TO_TRADITIONAL.convert("續寫")


def test_merges_are_recorded_when_an_article_copies_two_stories(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    from storage.archive import insert_article, start_run, upsert_sources

    sessions = open_for_writing(f"sqlite:///{tmp_path / 'm.db'}").sessions
    now = datetime(2022, 11, 16, tzinfo=UTC)

    def values(n: int) -> dict[str, object]:
        return {
            "source_id": source_id, "run_id": run_id, "url": f"http://p.example/{n}", "fetched_url": f"http://p.example/{n}",
            "title": "t", "published": None, "author": None, "source_name": None, "language": "zh-Hans",
            "text": f"text {n}", "search_text": f"text {n}", "relevance": 1.0, "is_pairing": True,
            "relevance_terms": [], "content_hash": f"{n:064d}", "charset": "utf-8", "http_status": 200,
            "first_seen": now,
        }  # fmt: skip

    with sessions.begin() as s:
        source_id = upsert_sources(s, [{"name": "p", "title": "P"}])["p"]
        run_id = start_run(s, source_id, "cli")
    with sessions.begin() as s:
        a = insert_article(s, values(1), keys=[1, 2])
        b = insert_article(s, values(2), keys=[3, 4])
    with sessions() as s:
        story_a, story_b = (s.get(Article, a).story_id, s.get(Article, b).story_id)  # type: ignore[union-attr]
    with sessions.begin() as s:
        c = insert_article(s, values(3), keys=[1, 3], near=[(story_b, 0.9), (story_a, 0.95)])
    with sessions() as s:
        assert {s.get(Article, i).story_id for i in (a, b, c)} == {story_a}  # type: ignore[union-attr]
        merge = s.scalars(sa.select(StoryMerge)).one()
        assert (merge.story_id, merge.into_story_id, merge.article_id, merge.similarity) == (
            story_b,
            story_a,
            c,
            0.9,
        )
        assert s.get(Story, story_b).merged_into_id == story_a  # type: ignore[union-attr]
        assert {seen.story_id for seen in s.scalars(sa.select(Sighting))} == {story_a}
    close_all()


def test_near_copy_thresholds_are_settings(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'strict.db'}"
    with serve(Portals) as base:
        sources = _sources(tmp_path, base, ["bureau", "agg"])
        for name in ("bureau", "agg"):
            result = crawl(sources, db, "--source", name, "-s", "NEAR_COPY_MIN_JACCARD=0.99")
            assert result.returncode == 0, result.stderr[-3000:]
    # with a Jaccard floor of 0.99 the cut re-post is no longer a copy: a story of its own
    assert _story_of(db, "/agg/a/3.html") != _story_of(db, "/bureau/a/1.html")
    close_all()


def test_csv_export_round_trips_and_since_filters(archive: tuple[str, Path]) -> None:
    import csv
    from datetime import UTC, datetime, timedelta

    db, folder = archive
    jsonl, table = folder / "all.jsonl", folder / "all.csv"
    assert run_cli("export", "--db", db, "-o", str(jsonl)).returncode == 0
    assert run_cli("export", "--db", db, "--format", "csv", "-o", str(table)).returncode == 0
    records = [json.loads(line) for line in jsonl.read_text(encoding="utf-8").splitlines()]
    with table.open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [int(r["id"]) for r in rows] == [r["id"] for r in records]
    assert [r["text"] for r in rows] == [r["text"] for r in records]  # newlines and quotes survive
    provenance = ("url", "fetched_url", "source", "http_status", "charset", "content_hash", "fetched_at")
    for row, record in zip(rows, records, strict=True):
        assert all(row[k] == str(record[k]) for k in provenance), row["id"]
        assert int(row["story_id"]) == record["story_id"]
        assert row["sightings"].split() == [seen["url"] for seen in record["sightings"]]
        capture = record["capture"]
        assert capture is not None and row["warc_file"] == capture["warc_file"]
        assert (int(row["warc_offset"]), row["payload_digest"]) == (
            capture["offset"],
            capture["payload_digest"],
        )
        assert record["fetched_at"] == capture["fetched_at"]  # when its bytes were fetched
    assert max(len(r["sightings"].split()) for r in rows) == 4
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).strftime("%Y-%m-%d")
    later = run_cli("export", "--db", db, "--format", "csv", "--since", tomorrow)
    assert later.returncode == 0 and len(later.stdout.splitlines()) == 1  # the header only
    bad = pairchive("export", "--db", db, "--since", "16/11/2022")
    assert bad.returncode == 2 and "16/11/2022" in bad.stderr
