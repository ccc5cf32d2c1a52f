"""Who pairs with whom, stored and queried: relations with evidence on both databases, the facts a crawl
of the sample web stores, and `pairchive pairings` in either direction, by province, kind and date."""

from __future__ import annotations

import csv
import io
import json
from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa

from crawler.sampleweb import SampleWeb
from pipelines.pairings import read_facts
from storage.archive import insert_article, start_run, upsert_sources
from storage.db import open_for_writing
from storage.models import PairingRelation
from storage.pairings import FactRecord, SideRecord, record_facts, relations
from tests.cli import run_cli
from tests.crawls import crawl_sample
from tests.test_storage import _article

HULI = SideRecord("350206", "湖里区", count=16)
MINNING = SideRecord("622900", "临夏闽宁镇", town="闽宁镇", count=16)


def _fact(a: SideRecord, b: SideRecord, kind: str = "结对共建", year: int | None = None) -> FactRecord:
    return FactRecord(kind, a, b, year, 0, 10, "湖里区16所学校与临夏闽宁镇16所学校结对共建。")


def _archive(db_url: str, articles: int) -> tuple[object, list[int]]:
    sessions = open_for_writing(db_url).sessions
    with sessions.begin() as s:
        source = upsert_sources(s, [{"name": "p", "title": "Portal"}])["p"]
        run = start_run(s, source, "cli")
        ids = [insert_article(s, _article(source, run, n)) for n in range(1, articles + 1)]
    return sessions, [i for i in ids if i is not None]


def test_a_relation_told_by_two_articles_in_either_order_is_one_with_two_pieces_of_evidence(
    db_url: str,
) -> None:
    sessions, (first, second) = _archive(db_url, 2)
    with sessions.begin() as s:  # type: ignore[attr-defined]
        record_facts(s, first, [_fact(HULI, MINNING, year=2021)], "t")
        record_facts(s, second, [_fact(MINNING, HULI)], "t")  # the sides the other way round
    with sessions() as s:  # type: ignore[operator]
        found = relations(s)
        assert len(found) == 1
        (row,) = found
        assert row.articles == [first, second] and row.years == [2021]
        assert {row.a["code"], row.b["code"]} == {"350206", "622900"}
        assert row.a["count"] == row.b["count"] == 16
        # either direction: whom does Huli pair with, who pairs with Linxia
        assert [r.id for r in relations(s, codes=["350206"])] == [row.id]
        assert [r.id for r in relations(s, codes=["620000"])] == [row.id]  # Gansu holds Linxia
        assert relations(s, codes=["110000"]) == []
        assert [r.id for r in relations(s, place="闽宁")] == [row.id]  # the town as written
        assert relations(s, kind="对口支援") == []
        assert relations(s, since=date(2030, 1, 1)) == []


def test_an_article_read_again_replaces_its_evidence_and_a_relation_left_without_any_goes(
    db_url: str,
) -> None:
    sessions, (article,) = _archive(db_url, 1)
    other = SideRecord(None, "", schools=("金安小学",))
    with sessions.begin() as s:  # type: ignore[attr-defined]
        record_facts(s, article, [_fact(HULI, MINNING), _fact(other, MINNING, "结对帮扶")], "t")
    with sessions.begin() as s:  # type: ignore[attr-defined]
        assert record_facts(s, article, [_fact(HULI, MINNING)], "t") == 1
    with sessions() as s:  # type: ignore[operator]
        assert [r.kind for r in relations(s)] == ["结对共建"]
        assert s.scalar(sa.select(sa.func.count()).select_from(PairingRelation)) == 1


def test_the_stage_reads_the_headline_where_the_text_does_not_state_the_relation() -> None:
    facts = read_facts("漳州市8所学校与木垒县8所学校结对共建", "两地教育局举行线上签约仪式。", "zh-Hans")
    assert len(facts) == 1 and (facts[0].start, facts[0].end) == (-1, -1)
    assert {facts[0].a.code, facts[0].b.code} == {"350600", "652328"}


def test_a_short_name_is_read_in_the_portals_region() -> None:
    text = "朝阳区实验小学与对口县学校结对帮扶，朝阳区与和田县手拉手。"
    beijing = read_facts("", text, "zh-Hans", region="北京市")
    changchun = read_facts("", text, "zh-Hans", region="吉林省长春市")
    codes = lambda facts: {side.code for f in facts for side in (f.a, f.b)}  # noqa: E731
    assert "110105" in codes(beijing) and "220104" in codes(changchun)


def test_a_crawl_stores_the_facts_and_pairings_lists_them_both_ways(
    sample_web: SampleWeb, tmp_path: Path
) -> None:
    db = crawl_sample(sample_web, tmp_path, "huli-edu")
    listed = run_cli("pairings", "--db", db, "--json")
    assert listed.returncode == 0, listed.stderr
    rows = [json.loads(line) for line in listed.stdout.splitlines()]
    huli_minning = [
        r
        for r in rows
        if {r["a"]["code"], r["b"]["code"]} == {"350206", "622900"}
        and "闽宁镇" in {r["a"]["town"], r["b"]["town"]}
    ]
    assert huli_minning, rows
    relation = huli_minning[0]
    assert relation["a"]["count"] == relation["b"]["count"] == 16
    piece = relation["evidence"][0]
    assert piece["sentence"] and piece["article_id"] in relation["articles"]
    # the other way round: who pairs with 临夏 (a city code's counties and towns count)
    towards = run_cli("pairings", "--db", db, "--place", "临夏", "--json")
    assert relation["relation"] in [json.loads(line)["relation"] for line in towards.stdout.splitlines()]
    by_province = run_cli("pairings", "--db", db, "--province", "Gansu", "--csv")
    table = list(csv.DictReader(io.StringIO(by_province.stdout)))
    assert str(relation["relation"]) in [r["relation"] for r in table]
    assert (
        run_cli("pairings", "--db", db, "--province", "Beijing").stderr.strip()
        == "no pairing relations match"
    )
    text = run_cli("pairings", "--db", db).stdout
    assert "湖里区 (350206)" in text and "16 schools" in text


def test_a_province_the_gazetteer_does_not_know_is_one_line(empty_archive: str) -> None:
    result = run_cli("pairings", "--db", empty_archive, "--province", "Atlantis")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "Error: --province: 'Atlantis' is no province the gazetteer knows"
    ]
    assert run_cli("pairings", "--db", empty_archive).stderr.strip() == "no pairing relations stored"


def test_a_town_named_once_under_its_division_places_its_lone_mentions_in_the_story() -> None:
    text = "湖里区16所学校与临夏闽宁镇16所学校结对共建。会后，湖里区与闽宁镇结对帮扶的学校互访。"
    facts = read_facts("", text, "zh-Hans", region="福建省厦门市")
    towns = [side for f in facts for side in (f.a, f.b) if side.town == "闽宁镇"]
    assert towns and all(side.code == "622900" for side in towns)


def test_a_story_whose_facts_cannot_be_read_is_still_passed_on_without_them(
    caplog: pytest.LogCaptureFixture,
) -> None:
    from datetime import UTC, datetime

    from crawler.vocabulary.items import PageItem
    from pipelines.pairings import PairingsPipeline

    item = PageItem(
        url="http://portal/a.html",
        source="p",
        html="",
        http_status=200,
        charset="utf-8",
        fetched_at=datetime.now(UTC),
    )
    item.is_pairing, item.title, item.language = True, "题", "zh-Hans"
    item.text = None  # type: ignore[assignment]  # what no stage leaves: the reader fails on it
    assert PairingsPipeline().process(item).facts == []
    assert "could not be read" in caplog.text
